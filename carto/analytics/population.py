"""Estimated population (docs/architecture.md §4), its range, and the naive figure it replaces.

On a day, each camp contributes its latest count within the recency window; the sum over
camps is the estimated population. Never the sum of passages: a camp visited three times
a week would count three times. The rules, camp by camp:

- **Rounds, not calendar days.** A passage belongs to the day of its round: one made
  before ``ROUND_START_HOUR`` (a round ending after midnight) counts for the evening
  before.
- **Several counts in one round** (two associations the same evening) are reconciled by
  taking the largest: a team misses people (away, asleep in a closed tent, only those who
  came to its distribution) far more often than it counts them twice. Their spread widens
  the range.
- **Evacuations.** A passage that reports one (an Évacuation kind, or Statut du site
  Évacué / Démantelé) gives the people *concerned*, not the people living there after;
  reports of one camp within ``merge_days`` of the first are one event, as in
  ``carto.analytics.events``. The event's day counts the people evacuated (the largest
  reported, else the latest count); after it, a full evacuation leaves nobody and a
  partial one leaves the people concerned minus those sheltered, until the camp is
  counted again. An evacuation nobody witnessed (only a later status says so) happened
  on some morning after the last visit that found people: the days in between keep the
  latest count, with a range down to zero.
- **Successors.** A camp first seen near a camp partially evacuated (``successors``) took
  people from it: its first count comes off the remainder the evacuated camp still
  carries.
- **Closing.** A camp whose round ends on Vide (nobody there) contributes nothing from
  that day until it is counted with people again.

The range (``people_low`` … ``people_high``): each contribution carries a counting error
that grows with the age of its count (``COUNT_SD``, ``DRIFT_SD`` per day), combined over
camps as independent errors at ``Z`` standard deviations; to that are added, as they are,
the spread of a round's disagreeing counts, the unknowns of an evacuation (the days
between an unwitnessed evacuation and the last visit, the people left without shelter who
scatter), which do not cancel out between camps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from carto import schema
from carto.analytics.camps import counted
from carto.analytics.successors import successor_links

# A passage made before this hour (local) belongs to the round of the evening before.
ROUND_START_HOUR = 5
# Relative standard deviation of one count, and its growth per day of age (a camp's
# population drifts: people arrive and leave every day).
COUNT_SD = 0.03
DRIFT_SD = 0.03
Z = 1.645  # two-sided 90 % for independent counting errors
# After a partial evacuation, up to this share of the people left without shelter may
# scatter before the camp is counted again (the range goes down that far).
SCATTER = 0.2
# Site statuses by which a passage reports an evacuation (events.EVACUATED_SITE_STATUSES).
_EVACUATED = frozenset({"Évacué", "Démantelé"})
_FULL_KINDS = frozenset({schema.EVACUATION_SHELTERED, schema.EVACUATION_NO_SOLUTION})
_KINDS = (*_FULL_KINDS, schema.EVACUATION_PARTIAL)


def round_days(dates: pd.Series) -> pd.Series:
    """The day (naive local midnight) of the round each passage belongs to."""
    local = dates.dt.tz_localize(None) if dates.dt.tz is not None else dates
    return (local - pd.Timedelta(hours=ROUND_START_HOUR)).dt.normalize()


@dataclass
class _Event:
    day: int
    rows: list[int] = field(default_factory=list)


@dataclass
class _Camp:
    """One camp's contribution day by day."""

    value: np.ndarray
    sd: np.ndarray
    low: np.ndarray  # amounts the range goes below value, beyond the counting error
    high: np.ndarray


def estimated_population(
    passages: pd.DataFrame,
    days: pd.DatetimeIndex,
    window: int,
    merge_days: int = 1,
    successor_distance_m: float = 600.0,
    successor_days: int = 14,
) -> pd.DataFrame:
    """Per day: ``people`` (estimated population), ``people_low`` and ``people_high``
    (its range), ``camps`` (camps counted)."""
    found = _contributions(passages, days, window, merge_days, successor_distance_m, successor_days)
    if found is None:
        zero = pd.Series(0.0, index=days)
        return pd.DataFrame(
            {"people": zero, "people_low": zero, "people_high": zero, "camps": 0}, index=days
        )
    value, sd, low, high = found
    people = value.sum(axis=1)
    spread = Z * np.sqrt((sd**2).sum(axis=1))
    out = pd.DataFrame(
        {
            "people": people,
            # Rounded outwards, so that whole numbers keep the range.
            "people_low": np.floor(np.maximum(people - spread - low.sum(axis=1), 0.0)),
            "people_high": np.ceil(people + spread + high.sum(axis=1)),
            "camps": (value > 0).sum(axis=1).astype(int),
        },
        index=days,
    )
    return out


def _contributions(
    passages: pd.DataFrame,
    days: pd.DatetimeIndex,
    window: int,
    merge_days: int,
    successor_distance_m: float,
    successor_days: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Day × camp arrays (value, sd, low, high) on ``days``, or None without any camp."""
    seen = counted(passages)
    if seen.empty or len(days) == 0:
        return None
    missing = {c: np.nan for c in ("evacuation", "sheltered", "latitude", "longitude")}
    seen = seen.assign(**{c: v for c, v in missing.items() if c not in seen.columns})
    seen = seen.sort_values(["date", "record_id"])
    rday = round_days(seen["date"])
    origin = min(days.min(), rday.min())
    n = int((days.max() - origin).days) + 1
    if n <= 0:
        return None
    seen = seen.assign(
        _d=((rday - origin).dt.days).astype(int),
        _explicit=seen["evacuation"].isin(_KINDS),
        _status=seen["site_status"].isin(_EVACUATED),
    )
    camps = [(str(cid), rows) for cid, rows in seen.groupby("camp_id", sort=True)]
    cuts = _successor_cuts(seen, camps, merge_days, successor_distance_m, successor_days, origin)
    built = {
        str(cid): _camp(rows, n, window, merge_days, cuts.get(str(cid), {})) for cid, rows in camps
    }
    pick = ((days - origin).days).to_numpy()
    pick = pick[(pick >= 0) & (pick < n)]
    if len(pick) != len(days):
        return None
    cols = list(built)
    value = np.stack([built[c].value[pick] for c in cols], axis=1)
    sd = np.stack([built[c].sd[pick] for c in cols], axis=1)
    low = np.stack([built[c].low[pick] for c in cols], axis=1)
    high = np.stack([built[c].high[pick] for c in cols], axis=1)
    return value, sd, low, high


def _rounds(rows: pd.DataFrame) -> dict[int, tuple[float, float, bool]]:
    """Per round day of one camp: (largest count, smallest count, ends empty), from the
    passages that are not evacuation reports."""
    plain = rows[~(rows["_explicit"] | rows["_status"])]
    out: dict[int, tuple[float, float, bool]] = {}
    for key, group in plain.groupby("_d", sort=True):
        d = int(str(key))
        last_status = group["site_status"].iloc[-1]
        empty = isinstance(last_status, str) and last_status in schema.CLOSING_SITE_STATUSES
        people = group["people"].dropna()
        if empty:
            out[d] = (0.0, 0.0, True)
        elif len(people):
            out[d] = (float(people.max()), float(people.min()), False)
    return out


def _events(rows: pd.DataFrame, merge_days: int) -> list[_Event]:
    """One camp's evacuation reports grouped into events (``rows``: positions)."""
    events: list[_Event] = []
    current: _Event | None = None
    reports = (rows["_explicit"] | rows["_status"]).to_list()
    for pos, (d, is_report, explicit, status, people) in enumerate(
        zip(
            rows["_d"].to_list(),
            reports,
            rows["_explicit"].to_list(),
            rows["site_status"].to_list(),
            rows["people"].to_list(),
            strict=True,
        )
    ):
        if is_report:
            if current is None or (explicit and d - current.day > merge_days):
                current = _Event(d)
                events.append(current)
            current.rows.append(pos)
        elif current is not None and _inhabited(status, people):
            current = None  # seen inhabited again: the event is over
    return events


def _inhabited(status: object, people: float) -> bool:
    """A passage that is not a report shows people living at the camp again."""
    if isinstance(status, str) and status in schema.CLOSING_SITE_STATUSES:
        return False
    return status == "Actif" or bool(people > 0)


def _camp(
    rows: pd.DataFrame, n: int, window: int, merge_days: int, cuts: dict[int, float]
) -> _Camp:
    """One camp's contribution on each of ``n`` days."""
    out = _Camp(np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n))
    rounds = _rounds(rows)
    events = {e.day: e for e in _events(rows, merge_days)}
    explicit = rows["_explicit"].to_numpy()
    kinds = rows["evacuation"].to_list()
    people = rows["people"].to_numpy(dtype=float)
    sheltered = rows["sheltered"].to_numpy(dtype=float)
    start = min([*rounds, *events], default=n)
    # State carried between days: the value, the day it was known, what it is.
    value, anchor, low, high, state = 0.0, start, 0.0, 0.0, "none"
    last_count_day = -1
    for d in range(start, n):
        today: tuple[float, float, float, float] | None = None  # value, sd, low, high
        if d in events:
            ev = events[d]
            pos = np.asarray(ev.rows)
            witnessed = bool(explicit[pos].any())
            reported = people[pos]
            reported = reported[reported > 0]
            known = float(reported.max()) if len(reported) else None
            before = value if state in ("count", "remainder") else 0.0
            concerned = known if known is not None else before
            kind_list = [k for k, x in zip(np.asarray(kinds)[pos], explicit[pos], strict=True) if x]
            partial = bool(kind_list) and kind_list[-1] == schema.EVACUATION_PARTIAL
            if witnessed or known is not None or d - last_count_day <= 1:
                # Witnessed, or reported with its people, or found the evening after
                # people were seen: the day counts the people evacuated.
                age_sd = 0.0 if known is not None else _sd(concerned, d - anchor)
                today = (
                    concerned,
                    age_sd or concerned * COUNT_SD,
                    0.0 if witnessed else concerned,
                    0.0,
                )
            else:
                # Nobody saw it: it happened on a morning since the last visit finding
                # people. The days in between keep that count, down to zero; today none.
                for back in range(max(last_count_day + 1, d - window + 1), d):
                    out.low[back] = out.value[back]
                today = (0.0, 0.0, 0.0, before)
            if partial:
                shelt = sheltered[pos][~np.isnan(sheltered[pos])]
                if len(shelt):
                    value = max(concerned - float(shelt.max()), 0.0)
                    low, high = SCATTER * value, 0.0
                else:
                    value, low, high = concerned, concerned, 0.0
                anchor, state = d, "remainder"
            else:
                value, low, high, state = 0.0, 0.0, 0.0, "closed"
        if d in rounds:
            count, smallest, empty = rounds[d]
            if empty:
                value, low, high, state = 0.0, 0.0, 0.0, "closed"
            elif d in events and state == "closed":
                pass  # a round the evacuation day counts only the evacuated
            else:
                value, anchor, low, high, state = count, d, count - smallest, 0.0, "count"
                last_count_day = d
        if d in cuts and state == "remainder":
            value = max(value - cuts[d], 0.0)
            low = min(low, value)
        if today is not None:
            out.value[d], out.sd[d], out.low[d], out.high[d] = today
            continue
        age = d - anchor
        if state in ("count", "remainder") and age < window and value > 0:
            out.value[d], out.sd[d] = value, _sd(value, age)
            out.low[d], out.high[d] = low, high
    return out


def _sd(value: float, age: int) -> float:
    return value * math.sqrt(COUNT_SD**2 + max(age, 0) * DRIFT_SD**2)


def _successor_cuts(
    seen: pd.DataFrame,
    camps: list[tuple[str, pd.DataFrame]],
    merge_days: int,
    distance_m: float,
    days: int,
    origin: pd.Timestamp,
) -> dict[str, dict[int, float]]:
    """For each camp partially evacuated: on the day a successor is first counted, the
    count to take off the remainder it carries."""
    partial = seen["evacuation"].eq(schema.EVACUATION_PARTIAL).fillna(False)
    if not partial.any():
        return {}
    places = seen.groupby("camp_id").agg(
        latitude=("latitude", "median"),
        longitude=("longitude", "median"),
        first_visit=("date", "min"),
    )
    firsts = []
    for _, group in camps:
        for ev in _events(group, merge_days):
            first = group.iloc[ev.rows[0]]
            if first["_explicit"] and first["evacuation"] == schema.EVACUATION_PARTIAL:
                firsts.append(first)
    if not firsts:
        return {}
    events = pd.DataFrame(firsts)
    events = pd.DataFrame(
        {
            "event_id": [f"{c}@{d}" for c, d in zip(events["camp_id"], events["_d"], strict=True)],
            "camp_id": events["camp_id"].to_numpy(),
            "date": (origin + pd.to_timedelta(events["_d"].to_numpy(), unit="D")),
            "first_report": events["date"].to_numpy(),
            "latitude": places.loc[events["camp_id"], "latitude"].to_numpy(),
            "longitude": places.loc[events["camp_id"], "longitude"].to_numpy(),
        }
    )
    events["first_report"] = pd.to_datetime(events["first_report"], utc=True).dt.tz_convert(
        seen["date"].dt.tz
    )
    links = successor_links(places, events, distance_m, days)
    cuts: dict[str, dict[int, float]] = {}
    by_camp = dict(camps)
    for pred, succ in zip(links["predecessor_id"], links["successor_id"], strict=True):
        found = _first_count(by_camp[str(succ)])
        if found is not None:
            cuts.setdefault(str(pred), {})[found[0]] = found[1]
    return cuts


def _first_count(rows: pd.DataFrame) -> tuple[int, float] | None:
    rounds = _rounds(rows)
    for d in sorted(rounds):
        if not rounds[d][2]:
            return d, rounds[d][0]
    return None


def daily_camp_counts(
    passages: pd.DataFrame, days: pd.DatetimeIndex, window: int, column: str = "people"
) -> pd.DataFrame:
    """A day × camp matrix of a public's count (e.g. ``unaccompanied_minors``): each
    camp's latest count of it within the window, taken from the passages that counted
    people (missing there meaning 0), by round day; a camp closed by a passage (Vide,
    Évacué, Démantelé) still counts on that day and not after unless seen again."""
    seen = counted(passages).sort_values(["date", "record_id"])
    if column != "people":
        of_count = seen[column].fillna(0.0).where(seen["people"].notna())
        seen = seen.assign(people=of_count)
    if seen.empty or len(days) == 0:
        return pd.DataFrame(index=days, dtype=float)
    seen = seen.assign(day=round_days(seen["date"]))
    # One observation per camp and round: the largest count, the last passage's status.
    last_of_day = seen.groupby(["day", "camp_id"]).tail(1)
    largest = seen.groupby(["day", "camp_id"])["people"].max()
    last_of_day = last_of_day.assign(
        people=largest.reindex(pd.MultiIndex.from_frame(last_of_day[["day", "camp_id"]])).to_numpy()
    )
    closing = last_of_day["site_status"].isin(schema.CLOSING_SITE_STATUSES)
    full_range = pd.date_range(min(days.min(), seen["day"].min()), days.max(), freq="D")
    counts = last_of_day.pivot(index="day", columns="camp_id", values="people")
    counts = counts.reindex(full_range).astype(float)
    closed = (
        last_of_day.assign(closing=closing)
        .pivot(index="day", columns="camp_id", values="closing")
        .reindex(index=full_range, columns=counts.columns)
    )
    # The day after a closing passage, the camp is known to be empty unless seen again.
    after_close = closed.shift(1).eq(True)
    counts = counts.mask(counts.isna() & after_close, 0.0)
    counts = counts.ffill(limit=window - 1) if window > 1 else counts
    return counts.reindex(days).fillna(0.0)


def estimated_count(
    passages: pd.DataFrame, days: pd.DatetimeIndex, window: int, column: str
) -> pd.Series:
    """Per day, the estimate of ``column`` (a public's count, e.g. ``unaccompanied_minors``):
    each active camp's latest count of it within the window, summed (``daily_camp_counts``)."""
    matrix = daily_camp_counts(passages, days, window, column)
    if matrix.shape[1] == 0:
        return pd.Series(0.0, index=days, name=column)
    return matrix.sum(axis=1).rename(column)


def naive_population(passages: pd.DataFrame, days: pd.DatetimeIndex, window: int) -> pd.Series:
    """What a spreadsheet gives: people summed over the window's passages (wrong on purpose)."""
    per_day = passages.groupby("day")["people"].sum()
    full = per_day.reindex(pd.date_range(days.min() - pd.Timedelta(days=window), days.max()))
    return full.fillna(0.0).rolling(window, min_periods=1).sum().reindex(days)


def day_range(start: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
    """Naive local midnights from ``start`` to ``end`` inclusive."""
    return pd.date_range(_naive_day(start), _naive_day(end), freq="D")


def _naive_day(ts: pd.Timestamp) -> pd.Timestamp:
    return (ts.tz_localize(None) if ts.tzinfo else ts).normalize()
