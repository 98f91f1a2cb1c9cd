"""Plotly charts as every page shows them: French numbers and dates on axes and hovers.

``show(fig)`` is how a page draws a chart: numbers with a decimal comma and a narrow
no-break space between thousands (plotly's layout ``separators``), date axes and their
hover labels as DD/MM/YYYY (plotly would write "Nov 26, 2026"), no plotly toolbar.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from carto.i18n import DECIMAL_COMMA, NARROW_NBSP

# plotly's layout.separators: the decimal mark, then the thousands separator
SEPARATORS = DECIMAL_COMMA + NARROW_NBSP
DATE_FORMAT = "%d/%m/%Y"
CONFIG = {"displayModeBar": False}


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
