"""Issue 15: where a full rebuild of the ready frames spends its time, stage by stage.

``python -m benchmarks.rebuild_stages [--size 100k] [--store DIR] [--runs 3]
[--profile FILE]`` builds the store of ``benchmarks.ready`` (the demo generator, seed 56,
365 days; kept in ``--store`` when given, so that later runs skip the generation), then
runs the stages of ``prepared._rebuild`` and ``prepared._blobs`` one after the other,
timing each (wall clock, the median of ``--runs``), and the whole rebuild as
``benchmarks.ready`` times it. With ``--profile``, a cProfile of one whole rebuild is
written there (``python -m pstats FILE``). Prints a table (records/s per stage: the
records of the rebuild over the stage's time) and writes
``benchmarks/results/<date>_rebuild_stages<suffix>.json``.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks import airtable_bench as ab
from benchmarks.ready import RESULTS, SIZES, rebuild_child, write_live_config
from benchmarks.report import machine_info, markdown_table, write_json
from carto import arrow_records, demo, prepared
from carto.analytics.camps import assign_camps, flag_duplicates, mark_duplicates
from carto.dataset import recipe
from carto.normalise import normalise_passages, normalise_raw_passages, normalise_sites
from carto.settings import Settings, load_settings
from carto.store import SnapshotStore


def make_store(size: str, folder: Path) -> Settings:
    """The store of ``benchmarks.ready`` at ``size`` in ``folder`` (made once)."""
    config = folder / "config.toml"
    if config.exists() and (folder / "snapshot.sqlite").exists():
        return load_settings(config)
    folder.mkdir(parents=True, exist_ok=True)
    settings = write_live_config(folder)
    base = demo.generate(seed=ab.SEED, days=365, today=ab.demo_today(), n_camps=SIZES[size])
    store = SnapshotStore(settings.store_location)
    with store.transaction() as conn:
        store.replace_table(conn, "sites", base.sites)
        store.replace_table(conn, "passages", base.passages)
    return settings


def stages(store: SnapshotStore, built: prepared.Recipe) -> dict[str, dict[str, float]]:
    """Seconds per stage of one rebuild (what ``prepared._rebuild`` and ``_blobs`` do,
    called piece by piece): wall clock and CPU time of the process."""
    out: dict[str, dict[str, float]] = {"wall": {}, "cpu": {}}

    def step(name: str, fn: Callable[[], Any]) -> Any:
        started, cpu = time.perf_counter(), time.process_time()
        value = fn()
        out["wall"][name] = time.perf_counter() - started
        out["cpu"][name] = time.process_time() - cpu
        return value

    options = built.normalise
    with prepared.paused_gc(), store.db.connect() as conn:
        sites_records = step("read sites", lambda: store.records_in(conn, "sites", ordered=False))
        lines = step("read passages' lines", lambda: store.record_lines_in(conn, "passages"))
        sites, q_sites = step("normalise sites", lambda: normalise_sites(sites_records, options))
        raw, rest = step("Arrow JSON read", lambda: arrow_records.read(lines, options.passages_map))
        passages, quarantine = step(
            "normalise passages (Arrow)", lambda: normalise_raw_passages(raw, sites, options)
        )

        def others() -> tuple[pd.DataFrame, pd.DataFrame]:
            records = [SnapshotStore.decode(text) for text in rest]
            kept, quarantined = normalise_passages(records, sites, options)
            return prepared._concat(passages, kept), prepared._concat(quarantine, quarantined)

        passages, quarantine = step(f"normalise passages ({len(rest)} as dicts)", others)
        sites = step("order sites", lambda: prepared._ordered(sites))
        passages = step("order passages", lambda: prepared._ordered(passages))
        camp = step(
            "camp grouping",
            lambda: assign_camps(passages, sites, built.radius_m, built.gap_days),
        )
        passages = passages.assign(camp_id=camp)
        dup = step("duplicate marks", lambda: mark_duplicates(passages))
        passages = step("duplicate flags", lambda: flag_duplicates(passages, dup))
        all_q = pd.concat([q_sites, quarantine], ignore_index=True)
        quarantine = step("order quarantine", lambda: prepared._ordered_quarantine(all_q))
        frames = prepared.Frames(passages, sites, quarantine, 0)
        step("encode chunks", lambda: prepared._blobs(frames))
    prepared.forget()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="100k", choices=sorted(SIZES))
    parser.add_argument("--store", type=Path, help="folder of the store (kept, reused)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", type=Path, help="cProfile of one whole rebuild")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--suffix", default="")
    args = parser.parse_args(argv)
    if args.store is None:
        parser.error("--store is required (a folder; the store is made there once)")
    settings = make_store(args.size, args.store)
    store = SnapshotStore(settings.store_location)
    built = recipe(settings)
    records = store.count("sites") + store.count("passages")
    runs = [stages(store, built) for _ in range(args.runs)]
    loads = [os.getloadavg()[0]]
    whole = rebuild_child(Path(str(settings.source)), args.runs)
    loads.append(os.getloadavg()[0])
    prepared.forget()
    if args.profile is not None:
        profiler = cProfile.Profile()
        profiler.enable()
        rebuild_child(Path(str(settings.source)), 1)
        profiler.disable()
        profiler.dump_stats(str(args.profile))
    median = {
        clock: {name: statistics.median(r[clock][name] for r in runs) for name in runs[0][clock]}
        for clock in ("wall", "cpu")
    }
    whole_median = {clock: statistics.median(whole[clock]) for clock in ("wall", "cpu")}
    result = {
        "machine": machine_info(),
        "size": args.size,
        "records": records,
        "stages_seconds": runs,
        "median_stage_seconds": median,
        "median_stage_records_per_second": {
            clock: {k: records / v for k, v in m.items()} for clock, m in median.items()
        },
        "sum_of_stage_medians_seconds": {c: sum(m.values()) for c, m in median.items()},
        "whole_rebuild_seconds": whole,
        "whole_rebuild_median_records_per_second": {
            c: records / m for c, m in whole_median.items()
        },
        "load_average_1min": loads,
    }
    date = dt.date.today().isoformat()
    write_json(args.results / f"{date}_rebuild_stages{args.suffix}.json", result)
    rows = [
        [k, f"{v:.3f} s", f"{records / v:,.0f}", f"{c:.3f} s", f"{records / c:,.0f}"]
        for (k, v), c in zip(median["wall"].items(), median["cpu"].values(), strict=True)
    ]
    total = {c: sum(m.values()) for c, m in median.items()}
    rows.append(["sum of the stages", f"{total['wall']:.3f} s", "", f"{total['cpu']:.3f} s", ""])
    rows.append(
        [
            "whole rebuild (with the store write)",
            *(f"{whole_median[c]:.3f} s" for c in ("wall",)),
            f"{records / whole_median['wall']:,.0f}",
            f"{whole_median['cpu']:.3f} s",
            f"{records / whole_median['cpu']:,.0f}",
        ]
    )
    header = [f"stage ({records:,} records)", "wall", "records/s", "CPU", "records/s (CPU)"]
    print(markdown_table(header, rows))
    print(f"1-minute load average: {loads}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
