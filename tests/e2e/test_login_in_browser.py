"""Signing in as a person does: the form, the cookie across reloads, logout everywhere,
and a partner typing the URL of a page their role may not open."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.e2e.conftest import COOKIE_NAME, VIEWPORT, sign_in, wait_for_cookie

pytestmark = pytest.mark.e2e

MAP_TITLE = "Carte des campements"


def h1(page: Any, expected: str) -> str:
    """The page's title once it reads ``expected`` (the browser may still show the
    previous page for a moment); on a timeout, the title it shows instead."""
    title = page.locator("h1").first
    with contextlib.suppress(PlaywrightTimeout):
        title.filter(has_text=expected).wait_for(timeout=60_000)
    return str(title.inner_text())


def test_login_form_cookie_and_logout(browser: Any, app_url: str) -> None:
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.goto(app_url)
    assert h1(page, "Connexion") == "Connexion"
    page.get_by_text("Ces comptes n'existent qu'en démonstration").wait_for(timeout=30_000)

    page.get_by_label("Identifiant").fill("benevole")
    page.get_by_label("Mot de passe").fill("pas le bon")
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_text("Identifiant ou mot de passe incorrect.").wait_for(timeout=30_000)
    page.close()

    page = sign_in(context, app_url, "benevole")
    assert h1(page, MAP_TITLE) == MAP_TITLE
    cookie = wait_for_cookie(context)

    page.reload()  # a new Streamlit session: the cookie signs it in
    assert h1(page, MAP_TITLE) == MAP_TITLE
    assert page.get_by_label("Identifiant").count() == 0

    page.get_by_role("button", name="Se déconnecter").click()
    page.get_by_text("Vous êtes déconnecté·e").wait_for(timeout=30_000)
    assert h1(page, "Connexion") == "Connexion"
    wait_for_cookie(context, present=False)  # the browser deleted it, then reran the page
    page.wait_for_timeout(1500)
    assert page.get_by_text("Vous êtes déconnecté·e").count() == 1  # the notice stays
    page.reload()
    assert h1(page, "Connexion") == "Connexion"
    context.close()

    # the cookie issued before the logout, replayed from another browser: refused
    thief = browser.new_context(viewport=VIEWPORT)
    host = app_url.split("//", 1)[1].split(":", 1)[0]
    thief.add_cookies([{"name": COOKIE_NAME, "value": cookie, "domain": host, "path": "/"}])
    page = thief.new_page()
    page.goto(app_url)
    assert h1(page, "Connexion") == "Connexion"
    thief.close()


def no_streamlit_dialog(page: Any) -> bool:
    """No dialog of Streamlit's own ("Page not found", in English) covers the page."""
    return page.locator("[role='dialog']").count() == 0 and (
        page.get_by_text("Page not found").count() == 0
    )


def test_partner_cannot_open_a_page_by_its_url(browser: Any, app_url: str) -> None:
    context = browser.new_context(viewport=VIEWPORT)
    page = sign_in(context, app_url, "partenaire")
    assert h1(page, MAP_TITLE) == MAP_TITLE
    wait_for_cookie(context)  # each page.goto opens a new session, signed in by the cookie
    nav = page.locator("[data-testid='stSidebarNav']")
    assert nav.get_by_text("Qualité des données").count() == 0
    assert nav.get_by_text("Comptes").count() == 0
    for url_path in ("qualite", "admin_utilisateurs"):
        page.goto(f"{app_url}/{url_path}")
        page.get_by_text("Votre rôle ne donne pas accès à cette page.").wait_for(timeout=60_000)
        assert no_streamlit_dialog(page), url_path
        assert page.locator("h1").count() == 0, url_path  # nothing of the page is drawn
        assert page.locator("[data-testid='stMetric']").count() == 0
        assert page.get_by_text("Qualité des données").count() == 0
        page.get_by_role("link", name="Revenir à la carte").click()
        assert h1(page, MAP_TITLE) == MAP_TITLE
    context.close()


def test_a_shared_link_opens_its_page_with_its_filters_after_sign_in(
    browser: Any, app_url: str
) -> None:
    """A coordinator sends a filtered Tableau de bord link; a colleague opens it in a
    fresh browser: the login form, no other dialog; after sign-in, that page, those
    filters (before: Streamlit's "Page not found" covered the form, then the map)."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.goto(f"{app_url}/tableau_de_bord?assoc=utopia-56")
    assert h1(page, "Connexion") == "Connexion"
    page.get_by_label("Identifiant").wait_for(timeout=30_000)
    page.wait_for_timeout(1500)  # a dialog would show by now
    assert no_streamlit_dialog(page)
    page.get_by_label("Identifiant").fill("coordinateur")
    page.get_by_label("Mot de passe").fill("demo")
    page.get_by_role("button", name="Se connecter").click()
    assert h1(page, "Tableau de bord") == "Tableau de bord"
    assert no_streamlit_dialog(page)
    sidebar = page.locator("[data-testid='stSidebar']")
    sidebar.get_by_text("Utopia 56").first.wait_for(timeout=30_000)
    assert "assoc=utopia-56" in page.url and "/tableau_de_bord" in page.url
    context.close()
