"""The map payload: one point per active camp, tooltips (markup in the template, record
text escaped once, by Streamlit), colours and legend by days since the last visit."""

from __future__ import annotations

import html
import json
import re

import pandas as pd
import pydeck as pdk
import pytest
from streamlit.elements.deck_gl_json_chart import _get_pydeck_tooltip

from carto.analytics import camps
from carto.dataset import Dataset
from carto.filters import GAP_DAYS
from carto.i18n import format_days_ago, t
from carto.map_view import (
    FORGOTTEN,
    FRESH,
    LATE,
    PHONE_CSS,
    RECENT,
    TOOLTIP,
    TOOLTIP_FIELDS,
    camp_deck,
    camp_points,
    evacuation_points,
    legend,
    visit_colour,
    zone_cells,
)
from carto.text import WORD_JOINER
from tests.conftest import TODAY


def states_frame(**overrides: object) -> pd.DataFrame:
    row = {
        "camp_id": "S-rec1",
        "name": "Pont <script>alert(1)</script>",
        "latitude": 48.88,
        "longitude": 2.36,
        "last_visit": pd.Timestamp("2026-11-25 20:00", tz="Europe/Paris"),
        "days_since_visit": 1,
        "last_association": "Utopia 56 & <b>amis</b>",
        "people": 42.0,
        "families": 2.0,
        "unaccompanied_minors": 0.0,
        "active": True,
    }
    row.update(overrides)
    return pd.DataFrame([row])


def render_tooltip(deck: pdk.Deck, layer_id: str, index: int = 0) -> str:
    """The tooltip's HTML as Streamlit builds it: the template it sends beside the spec
    (``_get_pydeck_tooltip``), filled as its frontend does (``DeckGlJsonChart``, 1.67):
    each ``{field}`` is replaced, in turn, by the picked object's value HTML-escaped
    (``& < > " '``), the first occurrence each time."""
    spec = json.loads(deck.to_json())
    tooltip = _get_pydeck_tooltip(deck)
    assert tooltip is not None
    template = tooltip["html"]
    (layer,) = [layer for layer in spec["layers"] if layer.get("id") == layer_id]
    picked = layer["data"][index]
    for field in re.findall(r"{(.*?)}", template):
        if field in picked:
            template = template.replace("{" + field + "}", html.escape(str(picked[field])), 1)
    return template


def test_tooltip_markup_is_in_the_template_and_record_text_escaped_once() -> None:
    """Issue 13: the tooltip showed "<b>Pantin…</b><br/>" and "d&#x27;Aubervilliers" as
    text: the values were escaped here, then again by Streamlit."""
    states = states_frame(name="Porte d'Aubervilliers <img src=x onerror=alert(1)>")
    deck = camp_deck(camp_points(states, gap_days=3))
    shown = render_tooltip(deck, "camps")
    assert shown.startswith("<b>Porte d&#x27;Aubervilliers &lt;img src=x onerror=alert(1)&gt;</b>")
    assert "<br/>Dernier passage : 25/11/2026 (hier)" in shown
    assert "Par : Utopia 56 &amp; &lt;b&gt;amis&lt;/b&gt;" in shown
    assert "&amp;#x27;" not in shown and "&amp;lt;" not in shown  # never escaped twice
    assert "<img" not in shown and "<b>amis" not in shown
    assert "Personnes : 42" in shown and "Familles : 2" in shown and "Mineurs" not in shown


def test_a_name_that_looks_like_a_template_field_stays_text() -> None:
    states = states_frame(name="{details} {title}")
    deck = camp_deck(camp_points(states, gap_days=3))
    shown = render_tooltip(deck, "camps")
    title = shown.split("</b>")[0].removeprefix("<b>")
    assert title.replace(WORD_JOINER, "") == "{details} {title}"
    assert "Dernier passage" not in title  # the name did not take the details' place
    assert shown.count("Dernier passage") == 1


def test_every_pickable_layer_carries_the_tooltip_fields() -> None:
    """A field missing from a picked object shows as "{title}" in the tooltip."""
    points = camp_points(states_frame(), gap_days=3)
    zones = zone_cells(pd.DataFrame({"zone": ["871fb4662ffffff"], "people": [12.0], "camps": [2]}))
    evacuations = evacuation_points(
        pd.DataFrame(
            {
                "name": ["Quai <b>"],
                "date": [pd.Timestamp("2026-11-20")],
                "people": [30.0],
                "latitude": [48.88],
                "longitude": [2.36],
            }
        )
    )
    deck = camp_deck(points, zones=zones, evacuations=evacuations)
    for layer in json.loads(deck.to_json())["layers"]:
        if layer.get("pickable"):
            for row in layer["data"]:
                assert set(TOOLTIP_FIELDS) <= set(row), layer["id"]
    assert render_tooltip(deck, "evacuations").startswith("<b>Quai &lt;b&gt;</b><br/>")
    assert render_tooltip(deck, "zones").startswith("<b>12 personnes dans la zone</b>")


def test_the_tooltip_never_exceeds_the_screen() -> None:
    style = TOOLTIP["style"]
    assert "100vw" in style["maxWidth"] and style["whiteSpace"] == "pre-line"
    assert "@media (max-width: 640px)" in PHONE_CSS and ".deck-tooltip" in PHONE_CSS


def test_only_active_camps_are_sent() -> None:
    frame = pd.concat([states_frame(), states_frame(camp_id="S-rec2", active=False)])
    points = camp_points(frame, gap_days=3)
    assert points["camp_id"].tolist() == ["S-rec1"]


def test_colour_by_days_since_visit() -> None:
    colours = visit_colour(pd.Series([0, 1, 2, 3, 4, 6, 7]), gap_days=3).tolist()
    expected = [FRESH, FRESH, RECENT, RECENT, LATE, LATE, FORGOTTEN]
    assert colours == [list(c) for c in expected]


def _days_of(label: str) -> range:
    """The days since a visit a legend label names."""
    numbers = [int(n) for n in re.findall(r"\d+", label)]
    if label == t("map.legend.fresh"):
        return range(0, 2)
    if label.startswith(t("map.legend.over.other", n="@").split("@")[0]):
        return range(numbers[0] + 1, 60)
    return range(numbers[0], numbers[-1] + 1)


@pytest.mark.parametrize("gap", [1, *GAP_DAYS, 10])
def test_the_legend_names_the_days_each_colour_stands_for(gap: int) -> None:
    """Issue 13: the buckets follow the threshold ("Il y a 8 à 7 jours" for 7 days)."""
    pairs = legend(gap)
    covered: list[int] = []
    for colour, label in pairs:
        days = _days_of(label)
        assert len(days) > 0, label
        shown = visit_colour(pd.Series(list(days)), gap_days=gap).tolist()
        assert shown == [list(colour)] * len(days), label
        covered += list(days)
    assert covered == list(range(60))  # every day once, in order
    # the coverage gaps (more than ``gap`` days) start a colour of their own
    assert any(_days_of(label).start == gap + 1 for _, label in pairs)


def test_days_since_a_visit_in_words() -> None:
    """The tooltip, the card and the list say it the same way (``format_days_ago``)."""
    words = [format_days_ago(d) for d in (0, 1, 5, float("nan"))]
    assert words == ["aujourd'hui", "hier", "il y a 5 jours", "—"]


def test_demo_map_payload_is_one_point_per_camp(demo_dataset: Dataset) -> None:
    as_of = pd.Timestamp(TODAY, tz="Europe/Paris")
    states = camps.camp_states(demo_dataset.passages, demo_dataset.sites, as_of, active_days=30)
    points = camp_points(states, gap_days=3)
    assert len(points) == int(states["active"].sum())
    assert points["camp_id"].is_unique
    assert len(points) < len(demo_dataset.passages) / 20
    spec = json.loads(camp_deck(points).to_json())
    assert spec["layers"][0]["@@type"] == "ScatterplotLayer"
    assert len(spec["layers"][0]["data"]) == len(points)


def test_legend_labels_are_escaped_for_html_and_markdown() -> None:
    """The legend is drawn with ``unsafe_allow_html``: a label holding markup or markdown
    (none does today: they come from the catalogue) still shows as text."""
    from carto.map_view import Swatch, legend_html
    from testing.hostile import HOSTILE

    drawn = legend_html([Swatch(HOSTILE), Swatch("*gras* [lien](https://evil.example)")])
    assert "<img" not in drawn and "<script" not in drawn.lower()
    assert "\\*gras\\*" in drawn and "\\[lien\\]" in drawn
