"""The load scenario's websocket client against a real ``streamlit run`` (loopback).

A run counts as a page only when the page was drawn: these tests check the client saw
each page's content, and that a session whose cookie the app refuses, or a page the
role may not open, is never counted as a page run."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest

from benchmarks import load, load_report
from benchmarks.load_client import PAGE_TITLES, PageRun, Session
from carto.accounts import COORDINATOR, PARTNER, VOLUNTEER
from carto.i18n import t
from carto.settings import Settings

pytestmark = pytest.mark.slow
T = TypeVar("T")


def in_own_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` in a thread of its own: in a whole ``make test`` the browser
    tests' Playwright (sync API) keeps an event loop running in the main thread, where
    ``asyncio.run`` is refused."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings]]:
    folder = tmp_path_factory.mktemp("load")
    settings, _ = load.prepare(folder, camps=1, sessions=2, days=30)
    with load.serve(Path(str(settings.source)), folder / "streamlit.log") as (url, _pid):
        yield url, settings


async def _visit(url: str, cookie: str | None, page: str | None) -> list[PageRun]:
    session = Session(url, cookie)
    await session.open()
    try:
        runs = [await session.run()]
        if page is not None:
            runs.append(await session.run(page))
        return runs
    finally:
        await session.close()


def test_two_sessions_at_once_draw_their_pages(served: tuple[str, Settings]) -> None:
    url, settings = served
    visits = {COORDINATOR: "coordination", VOLUNTEER: "maraude"}

    async def both() -> list[list[PageRun]]:
        return await asyncio.gather(
            *(_visit(url, load.cookie(settings, role), page) for role, page in visits.items())
        )

    for (role, page), (first, run) in zip(visits.items(), in_own_loop(both()), strict=True):
        assert first.ok, (role, first.problem)
        assert first.heading == t("map.title")  # the default page
        assert run.ok, (role, run.problem)
        assert run.page == page
        assert run.heading == t(PAGE_TITLES[page])
        assert run.elements > 5  # more than a title: the page went on drawing


@pytest.mark.parametrize("cookie", [None, "cartocampement_session=not-a-signed-token"])
def test_a_refused_cookie_is_not_a_page_run(
    served: tuple[str, Settings], cookie: str | None
) -> None:
    url, _ = served
    (first, run) = in_own_loop(_visit(url, cookie, "synthese"))
    assert not first.ok and first.problem == "login form"
    assert not run.ok
    stats = load_report.overall([{**vars(r), "role": "?"} for r in (first, run)])
    assert stats["count"] == 0 and stats["failed"] == 2


def test_a_page_the_role_may_not_open_is_not_a_page_run(served: tuple[str, Settings]) -> None:
    url, settings = served
    (first, run) = in_own_loop(_visit(url, load.cookie(settings, PARTNER), "admin_utilisateurs"))
    assert first.ok, first.problem
    assert not run.ok
    assert run.problem.startswith("error message: " + t("auth.forbidden")[:20])
