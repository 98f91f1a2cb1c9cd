"""The audit log's details in French sentences, not raw JSON with English keys (issue 13).

Entries are written by the real code paths (``carto.export.files``, ``accounts``,
``carto.audit.record_export``) and read back from the store, then shown by the admin
page under AppTest."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

from carto import audit, filters
from carto.analytics.figures import Period
from carto.export import names
from carto.filters import Filters
from carto.settings import load_settings
from carto.store import AuthStore
from testing.app import login, new_app, shown_table

PARIS = ZoneInfo("Europe/Paris")
RAW = re.compile(r"[{}\[\]\"]|\b(dataset|format|rows|filters|role|periode|by|failures|until)\b")


def logged_export(store: AuthStore) -> dict[str, object]:
    """An export of October's passages for one association, as the app logs it."""
    period = Period(pd.Timestamp("2026-10-01"), pd.Timestamp("2026-10-31"))
    chosen = Filters(period="mois-dernier", associations=("Utopia 56",), publics=("mna",))
    filters = {**names.audit_filters(chosen, period), "fichier": "cartocampement_x.csv"}
    audit.record_export(
        store,
        "coordinateur",
        dataset="passages",
        fmt="csv",
        rows=322,
        filters=filters,
        role="coordinateur",
    )
    return store.audit_log(1, event=audit.EXPORT)[0]


def test_an_export_reads_as_a_french_sentence(tmp_path: Path) -> None:
    entry = logged_export(AuthStore(tmp_path / "store.sqlite"))
    assert audit.describe(entry["event"], entry["details"], PARIS) == (  # type: ignore[arg-type]
        "Passages, CSV, 322 lignes ; période « Mois dernier », du 01/10/2026 au 31/10/2026 ; "
        "Associations : Utopia 56 ; Publics : Mineurs non accompagnés ; "
        "fichier cartocampement_x.csv ; rôle : Coordinateur·rice"
    )


def test_other_events_read_as_french_sentences(tmp_path: Path) -> None:
    store = AuthStore(tmp_path / "store.sqlite")
    until = dt.datetime(2026, 11, 29, 21, 0, tzinfo=dt.UTC)
    store.log_event(audit.LOGIN_FAILED, "x", {"failures": 1, "unknown_name": True})
    store.log_event(audit.LOCKOUT, "benevole", {"until": until.isoformat()})
    store.log_event(audit.ROLE_CHANGED, "nadia", {"by": "admin", "role": "partenaire"})
    store.log_event(audit.COOKIE_REFUSED, "nadia", {"reason": "idle"})
    store.log_event(audit.LOGIN, "nadia")
    shown = [audit.describe(e["event"], e["details"], PARIS) for e in store.audit_log(10)]
    assert shown == [
        "",
        "session inactive trop longtemps",
        "par admin, rôle : Partenaire",
        "verrouillé jusqu'au 29/11/2026 à 22:00",
        "1 échec de suite, identifiant inconnu",
    ]


def test_the_admin_page_shows_the_details_in_french(app_config: Path) -> None:
    store = AuthStore(load_settings(app_config).store_path)
    entry = logged_export(store)
    at = login(new_app(), "admin")
    at.switch_page("pages/admin_journal.py").run()
    assert not at.exception
    log = shown_table(at, "audit")
    exports = log[log["event"] == audit.label(audit.EXPORT)]["details"].tolist()
    assert exports == [audit.describe(audit.EXPORT, entry["details"], PARIS)]  # type: ignore[arg-type]
    assert "01/10/2026" in exports[0] and "322 lignes" in exports[0]
    for details in log["details"]:
        assert not RAW.search(details), details


def test_camp_statuses_keep_their_french_code_in_entries_and_file_names() -> None:
    """Entries written before and after camp statuses got one code inside the program
    read the same, and an export's file name does not change."""
    period = Period(pd.Timestamp("2026-10-01"), pd.Timestamp("2026-10-31"))
    f = Filters(statuses=(filters.ACTIVE, filters.STALE))
    details = names.audit_filters(f, period)
    assert details["statuts"] == ["actif", "sans_nouvelles"]  # as stored entries hold them
    old_entry = {"dataset": "passages", "format": "csv", "rows": 3, "filters": details}
    shown = audit.describe(audit.EXPORT, old_entry, PARIS)
    assert "État du campement : Actif, Sans nouvelles" in shown
    name = names.file_name(["passages"], "csv", period, f, "coordinateur")
    assert name == "cartocampement_passages_2026-10-01_2026-10-31_actif_sans-nouvelles.csv"
