"""Bar and line charts built with plotly's graph objects: the figures
``plotly.express.bar`` and ``plotly.express.line`` would make for the same columns,
without their cost.

plotly express validates its arguments, copies the frame through narwhals and sets each
property of the figure one path at a time: about a tenth of a second per chart, most of
the first run of Tableau de bord (eight weekly charts). These build the same traces and
layout (same colours, hover texts, legend, facets) in one go; tests check that both
write the same figure (tests/test_plots.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.colors import qualitative
from plotly.subplots import make_subplots

# plotly.express's spacing between facet columns (and rows, unused here)
FACET_COL_SPACING = 0.02
FACET_ROW_SPACING = 0.03


def _colours(trace_type: str) -> Sequence[str]:
    """The discrete colours plotly.express takes from the default template: the
    template's colours for this type of trace, else its colourway, else D3's."""
    template = pio.templates[pio.templates.default]
    traces = getattr(template.data, trace_type) or ()
    from_traces = [tr.marker.color for tr in traces if tr.marker.color]
    return from_traces or template.layout.colorway or qualitative.D3


def _groups(
    frame: pd.DataFrame, keys: list[str]
) -> tuple[dict[str, list[Any]], Iterator[tuple[tuple[Any, ...], pd.DataFrame]]]:
    """Each column of ``keys``'s values in order of first appearance, and the rows of
    each combination present, in that order (as plotly express orders its traces)."""
    order = {k: list(frame[k].dropna().unique()) for k in keys}
    groups = frame.groupby(keys, sort=False, dropna=True) if len(frame) else ()
    ranked = sorted(
        ((key if isinstance(key, tuple) else (key,), rows) for key, rows in groups),
        key=lambda item: [order[k].index(v) for k, v in zip(keys, item[0], strict=True)],
    )
    return order, iter(ranked)


def _axes(x_title: str, y_title: str) -> dict[str, Any]:
    return {
        "xaxis": {"anchor": "y", "domain": [0.0, 1.0], "title": {"text": x_title}},
        "yaxis": {"anchor": "x", "domain": [0.0, 1.0], "title": {"text": y_title}},
    }


def _legend(fig: go.Figure, title: str | None) -> None:
    """px's legend and margin; it names the legend after the colours' column only when
    some trace has a colour."""
    legend: dict[str, Any] = {"tracegroupgap": 0}
    if title is not None:
        legend["title"] = {"text": title}
    fig.update_layout(legend=legend, margin={"t": 60})


def line_figure(
    frame: pd.DataFrame,
    x: str,
    y: str,
    labels: Mapping[str, str],
    *,
    color: str | None = None,
    markers: bool = False,
) -> go.Figure:
    """The figure of ``px.line(frame, x=x, y=y, color=color, markers=markers,
    labels=labels)``: one line per colour, in the order the values first appear."""

    def label(column: str) -> str:
        return labels.get(column, column)

    colours = _colours("scatter")
    if color is None:
        order: dict[str, list[Any]] = {}
        groups: Iterator[tuple[tuple[Any, ...], pd.DataFrame]] = iter([((), frame)])
    else:
        order, groups = _groups(frame, [color])
    traces = []
    for key, rows in groups:
        name = str(key[0]) if key else ""
        hover = [f"{label(color)}={key[0]}"] if color is not None else []
        hover += [f"{label(x)}=%{{x}}", f"{label(y)}=%{{y}}"]
        index = order[color].index(key[0]) if color is not None else 0
        trace = {
            "hovertemplate": "<br>".join(hover) + "<extra></extra>",
            "legendgroup": name,
            "line": {"color": colours[index % len(colours)], "dash": "solid"},
            "marker": {"symbol": "circle"},
            "mode": "lines+markers" if markers else "lines",
            "name": name,
            "orientation": "v",
            "showlegend": name != "",
            "x": rows[x].to_numpy(),
            "xaxis": "x",
            "y": rows[y].to_numpy(),
            "yaxis": "y",
        }
        traces.append(go.Scatter(trace))
    fig = go.Figure(data=traces, layout=_axes(label(x), label(y)))
    _legend(fig, label(color) if color is not None and traces else None)
    return fig


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
    order, ranked = _groups(frame, keys)
    facets = order[facet_col] if facet_col else [None]
    colours = _colours("bar")
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
        fig = go.Figure(data=[go.Bar(t) for t in traces], layout=_axes(label(x), label(y)))
    else:
        fig = _facet_layout(facets, label(facet_col))
        fig.add_traces([go.Bar(t) for t in traces])
        fig.update_yaxes(title_text=label(y), col=1)
        fig.update_xaxes(title_text=label(x), row=1)
    _legend(fig, label(color) if traces else None)
    fig.update_layout(barmode=barmode)
    if height is not None:
        fig.update_layout(height=height)
    return fig
