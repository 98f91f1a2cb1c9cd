"""Bar charts built with plotly's graph objects: the figure ``plotly.express.bar`` would
make for the same columns, without its cost.

``px.bar`` validates its arguments, copies the frame through narwhals and sets each
property of the figure one path at a time: about a tenth of a second per chart, most of
the first run of Tableau de bord (eight weekly charts). ``bar_figure`` builds the same
traces and layout (same colours, hover texts, legend, facets) in one go; a test checks
that both write the same figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.colors import qualitative
from plotly.subplots import make_subplots

# plotly.express's spacing between facet columns (and rows, unused here)
FACET_COL_SPACING = 0.02
FACET_ROW_SPACING = 0.03


def _colours() -> Sequence[str]:
    """The discrete colours plotly.express takes from the default template: the bar
    traces' colours, else the colourway, else D3's."""
    template = pio.templates[pio.templates.default]
    from_bars = [b.marker.color for b in template.data.bar or () if b.marker.color]
    return from_bars or template.layout.colorway or qualitative.D3


def _facet_layout(facets: list[Any], label: str) -> go.Figure:
    """An empty figure with one subplot per facet, side by side, titled as px does."""
    fig = make_subplots(
        rows=1,
        cols=len(facets),
        specs=[[{"type": "xy"}] * len(facets)],
        shared_xaxes="all",
        shared_yaxes="all",
        row_titles=[],
        column_titles=[f"{label}={value}" for value in facets],
        subplot_titles=[],
        horizontal_spacing=FACET_COL_SPACING,
        vertical_spacing=FACET_ROW_SPACING,
        row_heights=[1.0],
        column_widths=[1.0] * len(facets),
        start_cell="bottom-left",
    )
    for annotation in fig.layout.annotations:
        annotation.update(font=None)
    return fig


def bar_figure(
    frame: pd.DataFrame,
    x: str,
    y: str,
    color: str,
    labels: Mapping[str, str],
    *,
    facet_col: str | None = None,
    barmode: str = "relative",
    height: int | None = None,
) -> go.Figure:
    """The figure of ``px.bar(frame, x=x, y=y, color=color, labels=labels,
    facet_col=facet_col, barmode=barmode, height=height)``: one trace per colour (and
    facet) in the order the values first appear, hover "label=value" lines."""

    def label(column: str) -> str:
        return labels.get(column, column)

    keys = [color] if facet_col is None else [color, facet_col]
    order = {k: list(frame[k].dropna().unique()) for k in keys}
    facets = order[facet_col] if facet_col else [None]
    groups = frame.groupby(keys, sort=False, dropna=True) if len(frame) else ()
    ranked = sorted(
        ((key if isinstance(key, tuple) else (key,), rows) for key, rows in groups),
        key=lambda item: [order[k].index(v) for k, v in zip(keys, item[0], strict=True)],
    )
    colours = _colours()
    grouped = barmode == "group"
    traces: list[dict[str, Any]] = []
    named: set[str] = set()
    for key, rows in ranked:
        name = str(key[0])
        hover = [f"{label(color)}={key[0]}"]
        axis = ""
        if facet_col is not None:
            hover.append(f"{label(facet_col)}={key[1]}")
            position = facets.index(key[1]) + 1
            axis = str(position) if position > 1 else ""
        hover += [f"{label(x)}=%{{x}}", f"{label(y)}=%{{y}}"]
        trace: dict[str, Any] = {
            "name": name,
            "legendgroup": name,
            "showlegend": name != "" and name not in named,
        }
        named.add(name)
        if grouped:
            trace.update(alignmentgroup=True, offsetgroup=name)
        colour = colours[order[color].index(key[0]) % len(colours)]
        trace.update(
            marker={"color": colour, "pattern": {"shape": ""}},
            hovertemplate="<br>".join(hover) + "<extra></extra>",
            orientation="v",
            textposition="auto",
            x=rows[x].to_numpy(),
            xaxis="x" + axis,
            y=rows[y].to_numpy(),
            yaxis="y" + axis,
        )
        traces.append(trace)
    if facet_col is None:
        layout: dict[str, Any] = {
            "xaxis": {"anchor": "y", "domain": [0.0, 1.0], "title": {"text": label(x)}},
            "yaxis": {"anchor": "x", "domain": [0.0, 1.0], "title": {"text": label(y)}},
        }
        fig = go.Figure(data=[go.Bar(t) for t in traces], layout=layout)
    else:
        fig = _facet_layout(facets, label(facet_col))
        fig.add_traces([go.Bar(t) for t in traces])
        fig.update_yaxes(title_text=label(y), col=1)
        fig.update_xaxes(title_text=label(x), row=1)
    legend: dict[str, Any] = {"tracegroupgap": 0}
    if traces:  # px names the legend after the colours' column when there are some
        legend["title"] = {"text": label(color)}
    fig.update_layout(legend=legend)
    fig.update_layout(margin={"t": 60}, barmode=barmode)
    if height is not None:
        fig.update_layout(height=height)
    return fig
