"""The sync against a local Airtable look-alike: exact, incremental, atomic, within budget."""

from __future__ import annotations

import datetime as dt
import gc
import io
import json
import logging
import math
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests

from carto import cli, dataset, demo, prepared, schema
from carto import sync as sync_module
from carto.airtable_client import AirtableUnavailable
from carto.base_setup import table_spec
from carto.settings import TOKEN_ENV, Settings, load_settings
from carto.store import SnapshotStore, backend_of, close_engines
from carto.sync import (
    BudgetExhausted,
    RefreshGuard,
    SyncRefused,
    budget_status,
    last_synced_at,
    recommended_interval,
    sync,
)
from testing.app import ROOT
from testing.fake_airtable import FakeAirtable
from testing.postgres import TemporaryPostgres

TOKEN = "patTEST"
BASE = "appCARTOSYNC00001"
TODAY = dt.date(2026, 11, 26)
T0 = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)  # after every demo record


class FakeClock:
    """A settable aware-UTC clock shared by the server and the sync."""

    def __init__(self, start: dt.datetime) -> None:
        self.value = start

    def __call__(self) -> dt.datetime:
        return self.value

    def advance(self, **delta: float) -> dt.datetime:
        self.value += dt.timedelta(**delta)
        return self.value


def write_settings(folder: Path, server: FakeAirtable, **extra: dict[str, Any]) -> Settings:
    """A live (non-demo) config pointing at the fake server, with quick retries."""
    sections: dict[str, dict[str, Any]] = {
        "airtable": {
            "base_id": BASE,
            "endpoint_url": server.url,
            "timeout_seconds": 5,
            "requests_per_second": 20.0,
            "backoff_seconds": 0.01,
            "penalty_seconds": 0.6,
        },
        "store": {"path": str(folder / "snapshot.sqlite")},
    }
    for section, values in extra.items():
        sections.setdefault(section, {}).update(values)
    lines = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines += [f"{k} = {toml_value(v)}" for k, v in values.items()]
    path = folder / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_settings(path)


def toml_value(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    return str(value).lower() if isinstance(value, bool) else repr(value)


def make_server(clock: FakeClock, rate_limit: float, days: int) -> FakeAirtable:
    """A started fake base with the contract tables, filled with demo records."""
    server = FakeAirtable(token=TOKEN, rate_limit=rate_limit, penalty_seconds=0.5, clock=clock)
    server.start()
    plain = Settings({})
    sites_id = server.add_table(BASE, "Sites", table_spec(plain, "sites", {})["fields"])
    spec = table_spec(plain, "passages", {"sites": sites_id})
    server.add_table(BASE, "Passages", spec["fields"])
    base = demo.generate(seed=56, days=days, today=TODAY)
    server.load_records(BASE, "Sites", base.sites)
    server.load_records(BASE, "Passages", base.passages)
    return server


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def server(clock: FakeClock) -> Iterator[FakeAirtable]:
    """About 340 records (5 pages): quick, still paged. Rate limit on, above our pace."""
    fake = make_server(clock, rate_limit=25, days=20)
    yield fake
    fake.stop()


@pytest.fixture
def settings(tmp_path: Path, server: FakeAirtable, store_location: str | Path) -> Settings:
    """Live settings on the fake server; the store on SQLite, then on PostgreSQL
    (``[store] url``): the tests taking them run on both backends."""
    if isinstance(store_location, str):
        return write_settings(tmp_path, server, store={"url": store_location})
    return write_settings(tmp_path, server)


def by_id(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in records}


def assert_snapshot_is_server(store: SnapshotStore, server: FakeAirtable) -> None:
    for key, name in (("sites", "Sites"), ("passages", "Passages")):
        assert by_id(store.records(key)) == by_id(server.records(BASE, name))


def max_per_second(server: FakeAirtable) -> int:
    """The most requests the server received within any one-second window."""
    times = sorted(entry.timestamp for entry in server.requests)
    return max((sum(1 for u in times if t <= u < t + 1.0) for t in times), default=0)


# ----------------------------------------------------------------- full and incremental


def test_full_sync_of_2500_records_is_exact(tmp_path: Path, clock: FakeClock) -> None:
    server = make_server(clock, rate_limit=25, days=150)
    try:
        settings = write_settings(tmp_path, server)
        n_sites = len(server.records(BASE, "Sites"))
        n_passages = len(server.records(BASE, "Passages"))
        assert n_sites + n_passages > 2400

        result = sync(settings, clock=clock)

        store = SnapshotStore(settings.store_location)
        assert_snapshot_is_server(store, server)
        assert result.full and result.mode == "full"
        assert result.fetched == result.changed == n_sites + n_passages
        assert result.deleted == 0
        assert result.api_calls == math.ceil(n_sites / 100) + math.ceil(n_passages / 100)
        assert result.api_calls == server.count()
        assert store.version == result.version == 1
        assert last_synced_at(store) == T0
        assert server.count(status=429) == 0
    finally:
        server.stop()


def test_a_full_sync_of_unchanged_records_decodes_none_in_its_commit(
    settings: Settings, server: FakeAirtable, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pages are encoded while they are listed; the commit compares texts and
    decodes only the stored records whose text differs (here: none). Decoding every
    stored record was half of the commit (0.5 s at 10,000 records)."""
    sync(settings, clock=clock)
    store = SnapshotStore(settings.store_location)
    n = store.count("sites") + store.count("passages")
    decoded: list[str] = []
    real_loads = json.loads

    def loads(s: Any, *args: Any, **kwargs: Any) -> Any:
        decoded.append(s if isinstance(s, str) else "")
        return real_loads(s, *args, **kwargs)

    monkeypatch.setattr(json, "loads", loads)
    clock.advance(minutes=1)
    result = sync(settings, full=True, clock=clock)

    assert result.fetched == n and result.changed == 0 and result.deleted == 0
    # Only the daily retention scan decodes stored records: those holding a comment.
    comment = schema.field_mapping(schema.TABLES["passages"], {}).airtable_name("comment")
    stored_records = [real_loads(s) for s in decoded if s.startswith('{"id":"rec')]
    assert all(comment in r["fields"] for r in stored_records)
    assert len(stored_records) < n / 2
    assert_snapshot_is_server(store, server)


def test_a_record_stored_in_another_key_order_is_compared_by_content(
    settings: Settings, server: FakeAirtable, clock: FakeClock
) -> None:
    """Texts differ, contents equal: not a change (the text only decides when equal)."""
    sync(settings, clock=clock)
    store = SnapshotStore(settings.store_location)
    first = store.records("passages")[0]
    reordered = {k: first[k] for k in reversed(list(first))}
    with store.transaction(bump_version=False) as conn:
        store.upsert(conn, "passages", [reordered])
    edited = server.records(BASE, "Passages")[1]
    server.edit(BASE, "Passages", edited["id"], {"Personnes": 97})
    clock.advance(minutes=1)

    result = sync(settings, full=True, clock=clock)

    assert result.changed == 1
    assert_snapshot_is_server(store, server)


def test_no_change_refresh_costs_one_call_per_table(
    settings: Settings, server: FakeAirtable, clock: FakeClock
) -> None:
    sync(settings, clock=clock)
    store = SnapshotStore(settings.store_location)
    version = store.version
    server.reset_log()
    clock.advance(minutes=2)

    result = sync(settings, clock=clock)

    assert not result.full
    assert (result.api_calls, server.count()) == (2, 2)
    assert all("LAST_MODIFIED_TIME()" in e.params["filterByFormula"] for e in server.requests)
    assert (result.fetched, result.changed, result.deleted) == (0, 0, 0)
    assert store.version == version  # nothing changed: caches stay valid
    assert last_synced_at(store) == clock.value  # ...but the data is known fresh


def test_additions_and_edits_reach_the_snapshot(
    settings: Settings, server: FakeAirtable, clock: FakeClock
) -> None:
    sync(settings, clock=clock)
    store = SnapshotStore(settings.store_location)
    version = store.version
    clock.advance(minutes=10)
    edited = server.records(BASE, "Passages")[5]["id"]
    server.edit(BASE, "Passages", edited, {"Personnes": 99, "Commentaire": "Revu"})
    added = server.add(BASE, "Passages", {"Date": clock.value.isoformat(), "Personnes": 4})
    site = server.add(BASE, "Sites", {"Nom": "Nouveau campement", "Latitude": 48.9})
    clock.advance(minutes=2)

    result = sync(settings, clock=clock)

    assert not result.full
    assert result.tables["passages"].changed == 2
    assert result.tables["sites"].changed == 1
    assert store.version == version + 1
    assert by_id(store.records("passages"))[edited]["fields"]["Personnes"] == 99
    assert {added, site} <= store.ids("passages") | store.ids("sites")
    assert_snapshot_is_server(store, server)


def test_a_text_with_a_lone_surrogate_is_stored_with_a_replacement_character(
    settings: Settings, server: FakeAirtable, clock: FakeClock
) -> None:
    """JSON may escape half of a UTF-16 pair alone ("\\ud800"): no character, and no
    UTF-8 either. The record is kept, that half replaced by U+FFFD, on both backends."""
    sync(settings, clock=clock)
    store = SnapshotStore(settings.store_location)
    clock.advance(minutes=10)
    edited = server.records(BASE, "Passages")[5]["id"]
    server.edit(BASE, "Passages", edited, {"Commentaire": "avant \ud800 après"})
    added = server.add(
        BASE, "Passages", {"Date": clock.value.isoformat(), "Personnes": 4, "Commentaire": "\udfff"}
    )
    clock.advance(minutes=2)

    result = sync(settings, clock=clock)

    assert result.tables["passages"].changed == 2
    stored = by_id(store.records("passages"))
    assert stored[edited]["fields"]["Commentaire"] == "avant \ufffd après"
    assert stored[added]["fields"]["Commentaire"] == "\ufffd"
    frames = prepared.load(store, dataset.recipe(settings))
    comments = frames.passages.set_index("record_id")["comment"]
    assert comments[edited] == "avant \ufffd après"
    assert sync(settings, clock=clock).tables["passages"].changed == 0  # stable once stored


def test_deletions_are_removed_by_reconciliation(
    settings: Settings, server: FakeAirtable, clock: FakeClock
) -> None:
    sync(settings, clock=clock)
    store = SnapshotStore(settings.store_location)
    gone = server.records(BASE, "Passages")[0]["id"]
    server.delete(BASE, "Passages", gone)
    clock.advance(minutes=5)

    quick = sync(settings, clock=clock)  # reconciliation not due: deletions unseen
    assert not quick.reconciled and gone in store.ids("passages")

    clock.advance(hours=24)
    server.reset_log()
    result = sync(settings, clock=clock)

    assert result.reconciled and not result.full
    assert result.deleted == 1 and gone not in store.ids("passages")
    id_listings = [e for e in server.requests if "fields[]" in e.params]
    assert {str(e.params["fields[]"]) for e in id_listings} == {"['Nom']", "['Date']"}
    assert_snapshot_is_server(store, server)


def test_full_sync_removes_deleted_records_at_once(
    settings: Settings, server: FakeAirtable, clock: FakeClock
) -> None:
    sync(settings, clock=clock)
    gone = server.records(BASE, "Sites")[0]["id"]
    server.delete(BASE, "Sites", gone)
    clock.advance(minutes=1)

    result = sync(settings, full=True, clock=clock)

    assert result.full and result.deleted == 1
    assert_snapshot_is_server(SnapshotStore(settings.store_location), server)


def test_a_record_the_query_missed_triggers_a_full_listing(
    settings: Settings, server: FakeAirtable, clock: FakeClock
) -> None:
    sync(settings, clock=clock)
    # A record restored from the trash keeps its old modification time.
    server.load_records(
        BASE, "Sites", [{"createdTime": "2026-01-01T10:00:00.000Z", "fields": {"Nom": "Revenu"}}]
    )
    clock.advance(hours=25)

    result = sync(settings, clock=clock)

    assert result.tables["sites"].full and result.tables["sites"].changed == 1
    assert_snapshot_is_server(SnapshotStore(settings.store_location), server)


# ------------------------------------------------------------------ rate limit, faults


def test_burst_of_refreshes_triggers_no_429(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = make_server(clock, rate_limit=5, days=3)
    try:
        settings = write_settings(tmp_path, server, airtable={"requests_per_second": 5.0})
        sync(settings, clock=clock)
        # CPU contention or a garbage collection, made certain: each request of one of
        # the threads is held up between the limiter letting it go and its arrival.
        send = requests.Session.request

        def late_send(self: requests.Session, *args: Any, **kwargs: Any) -> Any:
            if threading.current_thread().name == "late":
                time.sleep(0.7)
            return send(self, *args, **kwargs)

        monkeypatch.setattr(requests.Session, "request", late_send)

        def refresh() -> None:
            for _ in range(3):
                sync(settings, clock=clock)

        names = ("late", "on-time-1", "on-time-2", "on-time-3")
        threads = [threading.Thread(target=refresh, name=name) for name in names]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert server.count() == 2 + 4 * 3 * 2
        assert server.count(status=429) == 0
        assert max_per_second(server) <= 5
    finally:
        server.stop()


# A separate process (a cron sync, the app, a worker) syncing the same store: a fresh
# interpreter, started with subprocess rather than multiprocessing's spawn, which re-runs
# the parent's ``__main__`` in the child (after an AppTest has run in this process, that
# is app.py: both children failed so in a full run). It waits for the go file, so that
# both sync at once.
_SYNC_IN_A_PROCESS = """
import sys, time
from pathlib import Path
from carto.settings import load_settings
from carto.sync import sync
go = Path(sys.argv[2])
while not go.exists():
    time.sleep(0.01)
sync(load_settings(sys.argv[1]), full=True)
"""


def test_two_processes_syncing_one_base_share_the_limit(tmp_path: Path, clock: FakeClock) -> None:
    server = make_server(clock, rate_limit=5, days=40)
    try:
        settings = write_settings(tmp_path, server, airtable={"requests_per_second": 5.0})
        # The store exists, as in a deployment (two processes creating a new SQLite file
        # at once can meet "database is locked" switching it to WAL: not this test's subject).
        SnapshotStore(settings.store_path)
        go = tmp_path / "go"
        command = [sys.executable, "-c", _SYNC_IN_A_PROCESS, str(settings.source), str(go)]
        processes = [subprocess.Popen(command, cwd=ROOT) for _ in range(2)]
        go.touch()
        assert [p.wait(timeout=120) for p in processes] == [0, 0]
        pages = sum(math.ceil(len(server.records(BASE, n)) / 100) for n in ("Sites", "Passages"))
        assert server.count() == 2 * pages
        assert server.count(status=429) == 0
        assert max_per_second(server) == 5  # the whole allowance, shared, never more
        assert_snapshot_is_server(SnapshotStore(settings.store_path), server)
    finally:
        server.stop()


def test_processes_on_two_hosts_share_the_limit_through_postgresql(
    tmp_path: Path, clock: FakeClock, postgres_server: TemporaryPostgres
) -> None:
    """Two processes syncing one base into one PostgreSQL store, each with its own
    ``[store] path`` folder, as on two hosts: no rate file in common, the limit is
    held in the store (``rate_limits``), on the database's clock."""
    server = make_server(clock, rate_limit=5, days=40)
    url = postgres_server.database()
    try:
        configs = []
        for host in ("host-a", "host-b"):
            folder = tmp_path / host
            folder.mkdir()
            settings = write_settings(
                folder, server, airtable={"requests_per_second": 5.0}, store={"url": url}
            )
            configs.append(settings)
        go = tmp_path / "go"
        processes = [
            subprocess.Popen(
                [sys.executable, "-c", _SYNC_IN_A_PROCESS, str(settings.source), str(go)],
                cwd=ROOT,
            )
            for settings in configs
        ]
        go.touch()
        assert [p.wait(timeout=120) for p in processes] == [0, 0]
        pages = sum(math.ceil(len(server.records(BASE, n)) / 100) for n in ("Sites", "Passages"))
        assert server.count() == 2 * pages
        assert server.count(status=429) == 0
        assert max_per_second(server) <= 5
        assert not list(tmp_path.glob("host-*/*.rate"))  # nothing shared through files
        assert_snapshot_is_server(SnapshotStore(url), server)
    finally:
        server.stop()
        close_engines()


def test_a_429_penalty_503s_and_a_dropped_connection_are_survived(
    settings: Settings, server: FakeAirtable, clock: FakeClock
) -> None:
    server.rate_limit = 2  # anything above 2 per second now costs a 0.5 s penalty
    server.inject("503", count=3, path_contains="Passages")
    server.inject("drop", count=1, path_contains="Sites")

    result = sync(settings, clock=clock)

    assert server.count(status=429) >= 1
    assert server.count(status=503) == 3
    assert server.count(status=0) == 1
    assert result.api_calls == server.count()  # every try is counted
    assert_snapshot_is_server(SnapshotStore(settings.store_location), server)


def test_an_expired_offset_restarts_the_listing(
    settings: Settings, server: FakeAirtable, clock: FakeClock
) -> None:
    expired: list[int] = []

    def expire_once(table: str, pages: int, records: int) -> None:
        if table == "passages" and pages == 2 and not expired:
            expired.append(server.expire_offsets())

    result = sync(settings, clock=clock, progress=expire_once)

    assert expired == [1]
    assert server.count(status=422) == 1
    assert result.tables["passages"].fetched == len(server.records(BASE, "Passages"))
    assert_snapshot_is_server(SnapshotStore(settings.store_location), server)


def test_a_first_listing_that_restarts_keeps_only_what_it_listed_last(
    settings: Settings, server: FakeAirtable, clock: FakeClock
) -> None:
    """A passage of the first pages deleted before the listing starts over (its offset
    expired) is not in the snapshot, nor counted as deleted: the first sync wrote the
    pages it listed before (on PostgreSQL, into its transaction) and took them back."""
    gone = server.records(BASE, "Passages")[0]["id"]
    expired: list[int] = []

    def expire_once(table: str, pages: int, records: int) -> None:
        if table == "passages" and pages == 2 and not expired:
            server.delete(BASE, "Passages", gone)
            expired.append(server.expire_offsets())

    result = sync(settings, clock=clock, progress=expire_once)

    assert expired == [1]
    passages = result.tables["passages"]
    assert passages.fetched == passages.changed == len(server.records(BASE, "Passages"))
    assert passages.deleted == 0
    assert_snapshot_is_server(SnapshotStore(settings.store_location), server)


def test_a_first_sync_on_postgresql_writes_the_passages_while_listing(
    settings: Settings, server: FakeAirtable, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL a first sync writes its passages page by page, while the next pages
    are awaited, into the transaction that commits them: its commit writes none again.
    On SQLite (its write lock, held meanwhile, would keep the apps' writes waiting) the
    commit writes them all. Either way none is seen before the commit."""
    at_commit: list[int] = []
    real = SnapshotStore.upsert_encoded

    def upsert(self: SnapshotStore, conn: Any, table_key: str, rows: Any) -> int:
        rows = list(rows)
        if table_key == "passages":
            at_commit.append(len(rows))
        return real(self, conn, table_key, rows)

    seen: list[int] = []

    def progress(table: str, pages: int, records: int) -> None:
        if table == "passages":
            seen.append(SnapshotStore(settings.store_location).count("passages"))

    monkeypatch.setattr(SnapshotStore, "upsert_encoded", upsert)
    result = sync(settings, clock=clock, progress=progress)

    n = len(server.records(BASE, "Passages"))
    postgres = backend_of(settings.store_location) == "postgresql"
    assert at_commit == [0 if postgres else n]
    assert len(seen) > 1 and set(seen) == {0}
    assert result.tables["passages"].changed == n
    assert_snapshot_is_server(SnapshotStore(settings.store_location), server)


def test_a_first_sync_that_fails_mid_listing_leaves_the_store_empty(
    tmp_path: Path, server: FakeAirtable, clock: FakeClock, store_location: str | Path
) -> None:
    """Pages written during the listing (PostgreSQL) go with the failed transaction."""
    store_url = {"store": {"url": store_location}} if isinstance(store_location, str) else {}
    settings = write_settings(tmp_path, server, airtable={"max_retries": 2}, **store_url)

    def fail_after_two_pages(table: str, pages: int, records: int) -> None:
        if table == "passages" and pages == 2:
            server.inject("503", count=50)

    with pytest.raises(AirtableUnavailable):
        sync(settings, clock=clock, progress=fail_after_two_pages)

    store = SnapshotStore(settings.store_location)
    assert store.version == 0 and store.count("sites") == store.count("passages") == 0
    assert not store.sync_log(1)[0]["ok"]


# ------------------------------------------------------------------------ atomicity


def _changed_server(settings: Settings, server: FakeAirtable, clock: FakeClock) -> SnapshotStore:
    """A synced store, then changes on the server that a failed sync must not bring."""
    sync(settings, clock=clock)
    clock.advance(minutes=10)
    for record in server.records(BASE, "Passages")[:3]:
        server.edit(BASE, "Passages", record["id"], {"Personnes": 77})
    server.delete(BASE, "Sites", server.records(BASE, "Sites")[0]["id"])
    clock.advance(hours=30)  # reconciliation due as well
    return SnapshotStore(settings.store_location)


def test_failure_mid_pagination_leaves_the_previous_snapshot(
    tmp_path: Path, server: FakeAirtable, clock: FakeClock
) -> None:
    settings = write_settings(tmp_path, server, airtable={"max_retries": 2})
    store = _changed_server(settings, server, clock)
    before = (store.version, store.records("sites"), store.records("passages"))
    synced = last_synced_at(store)

    def fail_after_first_page(table: str, pages: int, records: int) -> None:
        if table == "passages":
            server.inject("503", count=50)

    with pytest.raises(AirtableUnavailable, match="injoignable après 3 essai"):
        sync(settings, clock=clock, progress=fail_after_first_page)

    assert (store.version, store.records("sites"), store.records("passages")) == before
    assert last_synced_at(store) == synced
    failed = store.sync_log(1)[0]
    assert not failed["ok"] and "injoignable" in failed["error"]


def test_error_between_fetch_and_commit_leaves_the_previous_snapshot(
    settings: Settings, server: FakeAirtable, clock: FakeClock
) -> None:
    store = _changed_server(settings, server, clock)
    before = (store.version, store.records("sites"), store.records("passages"))

    class BrokenStore(SnapshotStore):
        def delete_ids(self, conn: Any, table_key: str, ids: Any) -> int:
            super().delete_ids(conn, table_key, ids)
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        sync(settings, clock=clock, store=BrokenStore(settings.store_location))

    assert (store.version, store.records("sites"), store.records("passages")) == before
    # The calls were made all the same: they count against the budget.
    assert budget_status(settings, store, clock.value).used > 0


# --------------------------------------------------------------------------- budget


def test_budget_is_enforced_unless_forced_and_counted_per_month(
    tmp_path: Path, server: FakeAirtable, clock: FakeClock
) -> None:
    settings = write_settings(tmp_path, server, sync={"monthly_call_budget": 7})
    store = SnapshotStore(settings.store_location)
    first = sync(settings, clock=clock)  # 5 pages
    sync(settings, clock=clock)  # 2 more: budget spent
    assert budget_status(settings, store, clock.value).used == first.api_calls + 2 == 7
    server.reset_log()

    with pytest.raises(BudgetExhausted, match="Budget mensuel d'appels à l'API épuisé"):
        sync(settings, clock=clock)
    assert server.count() == 0  # refused before any request

    assert sync(settings, clock=clock, force=True).api_calls == 2
    assert budget_status(settings, store, clock.value).used == 9

    # 23:30 UTC on 30 November is already December in Paris: a new month, a new budget.
    clock.value = dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.UTC)
    status = budget_status(settings, store, clock.value)
    assert (status.month, status.used) == ("2026-12", 0)
    december = sync(settings, clock=clock)
    assert budget_status(settings, store, clock.value).used == december.api_calls > 0


def test_refresh_interval_grows_as_the_budget_runs_out() -> None:
    assert recommended_interval(120, 0.5) == 120
    assert recommended_interval(120, 0.85) == 240
    assert recommended_interval(120, 0.96) == 480
    assert recommended_interval(120, 1.0) is None


def test_demo_mode_has_nothing_to_sync(demo_settings: Settings) -> None:
    with pytest.raises(SyncRefused, match="Mode démonstration"):
        sync(demo_settings)


# ------------------------------------------------------------------ automatic refresh


def test_refresh_if_due_runs_once_per_interval_across_threads(
    settings: Settings, server: FakeAirtable, clock: FakeClock
) -> None:
    sync(settings, clock=clock)
    guard = RefreshGuard()
    server.reset_log()
    now = clock.advance(seconds=150)
    barrier = threading.Barrier(8)
    outcomes: list[Any] = []

    def refresh() -> None:
        barrier.wait()
        outcomes.append(guard.refresh_if_due(settings, now))

    threads = [threading.Thread(target=refresh) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    ran = [o for o in outcomes if o is not None]
    assert len(ran) == 1 and ran[0].ok and ran[0].result.api_calls == 2
    assert server.count() == 2
    assert guard.refresh_if_due(settings, now + dt.timedelta(seconds=60)) is None
    later = guard.refresh_if_due(settings, now + dt.timedelta(seconds=121))
    assert later is not None and later.ok and server.count() == 4


def test_refresh_if_due_keeps_the_snapshot_when_airtable_is_unreachable(
    settings: Settings, server: FakeAirtable, clock: FakeClock
) -> None:
    sync(settings, clock=clock)
    store = SnapshotStore(settings.store_location)
    version, synced = store.version, last_synced_at(store)
    server.inject("drop", count=100)

    outcome = RefreshGuard().refresh_if_due(settings, clock.advance(minutes=5))

    assert outcome is not None and not outcome.ok and outcome.result is None
    assert outcome.error is not None and "Airtable est injoignable" in outcome.error
    assert outcome.synced_at == synced
    assert store.version == version


def test_refresh_in_background_keeps_pages_waiting_for_nothing(
    settings: Settings, server: FakeAirtable, clock: FakeClock
) -> None:
    sync(settings, clock=clock)
    guard = RefreshGuard()
    server.inject("503", count=2)  # a slow refresh, retried

    thread = guard.refresh_in_background(settings, clock.advance(minutes=3))
    second = guard.refresh_in_background(settings, clock.value)
    for started in (thread, second):
        if started is not None:
            started.join(timeout=30)

    assert thread is not None
    assert second is None  # the first is running, or done and the next is not due
    assert guard.last_outcome is not None and guard.last_outcome.ok
    assert guard.last_outcome.synced_at == clock.value


def test_automatic_refresh_stops_when_the_budget_is_spent(
    tmp_path: Path, server: FakeAirtable, clock: FakeClock
) -> None:
    settings = write_settings(tmp_path, server, sync={"monthly_call_budget": 5})
    sync(settings, clock=clock)  # 5 pages: the budget is spent
    guard = RefreshGuard()
    server.reset_log()

    outcome = guard.refresh_if_due(settings, clock.advance(minutes=3))

    assert outcome is not None and outcome.error is not None
    assert "actualisation automatique est suspendue" in outcome.error
    assert server.count() == 0
    assert guard.refresh_if_due(settings, clock.advance(seconds=10)) is None


# ---------------------------------------------------------------------- command line


def test_cli_sync_prints_what_it_did(
    settings: Settings, server: FakeAirtable, capsys: pytest.CaptureFixture[str]
) -> None:
    assert settings.source is not None
    assert cli.main(["--config", str(settings.source), "sync", "--full"]) == 0
    out = capsys.readouterr().out
    total = len(server.records(BASE, "Sites")) + len(server.records(BASE, "Passages"))
    assert f"Synchronisation complète : {total} fiches reçues, {total} nouvelles" in out
    assert "En quarantaine :" in out
    assert "Appels à l'API : 5 en" in out and "sur 100\u202f000" in out


def test_cli_sync_fails_clearly(
    settings: Settings, server: FakeAirtable, capsys: pytest.CaptureFixture[str]
) -> None:
    server.stop()
    assert settings.source is not None
    assert cli.main(["--config", str(settings.source), "sync"]) == 1
    err = capsys.readouterr().err
    assert "Échec de la synchronisation" in err and "pas été modifiées" in err


def test_progress_rewrites_one_line_on_a_terminal_and_logs_every_tenth_page() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    log, terminal = io.StringIO(), Terminal()
    for stream in (log, terminal):
        progress = cli.ProgressLine(stream)
        for page in range(1, 26):
            progress("passages", page, page * 100)
        progress.close()

    assert log.getvalue().splitlines() == [
        "Passages : 1\u202f000 fiches reçues (10 pages)…",
        "Passages : 2\u202f000 fiches reçues (20 pages)…",
    ]
    assert terminal.getvalue().count("\r") == 25
    assert terminal.getvalue().endswith("Passages : 2\u202f500 fiches reçues (25 pages)…\n")


def _assert_ready_frames_are_a_rebuild(settings: Settings, store: SnapshotStore) -> None:
    """The stored frames of the current version are those of a rebuild from the records."""
    recipe = dataset.recipe(settings)
    ready = prepared.read_stored(store, recipe.key, store.version)
    assert ready is not None
    full = prepared.build(store.records("sites"), store.records("passages"), recipe)
    for name in prepared.NAMES:
        pd.testing.assert_frame_equal(ready.as_dict()[name], full.as_dict()[name])


def test_a_sync_stores_the_ready_frames_of_its_version(
    settings: Settings, server: FakeAirtable, clock: FakeClock
) -> None:
    sync(settings, clock=clock)
    store = SnapshotStore(settings.store_location)
    clock.advance(minutes=10)
    passages = server.records(BASE, "Passages")
    server.edit(BASE, "Passages", passages[3]["id"], {"Personnes": "env. 12"})
    server.edit(BASE, "Passages", passages[4]["id"], {"Date": None})
    site = server.records(BASE, "Sites")[0]["id"]
    server.edit(BASE, "Sites", site, {"Latitude": 48.8801})
    server.delete(BASE, "Passages", passages[5]["id"])
    clock.advance(hours=25)  # reconciliation due: the deletion is seen

    result = sync(settings, clock=clock)

    assert not result.full and result.changed == 3 and result.deleted == 1
    _assert_ready_frames_are_a_rebuild(settings, store)
    version = store.version
    clock.advance(minutes=10)
    sync(settings, clock=clock)  # nothing changed: same version, same frames
    assert store.version == version
    assert {d.version for d in store.derived(prepared.NAMES).values()} == {version}


def test_a_first_sync_builds_its_frames_from_the_records_it_listed(
    settings: Settings, server: FakeAirtable, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its commit does not read every record back from the store inside the transaction
    (the records it listed are the store's): the passages were added to the frames by
    batches while they were listed, and the frames are those of a rebuild."""

    def read_back(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("every record read back from the store")

    made: list[prepared.Ready] = []
    real_ready = prepared.Prebuild.ready

    def ready(self: prepared.Prebuild, ids: Any) -> prepared.Ready:
        made.append(real_ready(self, ids))
        return made[-1]

    with monkeypatch.context() as patch:
        patch.setattr(SnapshotStore, "records_in", staticmethod(read_back))
        patch.setattr(SnapshotStore, "record_lines_in", staticmethod(read_back))
        patch.setattr(prepared.Prebuild, "BATCH", 70)  # several batches of the 5 pages
        patch.setattr(prepared.Prebuild, "ready", ready)
        result = sync(settings, clock=clock)
    assert result.full and result.changed == result.fetched > 0
    assert len(made) == 1 and made[0] is not None
    _assert_ready_frames_are_a_rebuild(settings, SnapshotStore(settings.store_location))


def test_a_first_sync_whose_frames_fail_while_listing_builds_them_from_the_records(
    settings: Settings,
    server: FakeAirtable,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The frames made while listing are a head start: a batch that fails to fold in
    leaves the commit to build them from the records, and the sync succeeds with every
    record and the frames of a rebuild."""
    real_add = prepared.Prebuild._add
    folds: list[int] = []

    def add(self: prepared.Prebuild, batch: list[Any]) -> None:
        folds.append(len(batch))
        if len(folds) == 2:
            raise ValueError("a batch that cannot be folded in")
        real_add(self, batch)

    monkeypatch.setattr(prepared.Prebuild, "BATCH", 70)  # several batches of the 5 pages
    monkeypatch.setattr(prepared.Prebuild, "_add", add)
    with caplog.at_level(logging.WARNING, logger="carto.prepared"):
        result = sync(settings, clock=clock)
    assert len(folds) >= 2
    assert result.full and result.changed == result.fetched > 0
    assert any(r.exc_info and "cannot be folded" in str(r.exc_info[1]) for r in caplog.records)
    store = SnapshotStore(settings.store_location)
    assert len(store.records("passages")) == len(server.records(BASE, "Passages"))
    _assert_ready_frames_are_a_rebuild(settings, store)


def test_a_first_sync_lists_with_the_collector_paused_and_makes_frames_during_its_commit(
    settings: Settings, server: FakeAirtable, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first listing and its commit run without the collector's passes over the
    records piling up (a pause delays every later request); the frames are already
    being made in the thread when the commit starts writing. Later syncs run with the
    collector on."""
    collector_on: list[bool] = []
    real_list, real_commit = sync_module._list, sync_module._commit
    finished_before_commit: list[bool] = []

    def listing(table: Any, key: str, *args: Any, **kwargs: Any) -> Any:
        records, texts = real_list(table, key, *args, **kwargs)
        if key == "passages":
            collector_on.append(gc.isenabled())
        return records, texts

    def commit(*args: Any, **kwargs: Any) -> Any:
        prebuild = args[6] if len(args) > 6 else kwargs.get("prebuild")
        finished_before_commit.append(prebuild is not None and prebuild._made is not None)
        collector_on.append(gc.isenabled())
        return real_commit(*args, **kwargs)

    monkeypatch.setattr(sync_module, "_list", listing)
    monkeypatch.setattr(sync_module, "_commit", commit)
    assert gc.isenabled()
    sync(settings, clock=clock)
    assert collector_on == [False, False] and finished_before_commit == [True]
    assert gc.isenabled()
    clock.advance(minutes=10)
    sync(settings, full=True, clock=clock)
    assert collector_on[2:] == [True, True] and finished_before_commit == [True, False]
    _assert_ready_frames_are_a_rebuild(settings, SnapshotStore(settings.store_location))


def test_cli_sync_counts_the_quarantine_from_the_stored_frames(
    settings: Settings, server: FakeAirtable, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sync report's quarantine count is the stored frame's: no second normalisation
    of every record after the sync."""
    assert settings.source is not None
    assert cli.main(["--config", str(settings.source), "sync", "--full"]) == 0
    store = SnapshotStore(settings.store_location)
    expected = len(
        prepared.build(
            store.records("sites"), store.records("passages"), dataset.recipe(settings)
        ).quarantine
    )
    assert expected > 0

    def normalise_all(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("every record normalised again")

    monkeypatch.setattr(dataset, "normalise_store", normalise_all)
    monkeypatch.setattr(dataset, "normalise", normalise_all)
    monkeypatch.setattr(prepared, "build", normalise_all)
    assert sync_module.count_quarantined(settings, store) == expected
