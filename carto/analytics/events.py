"""Evacuation events (docs/architecture.md §4): one row per camp evacuated on a date.

A passage *reports* an evacuation when its ``Évacuation`` field names one (with shelter,
without solution, partial) or when its ``Statut du site`` says the camp was evacuated or
dismantled. Reports of the same camp form one event when they come within ``merge_days``
of the event's first report (several associations witnessing the same morning), or when
they only repeat the site's status while the camp has not been seen inhabited again
(teams passing by a dismantled site). The columns answer the shared questionnaire of the
Observatoire des expulsions collectives: date, place (name, arrondissement, coordinates,
type of site), number of people, shelter offered or not, and who was there (minors,
families, children).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from carto import schema
from carto.analytics.camps import epoch_seconds, in_time_order, round_days
from carto.analytics.frames import local_times
from carto.analytics.lineage import by_camp, camp_keys, rows_of
from carto.analytics.memo import MISSING, CampMemo, size_of
from carto.analytics.places import camp_places

EVACUATION_KINDS = (
    schema.EVACUATION_SHELTERED,
    schema.EVACUATION_NO_SOLUTION,
    schema.EVACUATION_PARTIAL,
)
# A passage with one of these site statuses (and no evacuation kind) reports an evacuation.
EVACUATED_SITE_STATUSES = frozenset({"Évacué", "Démantelé"})
GROUP_COUNTS = ("unaccompanied_minors", "families", "children")
# Each camp's described events, kept across snapshot versions (carto.analytics.memo):
# a few hundred bytes per event, most camps have none or a few.
_MEMO = CampMemo(max_entries=20_000, max_bytes=32 * 2**20)

# Codes of the ``shelter`` column (labels: catalogue keys ``event.shelter.<code>``).
SHELTER_ALL, SHELTER_PARTIAL, SHELTER_NONE = "all", "partial", "none"
# Codes of the ``people_source`` column (labels: ``event.people_source.<code>``).
PEOPLE_REPORTED, PEOPLE_LAST_COUNT = "reported", "last_count"

EVENT_COLUMNS = [
    "event_id",
    "date",
    "camp_id",
    "name",
    "arrondissement",
    "latitude",
    "longitude",
    "site_type",
    "kind",
    "people",
    "people_source",
    "sheltered",
    "without_solution",
    "shelter",
    "shelter_offered",
    *GROUP_COUNTS,
    "first_report",
    "reports",
    "associations",
    "record_ids",
]


@dataclass
class _Event:
    camp_id: str
    first_day: pd.Timestamp
    rows: list[int] = field(default_factory=list)  # positions in the camp's rows


def evacuation_events(
    passages: pd.DataFrame,
    sites: pd.DataFrame,
    count_window_days: int,
    merge_days: int,
) -> pd.DataFrame:
    """One row per evacuation event, columns ``EVENT_COLUMNS``, sorted by date and camp.

    ``people`` is the largest count given by the reports, else the camp's latest count
    within ``count_window_days`` before the first report (``people_source`` says which).
    ``sheltered`` is the largest number reported sheltered (0 for an evacuation "sans
    solution" that gives none); ``without_solution`` is people minus sheltered.
    A camp's events come from its rows alone (and its place): for the next version of
    a frame, only the changed camps' are made again and spliced in (``lineage.by_camp``).
    """

    def make(rows: pd.DataFrame) -> pd.DataFrame:
        # the places of the whole frame (kept for it: other analyses place it too)
        places = partial(camp_places, passages, sites)
        return _camp_events_frame(rows, places, count_window_days, merge_days)

    read = [*_NEEDED, "is_duplicate"]
    key = (count_window_days, merge_days)
    return by_camp("evacuation_events", [passages, sites], make, _by_date, key, read)


_NEEDED = ["record_id", "date", "day", "association", "camp_id", "people", "sheltered"]
_NEEDED += ["evacuation", "site_status", *GROUP_COUNTS]


def _by_date(events: pd.DataFrame) -> pd.DataFrame:
    return events.sort_values(["date", "camp_id"], ignore_index=True)


def _camp_events_frame(
    passages: pd.DataFrame,
    places: Callable[[], pd.DataFrame],
    count_window_days: int,
    merge_days: int,
) -> pd.DataFrame:
    """``evacuation_events`` of those passages, placed by ``places()`` (every camp's)."""
    needed = _NEEDED
    params = (count_window_days, merge_days)
    # Each camp's events are kept under its rows' fingerprint (``lineage.camp_keys``:
    # for the next version of a frame, only the changed camps are hashed again): only
    # the camps not kept have their rows read.
    read = [c for c in [*needed, "is_duplicate"] if c in passages.columns and c != "camp_id"]
    keys = camp_keys(passages, read)
    kept = {cid: _MEMO.get((fp, "events", cid, params)) for cid, fp in keys.items()}
    todo = sorted(cid for cid, found in kept.items() if found is MISSING)
    if todo:
        rows = rows_of(passages, todo, [*needed, "is_duplicate"])
        made = _described(rows, needed, count_window_days, merge_days)
        for cid in todo:
            kept[cid] = made.get(cid, ())
            _MEMO.put((keys[cid], "events", cid, params), kept[cid], size_of(kept[cid]))
    described = [e for cid in sorted(kept) for e in kept[cid]]  # type: ignore[attr-defined]
    if not described:
        return empty_events(passages["date"])
    events = pd.DataFrame(described)
    place_cols = ["name", "arrondissement", "latitude", "longitude", "site_type"]
    events = events.join(places()[place_cols], on="camp_id")
    return _typed(_by_date(events))[EVENT_COLUMNS]


def _described(
    passages: pd.DataFrame, needed: list[str], count_window_days: int, merge_days: int
) -> dict[str, tuple[dict[str, Any], ...]]:
    """The described events of each camp of ``passages`` that has any."""
    seen = in_time_order(passages, needed)
    seen = seen.assign(day=round_days(seen["date"]))  # a report after midnight: its round's
    explicit = seen["evacuation"].isin(EVACUATION_KINDS)
    report = explicit | seen["site_status"].isin(EVACUATED_SITE_STATUSES)
    if not report.any():
        return {}
    seen = seen.assign(rep_explicit=explicit, rep_any=report)
    # Only the passages of reporting camps from ``count_window_days`` before their first
    # report matter (earlier counts never describe an event).
    first = seen.loc[report].groupby("camp_id")["date"].min()
    since = seen["camp_id"].map(first) - pd.Timedelta(days=count_window_days)
    touched = seen[(seen["date"] >= since).fillna(False).to_numpy()]
    # Stable: within a camp, rows stay in time order (camp codes: a sort of text is slower).
    codes = pd.factorize(touched["camp_id"], sort=True)[0]
    touched = touched.take(np.argsort(codes, kind="stable"))
    columns = _columns(touched)
    camp_ids = touched["camp_id"].to_numpy()
    bounds = np.flatnonzero(camp_ids[1:] != camp_ids[:-1]) + 1
    described: dict[str, tuple[dict[str, Any], ...]] = {}
    for lo, hi in zip([0, *bounds.tolist()], [*bounds.tolist(), len(touched)], strict=True):
        camp_id = str(camp_ids[lo])
        part = {c: v[lo:hi] for c, v in columns.items()}
        described[camp_id] = tuple(
            _describe(event, part, count_window_days * 86_400)
            for event in _camp_events(camp_id, part, merge_days)
        )
    return described


def _columns(rows: pd.DataFrame) -> dict[str, Any]:
    """The rows (each camp's in time order) as plain arrays and lists, for fast event
    loops; a camp's are a slice of each."""
    cols: dict[str, Any] = {c: rows[c].to_numpy() for c in rows.columns}
    cols["epoch"] = epoch_seconds(rows["date"])
    cols["date"] = rows["date"].tolist()
    cols["day"] = rows["day"].tolist()
    return cols


def _camp_events(camp_id: str, cols: dict[str, Any], merge_days: int) -> list[_Event]:
    """Group one camp's reports into events (``rows`` are positions in ``cols``)."""
    events: list[_Event] = []
    current: _Event | None = None
    last: _Event | None = None  # the latest event, even once the camp is seen inhabited
    merge = pd.Timedelta(days=merge_days)
    for pos, (day, is_report, is_explicit, status, people) in enumerate(
        zip(
            cols["day"],
            cols["rep_any"].tolist(),
            cols["rep_explicit"].tolist(),
            cols["site_status"].tolist(),
            cols["people"].tolist(),
            strict=True,
        )
    ):
        if is_report:
            if current is None and is_explicit and last and day - last.first_day <= merge:
                current = last  # another association's report (a partial evacuation leaves
                # people on the site, seen between the two reports)
            if current is None or (is_explicit and day - current.first_day > merge):
                current = _Event(camp_id, day)
                events.append(current)
            current.rows.append(pos)
            last = current
        elif current is not None and _inhabited(status, people):
            current = None  # the camp is seen inhabited again: the event is over
    return events


def _inhabited(status: object, people: float) -> bool:
    """A passage that is not a report shows people living at the camp again."""
    if isinstance(status, str) and status in schema.CLOSING_SITE_STATUSES:
        return False
    return status == "Actif" or bool(people > 0)


def _max(values: np.ndarray) -> float:
    """The largest known value (NaN when none is known)."""
    known = values[~np.isnan(values)]
    return float(known.max()) if len(known) else np.nan


def _latest(values: np.ndarray) -> float:
    """The last known value (NaN when none is known)."""
    known = values[~np.isnan(values)]
    return float(known[-1]) if len(known) else np.nan


def _describe(event: _Event, cols: dict[str, Any], window_s: int) -> dict[str, Any]:
    """The fields of one event from its reports and the camp's counts just before."""
    pos = np.asarray(event.rows)
    when = cols["epoch"]
    first_s = when[pos[0]]
    before = slice(
        int(np.searchsorted(when, first_s - window_s, side="left")),
        int(np.searchsorted(when, first_s, side="left")),
    )
    kinds = cols["evacuation"][pos][cols["rep_explicit"][pos].astype(bool)]
    kind = str(kinds[-1]) if len(kinds) else None
    people_reported = cols["people"][pos].astype(float)
    people = _max(np.where(people_reported > 0, people_reported, np.nan))
    source: str | None = PEOPLE_REPORTED
    if np.isnan(people):
        earlier = cols["people"][before].astype(float)
        people = _latest(np.where(earlier > 0, earlier, np.nan))
        source = None if np.isnan(people) else PEOPLE_LAST_COUNT
    sheltered = _max(cols["sheltered"][pos].astype(float))
    if np.isnan(sheltered) and kind == schema.EVACUATION_NO_SOLUTION:
        sheltered = 0.0
    if not np.isnan(sheltered) and not np.isnan(people):
        people = max(people, sheltered)
    remaining_known = not np.isnan(people - sheltered)
    groups = {}
    for col in GROUP_COUNTS:
        value = _max(cols[col][pos].astype(float))
        groups[col] = _latest(cols[col][before].astype(float)) if np.isnan(value) else value
    associations = sorted({a for a in cols["association"][pos] if isinstance(a, str)})
    return {
        "event_id": f"{event.camp_id}@{event.first_day:%Y-%m-%d}",
        "date": event.first_day,
        "camp_id": event.camp_id,
        "kind": kind,
        "people": people,
        "people_source": source,
        "sheltered": sheltered,
        "without_solution": max(people - sheltered, 0.0) if remaining_known else np.nan,
        "shelter": shelter_code(kind, people, sheltered),
        **groups,
        "first_report": cols["date"][pos[0]],
        "reports": len(pos),
        "associations": ", ".join(associations),
        "record_ids": ", ".join(str(r) for r in cols["record_id"][pos]),
    }


def shelter_code(kind: str | None, people: float, sheltered: float) -> str | None:
    """Whether shelter was offered to all, part or none of the people (None: unknown).

    Numbers decide when both are known; otherwise the kind of evacuation reported does.
    """
    if not np.isnan(sheltered) and not np.isnan(people):
        if sheltered <= 0:
            return SHELTER_NONE
        return SHELTER_ALL if sheltered >= people else SHELTER_PARTIAL
    return {
        schema.EVACUATION_SHELTERED: SHELTER_ALL,
        schema.EVACUATION_PARTIAL: SHELTER_PARTIAL,
        schema.EVACUATION_NO_SOLUTION: SHELTER_NONE,
    }.get(kind or "")


def _typed(events: pd.DataFrame) -> pd.DataFrame:
    shelter = events["shelter"].astype("str")
    offered = pd.Series(pd.NA, index=events.index, dtype="boolean")
    offered[shelter.isin([SHELTER_ALL, SHELTER_PARTIAL]).fillna(False)] = True
    offered[shelter.eq(SHELTER_NONE).fillna(False)] = False
    return events.assign(
        date=pd.to_datetime(events["date"]),
        kind=events["kind"].astype("str"),
        people_source=events["people_source"].astype("str"),
        shelter=shelter,
        shelter_offered=offered,
        reports=events["reports"].astype(int),
        without_solution=events["without_solution"].astype(float),
    )


def empty_events(dates: pd.Series) -> pd.DataFrame:
    """An events frame with no rows and the right columns and types (``dates``: the
    passages' dates, whose time zone the report times take)."""
    cols: dict[str, Any] = {
        "event_id": "str",
        "date": "datetime64[us]",
        "camp_id": "str",
        "name": "str",
        "arrondissement": "str",
        "latitude": float,
        "longitude": float,
        "site_type": "str",
        "kind": "str",
        "people": float,
        "people_source": "str",
        "sheltered": float,
        "without_solution": float,
        "shelter": "str",
        "shelter_offered": "boolean",
        **dict.fromkeys(GROUP_COUNTS, float),
        "first_report": local_times(dates),
        "reports": int,
        "associations": "str",
        "record_ids": "str",
    }
    return pd.DataFrame({c: pd.Series(dtype=d) for c, d in cols.items()})


def events_in(events: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """The events dated from ``start`` to ``end`` inclusive (naive local days)."""
    return events[(events["date"] >= start) & (events["date"] <= end)]
