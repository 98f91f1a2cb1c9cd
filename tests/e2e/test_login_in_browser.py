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
        assert h1(page, MAP_TITLE) == MAP_TITLE, url_path
        assert page.get_by_text("Qualité des données").count() == 0
    context.close()
