"""The sync worker: ``python -m carto sync --watch [--every SECONDS]`` (issue 16).

One long-running process keeps the snapshot up to date for every app process that
reads the same store; the apps then only read (``[sync] app_refresh = false``). Each
cycle is one ``carto.sync.sync``:

- incremental, and reconciled (every record id listed, deletions removed) once per
  ``[sync] reconcile_interval_hours`` (a day by default), exactly as the app's own
  refresh does (``carto/sync.py``); full the first time or after a change of base;
- paced by the monthly call budget: every ``--every`` seconds (default
  ``[sync] refresh_interval_seconds``), twice as long past 80 % of the budget, four
  times past 95 %, and no call at all once it is spent (the cycle only says so);
- one line on stdout per cycle, in the command line's language (the catalogue), with
  the time; Airtable trouble is a line too, and the worker carries on.

SIGTERM or SIGINT ends it with status 0. Between cycles it stops at once. During a sync
the signal abandons the sync where it is (``Stopped``): everything a sync fetches is
written in one store transaction, so the snapshot is left at its old version (or at the
new one, when the signal came after the commit), never half-written.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import TextIO
from zoneinfo import ZoneInfo

from carto import dataset
from carto import sync as syncing
from carto.airtable_client import AirtableError
from carto.i18n import format_decimal, format_int, t, t_n
from carto.settings import Settings
from carto.store import SnapshotStore

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
# Waits up to the given seconds; True when the worker must stop.
Wait = Callable[[float], bool]


class Stopped(BaseException):
    """Raised in the sync by the signal handler: the sync is abandoned (its store
    transaction, if one is open, rolled back)."""


class Worker:
    """The loop of ``sync --watch``; ``run`` returns the exit status."""

    def __init__(
        self,
        settings: Settings,
        out: TextIO,
        *,
        every: float | None = None,
        clock: Clock | None = None,
        wait: Wait | None = None,
    ) -> None:
        self.settings = settings
        self.out = out
        self.every = float(
            every if every is not None else settings["sync.refresh_interval_seconds"]
        )
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.stop = threading.Event()
        self._wait = wait or self.stop.wait
        self._syncing = False

    # ------------------------------------------------------------------ signals

    def install_signal_handlers(self) -> None:
        """SIGTERM and SIGINT stop the worker (main thread only)."""
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stop.set()
        if self._syncing:
            self._syncing = False  # a second signal must not interrupt the clean-up
            raise Stopped(signum)

    # --------------------------------------------------------------------- loop

    def run(self) -> int:
        store = dataset.open_store(self.settings)
        self._print(t("cli.watch.started", every=_seconds(self.every)))
        while not self.stop.is_set():
            try:
                interval = self.cycle(store)
            except Stopped:
                self._print(t("cli.watch.interrupted", version=store.version))
                break
            if self._wait(interval):
                break
        self._print(t("cli.watch.stopped"))
        return 0

    def cycle(self, store: SnapshotStore) -> float:
        """One refresh (or the reason for none) and its line; returns the seconds to
        wait before the next."""
        now = self.clock()
        budget = syncing.budget_status(self.settings, store, now)
        if budget.exhausted:  # look again next cycle (a new month resets it)
            used, total = format_int(budget.used), format_int(budget.budget)
            self._print(t("cli.watch.budget", used=used, budget=total))
            return self.every
        self._syncing = True
        try:
            result = syncing.sync(self.settings, store=store, clock=lambda: now)
        except AirtableError as exc:
            self._print(t("cli.watch.failed", error=str(exc).replace("\n", " ")))
            return self._interval(store, now)
        except Exception as exc:  # a bug must not end the worker: said, logged, retried
            log.exception("sync cycle failed")
            self._print(t("cli.watch.failed", error=repr(exc)))
            return self._interval(store, now)
        finally:
            self._syncing = False
        interval = self._interval(store, now)
        self._print(self._done_line(result, store, interval))
        return interval

    def _interval(self, store: SnapshotStore, now: dt.datetime) -> float:
        """``every``, lengthened as the month's budget runs out (carto.sync)."""
        fraction = syncing.budget_status(self.settings, store, now).fraction
        interval = syncing.recommended_interval(self.every, fraction)
        return self.every if interval is None else interval

    def _done_line(self, result: syncing.SyncResult, store: SnapshotStore, interval: float) -> str:
        budget = syncing.budget_status(self.settings, store, result.started_at)
        used = format_int(budget.used)
        calls = (
            t("cli.watch.calls", used=used, budget=format_int(budget.budget))
            if budget.budget > 0
            else t("cli.watch.calls_unlimited", used=used)
        )
        values = dict(
            fetched=t_n("cli.count.records_received", result.fetched),
            changed=t_n("cli.count.changed", result.changed),
            deleted=t_n("cli.count.deleted", result.deleted),
            reconciled=t("cli.watch.reconciled") if result.reconciled and not result.full else "",
            api_calls=format_int(result.api_calls),
            seconds=format_decimal(result.duration_seconds),
            version=result.version,
            calls=calls,
            next=_seconds(interval),
        )
        if result.full:
            return t("cli.watch.done.full", **values)
        return t("cli.watch.done.incremental", **values)

    def _print(self, line: str) -> None:
        tz = ZoneInfo(self.settings["general.timezone"])
        stamp = dt.datetime.now(tz).strftime("%d/%m/%Y %H:%M:%S")
        print(f"{stamp} {line}", file=self.out, flush=True)


def _seconds(value: float) -> str:
    """60 → "60", 0.5 → "0,5"."""
    return format_decimal(value, 0 if float(value).is_integer() else 1)
