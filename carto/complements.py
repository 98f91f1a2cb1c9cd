"""Figures of one view that add up, masked together (docs/architecture.md §5).

The pages and exports of one view (the same filters and period) show figures that
add up to others (the digest shows none that do): a week of the evacuation chart and
the period's total above it, the passages of an association per week on the dashboard
and per weekday on Coordination, each camp's passages in the camps export and the
dashboard's "Passages", the needs plan's groups (arrondissements, camps) and its total. A
count hidden as small ("<5") would come back by subtracting the other
parts from the total. Here each group of figures is written down once, as the sums a
role can read off them (``privacy.Sum``), and ``privacy.complements`` says which other
figures to mask with it ("masqué"). The pages (``carto.ui.data``) and the exports
(``carto.export.contents``) call the same function on the same rows, so that they
mask the same figures: what one hides, the other does not give back.

Only within a view: two views with other filters or periods can still be subtracted
from each other (README, "What an attacker can do").

Plain Python: no Streamlit here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from carto import privacy, schema
from carto.analytics import figures
from carto.analytics.weeks import week_start

# A figure: what it is, then what names it (("week", Monday, association)).
Cell = tuple[Any, ...]


@dataclass(frozen=True)
class PassageComplements:
    """The passage counts of a period masked as complements: the figures of
    ``weeks.weekly_passages`` (dashboard), of ``coverage.who_covers_what``
    (Coordination), the period passages of each camp (camps export) and the total."""

    weekly: frozenset[tuple[pd.Timestamp, str]]  # (week, association)
    weekday: frozenset[tuple[str, int]]  # (association, weekday)
    camps: frozenset[str]  # camp ids
    total: bool


NO_PASSAGE_COMPLEMENT = PassageComplements(frozenset(), frozenset(), frozenset(), False)


def passage_complements(rows: pd.DataFrame, policy: privacy.Policy) -> PassageComplements:
    """Which passage counts of the period to mask as complements, from its counted
    passages (``figures.in_period``). The sums a role reads: each association's
    passages are its weeks on the dashboard and its weekdays on Coordination (the
    association is shown nowhere, but both tables give it); the period's passages are
    every association's plus those without one, and every camp's."""
    if policy.small_count_threshold <= 1 or rows.empty:
        return NO_PASSAGE_COMPLEMENT
    association = rows["association"]
    named = rows[association.notna()]
    weeks = week_start(named["day"])
    weekdays = named["day"].dt.day_of_week
    values: dict[Cell, float] = {("total",): float(len(rows))}
    values[("no association",)] = float(association.isna().sum())
    sums: list[privacy.Sum[Cell]] = []
    by_association: list[Cell] = []
    for name in sorted(named["association"].unique()):
        mine = (named["association"] == name).to_numpy()
        per_week = weeks[mine].value_counts().sort_index()
        per_day = weekdays[mine].value_counts().sort_index()
        whole: Cell = ("association", name)
        by_association.append(whole)
        values[whole] = float(mine.sum())
        in_weeks = [("week", week, name) for week in per_week.index]
        in_days = [("weekday", name, int(day)) for day in per_day.index]
        values.update(zip(in_weeks, per_week.astype(float).tolist(), strict=True))
        values.update(zip(in_days, per_day.astype(float).tolist(), strict=True))
        sums += [privacy.Sum(whole, tuple(in_weeks)), privacy.Sum(whole, tuple(in_days))]
    sums.append(privacy.Sum(("total",), (*by_association, ("no association",))))
    per_camp = rows["camp_id"].value_counts().sort_index()
    camps: list[Cell] = [("camp", camp) for camp in per_camp.index]
    values.update(zip(camps, per_camp.astype(float).tolist(), strict=True))
    sums.append(privacy.Sum(("total",), tuple(camps)))
    masked = privacy.complements(
        values, sums, policy, unshown=by_association, fixed=[("no association",)]
    )
    return PassageComplements(
        weekly=frozenset((k[1], k[2]) for k in masked if k[0] == "week"),
        weekday=frozenset((k[1], k[2]) for k in masked if k[0] == "weekday"),
        camps=frozenset(str(k[1]) for k in masked if k[0] == "camp"),
        total=("total",) in masked,
    )


def whole_counts_complements(
    part: pd.Series, whole: pd.Series, masked: frozenset[str], policy: privacy.Policy
) -> frozenset[str]:
    """Which of ``whole`` (a camp's passages up to the end of the period, by camp id) to
    mask as complements when ``part`` (its passages in the period) is masked for the
    camps in ``masked``: the rest, before the period, is shown nowhere, but the role
    knows it is none when the camp was first seen in the period."""
    if policy.small_count_threshold <= 1 or not masked:
        return frozenset()
    values: dict[Cell, float] = {}
    sums: list[privacy.Sum[Cell]] = []
    unshown: list[Cell] = []
    fixed: list[Cell] = []
    shown = part.reindex(whole.index).fillna(0.0).astype(float).tolist()
    for camp, total, in_period in zip(
        whole.index, whole.astype(float).tolist(), shown, strict=True
    ):
        rest = total - in_period
        values.update({("whole", camp): total, ("part", camp): in_period, ("rest", camp): rest})
        sums.append(privacy.Sum(("whole", camp), (("part", camp), ("rest", camp))))
        (fixed if rest == 0 else unshown).append(("rest", camp))
        fixed.append(("part", camp))  # the pages' choice, made already
    chosen = privacy.complements(
        values,
        sums,
        policy,
        unshown=unshown,
        fixed=fixed,
        masked=[("part", camp) for camp in masked if ("part", camp) in values],
    )
    return frozenset(str(k[1]) for k in chosen if k[0] == "whole")


# The people of an evacuation by outcome: they add up to its people.
EVENT_PARTS = figures.OUTCOME_PARTS


@dataclass(frozen=True)
class EvacuationComplements:
    """The evacuation figures of a period masked as complements: each event's people
    sheltered or without solution (events export), the weeks of the dashboard's chart
    and the period's people by outcome (``figures.evacuation_totals``' keys)."""

    events: frozenset[tuple[str, str]]  # (event id, part)
    weekly: frozenset[tuple[pd.Timestamp, str]]  # (week, part)
    totals: frozenset[str]


NO_EVACUATION_COMPLEMENT = EvacuationComplements(frozenset(), frozenset(), frozenset())


def evacuation_complements(found: pd.DataFrame, policy: privacy.Policy) -> EvacuationComplements:
    """Which evacuation figures of the period to mask as complements, from its events
    (``events.evacuation_events`` of the role's dataset, before any count of theirs is
    suppressed). The sums a role reads: an event's people are its sheltered, without
    solution and unknown (the people shown on the map, in the digest and the export,
    never masked; the unknown part is told by what the export leaves empty); a week of
    the chart is its events; a total is its weeks; the people are the three totals. An
    event's shelter code ("all", "none") tells the part it makes whole or empty: that
    part is never chosen. The events per shelter code are left out: the events export
    lists each event with its code, so no mask here would hide them.

    A partial evacuation whose people left without solution are not small is given
    away by the estimated population: the camp counts them until it is counted again
    (``population.estimated_population``), so that the day's drop is those sheltered.
    Both its parts are then taken as shown, never chosen: the other figures of its sums
    are masked instead. (With a small part, the population leaves them out.)"""
    if policy.small_count_threshold <= 1 or found.empty:
        return NO_EVACUATION_COMPLEMENT
    parts = figures.evacuation_outcomes(found)
    partial = found["kind"].eq(schema.EVACUATION_PARTIAL).fillna(False).to_numpy(dtype=bool)
    left = partial & (parts["without_solution"] >= policy.small_count_threshold).to_numpy(bool)
    weeks = week_start(pd.to_datetime(parts["date"])).tolist()
    weekly = figures.weekly_evacuation_outcomes(found).set_index("week")
    totals = figures.evacuation_totals(found)
    values: dict[Cell, float] = {}
    sums: list[privacy.Sum[Cell]] = []
    fixed: list[Cell] = []
    unshown: list[Cell] = []
    week_parts: dict[tuple[pd.Timestamp, str], list[Cell]] = {}
    rows = zip(
        found["event_id"].astype("str").tolist(),
        found["people"].notna().tolist(),
        parts["shelter"].tolist(),
        left.tolist(),
        weeks,
        parts[["people", *EVENT_PARTS]].astype(float).itertuples(index=False),
        strict=True,
    )
    for event, counted, shelter, counted_after, week, (people, *split) in rows:
        whole: Cell = ("event", event, "people")
        cells: list[Cell] = [("event", event, part) for part in EVENT_PARTS]
        values[whole] = people
        values.update(zip(cells, split, strict=True))
        (fixed if counted else unshown).append(whole)
        fixed.append(("event", event, "unknown"))
        # all: sheltered = people, none: without = people; or the population tells both
        if shelter != "partial" or counted_after:
            fixed += [("event", event, "sheltered"), ("event", event, "without_solution")]
        sums.append(privacy.Sum(whole, tuple(cells)))
        for part, cell in zip(EVENT_PARTS, cells, strict=True):
            week_parts.setdefault((week, part), []).append(cell)
    per_week = {part: weekly[part].astype(float).to_dict() for part in EVENT_PARTS}
    for (week, part), cells in week_parts.items():
        values[("week", week, part)] = per_week[part][week]
        sums.append(privacy.Sum(("week", week, part), tuple(cells)))
    for key in ("people", *EVENT_PARTS):
        values[("total", key)] = float(totals[key])
    for part in EVENT_PARTS:
        in_weeks = tuple(("week", week, part) for week in weekly.index)
        sums.append(privacy.Sum(("total", part), in_weeks))
    sums.append(privacy.Sum(("total", "people"), tuple(("total", p) for p in EVENT_PARTS)))
    # The weeks first, as a table of their own (their people, shown on the map, as
    # totals): its complements are chosen across weeks, then the events of each week
    # follow them (a masked week needs a masked event), rather than the other way.
    weeks_first = _week_complements(values, week_parts, fixed, policy)
    masked = privacy.complements(
        values, sums, policy, unshown=unshown, fixed=fixed, masked=weeks_first
    )
    return EvacuationComplements(
        events=frozenset((str(k[1]), str(k[2])) for k in masked if k[0] == "event"),
        weekly=frozenset((k[1], str(k[2])) for k in masked if k[0] == "week"),
        totals=frozenset(str(k[1]) for k in masked if k[0] == "total"),
    )


def _week_complements(
    values: dict[Cell, float],
    week_parts: dict[tuple[pd.Timestamp, str], list[Cell]],
    fixed: list[Cell],
    policy: privacy.Policy,
) -> frozenset[Cell]:
    """The complements among the weeks and totals of the evacuation chart, the weeks'
    people taken as shown (the sum of their events' people, each shown elsewhere)."""
    never = set(fixed)
    week_values: dict[Cell, float] = {}
    sums: list[privacy.Sum[Cell]] = []
    people: dict[pd.Timestamp, list[Cell]] = {}
    given: list[Cell] = []
    for (week, part), cells in week_parts.items():
        cell = ("week", week, part)
        week_values[cell] = values[cell]
        people.setdefault(week, []).append(cell)
        if all(c in never or values[c] == 0 for c in cells):
            given.append(cell)  # its events' parts are told elsewhere (shelter codes)
    unshown: list[Cell] = []
    for week, cells in people.items():
        events = {c[1] for part in EVENT_PARTS for c in week_parts[(week, part)]}
        whole: Cell = ("week people", week)
        week_values[whole] = sum(week_values[c] for c in cells)
        told = all(("event", e, "people") in never for e in events)
        (given if told else unshown).append(whole)
        sums.append(privacy.Sum(whole, tuple(cells)))
    for key in ("people", *EVENT_PARTS):
        week_values[("total", key)] = values[("total", key)]
    for part in EVENT_PARTS:
        in_weeks = tuple(c for c in week_values if c[0] == "week" and c[2] == part)
        sums.append(privacy.Sum(("total", part), in_weeks))
    sums.append(privacy.Sum(("total", "people"), tuple(("total", p) for p in EVENT_PARTS)))
    return privacy.complements(week_values, sums, policy, unshown=unshown, fixed=given)


# The needs plan's whole figures (``needs.forecast``): what to bring, what is usually
# delivered, and the camps that reported the need.
NEEDS_MEASURES = ("need", "usual", "camps")


@dataclass(frozen=True)
class NeedsComplements:
    """The needs plan's figures masked as complements, each as (breakdown, group, item,
    measure): the group is "" on the total's rows."""

    cells: frozenset[tuple[str, str, str, str]]

    def of(self, breakdown: str, measure: str) -> frozenset[tuple[str, str]]:
        """(group, item) of the rows of ``breakdown`` whose ``measure`` is masked."""
        return frozenset((g, i) for b, g, i, m in self.cells if (b, m) == (breakdown, measure))


NO_NEEDS_COMPLEMENT = NeedsComplements(frozenset())


def needs_complements(
    plans: dict[str, pd.DataFrame], zone_of: dict[str, str], policy: privacy.Policy
) -> NeedsComplements:
    """Which figures of the needs plan (Coordination, and its packing list) to mask as
    complements, from its forecast under each breakdown (``plans``: ``needs.forecast`` by
    name of ``needs.BREAKDOWNS``, every row, before the plan leaves out those with
    nothing needed nor usually delivered) and the arrondissement of each camp's group
    (``zone_of``). The breakdown is a display choice, not a filter: the total, the
    arrondissements and the camps of one view are one table, whose groups add up.

    Each row is rounded on its own (what to bring is rounded up), so that the parts'
    figures add up to the total give or take what rounding left. Why this is safe: the
    role is taken to know, for each sum (the total over the arrondissements or over the
    camps, an arrondissement over its camps), the exact sum of its parts' figures
    (``privacy.complements``' ``known``), which tells it at least as much as the total
    and the rounding do (parts that add up to that sum can always be rounded to make
    the shown total); a "<5" that this cannot give back, the real figures cannot either.
    The arrondissements are protected first, against the total; then the camps, against
    the total and their arrondissement: one hidden ("<5" or "masqué") stays hidden (the
    sum of its camps is taken as unknown, or as masked), one shown tells the sum. The
    total is shown anyway (the dashboard's weekly needs give it), a row left out is told
    (0), so only the groups shown are chosen."""
    if policy.small_count_threshold <= 1:
        return NO_NEEDS_COMPLEMENT
    chosen: set[tuple[str, str, str, str]] = set()
    for measure in NEEDS_MEASURES:
        values: dict[Cell, float] = {}
        listed: dict[Cell, bool] = {}
        for breakdown, frame in plans.items():
            if frame.empty:
                continue
            groups = (
                frame["group"].astype("str").tolist()
                if "group" in frame.columns
                else [""] * len(frame)
            )
            shown = (frame["need"].fillna(0).gt(0) | frame["usual"].fillna(0).gt(0)).tolist()
            figures_ = frame[measure].astype(float).fillna(0.0).tolist()
            items = frame["item"].astype("str").tolist()
            for group, item, value, row_shown in zip(groups, items, figures_, shown, strict=True):
                values[(breakdown, group, item)] = value
                listed[(breakdown, group, item)] = row_shown and breakdown != "total"
        zones = _needs_step(values, listed, "arrondissement", {}, frozenset(), policy)
        hidden = {
            ("zone", c[1], c[2])
            for c in values
            if c[0] == "arrondissement" and (c in zones or privacy.is_small(values[c], policy))
        }
        camps = _needs_step(values, listed, "camp", zone_of, frozenset(hidden), policy, zones)
        chosen |= {(str(c[0]), str(c[1]), str(c[2]), measure) for c in zones | camps}
    return NeedsComplements(frozenset(chosen))


def _needs_step(
    values: dict[Cell, float],
    listed: dict[Cell, bool],
    breakdown: str,
    zone_of: dict[str, str],
    hidden_zones: frozenset[Cell],
    policy: privacy.Policy,
    zones: frozenset[Cell] = frozenset(),
) -> frozenset[Cell]:
    """The complements among the rows of ``breakdown`` (``needs_complements``): the sum
    of its parts over the total, and with ``zone_of`` over each arrondissement (hidden
    ones in ``hidden_zones``, masked as complements in ``zones``)."""
    cells = {c: v for c, v in values.items() if c[0] in ("total", breakdown)}
    members: dict[Cell, list[Cell]] = {}
    for cell in cells:
        if cell[0] != breakdown or not listed[cell]:
            continue
        item = cell[2]
        members.setdefault(("parts", "total", item), []).append(cell)
        if cell[1] in zone_of:
            members.setdefault(("parts", zone_of[cell[1]], item), []).append(cell)
    sums: list[privacy.Sum[Cell]] = []
    known: list[Cell] = []
    unknown: list[Cell] = []
    masked: list[Cell] = []
    for whole, parts in members.items():
        cells[whole] = float(sum(cells[p] for p in parts))
        sums.append(privacy.Sum(whole, tuple(parts)))
        total: Cell = ("total", "", whole[2])
        if whole[1] == "total":
            small = privacy.is_small(cells.get(total, 0.0), policy)
            (unknown if small else known).append(whole)
        elif ("arrondissement", whole[1], whole[2]) in zones:
            masked.append(whole)
        elif ("zone", whole[1], whole[2]) in hidden_zones:
            unknown.append(whole)
        else:
            known.append(whole)
    fixed = [c for c in cells if c[0] != breakdown or not listed.get(c, False)]
    return privacy.complements(
        cells,
        sums,
        policy,
        unshown=unknown,
        fixed=fixed + known,
        masked=masked,
        known=known,
    ) - set(masked)


def where(frame: pd.DataFrame, keys: list[str], chosen: frozenset[tuple[Any, ...]]) -> pd.Series:
    """True on the rows of ``frame`` whose ``keys`` columns name one of ``chosen``."""
    if not chosen or frame.empty:
        return pd.Series(False, index=frame.index)
    found = [tuple(row) in chosen for row in frame[keys].itertuples(index=False)]
    return pd.Series(found, index=frame.index, dtype=bool)
