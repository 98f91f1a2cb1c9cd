"""The audit log (issue 6): who signed in, failed, was locked out, exported what.

Entries live in the snapshot store (``SnapshotStore.log_event`` / ``audit_log``); this
module names the events and gives the French label of each, for the admin page and the
command line. Plain Python: no Streamlit here.
"""

from __future__ import annotations

import getpass
from collections.abc import Mapping
from typing import Any

from carto.i18n import t
from carto.store import SnapshotStore

LOGIN = "login"
LOGIN_COOKIE = "login_cookie"
LOGIN_FAILED = "login_failed"
LOGIN_LOCKED = "login_locked"  # an attempt while the account is locked
LOCKOUT = "lockout"
UNLOCK = "unlock"
LOGOUT = "logout"
SESSION_EXPIRED = "session_expired"
SESSION_REVOKED = "session_revoked"
COOKIE_REFUSED = "cookie_refused"
PASSWORD_CHANGED = "password_changed"
USER_ADDED = "user_added"
USER_REMOVED = "user_removed"
ROLE_CHANGED = "role_changed"
EXPORT = "export"
ACTION_REFUSED = "action_refused"  # a callback refused by the guard (role changed)

EVENTS: tuple[str, ...] = (
    LOGIN,
    LOGIN_COOKIE,
    LOGIN_FAILED,
    LOGIN_LOCKED,
    LOCKOUT,
    UNLOCK,
    LOGOUT,
    SESSION_EXPIRED,
    SESSION_REVOKED,
    COOKIE_REFUSED,
    PASSWORD_CHANGED,
    USER_ADDED,
    USER_REMOVED,
    ROLE_CHANGED,
    EXPORT,
    ACTION_REFUSED,
)


def label(event: str) -> str:
    """The French label of an event (the code itself when unknown)."""
    return t(f"audit.event.{event}") if event in EVENTS else event


def cli_actor() -> str:
    """Who acts from the command line: the system account, marked as such."""
    try:
        return "cli:" + getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def record_export(
    store: SnapshotStore,
    username: str,
    *,
    dataset: str,
    fmt: str,
    rows: int,
    filters: Mapping[str, Any] | None = None,
    role: str | None = None,
) -> None:
    """Log one export: who, which dataset and format, the filters and how many rows."""
    details: dict[str, Any] = {
        "dataset": dataset,
        "format": fmt,
        "rows": int(rows),
        "filters": dict(filters or {}),
    }
    if role:
        details["role"] = role
    store.log_event(EXPORT, username, details)
