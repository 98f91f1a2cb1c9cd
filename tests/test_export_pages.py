"""The Export and Synthèse pages under AppTest (issue 7).

They need the pages registered in ``carto/ui/navigation.py``: Export for admin,
coordinateur and partenaire; Synthèse for admin and coordinateur.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.media_file_storage import MediaFileStorageError
from streamlit.testing.v1 import AppTest

from carto import accounts, privacy
from carto.export import files
from carto.settings import load_settings
from carto.store import AuthStore
from carto.ui import downloads
from testing.app import TEST_PASSWORD, login, metric_int, new_app, run_page, shown_table
from tests.test_auth_app import live_config  # noqa: F401  (a fixture)

EXPORT, SUMMARY = "pages/export.py", "pages/synthese.py"


@dataclass(frozen=True)
class Deferred:
    """A download button's file maker, and the media manager that registered it."""

    manager: MediaFileManager
    make: Callable[[], Any]


@pytest.fixture
def deferred(monkeypatch: pytest.MonkeyPatch) -> dict[str, Deferred]:
    """The file makers of the download buttons (Streamlit's deferred downloads), by the
    file id the button holds, as the runtime registers them."""
    found: dict[str, Deferred] = {}
    original = MediaFileManager.add_deferred

    def add_deferred(self: MediaFileManager, data: Callable[[], Any], *a: Any, **k: Any) -> str:
        file_id = original(self, data, *a, **k)
        found[file_id] = Deferred(self, data)
        return file_id

    monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)
    return found


def download(at: AppTest, makers: dict[str, Deferred], index: int = 0) -> tuple[str, bytes]:
    """What the browser gets when the download button is clicked: the file's URL and
    bytes. As Streamlit's backend handler does, the button's file is made on a worker
    thread (no script run there) by ``MediaFileManager.execute_deferred``, which stores
    it and returns its URL. Raises MediaFileStorageError when the maker refuses."""
    proto: Any = at.download_button[index].proto
    # a click must not rerun the page: the run would drop the file's answer
    # (carto.ui.downloads' docstring)
    assert proto.ignore_rerun, proto.label
    entry = makers[proto.deferred_file_id]
    with ThreadPoolExecutor(1) as pool:
        url = pool.submit(entry.manager.execute_deferred, proto.deferred_file_id).result()
    stored = entry.manager.read_file(url.rsplit("/", 1)[-1])
    assert stored is not None, url
    return url, stored.content


def downloaded(at: AppTest, makers: dict[str, Deferred], index: int = 0) -> bytes:
    """The bytes the browser gets when the download button is clicked."""
    return download(at, makers, index)[1]


def export_entries(config: Path, *, previews: bool = False) -> list[dict[str, Any]]:
    """The export entries of the audit log, newest first; the Exports page's previews
    only when asked for."""
    entries = AuthStore(load_settings(config).store_path).audit_log(event="export")
    return [e for e in entries if previews or e["details"]["format"] != files.PREVIEW]


def test_export_page_exports_exactly_the_dashboards_rows(
    app_config: Path, deferred: dict[str, Deferred]
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
    assert shown_table(at, "export-passages").shape[0] == min(shown, 100)


def test_a_download_writes_one_audit_entry_where_the_file_is_made(
    app_config: Path, deferred: dict[str, Deferred]
) -> None:
    """The entry is written with the file, on the server: the click's message (which
    may be lost) writes none; every file made writes its own."""
    at = run_page(EXPORT)
    at.multiselect(key="export_datasets").set_value(["camps", "population"]).run()
    at.radio(key="export_format").set_value("xlsx").run()
    rows = {
        "camps": metric_int(at, "Campements : lignes"),
        "population": metric_int(at, "Population estimée : lignes"),
    }
    (button,) = at.download_button
    button.click().run()
    assert not at.exception
    assert not export_entries(app_config)  # the click alone hands over nothing

    (button,) = at.download_button
    url, data = download(at, deferred)
    assert data.startswith(b"PK")  # an XLSX workbook
    entries = export_entries(app_config)
    assert {e["details"]["dataset"]: e["details"]["rows"] for e in entries} == rows
    assert len(entries) == len(rows)  # one per dataset of the file, no more
    for entry in entries:
        assert entry["username"] == "coordinateur"
        details = entry["details"]
        assert details["format"] == "xlsx" and details["role"] == "coordinateur"
        assert details["filters"]["periode"] == "30j" and "du" in details["filters"]
        assert details["filters"]["fichier"] == button.label.removeprefix("Télécharger ")
    assert url.rsplit("/", 1)[-1].split(".")[0] in downloads.produced_files("coordinateur")

    download(at, deferred)  # the same button clicked again: another file, another entry
    assert len(export_entries(app_config)) == 2 * len(rows)


def _sign_out_elsewhere(config: Path, username: str) -> None:
    """The same account signs out on another device (every session of it ends)."""
    phone = login(new_app(), username, TEST_PASSWORD)
    phone.button(key="logout").click().run()


def _remove_account(config: Path, username: str) -> None:
    accounts.remove_account(config.parent / "accounts.yaml", username)


def _demote(config: Path, username: str) -> None:
    """The role changes (``users`` command: no sign-out) to one without this export."""
    accounts.set_role(config.parent / "accounts.yaml", username, "benevole")


@pytest.mark.parametrize("revoke", [_sign_out_elsewhere, _remove_account, _demote])
def test_no_file_and_no_entry_once_the_session_is_no_longer_valid(
    live_config: Path,  # noqa: F811  (the fixture imported above)
    deferred: dict[str, Deferred],
    revoke: Callable[[Path, str], None],
) -> None:
    """The page was drawn for a valid session; between drawing and the click, the
    session ended (or the account went, or its role changed): the file maker refuses,
    writes nothing and audits nothing."""
    at = login(new_app(), "coordinateur", TEST_PASSWORD)
    at.switch_page(EXPORT).run()
    at.radio(key="export_format").set_value("csv").run()
    assert not at.exception and at.download_button
    revoke(live_config, "coordinateur")
    before = len(export_entries(live_config))
    with pytest.raises(MediaFileStorageError) as refused:
        download(at, deferred)
    assert isinstance(refused.value.__cause__, downloads.DownloadRefused)
    assert "Reconnectez-vous" in str(refused.value.__cause__)
    assert len(export_entries(live_config)) == before
    assert not downloads.produced_files("coordinateur")


def test_signing_out_forgets_the_files_of_the_account(
    app_config: Path, deferred: dict[str, Deferred]
) -> None:
    """Sign-out, on any device, calls ``downloads.forget_downloads``, which deletes the
    files from the running server's media manager (checked in tests/test_downloads.py
    and in the browser: AppTest gives every run a media manager of its own)."""
    downloads.forget_downloads("coordinateur")
    at = run_page(EXPORT)
    url, _ = download(at, deferred)
    assert url.rsplit("/", 1)[-1].split(".")[0] in downloads.produced_files("coordinateur")
    other = run_page()  # another session of the account signs out: every session ends
    other.button(key="logout").click().run()
    assert "login_username" in [w.key for w in other.text_input]
    assert not downloads.produced_files("coordinateur")


def test_a_partner_downloads_only_what_its_role_may_have(
    app_config: Path, deferred: dict[str, Deferred]
) -> None:
    at = run_page(EXPORT, role="partenaire")
    at.multiselect(key="export_datasets").set_value(["zones"]).run()
    at.radio(key="export_format").set_value("csv").run()
    download(at, deferred)
    (entry,) = export_entries(app_config)
    assert entry["username"] == "partenaire" and entry["details"]["dataset"] == "zones"


def test_file_roles_follow_the_datasets_open_to_each_role() -> None:
    """The roles a file may go to, as the deferred check uses them."""
    for datasets, roles in [
        (("passages",), {"admin", "coordinateur"}),
        (("zones", "population"), {"admin", "coordinateur", "partenaire"}),
        (("zones", "passages"), {"admin", "coordinateur"}),
    ]:
        tables = tuple(type("T", (), {"dataset": d})() for d in datasets)
        file = files.ExportFile("f.xlsx", "xlsx", tables)  # type: ignore[arg-type]
        assert file.roles == roles


def test_map_formats_skip_a_dataset_without_position(app_config: Path) -> None:
    at = run_page(EXPORT)
    at.multiselect(key="export_datasets").set_value(["events", "population"]).run()
    at.radio(key="export_format").set_value("kml").run()
    assert not at.exception
    assert any("Population estimée" in w.value for w in at.warning)
    (button,) = at.download_button
    assert button.label.endswith(".kml")


def test_partner_exports_aggregated_datasets_at_zone_level(
    app_config: Path, deferred: dict[str, Deferred]
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


def test_summary_page_shows_the_dashboards_figures(
    app_config: Path, deferred: dict[str, Deferred]
) -> None:
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
    assert [e["details"]["format"] for e in export_entries(app_config)] == ["page"]
    _, data = download(at, deferred)
    assert data.decode("utf-8").startswith("<!DOCTYPE html>")
    entry = export_entries(app_config)[0]  # the newest first
    assert entry["details"]["dataset"] == "synthese" and entry["details"]["format"] == "html"
    assert entry["details"]["filters"]["fichier"].startswith("cartocampement_synthese_")


def test_the_summary_shown_in_the_page_is_audited_once_per_view(app_config: Path) -> None:
    """Shown in the page, the summary counts as an export: once per session and
    distinct (user, filters, period), however many reruns show it again."""
    at = run_page(SUMMARY)
    (entry,) = export_entries(app_config)
    assert entry["username"] == "coordinateur"
    assert entry["details"]["dataset"] == "synthese" and entry["details"]["format"] == "page"
    assert entry["details"]["rows"] > 0 and entry["details"]["filters"]["periode"] == "30j"
    at.run()
    at.switch_page("pages/carte.py").run()
    at.switch_page(SUMMARY).run()
    assert len(export_entries(app_config)) == 1  # the same view again

    at.sidebar.multiselect(key="assoc").set_value(["Utopia 56"]).run()
    newest = export_entries(app_config)[0]
    assert len(export_entries(app_config)) == 2
    assert newest["details"]["filters"]["associations"] == ["Utopia 56"]
    at.sidebar.selectbox(key="periode").set_value("7j").run()
    assert len(export_entries(app_config)) == 3
    at.sidebar.selectbox(key="periode").set_value("30j").run()
    at.sidebar.multiselect(key="assoc").set_value([]).run()
    assert len(export_entries(app_config)) == 3  # back to views this session showed

    run_page(SUMMARY, role="admin")  # another user, another entry
    assert [e["username"] for e in export_entries(app_config)][:1] == ["admin"]


def test_the_exports_preview_is_audited_once_per_dataset_and_view(app_config: Path) -> None:
    """The preview shows a dataset's first 100 rows: narrowing the filters, any row.
    Each dataset shown is an audit entry, once per session and view, with the rows
    shown; a partner's too."""
    at = run_page(EXPORT)
    at.multiselect(key="export_datasets").set_value(["passages", "camps"]).run()
    shown = {
        "passages": shown_table(at, "export-passages").shape[0],
        "camps": shown_table(at, "export-camps").shape[0],
    }
    entries = export_entries(app_config, previews=True)
    assert {e["details"]["dataset"]: e["details"]["rows"] for e in entries} == shown
    for entry in entries:
        assert entry["username"] == "coordinateur" and entry["details"]["format"] == files.PREVIEW
        assert entry["details"]["filters"]["periode"] == "30j"
    assert not export_entries(app_config)  # no file was made
    at.radio(key="export_format").set_value("xlsx").run()
    at.switch_page("pages/carte.py").run()
    at.switch_page(EXPORT).run()
    at.multiselect(key="export_datasets").set_value(["passages", "camps"]).run()
    assert len(export_entries(app_config, previews=True)) == 2  # the same views again

    at.sidebar.multiselect(key="assoc").set_value(["Utopia 56"]).run()
    newest = export_entries(app_config, previews=True)[:2]
    assert {e["details"]["dataset"] for e in newest} == {"passages", "camps"}
    assert all(e["details"]["filters"]["associations"] == ["Utopia 56"] for e in newest)

    partner = run_page(EXPORT, role="partenaire")
    (dataset,) = partner.multiselect(key="export_datasets").value
    entry = export_entries(app_config, previews=True)[0]
    assert entry["username"] == "partenaire" and entry["details"]["dataset"] == dataset
    assert entry["details"]["role"] == "partenaire"


@pytest.mark.parametrize(("page", "role"), [(SUMMARY, "partenaire"), (EXPORT, "benevole")])
def test_pages_closed_to_a_role(app_config: Path, page: str, role: str) -> None:
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        run_page(page, role=role)


def test_the_packing_list_is_audited_when_it_is_produced(
    app_config: Path, deferred: dict[str, Deferred]
) -> None:
    """The Coordination page's packing list leaves the server by the same path as the
    exports: produced at the click, for a session still valid, with its audit entry."""
    at = run_page("pages/coordination.py")
    keys = [b.key for b in at.download_button]
    index = keys.index("packing_download")
    assert not export_entries(app_config)
    data = downloaded(at, deferred, index)
    assert b"<html" in data.lower()
    (entry,) = export_entries(app_config)
    assert entry["details"]["dataset"] == "liste_preparation"
    assert entry["username"] == "coordinateur" and entry["details"]["role"] == "coordinateur"
    AuthStore(load_settings(app_config).store_path).bump_session_epoch("coordinateur")
    with pytest.raises(MediaFileStorageError):  # signed out elsewhere: no file
        downloaded(at, deferred, index)
    assert len(export_entries(app_config)) == 1
