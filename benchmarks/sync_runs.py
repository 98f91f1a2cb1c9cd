"""The sync cases of ``make bench`` alone, repeated: ``python -m benchmarks.sync_runs``.

The machine is shared (2 cores, other test suites running), so one run says little:
this runs, at one size, against the same fake Airtable as ``make bench`` (150 ms a
request, 5 requests/s per base, 30 s penalty),

- ``first``: a full sync into an empty store (the ready frames built for the first time),
  ``--runs`` times, the store emptied before each; the rate limit's record (its
  round trips learnt) is kept from one run to the next on both backends, as a store's
  folder keeps its rate file, unless ``--new-limit`` (then every run starts as the
  first of a session does, each request's window counted from its answer until
  ``ROUND_TRIP_SAMPLES`` answers were seen);
- ``repeat``: a full sync into the synced store (nothing changed), ``--runs`` times;
- ``with_worker``: a full sync while a ``sync --watch --every 1`` worker refreshes the
  same store from another process (the app and the worker together), ``--worker-runs``
  times;

each on a SQLite store, or with ``--postgres`` on a PostgreSQL database of a temporary
server (testing/postgres.py), where the limit is held in the store rather than a file.
Writes ``benchmarks/results/<date>[tag]_sync_<size>[_postgresql].json``: every run, and the
minimum, median and maximum of the share of the ceiling (500 records/s) per case.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks import airtable_bench as ab
from benchmarks.report import machine_info, write_json
from carto import prepared
from carto.airtable_client import rate_file_name
from carto.settings import TOKEN_ENV
from carto.store import RateStore, SnapshotStore, backend_of, close_engines
from testing.postgres import TemporaryPostgres

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
CEILING_PER_REQUEST = 100  # records per page: the ceiling is rate × 100 records/s


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _empty_store(bench: ab.Bench, server: TemporaryPostgres | None, *, new_limit: bool) -> ab.Bench:
    """The same base and fake, a new empty store (and config pointing at it). The rate
    limit's record is kept (its round trips learnt), as a store's folder keeps its rate
    file on SQLite, or made new (``new_limit``: every request's window counted from its
    answer until ``ROUND_TRIP_SAMPLES`` answers were seen)."""
    close_engines()
    for path in bench.folder.glob("snapshot.sqlite*"):
        path.unlink()
    if server is None:
        if new_limit:
            for path in bench.folder.glob("airtable-*.rate"):
                path.unlink()
        return bench  # the same settings: the file is made anew
    url = server.database()
    previous = str(bench.settings.store_location)
    if not new_limit and backend_of(previous) == "postgresql":
        _carry_limit(previous, url)  # as the rate file stays in the folder
    (bench.folder / "accounts.yaml").unlink()  # written again with the config
    settings = ab.write_config(
        bench.folder,
        bench.server.url,
        rate_limit=bench.rate,
        penalty=float(bench.settings["airtable.penalty_seconds"]),
        refresh_interval=3600,
        role="admin",
        store_url=url,
    )
    return ab.Bench(bench.size, bench.base, bench.server, bench.clock, settings, bench.folder)


def _carry_limit(old_location: str, new_location: str) -> None:
    """The base's rate-limit record, copied from one PostgreSQL store to another."""
    name = rate_file_name(ab.BASE_ID)
    old, new = RateStore(old_location), RateStore(new_location)
    try:
        with old.hold(name) as held:
            state = held.state
        with new.hold(name) as held:
            held.state = state
    finally:
        old.close()
        new.close()


def _timed(total: dict[str, float], key: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            total[key] = total.get(key, 0.0) + time.perf_counter() - started

    return timed


@contextmanager
def commit_parts() -> Iterator[dict[str, float]]:
    """Instrumentation: seconds spent in the commit's two largest parts, the records'
    write (``SnapshotStore.upsert_encoded``) and bringing the ready frames to the new
    version (``prepared.after_write``: on a first sync, waiting for the thread that
    makes them, then writing them)."""
    total: dict[str, float] = {}
    write, frames = SnapshotStore.upsert_encoded, prepared.after_write
    SnapshotStore.upsert_encoded = _timed(total, "records_write_seconds", write)  # type: ignore[method-assign]
    prepared.after_write = _timed(total, "frames_seconds", frames)
    try:
        yield total
    finally:
        SnapshotStore.upsert_encoded = write  # type: ignore[method-assign]
        prepared.after_write = frames


def _sync(bench: ab.Bench) -> dict[str, Any]:
    """One full sync (``ab.our_sync``), with the time of the commit's parts."""
    with commit_parts() as parts:
        run = ab.our_sync(bench, full=True)
    return {**run, **parts}


def _summary(runs: list[dict[str, Any]], ceiling: float) -> dict[str, Any]:
    shares = [r["records_per_second"] / ceiling for r in runs]
    fetch = [r["fetch_records_per_second"] / ceiling for r in runs if r["fetch_records_per_second"]]
    commits = [r["commit_seconds"] for r in runs if r["commit_seconds"] is not None]
    parts = {
        key: statistics.median(r[key] for r in runs)
        for key in ("records_write_seconds", "frames_seconds")
        if all(key in r for r in runs)
    }
    return {
        "runs": len(runs),
        "share_of_ceiling": {
            "min": min(shares),
            "median": statistics.median(shares),
            "max": max(shares),
        },
        "fetch_share_of_ceiling": {
            "min": min(fetch),
            "median": statistics.median(fetch),
            "max": max(fetch),
        },
        "commit_seconds": {
            "min": min(commits),
            "median": statistics.median(commits),
            "max": max(commits),
        },
        "status_429": sum(r["status_429"] for r in runs),
        "commit_parts_median_seconds": parts,
    }


def _brief(run: dict[str, Any], ceiling: float) -> str:
    return (
        f"{run['records_per_second']:.0f} records/s ({run['records_per_second'] / ceiling:.1%}),"
        f" fetching {run['fetch_records_per_second'] / ceiling:.1%},"
        f" commit {run['commit_seconds']:.2f} s"
        f" (records {run.get('records_write_seconds', 0.0):.2f} s,"
        f" frames {run.get('frames_seconds', 0.0):.2f} s), {run['status_429']} x 429"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The sync benchmark cases, repeated.")
    parser.add_argument("--size", default="10k", choices=sorted(ab.SIZES))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--worker-runs", type=int, default=2)
    parser.add_argument("--postgres", action="store_true", help="a PostgreSQL store")
    parser.add_argument(
        "--new-limit",
        action="store_true",
        help="each first sync with a new rate-limit record (else kept from the run before)",
    )
    parser.add_argument("--latency", type=float, default=0.15)
    parser.add_argument("--rate-limit", type=float, default=5.0)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument(
        "--tag", default="", help="after the date in the file name (2026-12-07d_sync_…)"
    )
    args = parser.parse_args(argv)

    os.environ[TOKEN_ENV] = ab.TOKEN
    ceiling = args.rate_limit * CEILING_PER_REQUEST
    started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    load_before = os.getloadavg()
    postgres = TemporaryPostgres().start() if args.postgres else None
    cases: dict[str, list[dict[str, Any]]] = {"first": [], "repeat": [], "with_worker": []}
    try:
        with tempfile.TemporaryDirectory(prefix=f"carto-sync-{args.size}-") as tmp:
            bench = ab.start(
                ab.SIZES[args.size],
                Path(tmp),
                latency=args.latency,
                rate_limit=args.rate_limit,
                penalty=30.0,
                refresh_interval=3600,
                role="admin",
            )
            _log(f"{args.size}: {bench.counts} served")
            try:
                for i in range(args.runs):
                    bench = _empty_store(bench, postgres, new_limit=args.new_limit)
                    cases["first"].append(_sync(bench))
                    _log(f"first #{i + 1}: {_brief(cases['first'][-1], ceiling)}")
                for i in range(args.runs):
                    cases["repeat"].append(_sync(bench))
                    _log(f"repeat #{i + 1}: {_brief(cases['repeat'][-1], ceiling)}")
                for i in range(args.worker_runs):
                    cases["with_worker"].append(ab.with_worker(bench))
                    run = cases["with_worker"][-1]
                    _log(
                        f"with worker #{i + 1}: {_brief(run, ceiling)}, both together"
                        f" {run['combined_share_of_limit']:.1%} of the limit,"
                        f" worker exit {run['worker_exit_status']}"
                    )
                counts = bench.counts
            finally:
                bench.server.stop()
    finally:
        close_engines()
        if postgres is not None:
            postgres.stop()
    result = {
        "size": args.size,
        "store": "postgresql" if args.postgres else "sqlite",
        "rate_limit_record": "new for each first sync" if args.new_limit else "kept across runs",
        "base": {**counts, "records": sum(counts.values())},
        "params": {
            "latency_seconds": args.latency,
            "rate_limit_per_second": args.rate_limit,
            "ceiling_records_per_second": ceiling,
        },
        "summary": {k: _summary(v, ceiling) for k, v in cases.items() if v},
        "cases": cases,
        "started_at": started_at,
        "load_average_1min": {"before": load_before[0], "after": os.getloadavg()[0]},
        "machine": machine_info(),
    }
    label = f"sync_{args.size}" + ("_postgresql" if args.postgres else "")
    name = f"{dt.date.today().isoformat()}{args.tag}_{label}.json"
    write_json(args.results / name, result)
    _log(f"written {args.results / name}")
    for case, summary in result["summary"].items():
        share = summary["share_of_ceiling"]
        _log(
            f"{case}: {share['min']:.1%} / {share['median']:.1%} / {share['max']:.1%}"
            f" (min / median / max), {summary['status_429']} x 429"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
