"""The dashboard's figures for a period: passages, services delivered, evacuations."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from carto import schema
from carto.analytics.camps import counted
from carto.analytics.weeks import week_start

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


# Why a period is not compared with the one before (catalogue ``dash.no_comparison.<code>``).
WHOLE_HISTORY, PREVIOUS_EMPTY, PREVIOUS_PARTIAL = "whole_history", "previous_empty", "partial"


def comparison_gap(
    period: Period, whole_history: bool, first_day: pd.Timestamp | None, previous_passages: int
) -> str | None:
    """Why the figures of ``period`` cannot be compared with the period before, or None
    when they can: the whole history is shown (nothing comes before it), the data
    start after the previous period's first day (it would be compared with a part of a
    period, or with nothing), or no passage at all lies in the previous period (a
    change from nothing is no change)."""
    if whole_history:
        return WHOLE_HISTORY
    if previous_passages == 0:
        return PREVIOUS_EMPTY
    if first_day is None or pd.isna(first_day) or period.previous().start < first_day:
        return PREVIOUS_PARTIAL
    return None


def in_period(
    passages: pd.DataFrame, period: Period, columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """Counted passages (duplicates once) whose day lies in the period; with ``columns``,
    only those of them (``camps.counted``: the other columns are not copied)."""
    days = passages["day"]
    return counted(passages, columns, where=(days >= period.start) & (days <= period.end))


def services_delivered(passages: pd.DataFrame, period: Period) -> pd.Series:
    """Items delivered in the period, by distribution field key."""
    rows = in_period(passages, period, list(schema.DISTRIBUTIONS))
    return rows[list(schema.DISTRIBUTIONS)].sum().round().astype(int)


def weekly_items(rows: pd.DataFrame) -> pd.DataFrame:
    """Items delivered per week (the Monday of their ``day``) and association, every
    distribution together: columns ``week``, ``association``, ``items``."""
    weekly = rows.assign(week=week_start(rows["day"]))
    given = weekly.groupby(["week", "association"])[list(schema.DISTRIBUTIONS)].sum()
    return given.sum(axis=1).rename("items").reset_index()


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


# People of an evacuation by outcome; they add up to ``people`` (catalogue
# ``dash.evac.<column>``).
OUTCOME_PARTS = ("sheltered", "without_solution", "unknown")
# Evacuations by what the people were offered (the events' ``shelter`` code, decided by
# the numbers when known, else by the kind reported; catalogue ``event.shelter.<code>``).
SHELTER_CODES = ("all", "partial", "none", "unknown")


def evacuation_outcomes(events: pd.DataFrame) -> pd.DataFrame:
    """Each evacuation event's people split so that the parts add up, columns
    ``people``, ``sheltered``, ``without_solution``, ``unknown``, ``uncounted`` and
    ``shelter`` (a code of ``SHELTER_CODES``), with the events' ``date``.

    ``people`` is the number of people concerned (as counted for the event, or at
    least those sheltered when only that is known); ``sheltered`` those reported
    sheltered; ``without_solution`` people minus sheltered when both are known;
    ``unknown`` those whose outcome nobody reported (people known, shelter not);
    ``uncounted`` is 1 for an event with no count at all (it adds nobody)."""
    people = events["people"].astype(float)
    sheltered = events["sheltered"].astype(float)
    concerned = people.fillna(sheltered)
    known_sheltered = sheltered.fillna(0.0)
    without = events["without_solution"].astype(float).fillna(0.0)
    unknown = (concerned - known_sheltered - without).clip(lower=0).fillna(0.0)
    shelter = events["shelter"].astype("str").fillna("unknown")
    return pd.DataFrame(
        {
            "date": events["date"],
            "people": concerned.fillna(0.0),
            "sheltered": known_sheltered,
            "without_solution": without,
            "unknown": unknown,
            "uncounted": concerned.isna().astype(float),
            "shelter": shelter.where(shelter.isin(SHELTER_CODES), "unknown"),
        },
        index=events.index,
    )


def evacuation_totals(events: pd.DataFrame) -> pd.Series:
    """The period's evacuations in one row: ``events``, the people by outcome (they add
    up: people = sheltered + without_solution + unknown), ``uncounted`` events, and how
    many events fall under each shelter code (``shelter_<code>``)."""
    parts = evacuation_outcomes(events)
    totals = {
        "events": float(len(parts)),
        **{c: float(parts[c].sum()) for c in ("people", *OUTCOME_PARTS, "uncounted")},
        **{f"shelter_{c}": float((parts["shelter"] == c).sum()) for c in SHELTER_CODES},
    }
    return pd.Series(totals)


def weekly_evacuation_outcomes(events: pd.DataFrame) -> pd.DataFrame:
    """People of the period's evacuations by outcome, per week (Monday): columns
    ``week``, ``people`` and ``OUTCOME_PARTS``."""
    parts = evacuation_outcomes(events)
    parts = parts.assign(week=week_start(pd.to_datetime(parts["date"])))
    columns = ["people", *OUTCOME_PARTS]
    return parts.groupby("week")[columns].sum().reset_index()
