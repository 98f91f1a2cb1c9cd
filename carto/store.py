"""The store: the snapshot of the Airtable base and the access-control state, in one
database that is a SQLite file (the default, embedded) or PostgreSQL (``[store] url``).

Two stores share one ``Database`` (one engine, one ``Database.connect`` context manager for
every read and every write transaction):

- ``SnapshotStore``: records kept whole (the JSON Airtable sent, never reshaped, so that
  normalisation can be rerun on the same input), metadata, and the ``version``, bumped by
  every committed change of the snapshot in the same transaction as that change: the key of
  every cache built on it. Sync bookkeeping lives beside the records (API calls per month,
  a log of sync attempts); writing it alone does not bump the version.
- ``AuthStore``: access control, shared by every session and process and kept across
  restarts (docs/architecture.md §5, issue 6): the audit log, failed sign-ins and lockouts,
  each account's session epoch (bumped to revoke every session and cookie already issued)
  and when it was last seen; and the rounds planned for an evening (``plans``, issue 17:
  ``carto/rounds.py`` says what a plan is).

Both say the same ``instance_id()`` (a meta row): sign-in cookies carry it as audience.
On PostgreSQL a third, ``RateStore``, keeps each Airtable base's rate-limit record
(``rate_limits``, carto/airtable_client.py) so that processes on several hosts share it.

No SQL is written outside this module (carto/privacy.py asks ``SnapshotStore.purge_field``).

Why SQLAlchemy Core (2.x) rather than psycopg with hand-made portable SQL: one engine and
one ``engine.begin()``-style transaction for both backends, the same SQL text on both
(``INSERT … ON CONFLICT … DO UPDATE``, ``RETURNING``: SQLite ≥ 3.35 and PostgreSQL share
them), named parameters instead of ``?``/``%s``, portable DDL (``INTEGER PRIMARY KEY
AUTOINCREMENT`` on SQLite, ``SERIAL`` on PostgreSQL) and a connection pool for PostgreSQL;
psycopg alone would need a second code path for sqlite3. Measured on this machine (a
shared 2-core box, 20,000 passages): writing them in one transaction 0.22–0.29 s with
sqlite3 directly, 0.30–0.34 s through SQLAlchemy; reading them back 0.13 s and 0.19 s;
opening a store and reading its version 0.5 ms and 0.8 ms (the schema is made once per
file or database and process, see ``Database._schema_key``). PostgreSQL on loopback:
0.35 s, 0.11 s, 0.2 ms. A sync is bound by Airtable (5 requests/s), not by these. Where
the backends differ, the
difference is named here: SQLite write transactions are ``BEGIN IMMEDIATE`` (one writer at
a time, across processes); on PostgreSQL the lockout count locks its row
(``SELECT … FOR UPDATE``) and schema creation takes an advisory lock; JSON is read with
``json_extract`` on SQLite and ``jsonb`` operators on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    bindparam,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import NullPool

from carto.i18n import t
from carto.private_files import secure_sqlite
from carto.settings import ConfigError

_METADATA = MetaData()
Table(
    "records",
    _METADATA,
    Column("table_key", Text, primary_key=True),
    Column("id", Text, primary_key=True),
    Column("created_time", Text, nullable=False),
    Column("record", Text, nullable=False),
)
# Frames derived from the records (carto/prepared.py), each written in the transaction
# that changed the records, with the version it belongs to and the key of the options it
# was built with; one row per name, replaced at each change.
Table(
    "derived",
    _METADATA,
    Column("name", Text, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("key", Text, nullable=False),
    Column("data", LargeBinary, nullable=False),
)
Table(
    "meta", _METADATA, Column("key", Text, primary_key=True), Column("value", Text, nullable=False)
)
Table(
    "api_calls",
    _METADATA,
    Column("month", Text, primary_key=True),
    Column("calls", Integer, nullable=False),
)
Table(
    "syncs",
    _METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("started_at", Text, nullable=False),
    Column("finished_at", Text, nullable=False),
    Column("mode", Text, nullable=False),
    Column("ok", Integer, nullable=False),
    *(
        Column(name, Integer, nullable=False, server_default=text("0"))
        for name in ("fetched", "changed", "deleted", "api_calls")
    ),
    Column("error", Text),
    sqlite_autoincrement=True,
)
_audit = Table(
    "audit_log",
    _METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Text, nullable=False),
    Column("event", Text, nullable=False),
    Column("username", Text, nullable=False, server_default=text("''")),
    Column("details", Text, nullable=False, server_default=text("'{}'")),
    sqlite_autoincrement=True,
)
Index("audit_log_at", _audit.c.at)
Table(
    "login_failures",
    _METADATA,
    Column("username", Text, primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_failure", Text, nullable=False),
    Column("locked_until", Text),
)
Table(
    "user_sessions",
    _METADATA,
    Column("username", Text, primary_key=True),
    Column("epoch", Integer, nullable=False, server_default=text("0")),
    Column("last_seen", Text),
)
_plans = Table(
    "plans",
    _METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("evening", Text, nullable=False),
    Column("association", Text, nullable=False),
    Column("team", Text, nullable=False, server_default=text("''")),
    Column("zones", Text, nullable=False, server_default=text("'[]'")),
    Column("camps", Text, nullable=False, server_default=text("'[]'")),
    Column("created_by", Text, nullable=False, server_default=text("''")),
    Column("created_at", Text, nullable=False),
    sqlite_autoincrement=True,
)
Index("plans_evening", _plans.c.evening)
# The shared record of a rate limit (carto/airtable_client.py), one row per Airtable base,
# on PostgreSQL: every process on every host using the store shares the limit.
Table(
    "rate_limits",
    _METADATA,
    Column("name", Text, primary_key=True),
    Column("state", Text, nullable=False, server_default=text("''")),
)

AUDIT_COLUMNS = ("at", "event", "username", "details")
PLAN_COLUMNS = (
    "id",
    "evening",
    "association",
    "team",
    "zones",
    "camps",
    "created_by",
    "created_at",
)
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
# Bound on the ids bound to one SQL statement (SQLite's variable limit is 32766 or less),
# and on the rows sent in one batch.
_ID_CHUNK = 500
_ROW_CHUNK = 1000
# PostgreSQL advisory lock key taken while the schema is created (two processes starting
# together would otherwise both create the same table).
_SCHEMA_LOCK = 0x0CA270

Record = dict[str, Any]
_CHANGES = "carto_changes"  # key of ``Changes`` in a transaction's ``Connection.info``


@dataclass
class Changes:
    """What one ``SnapshotStore.transaction`` did to the records so far: the ids written
    or deleted per table, the tables replaced whole, and the version it started from."""

    start_version: int
    ids: dict[str, set[str]] = field(default_factory=dict)
    replaced: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Derived:
    """A stored derived frame: the version of the records it was built from, the
    fingerprint of the options it was built with, and its bytes."""

    version: int
    key: str
    data: bytes


def _utc(value: dt.datetime | None) -> dt.datetime:
    value = value or dt.datetime.now(dt.UTC)
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _time(value: str | None) -> dt.datetime | None:
    return _utc(dt.datetime.fromisoformat(value)) if value else None


# ---------------------------------------------------------------------------- database


def _url(location: str | Path) -> URL:
    """The SQLAlchemy URL of a store location: a SQLite file path, or a ``sqlite://`` or
    ``postgresql://`` URL (PostgreSQL is reached through psycopg 3)."""
    if isinstance(location, Path) or "://" not in location:
        return URL.create("sqlite", database=str(location))
    # the errors name the scheme, never the URL: it may hold a password, and they are
    # printed on the command line and in logs
    try:
        url = make_url(location)
    except (ArgumentError, ValueError):
        raise ConfigError(t("store.error.url")) from None
    if url.get_backend_name() == "sqlite":
        return url.set(drivername="sqlite")
    if url.get_backend_name() == "postgresql":
        return url.set(drivername="postgresql+psycopg")
    raise ConfigError(t("store.error.scheme", scheme=url.drivername))


def location_name(location: str | Path) -> str:
    """What a store location is called in messages and cache keys (``Database.location``;
    never the password), found without opening anything."""
    url = _url(location)
    if url.get_backend_name() == "sqlite":
        return str(Path(url.database or ""))
    return url.render_as_string(hide_password=True)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")

_ENGINES: dict[str, Engine] = {}
_READY: set[str] = set()  # databases whose schema this process made (Database._schema_key)
_RATE_STORES: weakref.WeakSet[RateStore] = weakref.WeakSet()  # their connections, for close_engines
_LOCK = threading.Lock()


def _sqlite_engine(url: URL) -> Engine:
    # A connection per use (NullPool), as sqlite3 without SQLAlchemy: no handle kept on a
    # file that may be replaced. The driver's own transaction handling is switched off so
    # that ``connect`` decides how each transaction begins.
    engine = create_engine(url, poolclass=NullPool, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("carto_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _engine(url: URL) -> Engine:
    key = url.render_as_string(hide_password=False)
    with _LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            if url.get_backend_name() == "sqlite":
                engine = _sqlite_engine(url)
            else:
                engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
            _ENGINES[key] = engine
        return engine


def close_engines() -> None:
    """Close every pooled connection, and those the rate stores keep (tests, before their
    PostgreSQL server stops)."""
    with _LOCK:
        stores = list(_RATE_STORES)
    for store in stores:
        store.close()
    with _LOCK:
        for engine in _ENGINES.values():
            engine.dispose()
        _ENGINES.clear()
        _READY.clear()


class Database:
    """One store database: a SQLite file or a PostgreSQL database, its schema made on
    first use. A SQLite file, its companions and the folder made for it are readable by
    their owner only (carto/private_files.py)."""

    def __init__(self, location: str | Path) -> None:
        url = _url(location)
        self.backend = url.get_backend_name()
        self.path: Path | None = None
        if self.backend == "sqlite":
            self.path = Path(url.database or "")
            secure_sqlite(self.path)
        self.location = location_name(location)
        self.engine = _engine(url)
        self._create_schema()

    def _schema_key(self) -> str | None:
        """What was made ready once in this process: the PostgreSQL database, or the
        SQLite file itself (by inode and change time: a file removed and made again is
        new, and a written one is checked again, cheaply); None for a file not made yet."""
        if self.path is None:
            return self.engine.url.render_as_string(hide_password=False)
        try:
            st = self.path.stat()
        except OSError:
            return None
        return f"{self.path}:{st.st_dev}:{st.st_ino}:{st.st_ctime_ns}"

    def _create_schema(self) -> None:
        key = self._schema_key()
        if key is not None and key in _READY:
            return
        with self.connect(write=True) as conn:
            if self.backend != "sqlite":  # two processes starting together
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _SCHEMA_LOCK})
            _METADATA.create_all(conn)
        with _LOCK:
            _READY.add(self._schema_key() or "")

    @contextmanager
    def connect(self, *, write: bool = False) -> Iterator[Connection]:
        """The one way in: a connection inside a transaction, committed when the block
        ends, rolled back if it raises. ``write=True`` on SQLite takes the write lock at
        once (``BEGIN IMMEDIATE``), so that a read-then-write decision holds."""
        with self.engine.connect() as conn:
            conn.execution_options(carto_write=write)
            with conn.begin():
                try:
                    yield conn
                except BaseException:
                    _give_up_if_busy(conn)
                    raise

    def instance_id(self) -> str:
        """A random id made once for this store: sign-in cookies carry it, so that a
        cookie issued by one instance (a demo, another city's base) is refused by
        another, whatever key signed it. Made on first use; writing it does not bump
        the version."""
        value = _meta(self, "instance_id")
        if value:
            return str(value)
        with self.connect(write=True) as conn:
            conn.execute(
                text(
                    "INSERT INTO meta(key, value) VALUES ('instance_id', :v) "
                    "ON CONFLICT (key) DO NOTHING"
                ),
                {"v": json.dumps(secrets.token_urlsafe(18))},
            )
        return str(_meta(self, "instance_id"))


def _meta(db: Database, key: str, default: Any = None) -> Any:
    with db.connect() as conn:
        row = conn.execute(text("SELECT value FROM meta WHERE key = :k"), {"k": key}).first()
    return default if row is None else json.loads(row[0])


def _database(location: str | Path | Database) -> Database:
    return location if isinstance(location, Database) else Database(location)


def backend_of(location: str | Path) -> str:
    """``sqlite`` or ``postgresql``: the backend of a store location."""
    return str(_url(location).get_backend_name())


def sqlite_file(location: str | Path) -> Path | None:
    """The SQLite file of a store location (None on PostgreSQL)."""
    url = _url(location)
    return Path(url.database or "") if url.get_backend_name() == "sqlite" else None


# ---------------------------------------------------------------------------- rate limits


@dataclass
class RateHold:
    """A rate limit's record, locked for one read-modify-write (``RateStore.hold``): its
    text (empty when new) and the database's clock, read once the lock was held. The
    caller sets ``state`` to what it must become."""

    state: str
    now: float


class RateStore:
    """Rate-limit records kept in a PostgreSQL store, for processes on any host: each
    ``hold`` is one transaction that locks the limit's row (``SELECT … FOR UPDATE``) and
    reads the time from the database server (``clock_timestamp()``, seconds since the
    epoch), the one clock every host shares. On SQLite the limit lives in a file next
    to the store instead (carto/airtable_client.py): one host, one monotonic clock.

    A hold is two round trips on a connection of its own, kept open: ``BEGIN``, the
    lock and the clock sent together, then the update and ``COMMIT`` together (psycopg
    pipelines). Through the engine it took seven (a pool checkout and its ping, the
    implicit ``BEGIN``, the insert-if-missing, the lock, the clock, the update, the
    commit), twice per request: each one between an answer and the time read for it,
    or between the time read for a send and the send, can move the rate limit's
    windows later, the more so while another thread holds the interpreter (a first
    sync normalises in one): each wait for the database gives it away."""

    def __init__(self, location: str | Path | Database) -> None:
        self.db = _database(location)
        if self.db.backend == "sqlite":
            raise ValueError("rate limits are kept in the store on PostgreSQL only")
        self._conn: Any = None  # psycopg.Connection, made on first use
        self._lock = threading.Lock()
        with _LOCK:
            _RATE_STORES.add(self)

    def _connection(self) -> Any:
        if self._conn is None or self._conn.closed:
            pooled = self.db.engine.raw_connection()
            self._conn = pooled.driver_connection
            pooled.detach()  # kept by this store, not returned to the pool
            # BEGIN and COMMIT are sent in the pipelines, with the statements
            self._conn.autocommit = True
        return self._conn

    def close(self) -> None:
        """Close the store's connection (made again on the next ``hold``)."""
        with self._lock:
            self._drop()

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @staticmethod
    def _locked(conn: Any, name: str) -> tuple[str, float]:
        """In a new transaction: the row of ``name`` locked (made on its first use), and
        the database's clock once the lock is held."""
        lock = "SELECT state FROM rate_limits WHERE name = %s FOR UPDATE"
        clock = "SELECT EXTRACT(EPOCH FROM clock_timestamp())"
        with _pipeline(conn):
            conn.execute("BEGIN")
            found = conn.execute(lock, (name,))
            now = conn.execute(clock)
        row = found.fetchone()
        if row is None:
            with _pipeline(conn):
                conn.execute(
                    "INSERT INTO rate_limits(name) VALUES (%s) ON CONFLICT (name) DO NOTHING",
                    (name,),
                )
                found = conn.execute(lock, (name,))
                now = conn.execute(clock)
            row = found.fetchone()
        return str(row[0]), float(now.fetchone()[0])

    @contextmanager
    def hold(self, name: str) -> Iterator[RateHold]:
        """The record of ``name``, locked until the block ends; what the block sets as
        its ``state`` is written (only if changed) and committed when it ends."""
        import psycopg

        with self._lock:
            try:
                conn, state, now = self._begin(name)
            except psycopg.OperationalError:
                # a kept connection the server closed (a restart, an idle timeout):
                # nothing was decided on it, so once more on a new one
                conn, state, now = self._begin(name)
            held = RateHold(state, now)
            try:
                yield held
                with _pipeline(conn):
                    if held.state != state:
                        conn.execute(
                            "UPDATE rate_limits SET state = %s WHERE name = %s",
                            (held.state, name),
                        )
                    conn.execute("COMMIT")
            except BaseException:
                self._abandon(conn)
                raise

    def _begin(self, name: str) -> tuple[Any, str, float]:
        """``_locked`` on the kept connection (made if needed), abandoned if it fails."""
        conn = self._connection()
        try:
            return conn, *self._locked(conn, name)
        except BaseException:
            self._abandon(conn)
            raise

    def _abandon(self, conn: Any) -> None:
        """After a failed hold: its transaction rolled back, or the connection dropped
        (the server then rolls it back) when it cannot say."""
        import psycopg

        idle = psycopg.pq.TransactionStatus.IDLE
        try:
            if not conn.broken and conn.info.transaction_status != idle:
                conn.execute("ROLLBACK")
        except psycopg.Error:
            pass
        if conn.broken or conn.info.transaction_status != idle:
            self._drop()


def _pipeline(conn: Any) -> AbstractContextManager[Any]:
    """psycopg's pipeline (statements sent together, one round trip), where its libpq
    has them (14 and later; the binary wheel's does)."""
    import psycopg

    return conn.pipeline() if psycopg.Pipeline.is_supported() else nullcontext()


def _give_up_if_busy(conn: Connection) -> None:
    """After an exception inside a transaction: on PostgreSQL, when it interrupted a
    command (a signal's exception raised while psycopg awaited its answer: the worker's
    stop), the connection is dropped, the server rolling the transaction back; a
    rollback sent on it would fail (another command in progress) and hide the
    exception."""
    import psycopg

    raw = conn.connection.driver_connection if conn.dialect.name == "postgresql" else None
    if isinstance(raw, psycopg.Connection) and (
        raw.info.transaction_status == psycopg.pq.TransactionStatus.ACTIVE
    ):
        conn.invalidate()


# ---------------------------------------------------------------------------- snapshot


class SnapshotStore:
    """The snapshot: records, metadata, version, sync log and API-call counter. Writes
    happen in one transaction each."""

    def __init__(self, location: str | Path | Database) -> None:
        self.db = _database(location)

    @property
    def path(self) -> Path | None:
        """The SQLite file (None on PostgreSQL)."""
        return self.db.path

    @property
    def location(self) -> str:
        return self.db.location

    @contextmanager
    def transaction(self, *, bump_version: bool = True) -> Iterator[Connection]:
        """One write transaction; the version is bumped in it (unless told not to:
        bookkeeping that changes no record must not invalidate caches). What it does to
        the records is noted on the connection (``changes``)."""
        with self.db.connect(write=True) as conn:
            conn.info[_CHANGES] = Changes(self.version_in(conn))
            try:
                yield conn
                if bump_version:
                    self.bump_version(conn)
            finally:
                conn.info.pop(_CHANGES, None)

    @staticmethod
    def changes(conn: Connection) -> Changes | None:
        """Inside a ``transaction``: the records it wrote and deleted so far (None on a
        connection opened otherwise: nothing is known of its changes)."""
        found = conn.info.get(_CHANGES)
        return found if isinstance(found, Changes) else None

    @staticmethod
    def _note(conn: Connection, table_key: str, ids: Iterable[str]) -> None:
        found = conn.info.get(_CHANGES)
        if isinstance(found, Changes):
            found.ids.setdefault(table_key, set()).update(ids)

    @staticmethod
    def version_in(conn: Connection) -> int:
        """Inside a transaction: the version as this transaction sees it."""
        row = conn.execute(text("SELECT value FROM meta WHERE key = 'version'")).first()
        return 0 if row is None else int(json.loads(row[0]))

    def lock_version(self, conn: Connection) -> int:
        """Inside a write transaction: the version, with every other writer of the
        snapshot kept out until the transaction ends (SQLite's ``BEGIN IMMEDIATE`` already
        does; on PostgreSQL the version row is locked, ``FOR UPDATE``), so that records
        read next belong to that version."""
        if self.db.backend != "sqlite":
            conn.execute(
                text(
                    "INSERT INTO meta(key, value) VALUES ('version', '0') "
                    "ON CONFLICT (key) DO NOTHING"
                )
            )
            conn.execute(text("SELECT value FROM meta WHERE key = 'version' FOR UPDATE"))
        return self.version_in(conn)

    @staticmethod
    def write_derived(conn: Connection, version: int, key: str, blobs: Mapping[str, bytes]) -> None:
        """Inside a transaction: store frames derived from the records of ``version``
        (built with options whose fingerprint is ``key``), replacing those of the same
        names."""
        if blobs:
            conn.execute(
                text(
                    "INSERT INTO derived(name, version, key, data) VALUES (:n, :v, :k, :d) "
                    "ON CONFLICT (name) DO UPDATE SET version = excluded.version, "
                    "key = excluded.key, data = excluded.data"
                ),
                [{"n": n, "v": version, "k": key, "d": data} for n, data in blobs.items()],
            )

    @staticmethod
    def prune_derived(conn: Connection, prefix: str, keep: Iterable[str]) -> int:
        """Inside a transaction: delete the derived frames whose name starts with
        ``prefix`` (letters, digits, ``:``), except those of ``keep``; returns how many."""
        sql = text(
            "DELETE FROM derived WHERE substr(name, 1, :n) = :prefix AND name NOT IN :keep"
        ).bindparams(bindparam("keep", expanding=True))
        kept = list(keep) or [""]
        return conn.execute(sql, {"n": len(prefix), "prefix": prefix, "keep": kept}).rowcount

    @staticmethod
    def restamp_derived(conn: Connection, old_version: int, version: int, key: str) -> int:
        """Inside a transaction: derived frames of ``old_version`` built with ``key`` are
        those of ``version`` too (the records did not change); returns how many."""
        return conn.execute(
            text("UPDATE derived SET version = :v WHERE version = :old AND key = :k"),
            {"v": version, "old": old_version, "k": key},
        ).rowcount

    @staticmethod
    def derived_stamps(conn: Connection, names: Iterable[str]) -> dict[str, tuple[int, str]]:
        """Inside a transaction: (version, options key) of the stored derived frames of
        those names, without their bytes."""
        sql = text("SELECT name, version, key FROM derived WHERE name IN :names").bindparams(
            bindparam("names", expanding=True)
        )
        rows = conn.execute(sql, {"names": list(names)}).all()
        return {r[0]: (int(r[1]), str(r[2])) for r in rows}

    @staticmethod
    def derived_in(conn: Connection, names: Iterable[str]) -> dict[str, Derived]:
        """Inside a transaction: the stored derived frames of those names (one statement,
        so one consistent view on both backends)."""
        sql = text("SELECT name, version, key, data FROM derived WHERE name IN :names").bindparams(
            bindparam("names", expanding=True)
        )
        rows = conn.execute(sql, {"names": list(names)}).all()
        return {r[0]: Derived(int(r[1]), str(r[2]), bytes(r[3])) for r in rows}

    def derived(self, names: Iterable[str]) -> dict[str, Derived]:
        """The stored derived frames of those names, with the version and options key
        each was built for."""
        with self.db.connect() as conn:
            return self.derived_in(conn, names)

    @staticmethod
    def bump_version(conn: Connection) -> None:
        """Inside a ``bump_version=False`` transaction: bump the version after all."""
        conn.execute(
            text(
                "INSERT INTO meta(key, value) VALUES ('version', '1') "
                "ON CONFLICT (key) DO UPDATE SET "
                "value = CAST(CAST(meta.value AS INTEGER) + 1 AS TEXT)"
            )
        )

    @staticmethod
    def encode(record: Record) -> str:
        """A record as the store keeps it (the JSON text ``upsert`` writes): a sync encodes
        its pages while it lists the next ones, then writes them with ``upsert_encoded``."""
        return SnapshotStore.storable(record)[1]

    @staticmethod
    def storable(record: Record) -> tuple[Record, str]:
        """The record as it can be stored, and its text. JSON may escape half of a UTF-16
        pair alone ("\\ud800"): no character, which neither UTF-8 nor the databases can
        hold, so one such text would stop a sync. That half becomes U+FFFD (the record
        read again from the text); any other record is returned as it is."""
        text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
        if _LONE_SURROGATE.search(text) is None:
            return record, text
        text = _LONE_SURROGATE.sub("\ufffd", text)
        return json.loads(text), text

    @staticmethod
    def decode(text: str) -> Record:
        """A stored record's text as the record, to read (orjson: twice as fast as
        ``json`` at 100,000 records, the same objects but for integer literals beyond 64
        bits, read as floats: Airtable's numbers are doubles, and normalisation reads
        them as floats anyway). What orjson refuses and ``encode`` may write (NaN,
        infinities, lone surrogates) is read by ``json``."""
        try:
            record: Record = orjson.loads(text)
        except orjson.JSONDecodeError:
            record = json.loads(text)
        return record

    @staticmethod
    def _rows(table_key: str, records: Iterable[Record]) -> Iterator[list[dict[str, str]]]:
        batch: list[dict[str, str]] = []
        for rec in records:
            batch.append(
                {
                    "t": table_key,
                    "id": rec["id"],
                    "c": rec.get("createdTime", ""),
                    "r": SnapshotStore.encode(rec),
                }
            )
            if len(batch) >= _ROW_CHUNK:
                yield batch
                batch = []
        if batch:
            yield batch

    def replace_table(self, conn: Connection, table_key: str, records: Iterable[Record]) -> None:
        """Inside a transaction: the table's records become exactly ``records``."""
        conn.execute(text("DELETE FROM records WHERE table_key = :t"), {"t": table_key})
        found = conn.info.get(_CHANGES)
        if isinstance(found, Changes):
            found.replaced.add(table_key)
        self.upsert(conn, table_key, records)

    def upsert(self, conn: Connection, table_key: str, records: Iterable[Record]) -> int:
        """Inside a transaction: insert or replace records; returns how many."""
        n = 0
        for batch in self._rows(table_key, records):
            conn.execute(
                text(
                    "INSERT INTO records(table_key, id, created_time, record) "
                    "VALUES (:t, :id, :c, :r) ON CONFLICT (table_key, id) DO UPDATE SET "
                    "created_time = excluded.created_time, record = excluded.record"
                ),
                batch,
            )
            self._note(conn, table_key, (row["id"] for row in batch))
            n += len(batch)
        return n

    def upsert_encoded(
        self, conn: Connection, table_key: str, rows: Iterable[tuple[str, str, str]]
    ) -> int:
        """Inside a transaction: ``upsert`` of records already encoded (``encode``), as
        ``(id, created time, text)``; returns how many. Sent to the driver as they are
        (one ``executemany`` per batch of plain tuples): SQLAlchemy's per-row parameter
        processing cost as much as the write itself (0.19 of 0.34 s for 11,700 rows).
        On PostgreSQL those the table lacks go with ``COPY`` (``_copy_absent``)."""
        if conn.dialect.name != "postgresql":
            return self._upsert_rows(conn, table_key, rows)
        given = list(rows)
        if given:  # a sync that changed nothing asks nothing of the database
            self._note(conn, table_key, (row[0] for row in given))
            self._upsert_rows(conn, table_key, self._copy_absent(conn, table_key, given))
        return len(given)

    @staticmethod
    def savepoint(conn: Connection, name: str) -> None:
        """Inside a transaction: a point ``rollback_to`` can take it back to."""
        conn.exec_driver_sql(f"SAVEPOINT {name}")

    @staticmethod
    def rollback_to(conn: Connection, name: str) -> None:
        """Inside a transaction: undo what it did since the ``savepoint`` ``name`` (kept)."""
        conn.exec_driver_sql(f"ROLLBACK TO SAVEPOINT {name}")

    def copy_new(
        self, conn: Connection, table_key: str, rows: list[tuple[str, str, str]]
    ) -> dict[str, str]:
        """PostgreSQL, inside a ``transaction``: write the rows (``upsert_encoded``'s)
        whose id the table lacks, with ``COPY`` (``_copy_absent``); returns the texts
        written, by id. The others are left for ``upsert_encoded``."""
        left = {row[0] for row in self._copy_absent(conn, table_key, rows)}
        written = {row[0]: row[2] for row in rows if row[0] not in left}
        self._note(conn, table_key, written)
        return written

    def _upsert_rows(
        self, conn: Connection, table_key: str, rows: Iterable[tuple[str, str, str]]
    ) -> int:
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        sql = (
            f"INSERT INTO records(table_key, id, created_time, record) "
            f"VALUES ({mark}, {mark}, {mark}, {mark}) ON CONFLICT (table_key, id) DO UPDATE "
            "SET created_time = excluded.created_time, record = excluded.record"
        )
        n = 0
        batch: list[tuple[str, str, str, str]] = []
        for row in rows:
            batch.append((table_key, *row))
            if len(batch) >= _ROW_CHUNK:
                n += self._send_rows(conn, table_key, sql, batch)
                batch = []
        if batch:
            n += self._send_rows(conn, table_key, sql, batch)
        return n

    @staticmethod
    def _copy_absent(
        conn: Connection, table_key: str, rows: list[tuple[str, str, str]]
    ) -> list[tuple[str, str, str]]:
        """PostgreSQL, inside a transaction: write the rows whose id the table lacks with
        one ``COPY … FROM STDIN``; returns the others, for the row-by-row upsert. A first
        sync writes every record so, without the per-statement cost of psycopg's
        pipeline of single-row upserts (each one bound, executed, its conflict checked:
        most of that commit, README "Benchmark"). Not into a temporary table then
        ``INSERT … SELECT … ON CONFLICT``: that insert cost more than the copy itself,
        measured while choosing. An id listed twice is written once, with its last row
        (what the upserts in turn left). When another writer added one of them meanwhile
        (two syncs at once), the copy fails on the key and is rolled back to its
        savepoint: every row then goes to the upsert."""
        import psycopg

        latest = {row[0]: row for row in rows}
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cur:
            cur.execute(
                "SELECT id FROM records WHERE table_key = %s AND id = ANY(%s)",
                (table_key, list(latest)),
            )
            stored = {found[0] for found in cur}
            absent = [row for rid, row in latest.items() if rid not in stored]
            if not absent:
                return rows
            cur.execute("SAVEPOINT carto_copy")
            try:
                columns = "table_key, id, created_time, record"
                with cur.copy(f"COPY records ({columns}) FROM STDIN") as copy:
                    for row in absent:
                        copy.write_row((table_key, *row))
            except psycopg.errors.UniqueViolation:
                cur.execute("ROLLBACK TO SAVEPOINT carto_copy")
                return rows
            cur.execute("RELEASE SAVEPOINT carto_copy")
        return [row for rid, row in latest.items() if rid in stored]

    def _send_rows(
        self, conn: Connection, table_key: str, sql: str, batch: list[tuple[str, str, str, str]]
    ) -> int:
        conn.exec_driver_sql(sql, batch)
        self._note(conn, table_key, (row[1] for row in batch))
        return len(batch)

    @staticmethod
    def _chunks(ids: Iterable[str]) -> Iterator[list[str]]:
        wanted = list(ids)
        for i in range(0, len(wanted), _ID_CHUNK):
            yield wanted[i : i + _ID_CHUNK]

    def delete_ids(self, conn: Connection, table_key: str, ids: Iterable[str]) -> int:
        """Inside a transaction: remove records by id; returns how many were removed."""
        sql = text("DELETE FROM records WHERE table_key = :t AND id IN :ids").bindparams(
            bindparam("ids", expanding=True)
        )
        removed = 0
        for chunk in self._chunks(ids):
            removed += conn.execute(sql, {"t": table_key, "ids": chunk}).rowcount
            self._note(conn, table_key, chunk)
        return removed

    @staticmethod
    def set_meta(conn: Connection, values: Mapping[str, Any]) -> None:
        """Inside a transaction: set metadata values (stored as JSON)."""
        if values:
            conn.execute(
                text(
                    "INSERT INTO meta(key, value) VALUES (:k, :v) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
                ),
                [{"k": k, "v": json.dumps(v)} for k, v in values.items()],
            )

    def records_by_id(
        self, conn: Connection, table_key: str, ids: Iterable[str] | None = None
    ) -> dict[str, Record]:
        """Inside a transaction: stored records by id (all of the table, or those ``ids``)."""
        if ids is None:
            rows = list(
                conn.execute(
                    text("SELECT id, record FROM records WHERE table_key = :t"), {"t": table_key}
                )
            )
        else:
            sql = text(
                "SELECT id, record FROM records WHERE table_key = :t AND id IN :ids"
            ).bindparams(bindparam("ids", expanding=True))
            rows = []
            for chunk in self._chunks(ids):
                rows += conn.execute(sql, {"t": table_key, "ids": chunk}).all()
        return {r[0]: SnapshotStore.decode(r[1]) for r in rows}

    def texts_by_id(
        self, conn: Connection, table_key: str, ids: Iterable[str] | None = None
    ) -> dict[str, str]:
        """Inside a transaction: stored records (all of the table, or those ``ids``) as
        their stored text, by id: undecoded, so that a sync compares texts first and
        decodes only the few that differ (decoding every record cost 0.5 s at 10,000)."""
        if ids is None:
            rows = conn.execute(
                text("SELECT id, record FROM records WHERE table_key = :t"), {"t": table_key}
            ).all()
        else:
            sql = text(
                "SELECT id, record FROM records WHERE table_key = :t AND id IN :ids"
            ).bindparams(bindparam("ids", expanding=True))
            rows = []
            for chunk in self._chunks(ids):
                rows += conn.execute(sql, {"t": table_key, "ids": chunk}).all()
        return {r[0]: r[1] for r in rows}

    @staticmethod
    def table_ids(conn: Connection, table_key: str) -> set[str]:
        """Inside a transaction: the record ids of a table."""
        rows = conn.execute(text("SELECT id FROM records WHERE table_key = :t"), {"t": table_key})
        return {r[0] for r in rows}

    def purge_field(
        self,
        conn: Connection,
        table_key: str,
        field: str,
        expired: Callable[[Record], bool],
    ) -> int:
        """Inside a transaction: remove ``field`` from the stored records of a table that
        have it and for which ``expired(record)`` holds (the caller decides what expires
        and when); returns how many records changed."""
        if self.db.backend == "sqlite":
            path = '$.fields."' + field.replace('"', '\\"') + '"'
            sql = "json_extract(record, :f) IS NOT NULL"
            arg = path
        else:
            sql = "jsonb_exists(CAST(record AS jsonb) -> 'fields', :f)"
            arg = field
        rows = conn.execute(
            text(f"SELECT record FROM records WHERE table_key = :t AND {sql}"),
            {"t": table_key, "f": arg},
        )
        changed = []
        for rec in (json.loads(row[0]) for row in rows):  # written back: exact ints
            if field in rec.get("fields", {}) and expired(rec):
                fields = {k: v for k, v in rec["fields"].items() if k != field}
                changed.append({**rec, "fields": fields})
        if changed:
            self.upsert(conn, table_key, changed)
        return len(changed)

    @staticmethod
    def add_api_calls(conn: Connection, month: str, calls: int) -> None:
        """Inside a transaction: add ``calls`` to the API calls counted for ``month``."""
        conn.execute(
            text(
                "INSERT INTO api_calls(month, calls) VALUES (:m, :n) "
                "ON CONFLICT (month) DO UPDATE SET calls = api_calls.calls + excluded.calls"
            ),
            {"m": month, "n": calls},
        )

    @staticmethod
    def log_sync(conn: Connection, entry: Mapping[str, Any]) -> None:
        """Inside a transaction: append one sync attempt (keys: ``SYNC_LOG_COLUMNS``)."""
        values = {c: entry.get(c) for c in SYNC_LOG_COLUMNS}
        values["ok"] = int(bool(entry.get("ok")))
        for name in ("fetched", "changed", "deleted", "api_calls"):
            values[name] = int(entry.get(name) or 0)
        conn.execute(
            text(
                f"INSERT INTO syncs({', '.join(SYNC_LOG_COLUMNS)}) "
                f"VALUES ({', '.join(':' + c for c in SYNC_LOG_COLUMNS)})"
            ),
            values,
        )

    def api_calls(self, month: str) -> int:
        """API calls counted for ``month`` (``YYYY-MM``)."""
        with self.db.connect() as conn:
            row = conn.execute(
                text("SELECT calls FROM api_calls WHERE month = :m"), {"m": month}
            ).first()
        return 0 if row is None else int(row[0])

    def sync_log(self, limit: int = 20) -> list[dict[str, Any]]:
        """The latest sync attempts, newest first."""
        with self.db.connect() as conn:
            rows = conn.execute(
                text(f"SELECT {', '.join(SYNC_LOG_COLUMNS)} FROM syncs ORDER BY id DESC LIMIT :n"),
                {"n": limit},
            ).all()
        entries = [dict(zip(SYNC_LOG_COLUMNS, row, strict=True)) for row in rows]
        for entry in entries:
            entry["ok"] = bool(entry["ok"])
        return entries

    def records(self, table_key: str) -> list[Record]:
        """All records of a table, as Airtable sent them, oldest first."""
        with self.db.connect() as conn:
            return self.records_in(conn, table_key)

    @staticmethod
    def records_in(conn: Connection, table_key: str, *, ordered: bool = True) -> list[Record]:
        """Inside a transaction: all records of a table, oldest first (in no given order
        when not ``ordered``: the database's sort cost 0.15 s at 100,000 records, for a
        caller that sorts the frames it makes anyway)."""
        order = " ORDER BY created_time, id" if ordered else ""
        rows = conn.execute(
            text(f"SELECT record FROM records WHERE table_key = :t{order}"), {"t": table_key}
        ).all()
        decode = SnapshotStore.decode
        return [decode(r[0]) for r in rows]

    @staticmethod
    def record_lines_in(conn: Connection, table_key: str) -> bytes:
        """Inside a transaction: the stored texts of every record of a table, one per
        line, in no given order, in UTF-8 (``carto.arrow_records`` reads them). Joined by
        the database: one value fetched instead of one per record. A stored text holds
        no newline (JSON escapes it)."""
        if conn.dialect.name == "sqlite":
            # a scan of the table in its storage order: through the primary key's index,
            # each row was looked up from the index (2.5× the time at 100,000 passages,
            # which are most of the table)
            joined = "CAST(group_concat(record, char(10)) AS BLOB)"
            source = "records NOT INDEXED"
        else:
            joined = "convert_to(string_agg(record, chr(10)), 'UTF8')"
            source = "records"
        data = conn.execute(
            text(f"SELECT {joined} FROM {source} WHERE table_key = :t"), {"t": table_key}
        ).scalar()
        return b"" if data is None else bytes(data)

    def ids(self, table_key: str) -> set[str]:
        """The record ids of a table."""
        with self.db.connect() as conn:
            return self.table_ids(conn, table_key)

    def count(self, table_key: str) -> int:
        """How many records a table holds."""
        with self.db.connect() as conn:
            n = conn.execute(
                text("SELECT COUNT(*) FROM records WHERE table_key = :t"), {"t": table_key}
            ).scalar_one()
        return int(n)

    def meta(self, key: str, default: Any = None) -> Any:
        """A metadata value (the version is an int; 0 for a store never written)."""
        return _meta(self.db, key, default)

    def instance_id(self) -> str:
        """The store's instance id (``Database.instance_id``)."""
        return self.db.instance_id()

    @property
    def version(self) -> int:
        """Bumped by every committed write: the cache key of everything built on the store."""
        return int(self.meta("version", 0))


# ---------------------------------------------------------------------------- auth/audit


@dataclass(frozen=True)
class LoginState:
    """Failed sign-ins in a row for one account, and until when it is locked."""

    failures: int = 0
    locked_until: dt.datetime | None = None

    def locked(self, now: dt.datetime | None = None) -> bool:
        return self.locked_until is not None and _utc(now) < self.locked_until


class AuthStore:
    """Access-control state: the audit log, failed sign-ins and lockouts, session epochs
    and last activity. None of it bumps the snapshot's version."""

    def __init__(self, location: str | Path | Database) -> None:
        self.db = _database(location)

    @property
    def path(self) -> Path | None:
        """The SQLite file (None on PostgreSQL)."""
        return self.db.path

    def instance_id(self) -> str:
        """The store's instance id (``Database.instance_id``): cookies carry it."""
        return self.db.instance_id()

    def log_event(
        self,
        event: str,
        username: str = "",
        details: Mapping[str, Any] | None = None,
        at: dt.datetime | None = None,
    ) -> None:
        """Append one entry to the audit log (who, what, when, details as JSON)."""
        with self.db.connect(write=True) as conn:
            conn.execute(
                text(
                    "INSERT INTO audit_log(at, event, username, details) "
                    "VALUES (:at, :event, :username, :details)"
                ),
                {
                    "at": _utc(at).isoformat(),
                    "event": event,
                    "username": username,
                    "details": json.dumps(dict(details or {}), ensure_ascii=False, default=str),
                },
            )

    def audit_log(
        self, limit: int = 500, event: str | None = None, username: str | None = None
    ) -> list[dict[str, Any]]:
        """The latest audit entries, newest first (``at`` as an aware datetime, ``details``
        as a dict), optionally of one event or one account."""
        where: list[str] = []
        args: dict[str, Any] = {"n": limit}
        if event:
            where.append("event = :event")
            args["event"] = event
        if username:
            where.append("username = :username")
            args["username"] = username
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        with self.db.connect() as conn:
            rows = conn.execute(
                text(
                    f"SELECT {', '.join(AUDIT_COLUMNS)} FROM audit_log {clause} "
                    "ORDER BY id DESC LIMIT :n"
                ),
                args,
            ).all()
        return [
            {"at": _time(at), "event": ev, "username": user, "details": json.loads(details)}
            for at, ev, user, details in rows
        ]

    def login_state(self, username: str) -> LoginState:
        """Failed sign-ins in a row and lock of an account (an expired lock still shows
        its time: ``LoginState.locked`` says whether it holds now)."""
        with self.db.connect() as conn:
            row = conn.execute(
                text("SELECT failures, locked_until FROM login_failures WHERE username = :u"),
                {"u": username},
            ).first()
        return LoginState() if row is None else LoginState(int(row[0]), _time(row[1]))

    def _login_row(self, conn: Connection, key: str, now: dt.datetime) -> LoginState:
        """Inside a write transaction: the account's count, locked against every other
        attempt until the transaction ends. SQLite's ``BEGIN IMMEDIATE`` already holds
        the one write lock; on PostgreSQL the row is made if missing, then locked
        (``FOR UPDATE``): two first attempts cannot both start from zero."""
        lock = ""
        if self.db.backend != "sqlite":
            conn.execute(
                text(
                    "INSERT INTO login_failures(username, failures, last_failure) "
                    "VALUES (:u, 0, :now) ON CONFLICT (username) DO NOTHING"
                ),
                {"u": key, "now": now.isoformat()},
            )
            lock = " FOR UPDATE"
        row = conn.execute(
            text(f"SELECT failures, locked_until FROM login_failures WHERE username = :u{lock}"),
            {"u": key},
        ).first()
        state = LoginState() if row is None else LoginState(int(row[0]), _time(row[1]))
        if state.locked_until is not None and state.locked_until <= now:
            return LoginState()  # an expired lock starts a new count
        return state

    @staticmethod
    def _save_login_row(conn: Connection, key: str, state: LoginState, now: dt.datetime) -> None:
        until = state.locked_until.isoformat() if state.locked_until else None
        conn.execute(
            text(
                "INSERT INTO login_failures(username, failures, last_failure, locked_until) "
                "VALUES (:u, :n, :now, :until) ON CONFLICT (username) DO UPDATE SET "
                "failures = excluded.failures, last_failure = excluded.last_failure, "
                "locked_until = excluded.locked_until"
            ),
            {"u": key, "n": state.failures, "now": now.isoformat(), "until": until},
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
        with self.db.connect(write=True) as conn:
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
        with self.db.connect(write=True) as conn:
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
        with self.db.connect(write=True) as conn:
            state = self._login_row(conn, key, now)
            if state.locked(now):
                return state
            conn.execute(text("DELETE FROM login_failures WHERE username = :u"), {"u": key})
        return LoginState()

    def clear_failed_logins(self, username: str) -> bool:
        """Forget an account's failed sign-ins and lift its lock; True when there was
        something to clear."""
        with self.db.connect(write=True) as conn:
            rows = conn.execute(
                text(
                    "DELETE FROM login_failures WHERE username = :u "
                    "RETURNING failures, locked_until"
                ),
                {"u": username},
            ).all()
        return any(failures > 0 or until is not None for failures, until in rows)

    def session_epoch(self, username: str) -> int:
        """The account's session epoch: sessions and cookies of another epoch are refused."""
        with self.db.connect() as conn:
            row = conn.execute(
                text("SELECT epoch FROM user_sessions WHERE username = :u"), {"u": username}
            ).first()
        return 0 if row is None else int(row[0])

    def bump_session_epoch(self, username: str) -> int:
        """Revoke every session and cookie issued to the account; returns the new epoch."""
        with self.db.connect(write=True) as conn:
            epoch = conn.execute(
                text(
                    "INSERT INTO user_sessions(username, epoch) VALUES (:u, 1) "
                    "ON CONFLICT (username) DO UPDATE SET epoch = user_sessions.epoch + 1 "
                    "RETURNING epoch"
                ),
                {"u": username},
            ).scalar_one()
        return int(epoch)

    def last_seen(self, username: str) -> dt.datetime | None:
        """When a session of the account was last active (for the idle timeout)."""
        with self.db.connect() as conn:
            row = conn.execute(
                text("SELECT last_seen FROM user_sessions WHERE username = :u"), {"u": username}
            ).first()
        return None if row is None else _time(row[0])

    def touch_session(self, username: str, now: dt.datetime | None = None) -> None:
        """Record activity of a session of the account."""
        with self.db.connect(write=True) as conn:
            conn.execute(
                text(
                    "INSERT INTO user_sessions(username, epoch, last_seen) VALUES (:u, 0, :at) "
                    "ON CONFLICT (username) DO UPDATE SET last_seen = excluded.last_seen"
                ),
                {"u": username, "at": _utc(now).isoformat()},
            )

    # ------------------------------------------------------------------ planned rounds

    def add_plan(
        self, plan: Mapping[str, str], username: str, at: dt.datetime | None = None
    ) -> int:
        """Keep one planned round (``evening`` as YYYY-MM-DD, ``association``, ``team``,
        ``zones`` and ``camps`` as JSON lists); returns its id."""
        with self.db.connect(write=True) as conn:
            plan_id = conn.execute(
                text(
                    "INSERT INTO plans(evening, association, team, zones, camps, created_by, "
                    "created_at) VALUES (:evening, :association, :team, :zones, :camps, "
                    ":created_by, :created_at) RETURNING id"
                ),
                {
                    "evening": plan["evening"],
                    "association": plan["association"],
                    "team": plan.get("team", ""),
                    "zones": plan.get("zones", "[]"),
                    "camps": plan.get("camps", "[]"),
                    "created_by": username,
                    "created_at": _utc(at).isoformat(),
                },
            ).scalar_one()
        return int(plan_id)

    def plans(self, first: dt.date, last: dt.date) -> list[dict[str, Any]]:
        """The rounds planned for the evenings from ``first`` to ``last``, in the order
        they were saved (``created_at`` as an aware datetime)."""
        with self.db.connect() as conn:
            rows = conn.execute(
                text(
                    f"SELECT {', '.join(PLAN_COLUMNS)} FROM plans "
                    "WHERE evening >= :first AND evening <= :last ORDER BY id"
                ),
                {"first": first.isoformat(), "last": last.isoformat()},
            ).all()
        plans = [dict(zip(PLAN_COLUMNS, row, strict=True)) for row in rows]
        for plan in plans:
            plan["created_at"] = _time(plan["created_at"])
        return plans

    def purge_plans(self, before: dt.date) -> int:
        """Forget the rounds planned for evenings before ``before``; returns how many."""
        with self.db.connect(write=True) as conn:
            rows = conn.execute(
                text("DELETE FROM plans WHERE evening < :before RETURNING id"),
                {"before": before.isoformat()},
            ).all()
        return len(rows)
