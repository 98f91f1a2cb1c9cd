"""The audit log (issue 6): who signed in, failed, was locked out, exported what.

Entries live in the store (``AuthStore.log_event`` / ``audit_log``); this
module names the events, gives the French label of each and words an entry's details
as a French sentence (``describe``), for the admin page and the command line. Plain
Python: no Streamlit here.
"""

from __future__ import annotations

import datetime as dt
import getpass
from collections.abc import Callable, Mapping
from typing import Any

from carto.filters import STATUS_OF_CODE
from carto.i18n import CATALOGUES, LANGUAGE, format_date, format_datetime, t, t_n
from carto.store import AuthStore

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
# E-mail digest and alerts (carto/digest.py): the log is also their state, which alerts
# were sent today and which sends failed and are to be retried.
DIGEST_SUBSCRIPTION = "digest_subscription"
DIGEST_SENT = "digest_sent"
DIGEST_FAILED = "digest_failed"
DIGEST_SKIPPED = "digest_skipped"  # an account with no e-mail address
ROUND_PLANNED = "round_planned"  # a round saved for an evening (carto/rounds.py)
ROUNDS_PURGED = "rounds_purged"  # plans past [rounds] plan_retention_days forgotten

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
    DIGEST_SUBSCRIPTION,
    DIGEST_SENT,
    DIGEST_FAILED,
    DIGEST_SKIPPED,
    ROUND_PLANNED,
    ROUNDS_PURGED,
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
    store: AuthStore,
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


# ------------------------------------------------------------------ details in French

# The export filters the audit log keeps (``carto.export.names.audit_filters``): key,
# catalogue key of the group's name, and the catalogue prefix of coded values.
_FILTER_GROUPS: tuple[tuple[str, str, str], ...] = (
    ("associations", "filter.associations", ""),
    ("arrondissements", "filter.arrondissements", ""),
    ("publics", "filter.publics", "filter.public."),
    ("besoins", "filter.needs", ""),
    ("statuts", "filter.statuses", "filter.status."),
)
# Groups whose entries hold the address's codes, not the program's (camp statuses).
_CODED: dict[str, Mapping[str, str]] = {"statuts": STATUS_OF_CODE}
_PERIOD_KEYS = ("periode", "du", "au")
_FILE_KEY = "fichier"
_CUSTOM_PERIOD = "perso"


def _label(prefix: str, code: object) -> str:
    """The catalogue label ``prefix + code``, or the code itself when there is none."""
    key = f"{prefix}{code}"
    return t(key) if key in CATALOGUES[LANGUAGE] else str(code)


def _day(value: object) -> str:
    try:
        return format_date(dt.date.fromisoformat(str(value)[:10]))
    except ValueError:
        return str(value)


def _moment(value: object, tz: dt.tzinfo | None) -> str:
    try:
        when = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    if when.tzinfo is not None and tz is not None:
        when = when.astimezone(tz)
    return format_datetime(when)


def _values(value: object) -> list[object]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _filters(filters: Mapping[str, Any]) -> list[str]:
    """The period, the criteria and the file of an export's filters, in French."""
    parts = []
    code = filters.get("periode")
    if "du" in filters and "au" in filters:
        dates = {"start": _day(filters["du"]), "end": _day(filters["au"])}
        if code and code != _CUSTOM_PERIOD:
            parts.append(t("audit.detail.period", name=_label("filter.period.", code), **dates))
        else:
            parts.append(t("audit.detail.dates", **dates))
    for key, name, prefix in _FILTER_GROUPS:
        if filters.get(key):
            values = ", ".join(
                _label(prefix, _CODED.get(key, {}).get(str(v), v)) for v in _values(filters[key])
            )
            parts.append(t("export.filters.group", name=t(name), values=values))
    if filters.get(_FILE_KEY):
        parts.append(t("audit.detail.file", name=filters[_FILE_KEY]))
    known = {*_PERIOD_KEYS, _FILE_KEY, *(key for key, _, _ in _FILTER_GROUPS)}
    parts += [_other(key, value) for key, value in filters.items() if key not in known]
    return parts


def _other(key: str, value: object) -> str:
    """A detail this module does not know (a newer version's): shown, not lost."""
    shown = ", ".join(str(v) for v in _values(value)) if isinstance(value, list) else value
    return t("audit.detail.unknown_key", key=key, value=shown)


def _export(details: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """What was exported (dataset, format, rows), then how (period, filters, file, role)."""
    dataset = str(details.get("dataset", ""))
    fmt = str(details.get("format", ""))
    parts = [
        _label("export.dataset.", dataset)
        if f"export.dataset.{dataset}" in CATALOGUES[LANGUAGE]
        else _label("audit.dataset.", dataset)
    ]
    if fmt:
        parts.append(
            _label("export.format.", fmt)
            if f"export.format.{fmt}" in CATALOGUES[LANGUAGE]
            else _label("audit.format.", fmt)
        )
    if "rows" in details:
        noun = "count.passages" if dataset == "synthese" else "count.lines"
        parts.append(t_n(noun, details["rows"]))
    how = []
    filters = details.get("filters")
    if isinstance(filters, Mapping):
        how += _filters(filters)
    if details.get("role"):
        how.append(t("audit.detail.role", role=_label("role.", details["role"])))
    known = {"dataset", "format", "rows", "filters", "role"}
    return parts, how + [_other(k, v) for k, v in details.items() if k not in known]


def _detail(key: str, value: Any, tz: dt.tzinfo | None) -> str | None:
    """One detail of a non-export entry in French (None: nothing worth saying)."""
    words: dict[str, Callable[[], str | None]] = {
        "by": lambda: t("audit.detail.by", who=value),
        "role": lambda: t("audit.detail.role", role=_label("role.", value)),
        "failures": lambda: t_n("audit.detail.failures", value),
        "unknown_name": lambda: t("audit.detail.unknown_name") if value else None,
        "form": lambda: _label("audit.detail.form.", value),
        "until": lambda: t("audit.detail.until", when=_moment(value, tz)),
        "issued": lambda: t("audit.detail.issued", when=_moment(value, tz)),
        "client": lambda: t("audit.detail.client", address=value) if value else None,
        "reason": lambda: _label("audit.detail.reason.", value) if value else None,
        "digest": lambda: _label("account.digest.", value),
        "kind": lambda: _label("audit.detail.kind.", value),
        "camps": lambda: t_n("audit.detail.camps", len(_values(value))),
        "error": lambda: t("audit.detail.error", error=value) if value else None,
        "plan": lambda: t("audit.detail.plan", id=value),
        "evening": lambda: t("audit.detail.evening", day=_day(value)),
        "association": lambda: t("audit.detail.association", name=value),
        "planned_camps": lambda: t_n("audit.detail.planned_camps", value),
        "plans": lambda: t_n("audit.detail.plans", value),
    }
    word = words.get(key)
    return word() if word is not None else _other(key, value)


def describe(event: str, details: Mapping[str, Any], tz: dt.tzinfo | None = None) -> str:
    """The details of an audit entry as a French sentence ("" when there are none), e.g.
    "Passages, CSV, 322 lignes ; période « Mois dernier », du 01/10/2026 au 31/10/2026 ;
    Associations : Utopia 56 ; fichier ….csv ; rôle : Coordinateur·rice"; times in
    ``tz``."""
    if event == EXPORT:
        what, how = _export(details)
        return " ; ".join([", ".join(what), *how])
    found = (_detail(key, value, tz) for key, value in details.items())
    return ", ".join(part for part in found if part)
