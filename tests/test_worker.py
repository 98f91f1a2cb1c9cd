"""The sync worker (``python -m carto sync --watch``): cycles, daily reconciliation, the
budget, one line per cycle, a clean stop on SIGTERM; and the apps' refresh turned off."""

from __future__ import annotations

import datetime as dt
import io
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from carto import cli
from carto.settings import TOKEN_ENV, Settings
from carto.store import SnapshotStore, close_engines
from carto.sync import RefreshGuard, budget_status
from carto.worker import Worker
from testing.fake_airtable import FakeAirtable
from testing.postgres import TemporaryPostgres
from tests.test_sync import (
    BASE,
    T0,
    TOKEN,
    FakeClock,
    assert_snapshot_is_server,
    make_server,
    write_settings,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def server(clock: FakeClock) -> Iterator[FakeAirtable]:
    fake = make_server(clock, rate_limit=25, days=20)
    yield fake
    fake.stop()


class Script:
    """The waits between cycles: each runs the next step (changes on the server, the
    clock moved on), and the worker stops after the last."""

    def __init__(self, *steps: Any) -> None:
        self.steps = list(steps)
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> bool:
        self.waits.append(seconds)
        if not self.steps:
            return True
        self.steps.pop(0)()
        return False


def test_worker_refreshes_reconciles_daily_and_logs_one_line_per_cycle(
    tmp_path: Path, server: FakeAirtable, clock: FakeClock
) -> None:
    settings = write_settings(tmp_path, server)
    gone = server.records(BASE, "Passages")[0]["id"]
    edited = server.records(BASE, "Passages")[1]["id"]

    def edit_and_delete() -> None:
        clock.advance(minutes=1)
        server.edit(BASE, "Passages", edited, {"Personnes": 42})
        server.delete(BASE, "Passages", gone)
        clock.advance(minutes=1)

    out = io.StringIO()
    script = Script(edit_and_delete, lambda: clock.advance(hours=24))
    assert Worker(settings, out, every=60, clock=clock, wait=script).run() == 0

    lines = out.getvalue().splitlines()
    assert len(lines) == 1 + 3 + 1  # started, one per cycle, stopped
    assert "une actualisation toutes les 60 s" in lines[0]
    assert "Synchronisation complète" in lines[1]
    # Second cycle: the edit, not yet the deletion (reconciliation not due).
    assert "Actualisation : 1 fiche reçue, 1 nouvelle ou modifiée, 0 supprimée ;" in lines[2]
    assert "liste complète comparée" not in lines[2]
    # A day later: every id listed, the deletion removed.
    assert "1 supprimée (liste complète comparée)" in lines[3]
    assert "arrêtée" in lines[4]
    assert all(line[:10].count("/") == 2 for line in lines)  # DD/MM/YYYY first
    assert script.waits == [60.0, 60.0, 60.0]
    assert_snapshot_is_server(SnapshotStore(settings.store_path), server)


def test_worker_obeys_the_monthly_budget(
    tmp_path: Path, server: FakeAirtable, clock: FakeClock
) -> None:
    # 5 pages for the first sync: 85 % of the budget is then used.
    settings = write_settings(tmp_path, server, sync={"monthly_call_budget": 6})
    out = io.StringIO()
    script = Script(lambda: None, lambda: None)
    Worker(settings, out, every=60, clock=clock, wait=script).run()

    lines = out.getvalue().splitlines()
    assert script.waits == [120.0, 60.0, 60.0]  # past 80 % of the budget: twice as long
    assert "Budget mensuel d'appels à l'API épuisé (7 sur 6)" in lines[3]
    assert server.count() == 5 + 2  # the spent budget made no call
    assert budget_status(settings, SnapshotStore(settings.store_path), clock.value).used == 7


def test_app_refresh_off_leaves_airtable_to_the_worker(
    tmp_path: Path, server: FakeAirtable, clock: FakeClock
) -> None:
    on = write_settings(tmp_path, server)
    settings = on.with_values(sync__app_refresh=False)
    guard = RefreshGuard()

    assert guard.refresh_if_due(settings, clock.value) is None
    assert guard.refresh_in_background(settings, clock.value) is None
    assert server.count() == 0
    assert guard.refresh_if_due(on, clock.value) is not None
    assert server.count() > 0


@pytest.mark.parametrize(
    ("options", "status", "message"),
    [
        (["--watch", "--full"], 2, "--watch ne se combine pas avec --full ni --force"),
        (["--watch", "--force"], 2, "--watch ne se combine pas avec --full ni --force"),
        (["--watch", "--every", "0"], 2, "--every attend un nombre de secondes positif"),
        (["--every", "30"], 2, "--every ne s'utilise qu'avec --watch"),
    ],
)
def test_watch_options_are_checked_before_anything_runs(
    tmp_path: Path,
    server: FakeAirtable,
    capsys: pytest.CaptureFixture[str],
    options: list[str],
    status: int,
    message: str,
) -> None:
    config = write_settings(tmp_path, server).source
    assert cli.main(["--config", str(config), "sync", *options]) == status
    assert message in capsys.readouterr().err
    assert server.count() == 0


def test_watch_is_refused_in_demo_mode(
    demo_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["--config", str(demo_settings.source), "sync", "--watch"]) == 1
    assert "Mode démonstration" in capsys.readouterr().err


# ------------------------------------------------------------------- a real process


class Process:
    """``python -m carto sync --watch`` in a subprocess, its stdout collected."""

    def __init__(self, settings: Settings, *args: str) -> None:
        command = [sys.executable, "-m", "carto", "--config", str(settings.source), "sync"]
        self.popen = subprocess.Popen(
            [*command, "--watch", *args],
            cwd=ROOT,
            env={**os.environ, TOKEN_ENV: TOKEN},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        assert self.popen.stdout is not None
        stdout = self.popen.stdout
        self.reader = threading.Thread(target=lambda: self.lines.extend(stdout), daemon=True)
        self.reader.start()

    def terminate(self, within: float) -> int:
        """SIGTERM; the exit status (TimeoutExpired if still running after ``within``)."""
        self.popen.send_signal(signal.SIGTERM)
        return self.popen.wait(timeout=within)

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()


def wait_for(condition: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_sigterm_mid_first_sync_on_postgresql_leaves_the_store_empty(
    tmp_path: Path, clock: FakeClock, postgres_server: TemporaryPostgres
) -> None:
    """On PostgreSQL a first sync writes its passages, page by page, into the
    transaction that will commit them: stopped mid-listing, it takes them back."""
    server = make_server(clock, rate_limit=5, days=60)
    server.latency_seconds = 0.1
    process: Process | None = None
    try:
        url = postgres_server.database()
        settings = write_settings(
            tmp_path, server, airtable={"requests_per_second": 5.0}, store={"url": url}
        )
        store = SnapshotStore(url)
        process = Process(settings, "--every", "60")
        wait_for(lambda: server.count(status=200) >= 4)  # passages' pages written meanwhile
        assert process.terminate(within=30) == 0
        process.reader.join(timeout=5)
        assert "abandonnée, les données locales restent entières (version 0)" in process.lines[-2]
        assert store.version == 0 and store.count("sites") == store.count("passages") == 0
    finally:
        if process is not None:
            process.kill()
        server.stop()
        close_engines()


def test_sigterm_mid_sync_leaves_the_old_or_the_new_snapshot_and_exits_0(
    tmp_path: Path, clock: FakeClock
) -> None:
    server = make_server(clock, rate_limit=5, days=60)
    server.latency_seconds = 0.1
    process: Process | None = None
    try:
        settings = write_settings(tmp_path, server, airtable={"requests_per_second": 5.0})
        store = SnapshotStore(settings.store_path)
        process = Process(settings, "--every", "60")
        wait_for(lambda: server.count(status=200) >= 3)  # the full listing is under way
        assert store.version == 0

        # ``within`` only keeps a hung worker from hanging the suite: that it stopped
        # mid-sync, without finishing its listing, is what the log line below says.
        status = process.terminate(within=30)

        assert status == 0
        process.reader.join(timeout=5)
        assert "abandonnée, les données locales restent entières (version 0)" in process.lines[-2]
        assert store.version == 0 and store.count("sites") == store.count("passages") == 0

        # A second worker: its first sync completes; SIGTERM between cycles.
        process = Process(settings, "--every", "60")
        wait_for(lambda: any("Synchronisation complète" in line for line in process.lines))
        assert process.terminate(within=30) == 0  # before the next cycle, 60 s away
        assert store.version == 1
        assert_snapshot_is_server(store, server)

        # Changes on the server, the reconciliation due: SIGTERM during that sync.
        before = (store.version, store.records("sites"), store.records("passages"))
        clock.value = dt.datetime.now(dt.UTC)  # the worker's clock is the real one
        for record in server.records(BASE, "Passages")[:5]:
            server.edit(BASE, "Passages", record["id"], {"Personnes": 77})
        with store.transaction(bump_version=False) as conn:
            old = (dt.datetime.now(dt.UTC) - dt.timedelta(days=2)).isoformat()
            store.set_meta(conn, {"last_reconciled_at": old})
        server.reset_log()
        process = Process(settings, "--every", "60")
        wait_for(lambda: server.count(status=200) >= 3)
        assert process.terminate(within=30) == 0
        after = (store.version, store.records("sites"), store.records("passages"))
        if after[0] == before[0]:
            assert after == before  # the old snapshot, whole
        else:
            assert after[0] == before[0] + 1  # or the new one, whole
            assert_snapshot_is_server(store, server)
    finally:
        if process is not None:
            process.kill()
        server.stop()
