"""A page left open, attacked from outside: the idle timeout (``[auth]
idle_timeout_minutes``) must count what the person does, not what the app does by
itself. A new snapshot makes the app rerun every open page (``data.watch_for_new_snapshot``);
that rerun used to count as activity, so with syncs landing more often than the timeout,
a page left open on a shared computer never expired, and kept the account's cookies
valid (they are refused after the same idle time, from the store's ``last_seen``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from carto import sync
from carto.settings import load_settings
from carto.store import AuthStore, SnapshotStore
from carto.ui import auth
from testing.app import TEST_PASSWORD, login, new_app
from tests.test_auth_app import cookie_for, is_login_page, live_config, texts, with_cookie

__all__ = ["live_config"]  # the fixture, used by name


def test_a_new_snapshot_is_no_activity_for_the_idle_timeout(
    live_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = load_settings(live_config)
    assert auth.idle_timeout_minutes(conf) == 60
    clock = [dt.datetime.now(dt.UTC)]  # the sessions' clock (``auth.now``, a seam)
    monkeypatch.setattr(auth, "now", lambda: clock[0])
    armed: list[bool] = []

    def refresh(*args: object, **kwargs: object) -> None:
        """The background sync: once armed, it lands one new snapshot, 50 minutes
        after the person's last action."""
        if armed:
            armed.clear()
            clock[0] += dt.timedelta(minutes=50)
            with SnapshotStore(conf.store_path).transaction():
                pass  # a new version, as a sync that changed something

    monkeypatch.setattr(sync, "refresh_in_background", refresh)
    at = login(new_app(), "partenaire", TEST_PASSWORD)
    store = AuthStore(conf.store_path)
    seen = store.last_seen("partenaire")
    version = SnapshotStore(conf.store_path).version
    armed.append(True)
    at.run()  # the person's last action; the snapshot lands while the page is left
    assert SnapshotStore(conf.store_path).version == version + 1  # and the app reran
    assert not is_login_page(at)
    assert store.last_seen("partenaire") == seen  # that rerun is no activity

    clock[0] += dt.timedelta(minutes=11)  # 61 minutes after the last action
    epoch = store.session_epoch("partenaire")
    with_cookie(monkeypatch, cookie_for(live_config, "partenaire", epoch))
    assert is_login_page(new_app().run())  # the account's cookie, copied: refused
    assert store.audit_log(1)[0]["details"] == {"reason": "idle"}
    at.run()
    assert is_login_page(at) and "inactivité" in texts(at)
