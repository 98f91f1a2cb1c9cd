"""The snapshot store: a SQLite file that keeps Airtable records whole, plus sync metadata.

Records are stored as the JSON Airtable sent, never reshaped, so that normalisation can
be rerun on the same input. Every committed change bumps ``version``, the key of every
cache built on the snapshot. Sync bookkeeping lives beside the records: the API calls made
per month and a log of sync attempts; writing it alone does not bump the version.
Access control lives there too (docs/architecture.md §5, issue 6), shared by every session and kept
across restarts: the audit log, failed sign-ins and lockouts, and each account's session
epoch (bumped to revoke every session and cookie already issued).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from carto.private_files import secure_sqlite

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
CREATE TABLE IF NOT EXISTS audit_log (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at       TEXT NOT NULL,
    event    TEXT NOT NULL,
    username TEXT NOT NULL DEFAULT '',
    details  TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log(at);
CREATE TABLE IF NOT EXISTS login_failures (
    username     TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL,
    last_failure TEXT NOT NULL,
    locked_until TEXT
);
CREATE TABLE IF NOT EXISTS user_sessions (
    username  TEXT PRIMARY KEY,
    epoch     INTEGER NOT NULL DEFAULT 0,
    last_seen TEXT
);
"""
AUDIT_COLUMNS = ("at", "event", "username", "details")
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


def _utc(value: dt.datetime | None) -> dt.datetime:
    value = value or dt.datetime.now(dt.UTC)
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _time(value: str | None) -> dt.datetime | None:
    return _utc(dt.datetime.fromisoformat(value)) if value else None


@dataclass(frozen=True)
class LoginState:
    """Failed sign-ins in a row for one account, and until when it is locked."""

    failures: int = 0
    locked_until: dt.datetime | None = None

    def locked(self, now: dt.datetime | None = None) -> bool:
        return self.locked_until is not None and _utc(now) < self.locked_until


class SnapshotStore:
    """A SQLite snapshot file. Writes happen in one transaction each. The file, its
    companions and the folder made for it are readable by their owner only."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if str(self.path) != ":memory:":
            secure_sqlite(self.path)
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

    def instance_id(self) -> str:
        """A random id made once for this store: sign-in cookies carry it, so that a
        cookie issued by one instance (a demo, another city's base) is refused by
        another, whatever key signed it. Made on first use; writing it does not bump
        the version."""
        value = self.meta("instance_id")
        if value:
            return str(value)
        with self.transaction(bump_version=False) as conn:
            conn.execute(
                "INSERT OR IGNORE INTO meta(key, value) VALUES ('instance_id', ?)",
                (json.dumps(secrets.token_urlsafe(18)),),
            )
        return str(self.meta("instance_id"))

    @property
    def version(self) -> int:
        """Bumped by every committed write: the cache key of everything built on the store."""
        return int(self.meta("version", 0))

    # ------------------------------------------------------------ access control

    def log_event(
        self,
        event: str,
        username: str = "",
        details: Mapping[str, Any] | None = None,
        at: dt.datetime | None = None,
    ) -> None:
        """Append one entry to the audit log (who, what, when, details as JSON)."""
        with self.transaction(bump_version=False) as conn:
            conn.execute(
                "INSERT INTO audit_log(at, event, username, details) VALUES (?, ?, ?, ?)",
                (
                    _utc(at).isoformat(),
                    event,
                    username,
                    json.dumps(dict(details or {}), ensure_ascii=False, default=str),
                ),
            )

    def audit_log(
        self, limit: int = 500, event: str | None = None, username: str | None = None
    ) -> list[dict[str, Any]]:
        """The latest audit entries, newest first (``at`` as an aware datetime, ``details``
        as a dict), optionally of one event or one account."""
        where, args = [], []
        if event:
            where.append("event = ?")
            args.append(event)
        if username:
            where.append("username = ?")
            args.append(username)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        conn = self._connect()
        try:
            rows = conn.execute(
                f"SELECT {', '.join(AUDIT_COLUMNS)} FROM audit_log {clause} "
                "ORDER BY id DESC LIMIT ?",
                (*args, limit),
            ).fetchall()
        finally:
            conn.close()
        return [
            {"at": _time(at), "event": ev, "username": user, "details": json.loads(details)}
            for at, ev, user, details in rows
        ]

    def login_state(self, username: str) -> LoginState:
        """Failed sign-ins in a row and lock of an account (an expired lock still shows
        its time: ``LoginState.locked`` says whether it holds now)."""
        conn = self._connect()
        try:
            row = conn.execute(
                "SELECT failures, locked_until FROM login_failures WHERE username = ?",
                (username,),
            ).fetchone()
        finally:
            conn.close()
        return LoginState() if row is None else LoginState(int(row[0]), _time(row[1]))

    def _login_row(self, conn: sqlite3.Connection, key: str, now: dt.datetime) -> LoginState:
        row = conn.execute(
            "SELECT failures, locked_until FROM login_failures WHERE username = ?", (key,)
        ).fetchone()
        state = LoginState() if row is None else LoginState(int(row[0]), _time(row[1]))
        if state.locked_until is not None and state.locked_until <= now:
            return LoginState()  # an expired lock starts a new count
        return state

    @staticmethod
    def _save_login_row(
        conn: sqlite3.Connection, key: str, state: LoginState, now: dt.datetime
    ) -> None:
        until = state.locked_until.isoformat() if state.locked_until else None
        conn.execute(
            "INSERT INTO login_failures(username, failures, last_failure, locked_until) "
            "VALUES (?, ?, ?, ?) ON CONFLICT(username) DO UPDATE SET "
            "failures = excluded.failures, last_failure = excluded.last_failure, "
            "locked_until = excluded.locked_until",
            (key, state.failures, now.isoformat(), until),
        )

    def admit_login(
        self, key: str, max_failures: int, lockout: dt.timedelta, now: dt.datetime | None = None
    ) -> LoginState:
        """Before a password is checked: refuse when the account is locked, else count
        the attempt as failed in advance, in one transaction. The returned state is
        locked when the attempt is refused. Counting before the (slow) bcrypt check is
        what keeps parallel attempts from all slipping under the limit: once
        ``max_failures`` attempts are counted, the next one locks and is refused."""
        now = _utc(now)
        with self.transaction(bump_version=False) as conn:
            state = self._login_row(conn, key, now)
            if state.locked(now):
                return state
            if max_failures > 0 and state.failures >= max_failures:
                state = LoginState(state.failures, now + lockout)
            else:
                state = LoginState(state.failures + 1, None)
            self._save_login_row(conn, key, state, now)
        return state

    def confirm_failed_login(
        self, key: str, max_failures: int, lockout: dt.timedelta, now: dt.datetime | None = None
    ) -> LoginState:
        """After a wrong password (already counted by ``admit_login``): lock the account
        when the count has reached ``max_failures``."""
        now = _utc(now)
        with self.transaction(bump_version=False) as conn:
            state = self._login_row(conn, key, now)
            if max_failures > 0 and state.failures >= max_failures and not state.locked(now):
                state = LoginState(state.failures, now + lockout)
                self._save_login_row(conn, key, state, now)
        return state

    def accept_login(self, key: str, now: dt.datetime | None = None) -> LoginState:
        """After a right password: checked again in one transaction, the sign-in holds
        only if no attempt running beside it locked the account meanwhile; then the
        count is cleared. The returned state is locked when the sign-in is refused."""
        now = _utc(now)
        with self.transaction(bump_version=False) as conn:
            state = self._login_row(conn, key, now)
            if state.locked(now):
                return state
            conn.execute("DELETE FROM login_failures WHERE username = ?", (key,))
        return LoginState()

    def clear_failed_logins(self, username: str) -> bool:
        """Forget an account's failed sign-ins and lift its lock; True when there was
        something to clear."""
        with self.transaction(bump_version=False) as conn:
            cur = conn.execute("DELETE FROM login_failures WHERE username = ?", (username,))
        return cur.rowcount > 0

    def session_epoch(self, username: str) -> int:
        """The account's session epoch: sessions and cookies of another epoch are refused."""
        conn = self._connect()
        try:
            row = conn.execute(
                "SELECT epoch FROM user_sessions WHERE username = ?", (username,)
            ).fetchone()
        finally:
            conn.close()
        return 0 if row is None else int(row[0])

    def bump_session_epoch(self, username: str) -> int:
        """Revoke every session and cookie issued to the account; returns the new epoch."""
        with self.transaction(bump_version=False) as conn:
            conn.execute(
                "INSERT INTO user_sessions(username, epoch) VALUES (?, 1) "
                "ON CONFLICT(username) DO UPDATE SET epoch = epoch + 1",
                (username,),
            )
            (epoch,) = conn.execute(
                "SELECT epoch FROM user_sessions WHERE username = ?", (username,)
            ).fetchone()
        return int(epoch)

    def last_seen(self, username: str) -> dt.datetime | None:
        """When a session of the account was last active (for the idle timeout)."""
        conn = self._connect()
        try:
            row = conn.execute(
                "SELECT last_seen FROM user_sessions WHERE username = ?", (username,)
            ).fetchone()
        finally:
            conn.close()
        return None if row is None else _time(row[0])

    def touch_session(self, username: str, now: dt.datetime | None = None) -> None:
        """Record activity of a session of the account."""
        with self.transaction(bump_version=False) as conn:
            conn.execute(
                "INSERT INTO user_sessions(username, epoch, last_seen) VALUES (?, 0, ?) "
                "ON CONFLICT(username) DO UPDATE SET last_seen = excluded.last_seen",
                (username, _utc(now).isoformat()),
            )
