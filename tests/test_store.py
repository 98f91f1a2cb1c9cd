"""The SQLite snapshot store keeps records whole and versions every write."""

from pathlib import Path

import pytest

from carto.store import SnapshotStore


def rec(i: int, **fields: object) -> dict[str, object]:
    return {"id": f"rec{i:014d}", "createdTime": f"2026-01-{i:02d}T10:00:00.000Z", "fields": fields}


def test_records_round_trip_whole(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path / "s.sqlite")
    records = [rec(2, Nom="Quai – « pont »", Latitude=48.1), rec(1, Besoins=["Eau", "Tentes"])]
    with store.transaction() as conn:
        store.replace_table(conn, "sites", records)
    assert store.records("sites") == [records[1], records[0]]  # oldest first
    assert store.count("sites") == 2
    assert store.ids("sites") == {"rec00000000000001", "rec00000000000002"}
    assert store.records("passages") == []


def test_version_bumps_on_each_commit_and_persists(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    store = SnapshotStore(path)
    assert store.version == 0
    with store.transaction() as conn:
        store.upsert(conn, "passages", [rec(1)])
    with store.transaction() as conn:
        store.set_meta(conn, {"synced_at": "2026-01-01T00:00:00+00:00"})
    assert store.version == 2
    reopened = SnapshotStore(path)
    assert reopened.version == 2
    assert reopened.meta("synced_at") == "2026-01-01T00:00:00+00:00"


def test_failed_transaction_leaves_previous_snapshot(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path / "s.sqlite")
    with store.transaction() as conn:
        store.replace_table(conn, "passages", [rec(1), rec(2)])
    with pytest.raises(RuntimeError), store.transaction() as conn:
        store.replace_table(conn, "passages", [rec(3)])
        raise RuntimeError("network dropped mid-sync")
    assert store.ids("passages") == {"rec00000000000001", "rec00000000000002"}
    assert store.version == 1


def test_upsert_and_delete(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path / "s.sqlite")
    with store.transaction() as conn:
        store.upsert(conn, "passages", [rec(1, Personnes=3), rec(2)])
    with store.transaction() as conn:
        store.upsert(conn, "passages", [rec(1, Personnes=5)])
        assert store.delete_ids(conn, "passages", ["rec00000000000002", "recMISSING"]) == 1
    assert store.records("passages") == [rec(1, Personnes=5)]
