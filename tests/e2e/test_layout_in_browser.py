"""Every page of the coordinator on a desktop and on a 390×844 phone: a screenshot of
each in test-artifacts/, and no horizontal overflow on the phone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from carto.ui.navigation import specs_for
from tests.e2e.helpers import PHONE, open_page, page_url

pytestmark = pytest.mark.e2e

COORDINATOR_PAGES = specs_for("coordinateur")
KNOWN_OVERFLOW: dict[str, str] = {}  # url_path -> reason (xfail strict), see the report


@pytest.fixture(scope="module")
def phone(browser: Any, signed_in: Any) -> Iterator[Any]:
    """A phone-sized browser holding the coordinator's sign-in cookie."""
    context = browser.new_context(
        viewport=PHONE, storage_state=signed_in.storage_state(), is_mobile=True, has_touch=True
    )
    yield context
    context.close()


WIDTHS = """() => {
  const main = document.querySelector("[data-testid='stMain']")
    || document.querySelector("[data-testid='stAppViewContainer']");
  return {
    doc: document.documentElement.scrollWidth,
    inner: window.innerWidth,
    main: main.scrollWidth,
    mainClient: main.clientWidth,
  };
}"""


@pytest.mark.parametrize(
    "spec",
    [
        pytest.param(
            s,
            id=s.url_path,
            marks=[pytest.mark.xfail(strict=True, reason=KNOWN_OVERFLOW[s.url_path])]
            if s.url_path in KNOWN_OVERFLOW
            else [],
        )
        for s in COORDINATOR_PAGES
    ],
)
def test_page_fits_a_phone(
    signed_in: Any, phone: Any, app_url: str, artifacts: Path, spec: Any
) -> None:
    url = page_url(app_url, spec)
    desktop = open_page(signed_in, url)
    desktop.screenshot(path=str(artifacts / f"desktop_{spec.url_path}.png"), full_page=True)
    desktop.close()

    page = open_page(phone, url)
    page.wait_for_timeout(700)  # charts size themselves to the column after the run
    page.screenshot(path=str(artifacts / f"phone_{spec.url_path}.png"), full_page=True)
    w = page.evaluate(WIDTHS)
    page.close()
    assert w["doc"] <= w["inner"] + 1, f"{spec.url_path}: page {w['doc']}px > {w['inner']}px"
    assert w["main"] <= w["mainClient"] + 1, (
        f"{spec.url_path}: main {w['main']}px > {w['mainClient']}px"
    )
