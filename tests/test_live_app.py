"""The app on a live (non-demo) snapshot: freshness line, background refresh, Airtable down."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from carto import sync
from carto.accounts import COOKIE_KEY_ENV
from carto.settings import CONFIG_ENV, TOKEN_ENV
from carto.store import SnapshotStore
from testing.app import TEST_COOKIE_KEY, TEST_PASSWORD, login, new_app, write_accounts
from testing.fake_airtable import FakeAirtable
from tests.test_sync import BASE, T0, TOKEN, FakeClock, make_server, write_settings


@pytest.fixture
def live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, FakeAirtable]]:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    monkeypatch.setenv(COOKIE_KEY_ENV, TEST_COOKIE_KEY)
    write_accounts(tmp_path / "accounts.yaml", ("coordinateur",))
    monkeypatch.setattr(sync, "_GUARD", sync.RefreshGuard())  # no state from other tests
    server = make_server(FakeClock(T0), rate_limit=None, days=20)
    conf = write_settings(tmp_path, server, sync={"refresh_interval_seconds": 1})
    monkeypatch.setenv(CONFIG_ENV, str(conf.source))
    yield tmp_path, server
    server.stop()


def run(page: str | None = None) -> AppTest:
    at = login(new_app(), "coordinateur", TEST_PASSWORD)
    if page:
        at.switch_page(page)
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def wait_for_refresh() -> sync.RefreshOutcome:
    deadline = time.monotonic() + 30
    while sync.last_refresh() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    outcome = sync.last_refresh()
    assert outcome is not None
    return outcome


def test_first_visit_starts_a_sync_then_shows_the_data(live: tuple[Path, FakeAirtable]) -> None:
    folder, _ = live
    at = run()
    assert "première synchronisation" in at.warning[0].value
    assert not at.title  # nothing else is drawn without data
    assert wait_for_refresh().ok
    assert SnapshotStore(folder / "snapshot.sqlite").version >= 1
    at = run("pages/tableau_de_bord.py")
    assert at.title[0].value == "Tableau de bord"
    assert any("Données à jour au" in c.value for c in at.caption)
    assert not any("Données de démonstration" in i.value for i in at.info)


def test_airtable_down_keeps_last_snapshot_with_a_warning(
    live: tuple[Path, FakeAirtable],
) -> None:
    folder, server = live
    conf_settings = write_settings(folder, server, sync={"refresh_interval_seconds": 1})
    sync.sync(conf_settings)
    server.stop()
    time.sleep(1.1)  # the refresh interval passes
    run("pages/carte.py")
    outcome = wait_for_refresh()
    assert not outcome.ok
    at = run("pages/carte.py")
    assert at.title[0].value == "Carte des campements"
    warning = at.warning[0].value
    assert "Airtable ne répond pas" in warning and "il y a" in warning
    assert int(dict((m.label, m.value) for m in at.metric)["Campements actifs"]) > 0


def test_a_renamed_airtable_field_is_reported_in_words(
    live: tuple[Path, FakeAirtable], monkeypatch: pytest.MonkeyPatch
) -> None:
    from carto.ui import data

    _, server = live
    monkeypatch.setattr(data, "_schema_problems", {})
    monkeypatch.setattr(data, "_schema_checks_started", set())
    server.rename_field(BASE, "Passages", "Personnes", "Nb personnes")
    run()  # the first run starts a sync
    assert wait_for_refresh().ok
    run()  # the first page drawn starts the background schema check
    deadline = time.monotonic() + 30
    while BASE not in data._schema_problems and time.monotonic() < deadline:
        time.sleep(0.05)
    at = run("pages/carte.py")
    warnings = " ".join(w.value for w in at.warning)
    assert "ne correspond pas à la configuration" in warnings
    assert "« Personnes »" in warnings


def test_with_a_worker_the_app_only_reads(
    live: tuple[Path, FakeAirtable], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, server = live
    conf = write_settings(
        folder, server, sync={"refresh_interval_seconds": 1, "app_refresh": False}
    )
    monkeypatch.setenv(CONFIG_ENV, str(conf.source))
    at = run()
    assert "python -m carto sync --watch" in at.warning[0].value
    time.sleep(0.5)
    assert server.count() == 0 and sync.last_refresh() is None  # no refresh started
    sync.sync(conf)  # what the worker does
    server.reset_log()
    time.sleep(1.1)  # the refresh interval passes
    at = run("pages/tableau_de_bord.py")
    assert at.title[0].value == "Tableau de bord"
    assert any("Données à jour au" in c.value for c in at.caption)
    time.sleep(0.5)
    assert server.count() == 0 and sync.last_refresh() is None


HOSTILE_ERROR = (
    "Airtable a refusé la requête (403 INVALID_PERMISSIONS) : base appXYZ123, table "
    "« Passages » [reconnectez-vous](https://evil.example/login) ![x](https://evil.example/p.png)"
)


@pytest.mark.parametrize("role", ["coordinateur", "partenaire"])
def test_why_a_refresh_failed_is_escaped_and_kept_from_partners(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, role: str
) -> None:
    """Airtable's own words (base id, tables, any text it echoes) reach only the roles that
    can act on them, escaped; a partner is told only that the data is not fresh."""
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    monkeypatch.setenv(COOKIE_KEY_ENV, TEST_COOKIE_KEY)
    write_accounts(tmp_path / "accounts.yaml", (role,))
    server = make_server(FakeClock(T0), rate_limit=None, days=20)
    try:
        conf = write_settings(tmp_path, server, sync={"app_refresh": False})
        monkeypatch.setenv(CONFIG_ENV, str(conf.source))
        sync.sync(conf)
    finally:
        server.stop()
    synced = sync.last_synced_at(SnapshotStore(tmp_path / "snapshot.sqlite"))
    failed = sync.RefreshOutcome(result=None, error=HOSTILE_ERROR, synced_at=synced)
    monkeypatch.setattr(sync, "last_refresh", lambda: failed)
    at = login(new_app(), role, TEST_PASSWORD)
    at.switch_page("pages/carte.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    warning = next(w.value for w in at.warning if "Airtable ne répond pas" in w.value)
    assert "](https" not in warning and "![" not in warning  # no live link, no image
    if role == "partenaire":
        assert "appXYZ123" not in warning and "Passages" not in warning
    else:
        assert "appXYZ123" in warning and "reconnectez" in warning
