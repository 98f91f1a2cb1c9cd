"""Every page under Streamlit's AppTest, cold and warm, in a fresh process.

Run by ``benchmarks.run`` once per base size, with ``CARTO_CONFIG`` pointing at the
configuration to use: a fresh process makes the first run truly cold and
``VmHWM`` the peak memory of the app alone (no fake server, no generator).

- app start: the first run of the app (imports, sign-in form, sign-in, default page);
- cold: a page's run right after every Streamlit cache was cleared (loading the snapshot,
  normalising, analytics, drawing);
- warm: the same page run again (``AppTest.run()``, a rerun with the data cached);
  the median of ``--warm-runs`` reruns;
- versions (``--versions N``): after that, N new snapshot versions one after the other,
  each a 10-record refresh written to the store by this process (as the app's own
  background refresh does: ``benchmarks.ready.refresh``) followed by a run of every
  page, with the caches left as the app leaves them; the resident memory after each
  version tells whether the process keeps the previous versions' data.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RUN_TIMEOUT = 900


def rss_mib() -> float:
    """The resident memory of this process now, in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mib() -> float:
    """The peak resident memory of this process's own program, in MiB: ``VmHWM``.

    Not ``ru_maxrss``: Linux keeps it across ``exec`` from the process that spawned
    this one (``fork``/``vfork`` then ``exec`` record the parent's peak into the
    child's), so a page run started by a benchmark that had loaded 100,000 records
    reported the benchmark's peak, not its own (948 against 553 MiB measured)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pages_in_files(root: Path = ROOT) -> list[str]:
    """The pages named in ``app.py`` first, then any other file of ``pages/``."""
    listed = re.findall(r"[\"'](pages/[\w-]+\.py)[\"']", (root / "app.py").read_text("utf-8"))
    others = sorted(p.relative_to(root).as_posix() for p in (root / "pages").glob("*.py"))
    return list(dict.fromkeys([*listed, *others]))


def discover_pages(role: str) -> list[str]:
    """The pages ``role`` may open, in menu order (the app's page registry when there is
    one, else the files)."""
    try:
        from carto.ui.navigation import specs_for
    except ImportError:
        return pages_in_files()
    return [spec.path for spec in specs_for(role)]


def map_payload_bytes(at: Any) -> int | None:
    """Bytes of the deck.gl JSON the page sent, if it drew a map."""
    charts = at.get("deck_gl_json_chart")
    if not charts:
        return None
    return len(charts[0].proto.json.encode("utf-8"))


def _errors(at: Any) -> str | None:
    """The page's failure, if any: an exception, or the French message that replaces
    an unexpected one (carto/ui/errors.py; its traceback is in the log)."""
    from carto.i18n import t

    prefix = t("error.unexpected", reference="@").split("@")[0]
    found = [str(e.value) for e in at.exception]
    found += [str(e.value) for e in at.error if str(e.value).startswith(prefix[:40])]
    return "; ".join(v[:300] for v in found) or None


def _run_pages(at: Any, pages: list[str]) -> list[str]:
    """Run each page once (caches as they are); the failures, if any."""
    failed = []
    for page in pages:
        at.switch_page(page)
        at.run(timeout=RUN_TIMEOUT)
        error = _errors(at)
        if error:
            failed.append(f"{page}: {error}")
    return failed


def versions_growth(at: Any, role: str, count: int) -> dict[str, Any]:
    """Memory across ``count`` new snapshot versions, each followed by a run of every page:
    the resident memory after each, and its growth per version after the first."""
    import random

    from benchmarks.ready import refresh
    from carto.dataset import open_store
    from carto.settings import load_settings

    settings = load_settings()
    store = open_store(settings)
    rng = random.Random(15)
    pages = discover_pages(role)
    rows: list[dict[str, Any]] = []
    after: list[float] = []
    for _ in range(count):
        refresh_seconds = refresh(store, settings, rng, ready=True)
        started = time.perf_counter()
        failed = _run_pages(at, pages)
        rows.append(
            {
                "version": store.version,
                "refresh_seconds": refresh_seconds,
                "pages_seconds": time.perf_counter() - started,
                "rss_after_mib": rss_mib(),
                "peak_so_far_mib": peak_rss_mib(),
                "errors": failed,
            }
        )
        after.append(rows[-1]["rss_after_mib"])
    steps = [b - a for a, b in itertools.pairwise(after)]
    return {
        "how": "per version: a 10-record refresh in this process, then every page once",
        "versions": rows,
        "growth_per_version_mib": steps,
        "growth_after_first_mib": after[-1] - after[0] if after else 0.0,
        "median_growth_per_version_mib": statistics.median(steps) if steps else 0.0,
    }


def measure(role: str, password: str, warm_runs: int, versions: int = 0) -> dict[str, Any]:
    # The app's libraries are imported first: the baseline counts them, not the data.
    import plotly.express  # noqa: F401
    import streamlit as st

    import carto.ui.data  # noqa: F401
    from testing.app import login, new_app

    baseline = rss_mib()
    started = time.perf_counter()
    at = login(new_app(), role, password)  # runs the app, signs in: the default page
    app_start = time.perf_counter() - started
    pages: dict[str, dict[str, Any]] = {}
    payload = None
    for page in discover_pages(role):
        st.cache_data.clear()
        st.cache_resource.clear()
        at.switch_page(page)
        started = time.perf_counter()
        at.run(timeout=RUN_TIMEOUT)
        cold = time.perf_counter() - started
        error = _errors(at)
        if error:
            pages[page] = {"cold_seconds": cold, "error": error}
            continue
        warm = []
        for _ in range(warm_runs):
            started = time.perf_counter()
            at.run(timeout=RUN_TIMEOUT)
            warm.append(time.perf_counter() - started)
        pages[page] = {
            "cold_seconds": cold,
            "warm_seconds": warm,
            "warm_median_seconds": statistics.median(warm),
            "error": _errors(at),
        }
        # where the memory goes: the process's size after the page, the peak so far
        pages[page]["rss_after_mib"] = rss_mib()
        pages[page]["peak_so_far_mib"] = peak_rss_mib()
        sent = map_payload_bytes(at)
        if sent is not None:
            pages[page]["map_payload_bytes"] = sent
            payload = sent if payload is None else max(payload, sent)
    peak = peak_rss_mib()
    growth = versions_growth(at, role, versions) if versions else None
    return {
        "role": role,
        "app_start_seconds": app_start,
        "pages": pages,
        "map_payload_bytes": payload,
        "memory": {
            "how": "VmHWM of the page subprocess (whole process: Python, Streamlit, data)",
            "baseline_rss_mib": baseline,
            "peak_rss_mib": peak,
        },
        "versions": growth,
        "load_average": os.getloadavg(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    parser.add_argument("--role", default="admin", help="account to sign in with")
    parser.add_argument("--password", required=True)
    parser.add_argument("--warm-runs", type=int, default=3)
    parser.add_argument("--versions", type=int, default=0, help="new versions afterwards")
    args = parser.parse_args(argv)
    result = measure(args.role, args.password, args.warm_runs, args.versions)
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
