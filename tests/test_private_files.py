"""Sensitive files (snapshot, its SQLite companions, accounts, demo snapshot) are created
readable by their owner only, whatever the umask, and tightened when found wider
(issue 14, item 10)."""

from __future__ import annotations

import datetime as dt
import logging
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from carto import accounts, private_files
from carto.dataset import ensure_demo_snapshot
from carto.settings import load_settings
from carto.store import SnapshotStore
from testing.app import write_accounts


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def companions(db: Path) -> list[Path]:
    return [db.with_name(db.name + suffix) for suffix in ("-wal", "-shm")]


@pytest.fixture(params=[0o022, 0o002, 0o000], ids=lambda u: f"umask{u:03o}")
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    """Run the test under a permissive umask (the usual ones, and none at all)."""
    previous = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(previous)


def test_a_new_snapshot_its_wal_shm_and_its_folders_are_private(tmp_path: Path, umask: int) -> None:
    db = tmp_path / "made" / "by-the-app" / "snapshot.sqlite"
    store = SnapshotStore(db)
    # Keep a connection open so that SQLite's -wal and -shm files exist to be looked at.
    with store.transaction() as conn:
        store.set_meta(conn, {"synced_at": "2026-11-26T00:00:00+00:00"})
        for path in [db, *companions(db)]:
            assert path.exists(), path
            assert mode(path) == private_files.FILE_MODE, (path, oct(mode(path)))
    assert mode(tmp_path / "made") == mode(tmp_path / "made" / "by-the-app") == 0o700


def test_an_existing_folder_is_left_alone(tmp_path: Path) -> None:
    os.chmod(tmp_path, 0o755)
    SnapshotStore(tmp_path / "s.sqlite")
    assert mode(tmp_path) == 0o755
    assert mode(tmp_path / "s.sqlite") == 0o600


def test_an_existing_world_readable_snapshot_and_its_companions_are_tightened(
    tmp_path: Path,
) -> None:
    db = tmp_path / "snapshot.sqlite"
    old = sqlite3.connect(db)  # an earlier version's store: SQLite's default 0644
    try:
        old.execute("PRAGMA journal_mode=WAL")
        old.execute("CREATE TABLE earlier(x)")
        old.commit()
        for path in [db, *companions(db)]:
            os.chmod(path, 0o644)
        store = SnapshotStore(db)
        for path in [db, *companions(db)]:
            assert mode(path) == 0o600, (path, oct(mode(path)))
        assert store.version == 0  # the existing database still opens
    finally:
        old.close()


def test_a_snapshot_that_cannot_be_tightened_still_opens_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "snapshot.sqlite"
    sqlite3.connect(db).close()
    os.chmod(db, 0o644)

    def refuse(path: object, mode: int) -> None:
        raise PermissionError(1, "Operation not permitted", str(path))

    monkeypatch.setattr(private_files.os, "chmod", refuse)
    with caplog.at_level(logging.WARNING, logger="carto.private_files"):
        store = SnapshotStore(db)
    assert store.version == 0
    assert str(db) in caplog.text and "permissions" in caplog.text


def test_the_accounts_file_and_its_new_folder_are_private(tmp_path: Path, umask: int) -> None:
    path = tmp_path / "secrets-folder" / "accounts.yaml"
    write_accounts(path, ("admin",))
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    # no temp file left; the lock the changes are made under, private too
    assert sorted(p.name for p in path.parent.iterdir()) == ["accounts.yaml", "accounts.yaml.lock"]
    assert mode(path.with_name("accounts.yaml.lock")) == 0o600


def test_a_world_readable_accounts_file_is_tightened_when_read(tmp_path: Path) -> None:
    path = write_accounts(tmp_path / "accounts.yaml", ("admin",))
    os.chmod(path, 0o664)  # e.g. copied by hand with the default umask
    assert list(accounts.read_accounts(path)) == ["admin"]
    assert mode(path) == 0o600


def test_the_demo_snapshot_is_private(tmp_path: Path, umask: int) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[general]\ndemo = true\n[store]\ndemo_path = "data/demo.sqlite"\n'
        "[demo]\ndays = 14\ncamps = 3\n",
        encoding="utf-8",
    )
    settings = load_settings(config)
    store = ensure_demo_snapshot(settings, today=dt.date(2026, 11, 26))
    assert store.path == tmp_path / "data" / "demo.sqlite"
    assert store.count("passages") > 0
    assert mode(store.path) == 0o600
    assert mode(tmp_path / "data") == 0o700
    for path in companions(store.path):
        assert not path.exists() or mode(path) == 0o600


def test_write_private_replaces_atomically_and_refuses_links(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    private_files.write_private(target, b"first")
    assert target.read_bytes() == b"first" and mode(target) == 0o600
    with pytest.raises(FileExistsError):
        private_files.write_private(target, b"second")
    assert target.read_bytes() == b"first"
    keep = tmp_path / "keep"
    os.link(target, keep)  # the old file, by another name
    private_files.write_private(target, b"second", overwrite=True)
    assert target.read_bytes() == b"second" and keep.read_bytes() == b"first"
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    link = tmp_path / "link.csv"
    link.symlink_to(victim)
    for overwrite in (False, True):
        with pytest.raises(private_files.SymlinkRefused):
            private_files.write_private(link, b"evil", overwrite=overwrite)
    dangling = tmp_path / "dangling.csv"
    dangling.symlink_to(tmp_path / "nowhere")
    with pytest.raises(private_files.SymlinkRefused):
        private_files.write_private(dangling, b"evil")
    assert victim.read_bytes() == b"precious" and link.is_symlink()
    assert not (tmp_path / "nowhere").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "dangling.csv",
        "keep",
        "link.csv",
        "out.csv",
        "victim",
    ]


def test_the_no_clobber_rename_never_replaces_a_file_that_appears_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between the first check and the rename, another process creates the file: it is
    kept (the rename is a hard link, which fails on an existing name)."""
    target = tmp_path / "out.csv"
    real_fsync = os.fsync

    def fsync_then_race(fd: int) -> None:
        real_fsync(fd)
        target.write_bytes(b"theirs")

    monkeypatch.setattr(private_files.os, "fsync", fsync_then_race)
    with pytest.raises(FileExistsError):
        private_files.write_private(target, b"ours")
    assert target.read_bytes() == b"theirs"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]
