"""Sign-in, roles and privacy as the app enforces them, under Streamlit's AppTest (issue 6).

Pages a role may not open are not registered (not even reachable by URL); a lockout
lives in the store and outlasts the app instance; cookies signed with another key, from
a revoked session or after the idle timeout are refused; a partner's map holds only zone
centres.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import h3
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

from carto import accounts, audit, privacy, sync
from carto.accounts import COOKIE_KEY_ENV, ROLES
from carto.dataset import demo_key, generate_demo, write_demo_snapshot
from carto.i18n import t
from carto.settings import CONFIG_ENV, load_settings
from carto.store import AuthStore, SnapshotStore
from carto.ui import auth, navigation
from testing.app import (
    ROOT,
    TEST_COOKIE_KEY,
    TEST_PASSWORD,
    login,
    new_app,
    shown_table,
    submit_login,
    write_accounts,
)
from testing.hostile import EVIL
from tests.conftest import write_demo_config
from tests.test_text import unescape, unescaped_syntax

MAP_TITLE = "Carte des campements"


def store_of(config: Path) -> AuthStore:
    return AuthStore(load_settings(config).store_path)


def is_login_page(at: AppTest) -> bool:
    return "login_username" in [w.key for w in at.text_input]


def texts(at: AppTest) -> str:
    parts = [e.value for kind in ("error", "warning", "info", "success") for e in at.get(kind)]
    return "\n".join(str(p) for p in parts)


def registered(at: AppTest) -> set[str]:
    return {
        Path(str(info["script_path"])).relative_to(ROOT).as_posix()
        for info in at._registered_pages.values()
        if info.get("script_path")
    }


def open_url(at: AppTest, url_path: str) -> AppTest:
    """What a browser does when a URL is typed: ask for the page by its path, whether
    registered or not (``AppTest.switch_page`` refuses unregistered pages itself).

    AppTest starts every run as Streamlit does the first run of a process, treating
    ``pages/`` as directly reachable pages (app.py and its navigation are skipped): the
    worst case, where only the data layer's check stands. With the navigation, the
    browser test shows the fallback to the map."""
    at._page_hash = calc_hash(url_path)
    return at.run()


@pytest.fixture
def demo_key_env(app_config: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Demo mode with a known cookie key (to forge and check cookies)."""
    monkeypatch.setenv(COOKIE_KEY_ENV, TEST_COOKIE_KEY)
    return app_config


@pytest.fixture
def live_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, steady_day: None
) -> Iterator[Path]:
    """A live (non-demo) configuration: accounts file, cookie key, a snapshot holding the
    demo records; no refresh ever reaches out for Airtable."""
    config = tmp_path / "config.toml"
    config.write_text(
        f'[airtable]\nbase_id = "appTEST"\n[store]\npath = "{tmp_path / "snap.sqlite"}"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv(CONFIG_ENV, str(config))
    monkeypatch.setenv(COOKIE_KEY_ENV, TEST_COOKIE_KEY)
    monkeypatch.setattr(sync, "refresh_in_background", lambda *a, **k: None)
    write_accounts(tmp_path / "accounts.yaml")
    conf = load_settings(config)
    today = dt.date.today()
    base = generate_demo(conf.with_values(demo__days=30), today)
    write_demo_snapshot(SnapshotStore(conf.store_path), base, demo_key(conf, today))
    yield config


# ------------------------------------------------------------------ login page


def test_demo_login_page_lists_the_demo_accounts(app_config: Path) -> None:
    at = new_app().run()
    assert at.title[0].value == "Connexion"
    assert is_login_page(at)
    accounts_table = at.dataframe[0].value
    assert sorted(accounts_table["account"]) == sorted(ROLES)
    assert set(accounts_table["password"]) == {"demo"}
    assert not at.metric and not at.get("deck_gl_json_chart")  # no data before sign-in


def test_wrong_password_is_refused_in_french(app_config: Path) -> None:
    at = submit_login(new_app().run(), "admin", "pas le bon")
    assert is_login_page(at)
    assert "Identifiant ou mot de passe incorrect" in texts(at)
    assert at.text_input(key="login_password").value == ""


def test_live_mode_has_no_demo_account(live_config: Path) -> None:
    at = new_app().run()
    assert is_login_page(at) and not at.dataframe
    assert "demo" not in texts(at)
    for role in ROLES:
        submit_login(at, role, "demo")
        assert is_login_page(at), role
    login(at, "admin", TEST_PASSWORD)
    assert at.title[0].value == MAP_TITLE


# ------------------------------------------------------------------ safe start


@pytest.mark.parametrize(
    ("key", "accounts_file", "message"),
    [
        (None, True, "Aucune clé de cookie"),
        ("some_signature_key", True, "valeur d'exemple"),
        ("trop-courte-0123456789", True, "moins de 32 caractères"),
        (TEST_COOKIE_KEY, False, "Aucun compte"),
    ],
)
def test_safe_start_refuses_to_start(
    live_config: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    key: str | None,
    accounts_file: bool,
    message: str,
) -> None:
    if key is None:
        monkeypatch.delenv(COOKIE_KEY_ENV)
    else:
        monkeypatch.setenv(COOKIE_KEY_ENV, key)
    if not accounts_file:
        (live_config.parent / "accounts.yaml").unlink()
    with caplog.at_level(logging.ERROR):
        at = new_app().run()
    assert not at.exception
    assert at.title[0].value == "CartoCampement ne peut pas démarrer"
    # what is wrong, and where, goes to the server log only: the visitor is not signed in
    assert not any(message in m.value for m in (*at.markdown, *at.error, *at.info))
    assert any("journal du serveur" in m.value for m in at.info)
    page = " ".join(m.value for m in (*at.markdown, *at.error, *at.info, *at.caption))
    assert str(live_config.parent) not in page and "accounts.yaml" not in page
    logged = [r.getMessage() for r in caplog.records if r.name.startswith("carto")]
    assert any("cannot start" in m and message in m for m in logged), logged
    assert not is_login_page(at)
    open_url(at, "tableau_de_bord")
    assert at.title[0].value == "CartoCampement ne peut pas démarrer" and not at.metric


def test_an_unreadable_accounts_file_is_told_to_the_log_only(
    live_config: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The YAML parser's message and the file's path are for the administrator."""
    accounts_file = live_config.parent / "accounts.yaml"
    accounts_file.write_text("credentials: [unclosed\n", encoding="utf-8")
    with caplog.at_level(logging.ERROR):
        at = new_app().run()
    assert at.title[0].value == "CartoCampement ne peut pas démarrer"
    page = " ".join(m.value for m in (*at.markdown, *at.error, *at.info, *at.caption))
    assert str(accounts_file) not in page and "illisible" not in page and "line" not in page
    logged = [r.getMessage() for r in caplog.records if r.name.startswith("carto")]
    assert any(str(accounts_file) in m and "illisible" in m for m in logged), logged


def test_demo_mode_starts_without_a_cookie_key(
    app_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(COOKIE_KEY_ENV, raising=False)
    at = login(new_app(), "benevole")
    assert at.title[0].value == MAP_TITLE


# ------------------------------------------------------------- pages by role


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_only_its_pages(app_config: Path, role: str) -> None:
    at = login(new_app(), role)
    allowed = navigation.specs_for(role)
    forbidden = [spec for spec in navigation.PAGES if spec not in allowed]
    assert registered(at) == {spec.path for spec in allowed}
    for spec in forbidden:  # not registered by the navigation: no way to switch there
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(spec.path)
    for spec in allowed:
        at.switch_page(spec.path).run()
        assert not at.exception, (role, spec.path, [e.value for e in at.exception])
        assert at.title, (role, spec.path)
        assert "Votre rôle" not in texts(at) and not is_login_page(at), (role, spec.path)
    for spec in forbidden:
        open_url(at, spec.url_path)
        assert not at.exception
        assert "Votre rôle ne donne pas accès" in texts(at), (role, spec.path)
        assert not at.title and not at.metric and not at.dataframe, (role, spec.path)


def test_page_registry_matches_the_pages_folder() -> None:
    """Every file of pages/ is in the registry: an unlisted page would be refused to
    everyone (Streamlit can still run a pages/ file directly)."""
    on_disk = {p.relative_to(ROOT).as_posix() for p in (ROOT / "pages").glob("*.py")}
    listed = {spec.path for spec in navigation.PAGES}
    assert listed == on_disk
    # Who opens a page comes from the roles' table, which names only registered pages.
    in_table = set().union(*(access.pages for access in privacy.ACCESS.values()))
    assert in_table == {spec.url_path for spec in navigation.PAGES}
    for spec in navigation.PAGES:
        assert spec.roles == {r for r, a in privacy.ACCESS.items() if spec.url_path in a.pages}
    assert all(spec.roles <= set(ROLES) and spec.roles for spec in navigation.PAGES)
    admin_only = {s.path for s in navigation.PAGES if s.roles == {"admin"}}
    assert admin_only == {"pages/admin_utilisateurs.py", "pages/admin_journal.py"}
    assert "pages/qualite.py" not in {s.path for s in navigation.specs_for("partenaire")}


@pytest.mark.parametrize("url_path", ["qualite", "admin_journal", "tableau_de_bord"])
def test_a_page_url_opened_first_shows_no_data(app_config: Path, url_path: str) -> None:
    """The first run of a process treats pages/ as directly reachable pages (Streamlit's
    multipage v1), skipping app.py: the data layer still asks for a signed-in person."""
    at = new_app()
    open_url(at, url_path)
    assert not at.exception
    assert not at.metric and not at.get("plotly_chart")
    assert "Connectez-vous" in texts(at) and is_login_page(at)
    login(at, "admin")  # signing in there opens the page asked for
    assert at.title and not at.exception


# ------------------------------------------------------------------- lockout


def test_lockout_persists_across_a_fresh_app_instance(app_config: Path) -> None:
    at = new_app().run()
    for _ in range(4):
        submit_login(at, "benevole", "mauvais mot de passe")
        assert "incorrect" in texts(at) and "verrouillé" not in texts(at)
    submit_login(at, "benevole", "mauvais mot de passe")
    assert "verrouillé jusqu'à" in texts(at)

    fresh = new_app().run()  # another session, as after a restart: state is in the store
    submit_login(fresh, "benevole", "demo")
    assert is_login_page(fresh) and "verrouillé jusqu'à" in texts(fresh)
    login(new_app(), "admin")  # other accounts are not affected

    store = store_of(app_config)
    events = [e["event"] for e in store.audit_log(username="benevole")]
    assert events[:3] == [audit.LOGIN_LOCKED, audit.LOCKOUT, audit.LOGIN_FAILED]
    assert events.count(audit.LOGIN_FAILED) == 5

    store.clear_failed_logins("benevole")  # what `users unlock` and the admin page do
    login(new_app(), "benevole")


def test_unknown_names_are_locked_too_without_keeping_the_name(app_config: Path) -> None:
    at = new_app().run()
    for _ in range(5):
        submit_login(at, "MonMotDePasse2024", "x")
    assert "verrouillé" in texts(at)
    store = store_of(app_config)
    assert all(e["username"] == "" for e in store.audit_log(event=audit.LOGIN_FAILED))
    assert "monmotdepasse2024" not in json.dumps(store.audit_log(), default=str)


def test_admin_page_unlocks(app_config: Path) -> None:
    at = new_app().run()
    for _ in range(5):
        submit_login(at, "partenaire", "faux")
    admin = login(new_app(), "admin")
    admin.switch_page("pages/admin_utilisateurs.py").run()
    table = admin.dataframe[0].value.set_index("username")
    assert table.at["partenaire", "locked"] != "" and table.at["admin", "locked"] == ""
    admin.selectbox(key="admin_target").set_value("partenaire")
    admin.button(key="do_unlock").click().run()
    assert "déverrouillé" in texts(admin)
    assert admin.dataframe[0].value.set_index("username").at["partenaire", "locked"] == ""
    login(new_app(), "partenaire")


# --------------------------------------------------------- cookies and sessions


def with_cookie(monkeypatch: pytest.MonkeyPatch, token: str | None) -> None:
    monkeypatch.setattr(auth, "request_cookie", lambda name: token)


def cookie_for(config: Path, username: str, epoch: int = 0, key: str | None = None) -> str:
    """A cookie as the instance of ``config`` issues it (its own key unless ``key``)."""
    conf = load_settings(config)
    key = key or accounts.effective_cookie_key(conf, accounts.cookie_key_from_environment())
    account = accounts.load_accounts(conf)[username]
    mark = accounts.credentials_mark(account)
    return accounts.issue_token(username, epoch, key, 7, store_of(config).instance_id(), mark=mark)


def test_a_valid_cookie_signs_in(demo_key_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    login(new_app(), "coordinateur")  # issues a cookie of epoch 0 and records activity
    with_cookie(monkeypatch, cookie_for(demo_key_env, "coordinateur"))
    at = new_app().run()
    assert not is_login_page(at) and at.title[0].value == MAP_TITLE
    assert store_of(demo_key_env).audit_log(1)[0]["event"] == audit.LOGIN_COOKIE
    for _ in range(3):  # reloads: new sessions with the same cookie, not new sign-ins
        assert not is_login_page(new_app().run())
    assert len(store_of(demo_key_env).audit_log(event=audit.LOGIN_COOKIE)) == 1


def test_a_cookie_signed_with_another_key_is_rejected(
    demo_key_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    login(new_app(), "admin")
    other = "an-attacker-s-own-key-of-enough-length-42!"
    with_cookie(monkeypatch, cookie_for(demo_key_env, "admin", key=other))
    at = new_app().run()
    assert is_login_page(at) and not at.metric
    refused = store_of(demo_key_env).audit_log(1)[0]
    assert refused["event"] == audit.COOKIE_REFUSED
    assert refused["details"] == {"reason": "invalid"}


def test_logout_revokes_sessions_and_cookies(
    demo_key_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    laptop = login(new_app(), "coordinateur")
    phone = login(new_app(), "coordinateur")
    cookie = cookie_for(demo_key_env, "coordinateur")
    phone.button(key="logout").click().run()
    assert is_login_page(phone) and "déconnecté" in texts(phone)

    laptop.run()  # the other session is refused on its next run
    assert is_login_page(laptop) and "session a été fermée" in texts(laptop)

    with_cookie(monkeypatch, cookie)  # a cookie issued before the logout
    at = new_app().run()
    assert is_login_page(at)
    assert store_of(demo_key_env).audit_log(1)[0]["details"] == {"reason": "revoked"}

    events = [e["event"] for e in store_of(demo_key_env).audit_log(username="coordinateur")]
    assert audit.LOGOUT in events and audit.SESSION_REVOKED in events


def test_password_change_revokes_other_sessions(
    live_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = login(new_app(), "benevole", TEST_PASSWORD)
    other = login(new_app(), "benevole", TEST_PASSWORD)
    store = store_of(live_config)
    old_cookie = cookie_for(live_config, "benevole", store.session_epoch("benevole"))

    mine.switch_page("pages/mon_compte.py").run()
    mine.text_input(key="pw_current").input(TEST_PASSWORD)
    mine.text_input(key="pw_new").input("une nouvelle phrase de passe")
    mine.text_input(key="pw_repeat").input("une nouvelle phrase de passe")
    mine.button(key="pw_submit").click().run()
    assert "Mot de passe changé" in texts(mine)
    mine.switch_page("pages/carte.py").run()
    assert mine.title[0].value == MAP_TITLE  # this session goes on

    other.run()
    assert is_login_page(other)
    with_cookie(monkeypatch, old_cookie)
    assert is_login_page(new_app().run())
    with_cookie(monkeypatch, None)
    assert is_login_page(submit_login(new_app().run(), "benevole", TEST_PASSWORD))
    login(new_app(), "benevole", "une nouvelle phrase de passe")


def test_an_account_removed_and_added_again_by_hand_ends_its_sessions_and_cookies(
    live_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Editing the accounts file bumps no session epoch: the new password hash does it."""
    open_page = login(new_app(), "benevole", TEST_PASSWORD)
    store = store_of(live_config)
    epoch = store.session_epoch("benevole")
    old_cookie = cookie_for(live_config, "benevole", epoch)
    path = accounts.accounts_path(load_settings(live_config))
    accounts.remove_account(path, "benevole")  # by hand: not the audited workflow
    accounts.add_account(path, "benevole", "un autre mot de passe long", "benevole", rounds=4)
    assert store.session_epoch("benevole") == epoch

    open_page.run()
    assert is_login_page(open_page)
    with_cookie(monkeypatch, old_cookie)
    assert is_login_page(new_app().run())
    assert store.audit_log(1)[0]["details"] == {"reason": "revoked"}


def test_the_sidebar_shows_a_display_name_as_plain_text(live_config: Path) -> None:
    """A display name is typed by an admin, but shown to its holder as markdown: a link
    or image in it stays text."""
    typed = f"Camp [lien]({EVIL}/x) ![pixel]({EVIL}/p.png) <b>gras</b>"
    path = live_config.parent / "accounts.yaml"
    accounts.add_account(path, "nomhostile", TEST_PASSWORD, "benevole", name=typed)
    at = login(new_app(), "nomhostile", TEST_PASSWORD)
    before, after = t("auth.signed_in", name="\0", role=t("role.benevole")).split("\0")
    (caption,) = [c.value for c in at.sidebar.caption if c.value.startswith(before)]
    shown = caption.removeprefix(before).removesuffix(after)
    assert not unescaped_syntax(shown), shown
    assert unescape(shown) == typed


def test_wrong_current_password_changes_nothing(live_config: Path) -> None:
    at = login(new_app(), "coordinateur", TEST_PASSWORD)
    at.switch_page("pages/mon_compte.py").run()
    at.text_input(key="pw_current").input("pas le bon")
    at.text_input(key="pw_new").input("une nouvelle phrase de passe")
    at.text_input(key="pw_repeat").input("une nouvelle phrase de passe")
    at.button(key="pw_submit").click().run()
    assert "Mot de passe actuel incorrect" in texts(at)
    login(new_app(), "coordinateur", TEST_PASSWORD)


def test_digest_subscription_is_saved_from_my_account(live_config: Path) -> None:
    path = live_config.parent / "accounts.yaml"
    known = accounts.read_accounts(path)
    known["benevole"] = dataclasses.replace(known["benevole"], email="benevole@asso.test")
    accounts.write_accounts(path, known)
    at = login(new_app(), "benevole", TEST_PASSWORD)
    at.switch_page("pages/mon_compte.py").run()
    assert at.radio(key="digest_choice").value == accounts.DIGEST_OFF
    at.radio(key="digest_choice").set_value(accounts.DIGEST_ALERTS)
    at.button(key="digest_submit").click().run()
    assert not at.exception
    assert accounts.read_accounts(path)["benevole"].digest == accounts.DIGEST_ALERTS
    assert "Abonnement enregistré" in texts(at)
    entry = store_of(live_config).audit_log(event=audit.DIGEST_SUBSCRIPTION)[0]
    assert entry["username"] == "benevole" and entry["details"]["digest"] == "alerts"
    # an account without address is told so, and offered no choice
    at = login(new_app(), "coordinateur", TEST_PASSWORD)
    at.switch_page("pages/mon_compte.py").run()
    assert not [r for r in at.radio if r.key == "digest_choice"]
    assert "pas d'adresse e-mail" in texts(at)


def test_idle_session_is_closed_and_its_cookie_refused(
    demo_key_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = login(new_app(), "partenaire")
    at.session_state["auth_last_activity"] = time.time() - 61 * 60
    at.run()
    assert is_login_page(at) and "inactivité" in texts(at)

    store = store_of(demo_key_env)
    store.touch_session("partenaire", dt.datetime.now(dt.UTC) - dt.timedelta(minutes=61))
    epoch = store.session_epoch("partenaire")
    with_cookie(monkeypatch, cookie_for(demo_key_env, "partenaire", epoch))
    assert is_login_page(new_app().run())
    assert store.audit_log(1)[0]["details"] == {"reason": "idle"}


# ------------------------------------------------------------ admin pages


def test_admin_journal_shows_the_audit_log(app_config: Path) -> None:
    submit_login(new_app().run(), "coordinateur", "faux")
    at = login(new_app(), "admin")
    at.switch_page("pages/admin_journal.py").run()
    assert not at.exception
    log = shown_table(at, "audit")
    assert {"Connexion", "Échec de connexion"} <= set(log["event"])
    at.selectbox(key="audit_event").set_value(audit.LOGIN_FAILED).run()
    assert set(shown_table(at, "audit")["event"]) == {"Échec de connexion"}


def test_admin_manages_accounts_in_live_mode(live_config: Path) -> None:
    at = login(new_app(), "admin", TEST_PASSWORD)
    at.switch_page("pages/admin_utilisateurs.py").run()
    at.text_input(key="new_username").input("nadia")
    at.text_input(key="new_name").input("Nadia (Utopia 56)")
    at.selectbox(key="new_role").set_value("coordinateur")
    at.text_input(key="new_password").input("phrase provisoire 1")
    at.button[-1].click().run()
    assert "« nadia » créé" in texts(at)
    assert "nadia" in set(at.dataframe[0].value["username"])
    login(new_app(), "nadia", "phrase provisoire 1")
    events = store_of(live_config).audit_log(event=audit.USER_ADDED)
    assert events[0]["username"] == "nadia" and events[0]["details"]["by"] == "admin"


# ------------------------------------------------------------------ privacy


def deck_positions(at: AppTest) -> list[tuple[float, float]]:
    spec = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    found = []
    for layer in spec["layers"]:
        data = layer.get("data")
        if isinstance(data, list):
            found += [(r["latitude"], r["longitude"]) for r in data if "latitude" in r]
    return found


def test_a_partners_map_shows_only_zone_centres(app_config: Path) -> None:
    coordinator = login(new_app(), "coordinateur")  # fills the caches with exact frames
    exact = deck_positions(coordinator)
    at = login(new_app(), "partenaire")
    at.pills(key="couches").set_value(["camps", "zones", "gaps", "evacuations"]).run()
    found = deck_positions(at)
    assert len(found) >= 10 and set(found) != set(exact)
    for lat, lon in found:
        centre = h3.cell_to_latlng(h3.latlng_to_cell(lat, lon, 8))
        assert (round(centre[0], 6), round(centre[1], 6)) == (lat, lon)
    assert not any(
        h3.cell_to_latlng(h3.latlng_to_cell(lat, lon, 8)) == (lat, lon) for lat, lon in exact
    )  # a coordinator sees exact positions: the check above would catch them


def test_admin_removes_an_account_and_its_sessions_end(live_config: Path) -> None:
    victim = login(new_app(), "benevole", TEST_PASSWORD)
    at = login(new_app(), "admin", TEST_PASSWORD)
    at.switch_page("pages/admin_utilisateurs.py").run()
    at.selectbox(key="admin_target").set_value("admin")
    at.checkbox(key="remove_confirm").check().run()
    at.button(key="do_remove").click().run()
    assert "propre compte" in texts(at)
    at.selectbox(key="admin_target").set_value("benevole").run()
    at.button(key="do_remove").click().run()
    assert "« benevole » supprimé" in texts(at)
    assert "benevole" not in set(at.dataframe[0].value["username"])
    victim.run()
    assert is_login_page(victim)
    assert is_login_page(submit_login(new_app().run(), "benevole", TEST_PASSWORD))


# ------------------------------------------- attacks of the outside review (issue 14)


def add_form(at: AppTest, username: str, role: str = "admin") -> AppTest:
    at.text_input(key="new_username").input(username)
    at.text_input(key="new_name").input("Intrus")
    at.selectbox(key="new_role").set_value(role)
    at.text_input(key="new_password").input("phrase provisoire 1")
    return at.button[-1].click().run()


@pytest.mark.parametrize("change", ["removed", "demoted", "role_edited_by_hand", "signed_out"])
def test_a_revoked_admin_cannot_act_from_a_page_still_open(live_config: Path, change: str) -> None:
    """The Comptes page stays open while the admin's account is removed (`users remove`),
    demoted, edited in the file without revoking sessions, or signed out elsewhere;
    then the page's form is submitted. Streamlit runs the callback before app.py checks
    the session: before the guard, the callback created the account."""
    path = live_config.parent / "accounts.yaml"
    accounts.add_account(path, "admin2", TEST_PASSWORD, "admin", rounds=4)
    at = login(new_app(), "admin2", TEST_PASSWORD)
    at.switch_page("pages/admin_utilisateurs.py").run()
    store = store_of(live_config)
    if change == "removed":  # what `python -m carto users remove admin2` does
        accounts.remove_account(path, "admin2")
        store.bump_session_epoch("admin2")
    elif change == "demoted":  # `users role admin2 benevole`
        accounts.set_role(path, "admin2", "benevole")
        store.bump_session_epoch("admin2")
    elif change == "role_edited_by_hand":
        accounts.set_role(path, "admin2", "coordinateur")
    else:
        store.bump_session_epoch("admin2")  # sign-out on another device
    time.sleep(0.01)  # a new modification time for the accounts file
    add_form(at, "intrus")
    assert "intrus" not in accounts.read_accounts(path)
    assert not store.audit_log(event=audit.USER_ADDED)
    assert is_login_page(at) or "Votre rôle ne donne pas accès" in texts(at)


def test_a_demo_sign_in_does_not_open_a_live_instance(
    live_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A demo and a live instance on one host (browsers share cookies across ports), the
    production key in the environment of both, an `admin` account in each: the demo's
    cookie must not open the live instance. Before the fix, the demo signed with the
    production key and the live instance accepted its cookie."""
    demo_dir = tmp_path / "demo"
    demo_dir.mkdir()
    demo_config = write_demo_config(demo_dir)
    demo_cookie = cookie_for(demo_config, "admin")  # what the demo's sign-in writes
    # the same cookie signed with the production key, as a demo sharing it would write
    shared_key_cookie = cookie_for(demo_config, "admin", key=TEST_COOKIE_KEY)
    for token in (demo_cookie, shared_key_cookie):
        with_cookie(monkeypatch, token)
        at = new_app().run()
        assert is_login_page(at) and not at.metric
        assert store_of(live_config).audit_log(1)[0]["event"] == audit.COOKIE_REFUSED
    store_of(live_config).touch_session("admin")  # active within the idle timeout
    with_cookie(monkeypatch, cookie_for(live_config, "admin"))  # the live instance's own
    assert not is_login_page(new_app().run())


def test_parallel_wrong_passwords_do_not_beat_the_lockout(
    live_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Eight wrong passwords at once, then the right one through the sign-in form while
    their bcrypt checks still run: refused, and the account stays locked. Before the
    fix, all eight passed the lock check while bcrypt ran, and the right password
    signed in and cleared the lock.

    The eight run the sign-in form's own lockout path (``accounts.password_attempt``
    with the account's key, as ``auth._on_login`` calls it) in threads: AppTest cannot
    run several apps at once (its runtime is process-wide). Deterministic: the wrong
    checks are held until the right attempt is decided, as a slow bcrypt under load
    holds them, and the right one starts once five wrong ones are being checked."""
    conf = load_settings(live_config)
    checking = threading.Semaphore(0)
    decided = threading.Event()

    def held_wrong() -> bool:
        checking.release()
        decided.wait(timeout=30)
        return False

    def attempt(_: int) -> str:
        return accounts.password_attempt(
            AuthStore(conf.store_path),
            "benevole",
            held_wrong,
            int(conf["auth.max_failed_logins"]),
            dt.timedelta(minutes=int(conf["auth.lockout_minutes"])),
            dt.datetime.now(dt.UTC),
        ).outcome

    at = new_app().run()
    with ThreadPoolExecutor(8) as pool:
        running = pool.map(attempt, range(8))
        for _ in range(5):
            assert checking.acquire(timeout=60)
        right = submit_login(at, "benevole", TEST_PASSWORD)
        decided.set()
        outcomes = list(running)
    assert is_login_page(right) and "verrouillé" in texts(right)
    assert outcomes.count(accounts.LOCKED) == 3
    assert store_of(live_config).login_state("benevole").locked()
    assert is_login_page(submit_login(new_app().run(), "benevole", TEST_PASSWORD))


def change_password(at: AppTest, current: str, new: str) -> AppTest:
    at.text_input(key="pw_current").input(current)
    at.text_input(key="pw_new").input(new)
    at.text_input(key="pw_repeat").input(new)
    return at.button(key="pw_submit").click().run()


def test_password_change_obeys_the_lockout(live_config: Path) -> None:
    """Wrong current passwords count toward the same lockout as sign-ins; once locked,
    neither a wrong nor the right current password is checked. Before the fix, attempts
    6 and 7 were still checked and the right one changed the password while locked."""
    at = login(new_app(), "coordinateur", TEST_PASSWORD)
    at.switch_page("pages/mon_compte.py").run()
    for _ in range(4):
        change_password(at, "pas le bon", "une nouvelle phrase de passe")
        assert "Mot de passe actuel incorrect" in texts(at)
    change_password(at, "pas le bon", "une nouvelle phrase de passe")
    assert "verrouillé jusqu'à" in texts(at)
    change_password(at, TEST_PASSWORD, "une nouvelle phrase de passe")
    assert "verrouillé jusqu'à" in texts(at) and "Mot de passe changé" not in texts(at)
    known = accounts.read_accounts(live_config.parent / "accounts.yaml")
    assert accounts.authenticate(known, "coordinateur", TEST_PASSWORD)  # unchanged
    assert is_login_page(submit_login(new_app().run(), "coordinateur", TEST_PASSWORD))


def test_every_state_changing_callback_goes_through_the_guard() -> None:
    """Every `on_click`/`on_change` callback of pages/ and carto/ui/ is either wrapped by
    `auth.guarded` or listed here as changing no stored state."""
    import ast

    not_state_changing = {"_on_login", "_reset"}  # sign-in itself; resetting filters
    found: dict[str, bool] = {}
    for path in [*(ROOT / "pages").glob("*.py"), *(ROOT / "carto" / "ui").glob("*.py")]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        guarded_defs = {
            node.name
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef)
            and any("guarded" in ast.unparse(d) for d in node.decorator_list)
        }
        for node in ast.walk(tree):
            if not isinstance(node, ast.keyword) or node.arg not in ("on_click", "on_change"):
                continue
            text = ast.unparse(node.value)
            if text in ("'ignore'", "'rerun'", "None"):
                continue
            name = text.rsplit("(", 1)[-1].rstrip(")") if "guarded" in text else text
            found[f"{path.name}:{name}"] = "guarded(" in text or name in guarded_defs
    unguarded = {
        k for k, ok in found.items() if not ok and k.split(":")[1] not in not_state_changing
    }
    assert found and not unguarded, unguarded


def test_the_cookie_order_is_drawn_until_the_browser_confirms_it(
    app_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sign-in cookie is written by a hidden frame in the browser. Drawn in one run
    only, a rerun arriving before the frame's script ran removed it, and the cookie
    never arrived (the flaky sign-in of the browser suite under load). The order now
    stays until the frame answers; AppTest runs no frame, so it never answers here."""
    at = login(new_app(), "benevole")
    for _ in range(3):
        at.run()
        assert "auth_cookie_pending" in at.session_state
    monkeypatch.setattr(auth, "_cookie_component", lambda **args: True)  # it answers
    at.run()
    assert "auth_cookie_pending" not in at.session_state


@pytest.mark.parametrize(
    ("url", "secure"),
    [
        ("https://carto.example.org/", True),
        ("HTTPS://carto.example.org/carte", True),
        ("http://127.0.0.1:8501/", False),
        (None, False),
    ],
)
def test_the_cookie_is_sent_over_https_only_when_the_app_is_served_over_https(
    app_config: Path, monkeypatch: pytest.MonkeyPatch, url: str | None, secure: bool
) -> None:
    """Served over HTTPS, the cookie carries ``Secure``: a first visit typed as
    http:// (before HSTS applies) does not send the token in clear. The order the
    browser is given is the one checked."""
    orders: list[dict[str, object]] = []

    def component(**args: object) -> bool:
        orders.append(args)
        return False

    monkeypatch.setattr(auth, "_cookie_component", component)
    monkeypatch.setattr(type(st.context), "url", property(lambda self: url))
    login(new_app(), "benevole")
    (order,) = [o for o in orders if o.get("method") == "set"]
    options = order["options"]
    assert isinstance(options, dict)
    assert options.get("secure", False) is secure
    assert options["sameSite"] == "strict" and options["path"] == "/"


def test_the_page_keeps_its_places_when_the_cookie_order_goes(
    app_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cookie's hidden frame goes once the browser answers; the page's elements
    must keep their places in the page then, or the browser rebuilds every one after
    it (the map drew its canvas anew a second after sign-in, and a tap on it was lost:
    the flaky map tests on a phone under load)."""

    def places(at: AppTest) -> list[tuple[int, str]]:
        return [(i, node.type) for i, node in at.main.children.items()]

    at = login(new_app(), "coordinateur")
    assert "auth_cookie_pending" in at.session_state
    drawn = places(at)
    monkeypatch.setattr(auth, "_cookie_component", lambda **args: True)  # it answers
    at.run()
    assert "auth_cookie_pending" not in at.session_state
    at.run()
    assert len(drawn) > 3 and places(at) == drawn
