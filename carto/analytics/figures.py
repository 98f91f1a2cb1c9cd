"""The dashboard's figures for a period: passages, services delivered, evacuations."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from carto import schema
from carto.analytics.camps import counted

EVACUATION_KINDS = (
    schema.EVACUATION_SHELTERED,
    schema.EVACUATION_NO_SOLUTION,
    schema.EVACUATION_PARTIAL,
)


@dataclass(frozen=True)
class Period:
    """Whole local days from ``start`` to ``end`` inclusive (naive midnights)."""

    start: pd.Timestamp
    end: pd.Timestamp

    @classmethod
    def last_days(cls, today: dt.date, days: int) -> Period:
        end = pd.Timestamp(today)
        return cls(end - pd.Timedelta(days=days - 1), end)

    @classmethod
    def month_before(cls, today: dt.date) -> Period:
        """The calendar month before the one holding ``today`` (1st to last day)."""
        end = pd.Timestamp(today.replace(day=1)) - pd.Timedelta(days=1)
        return cls(end.replace(day=1), end)

    @property
    def days(self) -> pd.DatetimeIndex:
        return pd.date_range(self.start, self.end, freq="D")

    @property
    def is_calendar_month(self) -> bool:
        """True when the period is one whole calendar month."""
        return self.start.day == 1 and self.end == self.start + pd.offsets.MonthEnd(0)

    def previous(self) -> Period:
        """The period just before this one: the month before for a calendar month, else
        the period of the same length."""
        if self.is_calendar_month:
            return Period.month_before(self.start.date())
        length = self.end - self.start + pd.Timedelta(days=1)
        return Period(self.start - length, self.end - length)


def in_period(passages: pd.DataFrame, period: Period) -> pd.DataFrame:
    """Counted passages (duplicates once) whose day lies in the period."""
    days = passages["day"]
    return counted(passages[(days >= period.start) & (days <= period.end)])


def services_delivered(passages: pd.DataFrame, period: Period) -> pd.Series:
    """Items delivered in the period, by distribution field key."""
    rows = in_period(passages, period)
    return rows[list(schema.DISTRIBUTIONS)].sum().round().astype(int)


def evacuation_events(passages: pd.DataFrame, period: Period) -> pd.DataFrame:
    """One row per camp and day with an evacuation reported (several reports count once)."""
    rows = in_period(passages, period)
    rows = rows[rows["evacuation"].isin(EVACUATION_KINDS)]
    if rows.empty:
        return pd.DataFrame(
            {
                "camp_id": pd.Series(dtype="str"),
                "day": pd.Series(dtype="datetime64[ns]"),
                "kind": pd.Series(dtype="str"),
                "people": pd.Series(dtype=float),
                "sheltered": pd.Series(dtype=float),
                "without_solution": pd.Series(dtype=float),
            }
        )
    events = (
        rows.sort_values(["date", "record_id"])
        .groupby(["camp_id", "day"], as_index=False)
        .agg(kind=("evacuation", "last"), people=("people", "max"), sheltered=("sheltered", "max"))
    )
    events["sheltered"] = events["sheltered"].fillna(0.0)
    events["without_solution"] = (events["people"] - events["sheltered"]).clip(lower=0)
    return events


def evacuation_summary(events: pd.DataFrame) -> pd.DataFrame:
    """Per kind of evacuation: events, people affected, sheltered, left without solution."""
    summary = events.groupby("kind").agg(
        events=("camp_id", "size"),
        people=("people", "sum"),
        sheltered=("sheltered", "sum"),
        without_solution=("without_solution", "sum"),
    )
    return summary.reindex(list(EVACUATION_KINDS), fill_value=0)
