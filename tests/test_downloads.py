"""Files produced by deferred downloads: made and audited only for a valid session, and
deleted at sign-out or after their lifetime (``carto.ui.downloads``, issue 14 item 5).

These tests drive Streamlit's real ``MediaFileManager`` (what serves ``/media/…``)
outside any script run, as its backend handler does when a browser asks for a file.
"""

from __future__ import annotations

import datetime as dt
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from streamlit.runtime import Runtime
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

from carto import accounts, audit
from carto.settings import Settings, load_settings
from carto.store import AuthStore
from carto.ui import downloads

MIME = "text/csv"


@pytest.fixture
def manager(monkeypatch: pytest.MonkeyPatch) -> Iterator[MediaFileManager]:
    """A running server's media manager (the runtime is a stand-in holding it)."""
    found = MediaFileManager(MemoryMediaFileStorage("/media"))
    monkeypatch.setattr(Runtime, "_instance", mock.Mock(media_file_mgr=found))
    yield found


@pytest.fixture
def conf(app_config: Path) -> Settings:
    """Demo settings; the demo accounts signed in (epoch 0) and active just now."""
    settings = load_settings(app_config)
    store = AuthStore(settings.store_path)
    for username in ("coordinateur", "admin"):
        store.touch_session(username)
        downloads.forget_downloads(username)  # files another test made are not ours
    return settings


def serve(manager: MediaFileManager, make: Any, name: str) -> str:
    """What a click does: register the maker, run it as Streamlit's handler does; the
    id part of the file's URL."""
    placeholder = manager.add_deferred(make, MIME, "coords", file_name=name)
    url = manager.execute_deferred(placeholder)
    return url.rsplit("/", 1)[-1].split(".")[0]


def signed_in(conf: Settings, username: str) -> tuple[int, str]:
    """The stamp a session of ``username`` signed in at epoch 0 holds."""
    return 0, accounts.credentials_mark(accounts.load_accounts(conf)[username])


def maker(conf: Settings, username: str, body: bytes, name: str) -> Any:
    def record(store: AuthStore, who: str) -> None:
        audit.record_export(store, who, dataset="passages", fmt="csv", rows=1)

    return downloads.deferred_file(
        conf,
        downloads.Holder(username, username, signed_in(conf, username)),
        downloads.FileToMake(
            lambda: body,
            record,
            roles=frozenset({"admin", "coordinateur"}),
            file_name=name,
            mime=MIME,
        ),
    )


def test_streamlit_internals_still_fit() -> None:
    """The two functions that reach into Streamlit: the id a produced file is stored
    under, and deleting it. If Streamlit changes either, this fails here."""
    mgr = MediaFileManager(MemoryMediaFileStorage("/media"))
    data, name = b"a;b\n1;2\n", "cartocampement_passages.csv"
    placeholder = mgr.add_deferred(lambda: data, MIME, "coords", file_name=name)
    url = mgr.execute_deferred(placeholder)
    file_id = downloads.media_file_id(data, MIME, name)
    assert url == f"/media/{file_id}.csv"
    stored = mgr.read_file(f"{file_id}.csv")
    assert stored is not None and stored.content == data
    assert downloads.drop_media_file(mgr, file_id) is True
    assert mgr.read_file(f"{file_id}.csv") is None
    assert downloads.drop_media_file(mgr, file_id) is False


def test_streamlit_still_drops_an_answer_queued_before_a_run_starts() -> None:
    """Why download buttons do not rerun the page: the answer to a file request waits in
    the session's outgoing queue, and a run that starts clears it of everything but its
    lifecycle messages. If Streamlit starts keeping such answers, this fails, and the
    ``on_click="ignore"`` in ``download_button`` may go."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from streamlit.runtime.forward_msg_queue import ForwardMsgQueue

    queue = ForwardMsgQueue()
    answer = ForwardMsg()
    answer.backend_operation_response.request_id = "1"
    queue.enqueue(answer)
    queue.clear(retain_lifecycle_msgs=True)  # AppSession._clear_queue, at a run's start
    assert queue.flush() == []


def test_a_refused_click_reruns_the_session_that_drew_the_page(
    conf: Settings, manager: MediaFileManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A click does not rerun the page; a refused file asks for the rerun instead, so
    the page shows the login form and the French reason. Through Streamlit's own
    objects: the runtime finds the session, and the rerun is asked on its event loop."""
    from streamlit.runtime.app_session import AppSession

    asked: list[str] = []
    session = mock.Mock(spec=AppSession)
    session._call_soon_on_event_loop.side_effect = lambda callback: callback()
    session.request_rerun.side_effect = lambda client_state: asked.append("rerun")
    sessions = {"drawn-here": session}
    runtime_stand_in = mock.Mock(media_file_mgr=manager, get_app_session=sessions.get)
    monkeypatch.setattr(Runtime, "_instance", runtime_stand_in)
    assert hasattr(Runtime, "get_app_session")

    drawn_for = downloads.Holder(
        "coordinateur", "coordinateur", signed_in(conf, "coordinateur"), "drawn-here"
    )
    make = downloads.deferred_file(
        conf,
        drawn_for,
        downloads.FileToMake(
            lambda: b"fine",
            lambda store, who: None,
            roles=frozenset({"coordinateur"}),
            file_name="f.csv",
            mime=MIME,
        ),
    )
    assert make() == b"fine" and asked == []  # a valid session: no rerun
    AuthStore(conf.store_path).bump_session_epoch("coordinateur")
    with pytest.raises(downloads.DownloadRefused):
        make()
    assert asked == ["rerun"]
    assert downloads.rerun_session("closed-tab") is False
    assert downloads.rerun_session("") is False


def test_sign_out_deletes_the_accounts_files_at_once(
    conf: Settings, manager: MediaFileManager
) -> None:
    mine = serve(manager, maker(conf, "coordinateur", b"mine", "a.csv"), "a.csv")
    also_mine = serve(manager, maker(conf, "coordinateur", b"mine too", "b.csv"), "b.csv")
    theirs = serve(manager, maker(conf, "admin", b"theirs", "c.csv"), "c.csv")
    assert downloads.produced_files("coordinateur") == {mine, also_mine}

    assert downloads.forget_downloads("coordinateur") == 2
    assert manager.read_file(f"{mine}.csv") is None
    assert manager.read_file(f"{also_mine}.csv") is None
    assert manager.read_file(f"{theirs}.csv") is not None  # another account's file stays
    assert not downloads.produced_files("coordinateur")
    assert downloads.forget_downloads("coordinateur") == 0
    downloads.forget_downloads("admin")


def test_a_produced_file_is_deleted_after_its_lifetime(
    conf: Settings, manager: MediaFileManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever becomes of its session (closed tab, no sign-out), a file goes."""
    monkeypatch.setattr(downloads, "FILE_LIFETIME_SECONDS", 0.2)
    file_id = serve(manager, maker(conf, "coordinateur", b"soon gone", "d.csv"), "d.csv")
    assert manager.read_file(f"{file_id}.csv") is not None
    deadline = time.monotonic() + 10
    while manager.read_file(f"{file_id}.csv") is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert manager.read_file(f"{file_id}.csv") is None
    assert file_id not in downloads.produced_files("coordinateur")


def test_a_refused_file_is_neither_stored_nor_audited(
    conf: Settings, manager: MediaFileManager
) -> None:
    store = AuthStore(conf.store_path)
    store.bump_session_epoch("coordinateur")  # signed out elsewhere after the page drew
    with pytest.raises(Exception, match="Callable execution failed") as refused:
        serve(manager, maker(conf, "coordinateur", b"never", "e.csv"), "e.csv")
    assert isinstance(refused.value.__cause__, downloads.DownloadRefused)
    assert manager.read_file(f"{downloads.media_file_id(b'never', MIME, 'e.csv')}.csv") is None
    assert not store.audit_log(event=audit.EXPORT)
    assert not downloads.produced_files("coordinateur")


def test_an_idle_session_gets_no_file(conf: Settings, manager: MediaFileManager) -> None:
    store = AuthStore(conf.store_path)
    idle = int(conf["auth.idle_timeout_minutes"])
    store.touch_session("coordinateur", dt.datetime.now(dt.UTC) - dt.timedelta(minutes=idle + 1))
    with pytest.raises(Exception, match="Callable execution failed"):
        serve(manager, maker(conf, "coordinateur", b"never", "f.csv"), "f.csv")
    assert not store.audit_log(event=audit.EXPORT)


def test_tables_offer_no_export_that_bypasses_the_audit_log() -> None:
    """st.dataframe's toolbar would otherwise download any table as CSV (the Export
    page's preview, a camp's passages with their comments), with no audit entry."""
    config = Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml"
    assert tomllib.loads(config.read_text(encoding="utf-8"))["client"]["disableDataExport"]
