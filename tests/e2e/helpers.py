"""Small helpers shared by the browser tests: opening a page, reading a metric, and
finding the positions a page or a file gives away."""

from __future__ import annotations

import re
from typing import Any

import h3

from carto import privacy
from carto.i18n import t
from carto.ui.navigation import PAGES, PageSpec, specs_for

PHONE = {"width": 390, "height": 844}
# Paris and around: a latitude near 48.8, a longitude near 2.35, with enough digits to
# place a point (two decimals, about 1 km, are not a position).
_LAT = r"4[89]\.\d{3,}"
_LON = r"[23]\.\d{3,}"
NUMBER = re.compile(rf"(?<![\d.])-?(?:{_LAT}|{_LON})(?![\d])")


def expected_titles(role: str) -> list[str]:
    """The sidebar titles of a role, in menu order, from the page registry."""
    return [t(spec.title_key) for spec in specs_for(role, PAGES)]


def page_url(app_url: str, spec: PageSpec, query: str = "") -> str:
    path = "" if spec.default else spec.url_path
    return f"{app_url}/{path}" + (f"?{query}" if query else "")


# Streamlit's run state, on its root element: the status widget ("Running…") that told
# it before is hidden (``ui.hideTopBar`` in .streamlit/config.toml: it speaks English).
RUN_FINISHED = (
    "() => { const app = document.querySelector(\"[data-testid='stApp']\");"
    " const state = app ? app.getAttribute('data-test-script-state') : 'running';"
    " return state !== 'running' && state !== 'rerunRequested'"
    " && !document.querySelector(\"[data-testid='stStatusWidget'] button\")"
    " && !document.querySelector(\"[data-testid='stSpinner']\"); }"
)


def settle(page: Any, timeout: float = 60_000) -> None:
    """Wait until the page has a title and Streamlit has finished its run."""
    page.wait_for_selector("h1", timeout=timeout)
    page.wait_for_function(RUN_FINISHED, timeout=timeout)
    page.wait_for_timeout(800)


def open_page(context: Any, url: str) -> Any:
    page = context.new_page()
    page.goto(url)
    settle(page)
    return page


def metric_value(page: Any, label: str) -> int:
    """The integer a metric shows (French thousands separators removed)."""
    metric = page.locator("[data-testid='stMetric']", has_text=label).first
    text = metric.locator("[data-testid='stMetricValue']").inner_text(timeout=60_000)
    return int(re.sub(r"[\s\u202f\u00a0]", "", text))


def download_file(page: Any, label_start: str) -> Any:
    """Click the download button whose label starts with ``label_start``, once, the page
    settled; the download (playwright's ``Download``: ``url``, ``suggested_filename``,
    ``path()``). The click does not rerun the page (``carto.ui.downloads``), so nothing
    replaces the button under it."""
    settle(page)
    button = page.locator("[data-testid='stDownloadButton']", has_text=label_start).first
    try:
        button.wait_for(timeout=120_000)
    except Exception as error:  # say which page the browser was on instead
        titles = page.locator("h1").all_inner_texts()
        raise AssertionError(f"no button {label_start!r} on {page.url} {titles}") from error
    with page.expect_download(timeout=60_000) as info:
        button.locator("button").click()
    return info.value


def sidebar_titles(page: Any) -> list[str]:
    """The page titles of the sidebar navigation, "show more" unfolded."""
    nav = page.locator("[data-testid='stSidebarNav']")
    nav.wait_for(timeout=60_000)
    more = page.locator("[data-testid='stSidebarNavViewButton']")
    if more.count() and "more" in more.inner_text().lower():
        more.click()
    links = nav.locator("[data-testid='stSidebarNavLink']")
    # each link reads "<material icon name>\n\n<title>": keep the title
    return [str(s).strip().splitlines()[-1].strip() for s in links.all_inner_texts()]


def position_pairs(text: str, window: int = 120) -> list[tuple[str, str]]:
    """(latitude, longitude) pairs in a text, as written: each latitude-like number with
    the nearest longitude-like number within ``window`` characters (either order)."""
    found = [(m.start(), m.group()) for m in NUMBER.finditer(text)]
    lats = [(i, v) for i, v in found if 48.0 < float(v) < 50.0]
    lons = [(i, v) for i, v in found if 2.0 < float(v) < 4.0]
    pairs = []
    for i, lat in lats:
        near = [(abs(j - i), lon) for j, lon in lons if abs(j - i) <= window]
        if near:
            pairs.append((lat, min(near)[1]))
    return pairs


def _decimals(number: str) -> int:
    return len(number.split(".", 1)[1]) if "." in number else 0


def is_written_zone_centre(lat: str, lon: str, resolution: int) -> bool:
    """Whether a written position is an H3 zone centre, allowing for the rounding of the
    digits written (the map rounds to 6 decimals, about 0.1 m)."""
    if privacy.is_zone_centre(float(lat), float(lon), resolution):
        return True
    c_lat, c_lon = h3.cell_to_latlng(h3.latlng_to_cell(float(lat), float(lon), resolution))
    return (
        _decimals(lat) >= 5
        and _decimals(lon) >= 5
        and abs(round(c_lat, _decimals(lat)) - float(lat)) < 1e-12
        and abs(round(c_lon, _decimals(lon)) - float(lon)) < 1e-12
    )
