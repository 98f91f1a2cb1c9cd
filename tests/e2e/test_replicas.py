"""Two app replicas on one PostgreSQL store behave as one app (issue 16), end to end.

What runs, as in ``deploy/``: a real PostgreSQL server (the ``postgres_server`` fixture),
the local Airtable look-alike, ONE ``python -m carto sync --watch --every 2`` worker and
TWO ``streamlit run app.py`` processes (live mode: an accounts file, the cookie key from
the environment, ``[sync] app_refresh = false``) reading the same store, and Debian's
chromium. Both replicas listen on 127.0.0.1 (two ports): a browser sends the same
cookies to both, as it does through the reverse proxy when its sticky cookie moves it
to the other replica (a replica restarted, say).

Checked: a sign-out on replica A ends an open session and refuses the cookie on replica
B; a lockout triggered on A holds on B; after a record changes in Airtable, the worker
refreshes and both replicas' open pages show the new figure; the audit log holds the
entries written by both processes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from carto import audit, demo
from carto.accounts import COOKIE_KEY_ENV
from carto.base_setup import table_spec
from carto.i18n import t
from carto.settings import CONFIG_ENV, TOKEN_ENV, Settings
from carto.store import AuthStore, SnapshotStore
from testing.app import TEST_COOKIE_KEY, TEST_PASSWORD, write_accounts
from testing.fake_airtable import FakeAirtable
from testing.postgres import TemporaryPostgres
from testing.processes import stop
from tests.e2e.conftest import COOKIE_NAME, ROOT, VIEWPORT, serve, sign_in, wait_for_cookie
from tests.e2e.helpers import metric_value, settle

# Each test, the first with the deployment's start, ends within 3 minutes (fixtures still
# stop every process: pytest-timeout's signal method raises in the test).
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180, method="signal")]

TOKEN = "patREPLICAS"
BASE = "appCARTOREPLICA01"
MAX_FAILED = 3
WAIT = 90.0  # seconds: the longest any condition below is waited for


def wait_until(check: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    """Poll ``check`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


@contextlib.contextmanager
def running(cmd: list[str], env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen[str]]:
    """A subprocess logging to ``log_path``, always stopped (SIGTERM, then SIGKILL)."""
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, text=True
        )
        try:
            yield proc
        finally:
            stop(proc)


@dataclass
class Deployment:
    folder: Path
    store_url: str
    airtable: FakeAirtable
    worker: subprocess.Popen[str]
    a: str  # replica A's address
    b: str  # replica B's address

    def snapshot_version(self) -> int:
        return SnapshotStore(self.store_url).version


def fake_base() -> FakeAirtable:
    """A fake Airtable base with the contract's tables and a demo month ending today
    (Paris), on the real clock, throttled like Airtable (5 requests/s per base)."""
    server = FakeAirtable(token=TOKEN, rate_limit=5.0, penalty_seconds=1.0).start()
    plain = Settings({})
    sites_id = server.add_table(BASE, "Sites", table_spec(plain, "sites", {})["fields"])
    server.add_table(BASE, "Passages", table_spec(plain, "passages", {"sites": sites_id})["fields"])
    today = dt.datetime.now(ZoneInfo("Europe/Paris")).date()
    base = demo.generate(seed=56, days=30, today=today)
    server.load_records(BASE, "Sites", base.sites)
    server.load_records(BASE, "Passages", base.passages)
    return server


def write_config(folder: Path, server: FakeAirtable, store_url: str) -> Path:
    """The one config file the worker and both replicas read (as deploy/ mounts it)."""
    path = folder / "config.toml"
    path.write_text(
        f"""[airtable]
base_id = "{BASE}"
endpoint_url = "{server.url}"
timeout_seconds = 10
backoff_seconds = 0.2
penalty_seconds = 1.0
[store]
url = "{store_url}"
path = "{folder / "snapshot.sqlite"}"
[auth]
accounts_path = "{folder / "accounts.yaml"}"
max_failed_logins = {MAX_FAILED}
[sync]
app_refresh = false
refresh_interval_seconds = 2
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def deployment(
    postgres_server: TemporaryPostgres, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    folder = tmp_path_factory.mktemp("replicas")
    store_url = postgres_server.database()
    server = fake_base()
    write_accounts(folder / "accounts.yaml", ("admin", "coordinateur", "benevole"))
    config = write_config(folder, server, store_url)
    env = {TOKEN_ENV: TOKEN, COOKIE_KEY_ENV: TEST_COOKIE_KEY}
    worker_env = {**os.environ, **env, CONFIG_ENV: str(config)}
    worker_cmd = [sys.executable, "-m", "carto", "sync", "--watch", "--every", "2"]
    try:
        with contextlib.ExitStack() as stack:
            worker = stack.enter_context(running(worker_cmd, worker_env, folder / "worker.log"))

            def first_sync_done() -> bool:
                assert worker.poll() is None, (folder / "worker.log").read_text()
                return SnapshotStore(store_url).version >= 1

            wait_until(first_sync_done, "the worker's first sync")
            a = stack.enter_context(serve(config, env, name="replica-a"))
            b = stack.enter_context(serve(config, env, name="replica-b"))
            yield Deployment(folder, store_url, server, worker, a, b)
            assert worker.poll() is None, (folder / "worker.log").read_text()
    finally:
        server.stop()


def shows(page: Any, label: str, value: int) -> bool:
    return metric_value(page, label) == value


def h1_is(page: Any, expected: str) -> None:
    page.locator("h1", has_text=expected).first.wait_for(timeout=WAIT * 1000)


MAP_TITLE = t("map.title")
LOGIN_TITLE = t("auth.login.title")


def test_sign_out_on_one_replica_ends_the_session_on_the_other(
    browser: Any, deployment: Deployment
) -> None:
    laptop = browser.new_context(viewport=VIEWPORT)
    page_a = sign_in(laptop, deployment.a, "coordinateur", TEST_PASSWORD)
    h1_is(page_a, MAP_TITLE)
    cookie = wait_for_cookie(laptop)
    assert cookie

    # The same person's phone holds the cookie and uses replica B: signed in by it.
    phone = browser.new_context(viewport=VIEWPORT)
    phone.add_cookies([{"name": COOKIE_NAME, "value": cookie, "url": deployment.b}])
    page_b = phone.new_page()
    page_b.goto(deployment.b)
    h1_is(page_b, MAP_TITLE)
    assert page_b.get_by_label(t("auth.login.username")).count() == 0
    settle(page_b)

    page_a.get_by_role("button", name=t("auth.logout")).click()
    page_a.get_by_text(t("auth.logged_out")).wait_for(timeout=WAIT * 1000)

    # B's open session ends at its next run (here: moving to another page) ...
    page_b.locator("[data-testid='stSidebarNav']").get_by_text(t("dash.title")).click()
    page_b.get_by_text(t("auth.revoked")).wait_for(timeout=WAIT * 1000)
    h1_is(page_b, LOGIN_TITLE)
    # ... and its cookie opens nothing on B any more (a new session).
    stale = browser.new_context(viewport=VIEWPORT)
    stale.add_cookies([{"name": COOKIE_NAME, "value": cookie, "url": deployment.b}])
    page = stale.new_page()
    page.goto(deployment.b)
    h1_is(page, LOGIN_TITLE)
    page.get_by_label(t("auth.login.username")).wait_for(timeout=WAIT * 1000)
    for context in (laptop, phone, stale):
        context.close()

    log = AuthStore(deployment.store_url)
    assert log.audit_log(event=audit.LOGOUT, username="coordinateur")  # written by A
    assert log.audit_log(event=audit.SESSION_REVOKED, username="coordinateur")  # by B


def test_a_lockout_on_one_replica_holds_on_the_other(browser: Any, deployment: Deployment) -> None:
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.goto(deployment.a)
    for attempt in range(MAX_FAILED):
        page.get_by_label(t("auth.login.username")).fill("benevole")
        page.get_by_label(t("auth.login.password")).fill(f"pas le bon {attempt}")
        page.get_by_role("button", name=t("auth.login.submit")).click()
        settle(page)
    page.get_by_text("Trop d'essais infructueux").first.wait_for(timeout=WAIT * 1000)

    page = context.new_page()
    page.goto(deployment.b)
    page.get_by_label(t("auth.login.username")).fill("benevole")
    page.get_by_label(t("auth.login.password")).fill(TEST_PASSWORD)  # the right one
    page.get_by_role("button", name=t("auth.login.submit")).click()
    page.get_by_text("ce compte est verrouillé jusqu'à").first.wait_for(timeout=WAIT * 1000)
    h1_is(page, LOGIN_TITLE)
    context.close()
    log = AuthStore(deployment.store_url)
    assert log.audit_log(event=audit.LOCKOUT, username="benevole")  # A locked it
    assert log.audit_log(event=audit.LOGIN_LOCKED, username="benevole")  # B refused


def test_both_replicas_show_the_workers_new_data_and_share_the_audit_log(
    browser: Any, deployment: Deployment
) -> None:
    started = dt.datetime.now(dt.UTC)
    label = t("dash.passages")
    coordinator = browser.new_context(viewport=VIEWPORT)
    page_a = sign_in(coordinator, f"{deployment.a}/tableau_de_bord", "coordinateur", TEST_PASSWORD)
    admin = browser.new_context(viewport=VIEWPORT)
    page_b = sign_in(admin, f"{deployment.b}/tableau_de_bord", "admin", TEST_PASSWORD)
    for page in (page_a, page_b):
        h1_is(page, t("dash.title"))
        settle(page)
    before = metric_value(page_a, label)
    assert metric_value(page_b, label) == before
    version = deployment.snapshot_version()

    # Someone records a passage in Airtable (a copy of the latest, a few minutes ago).
    latest = deployment.airtable.records(BASE, "Passages")[-1]["fields"]
    when = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    deployment.airtable.add(
        BASE, "Passages", {**latest, "Date": when.strftime("%Y-%m-%dT%H:%M:00.000Z")}
    )

    wait_until(lambda: deployment.snapshot_version() > version, "the worker's refresh")
    # The open pages notice the new snapshot and redraw by themselves (no reload).
    for page in (page_a, page_b):
        wait_until(partial(shows, page, label, before + 1), "the new figure")

    logins = AuthStore(deployment.store_url).audit_log(event=audit.LOGIN)
    recent = {e["username"] for e in logins if e["at"] >= started}
    assert {"coordinateur", "admin"} <= recent  # A signed in one, B the other
    coordinator.close()
    admin.close()
