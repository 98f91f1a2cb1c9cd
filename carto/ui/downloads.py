"""What leaves the server as a file or a printable page: produced, checked and audited
on the server, and forgotten at sign-out (issue 14, item 5).

**Download buttons** (``download_button``) hand Streamlit a callable, not the bytes
(Streamlit's deferred download): when the browser asks for the file, Streamlit runs it
on a worker thread, outside the script run (no session state there), and serves what it
returns under ``/media/<id>.<ext>``. The callable

1. checks the session the page was drawn for, from the store and the accounts
   (``auth.still_signed_in`` with the username, session stamp and role bound when the
   page was drawn): the account still exists, nobody signed it out or changed its
   password since, it was active within the idle timeout, its role is unchanged and may
   have this file;
2. writes the file from what the page showed (the data the page built and cached);
3. writes the audit entry;
4. returns the bytes.

So a file exists only with its audit entry, whatever happens to the click's own
message. When the check fails nothing is written or audited and the callable raises
``DownloadRefused``; no download starts, and the callable asks for a rerun of the
session that drew the page, which then shows the login form with the French reason
(session closed) or, for a role changed without a sign-out, the page's refusal.

**A click does not rerun the page** (``on_click="ignore"``). Streamlit answers the
browser's file request with a message put in the session's outgoing queue, and a script
run that starts empties that queue of everything but its own lifecycle messages
(``ForwardMsgQueue.clear(retain_lifecycle_msgs=True)``, Streamlit 1.67). With the
default ``on_click="rerun"`` the click starts such a run while the file is being made:
when the run starts after the answer was queued and before it was sent, the answer is
lost, the button spins for three minutes and no download starts (a browser test failed
so once in a while, more often on a busy machine).

**Produced files** stay in Streamlit's memory, served to anyone who has the URL (the
``/media`` route checks no cookie), until two of its clean-up passes have gone by (the
end of any session's script run): minutes on a quiet server, and signing out does not
remove them. Here every file produced is remembered with its account:
``forget_downloads(username)``, called at sign-out, deletes them at once, and each is
deleted ``FILE_LIFETIME_SECONDS`` after it was produced in any case (a browser fetches
it right away), so a file outlives neither its session's sign-out nor, by more than
that delay, the session itself.

**The printable summary shown in the page** counts as an export too: ``audit_view``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass

import streamlit as st
from streamlit import runtime
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.scriptrunner import get_script_run_ctx

from carto.i18n import t
from carto.settings import Settings
from carto.store import AuthStore
from carto.ui import auth

FILE_LIFETIME_SECONDS = 60.0
_VIEWS_AUDITED = "downloads_views_audited"

Produce = Callable[[], bytes]
Record = Callable[[AuthStore, str], None]  # (store, username): write the audit entry


class DownloadRefused(Exception):
    """The session the page was drawn for is no longer valid, or its role may no longer
    have the file: nothing was produced or audited."""


@dataclass(frozen=True)
class Holder:
    """Who a page was drawn for, bound when it is drawn, checked again at the click."""

    username: str
    role: str
    stamp: object  # the session epoch and password mark this session signed in with
    session_id: str = ""  # the Streamlit session that drew the page ("" outside a run)


def holder(user: auth.User) -> Holder:
    """The person this run draws the page for (call it in the script run)."""
    ctx = get_script_run_ctx()
    session_id = ctx.session_id if ctx is not None else ""
    return Holder(user.username, user.role, st.session_state.get(auth._EPOCH), session_id)


@dataclass(frozen=True)
class FileToMake:
    """A file made only when the browser asks for it: how to make and audit it, the roles
    that may have it, its name and type."""

    produce: Produce
    record: Record
    roles: frozenset[str]
    file_name: str
    mime: str


def deferred_file(conf: Settings, who: Holder, file: FileToMake) -> Produce:
    """The callable a download button gets: checks the session of ``who`` (and that its
    role is one of ``file.roles``), makes the file, audits it, remembers it."""

    def make() -> bytes:
        user = auth.still_signed_in(conf, who.username, who.stamp, file.roles & {who.role})
        if user is None:
            rerun_session(who.session_id)  # it shows why, in French
            raise DownloadRefused(t("download.refused"))
        data = file.produce()
        file.record(auth.store(conf), user.username)
        _remember(user.username, media_file_id(data, file.mime, file.file_name))
        return data

    return make


def download_button(label: str, conf: Settings, who: Holder, file: FileToMake, *, key: str) -> None:
    """A download button whose file is produced and audited at the click, for a session
    still valid (see the module docstring)."""
    st.download_button(
        label,
        data=deferred_file(conf, who, file),
        file_name=file.file_name,
        mime=file.mime,
        icon=":material/download:",
        key=key,
        on_click="ignore",  # see the module docstring: a rerun here can lose the file
    )


def audit_view(conf: Settings, user: auth.User, view: Hashable, record: Record) -> bool:
    """Audit a page that shows exported content (the printable summary) once per session
    and distinct ``view``: the content counts as produced the first time this session
    shows it for that user, filters and period; reruns of the same view (another widget,
    a data refresh, coming back to the page) add nothing, another view adds one entry,
    and so does the same view in a new session (another tab, after signing in again).
    Returns whether an entry was written. Call it before showing the content: no view
    without its entry."""
    seen: set[Hashable] = st.session_state.setdefault(_VIEWS_AUDITED, set())
    key = (user.username, user.role, view)
    if key in seen:
        return False
    record(auth.store(conf), user.username)
    seen.add(key)
    return True


# ---------------------------------------------------------------- produced files

_lock = threading.Lock()
_produced: dict[str, set[str]] = {}  # username → ids of the files produced for it


def _remember(username: str, file_id: str) -> None:
    with _lock:
        _produced.setdefault(username, set()).add(file_id)
    timer = threading.Timer(FILE_LIFETIME_SECONDS, _expire, (username, file_id))
    timer.daemon = True
    timer.start()


def _expire(username: str, file_id: str) -> None:
    with _lock:
        ids = _produced.get(username, set())
        ids.discard(file_id)
        if not ids:
            _produced.pop(username, None)
    _delete_files({file_id})


def produced_files(username: str) -> frozenset[str]:
    """The ids of the files produced for ``username`` and not deleted yet."""
    with _lock:
        return frozenset(_produced.get(username, ()))


def forget_downloads(username: str) -> int:
    """Delete every file produced for ``username`` that Streamlit still serves (its
    ``/media/…`` URL answers 404 from now on); returns how many were still there. Called
    at sign-out (``auth._logout``): signing out ends every session of the account.

    File ids are digests of the content and name: a byte-identical file produced for
    someone else in the same second goes too (they would click again)."""
    with _lock:
        ids = _produced.pop(username, set())
    return _delete_files(ids)


def _delete_files(ids: set[str]) -> int:
    if not ids or not runtime.exists():
        return 0
    manager = runtime.get_instance().media_file_mgr
    return sum(drop_media_file(manager, file_id) for file_id in ids)


# ------------------------------------------------------ Streamlit internals (1.67)
# Streamlit has no public way to delete one stored file, to learn the id of a file a
# deferred download produced, nor to rerun a session from outside its script run. These
# three functions are the only places that reach into its internals;
# tests/test_downloads.py checks them against the installed Streamlit and fails loudly
# when they change.


def rerun_session(session_id: str) -> bool:
    """Ask Streamlit to rerun a session, as a click on a widget would; False when the
    session is gone (closed tab) or unknown. Safe from any thread: the request is made
    on the server's event loop, where Streamlit handles a browser's rerun."""
    if not session_id or not runtime.exists():
        return False
    session = runtime.get_instance().get_app_session(session_id)
    if session is None:
        return False
    session._call_soon_on_event_loop(lambda: session.request_rerun(None))
    return True


def media_file_id(data: bytes, mime: str, file_name: str) -> str:
    """The id under which Streamlit's in-memory media storage keeps the file a deferred
    download returned (``MediaFileManager.execute_deferred`` stores it under this id)."""
    from streamlit.runtime.memory_media_file_storage import _calculate_file_id

    return _calculate_file_id(data, mime, file_name)


def drop_media_file(manager: MediaFileManager, file_id: str) -> bool:
    """Delete a stored file now, as Streamlit's own clean-up does on its second pass;
    False when it was gone already."""
    with manager._lock:
        if file_id not in manager._file_metadata:
            return False
        manager._delete_file(file_id)
        return True
