"""Weeks (Monday to Sunday, ISO) for every weekly chart and table: the one bucketing.

``week_start`` gives the Monday of each day; ``week_spans`` says which weeks of a span
of days are partial (cut by the start or the end of the span: the week still running,
or a period that starts on a Thursday) so that a chart can mark them; ``date_ticks``
chooses the ticks of a date axis so that no date is written twice.

Plain pandas: no Streamlit here.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd

DAY_MS = 86_400_000
SPAN_COLUMNS = ["week", "first_day", "last_day", "days", "partial"]


def monday(day: pd.Timestamp | dt.date) -> pd.Timestamp:
    """The Monday (naive midnight) of the ISO week holding ``day``."""
    stamp = pd.Timestamp(day)
    stamp = (stamp.tz_localize(None) if stamp.tzinfo else stamp).normalize()
    return stamp - pd.Timedelta(days=stamp.weekday())


def week_start(days: pd.Series) -> pd.Series:
    """The Monday (naive midnight) of the ISO week of each day (naive local days, or
    aware timestamps taken at their local wall time)."""
    values = pd.to_datetime(days)
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_localize(None)
    values = values.dt.normalize()
    return values - pd.to_timedelta(values.dt.day_of_week, unit="D")


def weekly_passages(rows: pd.DataFrame) -> pd.DataFrame:
    """Passages per week (the Monday of their ``day``) and association: columns
    ``week``, ``association``, ``passages``."""
    weekly = rows.assign(week=week_start(rows["day"]))
    return weekly.groupby(["week", "association"]).size().rename("passages").reset_index()


def iso_week_label(first: pd.Timestamp) -> str:
    """An ISO week as ``2026-W48``."""
    year, week, _ = first.isocalendar()
    return f"{year}-W{week:02d}"


def week_spans(start: pd.Timestamp | dt.date, end: pd.Timestamp | dt.date) -> pd.DataFrame:
    """One row per week overlapping the days ``start`` to ``end`` inclusive: its Monday,
    the first and last day of the week inside the span, how many days that is, and
    whether the week is ``partial`` (fewer than 7 days inside the span)."""
    first, last = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
    if last < first:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in SPAN_COLUMNS})
    mondays = pd.date_range(monday(first), monday(last), freq="7D")
    first_days = [max(m, first) for m in mondays]
    last_days = [min(m + pd.Timedelta(days=6), last) for m in mondays]
    days = [(b - a).days + 1 for a, b in zip(first_days, last_days, strict=True)]
    return pd.DataFrame(
        {
            "week": mondays,
            "first_day": pd.to_datetime(first_days),
            "last_day": pd.to_datetime(last_days),
            "days": days,
            "partial": [n < 7 for n in days],
        }
    )


def date_ticks(
    start: pd.Timestamp | dt.date,
    end: pd.Timestamp | dt.date,
    weekly: bool,
    max_ticks: int = 8,
) -> dict[str, Any]:
    """Plotly axis settings for dates from ``start`` to ``end``: one tick per day or per
    week (on Mondays, where weekly bars stand), or every few days or weeks so that there
    are at most about ``max_ticks``, never finer, so that a date is never written twice
    (plotly's own ticks can fall every few hours on a short span and write the same day
    several times). The range is the whole span, so that every chart of a page shows
    the same dates, with or without data at its ends."""
    first, last = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
    if weekly:
        first, last = monday(first), monday(last)
        count = (last - first).days // 7 + 1
        step_days = 7 * max(1, math.ceil(count / max_ticks))
        lower, upper = first - pd.Timedelta(days=3.5), last + pd.Timedelta(days=3.5)
    else:
        count = (last - first).days + 1
        step_days = max(1, math.ceil(count / max_ticks))
        # a few hours on either side, so that the first and last dates keep their label
        lower, upper = first - pd.Timedelta(hours=6), last + pd.Timedelta(hours=6)
    return {
        "tickmode": "linear",
        "tick0": first.strftime("%Y-%m-%d"),
        "dtick": step_days * DAY_MS,
        "tickformat": "%d/%m/%Y",
        "range": [lower.strftime("%Y-%m-%d %H:%M"), upper.strftime("%Y-%m-%d %H:%M")],
    }
