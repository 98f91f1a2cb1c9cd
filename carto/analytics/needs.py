"""Needs anticipation: per item and ISO week, needs reported against items delivered, and
a forecast for next week.

For each item (tents, blankets, meals, hygiene kits) and week (Monday to Sunday):

- ``reports``: passages reporting the need (``Besoins``);
- ``camps``: distinct camps where it was reported;
- ``people``: people concerned, i.e. for each of those camps the latest count among the
  passages reporting the need that week, summed (not the passages' sum: docs/architecture.md §4);
- ``delivered``: items given out that week (every distribution counts).

Forecast for next week: for each measure, the mean of the last ``weeks`` complete weeks
(the current week, still incomplete, is left out). The page explains it with
``forecast_method(weeks)``. What to bring is read from it in whole units: ``need`` is
the forecast of people concerned rounded up (one item per person: you bring whole
blankets), ``usual`` what is usually delivered in a week (the mean of deliveries over
the same weeks, rounded), and ``gap`` is ``need`` minus ``usual`` (positive: more than
usual to bring).

The same figures can be broken down by camp or by arrondissement (``weekly_needs(...,
by=breakdown_labels(...))``): each row then belongs to a ``group``.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd

from carto.analytics.camps import in_time_order
from carto.analytics.weeks import iso_week_label, monday, week_start
from carto.i18n import t, t_n

__all__ = ["iso_week_label", "week_start"]  # the one weekly bucketing, re-exported

# item → (need option of ``Besoins``, distribution field). Labels: ``needs.item.<item>``.
NEED_ITEMS: dict[str, tuple[str, str]] = {
    "tents": ("Tentes", "tents_given"),
    "blankets": ("Couvertures/duvets", "blankets_given"),
    "meals": ("Nourriture", "meals_given"),
    "hygiene_kits": ("Hygiène", "hygiene_kits_given"),
}
MEASURES = ("reports", "camps", "people", "delivered")
WEEK_COLUMNS = ["week", "iso_week", "item", *MEASURES]
FORECAST_COLUMNS = [
    "item",
    "week",
    "iso_week",
    *MEASURES,
    "weeks_used",
    *(f"last_{m}" for m in MEASURES),
    "need",
    "usual",
    "gap",
]
# Ways to break the forecast down: none, per arrondissement, per camp.
BREAKDOWNS = ("total", "arrondissement", "camp")


def weekly_needs(
    passages: pd.DataFrame,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    by: pd.Series | None = None,
) -> pd.DataFrame:
    """One row per item and week from ``start``'s week to ``end``'s week (default: the
    passages' first and last days), columns ``WEEK_COLUMNS``; weeks without any passage
    appear with zeros.

    ``by`` (one label per passage, same index, e.g. from ``breakdown_labels``) breaks
    every week down into groups: a ``group`` column is added, one row per week, group
    and item for every group seen in those weeks."""
    read = ["date", "record_id", "day", "camp_id", "needs", "people"]
    read += [given for _, given in NEED_ITEMS.values()]
    # only the rows of the weeks asked for (the period's, not the whole history)
    within = np.ones(len(passages), dtype=bool)
    if start is not None:
        within &= (passages["day"] >= monday(start)).to_numpy(dtype=bool)
    if end is not None:
        within &= (passages["day"] < monday(end) + pd.Timedelta(days=7)).to_numpy(dtype=bool)
    seen = in_time_order(passages, read, where=within)
    first = start if start is not None else seen["day"].min() if len(seen) else None
    last = end if end is not None else seen["day"].max() if len(seen) else None
    if first is None or last is None or pd.isna(first) or pd.isna(last):
        return _empty_weeks(grouped=by is not None)
    weeks = pd.date_range(monday(first), monday(last), freq="7D")
    seen = seen.assign(week=week_start(seen["day"]))
    seen = seen[seen["week"].isin(weeks)]
    keys = ["week"]
    index: pd.Index = pd.Index(weeks, name="week")
    if by is not None:
        seen = seen.assign(group=by.reindex(seen.index).astype("str"))
        keys = ["week", "group"]
        groups = sorted(seen["group"].dropna().unique())
        index = pd.MultiIndex.from_product([weeks, groups], names=keys)
    frames = []
    reported = _reported(seen["needs"], [need for need, _ in NEED_ITEMS.values()])
    for item, (need, given) in NEED_ITEMS.items():
        asked = seen[reported[need]]
        per_camp = asked[asked["people"].notna()].groupby(["week", "camp_id"]).tail(1)
        frame = pd.DataFrame(
            {
                "reports": asked.groupby(keys).size(),
                "camps": asked.groupby(keys)["camp_id"].nunique(),
                "people": per_camp.groupby(keys)["people"].sum(),
                "delivered": seen.groupby(keys)[given].sum(),
            }
        )
        frame = frame.reindex(index).fillna(0.0).astype(float)
        frame.index.names = keys
        frames.append(frame.reset_index().assign(item=item))
    table = pd.concat(frames, ignore_index=True)
    table["iso_week"] = table["week"].map(iso_week_label).astype("str")
    if by is not None:
        table["group"] = table["group"].astype("str")
        return table[[*WEEK_COLUMNS, "group"]]
    return table[WEEK_COLUMNS]


def breakdown_labels(
    passages: pd.DataFrame, places: pd.DataFrame, breakdown: str
) -> pd.Series | None:
    """The group of each passage for a ``breakdown`` of ``BREAKDOWNS``: its camp's name
    (with the camp id when two camps share it), its camp's arrondissement, or None for
    no breakdown. ``places`` is ``carto.analytics.places.camp_places`` (index camp_id)."""
    if breakdown == "total":
        return None
    if breakdown == "arrondissement":
        return _zone_labels(passages, places)
    if breakdown != "camp":
        raise ValueError(f"unknown breakdown {breakdown!r}")
    return _camp_labels(passages, places)


def _zone_labels(passages: pd.DataFrame, places: pd.DataFrame) -> pd.Series:
    zone = places["arrondissement"].astype("str").fillna(t("needs.group.unknown_zone"))
    return passages["camp_id"].map(zone).fillna(t("needs.group.unknown_zone")).astype("str")


def _camp_labels(passages: pd.DataFrame, places: pd.DataFrame) -> pd.Series:
    names = places["name"].astype("str")
    shared = names.map(names.value_counts()) > 1
    label = names.where(~shared, names + " (" + names.index.astype("str") + ")")
    return passages["camp_id"].map(label).fillna(passages["camp_id"]).astype("str")


def needs_forecast(weekly: pd.DataFrame, as_of: dt.date, weeks: int) -> pd.DataFrame:
    """Per item (and per group when ``weekly`` has one), next week's forecast: the mean
    of each measure over the last ``weeks`` complete weeks up to ``as_of``, and what to
    bring in whole units; columns ``FORECAST_COLUMNS`` (and ``group``).

    A week is complete when its Sunday is on or before ``as_of``; next week is the week
    after the one holding ``as_of``. ``weeks_used`` is how many complete weeks were
    available (fewer than ``weeks`` at the start of the history); ``last_<measure>`` is the
    latest complete week's value, for comparison. ``need``, ``usual`` and ``gap`` are
    computed from the unrounded means (see the module docstring).
    """
    today = pd.Timestamp(as_of)
    next_week = monday(today) + pd.Timedelta(days=7)
    complete = weekly[weekly["week"] + pd.Timedelta(days=6) <= today]
    grouped = "group" in weekly.columns
    groups: list[Any] = sorted(weekly["group"].dropna().unique()) if grouped else [None]
    columns = [*FORECAST_COLUMNS, "group"] if grouped else FORECAST_COLUMNS
    if not groups:
        return _empty_forecast(columns)
    # Every group and item at once (350 camps made a loop over them take seconds): its
    # last ``weeks`` complete weeks (one row a week), their sums, count and last.
    keys = ["group", "item"] if grouped else ["item"]
    recent = complete.sort_values("week", kind="stable").groupby(keys, sort=False).tail(weeks)
    index = (
        pd.MultiIndex.from_product([groups, list(NEED_ITEMS)], names=keys)
        if grouped
        else pd.Index(list(NEED_ITEMS), name="item")
    )
    by_row = recent.groupby(keys, sort=False)
    # whole numbers (counts, people, items): their sums are exact, as the mean's
    sums = by_row[list(MEASURES)].sum().reindex(index)
    lasts = by_row[list(MEASURES)].last().reindex(index)
    used = by_row.size().reindex(index).fillna(0).astype(int).tolist()
    frame = pd.DataFrame(
        {
            "item": [item for _ in groups for item in NEED_ITEMS],
            "week": [next_week] * len(index),
            "iso_week": [iso_week_label(next_week)] * len(index),
            "weeks_used": used,
        }
    )
    if grouped:
        frame["group"] = [group for group in groups for _ in NEED_ITEMS]
    for m in MEASURES:
        means = [
            total / n if n else float("nan")
            for total, n in zip(sums[m].tolist(), used, strict=True)
        ]
        frame[m] = [round(mean, 1) for mean in means]
        frame[f"last_{m}"] = [
            float(last) if n else float("nan")
            for last, n in zip(lasts[m].tolist(), used, strict=True)
        ]
        if m == "people":
            frame["need"] = [whole_need(mean) for mean in means]
        if m == "delivered":
            frame["usual"] = [whole_usual(mean) for mean in means]
    frame["gap"] = frame["need"] - frame["usual"]
    frame["week"] = pd.to_datetime(frame["week"])
    frame["iso_week"] = frame["iso_week"].astype("str")
    frame["item"] = frame["item"].astype("str")
    if grouped:
        frame["group"] = frame["group"].astype("str")
    return frame[columns]


def forecast(
    passages: pd.DataFrame, as_of: dt.date, weeks: int, by: pd.Series | None = None
) -> pd.DataFrame:
    """``needs_forecast(weekly_needs(passages, by=by), as_of, weeks)`` from the weeks it
    reads only: the last ``weeks`` complete weeks before ``as_of`` (and the one holding
    it), not the whole history (from its first passage when that is later). Where all
    three breakdowns are read (a partner's complements), ``camp_weeks`` and
    ``breakdown_forecast`` give the same from one table (tests/test_needs_plan.py)."""
    start = _forecast_start(passages, as_of, weeks)
    return needs_forecast(weekly_needs(passages, start=start, by=by), as_of, weeks)


def _forecast_start(passages: pd.DataFrame, as_of: dt.date, weeks: int) -> pd.Timestamp | None:
    """The first day ``forecast`` reads: ``weeks`` + 1 weeks before ``as_of``'s, or the
    first counted passage's when later (None: no counted passage, every week read)."""
    counted_days = passages["day"][~passages["is_duplicate"].to_numpy(dtype=bool)]
    first = counted_days.min() if len(counted_days) else None
    if first is None or pd.isna(first):
        return None
    since = monday(pd.Timestamp(as_of)) - pd.Timedelta(days=7 * (weeks + 1))
    return max(since, first)


# The group of the passages without a camp in ``camp_weeks``: they count in their
# arrondissement's and the total's reports and deliveries, in no camp's.
_NO_CAMP = "\x00"


def camp_weeks(
    passages: pd.DataFrame, places: pd.DataFrame, as_of: dt.date, weeks: int
) -> pd.DataFrame:
    """The weeks ``forecast`` reads, per camp: ``weekly_needs`` by camp label (``group``)
    with each camp's arrondissement label (``zone``). Every breakdown's weeks are sums
    of its rows (``breakdown_forecast``): reports and deliveries add up, a camp counts
    once in its one arrondissement, and people are already summed over camps."""
    start = _forecast_start(passages, as_of, weeks)
    # labels for the rows read only (``weekly_needs`` reads from ``start``'s Monday)
    read = passages if start is None else passages[passages["day"] >= monday(start)]
    by = _camp_labels(read, places).fillna(_NO_CAMP)
    zone = _zone_labels(read, places)
    weekly = weekly_needs(passages, start=start, by=by)
    pairs = pd.DataFrame({"group": by, "zone": zone}).drop_duplicates("group")
    zone_of = pd.Series(pairs["zone"].to_numpy(), index=pairs["group"].to_numpy())
    return weekly.assign(zone=weekly["group"].map(zone_of).astype("str"))


def camp_zones(weekly: pd.DataFrame) -> dict[str, str]:
    """The arrondissement label of each camp label of ``camp_weeks``' rows."""
    pairs = weekly.loc[weekly["group"] != _NO_CAMP, ["group", "zone"]].drop_duplicates("group")
    return dict(zip(pairs["group"].tolist(), pairs["zone"].tolist(), strict=True))


def breakdown_forecast(
    weekly: pd.DataFrame, breakdown: str, as_of: dt.date, weeks: int
) -> pd.DataFrame:
    """``forecast(passages, as_of, weeks, by=breakdown_labels(passages, places,
    breakdown))`` from ``camp_weeks(passages, places, as_of, weeks)``: the same frame,
    the camps' weeks read once for the three breakdowns."""
    if breakdown not in BREAKDOWNS:
        raise ValueError(f"unknown breakdown {breakdown!r}")
    if breakdown == "camp":
        per = weekly[weekly["group"] != _NO_CAMP].drop(columns="zone")
        return needs_forecast(per, as_of, weeks)
    if weekly.empty:
        return needs_forecast(_empty_weeks(grouped=breakdown != "total"), as_of, weeks)
    keys = ["week", "iso_week", "item"]
    if breakdown == "arrondissement":
        keys.append("zone")
    summed = weekly.groupby(keys, sort=False)[list(MEASURES)].sum().reset_index()
    if breakdown == "arrondissement":
        summed = summed.rename(columns={"zone": "group"})
    return needs_forecast(summed, as_of, weeks)


def whole_need(mean: float) -> float:
    """Whole items to bring for a forecast of ``mean`` people: rounded up (a tenth of a
    blanket is a blanket), ignoring floating-point noise (3.0000000001 is 3)."""
    return float("nan") if math.isnan(mean) else float(math.ceil(round(mean, 6)))


def whole_usual(mean: float) -> float:
    """Whole items usually delivered in a week: the mean rounded half up."""
    return float("nan") if math.isnan(mean) else float(math.floor(round(mean, 6) + 0.5))


def forecast_method(weeks: int) -> str:
    """The forecast method in one French sentence, for the page."""
    return t("needs.forecast_method", weeks=t_n("needs.weeks", weeks))


def _reported(needs: pd.Series, options: list[str]) -> dict[str, np.ndarray]:
    """For each option, which rows' lists of needs name it (a row holding no list names
    none), in one pass over the lists rather than one per option."""
    listed = np.fromiter(
        (isinstance(n, (list, tuple, np.ndarray)) for n in needs), dtype=bool, count=len(needs)
    )
    flat = pd.Series(needs.to_numpy()[listed], index=np.flatnonzero(listed)).explode()
    found = {}
    for option in options:
        hit = np.zeros(len(needs), dtype=bool)
        hit[flat.index[flat.eq(option).fillna(False).to_numpy(dtype=bool)]] = True
        found[option] = hit
    return found


def _empty_weeks(grouped: bool = False) -> pd.DataFrame:
    cols: dict[str, Any] = {
        "week": "datetime64[us]",
        "iso_week": "str",
        "item": "str",
        **dict.fromkeys(MEASURES, float),
    }
    if grouped:
        cols["group"] = "str"
    return pd.DataFrame({c: pd.Series(dtype=d) for c, d in cols.items()})


def _empty_forecast(columns: list[str]) -> pd.DataFrame:
    types = {"week": "datetime64[us]", "iso_week": "str", "item": "str", "group": "str"}
    return pd.DataFrame({c: pd.Series(dtype=types.get(c, float)) for c in columns})
