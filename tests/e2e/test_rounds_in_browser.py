"""Issue 17 in a real browser at 390 px: "Autour de moi" with the geolocation granted
(Playwright sets the position) lists the nearest camps in order, with the form link
carrying the site id; denied, it shows the fallback; a round prepared from a shared link
is saved, printed, and seen on Coordination by a partner.

The app is served with a ``[forms] passage_url`` of its own (this module's server)."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from carto import rounds
from carto.analytics import alerts, camps, hotspots
from carto.dataset import build_dataset, open_store
from carto.i18n import format_date, t
from carto.options import AnalysisOptions
from carto.settings import load_settings
from tests.conftest import write_demo_config
from tests.e2e.conftest import serve, sign_in, wait_for_cookie
from tests.e2e.helpers import PHONE, settle

pytestmark = pytest.mark.e2e

FORM = "https://airtable.example/shrFORM?prefill_Site={site_id}&prefill_Nom={name}"
RADIUS_M = 2000  # the page's default radius (carto.ui.rounds.DEFAULT_RADIUS_M)


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = write_demo_config(tmp_path_factory.mktemp("e2e-rounds"))
    path.write_text(
        path.read_text(encoding="utf-8") + f'[forms]\npassage_url = "{FORM}"\n', encoding="utf-8"
    )
    return path


@pytest.fixture(scope="module")
def url(config: Path) -> Iterator[str]:
    with serve(config) as served:
        yield served


def board_of(config: Path) -> pd.DataFrame:
    """The camps the served app sees today (the same store, the same functions)."""
    settings = load_settings(config)
    ds = build_dataset(settings, open_store(settings))
    opts = AnalysisOptions.from_settings(settings)
    as_of = opts.day_start(ds.today)
    states = camps.camp_states(ds.passages, ds.sites, as_of, opts.active_days)
    found = alerts.protection_alerts(
        ds.passages, ds.sites, as_of + pd.Timedelta(days=1), opts.alert_hours
    )
    scores = hotspots.camp_scores(
        ds.passages, states, as_of, opts.population_window_days, opts.weights
    )
    return rounds.camp_board(states, found, scores)


def entries(page: Any) -> list[str]:
    """The texts of the camp entries, in page order."""
    return page.locator("[class*='st-key-camp-']").all_inner_texts()


def log_in(context: Any, url: str, username: str) -> None:
    """Sign in, and wait for the cookie that keeps the next pages signed in."""
    page = sign_in(context, url, username)
    wait_for_cookie(context)
    page.close()


def phone(browser: Any, **options: Any) -> Any:
    return browser.new_context(viewport=PHONE, **options)


def test_granted_lists_the_nearest_camps_in_order_with_the_form_link(
    browser: Any, url: str, config: Path
) -> None:
    board = board_of(config)
    # stand a few metres north of a camp that a Site backs: it is the nearest
    sited = board[board["camp_id"].str.startswith("S-")].iloc[0]
    lat, lon = sited["latitude"] + 0.0001, sited["longitude"]
    expected = rounds.nearby(board, lat, lon, RADIUS_M, 1.3)
    assert len(expected) >= 1
    context = phone(
        browser,
        geolocation={"latitude": lat, "longitude": lon, "accuracy": 20},
        permissions=["geolocation"],
    )
    try:
        log_in(context, url, "benevole")
        page = context.new_page()
        page.goto(f"{url}/autour_de_moi")
        page.get_by_text(re.compile("à moins de")).first.wait_for(timeout=60_000)
        settle(page)
        shown = entries(page)
        assert len(shown) == len(expected)
        for text, name in zip(shown, expected["name"], strict=True):
            assert text.splitlines()[0].strip() == name
        walks = re.findall(r"À ([\d\u202f,]+) (m|km) à pied", "\n".join(shown))
        metres = [
            float(n.replace("\u202f", "").replace(",", ".")) * (1000 if unit == "km" else 1)
            for n, unit in walks
        ]
        assert len(metres) == len(expected) and metres == sorted(metres)  # nearest first
        # the form link of the nearest camp carries its Site id
        first = page.locator("[class*='st-key-camp-0']")
        href = first.get_by_role("link", name=re.compile(t("passage.link"))).get_attribute("href")
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(href).query, keep_blank_values=True)
        assert expected["camp_id"].iloc[0] == sited["camp_id"]
        assert query["prefill_Site"] == [rounds.site_id_of(sited["camp_id"])]
        assert query["prefill_Site"][0].startswith("rec")
        directions = first.get_by_role("link", name=re.compile(t("directions.link"))).first
        assert directions.get_attribute("href").startswith("geo:")
        assert t("nearby.privacy") in page.locator("body").inner_text()
    finally:
        context.close()


def test_denied_shows_the_fallback(browser: Any, url: str) -> None:
    context = phone(browser)
    try:
        log_in(context, url, "benevole")
        page = context.new_page()
        # the person said no: this context's permission for the app is "denied"
        target = context.new_cdp_session(page).send("Target.getTargetInfo")["targetInfo"]
        browser.new_browser_cdp_session().send(
            "Browser.setPermission",
            {
                "permission": {"name": "geolocation"},
                "setting": "denied",
                "origin": url,
                "browserContextId": target["browserContextId"],
            },
        )
        page.goto(f"{url}/autour_de_moi")
        page.get_by_text(re.compile("^Localisation refusée")).wait_for(timeout=60_000)
        settle(page)
        assert page.get_by_text(t("nearby.fallback")).count() >= 1
        assert len(entries(page)) >= 1  # the camps of the first arrondissement
        assert "à moins de" not in page.locator("body").inner_text()
    finally:
        context.close()


def test_a_round_is_prepared_printed_and_seen_on_coordination(
    browser: Any, url: str, config: Path
) -> None:
    context = phone(browser)
    try:
        log_in(context, url, "coordinateur")
        page = context.new_page()
        # the link a coordinator shares with the team opens the same round
        page.goto(f"{url}/maraude?pour=action-contre-la-faim&equipe=E2E+Est&nb=4")
        settle(page)
        assert page.get_by_text(re.compile("^Trajet à pied")).count() == 1
        field = page.locator("[class*='st-key-camp-']")
        field.first.wait_for(timeout=60_000)
        names = [text.splitlines()[0].split(". ", 1)[1] for text in field.all_inner_texts()]
        assert 1 <= len(names) <= 4

        with page.expect_download(timeout=60_000) as info:
            page.locator("[data-testid='stDownloadButton'] button").click()
        sheet = Path(info.value.path()).read_text(encoding="utf-8")
        evening = format_date(pd.Timestamp.now(tz="Europe/Paris").date())
        assert f"Maraude du {evening} — Action contre la Faim" in sheet
        assert "Équipe : E2E Est" in sheet and "window.print()" in sheet
        for name in names:
            assert name.replace("'", "&#39;") in sheet or name in sheet

        page.get_by_role("button", name=re.compile("Enregistrer pour le soir")).click()
        page.get_by_text(re.compile("Maraude enregistrée")).wait_for(timeout=60_000)
    finally:
        context.close()

    partner = phone(browser)
    try:
        log_in(partner, url, "partenaire")
        page = partner.new_page()
        page.goto(f"{url}/coordination")
        settle(page)
        table = page.locator(".st-key-tablenarrow-planned-tonight")
        # the grid's cells are drawn a moment after its container shows
        table.get_by_text("Action contre la Faim").first.wait_for(timeout=60_000)
        text = table.inner_text()
        assert text.count("Action contre la Faim") == len(names)
        assert "E2E Est" not in page.locator("body").inner_text()  # no team for a partner
    finally:
        partner.close()
