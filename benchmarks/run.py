"""`make bench`: the naive approach against ours, at 10,000 and 100,000 passages.

For each size: generate a demo-like base, serve it from the fake Airtable (150 ms a
request, 5 requests/s per base, a 30 s penalty past it), then measure

1. sync: the naive page load (pyairtable ``table.all()`` for both tables into a
   DataFrame: with pyairtable's default client, and throttled like ours) against our
   full sync, a refresh with no change and a refresh after 10 records changed;
2. normalisation throughput on the synced snapshot;
3. every page under AppTest, cold and warm, and the peak memory (a subprocess per size,
   on the live snapshot the sync just wrote);
4. the map payload against the number of passages.

Prints the tables (markdown) and writes ``benchmarks/results/<date>_<size>.json`` plus
``benchmarks/results/latest.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import airtable_bench as ab
from benchmarks.report import (
    full_report,
    machine_info,
    results_filename,
    targets,
    write_json,
)
from carto.accounts import COOKIE_KEY_ENV
from carto.settings import CONFIG_ENV, TOKEN_ENV
from testing.app import TEST_COOKIE_KEY, TEST_PASSWORD

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
_T0 = time.perf_counter()


def log(message: str) -> None:
    print(f"[{time.perf_counter() - _T0:7.1f} s] {message}", file=sys.stderr, flush=True)


def run_pages(bench: ab.Bench, role: str, warm_runs: int) -> dict[str, Any]:
    out = bench.folder / "pages.json"
    env = {
        **os.environ,
        CONFIG_ENV: str(bench.settings.source),
        TOKEN_ENV: ab.TOKEN,
        COOKIE_KEY_ENV: TEST_COOKIE_KEY,
    }
    cmd = [sys.executable, "-m", "benchmarks.pages", "--out", str(out), "--role", role]
    cmd += ["--password", TEST_PASSWORD]
    cmd += ["--warm-runs", str(warm_runs)]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"page benchmark failed:\n{done.stdout}\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(out.read_text("utf-8"))
    result["mode"] = "live snapshot written by our sync"
    return result


def bench_size(size: ab.Size, args: argparse.Namespace, naive_measured: bool) -> dict[str, Any]:
    started = time.perf_counter()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix=f"carto-bench-{size.label}-") as tmp:
        log(f"{size.label}: generating the base ({size.camps} camps, {size.days} days)")
        bench = ab.start(
            size,
            Path(tmp),
            latency=args.latency,
            rate_limit=args.rate_limit,
            penalty=args.penalty,
            refresh_interval=args.refresh_interval,
            role=args.role,
        )
        counts = bench.counts
        log(f"{size.label}: {counts['passages']:,} passages, {counts['sites']:,} sites served")
        try:
            log(f"{size.label}: naive page load, pyairtable's default client")
            naive_default = ab.naive_page_load(bench, throttled=False)
            log(f"  → ok={naive_default['ok']} {naive_default['seconds']:.1f} s")
            naive_attempt = None
            if naive_measured:
                log(f"{size.label}: naive page load, throttled like ours")
                naive_attempt = ab.naive_page_load(bench, throttled=True)
                log(f"  → ok={naive_attempt['ok']} {naive_attempt['seconds']:.1f} s")
            # Ratios need a complete naive page load: the measured one, else derived.
            if naive_attempt is not None and naive_attempt["ok"]:
                naive_throttled = naive_attempt
            else:
                naive_throttled = ab.naive_derived(bench)
            log(f"{size.label}: our full sync")
            full = ab.our_sync(bench, full=True)
            log(f"  → {full['seconds']:.1f} s, {full['api_calls']} calls")
            log(f"{size.label}: our full sync while a sync --watch worker runs")
            worker = ab.with_worker(bench)
            log(f"  → {worker['seconds']:.1f} s, {worker['status_429']} × 429")
            bench.server.advance(minutes=2)
            no_change = ab.our_sync(bench, full=False)
            log(f"{size.label}: no-change refresh {no_change['seconds']:.2f} s")
            edited = ab.edit_records(bench, 10)
            ten = ab.our_sync(bench, full=False)
            log(f"{size.label}: refresh after 10 edits {ten['seconds']:.2f} s")
        finally:
            bench.server.stop()
        log(f"{size.label}: normalisation")
        norm = ab.normalisation(bench)
        log(f"{size.label}: map payload")
        payload = ab.map_payload(bench)
        log(f"{size.label}: pages under AppTest (subprocess)")
        pages = run_pages(bench, args.role, args.warm_runs)
    result: dict[str, Any] = {
        "size": size.label,
        "base": {**counts, "records": sum(counts.values())},
        "tables": 2,
        "params": {
            "seed": ab.SEED,
            "camps": size.camps,
            "days": size.days,
            "latency_seconds": args.latency,
            "rate_limit_per_second": args.rate_limit,
            "penalty_seconds": args.penalty,
            "refresh_interval_seconds": args.refresh_interval,
            "warm_runs": args.warm_runs,
        },
        "naive": {
            "default": naive_default,
            "throttled_attempt": naive_attempt,
            "throttled": naive_throttled,
        },
        "ours": {
            "full": full,
            "with_worker": worker,
            "no_change": no_change,
            "ten_changes": ten,
        },
        "edited_records": edited,
        "normalise": norm,
        "map": payload,
        "pages": pages,
        "seconds": time.perf_counter() - started,
        # Other work on the machine skews timings: the 1-minute load average around it.
        "load_average_1min": {"before": load_before[0], "after": os.getloadavg()[0]},
    }
    result["targets"] = targets(result)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark: sync cost and dashboard speed.")
    parser.add_argument("--sizes", default="10k,100k", help=f"among {', '.join(ab.SIZES)}")
    parser.add_argument("--latency", type=float, default=0.15, help="seconds per request")
    parser.add_argument("--rate-limit", type=float, default=5.0, help="requests/s per base")
    parser.add_argument("--penalty", type=float, default=30.0, help="seconds blocked past it")
    parser.add_argument(
        "--naive-measured",
        default="all",
        help="sizes where the throttled naive page load is run ('all' or a list, e.g. '10k');"
        " elsewhere it is derived (calls × 0.2 s) and the table says so",
    )
    parser.add_argument("--refresh-interval", type=int, default=3600)
    parser.add_argument("--role", default="admin", help="account for the pages, once signed in")
    parser.add_argument("--warm-runs", type=int, default=3)
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    sizes = [ab.SIZES[s.strip()] for s in args.sizes.split(",") if s.strip()]
    measured = (
        {s.label for s in sizes}
        if args.naive_measured == "all"
        else {s.strip() for s in args.naive_measured.split(",")}
    )
    os.environ[TOKEN_ENV] = ab.TOKEN
    machine = machine_info()
    date = dt.date.today().isoformat()
    started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    results = []
    for size in sizes:
        result = bench_size(size, args, size.label in measured)
        results.append(result)
        result.update({"date": date, "started_at": started_at, "machine": machine})
        write_json(args.results / results_filename(date, size.label), result)
    minutes = (time.perf_counter() - _T0) / 60
    for result in results:  # now that the whole run's duration is known
        result["run_minutes"] = minutes
        write_json(args.results / results_filename(date, result["size"]), result)
    report = full_report(results, machine, minutes)
    (args.results / "latest.md").write_text(report + "\n", encoding="utf-8")
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
