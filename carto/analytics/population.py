"""Estimated population (docs/architecture.md §4), its range, and the naive figure it replaces.

On a day, each camp contributes its latest count within the recency window; the sum over
camps is the estimated population. Never the sum of passages: a camp visited three times
a week would count three times. The rules, camp by camp:

- **Rounds, not calendar days.** A passage belongs to the day of its round: one made
  before ``camps.ROUND_START_HOUR`` (a round ending after midnight) counts for the evening
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
that grows with the age of its count, both measured on the base's successive counts of
the same camps (``_fitted_sd``; ``COUNT_SD`` and ``DRIFT_SD`` per day when too few),
combined over camps as independent errors at ``Z`` standard deviations; to that are
added, as they are, the spread of a round's disagreeing counts and the unknowns of an
evacuation (the days between an unwitnessed evacuation and the last visit, the people
left without shelter who scatter), which do not cancel out between camps.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd

from carto import schema
from carto.analytics.camps import counted, in_time_order, round_days
from carto.analytics.lineage import by_camp, camp_keys, rows_of
from carto.analytics.memo import MISSING, CampMemo
from carto.analytics.successors import successor_links

# Relative standard deviation of one count, and its growth per day of age (a camp's
# population drifts: people arrive and leave every day). These are the defaults; with
# enough successive counts, ``_fitted_sd`` measures both on the passages themselves.
COUNT_SD = 0.03
DRIFT_SD = 0.03
MIN_PAIRS = 40  # successive counts needed to measure them
Z = 1.645  # two-sided 90 % for independent counting errors
# After a partial evacuation, up to this share of the people left without shelter may
# scatter before the camp is counted again (the range goes down that far).
SCATTER = 0.2
# Site statuses by which a passage reports an evacuation (events.EVACUATED_SITE_STATUSES).
_EVACUATED = frozenset({"Évacué", "Démantelé"})
_FULL_KINDS = frozenset({schema.EVACUATION_SHELTERED, schema.EVACUATION_NO_SOLUTION})
_KINDS = (*_FULL_KINDS, schema.EVACUATION_PARTIAL)
# The passages' columns a camp's parts and contribution are made from (what keys them).
_BASE_READ = (
    "date",
    "record_id",
    "is_duplicate",
    "people",
    "site_status",
    "evacuation",
    "sheltered",
    "latitude",
    "longitude",
)
# Each camp's contribution kept across snapshot versions (carto.analytics.memo): five
# arrays of one float a day, about 15 kB a camp for a year.
_MEMO = CampMemo(max_entries=20_000, max_bytes=64 * 2**20)
# Each camp's rounds and evacuation events (``_camp_parts``): what its contribution and
# the successor cuts start from, kept so that a new version loops over changed camps only.
_PARTS = CampMemo(max_entries=20_000, max_bytes=32 * 2**20)
# The successor links the cuts follow (``_successor_cuts``), by what they are made of.
_LINKS = CampMemo(max_entries=64, max_bytes=8 * 2**20)


@dataclass
class _Event:
    day: int
    rows: list[int] = field(default_factory=list)


@dataclass
class _Camp:
    """One camp's contribution day by day. Its counting error, base × √(count sd² +
    age × drift sd²), is made once the sds are fitted on every camp's ``gaps``."""

    value: np.ndarray
    base: np.ndarray  # the count whose error the day carries
    age: np.ndarray  # that count's age in days
    low: np.ndarray  # amounts the range goes below value, beyond the counting error
    high: np.ndarray
    gaps: dict[int, np.ndarray]  # days apart -> log ratios of successive counts


def estimated_population(
    passages: pd.DataFrame,
    days: pd.DatetimeIndex,
    window: int,
    merge_days: int = 1,
    successor_distance_m: float = 600.0,
    successor_days: int = 14,
    hidden_below: int = 0,
) -> pd.DataFrame:
    """Per day: ``people`` (estimated population), ``people_low`` and ``people_high``
    (its range), ``camps`` (camps counted).

    ``hidden_below`` is a privacy policy's small-count threshold (0: none). Under one, a
    partial evacuation whose people left without solution are under it (shown "<5" with
    the event) leaves nobody counted at its camp until the camp is counted again: the
    day's drop would give them back (the people concerned are shown, and the drop is
    those sheltered), as the remainder itself would."""
    found = _contributions(
        passages, days, window, merge_days, successor_distance_m, successor_days, hidden_below
    )
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


def _camp_size(camp: _Camp) -> int:
    """About the bytes a camp's arrays hold in the memo (not ``size_of``: it walks every
    tuple of the gaps, a few hundred a camp)."""
    arrays = (camp.value, camp.base, camp.age, camp.low, camp.high)
    return sum(a.nbytes + 112 for a in (*arrays, *camp.gaps.values())) + 200


def _contributions(
    passages: pd.DataFrame,
    days: pd.DatetimeIndex,
    window: int,
    merge_days: int,
    successor_distance_m: float,
    successor_days: int,
    hidden_below: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Day × camp arrays (value, sd, low, high) on ``days``, or None without any camp.

    Each camp's parts (rounds, events, place) and contribution are kept (``_PARTS``,
    ``_MEMO``) under its rows' fingerprint (``lineage.camp_keys``: for the next version
    of a frame, only the changed camps are hashed again) and everything else they
    depend on; only the camps not found there have their rows read."""
    counted_rows = ~passages["is_duplicate"].to_numpy(dtype=bool)
    if len(days) == 0 or not counted_rows.any():
        return None
    # The first round day of any counted passage: round_days keeps the order of dates.
    first = passages["date"][counted_rows].min()
    origin = min(days.min(), round_days(pd.Series([first]))[0])
    n = int((days.max() - origin).days) + 1
    keys = camp_keys(passages, [c for c in _BASE_READ if c in passages.columns])
    parts: dict[str, _Parts | None] = {}
    todo: list[str] = []
    for cid, fingerprint in keys.items():
        found = _PARTS.get((fingerprint, "parts", cid, merge_days, origin))
        if found is MISSING:
            todo.append(cid)
        else:
            parts[cid] = found  # type: ignore[assignment]
    made = _Seen(passages, origin)
    made.need(todo)
    for cid in todo:
        parts[cid] = made.parts(cid, merge_days)
        _PARTS.put(
            (keys[cid], "parts", cid, merge_days, origin), parts[cid], _parts_size(parts[cid])
        )
    cuts = _successor_cuts(parts, successor_distance_m, successor_days, origin, passages["date"])
    camps = sorted(cid for cid, p in parts.items() if p is not None)
    memo_keys = [
        (
            keys[cid],
            "population",
            cid,
            n,
            window,
            merge_days,
            origin,
            hidden_below,
            *cuts.get(cid, {}).items(),
        )
        for cid in camps
    ]
    kept = [_MEMO.get(key) for key in memo_keys]
    made.need(cid for cid, built in zip(camps, kept, strict=True) if built is MISSING)
    pick = ((days - origin).days).to_numpy()
    built: list[_Camp] = []
    gaps: dict[int, list[np.ndarray]] = {}
    for j, (cid, found) in enumerate(zip(camps, kept, strict=True)):
        if not isinstance(found, _Camp):
            camp_parts = parts[cid]
            assert camp_parts is not None
            found = made.contribution(cid, camp_parts, n, window, cuts.get(cid, {}), hidden_below)
            _MEMO.put(memo_keys[j], found, _camp_size(found))
        built.append(found)
        for gap, ratios in found.gaps.items():
            gaps.setdefault(gap, []).append(ratios)
    if not built:
        return None

    def days_by_camp(field: str) -> np.ndarray:
        return np.column_stack([getattr(b, field) for b in built])[pick]

    value, base, age = days_by_camp("value"), days_by_camp("base"), days_by_camp("age")
    low, high = days_by_camp("low"), days_by_camp("high")
    count_sd, drift_sd = _fitted_sd({g: np.concatenate(r) for g, r in gaps.items()})
    # Each contribution's counting error, on every day and camp at once.
    sd = base * np.sqrt(count_sd**2 + age * drift_sd**2)
    return value, sd, low, high


class _Rows:
    """The counted passages' columns as plain lists and arrays (sorted by camp, time)."""

    def __init__(self, seen: pd.DataFrame) -> None:
        self.camp: list[str] = seen["camp_id"].astype("str").to_list()
        self.day: list[int] = seen["_d"].to_list()
        self.report: list[bool] = seen["_report"].to_list()
        self.explicit = seen["_explicit"].to_numpy(dtype=bool)
        self.status: list[object] = seen["site_status"].to_list()
        self.kind: list[object] = seen["evacuation"].to_list()
        self.people = seen["people"].to_numpy(dtype=float)
        self.sheltered = seen["sheltered"].to_numpy(dtype=float)


class _Parts(NamedTuple):
    """What ``_camp_parts`` keeps of one camp."""

    rounds: dict[int, tuple[float, float, bool]]  # round day -> (largest, smallest, empty)
    events: tuple[tuple[int, tuple[int, ...]], ...]  # (day, positions from its first row)
    partial: tuple[tuple[int, pd.Timestamp], ...]  # (day, first report) of partial ones
    place: tuple[float, float, pd.Timestamp]  # median latitude, longitude; first visit


def _parts_size(parts: _Parts | None) -> int:
    """About the bytes a camp's parts hold in the memo."""
    if parts is None:
        return 64
    events = sum(80 + 8 * len(rows) for _, rows in parts.events)
    return 400 + 150 * len(parts.rounds) + events + 120 * len(parts.partial)


class _Seen:
    """The counted passages of some camps, read when first needed: in time order, by
    camp, with their round day (``_d``, from ``origin``) and evacuation reports."""

    def __init__(self, passages: pd.DataFrame, origin: pd.Timestamp) -> None:
        self.passages = passages
        self.origin = origin
        self.asked: set[str] = set()
        self.spans: dict[str, tuple[int, int]] = {}  # each camp's rows
        self.seen = pd.DataFrame()
        self.rows: _Rows | None = None
        self.made: dict[str, _Parts] = {}

    def need(self, camps: Iterable[str]) -> None:
        """Have the rows of ``camps`` read (with those asked for before)."""
        wanted = set(camps) - self.asked
        if not wanted:
            return
        self.asked |= wanted
        missing = {c: np.nan for c in ("evacuation", "sheltered", "latitude", "longitude")}
        columns = ["camp_id", "date", "record_id", "people", "site_status", *missing]
        # Those camps' rows first, then in time order: sorting the few rows of changed
        # camps, not the whole frame (the order of rows by date and record id is the same).
        rows = rows_of(self.passages, self.asked, [*columns, "is_duplicate"])
        seen = in_time_order(rows, columns)
        seen = seen.assign(**{c: v for c, v in missing.items() if c not in seen.columns})[columns]
        # Then by camp, as sort_values(["camp_id", "date", "record_id"]) at a fraction of it.
        codes = pd.factorize(seen["camp_id"], sort=True)[0]
        seen = seen.take(np.argsort(codes, kind="stable")).reset_index(drop=True)
        rday = round_days(seen["date"])
        self.seen = seen.assign(
            _d=((rday - self.origin).dt.days).astype(int),
            _explicit=seen["evacuation"].isin(_KINDS),
            _report=seen["evacuation"].isin(_KINDS) | seen["site_status"].isin(_EVACUATED),
        )
        self.rows = _Rows(self.seen)
        ids = self.seen["camp_id"].astype("str").to_numpy()
        starts = [0, *(np.flatnonzero(ids[1:] != ids[:-1]) + 1).tolist()] if len(ids) else []
        ends = [*starts[1:], len(ids)]
        self.spans = {str(ids[lo]): (lo, hi) for lo, hi in zip(starts, ends, strict=True)}

    def parts(self, cid: str, merge_days: int) -> _Parts | None:
        """The parts of ``cid`` (read before), None when it has no counted row."""
        if cid not in self.spans:
            return None
        if cid not in self.made:
            self._make_parts(merge_days)
        return self.made[cid]

    def _make_parts(self, merge_days: int) -> None:
        """The parts of every camp read and not made yet."""
        assert self.rows is not None
        todo = [cid for cid in self.spans if cid not in self.made]
        positions = np.concatenate([np.arange(*self.spans[cid]) for cid in todo])
        seen, rows = self.seen.iloc[positions], self.rows
        rounds = _rounds(seen)
        events = _events(rows, merge_days, positions.tolist())
        places = seen.groupby("camp_id", sort=False).agg(
            latitude=("latitude", "median"),
            longitude=("longitude", "median"),
            first_visit=("date", "min"),
        )
        latitude = places["latitude"].to_dict()
        longitude = places["longitude"].to_dict()
        first_visit = places["first_visit"].to_dict()
        dates = self.seen["date"].tolist()
        for cid in todo:
            lo = self.spans[cid][0]
            camp_events = events.get(cid, [])
            self.made[cid] = _Parts(
                rounds.get(cid, {}),
                tuple((e.day, tuple(p - lo for p in e.rows)) for e in camp_events),
                tuple((e.day, dates[e.rows[0]]) for e in camp_events if _partial(rows, e)),
                (float(latitude[cid]), float(longitude[cid]), first_visit[cid]),
            )

    def contribution(
        self,
        cid: str,
        parts: _Parts,
        n: int,
        window: int,
        cuts: dict[int, float],
        hidden_below: int = 0,
    ) -> _Camp:
        """The contribution of ``cid`` (read before)."""
        assert self.rows is not None
        lo = self.spans[cid][0]
        camp_events = [_Event(day, [lo + p for p in rel]) for day, rel in parts.events]
        return _camp(self.rows, parts.rounds, camp_events, n, window, cuts, hidden_below)


def _partial(rows: _Rows, event: _Event) -> bool:
    """Whether an event's first report is of a partial evacuation."""
    first = event.rows[0]
    return bool(rows.explicit[first]) and rows.kind[first] == schema.EVACUATION_PARTIAL


def _rounds(seen: pd.DataFrame) -> dict[str, dict[int, tuple[float, float, bool]]]:
    """Per camp and round day: (largest count, smallest count, ends empty), from the
    passages that are not evacuation reports."""
    plain = seen[~seen["_report"]]
    keys = ["camp_id", "_d"]
    by_round = plain.groupby(keys, sort=True)
    stats = by_round["people"].agg(["max", "min"])
    last = by_round.tail(1).set_index(keys)["site_status"].reindex(stats.index)
    empty = last.isin(schema.CLOSING_SITE_STATUSES).to_numpy()
    out: dict[str, dict[int, tuple[float, float, bool]]] = {}
    for cid, d, top, bottom, gone in zip(
        stats.index.get_level_values(0).astype("str").to_list(),
        stats.index.get_level_values(1).to_list(),
        stats["max"].to_numpy(dtype=float).tolist(),
        stats["min"].to_numpy(dtype=float).tolist(),
        empty.tolist(),
        strict=True,
    ):
        if gone:
            out.setdefault(str(cid), {})[int(d)] = (0.0, 0.0, True)
        elif top == top:  # a count of people was given
            out.setdefault(str(cid), {})[int(d)] = (top, bottom, False)
    return out


def _events(
    rows: _Rows, merge_days: int, positions: list[int] | None = None
) -> dict[str, list[_Event]]:
    """Each camp's evacuation reports grouped into events (``rows``: positions), over
    ``positions`` (whole camps, in order; default: every row)."""
    events: dict[str, list[_Event]] = {}
    current: _Event | None = None
    last: _Event | None = None  # the camp's latest event, even once seen inhabited
    previous = None
    if positions is None:
        positions = list(range(len(rows.camp)))
    for pos in positions:
        cid, d, is_report = rows.camp[pos], rows.day[pos], rows.report[pos]
        status, people = rows.status[pos], float(rows.people[pos])
        if cid != previous:
            current, last, previous = None, None, cid
        if is_report:
            explicit = rows.explicit[pos]
            if current is None and explicit and last and d - last.day <= merge_days:
                current = last  # another association's report of the same evacuation
            if current is None or (explicit and d - current.day > merge_days):
                current = _Event(d)
                events.setdefault(cid, []).append(current)
            current.rows.append(pos)
            last = current
        elif current is not None and _inhabited(status, people):
            current = None  # seen inhabited again: the event is over
    return events


def _inhabited(status: object, people: float) -> bool:
    """A passage that is not a report shows people living at the camp again."""
    if isinstance(status, str) and status in schema.CLOSING_SITE_STATUSES:
        return False
    return status == "Actif" or bool(people > 0)


def _camp(
    rows: _Rows,
    rounds: dict[int, tuple[float, float, bool]],
    camp_events: list[_Event],
    n: int,
    window: int,
    cuts: dict[int, float],
    hidden_below: int = 0,
) -> _Camp:
    """One camp's contribution on each of ``n`` days (``hidden_below``:
    ``estimated_population``'s)."""
    days = [np.zeros(n) for _ in range(5)]
    out = _Camp(days[0], days[1], days[2], days[3], days[4], _camp_gaps(rounds, camp_events))
    events = {e.day: e for e in camp_events}
    start = min([*rounds, *events], default=n)
    # State carried between days: the value, the day it was known, what it is.
    value, anchor, low, high, state = 0.0, start, 0.0, 0.0, "none"
    last_count_day = -1
    for d in range(start, n):
        today: tuple[float, float, int, float, float] | None = None  # value, base, age, low, high
        if d in events:
            pos = np.asarray(events[d].rows)
            explicit = rows.explicit[pos]
            witnessed = bool(explicit.any())
            reported = rows.people[pos]
            reported = reported[reported > 0]
            known = float(reported.max()) if len(reported) else None
            before = value if state in ("count", "remainder") else 0.0
            concerned = known if known is not None else before
            kinds = [
                rows.kind[p] for p, x in zip(pos.tolist(), explicit.tolist(), strict=True) if x
            ]
            partial = bool(kinds) and kinds[-1] == schema.EVACUATION_PARTIAL
            if witnessed or known is not None or d - last_count_day <= 1:
                # Witnessed, or reported with its people, or found the evening after
                # people were seen: the day counts the people evacuated.
                counted_age = 0 if known is not None else max(d - anchor, 0)
                today = (concerned, concerned, counted_age, 0.0 if witnessed else concerned, 0.0)
            else:
                # Nobody saw it: it happened on a morning since the last visit finding
                # people. The days in between keep that count, down to zero; today none.
                for back in range(max(last_count_day + 1, d - window + 1), d):
                    out.low[back] = out.value[back]
                today = (0.0, 0.0, 0, 0.0, before)
            if partial:
                shelt = rows.sheltered[pos]
                shelt = shelt[~np.isnan(shelt)]
                if len(shelt):
                    value = max(concerned - float(shelt.max()), 0.0)
                    low, high = SCATTER * value, 0.0
                    if 0 < value < hidden_below:
                        value, low = 0.0, 0.0  # the next days' drop would tell it
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
            out.value[d], out.base[d], out.age[d], out.low[d], out.high[d] = today
            continue
        age = d - anchor
        if state in ("count", "remainder") and age < window and value > 0:
            out.value[d], out.base[d], out.age[d] = value, value, max(age, 0)
            out.low[d], out.high[d] = low, high
    return out


def _camp_gaps(
    by_day: dict[int, tuple[float, float, bool]], camp_events: list[_Event]
) -> dict[int, np.ndarray]:
    """One camp's successive counts at most 7 days apart, not around an evacuation: the
    log ratios by days apart, for ``_fitted_sd`` (arrays: gathered over every camp on
    each estimate, a few hundred pairs a camp)."""
    evacuated = sorted(e.day for e in camp_events)
    counts = [(d, c) for d, (c, _, gone) in sorted(by_day.items()) if not gone and c > 0]
    found: dict[int, list[float]] = {}
    for (d0, c0), (d1, c1) in itertools.pairwise(counts):
        if d1 - d0 <= 7 and not any(d0 <= e <= d1 for e in evacuated):
            found.setdefault(d1 - d0, []).append(math.log(c1 / c0))
    return {gap: np.array(ratios) for gap, ratios in found.items()}


def _fitted_sd(gaps: Mapping[int, Sequence[float] | np.ndarray]) -> tuple[float, float]:
    """(count sd, drift sd per day) measured on successive counts of the same camp
    (``gaps``: log ratios by days apart, ``_camp_gaps``): the log ratio of two counts
    ``g`` days apart varies as 2 × count² + g × drift² (a robust variance per gap, then a
    line through them). Too few pairs, or a fit that makes no sense, give the defaults."""
    used = {g: v for g, v in gaps.items() if len(v) >= 10}
    if sum(len(v) for v in used.values()) < MIN_PAIRS or len(used) < 2:
        return COUNT_SD, DRIFT_SD
    g = np.array(sorted(used), dtype=float)
    var = np.array([_robust_var(used[int(k)]) for k in g])
    weight = np.array([len(used[int(k)]) for k in g], dtype=float)
    slope, intercept = np.polyfit(g, var, 1, w=np.sqrt(weight))
    if slope <= 0 or intercept <= 0:
        return COUNT_SD, DRIFT_SD
    return min(max(math.sqrt(intercept / 2), 0.005), 0.2), min(math.sqrt(slope), 0.2)


def _robust_var(values: Sequence[float] | np.ndarray) -> float:
    """A variance that a few wild values (a miscount, a camp splitting) do not blow up."""
    x = np.asarray(values)
    mad = float(np.median(np.abs(x - np.median(x))))
    return (1.4826 * mad) ** 2


def _successor_cuts(
    parts: dict[str, _Parts | None],
    distance_m: float,
    days: int,
    origin: pd.Timestamp,
    dates: pd.Series,
) -> dict[str, dict[int, float]]:
    """For each camp partially evacuated: on the day a successor is first counted, the
    count to take off the remainder it carries (``dates``: the passages' dates, whose
    time zone the first reports take)."""
    # by camp, then in time: whatever order the camps' parts were found in
    firsts = sorted(
        ((cid, day, when) for cid, p in parts.items() if p is not None for day, when in p.partial),
        key=lambda first: (first[0], first[1]),
    )
    if not firsts:
        return {}
    camps = sorted(cid for cid, p in parts.items() if p is not None)
    where = [parts[cid].place for cid in camps]  # type: ignore[union-attr]
    # The links follow from the partial evacuations and every camp's place alone: kept
    # for them (a refresh that changed a count changes neither).
    key = (tuple(firsts), tuple(zip(camps, where, strict=True)), distance_m, days, origin)
    pairs = _LINKS.get(key)
    if pairs is MISSING:
        pairs = _links(camps, where, firsts, distance_m, days, origin, dates)
        _LINKS.put(key, pairs, 200 * (len(camps) + len(firsts)))
    cuts: dict[str, dict[int, float]] = {}
    for pred, succ in pairs:  # type: ignore[attr-defined]
        succ_parts = parts.get(succ)
        rounds = succ_parts.rounds if succ_parts is not None else {}
        counts = [(d, c) for d, (c, _, gone) in sorted(rounds.items()) if not gone]
        if counts:
            cuts.setdefault(pred, {})[counts[0][0]] = counts[0][1]
    return cuts


def _links(
    camps: list[str],
    where: list[tuple[float, float, pd.Timestamp]],
    firsts: list[tuple[str, int, pd.Timestamp]],
    distance_m: float,
    days: int,
    origin: pd.Timestamp,
    dates: pd.Series,
) -> list[tuple[str, str]]:
    """(predecessor, successor) of the successor links of those partial evacuations."""
    places = pd.DataFrame(
        {
            "latitude": [w[0] for w in where],
            "longitude": [w[1] for w in where],
            "first_visit": pd.Series([w[2] for w in where], dtype=dates.dtype),
        }
    ).set_axis(pd.Index(camps, name="camp_id"))
    found = pd.DataFrame(
        {
            "event_id": [f"{c}@{d}" for c, d, _ in firsts],
            "camp_id": [c for c, _, _ in firsts],
            "date": origin + pd.to_timedelta([d for _, d, _ in firsts], unit="D"),
            "first_report": pd.Series([w for _, _, w in firsts], dtype=dates.dtype),
            "latitude": places.loc[[c for c, _, _ in firsts], "latitude"].to_numpy(),
            "longitude": places.loc[[c for c, _, _ in firsts], "longitude"].to_numpy(),
        }
    )
    links = successor_links(places, found, distance_m, days)
    return [
        (str(pred), str(succ))
        for pred, succ in zip(links["predecessor_id"], links["successor_id"], strict=True)
    ]


def daily_camp_counts(
    passages: pd.DataFrame, days: pd.DatetimeIndex, window: int, column: str = "people"
) -> pd.DataFrame:
    """A day × camp matrix of a public's count (e.g. ``unaccompanied_minors``): each
    camp's latest count of it within the window, taken from the passages that counted
    people (missing there meaning 0), by round day; a camp closed by a passage (Vide,
    Évacué, Démantelé) still counts on that day and not after unless seen again."""
    if len(days) == 0 or not (~passages["is_duplicate"]).any():
        return pd.DataFrame(index=days, dtype=float)
    read = ["date", "record_id", "camp_id", "people", "site_status", "day", "is_duplicate", column]
    key = (str(days.dtype), *days.asi8.tolist(), window, column)

    def make(rows: pd.DataFrame) -> pd.DataFrame:  # camp × day: a row per camp
        return _daily_camp_counts(rows, days, window, column).T

    # Each camp's column is made from its rows alone: for the next version of a frame,
    # only the changed camps' are made again (``lineage.by_camp``).
    per_camp = by_camp("daily_camp_counts", [passages], make, _by_camp_id, key, read)
    matrix = per_camp.T
    matrix.index = days
    return matrix


def _by_camp_id(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_index()


def _daily_camp_counts(
    passages: pd.DataFrame, days: pd.DatetimeIndex, window: int, column: str
) -> pd.DataFrame:
    """``daily_camp_counts`` of those passages (columns ``camp_id``, one per camp with a
    counted passage)."""
    if not (~passages["is_duplicate"]).any():
        no_camp = pd.Index([], dtype="str", name="camp_id")
        return pd.DataFrame(index=days, columns=no_camp, dtype=float)
    # A count reaches ``window`` - 1 days past its round, a closing the next day: rows
    # older than the window before the first day change nothing (their round day is the
    # calendar day or the one before). Every camp keeps its column.
    camps_seen = pd.Index(
        counted(passages, ["camp_id"])["camp_id"].dropna().unique(), name="camp_id"
    )
    camps_seen = camps_seen.sort_values()
    since = days.min() - pd.Timedelta(days=window + 2)
    read = ["date", "record_id", "camp_id", "people", "site_status", column]
    seen = in_time_order(passages, read, where=passages["day"] >= since)
    if column != "people":
        of_count = seen[column].fillna(0.0).where(seen["people"].notna())
        seen = seen.assign(people=of_count)
    if seen.empty:
        return pd.DataFrame(0.0, index=days, columns=camps_seen)
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
    return counts.reindex(index=days, columns=camps_seen).fillna(0.0)


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
