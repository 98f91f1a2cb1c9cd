"""Plotly charts as every page shows them: French numbers and dates on axes and hovers,
date axes without repeated labels, and weeks cut by the period drawn hatched and lighter.

``show(fig)`` is how a page draws a chart: numbers with a decimal comma and a narrow
no-break space between thousands (plotly's layout ``separators``), date axes and their
hover labels as DD/MM/YYYY (plotly would write "Nov 26, 2026"), no plotly toolbar.

Before it, a page may set explicit date ticks (``date_axis``), size weekly bars
(``size_weekly_bars``) and mark partial weeks (``mark_partial_weeks``, with the note
``partial_weeks_note``). The weeks themselves come from ``carto.analytics.weeks``;
nothing is computed here but the look of the charts.

``show_cached(cache_key, build)`` draws the figure ``build`` makes once per key (the view's
``data.View.figure_key`` and what tells the chart apart): building plotly figures was
most of a warm rerun of Tableau de bord. The figure is shared by every session with that
key, so nothing may change it after ``build``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from carto.analytics import weeks
from carto.i18n import DECIMAL_COMMA, NARROW_NBSP, t

# plotly's layout.separators: the decimal mark, then the thousands separator
SEPARATORS = DECIMAL_COMMA + NARROW_NBSP
DATE_FORMAT = "%d/%m/%Y"
CONFIG = {"displayModeBar": False}
WEEK_MS = 7 * weeks.DAY_MS
BAR_SHARE = 0.8  # of a week, for the bars of one week (the rest is the gap between weeks)
PARTIAL_PATTERN = "/"
PARTIAL_OPACITY = 0.45
MARGIN = {"l": 10, "r": 10, "t": 10, "b": 10}
# A legend on one line above the plot, for a chart as narrow as a phone.
LEGEND_ABOVE = {"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left", "x": 0}


def date_axis(
    fig: Any,
    start: pd.Timestamp | dt.date,
    end: pd.Timestamp | dt.date,
    weekly: bool,
    max_ticks: int = 8,
) -> None:
    """Ticks of every x axis of ``fig`` (facets included) set explicitly: one per day or
    per week (or every few), written DD/MM/YYYY, never twice the same date; the axis
    spans the whole period."""
    fig.update_xaxes(**weeks.date_ticks(start, end, weekly, max_ticks))
    # With a fixed x range, plotly.js leaves the matched y axes of facets at an empty
    # range (-1 to 4, every bar cut): ask for their autorange explicitly.
    fig.update_yaxes(autorange=True)


def range_band(fig: go.Figure, frame: pd.DataFrame, x: str, low: str, high: str) -> None:
    """Draw the range ``low``-``high`` of a line chart as a shaded band behind its line
    (hover shows both ends, as whole numbers)."""
    hover = t("chart.range_hover") + "<extra></extra>"
    common = {"x": frame[x], "mode": "lines", "line": {"width": 0}, "showlegend": False}
    fig.add_trace(go.Scatter(y=frame[low], hoverinfo="skip", **common))
    fig.add_trace(
        go.Scatter(
            y=frame[high],
            fill="tonexty",
            fillcolor="rgba(99, 110, 250, 0.18)",
            name=t("chart.range"),
            customdata=frame[[low, high]].to_numpy(),
            hovertemplate=hover,
            **common,
        )
    )
    # The line on top of its band.
    fig.data = (*fig.data[-2:], *fig.data[:-2])


def size_weekly_bars(fig: Any) -> None:
    """Give weekly bars an explicit width (and, side by side, explicit offsets): on a
    fixed date range plotly.js draws a lone week's bar a few milliseconds wide, and
    overlaps grouped bars of a lone week."""
    bars = [trace for trace in fig.data if trace.type == "bar"]
    grouped = fig.layout.barmode == "group"
    slots = list(dict.fromkeys(tr.offsetgroup or tr.name for tr in bars)) if grouped else [""]
    width = WEEK_MS * BAR_SHARE / max(len(slots), 1)
    for trace in bars:
        trace.width = width
        if grouped:
            slot = slots.index(trace.offsetgroup or trace.name)
            trace.offset = -WEEK_MS * BAR_SHARE / 2 + slot * width


def mark_partial_weeks(fig: Any, spans: pd.DataFrame) -> bool:
    """Draw the bars of partial weeks (``weeks.week_spans``) hatched and lighter; True
    when the chart has such a bar."""
    partial = {pd.Timestamp(w) for w in spans.loc[spans["partial"], "week"]}
    marked = False
    for trace in fig.data:
        if trace.type != "bar" or trace.x is None:
            continue
        flags = [pd.Timestamp(x) in partial for x in trace.x]
        if any(flags):
            marked = True
            trace.marker.pattern.shape = [PARTIAL_PATTERN if f else "" for f in flags]
            trace.marker.opacity = [PARTIAL_OPACITY if f else 1.0 for f in flags]
    return marked


def partial_weeks_note(spans: pd.DataFrame, today: dt.date) -> str:
    """The note under a weekly chart that has partial weeks ("" when none): which weeks
    are partial and which days of them are counted; the week still running says so."""
    cut = spans[spans["partial"]]
    if cut.empty:
        return ""
    parts = []
    for week, first, last in zip(cut["week"], cut["first_day"], cut["last_day"], strict=True):
        monday, first_day, last_day = pd.Timestamp(week), pd.Timestamp(first), pd.Timestamp(last)
        days = {
            "week": monday.strftime("%d/%m/%Y"),
            "first": first_day.strftime("%d/%m"),
            "last": last_day.strftime("%d/%m"),
        }
        running = last_day.date() == today and (monday + pd.Timedelta(days=6)).date() > today
        parts.append(t("chart.partial_week.running" if running else "chart.partial_week", **days))
    return t("chart.partial_note", weeks=" ; ".join(parts))


def measures_long(frame: pd.DataFrame, ids: list[str], measures: dict[str, str]) -> pd.DataFrame:
    """``frame`` with its ``measures`` columns as rows, for a chart with one bar per
    measure: the ``ids`` columns, ``measure`` (the label ``measures`` gives the column)
    and ``value``. Shaping for drawing only: no figure is computed here."""
    long = frame.melt(id_vars=ids, value_vars=list(measures), var_name="measure")
    return long.assign(measure=long["measure"].map(measures))


def _date_axes(fig: go.Figure) -> set[str]:
    """The x axes (layout names: "xaxis", "xaxis2"…) that carry dates in some trace."""
    found = set()
    for trace in fig.data:
        values = getattr(trace, "x", None)
        if values is None or len(values) == 0:
            continue
        first = values[0]
        if np.asarray(values).dtype.kind == "M" or isinstance(first, np.datetime64 | dt.date):
            ref = getattr(trace, "xaxis", None) or "x"
            found.add("xaxis" + ref.removeprefix("x"))
    return found


def french(fig: go.Figure) -> go.Figure:
    """The figure with French number separators and DD/MM/YYYY dates (a date axis keeps
    the tick format a page chose, such as "%d/%m" on small facets)."""
    fig.update_layout(separators=SEPARATORS)
    for name in _date_axes(fig):
        axis = fig.layout[name]
        axis.hoverformat = DATE_FORMAT
        if not axis.tickformat:
            axis.tickformat = DATE_FORMAT
    return fig


def show(fig: go.Figure, **kwargs: Any) -> None:
    """Draw a plotly figure the French way, without plotly's English toolbar."""
    st.plotly_chart(french(fig), config=CONFIG, **kwargs)


@st.cache_resource(max_entries=64, show_spinner=False)
def _built(cache_key: Hashable, _build: Callable[[], go.Figure]) -> go.Figure:
    return french(_build())


def show_cached(cache_key: Hashable, build: Callable[[], go.Figure], **kwargs: Any) -> None:
    """``show(build())``, with the figure built once per ``cache_key``: it must hold all
    the figure depends on (``data.View.figure_key`` and the chart's own choices)."""
    st.plotly_chart(_built(cache_key, build), config=CONFIG, **kwargs)
