"""Issue 14, item 6 in a real browser: a camp named with markdown and HTML, tapped on
the map, shows its name as text in the card (Streamlit's own markdown renderer: no
link, no image, no code, maths, icon or colour), and nothing is fetched from outside."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from carto.i18n import t
from carto.map_view import PARIS_VIEW
from carto.text import WORD_JOINER
from testing.hostile import EVIL_HOST, HOSTILE, write_hostile_demo
from tests.conftest import write_demo_config
from tests.e2e.conftest import VIEWPORT, serve, sign_in
from tests.e2e.helpers import settle

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def hostile_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An app on a demo whose every camp is named ``HOSTILE`` and placed at the centre
    of the map's initial view: a tap there selects one."""
    config = write_demo_config(tmp_path_factory.mktemp("e2e-hostile"))
    write_hostile_demo(config, (PARIS_VIEW.latitude, PARIS_VIEW.longitude))
    with serve(config) as url:
        yield url


def test_a_hostile_camp_name_shows_as_text(browser: Any, hostile_url: str, artifacts: Any) -> None:
    context = browser.new_context(viewport=VIEWPORT)
    fetched: list[str] = []
    context.on("request", lambda request: fetched.append(request.url))
    page = sign_in(context, hostile_url, "coordinateur")
    settle(page)
    canvas = page.locator("[data-testid='stDeckGlJsonChart'] canvas").first
    canvas.wait_for(timeout=60_000)
    page.wait_for_timeout(2_000)  # deck.gl draws (and can pick) once its layers loaded
    box = canvas.bounding_box()
    assert box is not None
    title = page.get_by_text(t("map.selected"), exact=True)
    for _ in range(3):  # a tap during a rerun may be lost: tap again
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        try:
            title.wait_for(timeout=20_000)
            break
        except PlaywrightTimeout:
            continue
    settle(page)
    card = page.locator("[data-testid='stVerticalBlock']", has=title).last
    name = card.locator("[data-testid='stMarkdownContainer']", has_text=t("map.tooltip.last_visit"))
    name.wait_for(timeout=30_000)
    page.screenshot(path=str(artifacts / "carte_nom_hostile.png"), full_page=True)

    shown = " ".join(name.inner_text().replace(WORD_JOINER, "").split())
    assert " ".join(HOSTILE.split()) in shown
    for selector in ("a", "img", "code", "pre", ".katex", "[role='img']", "span[style]"):
        assert name.locator(selector).count() == 0, selector
    assert page.locator(f"img[src*='{EVIL_HOST}'], a[href*='{EVIL_HOST}']").count() == 0
    assert not [url for url in fetched if EVIL_HOST in url]
    context.close()
