"""The snapshot store keeps records whole and versions every write, on SQLite and on
PostgreSQL (``store_location``, tests/conftest.py: each test runs on both)."""

import math
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import text

from carto import cli
from carto.settings import ConfigError, Settings
from carto.store import AuthStore, Database, SnapshotStore, close_engines
from testing import postgres
from testing.postgres import TemporaryPostgres


def rec(i: int, **fields: object) -> dict[str, object]:
    return {"id": f"rec{i:014d}", "createdTime": f"2026-01-{i:02d}T10:00:00.000Z", "fields": fields}


def test_records_orjson_refuses_are_read_back_too(store_location: str | Path) -> None:
    """Stored records are read with orjson; what it refuses and the store can hold (NaN,
    infinity) is read with json, in any order asked."""
    store = SnapshotStore(store_location)
    odd = [rec(1, Personnes=float("inf")), rec(2, Personnes=3, Latitude=float("nan"))]
    with store.transaction() as conn:
        store.replace_table(conn, "passages", odd)
    with store.db.connect() as conn:
        unordered = store.records_in(conn, "passages", ordered=False)
    for records in (store.records("passages"), sorted(unordered, key=lambda r: r["id"])):
        assert records[0] == odd[0] and records[1]["fields"]["Personnes"] == 3
        assert math.isnan(records[1]["fields"]["Latitude"])


def test_records_round_trip_whole(store_location: str | Path) -> None:
    store = SnapshotStore(store_location)
    records = [rec(2, Nom="Quai – « pont »", Latitude=48.1), rec(1, Besoins=["Eau", "Tentes"])]
    with store.transaction() as conn:
        store.replace_table(conn, "sites", records)
    assert store.records("sites") == [records[1], records[0]]  # oldest first
    assert store.count("sites") == 2
    assert store.ids("sites") == {"rec00000000000001", "rec00000000000002"}
    assert store.records("passages") == []


def test_version_bumps_on_each_commit_and_persists(store_location: str | Path) -> None:
    path = store_location
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


def test_failed_transaction_leaves_previous_snapshot(store_location: str | Path) -> None:
    store = SnapshotStore(store_location)
    with store.transaction() as conn:
        store.replace_table(conn, "passages", [rec(1), rec(2)])
    with pytest.raises(RuntimeError), store.transaction() as conn:
        store.replace_table(conn, "passages", [rec(3)])
        raise RuntimeError("network dropped mid-sync")
    assert store.ids("passages") == {"rec00000000000001", "rec00000000000002"}
    assert store.version == 1


def test_upsert_and_delete(store_location: str | Path) -> None:
    store = SnapshotStore(store_location)
    with store.transaction() as conn:
        store.upsert(conn, "passages", [rec(1, Personnes=3), rec(2)])
    with store.transaction() as conn:
        store.upsert(conn, "passages", [rec(1, Personnes=5)])
        assert store.delete_ids(conn, "passages", ["rec00000000000002", "recMISSING"]) == 1
    assert store.records("passages") == [rec(1, Personnes=5)]


def test_encoded_records_are_kept_as_upsert_keeps_them(store_location: str | Path) -> None:
    """``upsert_encoded`` (the sync's write, beyond one batch) and ``upsert`` store the
    same text; ``texts_by_id`` gives it back undecoded, the changes are noted."""
    store = SnapshotStore(store_location)
    records = [rec(i, Personnes=i, Commentaire="à l'abri") for i in range(1, 2_102)]
    with store.transaction() as conn:
        store.upsert(conn, "sites", records[:3])
        rows = [(r["id"], r["createdTime"], store.encode(r)) for r in records]
        assert store.upsert_encoded(conn, "passages", rows) == len(records)
        changes = store.changes(conn)
        assert changes is not None and changes.ids["passages"] == {r["id"] for r in records}
        assert store.texts_by_id(conn, "passages") == {r[0]: r[2] for r in rows}
        assert store.texts_by_id(conn, "sites") == store.texts_by_id(
            conn, "passages", [r["id"] for r in records[:3]]
        )
    with store.transaction() as conn:
        store.upsert_encoded(conn, "passages", [(rows[0][0], rows[0][1], store.encode(rec(1)))])
    kept = {r["id"]: r for r in store.records("passages")}
    assert kept == {r["id"]: r for r in [rec(1), *records[1:]]}


# Texts COPY's text format escapes or would misread: quotes, tab and newline (its
# separators), backslashes and its markers (\N for NULL, \. for the end), unicode.
ODD_TEXTS = [
    'l\'abri "du" pont',
    "tab\there",
    "line\nbreak\r\n",
    "back\\slash \\t not a tab",
    "\\N",
    "\\.",
    "« été » – 🚑 \u2028 \x7f",
    "",
]


def odd_rows(ids: range, variant: str = "") -> list[tuple[str, str, str]]:
    """Encoded rows whose created time and text carry ``ODD_TEXTS`` raw, beside a
    record's JSON (which escapes them) whose comment carries them too."""
    rows = []
    for i in ids:
        odd = ODD_TEXTS[i % len(ODD_TEXTS)] + variant
        record = SnapshotStore.encode(rec(i % 28 + 1, Commentaire=odd) | {"id": f"rec{i:014d}"})
        rows.append((f"rec{i:014d}", f"2026-01-01{odd}", record + odd))
    return rows


def stored_rows(store: SnapshotStore, table_key: str) -> dict[str, tuple[str, str, str]]:
    with store.db.connect() as conn:
        found = conn.execute(
            text("SELECT id, created_time, record FROM records WHERE table_key = :t"),
            {"t": table_key},
        ).all()
    return {row[0]: (row[0], row[1], row[2]) for row in found}


def test_encoded_rows_are_stored_exactly_as_given(store_location: str | Path) -> None:
    """What ``upsert_encoded`` writes is the rows given, character for character, the
    last of an id given twice: on PostgreSQL the rows the table lacks go by ``COPY``,
    the others by the row-by-row upsert (SQLite's only path), and both write the same."""
    store = SnapshotStore(store_location)
    first = odd_rows(range(1, 1_500))
    with store.transaction() as conn:  # every row new: all copied
        assert store.upsert_encoded(conn, "passages", first) == len(first)
    assert stored_rows(store, "passages") == {row[0]: row for row in first}

    # 700 stored ones changed, 300 new, one new id and one stored id given twice
    again = odd_rows(range(800, 1_800), "v2") + odd_rows(range(1_750, 1_751), "v3")
    again += odd_rows(range(900, 901), "v3")
    with store.transaction() as conn:
        assert store.upsert_encoded(conn, "passages", again) == len(again)
        changes = store.changes(conn)
        assert changes is not None and changes.ids["passages"] == {row[0] for row in again}
    expected = {row[0]: row for row in first} | {row[0]: row for row in again}
    assert stored_rows(store, "passages") == expected
    # the same rows through the upsert alone (SQLite's path, PostgreSQL's for stored ids)
    with store.transaction() as conn:
        store._upsert_rows(conn, "sites", first + again)
    assert stored_rows(store, "sites") == expected


@pytest.mark.timeout(120)  # a lock left held would wait forever
def test_two_first_syncs_at_once_write_the_same_records(
    postgres_server: TemporaryPostgres,
) -> None:
    """Two writers adding the same new records at once on PostgreSQL: the second's COPY
    waits on the first's keys, fails when the first commits, and is rolled back to its
    savepoint; its rows then go by the upsert and both transactions commit."""
    url = postgres_server.database()
    try:
        store = SnapshotStore(url)
        first, second = odd_rows(range(1, 300), "a"), odd_rows(range(1, 300), "b")
        written, go = threading.Event(), threading.Event()

        def write_first() -> None:
            with store.transaction() as conn:
                store.upsert_encoded(conn, "passages", first)
                written.set()
                assert go.wait(timeout=60)

        def write_second() -> None:
            assert written.wait(timeout=60)
            with store.transaction() as conn:
                store.upsert_encoded(conn, "passages", second)

        with ThreadPoolExecutor(2) as pool:
            done = [pool.submit(write_first), pool.submit(write_second)]
            waiting = 0
            while not waiting and not done[1].done():  # until the second waits for the keys
                time.sleep(0.01)
                with store.db.connect() as conn:
                    waiting = conn.execute(
                        text(
                            "SELECT count(*) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                        )
                    ).scalar_one()
            go.set()
            for future in done:
                future.result(timeout=60)
        assert waiting == 1
        assert stored_rows(store, "passages") == {row[0]: row for row in second}
        assert store.version == 2
    finally:
        close_engines()


def test_records_by_id_beyond_one_statement_and_table_ids(store_location: str | Path) -> None:
    store = SnapshotStore(store_location)
    many = [rec(i % 28 + 1) | {"id": f"rec{i:014d}"} for i in range(1, 1201)]
    with store.transaction() as conn:
        store.upsert(conn, "passages", many)
    wanted = [r["id"] for r in many[::2]] + ["recMISSING"]
    with store.transaction(bump_version=False) as conn:
        found = store.records_by_id(conn, "passages", wanted)
        assert set(found) == set(wanted) - {"recMISSING"}
        assert found[many[0]["id"]] == many[0]
        assert len(store.records_by_id(conn, "passages")) == len(many)
        assert store.table_ids(conn, "passages") == {r["id"] for r in many}
        assert store.delete_ids(conn, "passages", wanted) == len(wanted) - 1
    assert store.count("passages") == len(many) - len(many[::2])
    assert store.version == 1


def test_bookkeeping_counts_calls_and_logs_syncs_without_a_new_version(
    store_location: str | Path,
) -> None:
    store = SnapshotStore(store_location)
    entry = {"started_at": "2026-01-01T10:00:00+00:00", "finished_at": "2026-01-01T10:00:05+00:00"}
    with store.transaction(bump_version=False) as conn:
        store.add_api_calls(conn, "2026-01", 3)
        store.log_sync(conn, {**entry, "mode": "full", "ok": True, "fetched": 7})
    with store.transaction(bump_version=False) as conn:
        store.add_api_calls(conn, "2026-01", 4)
        store.log_sync(conn, {**entry, "mode": "incremental", "ok": False, "error": "429"})
    assert store.api_calls("2026-01") == 7 and store.api_calls("2026-02") == 0
    log = store.sync_log()
    assert [e["mode"] for e in log] == ["incremental", "full"]
    assert log[0]["ok"] is False and log[0]["error"] == "429" and log[0]["fetched"] == 0
    assert log[1]["ok"] is True and log[1]["fetched"] == 7 and log[1]["error"] is None
    assert store.sync_log(limit=1) == log[:1]
    assert store.version == 0


def test_concurrent_writers_each_bump_the_version_once(store_location: str | Path) -> None:
    """The version is bumped inside each writer's transaction: writers running at once,
    each through its own store object and connection, lose no bump."""
    start = threading.Barrier(6)

    def write(i: int) -> None:
        store = SnapshotStore(store_location)
        start.wait(timeout=30)
        for j in range(5):
            with store.transaction() as conn:
                store.upsert(conn, "passages", [rec(i * 5 + j + 1)])

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(write, range(6)))
    store = SnapshotStore(store_location)
    assert store.version == 30 and store.count("passages") == 30


def test_purge_field_removes_the_field_where_the_caller_says(store_location: str | Path) -> None:
    store = SnapshotStore(store_location)
    old, new = rec(1, Commentaire="à effacer", Personnes=2), rec(2, Commentaire="récent")
    with store.transaction() as conn:
        store.upsert(conn, "passages", [old, new, rec(3, Personnes=1)])
        store.upsert(conn, "sites", [rec(4, Commentaire="autre table")])
    seen: list[str] = []

    def expired(record: dict[str, object]) -> bool:
        seen.append(str(record["id"]))
        return record["id"] == old["id"]

    with store.transaction(bump_version=False) as conn:
        assert store.purge_field(conn, "passages", "Commentaire", expired) == 1
    assert sorted(seen) == [old["id"], new["id"]]  # only records having the field
    assert store.records("passages") == [rec(1, Personnes=2), new, rec(3, Personnes=1)]
    assert store.records("sites") == [rec(4, Commentaire="autre table")]
    with store.transaction(bump_version=False) as conn:
        assert store.purge_field(conn, "passages", "Commentaire", expired) == 0


def test_one_instance_id_for_both_stores(store_location: str | Path) -> None:
    db = Database(store_location)
    assert SnapshotStore(db).instance_id() == AuthStore(store_location).instance_id()
    assert SnapshotStore(db).version == 0  # making the id is not a snapshot change


def test_store_locations(tmp_path: Path) -> None:
    assert Database(tmp_path / "a.sqlite").backend == "sqlite"
    assert Database(str(tmp_path / "b.sqlite")).path == tmp_path / "b.sqlite"
    assert Database(f"sqlite:///{tmp_path / 'c.sqlite'}").path == tmp_path / "c.sqlite"
    with pytest.raises(ValueError, match="postgresql://"):
        Database("mysql://user@localhost/carto")


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("postgres://carto:hunter2@db.example/carto", "« postgres:// » n'est pas pris en charge"),
        ("mysql://carto:hunter2@db.example/carto", "« mysql:// » n'est pas pris en charge"),
        ("postgresql://carto:hunter2@db.example:port/carto", "[store] url illisible"),
        ("://carto:hunter2@db.example/carto", "[store] url illisible"),
    ],
)
def test_a_bad_store_url_is_named_without_its_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str, said: str
) -> None:
    """A wrong [store] url is a configuration error that says what is wrong without
    repeating the URL (its password), on the command line too."""
    with pytest.raises(ConfigError) as raised:
        Database(url)
    assert said in str(raised.value)
    assert "hunter2" not in "".join(traceback.format_exception(raised.value))
    config = tmp_path / "config.toml"
    config.write_text(
        f'[airtable]\nbase_id = "appTEST"\n[store]\nurl = "{url}"\n', encoding="utf-8"
    )
    assert cli.main(["--config", str(config), "check"]) == 2
    out = capsys.readouterr()
    assert said in out.err
    assert "hunter2" not in out.err + out.out


def test_store_url_setting_outside_demo_mode_only(tmp_path: Path) -> None:
    url = "postgresql://carto:secret@db.example:5432/carto"
    live = Settings({"airtable.base_id": "appTEST"}, tmp_path / "config.toml", tmp_path)
    assert live.store_location == tmp_path / "data/snapshot.sqlite"
    assert live.with_values(store__url=url).store_location == url
    demo = live.with_values(store__url=url, general__demo=True)
    assert demo.store_location == tmp_path / "data/demo.sqlite"


def test_postgresql_location_hides_the_password(postgres_server: TemporaryPostgres) -> None:
    url = postgres_server.database().replace("carto@", "carto:hunter2@")
    db = Database(url)
    assert db.backend == "postgresql" and db.path is None
    assert "hunter2" not in db.location and db.location.startswith("postgresql")


def test_a_sqlite_file_removed_and_made_again_gets_its_tables(tmp_path: Path) -> None:
    """The schema is made once per file and process: a new file at the same path (after
    ``make clean``, or a restored backup) is a new file, not one already made."""
    path = tmp_path / "s.sqlite"
    store = SnapshotStore(path)
    with store.transaction() as conn:
        store.upsert(conn, "passages", [rec(1)])
    for leftover in tmp_path.glob("s.sqlite*"):
        leftover.unlink()
    again = SnapshotStore(path)
    assert again.version == 0 and again.records("passages") == []
    with again.transaction() as conn:
        again.upsert(conn, "passages", [rec(2)])
    assert again.ids("passages") == {"rec00000000000002"}


def test_missing_postgresql_is_an_error_saying_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``make test`` skips nothing: without Debian's postgresql the PostgreSQL half of
    the store tests fails, and says to run ``make postgres``."""
    monkeypatch.setattr(postgres.glob, "glob", lambda pattern: [])
    with pytest.raises(postgres.PostgresMissing, match="make postgres"):
        postgres.TemporaryPostgres()


def test_a_transaction_notes_the_records_it_writes_and_deletes(
    store_location: str | Path,
) -> None:
    store = SnapshotStore(store_location)
    with store.transaction() as conn:
        store.replace_table(conn, "sites", [rec(1)])
        changes = store.changes(conn)
        assert changes is not None and changes.start_version == 0
        assert changes.replaced == {"sites"}
    with store.transaction(bump_version=False) as conn:
        store.upsert(conn, "passages", [rec(2), rec(3)])
        store.delete_ids(conn, "sites", [rec(1)["id"]])
        changes = store.changes(conn)
        assert changes is not None and changes.start_version == 1 and not changes.replaced
        assert changes.ids == {"passages": {rec(2)["id"], rec(3)["id"]}, "sites": {rec(1)["id"]}}
    with store.db.connect(write=True) as conn:
        assert store.changes(conn) is None  # not a snapshot transaction: nothing known


def test_derived_frames_are_stored_by_name_with_version_and_key(
    store_location: str | Path,
) -> None:
    store = SnapshotStore(store_location)
    payload = bytes(range(256)) * 40  # binary, not text
    with store.transaction() as conn:
        store.write_derived(conn, 1, "k1", {"passages": payload, "sites": b""})
    assert store.version == 1  # the derived frames of version 1, written with it
    found = store.derived(["passages", "sites", "quarantine"])
    assert set(found) == {"passages", "sites"}
    assert (found["passages"].version, found["passages"].key) == (1, "k1")
    assert found["passages"].data == payload and found["sites"].data == b""
    with store.transaction(bump_version=False) as conn:
        assert store.restamp_derived(conn, 1, 2, "k1") == 2
        assert store.restamp_derived(conn, 1, 3, "k1") == 0
        assert store.derived_stamps(conn, ["passages"]) == {"passages": (2, "k1")}
        store.write_derived(conn, 5, "k2", {"passages": b"new"})
    assert store.derived(["passages"])["passages"].data == b"new"
    with store.db.connect(write=True) as conn:
        assert store.lock_version(conn) == store.version_in(conn) == 1


def test_derived_frames_are_pruned_by_prefix_but_those_kept(store_location: str | Path) -> None:
    store = SnapshotStore(store_location)
    blobs = {"passages": b"m", "passages:a1": b"1", "passages:b2": b"2", "sites:a1": b"s"}
    with store.transaction() as conn:
        store.write_derived(conn, 1, "k", blobs)
        assert store.prune_derived(conn, "passages:", ["passages:b2"]) == 1
        assert store.prune_derived(conn, "quarantine:", []) == 0
    assert set(store.derived(blobs)) == {"passages", "passages:b2", "sites:a1"}
