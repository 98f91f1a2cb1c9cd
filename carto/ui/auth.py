"""Sign-in for the app: safe start, login form, cookie, session epoch, idle timeout.

``gate(settings)`` is what ``app.py`` calls first. Outside demo mode it refuses to start
(a page saying what to fix) without a usable cookie key and an accounts file. It then
returns the signed-in person, or shows the login form and stops.

Why not streamlit-authenticator's ``Authenticate.login``: in 0.4.x it keeps failed
attempts in memory (lost on restart, per process), does not tell which name failed, has
no way to revoke a cookie already issued, and speaks English. What is kept from it: the
accounts file layout and bcrypt hashes (``carto.accounts``), its JWT cookie idea and the
cookie component it ships (``extra_streamlit_components.CookieManager``) to write and
delete the cookie in the browser. Everything the server decides is checked here on
every run, against the store:

- a session holds the account, the session epoch it signed in with and a mark of the
  account's password hash; a run whose epoch or mark is no longer the account's (logout
  anywhere, password change, the account removed and added again even by hand) ends it;
- a cookie is accepted only when signed with the cookie key, not expired, for an
  existing account, in its current epoch and password, and the account was active
  within the idle timeout; a rerun the app starts itself (a new snapshot) is no activity;
- failed sign-ins are counted in the store: the ``max_failed_logins``-th in a row locks
  the account for ``lockout_minutes``, for every session and across restarts;
- every sign-in, failure, lockout, logout, expiry and refused cookie is audited.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Concatenate, ParamSpec
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitDuplicateElementKey
from streamlit.navigation.page import StreamlitPage

from carto import accounts, audit
from carto.accounts import Account
from carto.i18n import t, t_n
from carto.options import AuthOptions
from carto.settings import Settings
from carto.store import AuthStore
from carto.text import escape_markdown
from carto.ui import downloads, navigation, tables

log = logging.getLogger("carto.auth")

_USER = "auth_username"
_EPOCH = "auth_epoch"
_ACTIVITY = "auth_last_activity"
_TOUCHED = "auth_store_touched"
_NOTICE = "auth_notice"
_COOKIE_SET = "auth_cookie_pending"
_COOKIE_DELETE = "auth_cookie_delete"
_COOKIE_DELETE_ROUND = "auth_cookie_delete_round"
_IGNORE_COOKIE = "auth_ignore_cookie"
_LINK = "auth_link_params"  # the query parameters of the link that led to sign-in
_UNATTENDED = "auth_unattended_rerun"  # when the app last reran by itself (not the person)
# Session checks this soon after the app reran by itself belong to that run (a page
# checks the session again after loading the data, which can take seconds under load).
UNATTENDED_RUN_SECONDS = 60.0
_SESSION_KEYS = (_USER, _EPOCH, _ACTIVITY, _TOUCHED)
TOUCH_EVERY_SECONDS = 60.0
GUARDED = "__carto_guarded__"  # set on every callback wrapped by ``guarded``
P = ParamSpec("P")


@dataclass(frozen=True)
class User:
    """The person signed in to this session."""

    username: str
    name: str
    role: str

    @property
    def label(self) -> str:
        return self.name or self.username


# ------------------------------------------------------------------------- seams


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def client_address() -> str:
    """The browser's address as the server sees it ("" when unknown, as in tests)."""
    address = st.context.ip_address
    return address if isinstance(address, str) else ""


def request_cookie(name: str) -> str | None:
    """The cookie the browser sent when this session opened."""
    return st.context.cookies.get(name)


def store(conf: Settings) -> AuthStore:
    """The store holding lockouts, epochs and the audit log (a fresh object: its state is
    on disk, shared by every session and process)."""
    return AuthStore(conf.store_location)


@st.cache_resource(max_entries=4, show_spinner=False)
def _file_accounts(path: str, mtime_ns: int, size: int) -> dict[str, Account]:
    return accounts.read_accounts(Path(path))


def _read_accounts(path: Path) -> dict[str, Account]:
    """An accounts file, parsed again only when it changes."""
    info = path.stat()
    return _file_accounts(str(path), info.st_mtime_ns, info.st_size)


def load_accounts(conf: Settings) -> dict[str, Account]:
    """The accounts that may sign in (the file is reread when it changes)."""
    if conf.demo:
        return accounts.demo_accounts()
    return _read_accounts(accounts.accounts_path(conf))


def startup_problems(conf: Settings) -> list[str]:
    """What keeps the app from starting (see ``accounts.startup_problems``)."""
    return accounts.startup_problems(
        conf, accounts.cookie_key_from_environment(), read=_read_accounts
    )


def _cookie_key(conf: Settings) -> str:
    return accounts.effective_cookie_key(conf, accounts.cookie_key_from_environment())


# ------------------------------------------------------------------------ gate


def gate(conf: Settings) -> User:
    """The signed-in person; otherwise the safe-start page or the login form, then stop.

    Always ends in ``st.navigation``, even before sign-in: that keeps Streamlit from
    treating ``pages/`` as a folder of directly reachable pages. Before sign-in every
    page's URL draws the login form, and the link's query parameters (its filters) are
    kept for after sign-in, so that a shared link opens its page with its filters."""
    if startup_problems(conf):
        _only_page(safe_start_page, "demarrage", t("safe_start.title"))
    user = current_user(conf)
    _write_cookie(conf)
    if user is None:
        _remember_link()
        _only_page(login_page, "connexion", t("auth.login.title"), navigation.stand_ins(login_page))
    assert user is not None
    _restore_link()
    return user


def _remember_link() -> None:
    params = {key: st.query_params.get_all(key) for key in st.query_params}
    if params:
        st.session_state[_LINK] = params


def _restore_link() -> None:
    """Put back the query parameters of the link that led to the login form (once)."""
    params: dict[str, list[str]] = st.session_state.pop(_LINK, None) or {}
    for key, values in params.items():
        if key not in st.query_params:
            st.query_params[key] = values


def refused_page() -> None:
    """What a page's URL shows to a role that may not open it: no data, a way back."""
    st.error(t("auth.forbidden"), icon=":material/block:")
    st.page_link(navigation.PAGES[0].path, label=t("auth.back_to_map"), icon=":material/map:")


def _only_page(
    page: Callable[[], None],
    url_path: str,
    title: str,
    others: list[StreamlitPage] | None = None,
) -> None:
    st.navigation(
        [st.Page(page, title=title, url_path=url_path, default=True), *(others or [])],
        position="hidden",
    ).run()
    st.stop()


def current_user(conf: Settings) -> User | None:
    """The person this session belongs to, checked against the store on every call;
    None when nobody is signed in (or the session just ended)."""
    ss = st.session_state
    moment = now()
    username = ss.get(_USER)
    if username:
        return _check_session(conf, username, moment)
    if ss.get(_IGNORE_COOKIE):
        return None
    token = request_cookie(AuthOptions.from_settings(conf).cookie_name)
    if not token:
        return None
    return _resume_from_cookie(conf, token, moment)


def require_user(conf: Settings) -> User:
    """The signed-in person, allowed on the page being drawn; otherwise the safe-start
    page, the login form or a refusal, then stop.

    Pages (through ``data.dataset()``) call this whatever ``app.py`` did: on the first
    run of a process Streamlit runs a page of ``pages/`` directly, without ``app.py`` and
    its navigation, when its URL is asked for first."""
    if startup_problems(conf):
        safe_start_page()
        st.stop()
    user = current_user(conf)
    _write_cookie(conf)
    if user is None:
        st.warning(t("auth.required"), icon=":material/lock:")
        login_page()
        st.stop()
    assert user is not None
    if not navigation.current_page_allowed(user.role):
        st.error(t("auth.forbidden"), icon=":material/block:")
        st.stop()
    return user


def require_role(conf: Settings, *roles: str) -> User:
    """The signed-in person when their role is one of ``roles``; else stop."""
    user = require_user(conf)
    if user.role not in roles:
        st.error(t("auth.forbidden"), icon=":material/block:")
        st.stop()
    return user


def acting_user(conf: Settings, roles: frozenset[str] | None = None) -> User | None:
    """The person a state-changing action runs for, checked again where it happens.

    Streamlit runs a widget's callback before the script, so before ``app.py`` and the
    page re-check the session: the page that drew the button may belong to an account
    removed, demoted or signed out since. This re-reads the account and its session
    epoch from the store (and the idle timeout), then the role; when anything fails
    the session ends (or the refusal is noted) and None is returned: the action must
    not run."""
    user = current_user(conf)
    if user is None:
        return None
    if roles is not None and user.role not in roles:
        store(conf).log_event(audit.ACTION_REFUSED, user.username, {"role": user.role})
        st.session_state[_NOTICE] = ("error", t("auth.forbidden"))
        return None
    return user


def still_signed_in(
    conf: Settings, username: str, stamp: object, roles: frozenset[str] | None = None
) -> User | None:
    """The account ``username`` when a session that signed in with ``stamp`` (its session
    epoch and password mark) is still valid, from the store and the accounts alone: the
    account exists with that epoch and password (no sign-out, password change or removal
    since), it was active within the idle timeout and its role is among ``roles`` (any
    when None); else None.

    It reads no session state and writes nothing, so it also serves code that runs
    outside the script thread, such as a deferred download (``carto.ui.downloads``)."""
    account = _account_in_epoch(conf, username, stamp)
    if account is None:
        return None
    idle, seen = _idle_limit(conf), store(conf).last_seen(username)
    if idle is not None and (seen is None or now() - seen > idle):
        return None
    if roles is not None and account.role not in roles:
        return None
    return User(account.username, account.label, account.role)


def guarded(
    conf: Settings, *roles: str
) -> Callable[[Callable[Concatenate[User, P], None]], Callable[P, None]]:
    """Wrap a callback that changes state: it runs only for a session still valid and a
    role among ``roles`` (any role when none is given), and receives that fresh
    ``User`` first. The one guard of every action (accounts, password, sign-out of
    others, exports, sync now)."""
    allowed = frozenset(roles) if roles else None

    def wrap(action: Callable[Concatenate[User, P], None]) -> Callable[P, None]:
        @functools.wraps(action)
        def run(*args: P.args, **kwargs: P.kwargs) -> None:
            user = acting_user(conf, allowed)
            if user is not None:
                action(user, *args, **kwargs)

        setattr(run, GUARDED, True)
        return run

    return wrap


def rerun_unattended() -> None:
    """Rerun the whole app for a reason of its own (a new snapshot landed): that run
    checks the session like any other but is no activity of the person, so that a page
    left open still reaches the idle timeout (and its cookie is refused after it). Its
    checks are told apart by time (``UNATTENDED_RUN_SECONDS``): a run may check the
    session several times (``gate``, then the page), and nothing else marks a run's
    end; an action of the person within that minute is not counted either."""
    st.session_state[_UNATTENDED] = now().timestamp()
    st.rerun(scope="app")


def idle_timeout_minutes(conf: Settings) -> int:
    """Minutes without activity after which a session ends (0: never)."""
    return AuthOptions.from_settings(conf).idle_timeout_minutes


def _idle_limit(conf: Settings) -> dt.timedelta | None:
    minutes = idle_timeout_minutes(conf)
    return dt.timedelta(minutes=minutes) if minutes > 0 else None


def _stamp(db: AuthStore, account: Account) -> tuple[int, str]:
    """What a session is bound to: the account's session epoch and password mark."""
    return db.session_epoch(account.username), accounts.credentials_mark(account)


def _account_in_epoch(conf: Settings, username: str, stamp: object) -> Account | None:
    """The account when it still exists with the session epoch and password of ``stamp``
    (no sign-out, password change, role change or removal since, even by hand in the
    accounts file); else None."""
    account = load_accounts(conf).get(username)
    if account is None or stamp is None or _stamp(store(conf), account) != stamp:
        return None
    return account


def _check_session(conf: Settings, username: str, moment: dt.datetime) -> User | None:
    ss = st.session_state
    db = store(conf)
    account = _account_in_epoch(conf, username, ss.get(_EPOCH))
    if account is None:
        _end_session(db, username, audit.SESSION_REVOKED, t("auth.revoked"))
        return None
    idle = _idle_limit(conf)
    last = ss.get(_ACTIVITY)
    if idle is not None and last is not None and moment.timestamp() - last > idle.total_seconds():
        minutes = int(idle.total_seconds() // 60)
        _end_session(
            db,
            username,
            audit.SESSION_EXPIRED,
            t("auth.expired", minutes=t_n("count.minutes", minutes)),
        )
        return None
    unattended = ss.get(_UNATTENDED)
    if unattended is not None and moment.timestamp() - unattended < UNATTENDED_RUN_SECONDS:
        return User(account.username, account.label, account.role)  # no activity of theirs
    ss.pop(_UNATTENDED, None)
    ss[_ACTIVITY] = moment.timestamp()
    if moment.timestamp() - ss.get(_TOUCHED, 0.0) >= TOUCH_EVERY_SECONDS:
        db.touch_session(username, moment)
        ss[_TOUCHED] = moment.timestamp()
    return User(account.username, account.label, account.role)


def _resume_from_cookie(conf: Settings, token: str, moment: dt.datetime) -> User | None:
    ss = st.session_state
    db = store(conf)
    ss[_IGNORE_COOKIE] = True  # one try per session, whatever the outcome
    if AuthOptions.from_settings(conf).cookie_expiry_days <= 0:
        return None
    try:
        key = _cookie_key(conf)
    except accounts.AccountError:  # no usable key: the safe-start page says so
        return None
    claims = accounts.read_token(token, key, db.instance_id(), moment)
    account = load_accounts(conf).get(claims.username) if claims else None
    reason = None
    if claims is None:
        reason = "invalid"  # another key, tampered, expired or malformed
    elif account is None:
        reason = "account"
    elif (claims.epoch, claims.mark) != _stamp(db, account):
        reason = "revoked"
    else:
        idle = _idle_limit(conf)
        seen = db.last_seen(account.username)
        if idle is not None and (seen is None or moment - seen > idle):
            reason = "idle"
    if reason is not None or account is None:
        db.log_event(audit.COOKIE_REFUSED, account.username if account else "", {"reason": reason})
        ss[_COOKIE_DELETE] = True
        return None
    _start_session(db, account, claims.epoch if claims else 0, moment)
    _log_cookie_sign_in(db, account.username, claims.issued_at if claims else moment)
    return User(account.username, account.label, account.role)


def _log_cookie_sign_in(db: AuthStore, username: str, issued: dt.datetime) -> None:
    """Audit a session resumed from a cookie once per cookie and client address, not on
    every reload (each reload is a new Streamlit session): the log keeps real sign-ins,
    and a cookie used from another address still shows."""
    details = {"issued": issued.isoformat(), "client": client_address()}
    last = db.audit_log(1, event=audit.LOGIN_COOKIE, username=username)
    if not last or last[0]["details"] != details:
        db.log_event(audit.LOGIN_COOKIE, username, details)


def _start_session(db: AuthStore, account: Account, epoch: int, moment: dt.datetime) -> None:
    ss = st.session_state
    ss[_USER] = account.username
    ss[_EPOCH] = (epoch, accounts.credentials_mark(account))
    ss[_ACTIVITY] = moment.timestamp()
    ss[_TOUCHED] = moment.timestamp()
    ss.pop(_NOTICE, None)
    db.touch_session(account.username, moment)


def _end_session(db: AuthStore, username: str, event: str, notice: str) -> None:
    """Forget the session's person, delete its cookie, say why on the login page."""
    ss = st.session_state
    db.log_event(event, username)
    for key in _SESSION_KEYS:
        ss.pop(key, None)
    ss[_IGNORE_COOKIE] = True
    ss[_COOKIE_DELETE] = True
    ss.pop(_COOKIE_SET, None)
    ss[_NOTICE] = ("warning", notice)


# ---------------------------------------------------------------------- cookies


# The cookie's hidden frame is drawn in a container of its own, at the same place of the
# page on every run, frame or not: when the frame went (the browser answered), every
# element after it moved up one place, and the browser rebuilt them (the map drew its
# canvas anew a second after sign-in, and a tap on it then was lost).
_COOKIE_SLOT = "auth_cookie"
# Style tags alone take no place in the page (Streamlit sends them apart).
_HIDE_COOKIE_SLOT = (
    f"<style>.st-key-{_COOKIE_SLOT},"
    f"[data-testid='stLayoutWrapper']:has(> .st-key-{_COOKIE_SLOT}){{display:none}}</style>"
)


def _cookie_component(**args: object) -> object:
    """The cookie component of extra-streamlit-components, called directly: its
    ``CookieManager`` class also draws a "getAll" frame whose answer starts a rerun,
    and a rerun that no longer draws the "set" frame removes it before the browser ran
    it (the cookie then never arrives: seen under load)."""
    from extra_streamlit_components.CookieManager import _component_func

    try:
        return _component_func(**args)
    except StreamlitDuplicateElementKey:  # drawn already in this run (gate, then page)
        return None


def _write_cookie(conf: Settings) -> None:
    """Write or delete the browser cookie a callback asked for. The order is drawn again
    on every run until the browser answers that it carried it out: a run that follows
    too soon would otherwise remove the hidden frame before its script ran."""
    try:
        slot = st.container(key=_COOKIE_SLOT)
    except StreamlitDuplicateElementKey:
        return  # drawn already in this run (gate, then page)
    st.html(_HIDE_COOKIE_SLOT)  # a constant: no record text
    with slot:
        _cookie_order(conf)


def cookie_options(expires: str, page_url: str | None) -> dict[str, object]:
    """The sign-in cookie's attributes: the whole app, same site only, and sent over
    HTTPS only when the app is served over HTTPS (else a first visit typed as http://
    would carry the token in clear; a plain-HTTP address, e.g. a laptop, keeps it)."""
    options: dict[str, object] = {"path": "/", "expires": expires, "sameSite": "strict"}
    if page_url is not None and page_url.lower().startswith("https://"):
        options["secure"] = True
    return options


def _cookie_order(conf: Settings) -> None:
    ss = st.session_state
    pending: tuple[str, str] | None = ss.get(_COOKIE_SET)
    delete = bool(ss.get(_COOKIE_DELETE))
    if not pending and not delete:
        return
    name = AuthOptions.from_settings(conf).cookie_name
    if pending:
        token, expires = pending
        done = _cookie_component(
            method="set",
            cookie=name,
            value=token,
            options=cookie_options(expires, st.context.url),
            key="auth_cookie_set_" + hashlib.sha256(token.encode()).hexdigest()[:12],
            default=False,
        )
        if done is True:
            ss.pop(_COOKIE_SET, None)
    else:
        done = _cookie_component(
            method="delete",
            cookie=name,
            key=f"auth_cookie_delete_{ss.get(_COOKIE_DELETE_ROUND, 0)}",
            default=False,
        )
        if done is True:
            ss.pop(_COOKIE_DELETE, None)
            ss[_COOKIE_DELETE_ROUND] = int(ss.get(_COOKIE_DELETE_ROUND, 0)) + 1


def _issue_cookie(conf: Settings, account: Account, epoch: int) -> None:
    days = AuthOptions.from_settings(conf).cookie_expiry_days
    if days > 0:
        token = accounts.issue_token(
            account.username,
            epoch,
            _cookie_key(conf),
            days,
            store(conf).instance_id(),
            mark=accounts.credentials_mark(account),
        )
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=days)
        st.session_state.pop(_COOKIE_DELETE, None)
        st.session_state[_COOKIE_SET] = (token, expires.isoformat())


# ------------------------------------------------------------------- callbacks


def _failure_key(username: str, known: bool) -> str:
    """Failed attempts on unknown names are counted too (so that a lock does not tell
    which names exist), under a digest: a password typed in the name field is not kept."""
    if known:
        return username
    return "?" + hashlib.sha256(username.encode("utf-8")).hexdigest()[:16]


def local_zone(conf: Settings) -> ZoneInfo:
    return ZoneInfo(conf["general.timezone"])


def _local_time(conf: Settings, when: dt.datetime) -> str:
    return when.astimezone(local_zone(conf)).strftime("%H:%M")


def _password_attempt(
    conf: Settings, db: AuthStore, key: str, check: Callable[[], bool], moment: dt.datetime
) -> accounts.Attempt:
    opts = AuthOptions.from_settings(conf)
    lockout = dt.timedelta(minutes=opts.lockout_minutes)
    return accounts.password_attempt(db, key, check, opts.max_failed_logins, lockout, moment)


def _attempt_notice(
    conf: Settings,
    db: AuthStore,
    attempt: accounts.Attempt,
    who: str,
    tag: Mapping[str, object],
    failed_key: str,
) -> tuple[str, str]:
    """Audit a refused password attempt and word it for the person."""
    until = attempt.state.locked_until
    if attempt.outcome == accounts.LOCKED and until is not None:
        db.log_event(audit.LOGIN_LOCKED, who, tag)
        return ("error", t("auth.login.locked", until=_local_time(conf, until)))
    db.log_event(audit.LOGIN_FAILED, who, {"failures": attempt.state.failures, **tag})
    if attempt.outcome == accounts.JUST_LOCKED and until is not None:
        db.log_event(audit.LOCKOUT, who, {"until": until.isoformat()})
        return ("error", t("auth.login.just_locked", until=_local_time(conf, until)))
    return ("error", t(failed_key))


def _on_login(conf: Settings) -> None:
    ss = st.session_state
    username = accounts.normalise_username(str(ss.get("login_username") or ""))
    password = str(ss.get("login_password") or "")
    ss["login_password"] = ""
    if not username or not password:
        ss[_NOTICE] = ("error", t("auth.login.missing"))
        return
    db = store(conf)
    known_accounts = load_accounts(conf)
    known = username in known_accounts
    who = username if known else ""
    key = _failure_key(username, known)
    moment = now()
    found: list[Account] = []

    def check() -> bool:
        account = accounts.authenticate(known_accounts, username, password)
        found.extend([account] if account else [])
        return account is not None

    attempt = _password_attempt(conf, db, key, check, moment)
    tag = {} if known else {"unknown_name": True}
    if attempt.outcome != accounts.OK or not found:
        ss[_NOTICE] = _attempt_notice(conf, db, attempt, who, tag, "auth.login.failed")
        return
    account = found[0]
    epoch = db.session_epoch(account.username)
    _start_session(db, account, epoch, moment)
    ss[_IGNORE_COOKIE] = True
    _issue_cookie(conf, account, epoch)
    db.log_event(audit.LOGIN, account.username)


def _logout(user: User, conf: Settings) -> None:
    """Sign out everywhere: every session and cookie of the account ends."""
    db = store(conf)
    db.bump_session_epoch(user.username)
    _end_session(db, user.username, audit.LOGOUT, t("auth.logged_out"))
    downloads.forget_downloads(user.username)  # its files' /media URLs answer 404
    st.session_state[_NOTICE] = ("info", t("auth.logged_out"))


def _change_password(user: User, conf: Settings) -> None:
    ss = st.session_state
    username = user.username
    current = str(ss.get("pw_current") or "")
    new, repeat = str(ss.get("pw_new") or ""), str(ss.get("pw_repeat") or "")
    for key in ("pw_current", "pw_new", "pw_repeat"):
        ss[key] = ""
    if conf.demo:
        ss["pw_notice"] = ("warning", t("account.password.demo"))
        return
    db = store(conf)
    attempt = _password_attempt(
        conf,
        db,
        username,
        lambda: accounts.authenticate(load_accounts(conf), username, current) is not None,
        now(),
    )
    if attempt.outcome != accounts.OK:
        tag = {"form": "password"}
        ss["pw_notice"] = _attempt_notice(
            conf, db, attempt, username, tag, "account.password.wrong"
        )
        return
    if new != repeat:
        ss["pw_notice"] = ("error", t("account.password.mismatch"))
        return
    try:
        account = accounts.set_password(accounts.accounts_path(conf), username, new)
    except accounts.AccountError as exc:
        ss["pw_notice"] = ("error", str(exc))
        return
    epoch = db.bump_session_epoch(username)  # other sessions and cookies end
    ss[_EPOCH] = (epoch, accounts.credentials_mark(account))
    _issue_cookie(conf, account, epoch)
    db.log_event(audit.PASSWORD_CHANGED, username)
    ss["pw_notice"] = ("success", t("account.password.changed"))


# ------------------------------------------------------------------------ pages


def _show_notice(key: str) -> None:
    """Show a notice once; kept while a cookie order is pending, since the browser's
    answer to it starts one more run (the notice would flash and vanish)."""
    ss = st.session_state
    pending = ss.get(_COOKIE_SET) or ss.get(_COOKIE_DELETE)
    notice = ss.get(key) if pending else ss.pop(key, None)
    if notice:
        kind, text = notice
        getattr(st, kind)(text)


def login_page() -> None:
    """The login form (French), with the demo accounts in demo mode only."""
    from carto.ui import data

    conf = data.settings()
    st.title(t("auth.login.title"))
    st.caption(t("app.tagline"))
    _show_notice(_NOTICE)
    with st.form("login", clear_on_submit=False):
        st.text_input(t("auth.login.username"), key="login_username", autocomplete="username")
        st.text_input(
            t("auth.login.password"),
            type="password",
            key="login_password",
            autocomplete="current-password",
        )
        st.form_submit_button(
            t("auth.login.submit"), on_click=_on_login, args=(conf,), key="login_submit"
        )
    if conf.demo:
        st.info(t("auth.demo.intro"), icon=":material/science:")
        tables.show(
            pd.DataFrame(
                {
                    "account": list(accounts.ROLES),
                    "password": [accounts.DEMO_PASSWORD] * len(accounts.ROLES),
                    "sees": [t(f"auth.demo.sees.{r}") for r in accounts.ROLES],
                }
            ),
            hide_index=True,
            column_config={
                "account": t("auth.demo.col.account"),
                "password": t("auth.demo.col.password"),
                "sees": t("auth.demo.col.sees"),
            },
            name="demo-accounts",
            narrow=("account", "password"),
        )


def safe_start_page() -> None:
    """Outside demo mode, without a usable cookie key or accounts: what to fix."""
    from carto.ui import data

    conf = data.settings()
    st.title(t("safe_start.title"))
    st.error(t("safe_start.intro"), icon=":material/gpp_bad:")
    # what and where (the accounts file's path, the YAML parser's message, how weak the
    # cookie key is) only in the server log: the page is shown before anyone signs in
    for problem in startup_problems(conf):
        log.error("CartoCampement cannot start until this is fixed: %s", problem)
    st.info(t("safe_start.where"), icon=":material/terminal:")
    st.caption(t("safe_start.footer"))


def sidebar(conf: Settings, user: User) -> None:
    """Who is signed in, and the logout button."""
    with st.sidebar:
        name = escape_markdown(user.label)  # a display name an admin typed
        st.caption(t("auth.signed_in", name=name, role=t(f"role.{user.role}")))
        st.button(
            t("auth.logout"),
            key="logout",
            on_click=guarded(conf)(_logout),
            args=(conf,),
            icon=":material/logout:",
        )


def password_form(conf: Settings) -> None:
    """Change one's own password: other sessions and cookies of the account end."""
    _show_notice("pw_notice")
    with st.form("password_change", clear_on_submit=False):
        st.text_input(t("account.password.current"), type="password", key="pw_current")
        st.text_input(t("account.password.new"), type="password", key="pw_new")
        st.text_input(t("account.password.repeat"), type="password", key="pw_repeat")
        st.form_submit_button(
            t("account.password.submit"),
            on_click=guarded(conf)(_change_password),
            args=(conf,),
            key="pw_submit",
        )
    st.caption(t("account.password.rules", n=accounts.MIN_PASSWORD_LENGTH))


def digest_form(conf: Settings, user: User) -> None:
    """Choose the e-mail digest, the alerts, or nothing (``accounts.subscribe``)."""
    _show_notice("digest_notice")
    account = load_accounts(conf).get(user.username)
    if conf.demo or account is None:
        st.caption(t("account.digest.demo"))
        return
    if not account.email:
        st.info(t("account.digest.no_email"))
        return
    with st.form("digest_form", clear_on_submit=False):
        st.radio(
            t("account.digest.label"),
            accounts.DIGEST_CHOICES,
            index=accounts.DIGEST_CHOICES.index(account.digest),
            format_func=lambda c: t(f"account.digest.{c}"),
            key="digest_choice",
        )
        st.form_submit_button(
            t("account.digest.submit"),
            on_click=guarded(conf)(_save_digest),
            args=(conf,),
            key="digest_submit",
        )
    st.caption(t("account.digest.help", email=account.email))


def _save_digest(user: User, conf: Settings) -> None:
    choice = str(st.session_state.get("digest_choice") or accounts.DIGEST_OFF)
    try:
        account = accounts.subscribe(
            accounts.accounts_path(conf), store(conf), user.username, user.username, choice
        )
    except accounts.AccountError as exc:
        st.session_state["digest_notice"] = ("error", str(exc))
        return
    saved = t("account.digest.saved", choice=t(f"account.digest.{account.digest}"))
    st.session_state["digest_notice"] = ("success", saved)


def logout_button(conf: Settings) -> None:
    st.button(
        t("auth.logout"),
        key="logout_page",
        on_click=guarded(conf)(_logout),
        args=(conf,),
    )
