"""The card of a camp tapped on the map (issue 14, item 6), under AppTest, with a demo
snapshot whose every camp name is hostile markdown and HTML.

The card is built on the server from the camp's id: what else the browser sends back
(the tooltip's HTML) is ignored, an id the person's map does not show gets no card, and
the camp name is escaped. AppTest has no way to tap a deck.gl map: ``tap`` sends the
selection the browser would send, as the widget state of the map.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import streamlit
from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.testing.v1 import AppTest

from carto import privacy
from carto.i18n import t
from carto.map_view import camp_card, selected_camp_id
from carto.text import escape_markdown
from testing.app import run_page
from testing.hostile import EVIL, HOSTILE, write_hostile_demo
from tests.test_map_view import states_frame

FORGED = f"<img src='https:{EVIL}/forged.png'> [cliquez ici](https:{EVIL}/forged)"


@pytest.fixture
def hostile_demo(app_config: Path) -> Path:
    """Demo mode on a snapshot where every camp is named ``HOSTILE``. Streamlit's caches
    are emptied: the frames derived from the data are cached on the snapshot's version,
    which another test's demo store may share."""
    write_hostile_demo(app_config)
    streamlit.cache_data.clear()
    streamlit.cache_resource.clear()
    return app_config


def map_camps(at: AppTest) -> list[dict[str, Any]]:
    """The camp points the map sends to the browser."""
    spec = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    (layer,) = [layer for layer in spec["layers"] if layer.get("id") == "camps"]
    return list(layer["data"])


def tap(at: AppTest, picked: dict[str, Any]) -> AppTest:
    """Run the page again as after a tap on a camp whose point is ``picked``."""
    deck = at.get("deck_gl_json_chart")[0]
    selection = {"selection": {"indices": {"camps": [0]}, "objects": {"camps": [picked]}}}
    states = at._tree.get_widget_states()
    states.widgets.append(WidgetState(id=deck.proto.id, string_value=json.dumps(selection)))
    return at._run(states)


def card(at: AppTest) -> list[str]:
    """The markdown of the selected-camp card (empty when there is no card): what comes
    between its title and the title of the list of camps."""
    sources = [m.value for m in at.markdown]
    title = f"**{t('map.selected')}**"
    if title not in sources:
        return []
    start = sources.index(title) + 1
    return sources[start : sources.index(f"**{t('map.list.title')}**", start)]


def test_the_card_escapes_the_camp_name_and_ignores_the_browsers_html(
    hostile_demo: Path,
) -> None:
    at = run_page()
    picked = {**map_camps(at)[0], "title": FORGED, "details": FORGED, "tooltip_html": FORGED}
    tap(at, picked)
    assert not at.exception
    (shown,) = card(at)
    assert escape_markdown(HOSTILE) in shown
    everything = "\n".join(m.value for m in at.markdown)
    assert "forged" not in everything  # nothing of what the browser sent is shown
    assert f"]({EVIL}" not in everything and "<img" not in everything
    links = [link.proto.page for link in at.get("page_link")]
    assert links == ["historique"]


def test_no_card_for_a_camp_the_map_does_not_show(hostile_demo: Path) -> None:
    at = run_page()
    shown = map_camps(at)[0]
    tap(at, {**shown, "camp_id": "c_unknown"})
    assert not at.exception and not card(at)
    tap(at, {"camp_id": {"$ne": None}, "title": FORGED})  # not even a string
    assert not at.exception and not card(at)


def test_a_partners_card_has_no_link_to_a_page_it_cannot_open(hostile_demo: Path) -> None:
    at = run_page(role="partenaire")
    tap(at, map_camps(at)[0])
    assert not at.exception
    assert card(at) and not at.get("page_link")


def test_the_demo_snapshot_above_is_the_one_the_app_shows(hostile_demo: Path) -> None:
    """Guard for the fixture: the app did not rebuild the demo over the hostile one."""
    at = run_page("pages/historique.py")
    assert at.selectbox(key="camp").options[0].startswith("Camp [lien]")


# ----------------------------------------------------------- the card, unit-level


def test_card_of_a_camp_from_the_servers_frame() -> None:
    states = states_frame(name=HOSTILE, last_association="Utopia 56 :red[x]")
    shown = camp_card(states, "S-rec1")
    assert shown is not None
    assert f"**{escape_markdown(HOSTILE)}**" in shown
    assert escape_markdown("Utopia 56 :red[x]") in shown and ":red[" not in shown
    assert camp_card(states, "S-other") is None  # not on this person's map
    assert camp_card(states_frame(active=False), "S-rec1") is None  # closed: not shown
    assert camp_card(states, None) is None


def test_card_shows_a_suppressed_count_as_small() -> None:
    policy = privacy.Policy(small_count_threshold=5)
    states = states_frame(people=float("nan"), people_suppressed=True)
    shown = camp_card(states, "S-rec1", policy)
    assert shown is not None
    label = privacy.small_count_label(5)
    assert f"{t('map.tooltip.people')} : {escape_markdown(label)}" in shown


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        ({"objects": {"camps": [{"camp_id": "S-rec1"}]}}, "S-rec1"),
        ({"objects": {"camps": [{"camp_id": ["S-rec1"]}]}}, None),
        ({"objects": {"camps": ["S-rec1"]}}, None),
        ({"objects": {"camps": []}}, None),
        ({"objects": None}, None),
        ({}, None),
        (None, None),
    ],
)
def test_only_a_camp_id_string_is_taken_from_the_selection(
    selection: object, expected: str | None
) -> None:
    assert selected_camp_id(selection) == expected
