"""What drawing figures and tables costs a page run, before/after in one run.

    python -m benchmarks.figures [--camps 350] [--rounds 2] [--repeats 5] [--before-ref main]

On a demo base (``--camps 350`` ≈ 100,000 passages), each page runs under AppTest in a
page process of one tree, warm (its data cached), then ``--repeats`` times each:

- **figures rebuilt**: a run after the figure cache (``charts.show_cached``) was
  emptied, the data still cached: what a page's first run after a refresh spends on
  figures and tables, without the data work (the same in both trees);
- **warm**: a rerun with every cache filled (tables are drawn on every run);
- in both, the time spent drawing tables (``tables._draw``: Styler and
  ``st.dataframe``), wide and phone variants apart, and choosing the phone
  variant's widths (``tables.narrow_options``).

The tree of ``--before-ref`` (exported with ``git archive``) and this tree run in turn,
``--rounds`` times each (before, after, before, after…), in separate processes on the
same demo store; medians per page and the ratio after / before. Writes
``benchmarks/results/<date>_figures.json`` (with the load average around each run).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.ready import export_tree
from benchmarks.report import machine_info, write_json
from carto.settings import CONFIG_ENV

ROOT = Path(__file__).resolve().parents[1]
PAGES = (
    "pages/tableau_de_bord.py",
    "pages/historique.py",
    "pages/coordination.py",
    "pages/synthese.py",
)
MEASURES = ("figures_rebuilt_seconds", "warm_seconds")
TABLE_PARTS = ("tables_wide_seconds", "tables_narrow_seconds", "narrow_options_seconds")


def time_tables() -> dict[str, float]:
    """Wrap ``carto.ui.tables``' drawing so that the time of each part adds up in the
    returned dict (the phone variant is the ``_draw`` right after ``narrow_options``)."""
    from carto.ui import tables

    spent = dict.fromkeys(TABLE_PARTS, 0.0)
    draw, options = tables._draw, tables.narrow_options
    state = {"narrow": False}

    def timed_draw(*args: Any, **kwargs: Any) -> None:
        part = "tables_narrow_seconds" if state["narrow"] else "tables_wide_seconds"
        state["narrow"] = False
        started = time.perf_counter()
        draw(*args, **kwargs)
        spent[part] += time.perf_counter() - started

    def timed_options(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        found = options(*args, **kwargs)
        spent["narrow_options_seconds"] += time.perf_counter() - started
        state["narrow"] = True
        return found

    tables._draw = timed_draw
    tables.narrow_options = timed_options
    return spent


def child(pages: list[str], repeats: int, out: Path) -> None:
    """In a page process of one tree (``PYTHONPATH``): the timings of every page."""
    from carto.ui import charts
    from testing.app import run_page

    spent = time_tables()
    found: dict[str, Any] = {}
    for page in pages:
        at = run_page(page, role="admin")
        at.run(timeout=900)
        times: dict[str, list[float]] = {m: [] for m in (*MEASURES, *TABLE_PARTS)}
        for _ in range(repeats):
            charts._built.clear()
            for measure in MEASURES:  # figures rebuilt, then warm
                spent.update(dict.fromkeys(TABLE_PARTS, 0.0))
                started = time.perf_counter()
                at.run(timeout=900)
                times[measure].append(time.perf_counter() - started)
                assert not at.exception, [e.value for e in at.exception]
                if measure == "warm_seconds":
                    for part in TABLE_PARTS:
                        times[part].append(spent[part])
        found[page] = times
    out.write_text(json.dumps(found), encoding="utf-8")


def run_tree(tree: Path, config: Path, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    env = {**os.environ, CONFIG_ENV: str(config), "PYTHONPATH": str(tree)}
    cmd = [sys.executable, "-m", "benchmarks.figures", "--child", str(out)]
    cmd += ["--repeats", str(args.repeats), "--pages", ",".join(args.pages)]
    done = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"figures benchmark failed:\n{done.stdout}\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(out.read_text("utf-8"))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--camps", type=int, default=350)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--before-ref", default="main")
    parser.add_argument("--pages", type=lambda s: s.split(","), default=list(PAGES))
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--suffix", default="")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.pages, args.repeats, args.child)
        return 0
    folder = Path(tempfile.mkdtemp(prefix="carto-figures-"))
    try:
        config = folder / "config.toml"
        config.write_text(
            f'[general]\ndemo = true\n[store]\ndemo_path = "{folder / "demo.sqlite"}"\n'
            f"[demo]\ncamps = {args.camps}\ndays = 365\n",
            encoding="utf-8",
        )
        before = export_tree(ROOT, args.before_ref, folder)
        shutil.copy(Path(__file__), before / "benchmarks" / "figures.py")  # same benchmark
        trees = {"before": before, "after": ROOT}
        runs: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
        for n in range(args.rounds):
            for which, tree in trees.items():
                print(f"round {n + 1}: {which}", file=sys.stderr, flush=True)
                found = run_tree(tree, config, args, folder / f"{which}-{n}.json")
                runs[which].append({"pages": found, "load_average": os.getloadavg()})
        medians = {
            page: {
                which: {
                    m: statistics.median(v for run in runs[which] for v in run["pages"][page][m])
                    for m in (*MEASURES, *TABLE_PARTS)
                }
                for which in runs
            }
            for page in args.pages
        }
        for by in medians.values():
            by["ratio_after_before"] = {
                m: by["after"][m] / by["before"][m] for m in MEASURES if by["before"][m]
            }
        result = {
            "machine": machine_info(),
            "camps": args.camps,
            "before_ref": args.before_ref,
            "medians": medians,
            "runs": runs,
        }
        date = dt.date.today().isoformat()
        write_json(args.results / f"{date}_figures{args.suffix}.json", result)
        print(json.dumps(medians, indent=1))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
