"""A demo-like base behind the fake Airtable; the naive page load and our sync against it.

The naive approach is what a typical Airtable dashboard does on every page load:
``pyairtable`` ``table.all()`` for both tables into a DataFrame, one request after the
other. It is measured twice: with pyairtable's default client (no throttle: it meets
Airtable's rate limit), and with the same throttle as ours, to show what re-reading the
whole base on every page load costs once it does work.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyairtable
import pydeck as pdk

from benchmarks.fake_server import (
    GcPauses,
    RemoteFake,
    ServerLog,
    ShiftedClock,
    gc_summary,
    rate_limit_evidence,
    send_delays,
)
from benchmarks.report import derived_listing, payload_bytes
from carto import demo
from carto.airtable_client import RateLimiter, client_from_settings
from carto.analytics import camps
from carto.dataset import build_dataset, normalise_options
from carto.map_view import PARIS_VIEW, camp_deck, camp_points
from carto.normalise import normalise
from carto.settings import TOKEN_ENV, Settings, load_settings
from carto.store import SnapshotStore
from carto.sync import sync
from testing.app import write_accounts

TOKEN = "patBENCHMARK"
BASE_ID = "appBENCHMARK00001"
TABLES = ("Sites", "Passages")
SEED = 56
ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Size:
    """A base size and the demo parameters that give it (365 days, ``camps`` camps)."""

    label: str
    camps: int
    days: int = 365


# Found by trying: 37 camps over 365 days give about 10,000 passages, 350 about 100,000
# (the exact count moves a little with the day the demo ends on).
SIZES = {"10k": Size("10k", 37), "100k": Size("100k", 350)}


@dataclass
class Bench:
    """One size's base, the fake serving it, the shared clock and the settings."""

    size: Size
    base: demo.DemoBase
    server: RemoteFake
    clock: ShiftedClock
    settings: Settings
    folder: Path

    @property
    def counts(self) -> dict[str, int]:
        return {"sites": len(self.base.sites), "passages": len(self.base.passages)}

    @property
    def rate(self) -> float:
        return float(self.settings["airtable.requests_per_second"])


def demo_today() -> dt.date:
    """Yesterday in Paris: every generated record is then in the past, as in a real base."""
    return demo.paris_today() - dt.timedelta(days=1)


def write_config(
    folder: Path,
    endpoint_url: str,
    *,
    rate_limit: float,
    penalty: float,
    refresh_interval: int,
    role: str | tuple[str, ...],
    store_url: str | None = None,
) -> Settings:
    """A live configuration for the fake base, with one account per role of ``role``
    (named after it, password ``TEST_PASSWORD``) for the pages; the cookie key comes
    from the environment. The store is a SQLite file in ``folder``, or the PostgreSQL
    database ``store_url``."""
    accounts = folder / "accounts.yaml"
    write_accounts(accounts, (role,) if isinstance(role, str) else role)
    config = folder / "config.toml"
    config.write_text(
        "[airtable]\n"
        f'base_id = "{BASE_ID}"\n'
        f'endpoint_url = "{endpoint_url}"\n'
        f"requests_per_second = {float(rate_limit)}\n"
        f"penalty_seconds = {float(penalty)}\n"
        "[store]\n"
        f'path = "{folder / "snapshot.sqlite"}"\n'
        + (f'url = "{store_url}"\n' if store_url else "")
        + "[sync]\n"
        f"refresh_interval_seconds = {int(refresh_interval)}\n"
        "[auth]\n"
        f'accounts_path = "{accounts}"\n',
        encoding="utf-8",
    )
    return load_settings(config)


def start(
    size: Size,
    folder: Path,
    *,
    latency: float,
    rate_limit: float,
    penalty: float,
    refresh_interval: int,
    role: str,
    store_url: str | None = None,
) -> Bench:
    """Generate the base, serve it from the fake Airtable, write a live config for it."""
    base = demo.generate(seed=SEED, days=size.days, today=demo_today(), n_camps=size.camps)
    latest = max(r["createdTime"] for r in base.passages + base.sites)
    now = dt.datetime.now(dt.UTC)
    first = max(now, dt.datetime.fromisoformat(latest) + dt.timedelta(seconds=1))
    clock = ShiftedClock(first - now)
    server = RemoteFake(
        token=TOKEN,
        base_id=BASE_ID,
        sites=base.sites,
        passages=base.passages,
        latency=latency,
        rate_limit=rate_limit,
        penalty=penalty,
        clock=clock,
    )
    settings = write_config(
        folder,
        server.url,
        rate_limit=rate_limit,
        penalty=penalty,
        refresh_interval=refresh_interval,
        role=role,
        store_url=store_url,
    )
    return Bench(size, base, server, clock, settings, folder)


def _quiet(bench: Bench) -> None:
    """Between measurements: let a rate-limit window pass, lift any penalty, forget the
    request history and log: one measurement never bills the next."""
    time.sleep(1.2)
    bench.server.reset()


@contextmanager
def recorded_slots() -> Iterator[list[float]]:
    """Instrumentation: when each ``RateLimiter.acquire`` (ours, and the throttled naive
    load's) let its request go, in ``time.monotonic()``."""
    slots: list[float] = []
    original = RateLimiter.acquire

    def acquire(self: RateLimiter) -> str:
        ticket = original(self)
        slots.append(time.monotonic())
        return ticket

    RateLimiter.acquire = acquire  # type: ignore[method-assign]
    try:
        yield slots
    finally:
        RateLimiter.acquire = original  # type: ignore[method-assign]


def _traffic(
    log: ServerLog, client_gc: GcPauses, rate: float, slots: list[float]
) -> dict[str, Any]:
    delays = send_delays(log, slots)
    return {
        "server_requests": log.calls,
        "calls_ok": log.count(200),
        "status_429": log.count(429),
        "server_cpu_seconds": log.cpu_seconds,
        "client_gc_pauses": gc_summary(client_gc.pauses, client_gc.threshold),
        "server_gc_pauses": gc_summary(log.gc_pauses, client_gc.threshold),
        # From the limiter's slot to the fake receiving the request: normally a few ms.
        "slot_to_arrival_seconds": {
            "max": max(delays, default=None),
            "median": statistics.median(delays) if delays else None,
            "over_0.1": sum(1 for d in delays if d > 0.1),
        },
        "rate_limit_evidence": rate_limit_evidence(log, client_gc.pauses, int(rate), slots),
    }


# --------------------------------------------------------------------------- naive


def naive_page_load(bench: Bench, *, throttled: bool) -> dict[str, Any]:
    """``table.all()`` for both tables into DataFrames, as a naive page load does."""
    _quiet(bench)
    api = pyairtable.Api(TOKEN, endpoint_url=bench.server.url)  # pyairtable's default retries
    if throttled:
        limiter = RateLimiter(bench.rate)
        send: Callable[..., Any] = api.session.request

        def paced(*args: Any, **kwargs: Any) -> Any:
            ticket = limiter.acquire()
            answered = False
            try:
                response = send(*args, **kwargs)
                answered = True
                return response
            finally:
                limiter.release(ticket, answered=answered)

        api.session.request = paced  # type: ignore[method-assign]
    frames: dict[str, pd.DataFrame] = {}
    error = None
    started = time.perf_counter()
    with GcPauses() as pauses, recorded_slots() as slots:
        try:
            for name in TABLES:
                records = api.table(BASE_ID, name).all()
                frames[name] = pd.DataFrame([r["fields"] for r in records])
        except Exception as exc:  # the measurement is the failure
            error = f"{type(exc).__name__}: {str(exc)[:300]}"
    seconds = time.perf_counter() - started
    log = bench.server.log()
    bench.server.lift_penalty()  # Airtable would keep the base blocked for the penalty
    return {
        "measured": True,
        "throttled": throttled,
        "ok": error is None,
        "error": error,
        "seconds": seconds,
        "calls": log.calls,
        "records": sum(len(f) for f in frames.values()),
        **_traffic(log, pauses, bench.rate, slots),
    }


def naive_derived(bench: Bench) -> dict[str, Any]:
    """The throttled naive page load, not run: calls × 0.2 s."""
    return derived_listing([bench.counts["sites"], bench.counts["passages"]], rate=bench.rate)


# ---------------------------------------------------------------------------- ours


def our_sync(bench: Bench, *, full: bool) -> dict[str, Any]:
    """One run of our sync (a new client, as the app makes), with what the server saw."""
    _quiet(bench)
    pages: list[float] = []
    lock = threading.Lock()

    def progress(table: str, n_pages: int, n_records: int) -> None:
        with lock:
            pages.append(time.perf_counter())

    client = client_from_settings(bench.settings)
    started = time.perf_counter()
    with GcPauses() as pauses, recorded_slots() as slots:
        result = sync(
            bench.settings, full=full, client=client, clock=bench.clock, progress=progress
        )
    wall = time.perf_counter() - started
    log = bench.server.log()
    fetch = (pages[-1] - started) if pages else None
    return {
        "mode": result.mode,
        "seconds": result.duration_seconds,
        "wall_seconds": wall,
        "fetch_seconds": fetch,
        "commit_seconds": (wall - fetch) if fetch is not None else None,
        "api_calls": result.api_calls,
        "fetched": result.fetched,
        "changed": result.changed,
        "deleted": result.deleted,
        "records_per_second": result.fetched / result.duration_seconds,
        "fetch_records_per_second": result.fetched / fetch if fetch else None,
        "version": result.version,
        **_traffic(log, pauses, bench.rate, slots),
    }


def with_worker(bench: Bench, *, every: float = 1.0) -> dict[str, Any]:
    """Our full sync (as the app's process would run it) while a ``sync --watch`` worker
    refreshes the same store every ``every`` seconds from another process: one base,
    one limit shared through the store's folder. What the fake saw covers both."""
    command = [sys.executable, "-m", "carto", "--config", str(bench.settings.source)]
    command += ["sync", "--watch", "--every", str(every)]
    worker = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, TOKEN_ENV: TOKEN},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    assert worker.stdout is not None
    stdout = worker.stdout
    reader = threading.Thread(target=lambda: lines.extend(stdout), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        while len(lines) < 2 and worker.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)  # the worker's first refresh is done
        if len(lines) < 2:
            raise RuntimeError(f"the worker did not start: {lines} {worker.stderr}")
        before = len(lines)
        ours = our_sync(bench, full=True)
        cycles = len(lines) - before
        worker.send_signal(signal.SIGTERM)
        status = worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    reader.join(timeout=5)
    rate = ours["server_requests"] / ours["wall_seconds"]
    return {
        **ours,
        "worker_every_seconds": every,
        "worker_cycles": cycles,
        "worker_exit_status": status,
        "worker_last_lines": lines[-3:],
        "combined_requests_per_second": rate,
        "combined_share_of_limit": rate / bench.rate,
    }


def edit_records(bench: Bench, n: int = 10) -> list[str]:
    """Change ``n`` passages, 5 minutes after the last sync; sync 2 minutes later."""
    bench.server.advance(minutes=5)
    edited = bench.server.edit(n)
    bench.server.advance(minutes=2)
    return edited


# ------------------------------------------------------------- normalisation, map


def normalisation(bench: Bench) -> dict[str, Any]:
    """Store read, normalisation and the whole ``build_dataset`` on the synced store."""
    store = SnapshotStore(bench.settings.store_location)
    options = normalise_options(bench.settings)
    started = time.perf_counter()
    sites, passages = store.records("sites"), store.records("passages")
    read = time.perf_counter() - started
    started = time.perf_counter()
    data = normalise(sites, passages, options)
    norm = time.perf_counter() - started
    n = len(sites) + len(passages)
    started = time.perf_counter()
    build_dataset(bench.settings, store)
    build = time.perf_counter() - started
    return {
        "records": n,
        "passages_used": len(data.passages),
        "quarantined": len(data.quarantine),
        "read_seconds": read,
        "normalise_seconds": norm,
        "store_records_per_second": n / (read + norm),
        "normalise_records_per_second": n / norm,
        "build_seconds": build,
    }


def naive_deck(fields: pd.DataFrame) -> pdk.Deck:
    """What a naive map sends: every passage as a point, with every field it has."""
    layer = pdk.Layer(
        "ScatterplotLayer",
        data=fields,
        get_position="[Longitude, Latitude]",
        get_radius=60,
        pickable=True,
    )
    return pdk.Deck(
        layers=[layer],
        initial_view_state=PARIS_VIEW,
        map_provider="carto",
        map_style=None,
        tooltip={"html": "<b>{Localisation}</b><br/>{Personnes} personnes"},
    )


def map_payload(bench: Bench) -> dict[str, Any]:
    """Bytes of the map JSON: ours (one point per active camp) and the naive one."""
    settings = bench.settings
    ds = build_dataset(settings, SnapshotStore(settings.store_location))
    as_of = pd.Timestamp(ds.today).tz_localize(settings["general.timezone"])
    states = camps.camp_states(
        ds.passages, ds.sites, as_of, int(settings["analysis.camp_gap_days"])
    )
    points = camp_points(states, int(settings["analysis.coverage_gap_days"]))
    ours = payload_bytes(camp_deck(points))
    fields = pd.DataFrame([r["fields"] for r in bench.base.passages])
    located = fields.dropna(subset=["Latitude", "Longitude"])
    naive = payload_bytes(naive_deck(located))
    return {
        "passages": len(ds.passages),
        "points": len(points),
        "bytes": ours,
        "naive_points": len(located),
        "naive_bytes": naive,
    }
