"""The first run of every page after a 10-record refresh, in one page process (AppTest).

Run by ``benchmarks.ready --pages`` (once per size, with this tree and with the tree of
``--before-ref``), with ``CARTO_CONFIG`` pointing at a live configuration whose store is
filled. For each page the role may open, in menu order:

1. the page is run until warm (its caches filled for the current snapshot version);
2. another process writes a refresh that changed 10 passages, as the sync worker does
   in live mode (records and ready frames in one transaction; a new snapshot version,
   which every cache of the page process is keyed on: carto/ui/data.py);
3. the page's first run after it is timed: what a coordinator meets after each refresh
   (wall time, and the page process's CPU time: the machine may be shared).

Steps 2 and 3 are repeated (``--cycles``, default 3) and the median kept.

``python -m benchmarks.after_refresh --refresh N`` is step 2 (the N-th refresh: which
passages it edits).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

RUN_TIMEOUT = 900
EDITED = 10


def edit_passages(
    store: Any, conn: Any, rng: random.Random, n: int = EDITED, ids: list[str] | None = None
) -> None:
    """Inside a transaction: change the number of people of ``n`` random passages (of
    ``ids`` when given: chosen beforehand)."""
    if ids is None:
        ids = rng.sample(sorted(store.table_ids(conn, "passages")), n)
    records = store.records_by_id(conn, "passages", ids)
    edited = []
    for rid in ids:
        rec = copy.deepcopy(records[rid])
        rec["fields"]["Personnes"] = rng.randint(1, 60)
        edited.append(rec)
    store.upsert(conn, "passages", edited)


def refresh(seed: int) -> float:
    """One 10-record refresh of the configured store, records and ready frames, as the
    sync commits it; its duration."""
    from carto import prepared
    from carto.dataset import recipe
    from carto.settings import load_settings
    from carto.store import SnapshotStore

    settings = load_settings()
    store = SnapshotStore(settings.store_location)
    started = time.perf_counter()
    with store.transaction(bump_version=False) as conn:
        edit_passages(store, conn, random.Random(seed))
        store.bump_version(conn)
        prepared.after_write(store, conn, recipe(settings))
    return time.perf_counter() - started


def _refresh_elsewhere(seed: int) -> float:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.after_refresh", "--refresh", str(seed)],
        cwd=os.getcwd(),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"refresh failed:\n{done.stderr[-4000:]}")
    return float(done.stdout.strip().splitlines()[-1])


def measure(role: str, password: str, warm_runs: int, cycles: int) -> dict[str, Any]:
    from benchmarks.pages import _errors, discover_pages
    from carto.dataset import open_store
    from carto.ui.data import settings as app_settings
    from testing.app import login, new_app

    at = login(new_app(), role, password)
    pages: dict[str, dict[str, Any]] = {}
    for n, page in enumerate(discover_pages(role)):
        at.switch_page(page)
        warm = []
        for _ in range(warm_runs + 1):  # the first run fills the caches
            started = time.perf_counter()
            at.run(timeout=RUN_TIMEOUT)
            warm.append(time.perf_counter() - started)
        versions = [open_store(app_settings()).version]
        refreshed, first, cpu = [], [], []
        for k in range(cycles):  # the machine is shared: one sample says little
            refreshed.append(_refresh_elsewhere(n * cycles + k))
            started, started_cpu = time.perf_counter(), time.process_time()
            at.run(timeout=RUN_TIMEOUT)
            first.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
            versions.append(open_store(app_settings()).version)
        pages[page] = {
            "warm_median_seconds": statistics.median(warm[1:]),
            "refresh_seconds": refreshed,
            "first_after_refresh_all_seconds": first,
            "first_after_refresh_seconds": statistics.median(first),
            # CPU time of the page process (every thread): what the page cost, less
            # sensitive than wall time to the other work of a shared machine
            "first_after_refresh_cpu_all_seconds": cpu,
            "first_after_refresh_cpu_seconds": statistics.median(cpu),
            "versions": versions,
            "error": _errors(at),
        }
    return {"role": role, "edited_records": EDITED, "cycles": cycles, "pages": pages}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--refresh", type=int, help="write the N-th refresh, print its time")
    parser.add_argument("--out", type=Path, help="JSON file to write")
    parser.add_argument("--role", default="admin", help="account to sign in with")
    parser.add_argument("--password", default="")
    parser.add_argument("--warm-runs", type=int, default=1)
    parser.add_argument("--cycles", type=int, default=3, help="refreshes and first runs per page")
    args = parser.parse_args(argv)
    if args.refresh is not None:
        print(refresh(args.refresh))
        return 0
    if args.out is None:
        parser.error("--out is required")
    result = measure(args.role, args.password, args.warm_runs, args.cycles)
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
