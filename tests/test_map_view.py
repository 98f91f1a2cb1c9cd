"""The map payload: one point per active camp, escaped tooltips, colours by last visit."""

from __future__ import annotations

import json

import pandas as pd

from carto.analytics import camps
from carto.dataset import Dataset
from carto.map_view import FORGOTTEN, FRESH, LATE, RECENT, camp_deck, camp_points, visit_colour
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


def test_tooltip_escapes_user_text() -> None:
    html = camp_points(states_frame(), gap_days=3)["tooltip_html"].iloc[0]
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "&lt;b&gt;amis&lt;/b&gt;" in html
    assert "25/11/2026" in html
    assert "Personnes : 42" in html
    assert "Familles : 2" in html and "Mineurs" not in html


def test_only_active_camps_are_sent() -> None:
    frame = pd.concat([states_frame(), states_frame(camp_id="S-rec2", active=False)])
    points = camp_points(frame, gap_days=3)
    assert points["camp_id"].tolist() == ["S-rec1"]


def test_colour_by_days_since_visit() -> None:
    colours = visit_colour(pd.Series([0, 1, 2, 3, 4, 7, 8]), gap_days=3).tolist()
    expected = [FRESH, FRESH, RECENT, RECENT, LATE, LATE, FORGOTTEN]
    assert colours == [list(c) for c in expected]


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
