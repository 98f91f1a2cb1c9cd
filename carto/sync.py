"""Airtable → snapshot store: full or incremental, reconciled, committed in one transaction.

- The first sync (or ``full=True``, or a change of base or tables) lists every record.
- Later syncs ask only for records modified since the last successful sync, minus an
  overlap (``LAST_MODIFIED_TIME()`` in ``filterByFormula``): one call per table when
  nothing changed.
- Deleted records never show up in such a query: on the reconciliation interval (and in
  every full sync) the sync also lists every record id, with a single field per record,
  and removes from the snapshot the records Airtable no longer has.
- Everything is fetched first, then written in one store transaction: a failure at any
  point leaves the previous snapshot, and its version, untouched. Each page is shaped
  (retention) and encoded as the store keeps it while the next is awaited (the listing
  mostly waits on the rate limit), so that the commit only compares texts and writes.
- API calls are counted per calendar month in the store; a sync refuses to start once
  the monthly budget is spent unless forced.

``refresh_in_background`` (and ``refresh_if_due``) is the app's entry point: at most one
incremental sync per interval for the whole process, and it never raises on Airtable
trouble; none at all with ``[sync] app_refresh = false``, when a ``sync --watch`` worker
(``carto/worker.py``) refreshes the store for every app process.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from pyairtable import formulas
from pyairtable.api.table import Table

from carto import dataset, prepared, privacy, schema
from carto.airtable_client import (
    AirtableClient,
    AirtableError,
    AirtableRequestError,
    client_from_settings,
    configured_tables,
)
from carto.i18n import format_int, t
from carto.options import SyncOptions
from carto.settings import Settings
from carto.store import Record, SnapshotStore

log = logging.getLogger(__name__)

# Sites first: passages link to them.
TABLE_KEYS = ("sites", "passages")

Clock = Callable[[], dt.datetime]
# Called after each page received: (table key, pages so far, records so far).
Progress = Callable[[str, int, int], None]


class SyncRefused(AirtableError):
    """The sync did not start: demo mode, or the monthly call budget is spent."""


class BudgetExhausted(SyncRefused):
    """The monthly API call budget is spent (``force`` overrides)."""


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _parse_time(value: Any) -> dt.datetime | None:
    return _aware(dt.datetime.fromisoformat(value)) if isinstance(value, str) else None


# ------------------------------------------------------------------------ call budget


@dataclass(frozen=True)
class BudgetStatus:
    """API calls used this month against the budget, and how often to refresh."""

    month: str
    used: int
    budget: int
    refresh_interval_seconds: float | None  # None: no automatic refresh any more

    @property
    def fraction(self) -> float:
        """Share of the budget used (0 when there is no budget)."""
        return self.used / self.budget if self.budget > 0 else 0.0

    @property
    def exhausted(self) -> bool:
        return self.budget > 0 and self.used >= self.budget


def month_key(now: dt.datetime, timezone: str) -> str:
    """The calendar month (``YYYY-MM``) of ``now`` in the configured time zone."""
    return _aware(now).astimezone(ZoneInfo(timezone)).strftime("%Y-%m")


def recommended_interval(base_seconds: float, fraction: float) -> float | None:
    """The refresh interval for a budget used up to ``fraction``: normal below 80 %,
    doubled below 95 %, four times longer below 100 %, then no automatic refresh."""
    if fraction >= 1.0:
        return None
    if fraction >= 0.95:
        return base_seconds * 4
    if fraction >= 0.80:
        return base_seconds * 2
    return base_seconds


def budget_status(
    settings: Settings, store: SnapshotStore, now: dt.datetime | None = None
) -> BudgetStatus:
    """How much of this month's call budget the store has counted."""
    month = month_key(now or _utc_now(), settings["general.timezone"])
    used = store.api_calls(month)
    opts = SyncOptions.from_settings(settings)
    budget = opts.monthly_call_budget
    fraction = used / budget if budget > 0 else 0.0
    interval = recommended_interval(opts.refresh_interval_seconds, fraction)
    return BudgetStatus(month, used, budget, interval)


# ---------------------------------------------------------------------------- results


@dataclass(frozen=True)
class TableStats:
    """What one table's sync did."""

    fetched: int
    changed: int
    deleted: int
    full: bool
    reconciled: bool


@dataclass(frozen=True)
class SyncResult:
    """What a committed sync did: records fetched, changed (new or different), deleted."""

    full: bool
    tables: Mapping[str, TableStats]
    api_calls: int
    duration_seconds: float
    started_at: dt.datetime
    version: int

    @property
    def mode(self) -> str:
        return "full" if self.full else "incremental"

    @property
    def fetched(self) -> int:
        return sum(s.fetched for s in self.tables.values())

    @property
    def changed(self) -> int:
        return sum(s.changed for s in self.tables.values())

    @property
    def deleted(self) -> int:
        return sum(s.deleted for s in self.tables.values())

    @property
    def reconciled(self) -> bool:
        return all(s.reconciled for s in self.tables.values())


# ---------------------------------------------------------------------- planning


@dataclass(frozen=True)
class _Plan:
    full: bool
    since: dt.datetime | None  # records modified after this (incremental only)
    reconcile: bool


def _source(settings: Settings) -> dict[str, str]:
    """What the snapshot is a copy of: a change means the next sync must be full."""
    return {
        "base_id": settings["airtable.base_id"],
        "sites_table": settings["airtable.sites_table"],
        "passages_table": settings["airtable.passages_table"],
    }


def _plan(settings: Settings, store: SnapshotStore, started: dt.datetime, full: bool) -> _Plan:
    last = _parse_time(store.meta("last_sync_at"))
    if full or last is None or store.meta("sync_source") != _source(settings):
        return _Plan(full=True, since=None, reconcile=True)
    opts = SyncOptions.from_settings(settings)
    since = last - dt.timedelta(seconds=opts.overlap_seconds)
    reconciled = _parse_time(store.meta("last_reconciled_at"))
    interval = dt.timedelta(hours=opts.reconcile_interval_hours)
    reconcile = reconciled is None or started - reconciled >= interval
    return _Plan(full=False, since=since, reconcile=reconcile)


# ----------------------------------------------------------------------- fetching


@dataclass
class _Fetched:
    records: list[Record]
    live_ids: set[str] | None  # every id Airtable has, when listed
    full: bool
    reconciled: bool
    # Each record of ``records`` as the store keeps it (``SnapshotStore.encode``), by id:
    # encoded page by page while the next page was awaited, not in the commit.
    texts: dict[str, str] = field(default_factory=dict)
    # Those of them written already, by id (their texts): in the transaction that
    # commits them, page by page during the listing (``_Early``).
    written: dict[str, str] = field(default_factory=dict)


# Applied to each page as it arrives, before it is encoded (retention, for passages).
Shape = Callable[[list[Record]], list[Record]]


class _Early:
    """A first sync on PostgreSQL: the passages written page by page, while the next
    pages are awaited, into the transaction that will commit them (opened before the
    listing: a failure or a stop rolls them back with it). Its commit then writes only
    what was listed again (``_apply``). Not on SQLite: its write lock, held during the
    listing, would keep the apps' own writes (audit, accounts) waiting."""

    def __init__(self, store: SnapshotStore, conn: Any) -> None:
        self.store = store
        self.conn = conn
        self.written: dict[str, str] = {}
        store.savepoint(conn, "carto_listing")

    def restart(self) -> None:
        """The listing starts over (its offset expired): what it wrote goes."""
        self.store.rollback_to(self.conn, "carto_listing")
        self.written.clear()

    def page(self, stored: list[tuple[Record, str]]) -> None:
        """One page's passages (``SnapshotStore.storable``'s pairs), written if new."""
        rows = [(str(r["id"]), r.get("createdTime", ""), text) for r, text in stored]
        self.written.update(self.store.copy_new(self.conn, "passages", rows))


@contextmanager
def _early_writes(
    store: SnapshotStore, prebuild: prepared.Prebuild | None
) -> Iterator[_Early | None]:
    """Around a first sync's passages listing and its commit (``prebuild``): on
    PostgreSQL, the transaction of the commit, opened now (``_Early``)."""
    if prebuild is None or store.db.backend != "postgresql":
        yield None
        return
    with store.transaction(bump_version=False) as conn:
        yield _Early(store, conn)


def _list(
    table: Table,
    key: str,
    restarts: int,
    progress: Progress | None,
    shape: Shape | None = None,
    prebuild: prepared.Prebuild | None = None,
    early: _Early | None = None,
    **options: Any,
) -> tuple[list[Record], dict[str, str]]:
    """Every page of one listing, each shaped and encoded as it arrives (the listing
    waits on Airtable's rate limit most of the time: the encoding costs the sync no
    time there, where the commit would pay it); restarts from the start when the
    offset expires. Returns the records and their texts by id. ``prebuild`` is given
    each page too (added to the frames while the next pages are awaited), and so is
    ``early`` (written)."""
    for attempt in range(restarts + 1):
        records: list[Record] = []
        texts: dict[str, str] = {}
        if prebuild is not None and attempt:
            prebuild.restart()
        if early is not None and attempt:
            early.restart()
        try:
            for pages, page in enumerate(table.iterate(**options), start=1):
                got = [dict(r) for r in page]
                if shape is not None:
                    got = shape(got)
                stored = [SnapshotStore.storable(r) for r in got]
                got = [record for record, _ in stored]
                texts.update((str(record["id"]), text) for record, text in stored)
                records.extend(got)
                if prebuild is not None:
                    prebuild.add(got)
                if early is not None:
                    early.page(stored)
                if progress is not None:
                    progress(key, pages, len(records))
            return records, texts
        except AirtableRequestError as exc:
            if not exc.offset_expired or attempt == restarts:
                raise
            log.warning("%s: pagination offset expired, restarting the listing", key)
    raise AssertionError("unreachable")


def _fetch(
    settings: Settings,
    key: str,
    table: Table,
    plan: _Plan,
    stored_ids: set[str],
    progress: Progress | None,
    shape: Shape | None = None,
    prebuild: prepared.Prebuild | None = None,
    early: _Early | None = None,
) -> _Fetched:
    restarts = SyncOptions.from_settings(settings).listing_restarts
    if plan.full:
        records, texts = _list(table, key, restarts, progress, shape, prebuild, early)
        written = early.written if early is not None else {}
        return _Fetched(records, {r["id"] for r in records}, True, True, texts, written)
    assert plan.since is not None
    since = formulas.GT(formulas.LAST_MODIFIED_TIME(), plan.since.astimezone(dt.UTC))
    records, texts = _list(table, key, restarts, progress, shape, formula=since)
    if not plan.reconcile:
        return _Fetched(records, None, False, False, texts)
    # Ids listed after the changes: a record fetched above but missing here was deleted
    # in between. One small field per record keeps the pages light.
    mapping = _mapping(settings, key)
    first_field = mapping.airtable_name(mapping.table.fields[0].key)
    listed, _ = _list(table, key, restarts, progress, fields=[first_field])
    live = {r["id"] for r in listed}
    if live - stored_ids - {r["id"] for r in records}:
        # Records Airtable has that the snapshot lacks and the query missed (a record
        # restored from the trash keeps its old modification time): list them all.
        records, texts = _list(table, key, restarts, progress, shape)
        return _Fetched(records, {r["id"] for r in records}, True, True, texts)
    return _Fetched(records, live, False, True, texts)


def _mapping(settings: Settings, key: str) -> schema.FieldMapping:
    return schema.field_mapping(schema.TABLES[key], settings[f"airtable.{key}_fields"])


# ---------------------------------------------------------------------- committing


def _apply(store: SnapshotStore, conn: Any, key: str, fetched: _Fetched) -> TableStats:
    """Inside the transaction: write one table's changes; returns its statistics. A
    record is changed when its text differs from the stored one and, decoded, so does
    its content (texts equal: contents equal; only the few that differ are decoded)."""
    early = fetched.written  # stored during the listing, in this transaction: ours
    whole = fetched.full and not early
    ids = None if whole else [r["id"] for r in fetched.records if r["id"] not in early]
    stored = {**store.texts_by_id(conn, key, ids), **early}
    deleted: set[str] = set()
    if fetched.live_ids is not None:
        known = (set(stored) if whole else store.table_ids(conn, key)) | {
            r["id"] for r in fetched.records
        }
        deleted = known - fetched.live_ids
    changed: list[tuple[str, str, str]] = []
    written = dict(early)  # each counted changed once, not written again
    n_written = 0
    for rec in fetched.records:
        rid = rec["id"]
        if rid in deleted:
            continue
        new = fetched.texts.get(rid) or SnapshotStore.encode(rec)
        if written.pop(rid, None) == new:
            n_written += 1
            continue
        old = stored.get(rid)
        if old == new or (old is not None and json.loads(old) == rec):
            continue
        changed.append((rid, rec.get("createdTime", ""), new))
    store.upsert_encoded(conn, key, changed)
    removed = store.delete_ids(conn, key, sorted(deleted)) if deleted else 0
    return TableStats(
        fetched=len(fetched.records),
        changed=n_written + len(changed),
        deleted=removed,
        full=fetched.full,
        reconciled=fetched.reconciled,
    )


def _frames_of_listed(
    fetched: Mapping[str, _Fetched], recipe: prepared.Recipe, prebuild: prepared.Prebuild | None
) -> prepared.Current:
    """The ready frames of full listings of every table, which the store holds once
    written (one record per id, the last listed, as the writes leave it): those made
    (and encoded) while listing when they are these records, else built from them."""

    def frames() -> tuple[prepared.Frames, dict[str, bytes] | None]:
        if prebuild is not None:
            made = prebuild.ready(r["id"] for r in fetched["passages"].records)
            if made is not None:
                return made
        listed = {k: list({r["id"]: r for r in f.records}.values()) for k, f in fetched.items()}
        return prepared.build(listed["sites"], listed["passages"], recipe), None

    return frames


def _prebuild(
    settings: Settings, plan: _Plan, stored: Mapping[str, set[str]], sites: _Fetched
) -> prepared.Prebuild | None:
    """For a first full sync (nothing stored: the frames are built whole in its commit),
    once the Sites are listed: what normalises the passages while they are listed."""
    if not plan.full or any(stored.values()) or not sites.full:
        return None
    if len({r["id"] for r in sites.records}) != len(sites.records):
        return None  # a Site listed twice: the commit builds from the records
    return prepared.Prebuild(sites.records, dataset.recipe(settings))


def _first_listing(prebuild: prepared.Prebuild | None) -> AbstractContextManager[None]:
    """Around the passages' listing and the commit: the garbage collector paused for a
    first sync (``prebuild``). The listed records pile up, tens of thousands of dicts
    and lists in no cycle, and each full collection walks them all: one paused the
    listing 0.2 s at 10,000 records, delaying every later request (the rate limit's
    windows move with it). They must be gone when it resumes: the first collection
    would walk every object made meanwhile. The store is empty until the commit, so
    the app's pages make little garbage meanwhile."""
    return prepared.paused_gc() if prebuild is not None else nullcontext()


def _log_entry(
    started: dt.datetime, mode: str, calls: int, error: str | None = None, **counts: int
) -> dict[str, Any]:
    return {
        "started_at": started.isoformat(),
        "finished_at": _utc_now().isoformat(),
        "mode": mode,
        "ok": error is None,
        "api_calls": calls,
        "error": error,
        **counts,
    }


def _commit(
    settings: Settings,
    store: SnapshotStore,
    fetched: Mapping[str, _Fetched],
    entry: dict[str, Any],
    month: str,
    retention: privacy.CommentRetention,
    prebuild: prepared.Prebuild | None = None,
    early: _Early | None = None,
) -> dict[str, TableStats]:
    """Write both tables, the sync metadata and the bookkeeping in one transaction (that
    of ``early``, when the listing wrote in it); the version is bumped only when a
    record changed (or after a full listing). The records come shaped and encoded from
    the listing (``_list``): what is left here is comparing texts and writing the
    changed ones."""
    started = entry["started_at"]
    writing: AbstractContextManager[Any] = (
        nullcontext(early.conn) if early is not None else store.transaction(bump_version=False)
    )
    with writing as conn:
        with prepared.paused_gc():
            stats = {key: _apply(store, conn, key, fetched[key]) for key in TABLE_KEYS}
        # The stored comments that aged past retention go with the daily reconciliation
        # (scanning every record costs 0.3-0.8 s at 100k passages: not every refresh).
        # After a full listing of the passages there are none: every stored passage is
        # one just listed, stripped as it arrived (an equal text was kept, others written).
        reconciled = all(s.reconciled for s in stats.values())
        scan = reconciled and not fetched["passages"].full
        purged = retention.purge(store, conn) if scan else 0
        if entry["mode"] == "full" or purged or any(s.changed or s.deleted for s in stats.values()):
            store.bump_version(conn)  # else keep every cache built on the snapshot
        # ready frames, same version; after full listings of every table the store holds
        # exactly the records listed: a rebuild takes them rather than reading them back
        recipe = dataset.recipe(settings)
        current = None
        if all(f.full for f in fetched.values()):
            current = _frames_of_listed(fetched, recipe, prebuild)
        prepared.after_write(store, conn, recipe, current)
        meta: dict[str, Any] = {
            "source": "airtable",
            "sync_source": _source(settings),
            "last_sync_at": started,
            "synced_at": started,
        }
        if reconciled:
            meta["last_reconciled_at"] = started
        store.set_meta(conn, meta)
        store.add_api_calls(conn, month, int(entry["api_calls"]))
        for name in ("fetched", "changed", "deleted"):
            entry[name] = sum(getattr(s, name) for s in stats.values())
        store.log_sync(conn, {**entry, "finished_at": _utc_now().isoformat()})
    return stats


def sync(
    settings: Settings,
    *,
    full: bool = False,
    force: bool = False,
    store: SnapshotStore | None = None,
    client: AirtableClient | None = None,
    clock: Clock | None = None,
    progress: Progress | None = None,
) -> SyncResult:
    """Bring the snapshot up to date with Airtable, in one transaction.

    Raises ``SyncRefused`` (demo mode, budget spent without ``force``),
    ``AirtableConfigError`` (no token, no base id) or another ``AirtableError`` (Airtable
    unreachable or refusing); the snapshot is then left exactly as it was.
    """
    if settings.demo:
        raise SyncRefused(t("sync.error.demo"))
    store = store if store is not None else SnapshotStore(settings.store_location)
    clock = clock or _utc_now
    started = _aware(clock())
    month = month_key(started, settings["general.timezone"])
    budget = budget_status(settings, store, started)
    if budget.exhausted and not force:
        raise BudgetExhausted(
            t("sync.error.budget", used=format_int(budget.used), budget=format_int(budget.budget))
        )
    client = client if client is not None else client_from_settings(settings)
    calls_before = client.calls
    timer = time.monotonic()
    plan = _plan(settings, store, started, full)
    mode = "full" if plan.full else "incremental"
    prebuild: prepared.Prebuild | None = None
    try:
        tables = configured_tables(settings, client)
        stored = {key: store.ids(key) for key in TABLE_KEYS}
        # Retention, docs/architecture.md §5: comments past [privacy] comment_retention_days
        # never enter the snapshot (stripped from each page as it arrives), and those
        # that have aged past it leave it (``purge``, in the commit).
        retention = privacy.CommentRetention.from_settings(settings, started)
        fetched = {
            "sites": _fetch(settings, "sites", tables["sites"], plan, stored["sites"], progress)
        }
        prebuild = _prebuild(settings, plan, stored, fetched["sites"])
        with _first_listing(prebuild), _early_writes(store, prebuild) as early:
            fetched["passages"] = _fetch(
                settings,
                "passages",
                tables["passages"],
                plan,
                stored["passages"],
                progress,
                retention.strip,
                prebuild,
                early,
            )
            if prebuild is not None:  # its thread makes the frames while the commit writes records
                prebuild.finish(r["id"] for r in fetched["passages"].records)
            calls = client.calls - calls_before
            any_full = plan.full or any(f.full for f in fetched.values())
            mode = "full" if any_full else mode
            entry = _log_entry(started, mode, calls)
            stats = _commit(settings, store, fetched, entry, month, retention, prebuild, early)
            fetched.clear()  # the records go while the collector is paused (see there)
    except BaseException as exc:
        _record_failure(store, started, mode, month, client.calls - calls_before, exc)
        raise
    finally:
        if prebuild is not None:
            prebuild.close()
    return SyncResult(
        full=any_full,
        tables=stats,
        api_calls=calls,
        duration_seconds=time.monotonic() - timer,
        started_at=started,
        version=store.version,
    )


def _record_failure(
    store: SnapshotStore,
    started: dt.datetime,
    mode: str,
    month: str,
    calls: int,
    error: BaseException,
) -> None:
    """Count the calls of a failed sync and log it, without touching the snapshot."""
    message = str(error) if isinstance(error, AirtableError) else repr(error)
    try:
        with store.transaction(bump_version=False) as conn:
            store.add_api_calls(conn, month, calls)
            store.log_sync(conn, _log_entry(started, mode, calls, message))
    except Exception:  # never hide the sync's own error behind a bookkeeping one
        log.exception("could not record the failed sync")


def after_changes(settings: Settings, store: SnapshotStore, result: SyncResult) -> None:
    """After a sync that changed the snapshot: the e-mail alerts (``digest.after_sync``).
    Never raises: the sync is committed, and a mail problem must not look like its
    failure."""
    if not (result.changed or result.deleted):
        return
    try:
        from carto import digest  # here: the digest builds on this module

        digest.after_sync(settings, store)
    except Exception:
        log.exception("e-mail alerts after the sync failed")


def count_api_calls(
    settings: Settings, store: SnapshotStore, calls: int, now: dt.datetime | None = None
) -> None:
    """Add calls made outside a sync (init-base, schema check) to this month's count."""
    month = month_key(now or _utc_now(), settings["general.timezone"])
    with store.transaction(bump_version=False) as conn:
        store.add_api_calls(conn, month, calls)


def last_synced_at(store: SnapshotStore) -> dt.datetime | None:
    """When the snapshot was last brought up to date with Airtable (a successful sync,
    changes or not); unlike the version, it moves at every successful refresh."""
    return _parse_time(store.meta("synced_at"))


def count_quarantined(settings: Settings, store: SnapshotStore) -> int:
    """How many records of the snapshot normalisation sets aside (for the sync report):
    the quarantine of the ready frames the sync stored, not a normalisation of every
    record again."""
    return len(prepared.load(store, dataset.recipe(settings)).quarantine)


# ---------------------------------------------------------------- refresh for the app


@dataclass(frozen=True)
class RefreshOutcome:
    """What an automatic refresh did: a sync result, or why there was none (French)."""

    result: SyncResult | None
    error: str | None
    synced_at: dt.datetime | None  # age of the data now served

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class RefreshGuard:
    """At most one automatic sync per interval for the whole process (all sessions)."""

    _lock: threading.Lock = field(default_factory=threading.Lock)
    _last_attempt: dt.datetime | None = None
    last_outcome: RefreshOutcome | None = None  # of the latest refresh that ran

    def _due(self, settings: Settings, store: SnapshotStore, now: dt.datetime) -> bool:
        interval = budget_status(settings, store, now).refresh_interval_seconds
        if interval is None:  # budget spent: only report it, once per normal interval
            interval = SyncOptions.from_settings(settings).refresh_interval_seconds
        previous = [x for x in (self._last_attempt, last_synced_at(store)) if x is not None]
        return not previous or now - max(previous) >= dt.timedelta(seconds=interval)

    def refresh_if_due(
        self,
        settings: Settings,
        now: dt.datetime | None = None,
        *,
        store: SnapshotStore | None = None,
        client: AirtableClient | None = None,
    ) -> RefreshOutcome | None:
        """Sync if the interval has passed since the last attempt of this process and
        the last successful sync; None when not due or when another thread is syncing.
        Never raises for Airtable trouble: the outcome carries the French message.
        None as well when ``[sync] app_refresh`` is off (a worker refreshes)."""
        if settings.demo or not settings["sync.app_refresh"]:
            return None
        now = _aware(now or _utc_now())
        store = store if store is not None else SnapshotStore(settings.store_location)
        if not self._lock.acquire(blocking=False):
            return None  # another session is syncing right now
        try:
            if not self._due(settings, store, now):
                return None
            outcome = self._run(settings, store, client, now)
            self.last_outcome = outcome
            return outcome
        finally:
            self._lock.release()

    def _run(
        self,
        settings: Settings,
        store: SnapshotStore,
        client: AirtableClient | None,
        now: dt.datetime,
    ) -> RefreshOutcome:
        self._last_attempt = now
        budget = budget_status(settings, store, now)
        if budget.exhausted:
            used, total = format_int(budget.used), format_int(budget.budget)
            error = t("sync.error.budget_auto", used=used, budget=total)
            return RefreshOutcome(None, error, last_synced_at(store))
        try:
            result = sync(settings, store=store, client=client, clock=lambda: now)
        except AirtableError as exc:
            return RefreshOutcome(None, str(exc), last_synced_at(store))
        except Exception:  # a bug must not take the dashboard down with it
            log.exception("automatic refresh failed")
            return RefreshOutcome(None, t("sync.error.unexpected"), last_synced_at(store))
        after_changes(settings, store, result)
        return RefreshOutcome(result, None, last_synced_at(store))

    def refresh_in_background(
        self, settings: Settings, now: dt.datetime | None = None
    ) -> threading.Thread | None:
        """When a refresh is due, run it in a daemon thread so that no page waits on
        Airtable (retries can take minutes); its outcome lands in ``last_outcome``.
        Returns the thread started, or None (also when ``[sync] app_refresh`` is off)."""
        if settings.demo or not settings["sync.app_refresh"]:
            return None
        if not self._lock.acquire(blocking=False):
            return None
        try:
            when = _aware(now or _utc_now())
            store = SnapshotStore(settings.store_location)
            if not self._due(settings, store, when):
                self._lock.release()
                return None
            thread = threading.Thread(
                target=self._background, args=(settings, store, when), daemon=True
            )
            thread.start()  # the thread releases the lock when done
        except BaseException:
            self._lock.release()
            raise
        return thread

    def _background(self, settings: Settings, store: SnapshotStore, now: dt.datetime) -> None:
        try:
            self.last_outcome = self._run(settings, store, None, now)
        finally:
            self._lock.release()


_GUARD = RefreshGuard()


def refresh_if_due(settings: Settings, now: dt.datetime | None = None) -> RefreshOutcome | None:
    """The process-wide automatic refresh, run in the caller's thread."""
    return _GUARD.refresh_if_due(settings, now)


def refresh_in_background(
    settings: Settings, now: dt.datetime | None = None
) -> threading.Thread | None:
    """The process-wide automatic refresh, in a daemon thread when due."""
    return _GUARD.refresh_in_background(settings, now)


def last_refresh() -> RefreshOutcome | None:
    """The outcome of the latest automatic refresh of this process (None before any)."""
    return _GUARD.last_outcome
