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

from carto.i18n import t
from carto.text import escape_markdown
from tests.support.app import run_page
from tests.support.hostile import EVIL, HOSTILE, write_hostile_demo

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
    """The markdown of the selected-camp card (empty when there is no card)."""
    sources = [m.value for m in at.markdown]
    title = f"**{t('map.selected')}**"
    return sources[sources.index(title) + 1 :] if title in sources else []


def test_the_card_escapes_the_camp_name_and_ignores_the_browsers_html(
    hostile_demo: Path,
) -> None:
    at = run_page()
    picked = {**map_camps(at)[0], "tooltip_html": FORGED}
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
    tap(at, {"camp_id": {"$ne": None}, "tooltip_html": FORGED})  # not even a string
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
