"""Issue 15: ready frames kept in the store against normalising at page load.

``python -m benchmarks.ready [--sizes 1k,100k] [--pages]`` measures, in one run and on
the same store for each size (the demo generator of ``make bench``: seed 56, 365 days,
4 camps ≈ 1,000 passages, 350 camps ≈ 100,000):

- **full rebuild**: every frame from the records (read, normalise, camps, encode,
  store) in records/s;
- **refresh of 10 changed passages**: the store transaction as the sync writes it,
  *before* (records only) and *after* (records and the ready frames, incrementally);
  the number of people of 10 passages changed (*edit*, set in place), and (``--kinds``,
  every kind by default) 10 passages of tonight added (*insert*: copies of recent
  passages, their Site link or place, created after every other) and 4 added, 3
  deleted and 3 edited, one moved about 300 m, one 2 hours later, one count (*mixed*);
- **first data load after that refresh** (what the first page of every session waits
  for once the caches are emptied by the new version): *before*, the previous
  ``build_dataset`` (read every record, normalise, group into camps); *after*, the
  ready frames read from the store (``carto.dataset.build_dataset``);
- the **cost of a change** at 100k against 1k (refresh + first load), per kind;
- with ``--pages``, at each size: every page's first run after a 10-record refresh, in
  one page process (``benchmarks.after_refresh``: warm, refresh written by another
  process, first run timed), *after* with this tree and *before* with the tree of
  ``--before-ref`` (default ``main``, exported with ``git archive``), one after the
  other in the same run, each on a copy of the size's store; signed in as an admin
  (every page), then as a partner (``PAGE_ROLES``: its protected variant and
  complements are other work) on the store the admin's run left; and at the largest size
  every page under AppTest (``benchmarks.pages``: cold, warm, peak memory), then
  ``VERSIONS`` new versions each followed by every page (the memory after each).

With ``--refresh-rounds N``, each kind's refresh and first load by the tree of
``--before-ref`` and by this tree, in alternated child processes on copies of each
size's store (this file drives both: the records a kind writes are made here, so a tree
that has never heard of a kind is measured on it).

Writes ``benchmarks/results/<date>_ready.json`` and prints a markdown table.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import os
import random
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
from benchmarks.after_refresh import EDITED, edit_passages
from benchmarks.report import machine_info, markdown_table, write_json
from carto import demo, prepared
from carto.accounts import COOKIE_KEY_ENV
from carto.analytics.camps import with_camps
from carto.dataset import build_dataset, normalise_options, normalise_store, recipe
from carto.options import AnalysisOptions
from carto.settings import CONFIG_ENV, TOKEN_ENV, Settings, load_settings
from carto.store import SnapshotStore
from testing.app import TEST_COOKIE_KEY, TEST_PASSWORD

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
SIZES = {"1k": 4, "10k": 37, "100k": 350}  # camps over 365 days
_T0 = time.perf_counter()


def log(message: str) -> None:
    print(f"[{time.perf_counter() - _T0:7.1f} s] {message}", file=sys.stderr, flush=True)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    out = fn()
    return time.perf_counter() - started, out


def load_before(settings: Settings, store: SnapshotStore) -> pd.DataFrame:
    """The previous ``build_dataset``'s work: every record read and normalised, grouped
    into camps, at page load."""
    options = normalise_options(settings)
    data = normalise_store(store, options)
    analysis = AnalysisOptions.from_settings(settings)
    return with_camps(data.passages, data.sites, analysis.camp_radius_m, analysis.active_days)


# The refreshes measured (``--kinds``): ``edit``, the number of people of 10 passages
# (set in place); ``insert``, 10 passages of tonight added; ``mixed``, 4 added, 3
# deleted, 3 edited (one moved in space, one in time, one count).
KINDS = ("edit", "insert", "mixed")
_TEMPLATES = 200  # random passages read to find recent ones to copy


def _tonight(store: SnapshotStore, rng: random.Random, n: int) -> list[dict[str, Any]]:
    """``n`` new passages of the base's last evening, each a copy of a recent passage
    (its Site link or position, its association) with a new count, dated that evening
    and created after every stored record; ids and times follow the store's version,
    so each refresh adds later ones, on any copy of the store."""
    ids = rng.sample(sorted(store.ids("passages")), _TEMPLATES)
    with store.db.connect() as conn:
        found = store.records_by_id(conn, "passages", ids)
    dated = [r for r in found.values() if "T" in str(r["fields"].get("Date", ""))]
    recent = sorted(dated, key=lambda r: str(r["fields"]["Date"]))[-n:]
    version = store.version
    evening = dt.datetime.combine(ab.demo_today(), dt.time(23, 30), tzinfo=dt.UTC)
    out = []
    for i, template in enumerate(recent):
        rec = copy.deepcopy(template)
        created = evening + dt.timedelta(minutes=5 * version, seconds=20 * i)
        rec["id"] = f"recTONIGHT{version:05d}{i:02d}"
        rec["createdTime"] = created.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        rec["fields"]["Date"] = (created - dt.timedelta(minutes=10)).strftime(
            "%Y-%m-%dT%H:%M:%S.000Z"
        )
        rec["fields"]["Personnes"] = rng.randint(1, 60)
        out.append(rec)
    return out


def _mixed(store: SnapshotStore, rng: random.Random) -> tuple[list[dict[str, Any]], list[str]]:
    """4 new passages of tonight, 3 random passages deleted, 3 edited: one moved about
    300 m, one 2 hours later, one count; (records written, ids deleted)."""
    added = _tonight(store, rng, 4)
    picked = rng.sample(sorted(store.ids("passages")), 6)
    deleted, edited_ids = picked[:3], picked[3:]
    with store.db.connect() as conn:
        found = store.records_by_id(conn, "passages", edited_ids)
    edited = []
    for n, rid in enumerate(edited_ids):
        rec = copy.deepcopy(found[rid])
        fields = rec["fields"]
        if n == 0 and isinstance(fields.get("Latitude"), (int, float)):
            fields["Latitude"] = float(fields["Latitude"]) + 0.0027
        elif n == 1 and "T" in str(fields.get("Date", "")):
            moved = pd.Timestamp(fields["Date"]) + pd.Timedelta(hours=2)
            fields["Date"] = moved.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        else:
            fields["Personnes"] = rng.randint(1, 60)
        edited.append(rec)
    return added + edited, deleted


def refresh(
    store: SnapshotStore,
    settings: Settings,
    rng: random.Random,
    ready: bool,
    kind: str = "edit",
) -> float:
    """One 10-record refresh of ``kind`` as the sync commits it; with ``ready``, the
    frames too. What it writes is chosen before the clock starts: a sync knows the ids
    it fetched, it does not list every id of the table (reading 100,000 ids took 0.1 s),
    and the records it writes came from Airtable."""
    written: list[dict[str, Any]] = []
    deleted: list[str] = []
    if kind == "edit":
        ids = rng.sample(sorted(store.ids("passages")), EDITED)
    elif kind == "insert":
        written = _tonight(store, rng, EDITED)
    else:
        written, deleted = _mixed(store, rng)
    started = time.perf_counter()
    with store.transaction(bump_version=False) as conn:
        if kind == "edit":
            edit_passages(store, conn, rng, ids=ids)
        else:
            store.upsert(conn, "passages", written)
            if deleted:
                store.delete_ids(conn, "passages", deleted)
        store.bump_version(conn)
        if ready:
            prepared.after_write(store, conn, recipe(settings))
    return time.perf_counter() - started


def measure_size(
    label: str, folder: Path, settings: Settings, kinds: tuple[str, ...] = KINDS[1:]
) -> dict[str, Any]:
    camps = SIZES[label]
    base = demo.generate(seed=ab.SEED, days=365, today=ab.demo_today(), n_camps=camps)
    store = SnapshotStore(settings.store_location)
    with store.transaction() as conn:
        store.replace_table(conn, "sites", base.sites)
        store.replace_table(conn, "passages", base.passages)
    n = len(base.sites) + len(base.passages)
    log(f"{label}: {len(base.passages):,} passages")
    rng = random.Random(15)
    rebuild, _ = timed(lambda: prepared.load(store, recipe(settings)))
    out: dict[str, Any] = {
        "size": label,
        "passages": len(base.passages),
        "records": n,
        "full_rebuild_seconds": rebuild,
        "full_rebuild_records_per_second": n / rebuild,
    }
    runs: dict[str, list[float]] = {k: [] for k in ("refresh_before", "refresh_after")}
    runs |= {k: [] for k in ("load_before", "load_after")}
    for _ in range(3):
        runs["refresh_before"].append(refresh(store, settings, rng, ready=False))
        runs["load_before"].append(timed(lambda: load_before(settings, store))[0])
        # the "before" refresh left the frames one version behind: the "after" refresh
        # must not start from there (it would rebuild them whole)
        prepared.load(store, recipe(settings))
        runs["refresh_after"].append(refresh(store, settings, rng, ready=True))
        runs["load_after"].append(timed(lambda: build_dataset(settings, store))[0])
    for key, values in runs.items():
        out[f"{key}_seconds"] = sorted(values)[len(values) // 2]
        out[f"{key}_all_seconds"] = values
    # the other kinds: records only, then records and frames, and the first load (the
    # load before, normalising every record, is the edit's: it does not depend on them)
    out["kinds"] = {}
    for kind in kinds:
        found: dict[str, list[float]] = {
            "refresh_before": [],
            "refresh_after": [],
            "load_after": [],
        }
        for _ in range(3):
            found["refresh_before"].append(refresh(store, settings, rng, False, kind))
            prepared.load(store, recipe(settings))  # untimed: frames of that version
            found["refresh_after"].append(refresh(store, settings, rng, True, kind))
            found["load_after"].append(timed(lambda: build_dataset(settings, store))[0])
        out["kinds"][kind] = {
            **{f"{k}_seconds": statistics.median(v) for k, v in found.items()},
            **{f"{k}_all_seconds": v for k, v in found.items()},
        }
    return out


def write_live_config(folder: Path) -> Settings:
    """A live configuration on ``folder/snapshot.sqlite`` (no Airtable reached: the
    endpoint is a closed local port and no refresh is due for a year)."""
    return ab.write_config(
        folder,
        "http://127.0.0.1:9",
        rate_limit=5.0,
        penalty=30.0,
        refresh_interval=365 * 86400,
        role=PAGE_ROLES,
    )


VERSIONS = 4  # new snapshot versions after the pages (memory across refreshes)
# The accounts whose pages are timed after a refresh: every page (admin), and a
# partner's, whose frames and figures are protected again (another variant, complements).
PAGE_ROLES = ("admin", "partenaire")


def run_pages(
    tree: Path, config: Path, out: Path, memory: bool = False, role: str = "admin"
) -> dict[str, Any]:
    """``benchmarks.after_refresh`` in a page process of ``tree``, signed in as ``role``;
    with ``memory``, ``benchmarks.pages`` (cold, warm, peak memory, then ``VERSIONS``
    new versions)."""
    env = {
        **os.environ,
        CONFIG_ENV: str(config),
        TOKEN_ENV: ab.TOKEN,
        COOKIE_KEY_ENV: TEST_COOKIE_KEY,
        "PYTHONPATH": str(tree),
    }
    if memory:
        cmd = [sys.executable, "-m", "benchmarks.pages", "--out", str(out), "--role", role]
        cmd += ["--password", TEST_PASSWORD, "--warm-runs", "3", "--versions", str(VERSIONS)]
    else:
        cmd = [sys.executable, "-m", "benchmarks.after_refresh", "--out", str(out)]
        cmd += ["--role", role, "--password", TEST_PASSWORD]
    done = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"page benchmark failed:\n{done.stdout}\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(out.read_text("utf-8"))
    return result


def export_tree(repo: Path, ref: str, folder: Path) -> Path:
    """``ref``'s files under ``folder`` (exported once per run: the rebuild and the
    pages both measure it)."""
    tree = folder / f"tree-{ref}"
    if tree.exists():
        return tree
    tree.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", ref], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    # both trees measured by the same page benchmark (this tree's)
    for name in ("pages.py", "after_refresh.py"):
        shutil.copy(ROOT / "benchmarks" / name, tree / "benchmarks" / name)
    return tree


def pages_before_after(
    folder: Path, stores: dict[str, Path], repo: Path, ref: str
) -> dict[str, Any]:
    """Per size, every page's first run after a 10-record refresh, with the tree of
    ``ref`` then with this tree, each in its own page process on a copy of the store."""
    trees = {"before": export_tree(repo, ref, folder), "after": ROOT}
    results: dict[str, Any] = {}
    labels = list(stores)
    for label, store_file in stores.items():
        results[label] = {}
        for which, tree in trees.items():
            run_dir = folder / f"pages-{label}-{which}"
            run_dir.mkdir()
            settings = write_live_config(run_dir)
            shutil.copy(store_file, run_dir / "snapshot.sqlite")
            code = ref if which == "before" else "this tree"
            log(f"pages after a refresh, {label} ({which}: {code})")
            found = run_pages(tree, Path(str(settings.source)), run_dir / "pages.json")
            found["load_average"] = os.getloadavg()
            results[label][which] = found
            for role in PAGE_ROLES[1:]:  # on the store the first left (refreshed)
                log(f"pages after a refresh, {label} ({which}: {code}), as {role}")
                out = run_dir / f"pages-{role}.json"
                found = run_pages(tree, Path(str(settings.source)), out, role=role)
                found["load_average"] = os.getloadavg()
                results[label][f"{which}_{role}"] = found
            if label == labels[-1]:
                log(f"pages and memory across versions, {label} ({which}: {code})")
                shutil.copy(store_file, run_dir / "snapshot.sqlite")
                memory = run_pages(tree, Path(str(settings.source)), run_dir / "m.json", True)
                memory["load_average"] = os.getloadavg()
                results[label][f"{which}_memory"] = memory
    return results


def pages_report(pages: dict[str, Any]) -> str:
    """Per page: first run after a refresh, before and after, at the smallest and
    largest size, and largest / smallest."""
    labels = list(pages)
    small, large = labels[0], labels[-1]
    header = ["page (first run after a 10-record refresh)"]
    for which in ("before", "after"):
        header += [f"{which} {small}", f"{which} {large}", f"{which} {large}/{small}"]
    header += [f"{which} CPU {large}/{small}" for which in ("before", "after")]
    rows = []
    for role in PAGE_ROLES:
        suffix = "" if role == PAGE_ROLES[0] else f"_{role}"
        runs = {
            (size, which): pages[size].get(which + suffix, {}).get("pages", {})
            for size in (small, large)
            for which in ("before", "after")
        }
        for page in runs[large, "after"]:
            name = page.removeprefix("pages/").removesuffix(".py")
            row = [name if not suffix else f"{name} ({role})"]
            for which in ("before", "after"):
                a = runs[small, which].get(page, {}).get("first_after_refresh_seconds")
                b = runs[large, which].get(page, {}).get("first_after_refresh_seconds")
                if a is None or b is None:
                    row += ["–", "–", "–"]
                    continue
                row += [f"{a:.2f} s", f"{b:.2f} s", f"{b / a:.1f}×"]
            for which in ("before", "after"):
                key = "first_after_refresh_cpu_seconds"
                a = runs[small, which].get(page, {}).get(key)
                b = runs[large, which].get(page, {}).get(key)
                row.append(f"{b / a:.1f}×" if a and b is not None else "–")
            rows.append(row)
    return markdown_table(header, rows)


def rebuild_child(config: Path, runs: int) -> dict[str, list[float]]:
    """In a process of the tree measured: ``runs`` full rebuilds of the store of
    ``config`` as ``prepared.load`` makes one (read, normalise, camps, encode, store),
    in seconds: wall clock, and CPU time of the process (less moved by other work on a
    shared machine, though not unmoved: cores and caches are shared too)."""
    settings = load_settings(config)
    store = SnapshotStore(settings.store_location)
    built = recipe(settings)
    seconds: dict[str, list[float]] = {"wall": [], "cpu": []}
    for _ in range(runs):
        started, cpu = time.perf_counter(), time.process_time()
        with store.db.connect(write=True) as conn:
            version = store.lock_version(conn)
            whole = getattr(prepared, "rebuilt", None)  # older trees: in two steps
            if whole is not None:
                _, blobs = whole(store, conn, built)
            else:
                blobs = prepared._blobs(prepared._rebuild(store, conn, built))
            write = getattr(prepared, "_write", None)  # chunked frames; older trees: whole
            if write is not None:
                write(store, conn, version, built.key, blobs)
            else:
                store.write_derived(conn, version, built.key, blobs)
        seconds["wall"].append(time.perf_counter() - started)
        seconds["cpu"].append(time.process_time() - cpu)
    return seconds


def rebuild_before_after(
    folder: Path, size: dict[str, Any], config: Path, repo: Path, ref: str, rounds: int
) -> dict[str, Any]:
    """The full rebuild of one store by the tree of ``ref`` and by this tree, one
    process each, alternated ``rounds`` times: on a shared machine the ratio of the
    medians says more than one run of each."""
    trees = {"before": export_tree(repo, ref, folder), "after": ROOT}
    shutil.copy(ROOT / "benchmarks" / "ready.py", trees["before"] / "benchmarks" / "ready.py")
    seconds: dict[str, list[float]] = {"before": [], "after": []}
    cpu: dict[str, list[float]] = {"before": [], "after": []}
    loads = []
    for i in range(rounds):
        for which, tree in trees.items():
            env = {**os.environ, "PYTHONPATH": str(tree)}
            cmd = [sys.executable, "-m", "benchmarks.ready", "--rebuild-child", str(config)]
            done = subprocess.run(
                cmd, cwd=tree, env=env, capture_output=True, text=True, timeout=600, check=True
            )
            measured = json.loads(done.stdout)
            seconds[which] += measured["wall"]
            cpu[which] += measured["cpu"]
            loads.append(os.getloadavg()[0])
        log(
            f"rebuild round {i + 1}: before {seconds['before'][-1]:.2f} s, "
            f"after {seconds['after'][-1]:.2f} s"
        )
    median = {w: statistics.median(v) for w, v in seconds.items()}
    median_cpu = {w: statistics.median(v) for w, v in cpu.items()}
    return {
        "size": size["size"],
        "records": size["records"],
        "ref": ref,
        "seconds": seconds,
        "median_seconds": median,
        "median_records_per_second": {w: size["records"] / m for w, m in median.items()},
        "speedup": median["before"] / median["after"],
        "cpu_seconds": cpu,
        "median_cpu_seconds": median_cpu,
        "cpu_speedup": median_cpu["before"] / median_cpu["after"],
        "load_average_1min": loads,
    }


REFRESHES = 3  # refreshes of each kind per child process


def refresh_child(config: Path, kinds: tuple[str, ...]) -> dict[str, dict[str, list[float]]]:
    """In a process of the tree measured: its frames of the store of ``config`` made
    (untimed: another tree may have stored them in another format), then, per kind,
    ``REFRESHES`` refreshes, each followed by the first data load, in seconds. The
    records each refresh writes are made here (this file is the driver in both trees),
    so a tree that never heard of a kind is measured on it all the same."""
    settings = load_settings(config)
    store = SnapshotStore(settings.store_location)
    prepared.load(store, recipe(settings))
    rng = random.Random(15)
    out: dict[str, dict[str, list[float]]] = {}
    for kind in kinds:
        seconds: dict[str, list[float]] = {"refresh": [], "load": []}
        for _ in range(REFRESHES):
            seconds["refresh"].append(refresh(store, settings, rng, True, kind))
            seconds["load"].append(timed(lambda: build_dataset(settings, store))[0])
        out[kind] = seconds
    return out


def _cost(s: dict[str, Any]) -> float:
    return float(s["median_refresh_seconds"] + s["median_load_seconds"])


def refresh_before_after(
    folder: Path, labels: list[str], repo: Path, ref: str, rounds: int, kinds: tuple[str, ...]
) -> dict[str, Any]:
    """Per size and kind, the 10-record refresh and first load by the tree of ``ref``
    and by this tree, one process each on a copy of the size's store, alternated
    ``rounds`` times; the cost of a change (refresh + first load, largest / smallest
    size) of each tree and kind. ``sizes`` and ``cost_of_change_ratio`` at the top are
    the edit's (as before the other kinds were measured)."""
    trees = {"before": export_tree(repo, ref, folder), "after": ROOT}
    shutil.copy(ROOT / "benchmarks" / "ready.py", trees["before"] / "benchmarks" / "ready.py")
    found: dict[str, dict[str, dict[str, dict[str, list[float]]]]] = {
        kind: {
            label: {w: {"refresh": [], "load": [], "load_average_1min": []} for w in trees}
            for label in labels
        }
        for kind in kinds
    }
    for label in labels:
        for i in range(rounds):
            for which, tree in trees.items():
                run_dir = folder / f"refresh-{label}-{which}-{i}"
                run_dir.mkdir()
                settings = write_live_config(run_dir)
                shutil.copy(folder / label / "snapshot.sqlite", run_dir / "snapshot.sqlite")
                env = {**os.environ, "PYTHONPATH": str(tree)}
                cmd = [sys.executable, "-m", "benchmarks.ready", "--refresh-child"]
                cmd += [str(settings.source), "--kinds", ",".join(kinds)]
                done = subprocess.run(
                    cmd, cwd=tree, env=env, capture_output=True, text=True, timeout=1800
                )
                if done.returncode != 0:
                    raise RuntimeError(f"refresh child failed:\n{done.stderr[-4000:]}")
                measured = json.loads(done.stdout.strip().splitlines()[-1])
                for kind in kinds:
                    into = found[kind][label][which]
                    into["refresh"] += measured[kind]["refresh"]
                    into["load"] += measured[kind]["load"]
                    into["load_average_1min"].append(os.getloadavg()[0])
                shutil.rmtree(run_dir)
            log(f"refresh {label} round {i + 1} done")
    out: dict[str, Any] = {"ref": ref, "kinds": {}}
    for kind in kinds:
        sizes = {
            label: {
                w: {
                    **v,
                    "median_refresh_seconds": statistics.median(v["refresh"]),
                    "median_load_seconds": statistics.median(v["load"]),
                }
                for w, v in found[kind][label].items()
            }
            for label in labels
        }
        first, last = sizes[labels[0]], sizes[labels[-1]]
        ratio = {w: _cost(last[w]) / _cost(first[w]) for w in trees}
        out["kinds"][kind] = {"sizes": sizes, "cost_of_change_ratio": ratio}
    if "edit" in kinds:
        out["sizes"] = out["kinds"]["edit"]["sizes"]
        out["cost_of_change_ratio"] = out["kinds"]["edit"]["cost_of_change_ratio"]
    return out


def _ratio(s: dict[str, Any]) -> float:
    after = s["refresh_after_seconds"] + s["load_after_seconds"]
    return float(after / (s["refresh_before_seconds"] + s["load_before_seconds"]))


def report(result: dict[str, Any]) -> str:
    sizes = result["sizes"]
    header = ["", *(f"{s['size']} ({s['passages']:,} passages)" for s in sizes)]

    def row(name: str, fmt: Callable[[dict[str, Any]], str]) -> list[str]:
        return [name, *(fmt(s) for s in sizes)]

    def sec(key: str) -> Callable[[dict[str, Any]], str]:
        return lambda s: f"{s[key]:.3f} s"

    def kind_sec(kind: str, key: str) -> Callable[[dict[str, Any]], str]:
        return lambda s: f"{s['kinds'][kind][key + '_seconds']:.3f} s"

    rows = [
        row("full rebuild: records/s", lambda s: f"{s['full_rebuild_records_per_second']:,.0f}"),
        row("10-record refresh, before (records only)", sec("refresh_before_seconds")),
        row("10-record refresh, after (records + ready frames)", sec("refresh_after_seconds")),
        row("first data load after it, before (normalise at load)", sec("load_before_seconds")),
        row("first data load after it, after (ready frames)", sec("load_after_seconds")),
        row("refresh + first load: after / before", lambda s: f"{_ratio(s):.2f}"),
    ]
    text = markdown_table(header, rows)
    if "rebuild_before_after" in result:
        ab = result["rebuild_before_after"]
        rate = ab["median_records_per_second"]
        text += "\n\n" + markdown_table(
            [f"full rebuild at {ab['size']}, alternated (median)", ab["ref"], "this tree", "×"],
            [
                [
                    f"records/s ({len(ab['seconds']['after'])} runs each)",
                    f"{rate['before']:,.0f}",
                    f"{rate['after']:,.0f}",
                    f"{ab['speedup']:.2f}",
                ],
                [
                    "CPU seconds of the process",
                    f"{ab['median_cpu_seconds']['before']:.2f}",
                    f"{ab['median_cpu_seconds']['after']:.2f}",
                    f"{ab['cpu_speedup']:.2f}",
                ],
            ],
        )
    kinds = [k for k in sizes[0].get("kinds", {}) if all(k in s.get("kinds", {}) for s in sizes)]
    if kinds:
        rows = []
        for kind in kinds:
            rows.append(row(f"{kind}: refresh, records only", kind_sec(kind, "refresh_before")))
            rows.append(row(f"{kind}: refresh, records + frames", kind_sec(kind, "refresh_after")))
            rows.append(row(f"{kind}: first data load after it", kind_sec(kind, "load_after")))
        text += "\n\n" + markdown_table(
            ["other 10-record refreshes (median of 3)", *header[1:]], rows
        )
    if "refresh_before_after" in result:
        ba = result["refresh_before_after"]
        header = ["10-record refresh + first load, alternated (median)"]
        header += [f"{ba['ref']}", "this tree"]
        rows = []
        for kind, measured in ba.get("kinds", {"edit": ba}).items():
            for label, found in measured["sizes"].items():
                for part in ("refresh", "load"):
                    key = f"median_{part}_seconds"
                    n = len(found["after"][part])
                    name = f"{kind}, {label}: {part} ({n} runs each)"
                    before, after = found["before"][key], found["after"][key]
                    rows.append([name, f"{before:.3f} s", f"{after:.3f} s"])
            ratio = measured["cost_of_change_ratio"]
            name = f"{kind}: cost of a change, largest / smallest"
            rows.append([name, f"{ratio['before']:.2f}", f"{ratio['after']:.2f}"])
        text += "\n\n" + markdown_table(header, rows)
    if "cost_of_change_ratio" in result:
        rows = [
            [
                f"edit, {sizes[-1]['size']} / {sizes[0]['size']}",
                f"{result['cost_of_change_ratio']['before']:.1f}",
                f"{result['cost_of_change_ratio']['after']:.1f}",
            ]
        ]
        for kind, ratio in result.get("kinds_cost_of_change_ratio", {}).items():
            rows.append([f"{kind}, {sizes[-1]['size']} / {sizes[0]['size']}", "–", f"{ratio:.1f}"])
        text += "\n\n" + markdown_table(
            ["cost of a change (refresh + first load), largest / smallest", "before", "after"],
            rows,
        )
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1k,100k")
    parser.add_argument(
        "--pages", action="store_true", help="first page runs after a refresh, before/after"
    )
    parser.add_argument("--before-ref", default="main")
    parser.add_argument("--repo", type=Path, default=ROOT, help="git repository of the ref")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--suffix", default="", help="added to the results file's name")
    parser.add_argument(
        "--rebuild-rounds",
        type=int,
        default=0,
        help="full rebuild at the largest size by --before-ref and this tree, alternated",
    )
    parser.add_argument(
        "--refresh-rounds",
        type=int,
        default=0,
        help="10-record refresh at each size by --before-ref and this tree, alternated",
    )
    parser.add_argument(
        "--kinds",
        default=",".join(KINDS),
        help=f"refreshes measured besides the edit, comma-separated, of {', '.join(KINDS)}",
    )
    parser.add_argument("--rebuild-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--refresh-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rebuild_child is not None:
        print(json.dumps(rebuild_child(args.rebuild_child, 1)))
        return 0
    kinds = tuple(k.strip() for k in args.kinds.split(",") if k.strip())
    if unknown := set(kinds) - set(KINDS):
        parser.error(f"unknown refresh kinds: {', '.join(sorted(unknown))}")
    if args.refresh_child is not None:
        print(json.dumps(refresh_child(args.refresh_child, kinds)))
        return 0
    labels = [s.strip() for s in args.sizes.split(",") if s.strip()]
    result: dict[str, Any] = {"machine": machine_info(), "sizes": []}
    with tempfile.TemporaryDirectory(prefix="carto-ready-") as tmp:
        folder = Path(tmp)
        for label in labels:
            size_dir = folder / label
            size_dir.mkdir()
            settings = write_live_config(size_dir)
            others = tuple(k for k in kinds if k != "edit")
            result["sizes"].append(measure_size(label, size_dir, settings, others))
            result["sizes"][-1]["load_average"] = os.getloadavg()
        if len(labels) > 1:

            def cost(s: dict[str, Any], when: str) -> float:
                return float(s[f"refresh_{when}_seconds"] + s[f"load_{when}_seconds"])

            first, last = result["sizes"][0], result["sizes"][-1]
            result["cost_of_change_ratio"] = {
                w: cost(last, w) / cost(first, w) for w in ("before", "after")
            }
            result["kinds_cost_of_change_ratio"] = {
                kind: cost(last["kinds"][kind], "after") / cost(first["kinds"][kind], "after")
                for kind in first["kinds"]
            }
        if args.refresh_rounds and len(labels) > 1:
            result["refresh_before_after"] = refresh_before_after(
                folder, labels, args.repo, args.before_ref, args.refresh_rounds, kinds
            )
        if args.rebuild_rounds:
            config = folder / labels[-1] / "config.toml"
            result["rebuild_before_after"] = rebuild_before_after(
                folder,
                result["sizes"][-1],
                config,
                args.repo,
                args.before_ref,
                args.rebuild_rounds,
            )
        if args.pages:
            stores = {label: folder / label / "snapshot.sqlite" for label in labels}
            result["pages"] = pages_before_after(folder, stores, args.repo, args.before_ref)
    date = dt.date.today().isoformat()
    write_json(args.results / f"{date}_ready{args.suffix}.json", result)
    print(report(result))
    if "pages" in result:
        print("\n" + pages_report(result["pages"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
