"""The Export and Synthèse pages under AppTest (issue 7).

They need the pages registered in ``carto/ui/navigation.py``: Export for admin,
coordinateur and partenaire; Synthèse for admin and coordinateur.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from carto import privacy
from carto.settings import load_settings
from carto.store import SnapshotStore
from testing.app import metric_int, run_page

EXPORT, SUMMARY = "pages/export.py", "pages/synthese.py"


@pytest.fixture
def deferred(monkeypatch: pytest.MonkeyPatch) -> dict[str, Callable[[], Any]]:
    """The file makers of the download buttons (Streamlit's deferred downloads), by the
    file id the button holds, as the runtime registers them."""
    found: dict[str, Callable[[], Any]] = {}
    original = MediaFileManager.add_deferred

    def add_deferred(self: MediaFileManager, data: Callable[[], Any], *a: Any, **k: Any) -> str:
        file_id = original(self, data, *a, **k)
        found[file_id] = data
        return file_id

    monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)
    return found


def downloaded(at: AppTest, makers: dict[str, Callable[[], Any]], index: int = 0) -> bytes:
    """The bytes the browser gets when the download button is clicked."""
    proto: Any = at.download_button[index].proto
    data = makers[proto.deferred_file_id]()
    return data if isinstance(data, bytes) else data.encode("utf-8")


def export_entries(config: Path) -> list[dict[str, Any]]:
    return SnapshotStore(load_settings(config).store_path).audit_log(event="export")


def test_export_page_exports_exactly_the_dashboards_rows(
    app_config: Path, deferred: dict[str, Callable[[], Any]]
) -> None:
    board = run_page("pages/tableau_de_bord.py")
    board.sidebar.multiselect(key="assoc").set_value(["Croix-Rouge française"]).run()
    shown = metric_int(board, "Passages")
    at = run_page(EXPORT)
    assert at.title[0].value == "Exports"
    at.sidebar.multiselect(key="assoc").set_value(["Croix-Rouge française"]).run()
    assert not at.exception
    assert at.multiselect(key="export_datasets").value == ["passages"]
    assert metric_int(at, "Passages : lignes") == shown > 0
    at.radio(key="export_format").set_value("csv").run()
    (button,) = at.download_button
    assert button.label.startswith("Télécharger cartocampement_passages_")
    assert "_croix-rouge-francaise.csv" in button.label
    rows = list(csv.DictReader(io.StringIO(downloaded(at, deferred).decode("utf-8-sig"))))
    assert len(rows) == shown
    assert {r["Association"] for r in rows} == {"Croix-Rouge française"}
    assert at.dataframe[0].value.shape[0] == min(shown, 100)


def test_a_download_writes_an_audit_entry(app_config: Path) -> None:
    at = run_page(EXPORT)
    at.multiselect(key="export_datasets").set_value(["camps", "population"]).run()
    at.radio(key="export_format").set_value("xlsx").run()
    rows = {
        "camps": metric_int(at, "Campements : lignes"),
        "population": metric_int(at, "Population estimée : lignes"),
    }
    assert not export_entries(app_config)
    (button,) = at.download_button
    button.click().run()
    assert not at.exception
    entries = export_entries(app_config)
    assert {e["details"]["dataset"]: e["details"]["rows"] for e in entries} == rows
    for entry in entries:
        assert entry["username"] == "coordinateur"
        details = entry["details"]
        assert details["format"] == "xlsx" and details["role"] == "coordinateur"
        assert details["filters"]["periode"] == "30j" and "du" in details["filters"]
        assert details["filters"]["fichier"] == button.label.removeprefix("Télécharger ")


def test_map_formats_skip_a_dataset_without_position(app_config: Path) -> None:
    at = run_page(EXPORT)
    at.multiselect(key="export_datasets").set_value(["events", "population"]).run()
    at.radio(key="export_format").set_value("kml").run()
    assert not at.exception
    assert any("Population estimée" in w.value for w in at.warning)
    (button,) = at.download_button
    assert button.label.endswith(".kml")


def test_partner_exports_aggregated_datasets_at_zone_level(
    app_config: Path, deferred: dict[str, Callable[[], Any]]
) -> None:
    at = run_page(EXPORT, role="partenaire")
    assert not at.exception
    choice = at.multiselect(key="export_datasets")
    assert choice.options == ["Campements", "Évacuations", "Zones", "Population estimée"]
    assert any("Export partenaire" in i.value for i in at.info)
    choice.set_value(["camps"]).run()
    at.radio(key="export_format").set_value("geojson").run()
    (button,) = at.download_button
    assert button.label.endswith("_partenaire.geojson")
    doc = json.loads(downloaded(at, deferred))
    assert doc["features"]
    for feature in doc["features"]:
        lon, lat = feature["geometry"]["coordinates"]
        assert privacy.is_zone_centre(lat, lon, 8)
        people = feature["properties"]["people"]
        assert people is None or not 0 < people < 5


def test_summary_page_shows_the_dashboards_figures(app_config: Path) -> None:
    board = run_page("pages/tableau_de_bord.py")
    population = metric_int(board, "Population estimée")
    at = run_page(SUMMARY)
    assert not at.exception
    assert at.title[0].value == "Synthèse pour le plaidoyer"
    page = at.get("iframe")[0].proto.srcdoc
    assert "Synthèse du " in page and "window.print()" in page
    assert f"{population:,}".replace(",", "\u202f") in page
    for heading in ("Population estimée", "Évacuations", "Services délivrés", "Méthode"):
        assert f"<h2>{heading}</h2>" in page
    (button,) = at.download_button
    button.click().run()
    (entry,) = export_entries(app_config)
    assert entry["details"]["dataset"] == "synthese" and entry["details"]["format"] == "html"
    assert entry["details"]["filters"]["fichier"].startswith("cartocampement_synthese_")


@pytest.mark.parametrize(("page", "role"), [(SUMMARY, "partenaire"), (EXPORT, "benevole")])
def test_pages_closed_to_a_role(app_config: Path, page: str, role: str) -> None:
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        run_page(page, role=role)
