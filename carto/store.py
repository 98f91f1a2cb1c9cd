"""The snapshot store: a SQLite file that keeps Airtable records whole, plus sync metadata.

Records are stored as the JSON Airtable sent, never reshaped, so that normalisation can
be rerun on the same input. Every committed change bumps ``version``, the key of every
cache built on the snapshot. Sync bookkeeping lives beside the records: the API calls made
per month and a log of sync attempts; writing it alone does not bump the version.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    table_key    TEXT NOT NULL,
    id           TEXT NOT NULL,
    created_time TEXT NOT NULL,
    record       TEXT NOT NULL,
    PRIMARY KEY (table_key, id)
);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS api_calls (
    month TEXT PRIMARY KEY,
    calls INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS syncs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at  TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    mode        TEXT NOT NULL,
    ok          INTEGER NOT NULL,
    fetched     INTEGER NOT NULL DEFAULT 0,
    changed     INTEGER NOT NULL DEFAULT 0,
    deleted     INTEGER NOT NULL DEFAULT 0,
    api_calls   INTEGER NOT NULL DEFAULT 0,
    error       TEXT
);
"""
SYNC_LOG_COLUMNS = (
    "started_at",
    "finished_at",
    "mode",
    "ok",
    "fetched",
    "changed",
    "deleted",
    "api_calls",
    "error",
)
# Bound on the ids bound to one SQL statement (SQLite's variable limit is 32766 or less).
_ID_CHUNK = 500

Record = dict[str, Any]


class SnapshotStore:
    """A SQLite snapshot file. Writes happen in one transaction each."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    @contextmanager
    def transaction(self, *, bump_version: bool = True) -> Iterator[sqlite3.Connection]:
        """One write transaction; the version is bumped when it commits (unless told not
        to: bookkeeping that changes no record must not invalidate caches)."""
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield conn
            if bump_version:
                self.bump_version(conn)
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        finally:
            conn.close()

    @staticmethod
    def bump_version(conn: sqlite3.Connection) -> None:
        """Inside a ``bump_version=False`` transaction: bump the version after all."""
        conn.execute(
            "INSERT INTO meta(key, value) VALUES('version', '1') "
            "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
        )

    @staticmethod
    def _rows(table_key: str, records: Iterable[Record]) -> Iterator[tuple[str, str, str, str]]:
        for rec in records:
            yield (
                table_key,
                rec["id"],
                rec.get("createdTime", ""),
                json.dumps(rec, ensure_ascii=False, separators=(",", ":")),
            )

    def replace_table(
        self, conn: sqlite3.Connection, table_key: str, records: Iterable[Record]
    ) -> None:
        """Inside a transaction: the table's records become exactly ``records``."""
        conn.execute("DELETE FROM records WHERE table_key = ?", (table_key,))
        self.upsert(conn, table_key, records)

    def upsert(self, conn: sqlite3.Connection, table_key: str, records: Iterable[Record]) -> int:
        """Inside a transaction: insert or replace records; returns how many."""
        cur = conn.executemany(
            "INSERT OR REPLACE INTO records(table_key, id, created_time, record) "
            "VALUES (?, ?, ?, ?)",
            self._rows(table_key, records),
        )
        return cur.rowcount

    def delete_ids(self, conn: sqlite3.Connection, table_key: str, ids: Iterable[str]) -> int:
        """Inside a transaction: remove records by id; returns how many were removed."""
        cur = conn.executemany(
            "DELETE FROM records WHERE table_key = ? AND id = ?",
            ((table_key, i) for i in ids),
        )
        return cur.rowcount

    @staticmethod
    def set_meta(conn: sqlite3.Connection, values: Mapping[str, Any]) -> None:
        """Inside a transaction: set metadata values (stored as JSON)."""
        conn.executemany(
            "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
            ((k, json.dumps(v)) for k, v in values.items()),
        )

    @staticmethod
    def records_by_id(
        conn: sqlite3.Connection, table_key: str, ids: Iterable[str] | None = None
    ) -> dict[str, Record]:
        """Inside a transaction: stored records by id (all of the table, or those ``ids``)."""
        if ids is None:
            rows = conn.execute(
                "SELECT id, record FROM records WHERE table_key = ?", (table_key,)
            ).fetchall()
        else:
            wanted, rows = list(ids), []
            for i in range(0, len(wanted), _ID_CHUNK):
                chunk = wanted[i : i + _ID_CHUNK]
                marks = ",".join("?" * len(chunk))
                rows += conn.execute(
                    f"SELECT id, record FROM records WHERE table_key = ? AND id IN ({marks})",
                    (table_key, *chunk),
                ).fetchall()
        return {r[0]: json.loads(r[1]) for r in rows}

    @staticmethod
    def table_ids(conn: sqlite3.Connection, table_key: str) -> set[str]:
        """Inside a transaction: the record ids of a table."""
        rows = conn.execute("SELECT id FROM records WHERE table_key = ?", (table_key,))
        return {r[0] for r in rows}

    @staticmethod
    def add_api_calls(conn: sqlite3.Connection, month: str, calls: int) -> None:
        """Inside a transaction: add ``calls`` to the API calls counted for ``month``."""
        conn.execute(
            "INSERT INTO api_calls(month, calls) VALUES (?, ?) "
            "ON CONFLICT(month) DO UPDATE SET calls = calls + excluded.calls",
            (month, calls),
        )

    @staticmethod
    def log_sync(conn: sqlite3.Connection, entry: Mapping[str, Any]) -> None:
        """Inside a transaction: append one sync attempt (keys: ``SYNC_LOG_COLUMNS``)."""
        values = [entry.get(c) for c in SYNC_LOG_COLUMNS]
        values[SYNC_LOG_COLUMNS.index("ok")] = int(bool(entry.get("ok")))
        for name in ("fetched", "changed", "deleted", "api_calls"):
            values[SYNC_LOG_COLUMNS.index(name)] = int(entry.get(name) or 0)
        conn.execute(
            f"INSERT INTO syncs({', '.join(SYNC_LOG_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(SYNC_LOG_COLUMNS))})",
            values,
        )

    def api_calls(self, month: str) -> int:
        """API calls counted for ``month`` (``YYYY-MM``)."""
        conn = self._connect()
        try:
            row = conn.execute("SELECT calls FROM api_calls WHERE month = ?", (month,)).fetchone()
        finally:
            conn.close()
        return 0 if row is None else int(row[0])

    def sync_log(self, limit: int = 20) -> list[dict[str, Any]]:
        """The latest sync attempts, newest first."""
        conn = self._connect()
        try:
            rows = conn.execute(
                f"SELECT {', '.join(SYNC_LOG_COLUMNS)} FROM syncs ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        finally:
            conn.close()
        entries = [dict(zip(SYNC_LOG_COLUMNS, row, strict=True)) for row in rows]
        for entry in entries:
            entry["ok"] = bool(entry["ok"])
        return entries

    def records(self, table_key: str) -> list[Record]:
        """All records of a table, as Airtable sent them, oldest first."""
        conn = self._connect()
        try:
            rows = conn.execute(
                "SELECT record FROM records WHERE table_key = ? ORDER BY created_time, id",
                (table_key,),
            ).fetchall()
        finally:
            conn.close()
        return [json.loads(r[0]) for r in rows]

    def ids(self, table_key: str) -> set[str]:
        """The record ids of a table."""
        conn = self._connect()
        try:
            rows = conn.execute(
                "SELECT id FROM records WHERE table_key = ?", (table_key,)
            ).fetchall()
        finally:
            conn.close()
        return {r[0] for r in rows}

    def count(self, table_key: str) -> int:
        """How many records a table holds."""
        conn = self._connect()
        try:
            (n,) = conn.execute(
                "SELECT COUNT(*) FROM records WHERE table_key = ?", (table_key,)
            ).fetchone()
        finally:
            conn.close()
        return int(n)

    def meta(self, key: str, default: Any = None) -> Any:
        """A metadata value (the version is an int; 0 for a store never written)."""
        conn = self._connect()
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        finally:
            conn.close()
        return default if row is None else json.loads(row[0])

    @property
    def version(self) -> int:
        """Bumped by every committed write: the cache key of everything built on the store."""
        return int(self.meta("version", 0))
