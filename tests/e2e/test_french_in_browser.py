"""Every page of every role, as a person sees it on a desktop: French only (issue 13).

The visible text of each page (``document.body.innerText``, Streamlit's icon names left
out) and the text of its charts (plotly's SVG) hold no "None", "nan", "NaN", no "(s)",
no number with a decimal point, and none of the English words Streamlit shows by itself
("Running…", "Stop", "Show/hide columns", "Search", "Download as CSV", "Page not
found"…); its English controls (top bar, menu, table toolbar) are not visible.

Exclusions, stated: (1) the keyboard skip link Streamlit puts first on every page,
"Skip to main content", invisible until focused with the keyboard, which no setting
translates; (2) text the browser does not expose, drawn on a canvas: the map (its
tooltips are checked under AppTest, tests/test_french_pages.py) and the tables' cells
(same); (3) in the decimal-point check, dotted groups of more than two numbers (a
version such as 1.67.0, a date such as 26.11.2026: none is shown today). No coordinates
are shown as text on any page.

One browser, one context per role signed in once (its cookie opens each page).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from carto.accounts import ROLES
from carto.i18n import t
from carto.ui.navigation import PAGES, specs_for
from tests.e2e.conftest import VIEWPORT, sign_in, wait_for_cookie
from tests.e2e.helpers import page_url, settle

pytestmark = pytest.mark.e2e

MISSING_WORDS = re.compile(r"\b(None|nan|NaN|NaT|undefined)\b|<NA>")
PARENTHESISED_PLURAL = re.compile(r"\((e?s|e)\)")
# a number written with a decimal point, not part of a longer dotted group (versions)
DECIMAL_POINT = re.compile(r"(?<![\d.])\d+\.\d+(?![\d.])")
ENGLISH = re.compile(
    r"Show/hide|Download as CSV|Page not found|\bRunning\b|\bSearch\b|\bStop\b|"
    r"\bRerun\b|\bDeploy\b|Made with Streamlit|Fullscreen|Sort ascending|No results|"
    r"Clear cache|\bSettings\b|Record a screencast|\bAbout\b|Connecting|Please wait|"
    r"View \d+ more|View less"
)
SKIP_LINK = "Skip to main content"  # exclusion (1)

READ_PAGE = """() => {
  const icons = new Set([...document.querySelectorAll("[data-testid='stIconMaterial']")]
    .map(e => e.textContent.trim()));
  const lines = document.body.innerText.split('\\n').map(l => l.trim())
    .filter(l => l && !icons.has(l));
  const charts = [...document.querySelectorAll('.js-plotly-plot svg text')]
    .map(e => e.textContent.trim()).filter(Boolean);
  return {lines: lines, charts: charts};
}"""
ENGLISH_CONTROLS = (
    "[data-testid='stStatusWidget']",  # "Running…", "Stop"
    "[data-testid='stMainMenu']",  # "Print", "Settings", "About"
    "[data-testid='stToolbarActions'] button",
    "[data-testid='stElementToolbar']",  # "Show/hide columns", "Search", "Fullscreen"
)


def problems_in(text: str) -> list[str]:
    found = []
    for name, pattern in (
        ("missing value", MISSING_WORDS),
        ("(s)", PARENTHESISED_PLURAL),
        ("decimal point", DECIMAL_POINT),
        ("English", ENGLISH),
    ):
        for match in pattern.finditer(text):
            start = max(0, match.start() - 40)
            found.append(f"{name}: …{text[start : match.end() + 40]}…")
    return found


def read_page(page: Any) -> tuple[str, list[str]]:
    """The page's visible text (skip link excluded) and what is wrong with it."""
    if page.locator(".js-plotly-plot").count():
        page.wait_for_function(
            "() => [...document.querySelectorAll('.js-plotly-plot')]"
            ".every(p => p.querySelector('svg text'))",
            timeout=30_000,
        )
    read = page.evaluate(READ_PAGE)
    lines = [line for line in read["lines"] if line != SKIP_LINK]
    text = "\n".join([*lines, *read["charts"]])
    return text, problems_in(text)


def visible_english_controls(page: Any) -> list[str]:
    tables = page.locator("[data-testid='stDataFrame']")
    if tables.count():
        tables.first.hover()  # the table toolbar showed on hover
        page.wait_for_timeout(300)
    return [
        selector
        for selector in ENGLISH_CONTROLS
        if any(element.is_visible() for element in page.locator(selector).all())
    ]


@pytest.fixture(scope="module")
def role_tabs(browser: Any, app_url: str) -> Iterator[dict[str, Any]]:
    """One context per role, signed in once; one tab each, reused for every page."""
    contexts, tabs = [], {}
    for role in ROLES:
        context = browser.new_context(viewport=VIEWPORT)
        page = sign_in(context, app_url, role)
        wait_for_cookie(context)
        contexts.append(context)
        tabs[role] = page
    yield tabs
    for context in contexts:
        context.close()


def test_the_login_page_is_french(browser: Any, app_url: str) -> None:
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.goto(app_url)
    page.get_by_label(t("auth.login.username")).wait_for(timeout=60_000)
    settle(page)
    text, problems = read_page(page)
    assert t("auth.login.title") in text
    assert not problems, problems
    assert not visible_english_controls(page)
    context.close()


@pytest.mark.parametrize("role", ROLES)
def test_every_page_of_a_role_is_french(role_tabs: dict[str, Any], app_url: str, role: str) -> None:
    page = role_tabs[role]
    problems: dict[str, list[str]] = {}
    charts = 0
    for spec in specs_for(role):
        page.goto(page_url(app_url, spec))
        settle(page)
        text, found = read_page(page)
        assert t(spec.title_key) in text, (spec.path, text[:300])  # the page was read
        found += [f"visible: {s}" for s in visible_english_controls(page)]
        charts += page.locator(".js-plotly-plot").count()
        if found:
            problems[spec.path] = found
    assert not problems, problems
    if role != "benevole":
        assert charts > 0  # chart text was read too


def test_a_page_of_another_role_is_refused_in_french(
    role_tabs: dict[str, Any], app_url: str
) -> None:
    """Not Streamlit's English "Page not found": the app's stand-in refuses in French."""
    page = role_tabs["partenaire"]
    refused = [spec for spec in PAGES if "partenaire" not in spec.roles]
    assert refused
    for spec in refused:
        page.goto(page_url(app_url, spec))
        page.get_by_text(t("auth.forbidden")).wait_for(timeout=60_000)
        _, problems = read_page(page)
        assert not problems, (spec.path, problems)
