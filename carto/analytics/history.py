"""One camp's history over a span of days: its passages, weekly passages per
association and weekly deliveries, and which weeks of the span are partial.

The span is either the period chosen in the filters or the camp's whole life (its
first to its last passage): the Historique page lets the person choose.

Plain pandas: no Streamlit here.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from carto import schema
from carto.analytics.camps import counted
from carto.analytics.weeks import week_spans, week_start, weekly_passages


@dataclass(frozen=True)
class CampHistory:
    """A camp's passages from ``start`` to ``end`` (naive local days), as charts use them."""

    start: pd.Timestamp | None  # None: no passage of the camp at all
    end: pd.Timestamp | None
    rows: pd.DataFrame  # counted passages of the span, by date
    weekly_passages: pd.DataFrame  # week, association, passages
    weekly_items: pd.DataFrame  # week, item (distribution key), items
    weeks: pd.DataFrame  # ``weeks.week_spans`` of the span

    @property
    def last_people(self) -> float | None:
        """The latest count of people in the span (None when nobody counted)."""
        counts = self.rows["people"].dropna()
        return float(counts.iloc[-1]) if len(counts) else None


def camp_choices(camps: pd.DataFrame, passages: pd.DataFrame) -> pd.DataFrame:
    """The camps of ``camps`` (the camps dataset) that have passages in ``passages``,
    latest visit first, with the ``label`` a picker shows: the name, and the id after it
    only when another camp of the list has the same name."""
    shown = camps[camps["camp_id"].isin(passages["camp_id"].unique())]
    shown = shown.sort_values("last_visit", ascending=False)
    shared = shown["name"].map(shown["name"].value_counts()) > 1
    labels = shown["name"].where(~shared, shown["name"] + " (" + shown["camp_id"] + ")")
    return shown.assign(label=labels.astype("str"))


def camp_history(
    passages: pd.DataFrame,
    camp_id: str,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
) -> CampHistory:
    """The history of ``camp_id`` from ``start`` to ``end`` inclusive, or over its whole
    life (first to last passage) when they are None."""
    mine = counted(passages[passages["camp_id"] == camp_id]).sort_values(["date", "record_id"])
    if start is None or end is None:
        if mine.empty:
            return _empty(None, None, mine)
        start, end = mine["day"].min(), mine["day"].max()
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    rows = mine[(mine["day"] >= start) & (mine["day"] <= end)]
    if rows.empty:
        return _empty(start, end, rows)
    per_week = weekly_passages(rows)
    weekly = rows.assign(week=week_start(rows["day"]))
    given = weekly.groupby("week")[list(schema.DISTRIBUTIONS)].sum().reset_index()
    items = given.melt(id_vars="week", var_name="item", value_name="items")
    return CampHistory(start, end, rows, per_week, items, week_spans(start, end))


def _empty(start: pd.Timestamp | None, end: pd.Timestamp | None, rows: pd.DataFrame) -> CampHistory:
    spans = week_spans(start, end) if start is not None and end is not None else pd.DataFrame()
    return CampHistory(
        start,
        end,
        rows.iloc[0:0],
        pd.DataFrame({"week": [], "association": [], "passages": []}),
        pd.DataFrame({"week": [], "item": [], "items": []}),
        spans,
    )
