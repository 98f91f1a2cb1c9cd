"""Charts built with graph objects (carto.ui.plots) are the figures plotly express would
draw: same traces, colours, hover texts, legend, axes and facets."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import plotly.express as px
import plotly.io as pio
import pytest
import streamlit  # noqa: F401  (registers the template the pages draw with)

from carto.ui.plots import bar_figure, line_figure

LABELS = {"week": "Semaine", "value": "Personnes", "measure": "Mesure", "item": "Objet"}
WEEKS = pd.to_datetime(["2026-11-02", "2026-11-09", "2026-11-16", "2026-11-02", "2026-11-23"])


def drawn(fig: Any) -> dict[str, Any]:
    """The figure as the browser receives it (Streamlit sends plotly's JSON)."""
    return json.loads(pio.to_json(fig, validate=False))


FRAMES = {
    "one colour": pd.DataFrame({"week": WEEKS, "value": [3, 4, 5, 6, 7], "measure": ["A"] * 5}),
    "colours in order of appearance": pd.DataFrame(
        {"week": WEEKS, "value": [3.5, 4, None, 6, 0], "measure": ["B", "A", "B", "C", "A"]}
    ),
    "more colours than the palette": pd.DataFrame(
        {"week": WEEKS.repeat(3), "value": range(15), "measure": [f"m{i}" for i in range(15)]}
    ),
    "empty": pd.DataFrame(
        {
            "week": pd.Series(dtype="datetime64[ns]"),
            "value": pd.Series(dtype=float),
            "measure": pd.Series(dtype=str),
        }
    ),
}
FACETED = pd.DataFrame(
    {
        "week": WEEKS.repeat(2),
        "value": range(10),
        "measure": ["Besoin", "Donné"] * 5,
        "item": ["Couvertures", "Couvertures", "Repas", "Repas", "Hygiène"] * 2,
    }
)


@pytest.mark.parametrize("barmode", ["relative", "group"])
@pytest.mark.parametrize("name", list(FRAMES))
def test_a_bar_figure_is_what_plotly_express_draws(name: str, barmode: str) -> None:
    frame = FRAMES[name]
    expected = px.bar(frame, x="week", y="value", color="measure", labels=LABELS, barmode=barmode)
    built = bar_figure(frame, "week", "value", "measure", LABELS, barmode=barmode)
    assert drawn(built) == drawn(expected)


@pytest.mark.parametrize("items", [1, 2, 3])
def test_facets_side_by_side_are_what_plotly_express_draws(items: int) -> None:
    frame = FACETED[FACETED["item"].isin(FACETED["item"].unique()[:items])]
    options: dict[str, Any] = {"barmode": "group", "height": 340}
    expected = px.bar(
        frame, x="week", y="value", color="measure", facet_col="item", labels=LABELS, **options
    )
    built = bar_figure(frame, "week", "value", "measure", LABELS, facet_col="item", **options)
    assert drawn(built) == drawn(expected)
    assert len(built.data) == len(expected.data) > 0


@pytest.mark.parametrize("markers", [False, True])
@pytest.mark.parametrize("name", list(FRAMES))
def test_a_line_figure_is_what_plotly_express_draws(name: str, markers: bool) -> None:
    frame = FRAMES[name]
    expected = px.line(frame, x="week", y="value", color="measure", labels=LABELS, markers=markers)
    built = line_figure(frame, "week", "value", LABELS, color="measure", markers=markers)
    assert drawn(built) == drawn(expected)


@pytest.mark.parametrize("name", list(FRAMES))
def test_a_single_line_is_what_plotly_express_draws(name: str) -> None:
    frame = FRAMES[name]
    expected = px.line(frame, x="week", y="value", labels=LABELS)
    assert drawn(line_figure(frame, "week", "value", LABELS)) == drawn(expected)
