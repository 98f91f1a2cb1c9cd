"""The load scenario's statistics, memory check and run judging (no server, no timing)."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest
from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from benchmarks import load, load_report
from benchmarks.load_client import PAGE_TITLES, _read, _Reading, judge
from carto.accounts import ROLES
from carto.i18n import t
from carto.ui.navigation import PAGES, specs_for


def test_nearest_rank_returns_a_measured_value() -> None:
    values = [float(v) for v in range(1, 21)]  # 1..20
    assert load_report.nearest_rank(values, 0.95) == 19.0
    assert load_report.nearest_rank(values, 0.5) == 10.0
    assert load_report.nearest_rank([3.0, 1.0, 2.0], 1.0) == 3.0
    assert load_report.nearest_rank([7.0], 0.95) == 7.0
    with pytest.raises(ValueError):
        load_report.nearest_rank([], 0.5)
    with pytest.raises(ValueError):
        load_report.nearest_rank([1.0], 0.0)


def _run(page: str, role: str, seconds: float, ok: bool = True) -> dict[str, Any]:
    return {"page": page, "role": role, "seconds": seconds, "ok": ok}


def test_failed_runs_are_counted_apart_not_in_the_times() -> None:
    runs = [
        _run("carte", "admin", 1.0),
        _run("carte", "admin", 3.0),
        _run("carte", "benevole", 0.01, ok=False),  # a login form, drawn fast
        _run("export", "admin", 2.0),
    ]
    per_page = load_report.grouped(runs, lambda r: r["page"])
    assert per_page["carte"] == {"count": 2, "median": 1.0, "p95": 3.0, "max": 3.0, "failed": 1}
    assert per_page["export"]["count"] == 1
    per_role = load_report.grouped(runs, lambda r: r["role"])
    assert per_role["benevole"] == {
        "count": 0,
        "median": None,
        "p95": None,
        "max": None,
        "failed": 1,
    }
    assert load_report.overall(runs)["median"] == 2.0
    assert load_report.overall([])["count"] == 0


def test_ratio_needs_both_figures() -> None:
    assert load_report.ratio(3.0, 1.5) == 2.0
    assert load_report.ratio(None, 1.0) is None
    assert load_report.ratio(1.0, 0.0) is None


def _memory(warm: float, waves: list[tuple[float, float]]) -> dict[str, Any]:
    return {"warm_mib": warm, "waves": [{"open_mib": o, "closed_mib": c} for o, c in waves]}


def test_memory_check_per_session_and_growth() -> None:
    good = load_report.memory_check(_memory(500, [(600, 520), (610, 522), (605, 523)]), 10, 25)
    assert good["per_session_mib"] == [10.0, 9.0, 8.3]
    assert good["growth_mib_per_wave"] == [20, 2, 1]
    assert good["met"]
    fat = load_report.memory_check(_memory(500, [(900, 520)]), 10, 25)  # 40 MiB a session
    assert not fat["met"]
    leak = load_report.memory_check(_memory(500, [(600, 550), (650, 600), (700, 650)]), 10, 25)
    assert leak["growth_mib_per_wave"][1:] == [50, 50] and not leak["met"]


def test_every_page_has_the_title_that_proves_it_was_drawn() -> None:
    assert set(PAGE_TITLES) == {spec.url_path for spec in PAGES}
    for key in PAGE_TITLES.values():
        assert t(key) != key


def _finished(headings: list[str], *alerts: str) -> _Reading:
    reading = _Reading(headings=headings, finished=ForwardMsg.FINISHED_SUCCESSFULLY)
    for body in alerts:
        msg = ForwardMsg()
        msg.delta.new_element.alert.body = body
        msg.delta.new_element.alert.format = Alert.ERROR
        _read(msg, reading)
    return reading


def test_judge_tells_a_drawn_page_from_a_failed_one() -> None:
    title = t(PAGE_TITLES["coordination"])
    assert judge("coordination", _finished([title])) == ""
    # an st.error that is the page's content (protection alerts) does not fail it
    assert judge("coordination", _finished([title], "3 campements avec mineurs")) == ""
    unexpected = t("error.unexpected", reference="ab12cd34")
    assert judge("coordination", _finished([title], unexpected)).startswith("error message")
    assert judge("coordination", _finished([t("auth.login.title")])) == "login form"
    assert "instead of" in judge("coordination", _finished([t("map.title")]))
    assert "instead of" in judge("coordination", _finished([]))
    stopped = _Reading(headings=[title], finished=ForwardMsg.FINISHED_WITH_COMPILE_ERROR)
    assert judge("coordination", stopped).startswith("script_finished")
    assert judge("coordination", _Reading(headings=[title])).startswith("script_finished")


def test_the_roles_walk_every_page_they_may_open() -> None:
    mixed = {load.role_of(i) for i in range(10)}
    assert mixed == set(ROLES)
    for role in ROLES:
        order = load.walk_order(role, 2, random.Random(1))
        pages = [spec.url_path for spec in specs_for(role)]
        assert sorted(order) == sorted(pages * 2)
    names = load.account_names(10)
    assert len(names) == 14 and set(names.values()) == set(ROLES)


def test_report_has_the_tables() -> None:
    figures = {"count": 2, "median": 1.0, "p95": 2.0, "max": 2.0, "failed": 0}
    side: dict[str, Any] = {k: figures for k in ("overall", "session_starts", "clicks")}
    side |= {"per_role": {"admin": figures}, "per_page": {"carte": figures}}
    wave = {
        "phase": "wave1",
        "servers": 1,
        "seconds": 50.0,
        "server_cpu_seconds": [40.0],
        "load_average": [3.0, 2.0, 1.0],
        "runs": 80,
    }
    result: dict[str, Any] = {
        "label": "1,000 passages",
        "sessions": 10,
        "one_replica": side
        | {
            "alone": side,
            "after_refresh": figures,
            "refresh_wave": side,
            "waves": [wave],
        },
        "two_replicas": side | {"alone": side, "waves": [wave | {"servers": 2}]},
        "memory": {
            "start_mib": 70.0,
            "one_session_mib": 260.0,
            "refresh_wave": {"open_mib": 290.0, "closed_mib": 285.0},
            "peak_mib": 300.0,
        }
        | _memory(270.0, [(280.0, 272.0)]),
    }
    result["memory"]["check"] = load_report.memory_check(result["memory"], 10, 25.0)
    text = load_report.report(result)
    assert "| first page after a refresh" in text
    assert "| 2 replicas: clicks (other runs)" in text
    assert re.search(r"40 s \(0\.80 cores\) \|\s+0\.50 s \|", text)  # CPU per page run
    assert "per session (worst wave)" in text
    assert text.rstrip().endswith("met |")


def _timed_run(user: str, started: float, phase: str = "refresh") -> dict[str, Any]:
    return {"user": user, "started": started, "phase": phase, "after_refresh": False}


def test_the_first_page_after_a_refresh_is_each_sessions_first_asked_after_the_commit() -> None:
    runs = [
        _timed_run("a", 9.0),
        _timed_run("a", 10.4),  # a's first after the commit at 10.0
        _timed_run("a", 11.0),
        _timed_run("b", 10.0),  # asked in the commit's instant: after it
        _timed_run("b", 10.2),
        _timed_run("c", 9.9),  # c asked nothing after it
        _timed_run("d", 10.1, phase="wave1"),  # another wave's
    ]
    assert load.mark_after_refresh(runs, "refresh", 10.0) == 2
    marked = [(r["user"], r["started"]) for r in runs if r["after_refresh"]]
    assert marked == [("a", 10.4), ("b", 10.0)]


def test_the_refreshing_process_is_shut_down_without_holding_the_clients(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Waiting for the refreshing process to exit ran in the clients' event loop: every
    client stood still meanwhile (their clicks then went out all at once, and the pages
    that finished meanwhile were read late). The loop now runs during the shutdown."""
    import asyncio
    import concurrent.futures
    import threading
    from types import SimpleNamespace

    shutting_down, loop_ran = threading.Event(), threading.Event()
    seen: list[bool] = []

    class Pool:
        def __init__(self, *args: object, **kwargs: object) -> None:
            pass

        def submit(self, fn: Any, *args: Any) -> concurrent.futures.Future[Any]:
            done: concurrent.futures.Future[Any] = concurrent.futures.Future()
            done.set_result(fn(*args))
            return done

        def shutdown(self, wait: bool = True, **kwargs: object) -> None:
            shutting_down.set()
            seen.append(loop_ran.wait(timeout=5))

        def __enter__(self) -> Pool:
            return self

        def __exit__(self, *exc: object) -> None:
            self.shutdown()

    monkeypatch.setattr(load, "ProcessPoolExecutor", Pool)
    monkeypatch.setattr(load, "load_settings", lambda config: None)
    monkeypatch.setattr(load, "refresh_store", lambda config: (0.5, 2, 123.0))

    async def scenario() -> dict[str, Any]:
        walker = load.Walker((0.0, 0.0), 1)
        walker.halfway.set()
        info: dict[str, Any] = {}
        refreshing = asyncio.ensure_future(
            load._refresh_halfway(walker, SimpleNamespace(source="x.toml"), info)  # type: ignore[arg-type]
        )
        while not refreshing.done():
            await asyncio.sleep(0.01)
            if shutting_down.is_set():  # a tick of the loop during the shutdown
                loop_ran.set()
        await refreshing
        return info

    # in a thread of its own: under `make test` the browser suite's playwright keeps an
    # event loop running in the main thread, where asyncio.run is refused
    with concurrent.futures.ThreadPoolExecutor(1) as runner:
        info = runner.submit(asyncio.run, scenario()).result()
    assert seen == [True], "the event loop ran while the pool shut down"
    assert info["refresh_committed_at"] == 123.0 and info["refresh_version"] == 2


def test_the_main_threads_cpu_time_is_part_of_the_process() -> None:
    """The server's event loop (its main thread, whose id is the process's) apart from
    the whole process."""
    import os

    pid = os.getpid()
    main = load.cpu_seconds(pid, pid)
    assert 0.0 < main <= load.cpu_seconds(pid)
