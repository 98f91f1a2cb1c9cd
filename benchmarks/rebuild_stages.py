"""Issue 15: where a full rebuild of the ready frames spends its time, stage by stage.

``python -m benchmarks.rebuild_stages --store DIR [--size 100k] [--runs 3]
[--before-ref main --rounds 3] [--profile FILE]`` makes the store of
``benchmarks.ready`` in ``DIR`` once (the demo generator, seed 56, 365 days; kept, so
that later runs skip the generation), then, in a process of this tree (and of the tree
of ``--before-ref``, alternated ``--rounds`` times), runs the stages of a rebuild one
after the other, timing each (wall clock and CPU time of the process), then the whole
rebuild as ``benchmarks.ready`` times it. The stages are the parts called one by one:
their sum is not the whole, which may overlap them (the passages read ahead in threads:
timed as the rebuild runs them too, read ahead + normalise) and writes to the store.
With ``--profile``, a cProfile of one whole rebuild by this tree
is written there (``python -m pstats FILE``). Prints a table (median seconds per stage,
records/s: the records of the rebuild over the stage's CPU time) and writes
``benchmarks/results/<date>_rebuild_stages<suffix>.json``.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks import airtable_bench as ab
from benchmarks.ready import RESULTS, ROOT, SIZES, export_tree, rebuild_child, write_live_config
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

        passages, quarantine = step("normalise passages (the others, as dicts)", others)

        def ahead() -> None:
            for block, _ in arrow_records.read_ahead(lines, options.passages_map):
                normalise_raw_passages(block, sites, options)

        # the two stages above as a rebuild runs them: blocks read while others are
        # normalised (``arrow_records.read_ahead``; its rest, the texts, left out)
        step("Arrow read ahead + normalise, by blocks", ahead)
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


def measure(store_dir: Path, runs: int) -> dict[str, Any]:
    """In a process of the tree measured: ``runs`` times the stages one by one, then
    ``runs`` whole rebuilds as ``benchmarks.ready`` times them (its ``rebuild_child``)."""
    settings = load_settings(store_dir / "config.toml")
    store = SnapshotStore(settings.store_location)
    built = recipe(settings)
    stage_runs = [stages(store, built) for _ in range(runs)]
    whole = rebuild_child(Path(str(settings.source)), runs)
    prepared.forget()
    return {"stages": stage_runs, "whole": whole}


def medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median seconds per stage and of the whole rebuild, wall and CPU, over runs of
    ``measure``."""
    stage_runs = [s for r in runs for s in r["stages"]]
    out: dict[str, Any] = {}
    for clock in ("wall", "cpu"):
        names = stage_runs[0][clock]
        out[clock] = {n: statistics.median(s[clock][n] for s in stage_runs) for n in names}
        out[clock]["whole rebuild"] = statistics.median(t for r in runs for t in r["whole"][clock])
    return out


def run_tree(tree: Path, store_dir: Path, runs: int) -> dict[str, Any]:
    """``measure`` in a process of ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    cmd = [sys.executable, "-m", "benchmarks.rebuild_stages", "--child", "--store", str(store_dir)]
    cmd += ["--runs", str(runs)]
    done = subprocess.run(
        cmd, cwd=tree, env=env, capture_output=True, text=True, timeout=900, check=True
    )
    measured: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return measured


def table(records: int, found: dict[str, dict[str, Any]]) -> str:
    """Per stage: the median wall and CPU seconds of each tree, and records/s."""
    trees = list(found)
    header = [f"stage ({records:,} records)"]
    for which in trees:
        header += [f"{which} wall", f"{which} CPU", f"{which} records/s (CPU)"]
    rows = []
    for stage in found[trees[0]]["cpu"]:
        row = [stage]
        for which in trees:
            wall, cpu = found[which]["wall"].get(stage), found[which]["cpu"].get(stage)
            if wall is None or cpu is None:
                row += ["–", "–", "–"]
                continue
            row += [f"{wall:.3f} s", f"{cpu:.3f} s", f"{records / cpu:,.0f}"]
        rows.append(row)
    return markdown_table(header, rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="100k", choices=sorted(SIZES))
    parser.add_argument("--store", type=Path, help="folder of the store (kept, reused)")
    parser.add_argument("--runs", type=int, default=3, help="runs per process")
    parser.add_argument("--before-ref", help="also the tree of this git ref, alternated")
    parser.add_argument("--rounds", type=int, default=3, help="processes per tree")
    parser.add_argument("--repo", type=Path, default=ROOT, help="git repository of the ref")
    parser.add_argument("--profile", type=Path, help="cProfile of one whole rebuild")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--suffix", default="")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.store is None:
        parser.error("--store is required (a folder; the store is made there once)")
    if args.child:
        print(json.dumps(measure(args.store, args.runs)))
        return 0
    settings = make_store(args.size, args.store)
    store = SnapshotStore(settings.store_location)
    records = store.count("sites") + store.count("passages")
    trees = {"after": ROOT}
    with tempfile.TemporaryDirectory(prefix="carto-stages-") as tmp:
        if args.before_ref:
            before = export_tree(args.repo, args.before_ref, Path(tmp))
            shutil.copy(Path(__file__), before / "benchmarks" / Path(__file__).name)
            trees = {"before": before, **trees}
        found: dict[str, list[dict[str, Any]]] = {w: [] for w in trees}
        loads = []
        for _ in range(args.rounds if args.before_ref else 1):
            for which, tree in trees.items():
                found[which].append(run_tree(tree, args.store, args.runs))
                loads.append(os.getloadavg()[0])
    if args.profile is not None:
        profiler = cProfile.Profile()
        profiler.enable()
        rebuild_child(Path(str(settings.source)), 1)
        profiler.disable()
        profiler.dump_stats(str(args.profile))
    median = {w: medians(runs) for w, runs in found.items()}
    result = {
        "machine": machine_info(),
        "size": args.size,
        "records": records,
        "ref": args.before_ref,
        "runs": found,
        "median_seconds": median,
        "median_records_per_second": {
            w: {c: {k: records / v for k, v in m.items()} for c, m in clocks.items()}
            for w, clocks in median.items()
        },
        "load_average_1min": loads,
    }
    date = dt.date.today().isoformat()
    write_json(args.results / f"{date}_rebuild_stages{args.suffix}.json", result)
    print(table(records, median))
    print(f"1-minute load average: {loads}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
