"""Estimated population (docs/architecture.md §4) and the naive figure it replaces.

On a day, each camp active that day contributes its latest count within the recency
window; a camp closed by a passage (Vide, Évacué, Démantelé) still counts on that day
and contributes nothing afterwards. The sum over camps is the estimated population.
Never the sum of passages: a camp visited three times a week would count three times.
"""

from __future__ import annotations

import pandas as pd

from carto import schema
from carto.analytics.camps import counted


def daily_camp_counts(
    passages: pd.DataFrame, days: pd.DatetimeIndex, window: int, column: str = "people"
) -> pd.DataFrame:
    """A day × camp matrix: the count each camp contributes to the estimate that day.

    ``days`` are naive local midnights (``passages["day"]`` values). Camps never counted
    within the window of a day contribute 0. ``column``: the count estimated (people by
    default; a public's count, e.g. ``unaccompanied_minors``, is taken from the
    passages that counted people, missing there meaning 0).
    """
    seen = counted(passages).sort_values(["date", "record_id"])
    if column != "people":
        of_count = seen[column].fillna(0.0).where(seen["people"].notna())
        seen = seen.assign(people=of_count)
    if seen.empty or len(days) == 0:
        return pd.DataFrame(index=days, dtype=float)
    # One observation per camp and day: the last passage of the day decides.
    last_of_day = seen.groupby(["day", "camp_id"]).tail(1)
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


def estimated_population(
    passages: pd.DataFrame, days: pd.DatetimeIndex, window: int
) -> pd.DataFrame:
    """Per day: ``people`` (estimated population) and ``camps`` (camps counted)."""
    matrix = daily_camp_counts(passages, days, window)
    if matrix.shape[1] == 0:
        return pd.DataFrame({"people": 0.0, "camps": 0}, index=days)
    return pd.DataFrame(
        {"people": matrix.sum(axis=1), "camps": (matrix > 0).sum(axis=1).astype(int)},
        index=days,
    )


def estimated_count(
    passages: pd.DataFrame, days: pd.DatetimeIndex, window: int, column: str
) -> pd.Series:
    """Per day, the estimate of ``column`` (a public's count, e.g. ``unaccompanied_minors``)
    made as the estimated population is: each active camp's latest count of it within
    the window, summed."""
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
