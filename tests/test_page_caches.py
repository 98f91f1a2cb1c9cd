"""A page's rerun (a click, a widget change) reuses the figures of the same snapshot
version, role, filters and options instead of computing them again (issue 15)."""

from __future__ import annotations

import gc
import threading
import weakref
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st

from carto import memory, privacy
from carto.analytics import coverage, quality
from carto.dataset import build_dataset, open_store
from carto.settings import CONFIG_ENV, load_settings
from carto.store import SnapshotStore, location_name
from carto.ui import data
from testing.app import run_page
from tests.conftest import write_demo_config


@pytest.mark.parametrize(
    ("page", "module", "name"),
    [
        ("pages/coordination.py", coverage, "who_covers_what"),
        # thousands of issues at 100,000 passages, their French reasons with them
        ("pages/qualite.py", quality, "reasons"),
    ],
)
def test_a_rerun_reuses_what_the_first_run_computed(
    page: str, module: object, name: str, app_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Coordination's coverage tables, the quality page's issues and reasons: computed
    once per version, not again on a rerun (a click)."""
    st.cache_data.clear()
    st.cache_resource.clear()
    calls: list[int] = []
    real = getattr(module, name)

    def counting(frame: pd.DataFrame) -> object:
        calls.append(len(frame))
        return real(frame)

    monkeypatch.setattr(module, name, counting)
    at = run_page(page)
    computed = len(calls)
    assert computed >= 1 and calls[0] > 0, "the page computes it"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(calls) == computed


def test_the_loaded_dataset_is_out_of_the_garbage_collector_scans(app_config: Path) -> None:
    """Its lists and dicts (needs, flags: several per passage) would otherwise be scanned
    by every collection of every page run."""
    st.cache_resource.clear()
    # a collection left pending by an earlier test would unfreeze and freeze meanwhile
    assert memory.wait_collected(timeout=60)
    gc.unfreeze()
    at = run_page("pages/tableau_de_bord.py")
    assert not at.exception
    frozen = gc.get_freeze_count()
    conf = load_settings()
    passages = len(build_dataset(conf, open_store(conf)).passages)
    assert passages > 100
    # at least the needs, referrals, flag codes and flag parameters list of each passage
    assert frozen >= 4 * passages


def _edit_first_passage(store: SnapshotStore, people: int) -> str:
    """Set the number of people of the first passage (a new snapshot version); its id."""
    with store.transaction() as conn:
        rid = sorted(store.table_ids(conn, "passages"))[0]
        record = store.records_by_id(conn, "passages", [rid])[rid]
        record["fields"]["Personnes"] = people
        store.upsert(conn, "passages", [record])
    return str(rid)


def test_a_new_version_frees_the_previous_versions_frames(app_config: Path) -> None:
    """After a refresh that makes a new snapshot version and the page's next run, nothing
    keeps the previous version's frames alive (neither the cached datasets nor the
    collector's frozen objects): a process holds one version's data, not one more per
    refresh (issue 15)."""
    at = run_page("pages/tableau_de_bord.py")
    conf = load_settings()
    store = open_store(conf)
    policy = privacy.policy_for("coordinateur", conf)
    before = data._role_dataset(store.location, store.version, policy, conf)
    frames = [before.passages, data._dataset(store.location, store.version, conf).passages]
    alive = [weakref.ref(frame) for frame in frames]
    del before, frames
    rid = _edit_first_passage(store, 42)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    now = data._role_dataset(store.location, store.version, policy, conf)
    assert 42 in now.passages.loc[now.passages["record_id"] == rid, "people"].to_list()
    assert memory.wait_collected(timeout=60)  # the full collection, once no page runs
    gc.collect()
    assert [ref() is None for ref in alive] == [True, True]


def test_a_new_versions_first_run_leaves_the_full_collection_to_idle_time(
    app_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first run of a page at a new version does not walk every object alive (the
    full collection, frozen objects included: 0.15 s at 100,000 passages, growing with
    the base); a background thread does it once no page runs (issue 15)."""
    at = run_page("pages/tableau_de_bord.py")
    assert memory.wait_collected(timeout=60)
    unfrozen_in: list[str] = []
    real = gc.unfreeze

    def recording() -> None:
        unfrozen_in.append(threading.current_thread().name)
        real()

    monkeypatch.setattr(gc, "unfreeze", recording)
    before = memory.idle_collections()
    store = open_store(load_settings())
    _edit_first_passage(store, 43)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert memory.wait_collected(timeout=60)
    assert memory.idle_collections() == before + 1
    assert unfrozen_in == ["carto-memory"]


def _count_builds(monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], list[str]]:
    """The threads that built a dataset and those that built a role's variant."""
    builds: list[str] = []
    variants: list[str] = []
    real_build, real_apply = data.build_dataset, data.privacy.apply

    def build(*args: object, **kwargs: object) -> object:
        builds.append(threading.current_thread().name)
        return real_build(*args, **kwargs)  # type: ignore[arg-type]

    def apply(*args: object, **kwargs: object) -> object:
        variants.append(threading.current_thread().name)
        return real_apply(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(data, "build_dataset", build)
    monkeypatch.setattr(data.privacy, "apply", apply)
    return builds, variants


def test_a_new_version_is_prepared_once_before_the_pages_ask(
    app_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``prepare_version`` (the server's watcher thread calls it) switches to a new
    version and builds its dataset and the variants of the roles the pages asked for:
    the next page run at that version builds neither again (issue 15: the first page
    after a refresh, of every session)."""
    at = run_page("pages/tableau_de_bord.py")  # a coordinator's
    assert memory.wait_collected(timeout=60)
    conf = load_settings()
    assert not data.prepare_version(conf), "nothing new yet"
    builds, variants = _count_builds(monkeypatch)
    unfrozen_in: list[str] = []
    busy_while_building: list[bool] = []
    real_unfreeze, real_build = gc.unfreeze, data.build_dataset

    def unfreeze() -> None:
        unfrozen_in.append(threading.current_thread().name)
        real_unfreeze()

    def build(*args: object, **kwargs: object) -> object:
        busy_while_building.append(data._pages_running())
        return real_build(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(gc, "unfreeze", unfreeze)
    monkeypatch.setattr(data, "build_dataset", build)
    collections = memory.idle_collections()
    store = open_store(conf)
    rid = _edit_first_passage(store, 44)
    assert data.prepare_version(conf)
    assert (len(builds), len(variants)) == (1, 1)
    # the full collection in the switch, in the preparing thread, and no idle one after
    assert unfrozen_in == [threading.current_thread().name]
    assert memory.wait_collected(timeout=60)
    assert memory.idle_collections() == collections
    assert busy_while_building == [True], "the idle collection waits for the build"
    assert not data.prepare_version(conf), "prepared once"
    policy = privacy.policy_for("coordinateur", conf)
    ready = data._role_dataset(store.location, store.version, policy, conf)
    assert 44 in ready.passages.loc[ready.passages["record_id"] == rid, "people"].to_list()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert (len(builds), len(variants)) == (1, 1), "the page found them built"
    assert memory.wait_collected(timeout=60)


def _watchers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == data.WATCHER_THREAD]


def test_a_server_watches_for_new_versions_in_a_thread_of_its_own(
    app_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a server, the first page run starts one thread per store that prepares each
    new version as soon as it is committed, without any page run."""
    assert not _watchers(), "none under AppTest"
    at = run_page("pages/tableau_de_bord.py")
    assert not _watchers()
    assert memory.wait_collected(timeout=60)
    builds, variants = _count_builds(monkeypatch)
    store = open_store(load_settings())
    # the server only while the watcher runs: the page's last run below, under AppTest,
    # started a second watcher once, which outlived this test and wrote the plain demo
    # over the snapshot of a later test (tests/test_rounds_attack.py, seen in CI)
    with monkeypatch.context() as server:
        server.setattr(data, "_in_server", lambda: True)
        server.setattr(data, "VERSION_POLL_SECONDS", 0.01)
        data._watch_versions(store.location)
        data._watch_versions(store.location)  # once per store
        watchers = _watchers()
        assert len(watchers) == 1
        try:
            _edit_first_passage(store, 45)
            version = store.version
            for _ in range(3000):  # at most 30 s, asserting no duration
                if data._versions.get(store.location) == version and variants:
                    break
                watchers[0].join(0.01)
            assert (builds, variants) == ([data.WATCHER_THREAD], [data.WATCHER_THREAD])
        finally:
            data._watched.discard(store.location)
            watchers[0].join(30)
    assert not watchers[0].is_alive()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert (len(builds), len(variants)) == (1, 1), "the page found them built"
    assert not _watchers(), "no watcher outside a server"
    assert memory.wait_collected(timeout=60)


def test_the_version_watcher_stops_with_the_server(
    app_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A watcher polls while its process serves pages, not for the rest of the process
    (a test's, or a server shutting down)."""
    run_page("pages/tableau_de_bord.py")
    store = open_store(load_settings())
    serving = [True]
    monkeypatch.setattr(data, "_in_server", lambda: serving[0])
    monkeypatch.setattr(data, "VERSION_POLL_SECONDS", 0.01)
    data._watch_versions(store.location)
    (watcher,) = _watchers()
    try:
        serving[0] = False
        watcher.join(30)
        assert not watcher.is_alive(), "still polling after the server is gone"
    finally:
        data._watched.discard(store.location)
        watcher.join(30)


def test_preparing_a_version_never_writes_a_store(
    app_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The watcher only reads: with the settings now naming another store (an edited
    config; in the tests, the next test's), nothing is written there, not even the
    demo snapshot a page would write; and its own store's missing demo is left to the
    next page."""
    run_page("pages/tableau_de_bord.py")
    watched = open_store(load_settings()).location
    (tmp_path / "other").mkdir()
    other = write_demo_config(tmp_path / "other")
    monkeypatch.setenv(CONFIG_ENV, str(other))
    conf = load_settings()
    assert not data.prepare_version(conf, watched)
    assert not (tmp_path / "other" / "demo.sqlite").exists()
    assert not data.prepare_version(conf, location_name(conf.store_location))
    assert SnapshotStore(conf.store_location).version == 0, "no demo written"
