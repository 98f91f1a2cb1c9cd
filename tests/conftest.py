"""Shared fixtures: an isolated demo configuration and the demo dataset on a fixed day."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import time_machine

from carto import demo
from carto.dataset import Dataset, build_dataset, ensure_demo_snapshot
from carto.settings import CONFIG_ENV, Settings, load_settings
from carto.store import close_engines
from carto.ui import data, errors
from testing.postgres import PostgresMissing, TemporaryPostgres

TODAY = dt.date(2026, 11, 26)


def write_demo_config(folder: Path) -> Path:
    """A config file that runs the demo with its snapshot inside ``folder``."""
    path = folder / "config.toml"
    path.write_text(
        f'[general]\ndemo = true\n[store]\ndemo_path = "{folder / "demo.sqlite"}"\n',
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="session")
def demo_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return load_settings(write_demo_config(tmp_path_factory.mktemp("demo")))


@pytest.fixture(scope="session")
def demo_base() -> demo.DemoBase:
    return demo.generate(seed=56, days=120, today=TODAY)


@pytest.fixture(scope="session")
def demo_dataset(demo_settings: Settings) -> Dataset:
    store = ensure_demo_snapshot(demo_settings, today=TODAY)
    now = pd.Timestamp(TODAY, tz="Europe/Paris") + pd.Timedelta(hours=23, minutes=59)
    return build_dataset(demo_settings, store, now=now)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[TemporaryPostgres]:
    """One real PostgreSQL server for the session (testing/postgres.py). Missing
    PostgreSQL fails the tests that need it, with what to install: never a skip."""
    try:
        server = TemporaryPostgres().start()
    except PostgresMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        close_engines()
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | Path]:
    """Where a store test's store is: a SQLite file, then a fresh PostgreSQL database.
    Every store test taking it runs on both backends."""
    if request.param == "sqlite":
        yield tmp_path / "store.sqlite"
        return
    server: TemporaryPostgres = request.getfixturevalue("postgres_server")
    yield server.database()
    close_engines()  # the database's pooled connections, before the next test


@pytest.fixture
def steady_day() -> Iterator[None]:
    """The clock at noon (Paris) of today, running on: a test that compares two page
    runs (whose default period ends today) would compare two periods if midnight in
    Paris fell between them. Seen once at 00:00 Paris: the dashboard counted the
    passages of one 30-day window, the export of the next."""
    today = dt.datetime.now(ZoneInfo("Europe/Paris")).date()
    noon = dt.datetime.combine(today, dt.time(12), ZoneInfo("Europe/Paris"))
    with time_machine.travel(noon, tick=True):
        yield


@pytest.fixture
def app_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, steady_day: None) -> Path:
    """Point the app at an isolated demo configuration (never the developer's config.toml),
    the clock kept away from midnight (``steady_day``)."""
    path = write_demo_config(tmp_path)
    monkeypatch.setenv(CONFIG_ENV, str(path))
    return path


@pytest.fixture(autouse=True)
def no_version_watcher_left() -> Iterator[None]:
    """Fail a test that leaves a version watcher (``carto.ui.data``) running: it polls
    with the settings of whichever test runs next, and one left by a test once wrote the
    plain demo over the snapshot a later test had just written."""
    yield
    for thread in threading.enumerate():
        if thread.name == data.WATCHER_THREAD:
            thread.join(10)
            assert not thread.is_alive(), "a version watcher outlived its test"


@pytest.fixture(autouse=True)
def no_unexpected_page_error(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[Exception]]:
    """Fail a test in which a page raised: the app shows a French message instead of the
    exception (carto/ui/errors.py), so ``at.exception`` alone would no longer see it.
    A test that makes a page fail on purpose is marked ``page_error``."""
    seen: list[Exception] = []
    shown = errors.show_french_message

    def record(exc: Exception) -> bool:
        seen.append(exc)
        return shown(exc)

    monkeypatch.setattr(errors, "show_french_message", record)
    yield seen
    if seen and request.node.get_closest_marker("page_error") is None:
        pytest.fail(f"a page raised {seen[0]!r} (shown as the French error message)")
