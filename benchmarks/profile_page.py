"""Where a page's time goes: cProfile of one page run under AppTest, on a demo base.

    python -m benchmarks.profile_page pages/tableau_de_bord.py --camps 350 --days 365
    python -m benchmarks.profile_page pages/carte.py --cold
    python -m benchmarks.profile_page pages/synthese.py --after-refresh --folder /tmp/p100k

Warm (default): the page is run once, then its rerun is profiled (data cached). Cold: the
caches are cleared first. After a refresh: another process writes a 10-record refresh
(``benchmarks.after_refresh``, a new snapshot version) and the page's next run is
profiled, as ``benchmarks.ready --pages`` times it. No Airtable needed: the demo of the
given size, in a temporary folder (``--folder``: kept there, and reused). Prints the
functions with the highest cumulative time, in the script thread.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from carto.settings import CONFIG_ENV


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", help='e.g. "pages/tableau_de_bord.py"')
    parser.add_argument("--camps", type=int, default=350)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--cold", action="store_true", help="profile a run with empty caches")
    parser.add_argument(
        "--after-refresh", action="store_true", help="profile the first run after a refresh"
    )
    parser.add_argument(
        "--folder", type=Path, help="keep the demo store there (reused by the next run)"
    )
    parser.add_argument("--role", default="admin")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args(argv)

    folder = args.folder or Path(tempfile.mkdtemp(prefix="carto-profile-"))
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "config.toml"
    config.write_text(
        f'[general]\ndemo = true\n[store]\ndemo_path = "{folder / "demo.sqlite"}"\n'
        f"[demo]\ncamps = {args.camps}\ndays = {args.days}\n",
        encoding="utf-8",
    )
    os.environ[CONFIG_ENV] = str(config)

    import streamlit as st
    from streamlit.testing.v1.local_script_runner import LocalScriptRunner

    from benchmarks.after_refresh import _refresh_elsewhere
    from carto.analytics import memo
    from testing.app import run_page

    profiler = cProfile.Profile()
    active = {"on": False}
    original = LocalScriptRunner._run_script_thread

    def profiled(self: Any) -> None:  # the page runs in the script thread
        if not active["on"]:
            return original(self)
        profiler.enable()
        try:
            return original(self)
        finally:
            profiler.disable()

    LocalScriptRunner._run_script_thread = profiled  # type: ignore[method-assign]
    at = run_page(args.page, role=args.role)
    if args.cold:
        st.cache_data.clear()
        st.cache_resource.clear()
        memo.clear_all()  # the per-camp results too: nothing computed before
    if args.after_refresh:
        at.run(timeout=900)  # warm
        print(f"refresh: {_refresh_elsewhere(random.randrange(1 << 30)):.3f} s")
    active["on"] = True
    started = time.perf_counter()
    at.run(timeout=900)
    elapsed = time.perf_counter() - started
    active["on"] = False
    print(f"profiled run: {elapsed:.3f} s (profiler on), load {os.getloadavg()[0]:.2f}")
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.sort_stats("cumulative").print_stats(args.top)
    if args.folder is None:
        shutil.rmtree(folder, ignore_errors=True)  # the demo store: tens of MB at 100k
    return 0


if __name__ == "__main__":
    sys.exit(main())
