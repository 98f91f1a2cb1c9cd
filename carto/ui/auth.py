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

- a session holds the account and the session epoch it signed in with; a run whose
  epoch is no longer the account's (logout anywhere, password change) ends it;
- a cookie is accepted only when signed with the cookie key, not expired, for an
  existing account, in its current epoch, and the account was active within the idle
  timeout;
- failed sign-ins are counted in the store: the ``max_failed_logins``-th in a row locks
  the account for ``lockout_minutes``, for every session and across restarts;
- every sign-in, failure, lockout, logout, expiry and refused cookie is audited.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Concatenate, ParamSpec
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from carto import accounts, audit
from carto.accounts import Account
from carto.i18n import t
from carto.settings import Settings
from carto.store import SnapshotStore
from carto.ui import downloads, navigation

_USER = "auth_username"
_EPOCH = "auth_epoch"
_ACTIVITY = "auth_last_activity"
_TOUCHED = "auth_store_touched"
_NOTICE = "auth_notice"
_COOKIE_SET = "auth_cookie_pending"
_COOKIE_DELETE = "auth_cookie_delete"
_IGNORE_COOKIE = "auth_ignore_cookie"
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


def request_cookie(name: str) -> str | None:
    """The cookie the browser sent when this session opened."""
    return st.context.cookies.get(name)


def store(conf: Settings) -> SnapshotStore:
    """The store holding lockouts, epochs and the audit log (a fresh object: its state is
    on disk, shared by every session and process)."""
    return SnapshotStore(conf.store_path)


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
    treating ``pages/`` as a folder of directly reachable pages."""
    if startup_problems(conf):
        _only_page(safe_start_page, "demarrage", t("safe_start.title"))
    user = current_user(conf)
    _write_cookie(conf)
    if user is None:
        _only_page(login_page, "connexion", t("auth.login.title"))
    assert user is not None
    return user


def _only_page(page: Callable[[], None], url_path: str, title: str) -> None:
    st.navigation(
        [st.Page(page, title=title, url_path=url_path, default=True)], position="hidden"
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
    token = request_cookie(str(conf["auth.cookie_name"]))
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
    conf: Settings, username: str, epoch: object, roles: frozenset[str] | None = None
) -> User | None:
    """The account ``username`` when a session that signed in at ``epoch`` is still
    valid, from the store and the accounts alone: the account exists, its session epoch
    is still ``epoch`` (no sign-out, password change or removal since), it was active
    within the idle timeout and its role is among ``roles`` (any when None); else None.

    It reads no session state and writes nothing, so it also serves code that runs
    outside the script thread, such as a deferred download (``carto.ui.downloads``)."""
    account = load_accounts(conf).get(username)
    db = store(conf)
    if account is None or epoch is None or db.session_epoch(username) != epoch:
        return None
    idle, seen = _idle_limit(conf), db.last_seen(username)
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


def _idle_limit(conf: Settings) -> dt.timedelta | None:
    minutes = int(conf["auth.idle_timeout_minutes"])
    return dt.timedelta(minutes=minutes) if minutes > 0 else None


def _check_session(conf: Settings, username: str, moment: dt.datetime) -> User | None:
    ss = st.session_state
    db = store(conf)
    account = load_accounts(conf).get(username)
    if account is None or db.session_epoch(username) != ss.get(_EPOCH):
        _end_session(db, username, audit.SESSION_REVOKED, t("auth.revoked"))
        return None
    idle = _idle_limit(conf)
    last = ss.get(_ACTIVITY)
    if idle is not None and last is not None and moment.timestamp() - last > idle.total_seconds():
        minutes = int(idle.total_seconds() // 60)
        _end_session(db, username, audit.SESSION_EXPIRED, t("auth.expired", minutes=minutes))
        return None
    ss[_ACTIVITY] = moment.timestamp()
    if moment.timestamp() - ss.get(_TOUCHED, 0.0) >= TOUCH_EVERY_SECONDS:
        db.touch_session(username, moment)
        ss[_TOUCHED] = moment.timestamp()
    return User(account.username, account.label, account.role)


def _resume_from_cookie(conf: Settings, token: str, moment: dt.datetime) -> User | None:
    ss = st.session_state
    db = store(conf)
    ss[_IGNORE_COOKIE] = True  # one try per session, whatever the outcome
    if float(conf["auth.cookie_expiry_days"]) <= 0:
        return None
    try:
        key = _cookie_key(conf)
    except accounts.AccountError:  # no usable key: the safe-start page says so
        return None
    claims = accounts.read_token(token, key, moment)
    account = load_accounts(conf).get(claims.username) if claims else None
    reason = None
    if claims is None:
        reason = "invalid"  # another key, tampered, expired or malformed
    elif account is None:
        reason = "account"
    elif claims.epoch != db.session_epoch(account.username):
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
    db.log_event(audit.LOGIN_COOKIE, account.username)
    return User(account.username, account.label, account.role)


def _start_session(db: SnapshotStore, account: Account, epoch: int, moment: dt.datetime) -> None:
    ss = st.session_state
    ss[_USER] = account.username
    ss[_EPOCH] = epoch
    ss[_ACTIVITY] = moment.timestamp()
    ss[_TOUCHED] = moment.timestamp()
    ss.pop(_NOTICE, None)
    db.touch_session(account.username, moment)


def _end_session(db: SnapshotStore, username: str, event: str, notice: str) -> None:
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


def _write_cookie(conf: Settings) -> None:
    """Write or delete the browser cookie when a callback asked for it (the component
    runs in the browser once this run's output reaches it)."""
    ss = st.session_state
    token = ss.pop(_COOKIE_SET, None)
    delete = ss.pop(_COOKIE_DELETE, False)
    if not token and not delete:
        return
    import extra_streamlit_components as stx

    name = str(conf["auth.cookie_name"])
    manager = stx.CookieManager(key="auth_cookie_manager")  # a hidden, 0-px-high frame
    if token:
        days = float(conf["auth.cookie_expiry_days"])
        expires = dt.datetime.now() + dt.timedelta(days=days)
        manager.set(name, token, key="auth_cookie_set", expires_at=expires, same_site="strict")
    else:
        manager.cookies.setdefault(name, "")  # its delete() forgets a known cookie
        manager.delete(name, key="auth_cookie_delete")


def _issue_cookie(conf: Settings, username: str, epoch: int) -> None:
    days = float(conf["auth.cookie_expiry_days"])
    if days > 0:
        st.session_state[_COOKIE_SET] = accounts.issue_token(
            username, epoch, _cookie_key(conf), days
        )


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
    state = db.login_state(key)
    if state.locked(moment) and state.locked_until is not None:
        db.log_event(audit.LOGIN_LOCKED, who, {} if known else {"unknown_name": True})
        ss[_NOTICE] = ("error", t("auth.login.locked", until=_local_time(conf, state.locked_until)))
        return
    account = accounts.authenticate(known_accounts, username, password)
    if account is None:
        max_failures = int(conf["auth.max_failed_logins"])
        lockout = dt.timedelta(minutes=int(conf["auth.lockout_minutes"]))
        state = db.record_failed_login(key, max_failures, lockout, moment)
        details = {"failures": state.failures} | ({} if known else {"unknown_name": True})
        db.log_event(audit.LOGIN_FAILED, who, details)
        if state.locked(moment) and state.locked_until is not None:
            db.log_event(audit.LOCKOUT, who, {"until": state.locked_until.isoformat()})
            until = _local_time(conf, state.locked_until)
            ss[_NOTICE] = ("error", t("auth.login.just_locked", until=until))
        else:
            ss[_NOTICE] = ("error", t("auth.login.failed"))
        return
    db.clear_failed_logins(account.username)
    epoch = db.session_epoch(account.username)
    _start_session(db, account, epoch, moment)
    ss[_IGNORE_COOKIE] = True
    _issue_cookie(conf, account.username, epoch)
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
    if accounts.authenticate(load_accounts(conf), username, current) is None:
        max_failures = int(conf["auth.max_failed_logins"])
        lockout = dt.timedelta(minutes=int(conf["auth.lockout_minutes"]))
        state = db.record_failed_login(username, max_failures, lockout, now())
        db.log_event(audit.LOGIN_FAILED, username, {"failures": state.failures, "form": "password"})
        ss["pw_notice"] = ("error", t("account.password.wrong"))
        return
    if new != repeat:
        ss["pw_notice"] = ("error", t("account.password.mismatch"))
        return
    try:
        accounts.set_password(accounts.accounts_path(conf), username, new)
    except accounts.AccountError as exc:
        ss["pw_notice"] = ("error", str(exc))
        return
    epoch = db.bump_session_epoch(username)  # other sessions and cookies end
    ss[_EPOCH] = epoch
    _issue_cookie(conf, username, epoch)
    db.log_event(audit.PASSWORD_CHANGED, username)
    ss["pw_notice"] = ("success", t("account.password.changed"))


# ------------------------------------------------------------------------ pages


def _show_notice(key: str) -> None:
    notice = st.session_state.pop(key, None)
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
        st.dataframe(
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
        )


def safe_start_page() -> None:
    """Outside demo mode, without a usable cookie key or accounts: what to fix."""
    from carto.ui import data

    conf = data.settings()
    st.title(t("safe_start.title"))
    st.error(t("safe_start.intro"), icon=":material/gpp_bad:")
    for problem in startup_problems(conf):
        st.markdown(f"- {problem}")
    st.caption(t("safe_start.footer"))


def sidebar(conf: Settings, user: User) -> None:
    """Who is signed in, and the logout button."""
    with st.sidebar:
        st.caption(t("auth.signed_in", name=user.label, role=t(f"role.{user.role}")))
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


def logout_button(conf: Settings) -> None:
    st.button(
        t("auth.logout"),
        key="logout_page",
        on_click=guarded(conf)(_logout),
        args=(conf,),
    )
