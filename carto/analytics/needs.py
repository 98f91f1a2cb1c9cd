"""Needs anticipation: per item and ISO week, needs reported against items delivered, and
a forecast for next week.

For each item (tents, blankets, meals, hygiene kits) and week (Monday to Sunday):

- ``reports``: passages reporting the need (``Besoins``);
- ``camps``: distinct camps where it was reported;
- ``people``: people concerned, i.e. for each of those camps the latest count among the
  passages reporting the need that week, summed (never the sum of passages, DESIGN §4);
- ``delivered``: items given out that week (every distribution counts).

Forecast for next week: for each measure, the mean of the last ``weeks`` complete weeks
(the current week, still incomplete, is left out). The page explains it with
``forecast_method(weeks)``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from carto.analytics.camps import counted
from carto.i18n import t, t_n

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
]


def week_start(days: pd.Series) -> pd.Series:
    """The Monday (naive midnight) of the ISO week of each naive local day."""
    return days - pd.to_timedelta(days.dt.day_of_week, unit="D")


def iso_week_label(monday: pd.Timestamp) -> str:
    """An ISO week as ``2026-W48``."""
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def weekly_needs(
    passages: pd.DataFrame, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None
) -> pd.DataFrame:
    """One row per item and week from ``start``'s week to ``end``'s week (default: the
    passages' first and last days), columns ``WEEK_COLUMNS``; weeks without any passage
    appear with zeros."""
    seen = counted(passages).sort_values(["date", "record_id"])
    first = start if start is not None else seen["day"].min() if len(seen) else None
    last = end if end is not None else seen["day"].max() if len(seen) else None
    if first is None or last is None or pd.isna(first) or pd.isna(last):
        return _empty_weeks()
    weeks = pd.date_range(_monday(first), _monday(last), freq="7D")
    seen = seen.assign(week=week_start(seen["day"]))
    seen = seen[seen["week"].isin(weeks)]
    frames = []
    for item, (need, given) in NEED_ITEMS.items():
        # A boolean mask even on no rows: an empty object Series would select columns.
        reported = seen["needs"].map(lambda n, need=need: _has(n, need)).astype(bool)
        asked = seen[reported]
        per_camp = asked[asked["people"].notna()].groupby(["week", "camp_id"]).tail(1)
        frame = pd.DataFrame(
            {
                "reports": asked.groupby("week").size(),
                "camps": asked.groupby("week")["camp_id"].nunique(),
                "people": per_camp.groupby("week")["people"].sum(),
                "delivered": seen.groupby("week")[given].sum(),
            }
        )
        frame = frame.reindex(weeks).fillna(0.0).astype(float)
        frame.index.name = "week"
        frames.append(frame.reset_index().assign(item=item))
    table = pd.concat(frames, ignore_index=True)
    table["iso_week"] = table["week"].map(iso_week_label).astype("str")
    return table[WEEK_COLUMNS]


def needs_forecast(weekly: pd.DataFrame, as_of: dt.date, weeks: int) -> pd.DataFrame:
    """Per item, next week's forecast: the mean of each measure over the last ``weeks``
    complete weeks up to ``as_of``, columns ``FORECAST_COLUMNS``.

    A week is complete when its Sunday is on or before ``as_of``; next week is the week
    after the one holding ``as_of``. ``weeks_used`` is how many complete weeks were
    available (fewer than ``weeks`` at the start of the history); ``last_<measure>`` is the
    latest complete week's value, for comparison.
    """
    today = pd.Timestamp(as_of)
    next_week = _monday(today) + pd.Timedelta(days=7)
    complete = weekly[weekly["week"] + pd.Timedelta(days=6) <= today]
    rows = []
    for item in NEED_ITEMS:
        history = complete[complete["item"] == item].sort_values("week").tail(weeks)
        row: dict[str, Any] = {
            "item": item,
            "week": next_week,
            "iso_week": iso_week_label(next_week),
            "weeks_used": len(history),
        }
        for m in MEASURES:
            row[m] = round(float(history[m].mean()), 1) if len(history) else float("nan")
            row[f"last_{m}"] = float(history[m].iloc[-1]) if len(history) else float("nan")
        rows.append(row)
    frame = pd.DataFrame(rows)
    frame["week"] = pd.to_datetime(frame["week"])
    frame["iso_week"] = frame["iso_week"].astype("str")
    frame["item"] = frame["item"].astype("str")
    return frame[FORECAST_COLUMNS]


def forecast_method(weeks: int) -> str:
    """The forecast method in one French sentence, for the page."""
    return t("needs.forecast_method", weeks=t_n("needs.weeks", weeks))


def _has(needs: Any, need: str) -> bool:
    return isinstance(needs, (list, tuple, np.ndarray)) and need in list(needs)


def _monday(day: pd.Timestamp) -> pd.Timestamp:
    day = pd.Timestamp(day)
    day = (day.tz_localize(None) if day.tzinfo else day).normalize()
    return day - pd.Timedelta(days=day.weekday())


def _empty_weeks() -> pd.DataFrame:
    cols: dict[str, Any] = {
        "week": "datetime64[us]",
        "iso_week": "str",
        "item": "str",
        **dict.fromkeys(MEASURES, float),
    }
    return pd.DataFrame({c: pd.Series(dtype=d) for c, d in cols.items()})
