"""Issue 10 in a real browser: each role sees only its pages, a filter changes the
figures, a CSV export matches the dashboard, a partner never sees an exact position."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pandas as pd
import pytest

from carto import privacy
from carto.accounts import ROLES
from carto.analytics.figures import Period
from carto.i18n import format_date, t
from carto.map_view import PARIS_VIEW
from carto.settings import Settings
from tests.e2e.conftest import VIEWPORT, sign_in, wait_for_cookie
from tests.e2e.helpers import (
    download_file,
    expected_titles,
    is_written_zone_centre,
    metric_value,
    open_page,
    position_pairs,
    settle,
    sidebar_titles,
)

pytestmark = pytest.mark.e2e

PASSAGES = t("dash.passages")
ASSOCIATION = "Croix-Rouge française"
ASSOCIATION_CODE = "croix-rouge-francaise"  # as the address holds it
PERIOD_30, PERIOD_7, ALL = "30j", "7j", "tout"


def partner_resolution() -> int:
    """The partner's zone resolution of the demo config (the declared default)."""
    return int(Settings({})["privacy.partner_h3_resolution"])


@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_only_its_pages(browser: Any, app_url: str, role: str) -> None:
    context = browser.new_context(viewport=VIEWPORT)
    page = sign_in(context, app_url, role)
    assert sidebar_titles(page) == expected_titles(role)
    context.close()


def test_choosing_an_association_changes_the_passages(signed_in: Any, app_url: str) -> None:
    query = urlencode({"periode": PERIOD_30})
    page = open_page(signed_in, f"{app_url}/tableau_de_bord?{query}")
    everyone = metric_value(page, PASSAGES)
    assert everyone > 0

    sidebar = page.locator("[data-testid='stSidebar']")
    sidebar.locator("[data-testid='stMultiSelect']", has_text=t("filter.associations")).click()
    page.get_by_role("option", name=ASSOCIATION, exact=True).click()
    page.keyboard.press("Escape")
    page.wait_for_function(
        f"() => location.search.includes('assoc={ASSOCIATION_CODE}')", timeout=30_000
    )
    settle(page)
    one = metric_value(page, PASSAGES)
    assert 0 < one < everyone

    # the same view from its URL, as a colleague would open a shared link
    shared = open_page(
        signed_in,
        f"{app_url}/tableau_de_bord?{urlencode({'periode': PERIOD_30, 'assoc': ASSOCIATION_CODE})}",
    )
    assert metric_value(shared, PASSAGES) == one
    shared.goto(
        f"{app_url}/tableau_de_bord?{urlencode({'periode': PERIOD_7, 'assoc': ASSOCIATION_CODE})}"
    )
    settle(shared)
    assert metric_value(shared, PASSAGES) < one
    page.close()
    shared.close()


def test_filters_stay_in_the_address_as_codes_across_pages(
    signed_in: Any, app_url: str, artifacts: Path
) -> None:
    query = urlencode({"periode": "mois-dernier", "public": "mna", "arr": "75019"})
    page = open_page(signed_in, f"{app_url}/tableau_de_bord?{query}")
    sidebar = page.locator("[data-testid='stSidebar']")
    month = Period.month_before(pd.Timestamp.now(tz="Europe/Paris").date())  # the demo's today
    caption = t("filter.period_caption", start=format_date(month.start), end=format_date(month.end))
    assert sidebar.get_by_text(caption).count() == 1
    assert all(param in page.url for param in query.split("&"))

    # another page from the menu: Streamlit drops unbound parameters on a page change,
    # the sidebar writes the codes back
    sidebar.locator("[data-testid='stSidebarNavLink']", has_text=t("nav.map")).click()
    page.get_by_role("heading", name=t("map.title")).wait_for(timeout=60_000)
    page.wait_for_function(
        "() => ['periode=mois-dernier', 'public=mna', 'arr=75019']"
        ".every(p => location.search.includes(p))",
        timeout=30_000,
    )
    settle(page)
    assert sidebar.get_by_text(caption).count() == 1
    assert "Mineurs" not in page.url and "Mois" not in page.url
    page.screenshot(path=str(artifacts / "filtres_codes_carte.png"), full_page=True)
    page.close()

    bad = open_page(signed_in, f"{app_url}/tableau_de_bord?periode=hier&assoc={ASSOCIATION_CODE}")
    toast = bad.locator("[data-testid='stToast']")
    toast.first.wait_for(timeout=30_000)
    assert "periode=hier" in toast.first.inner_text()
    bad.wait_for_function("() => !location.search.includes('periode')", timeout=30_000)
    assert f"assoc={ASSOCIATION_CODE}" in bad.url
    bad.close()


def download_csv(page: Any, label_start: str) -> tuple[str, list[dict[str, str]]]:
    download = download_file(page, label_start)
    raw = Path(download.path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "CSV without UTF-8 BOM"
    text = raw.decode("utf-8-sig")
    return download.suggested_filename, list(csv.DictReader(io.StringIO(text)))


def test_export_csv_matches_the_dashboard(signed_in: Any, app_url: str, artifacts: Path) -> None:
    query = urlencode({"periode": PERIOD_30, "assoc": ASSOCIATION_CODE})
    dash = open_page(signed_in, f"{app_url}/tableau_de_bord?{query}")
    expected = metric_value(dash, PASSAGES)
    dash.close()

    page = open_page(signed_in, f"{app_url}/export?{query}")
    name, rows = download_csv(page, t("export.download", name=""))
    page.screenshot(path=str(artifacts / "export_croix_rouge_30j.png"), full_page=True)
    page.close()
    assert name.endswith(".csv")
    column = t("export.col.association")
    assert rows and column in rows[0], f"no {column!r} column in {name}"
    assert {row[column] for row in rows} == {ASSOCIATION}
    assert len(rows) == expected


def test_partner_sees_no_exact_position(browser: Any, app_url: str, artifacts: Path) -> None:
    resolution = partner_resolution()
    context = browser.new_context(viewport=VIEWPORT)
    page = sign_in(context, app_url, "partenaire")
    wait_for_cookie(context)
    page.close()

    page = context.new_page()
    frames: list[str] = []

    def on_websocket(ws: Any) -> None:
        def keep(payload: Any) -> None:
            data = payload if isinstance(payload, bytes) else str(payload).encode()
            frames.append(data.decode("utf-8", errors="replace"))

        ws.on("framereceived", keep)

    page.on("websocket", on_websocket)
    page.goto(f"{app_url}/?{urlencode({'periode': ALL})}")
    settle(page)
    page.locator("[data-testid='stDeckGlJsonChart']").wait_for(timeout=60_000)
    page.wait_for_timeout(1_500)
    html = page.content()
    page.screenshot(path=str(artifacts / "partenaire_carte.png"), full_page=True)
    page.close()

    from_deck = position_pairs("\n".join(frames))
    assert from_deck, "no position found in the map's data (deck.gl JSON)"
    # the map's initial view (a fixed point of Paris, no camp) is not a camp's position
    view = {(str(PARIS_VIEW.latitude), str(PARIS_VIEW.longitude))}
    exact = [
        pair
        for pair in position_pairs(html) + from_deck
        if pair not in view and not is_written_zone_centre(*pair, resolution)
    ]
    assert not exact, f"exact positions shown to a partner: {exact[:5]}"

    page = open_page(context, f"{app_url}/export?{urlencode({'periode': ALL})}")
    name, rows = download_csv(page, t("export.download", name=""))
    page.close()
    context.close()
    lat_col, lon_col = t("export.col.latitude"), t("export.col.longitude")
    assert rows and lat_col in rows[0], f"no position column in {name}"
    located = [(float(r[lat_col]), float(r[lon_col])) for r in rows if r[lat_col]]
    assert located
    exact = [p for p in located if not privacy.is_zone_centre(*p, resolution)]
    assert not exact, f"exact positions in {name}: {exact[:5]}"
