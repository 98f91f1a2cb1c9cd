"""A partner account attacking from outside (the trust review before a stop): what the
browser receives, not only what a page shows. Streamlit sends the whole map payload to
the browser, where its developer tools read it."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

from carto import privacy
from testing.app import run_page
from tests.test_map_card import card, map_camps, tap

PARTNER = "partenaire"
AIRTABLE_ID = privacy.RECORD_ID


def map_layers(at: AppTest) -> dict[str, list[dict[str, Any]]]:
    """Every layer's data in the map payload, by layer id."""
    spec = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    return {layer.get("id"): list(layer.get("data") or []) for layer in spec["layers"]}


def test_a_partners_map_payload_holds_no_airtable_record_id(app_config: Path) -> None:
    """The camp points carried ``camp_id`` = "S-rec…"/"P-rec…": the Airtable record ids a
    partner's exports hide (``privacy.hide_record_ids``), in clear in the map's JSON."""
    at = run_page(role=PARTNER)
    payload = at.get("deck_gl_json_chart")[0].proto.json
    camps = map_camps(at)
    assert camps  # the map shows camps
    assert not AIRTABLE_ID.findall(payload), AIRTABLE_ID.findall(payload)[:3]
    assert all(str(point["camp_id"]).startswith(("S-id", "P-id")) for point in camps)


def test_staff_map_keeps_the_record_ids(app_config: Path) -> None:
    at = run_page()  # a coordinator works with the base: ids unchanged
    assert all(AIRTABLE_ID.search(str(point["camp_id"])) for point in map_camps(at))


def test_a_partner_tapping_a_camp_still_gets_its_card(app_config: Path) -> None:
    at = run_page(role=PARTNER)
    tap(at, map_camps(at)[0])
    assert not at.exception
    (shown,) = card(at)
    assert "Campement" in shown  # the pseudonym, from the server's frame


def test_a_real_record_id_sent_by_a_partner_gets_no_card(app_config: Path) -> None:
    """Sending back a guessed or leaked record id must not confirm it names a camp."""
    staff = run_page()
    real = [point["camp_id"] for point in map_camps(staff)]
    at = run_page(role=PARTNER)
    for camp_id in real[:3]:
        tap(at, {"camp_id": camp_id})
        assert not at.exception and not card(at), camp_id


def test_a_partners_gap_rings_follow_its_points(app_config: Path) -> None:
    """The rings (a default layer) of camps without a recent passage are drawn on the
    partner's points: they are chosen by camp id, which the points now hide."""
    at = run_page(role=PARTNER)
    layers = map_layers(at)

    def spots(layer: str) -> set[tuple[float, float, float]]:
        return {(p["latitude"], p["longitude"], p["radius"]) for p in layers.get(layer, [])}

    # the demo of some days has no camp without a recent passage (every Tuesday's): the
    # map of an earlier day then has some
    today = at.slider(key="etat_au").value
    assert isinstance(today, dt.date)
    for back in range(1, 15):
        if spots("gaps"):
            break
        at.slider(key="etat_au").set_value(today - dt.timedelta(days=back)).run()
        assert not at.exception, [e.value for e in at.exception]
        layers = map_layers(at)
    assert spots("gaps") and spots("gaps") <= spots("camps")
