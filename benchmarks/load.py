"""Issue 15/16: the load scenario. Sessions of mixed roles clicking through pages at once.

``python -m benchmarks.load [--camps 350] [--sessions 10] [--rounds 2] [--waves 3]``:

1. a store of the demo generator (seed 56, 365 days, 350 camps ≈ 100,000 passages), its
   ready frames built once (``prepared.load``), one account per session;
2. a real ``streamlit run app.py`` in live mode (accounts file, cookie key from the
   environment, no Airtable reached: ``[sync] app_refresh = false``), loopback only;
3. **alone**: one session per role, one after the other, walks that role's pages
   (``navigation.specs_for``) once to warm the caches, then for ``--rounds`` rounds:
   the baseline;
4. **waves**: ``--sessions`` sessions (roles mixed: ``ROLE_MIX``) open within
   ``STAGGER_SECONDS``, each walks its role's pages in its own random order for
   ``--rounds`` rounds, with a think time between clicks, then all close; ``--waves``
   times (memory per session and growth across waves), then ``--refresh-waves`` more
   (default 1), during each of which a 10-record refresh (a new version) is committed
   halfway by a process of its own, as the sync worker would: its "first page after a
   refresh" is each session's first page asked for after the commit
   (``mark_after_refresh``, by the commit's instant);
5. **two replicas**: two fresh ``streamlit run`` processes on the same store, the same
   sessions split between them (as sticky sessions through the proxy), alone walks on
   each, then one wave like those of step 4.

The clients are websocket clients speaking Streamlit's protocol (``benchmarks.
load_client``), signed in by a cookie minted as the app mints it; a run counts only if
it drew its page. Page time: from the rerun sent to ``script_finished``. Memory: the
server's VmRSS and VmHWM (``/proc/PID/status``); its CPU time per wave
(``/proc/PID/stat``). The clients share one event loop: how late its timers ran at
worst in each wave (``client_lag_max_seconds``) tells whether the clients themselves
delayed the clicks or the reading of the answers. ``--server-option`` passes options
to the servers (e.g. ``runner.postScriptGC=false``). Writes ``benchmarks/results/
<date>_load.json`` (every page run, the machine, the load averages) and prints tables.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import multiprocessing
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchmarks import airtable_bench as ab
from benchmarks import load_report
from benchmarks.load_client import PageRun, Session
from benchmarks.ready import PAGE_ROLES, refresh, write_live_config
from benchmarks.report import machine_info, write_json
from carto import accounts, demo, prepared
from carto.accounts import ADMIN, COORDINATOR, PARTNER, VOLUNTEER
from carto.dataset import recipe
from carto.options import AuthOptions
from carto.settings import CONFIG_ENV, TOKEN_ENV, Settings, load_settings
from carto.store import AuthStore, SnapshotStore
from carto.ui.navigation import specs_for
from testing.app import TEST_COOKIE_KEY, TEST_PASSWORD
from testing.processes import stop

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
# 10 sessions: the coordinators and volunteers of an evening, an admin, partners
ROLE_MIX = (
    COORDINATOR,
    VOLUNTEER,
    PARTNER,
    ADMIN,
    COORDINATOR,
    VOLUNTEER,
    COORDINATOR,
    VOLUNTEER,
    PARTNER,
    ADMIN,
)
MEMORY_BOUND_MIB = 25.0  # per session, and left behind per wave once its sessions closed
SETTLE_SECONDS = 3.0  # after closing: the server ends the sessions
STAGGER_SECONDS = 5.0  # the sessions of a wave open within this many seconds
WAVE_LIMIT_SECONDS = 900.0
LAG_TICK_SECONDS = 0.05  # how often the clients' event loop is checked for lateness
_T0 = time.perf_counter()


def log(message: str) -> None:
    print(f"[{time.perf_counter() - _T0:7.1f} s] {message}", file=sys.stderr, flush=True)


def role_of(index: int) -> str:
    return ROLE_MIX[index % len(ROLE_MIX)]


def prepare(folder: Path, camps: int, sessions: int, days: int = 365) -> tuple[Settings, int]:
    """The demo store with its ready frames, a live config, one account per session (and
    one per role for the walks alone); the settings and the number of passages."""
    settings = write_live_config(folder)
    config = Path(str(settings.source))
    text = config.read_text("utf-8").replace("[sync]\n", "[sync]\napp_refresh = false\n", 1)
    config.write_text(text, "utf-8")
    path = accounts.accounts_path(settings)
    for name, role in account_names(sessions).items():
        if name not in PAGE_ROLES:  # write_live_config's accounts, named after their role
            accounts.add_account(path, name, TEST_PASSWORD, role, rounds=4)
    base = demo.generate(seed=ab.SEED, days=days, today=ab.demo_today(), n_camps=camps)
    store = SnapshotStore(settings.store_location)
    with store.transaction() as conn:
        store.replace_table(conn, "sites", base.sites)
        store.replace_table(conn, "passages", base.passages)
    prepared.load(store, recipe(settings))
    return settings, len(base.passages)


def account_names(sessions: int) -> dict[str, str]:
    """Account name → role: one per role (named after it), then one per session."""
    names = {role: role for role in (ADMIN, COORDINATOR, VOLUNTEER, PARTNER)}
    names |= {f"{role_of(i)}-{i}": role_of(i) for i in range(sessions)}
    return names


def cookie(settings: Settings, username: str) -> str:
    """The "name=value" sign-in cookie the app would have set for ``username`` (its
    session epoch and password mark, this store, the cookie key), the account marked
    active just now."""
    db = AuthStore(settings.store_location)
    db.touch_session(username)
    key = accounts.effective_cookie_key(settings, TEST_COOKIE_KEY)
    options = AuthOptions.from_settings(settings)
    account = accounts.load_accounts(settings)[username]
    token = accounts.issue_token(
        username,
        db.session_epoch(username),
        key,
        options.cookie_expiry_days,
        db.instance_id(),
        mark=accounts.credentials_mark(account),
    )
    return f"{options.cookie_name}={token}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve(config: Path, log_path: Path, extra: Sequence[str] = ()) -> Iterator[tuple[str, int]]:
    """``streamlit run app.py`` on a free loopback port; yields its URL and process id."""
    port = _free_port()
    env = {**os.environ, CONFIG_ENV: str(config), TOKEN_ENV: ab.TOKEN}
    env[accounts.COOKIE_KEY_ENV] = TEST_COOKIE_KEY
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py")]
    cmd += ["--server.headless", "true", "--server.port", str(port)]
    # a file of the tree edited during a run must not reload the server's modules
    cmd += ["--server.fileWatcherType", "none"]
    cmd += ["--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false", *extra]
    with log_path.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while not _healthy(url):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(log_path.read_text("utf-8")[-4000:])
                time.sleep(0.3)
            yield url, proc.pid
        finally:
            stop(proc, timeout=30)


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def server_errors(log_path: Path, limit: int = 400) -> list[str]:
    """The errors a server logged (each with the 40 lines after it: its traceback)."""
    lines = log_path.read_text("utf-8", errors="replace").splitlines()
    keep: list[str] = []
    until = -1
    for i, line in enumerate(lines):
        if "Traceback" in line or " ERROR " in line or "Unexpected error" in line:
            until = i + 40
        if i <= until:
            keep.append(line)
    return keep[:limit]


def memory_mib(pid: int) -> dict[str, float]:
    """The process's resident memory now (VmRSS) and at its peak (VmHWM), in MiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) / 1024  # kB
    return {"rss_mib": fields["VmRSS"], "hwm_mib": fields["VmHWM"]}


def cpu_seconds(pid: int, thread: int | None = None) -> float:
    """CPU time the process used so far, user and system (``/proc/PID/stat``); with
    ``thread``, that thread's alone (``/proc/PID/task/TID/stat``: the main thread's id
    is the process's: Tornado's event loop, which writes every message to the
    websockets, while the scripts run in threads of their own)."""
    where = f"/proc/{pid}" if thread is None else f"/proc/{pid}/task/{thread}"
    fields = Path(f"{where}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def walk_order(role: str, rounds: int, rng: random.Random) -> list[str]:
    """The pages a session asks for: every page of its role, in a new random order each
    round (the session's first run, the default page, comes before)."""
    pages = [spec.url_path for spec in specs_for(role)]
    order: list[str] = []
    for _ in range(rounds):
        rng.shuffle(pages)
        order += pages
    return order


class Walker:
    """Runs sessions and keeps their page runs, marking each session's first page after
    the last refresh. The sessions of a wave stay open until every one has walked."""

    def __init__(self, think: tuple[float, float], seed: int) -> None:
        self.think = think
        self.seed = seed
        self.runs: list[dict[str, Any]] = []
        self.done = 0
        self.expected = 0
        self.halfway = asyncio.Event()
        self.walking = 0
        self.all_walked = asyncio.Event()
        self.release = asyncio.Event()

    def start_wave(self, sessions: int, expected: int) -> None:
        self.done, self.expected, self.walking = 0, expected, sessions
        for event in (self.halfway, self.all_walked, self.release):
            event.clear()

    def record(self, run: PageRun, **labels: Any) -> None:
        self.runs.append({**asdict(run), **labels})
        self.done += 1
        if self.expected and self.done * 2 >= self.expected:
            self.halfway.set()

    async def walk(
        self,
        url: str,
        user: str,
        role: str,
        cookie_value: str,
        rounds: int,
        phase: str,
        think: bool = True,
    ) -> None:
        """One session: its first run, then its role's pages ``rounds`` times."""
        rng = random.Random(f"{self.seed}-{phase}-{user}")
        if think:  # people open the app over a few seconds, not in the same instant
            await asyncio.sleep(rng.uniform(0.0, STAGGER_SECONDS))
        session = Session(url, cookie_value)
        await session.open()
        try:
            labels = {"role": role, "user": user, "phase": phase, "server": url}
            self.record(await session.run(), start=True, after_refresh=False, **labels)
            for page in walk_order(role, rounds, rng):
                if think:
                    await asyncio.sleep(rng.uniform(*self.think))
                self.record(await session.run(page), start=False, after_refresh=False, **labels)
        finally:
            self.walking -= 1
            if self.walking <= 0:
                self.all_walked.set()
            await self.release.wait()
            await session.close()


def mark_after_refresh(runs: Sequence[dict[str, Any]], phase: str, committed_at: float) -> int:
    """Mark each session's first run of ``phase`` asked for at or after the commit
    (``committed_at``, ``time.monotonic()``) as its first page after the refresh; how
    many were marked. Marked after the wave, from the commit's own instant: a mark taken
    when the refreshing process had answered came late, and missed the runs asked for
    in between."""
    first: dict[str, dict[str, Any]] = {}
    for run in sorted(runs, key=lambda r: float(r["started"])):
        if run["phase"] == phase and run["started"] >= committed_at:
            first.setdefault(str(run["user"]), run)
    for run in first.values():
        run["after_refresh"] = True
    return len(first)


async def loop_lag(stop: asyncio.Event, tick: float = LAG_TICK_SECONDS) -> float:
    """How late, at worst, a timer of this event loop fired until ``stop`` is set
    (seconds): a blocked loop delays the clients' clicks and their reading alike."""
    worst = 0.0
    while not stop.is_set():
        due = time.monotonic() + tick
        await asyncio.sleep(tick)
        worst = max(worst, time.monotonic() - due)
    return worst


async def wave(
    walker: Walker,
    urls: Sequence[str],
    settings: Settings,
    args: argparse.Namespace,
    phase: str,
    pids: Sequence[int],
    refresh_store: bool = False,
) -> dict[str, Any]:
    """``args.sessions`` sessions at once, spread over ``urls``; the servers' memory once
    all have walked (still open) and after they closed; with ``refresh_store``, a
    10-record refresh committed when half the expected page runs are done."""
    users = [(f"{role_of(i)}-{i}", role_of(i)) for i in range(args.sessions)]
    walker.start_wave(len(users), sum(1 + args.rounds * len(specs_for(r)) for _, r in users))
    tasks = [
        walker.walk(urls[i % len(urls)], user, role, cookie(settings, user), args.rounds, phase)
        for i, (user, role) in enumerate(users)
    ]
    info: dict[str, Any] = {"phase": phase, "sessions": len(users), "servers": len(urls)}
    if refresh_store:
        tasks.append(_refresh_halfway(walker, settings, info))
    started, cpu = time.monotonic(), [cpu_seconds(pid) for pid in pids]
    main_cpu = [cpu_seconds(pid, pid) for pid in pids]
    stop_lag = asyncio.Event()
    lag = asyncio.ensure_future(loop_lag(stop_lag))
    gathered = asyncio.gather(*tasks)
    await asyncio.wait_for(walker.all_walked.wait(), WAVE_LIMIT_SECONDS)
    stop_lag.set()
    info["client_lag_max_seconds"] = await lag
    info["seconds"] = time.monotonic() - started
    info["server_cpu_seconds"] = [cpu_seconds(pid) - c for pid, c in zip(pids, cpu, strict=True)]
    info["server_main_thread_cpu_seconds"] = [
        cpu_seconds(pid, pid) - c for pid, c in zip(pids, main_cpu, strict=True)
    ]
    info["runs"] = walker.done
    info["open_mib"] = [memory_mib(pid)["rss_mib"] for pid in pids]
    info["peak_so_far_mib"] = [memory_mib(pid)["hwm_mib"] for pid in pids]
    walker.release.set()
    await gathered
    if refresh_store:
        info["after_refresh_marked"] = mark_after_refresh(
            walker.runs, phase, info["refresh_committed_at"]
        )
        info["after_refresh"] = load_report.overall(
            [r for r in walker.runs if r["phase"] == phase and r["after_refresh"]]
        )
    await asyncio.sleep(SETTLE_SECONDS)
    info["closed_mib"] = [memory_mib(pid)["rss_mib"] for pid in pids]
    info["load_average"] = os.getloadavg()
    return info


def refresh_store(config: str) -> tuple[float, int, float]:
    """A 10-record refresh of the store of ``config``, as the sync commits it (records,
    new version, ready frames); its duration, the new version and the commit's instant
    (``time.monotonic()``: one clock for every process of the machine on Linux)."""
    settings = load_settings(config)
    store = SnapshotStore(settings.store_location)
    seconds = refresh(store, settings, random.Random(16), True)
    return seconds, store.version, time.monotonic()


async def _refresh_halfway(walker: Walker, settings: Settings, info: dict[str, Any]) -> None:
    # in a process of its own, as the sync worker: in this one it would hold the
    # interpreter lock for seconds, and the clients' reading with it
    loop = asyncio.get_running_loop()
    config = str(settings.source)
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    try:
        await loop.run_in_executor(pool, load_settings, config)  # started and imported
        await walker.halfway.wait()
        seconds, version, committed = await loop.run_in_executor(pool, refresh_store, config)
    finally:
        # not in this loop: waiting for the process to exit (0.6 s and more, its frames
        # freed) held every client still, then let their clicks out all at once
        await asyncio.to_thread(pool.shutdown)
    info["refresh_seconds"] = seconds
    info["refresh_version"] = version
    info["refresh_committed_at"] = committed


async def alone(
    walker: Walker, url: str, settings: Settings, rounds: int, pid: int
) -> dict[str, float]:
    """One session per role, one after the other, no think time (nothing else runs):
    first a warm-up walk of one round (the pages' first runs, not counted), then the
    walk measured. Returns the server's memory after the first (admin) warm-up walk,
    its session still open."""
    first: dict[str, float] = {}
    for phase, n in (("warmup", 1), ("alone", rounds)):
        for role in (ADMIN, COORDINATOR, VOLUNTEER, PARTNER):
            walker.start_wave(1, 0)
            task = asyncio.ensure_future(
                walker.walk(url, role, role, cookie(settings, role), n, phase, think=False)
            )
            await walker.all_walked.wait()
            first = first or memory_mib(pid)
            walker.release.set()
            await task
    return first


def stats(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Statistics of ``runs``: overall, sessions' first runs (sign-in from the cookie and
    the default page) and the other runs (clicks) apart, per role, per page."""
    return {
        "overall": load_report.overall(runs),
        "session_starts": load_report.overall([r for r in runs if r["start"]]),
        "clicks": load_report.overall([r for r in runs if not r["start"]]),
        "per_role": load_report.grouped(runs, lambda r: str(r["role"])),
        "per_page": load_report.grouped(runs, lambda r: str(r["page"])),
    }


async def one_replica(
    args: argparse.Namespace, url: str, pid: int, settings: Settings, walker: Walker
) -> dict[str, Any]:
    """Alone walks, ``args.waves`` waves, then the wave with a refresh, on one server."""
    memory: dict[str, Any] = {"start_mib": memory_mib(pid)["rss_mib"], "waves": []}
    log("1 replica: walks alone (one session per role)")
    memory["one_session_mib"] = (await alone(walker, url, settings, args.rounds, pid))["rss_mib"]
    await asyncio.sleep(SETTLE_SECONDS)
    memory["warm_mib"] = memory_mib(pid)["rss_mib"]
    waves = []
    for i in range(args.waves):
        log(f"1 replica: wave {i + 1} of {args.sessions} sessions")
        info = await wave(walker, [url], settings, args, f"wave{i + 1}", [pid])
        memory["waves"].append(
            {"open_mib": info["open_mib"][0], "closed_mib": info["closed_mib"][0]}
        )
        waves.append(info)
    memory["refresh_waves"] = []
    for i in range(args.refresh_waves):
        log(f"1 replica: a wave with a 10-record refresh halfway ({i + 1})")
        phase = "refresh" if i == 0 else f"refresh{i + 1}"
        info = await wave(walker, [url], settings, args, phase, [pid], refresh_store=True)
        after = {"open_mib": info["open_mib"][0], "closed_mib": info["closed_mib"][0]}
        memory["refresh_waves"].append(after)
        memory["refresh_wave"] = after  # the last one's
        waves.append(info)
    memory["peak_mib"] = memory_mib(pid)["hwm_mib"]
    memory["check"] = load_report.memory_check(memory, args.sessions, MEMORY_BOUND_MIB)
    runs = walker.runs
    return stats([r for r in runs if r["phase"].startswith("wave")]) | {
        "alone": stats([r for r in runs if r["phase"] == "alone"]),
        "after_refresh": load_report.overall([r for r in runs if r["after_refresh"]]),
        "refresh_wave": stats([r for r in runs if r["phase"].startswith("refresh")]),
        "waves": waves,
        "memory": memory,
    }


async def two_replicas(
    args: argparse.Namespace,
    servers: Sequence[tuple[str, int]],
    settings: Settings,
    walker: Walker,
) -> dict[str, Any]:
    """The same sessions split over two servers (alone walks on each first)."""
    for url, pid in servers:
        log(f"2 replicas: walks alone on {url}")
        await alone(walker, url, settings, args.rounds, pid)
    urls, pids = [u for u, _ in servers], [p for _, p in servers]
    waves = []
    for i in range(args.replica_waves):
        log(f"2 replicas: wave {i + 1} of {args.sessions} sessions")
        waves.append(await wave(walker, urls, settings, args, f"wave{i + 1}", pids))
    runs = walker.runs
    return stats([r for r in runs if r["phase"].startswith("wave")]) | {
        "alone": stats([r for r in runs if r["phase"] == "alone"]),
        "waves": waves,
        "peak_mib": [memory_mib(pid)["hwm_mib"] for pid in pids],
    }


def run(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """The whole scenario in ``folder``; the result (see the module's docstring)."""
    log(f"store: demo, {args.camps} camps over 365 days, ready frames")
    settings, passages = prepare(folder, args.camps, args.sessions)
    config = Path(str(settings.source))
    extra = ["--server.disconnectedSessionTTL", str(args.session_ttl)]
    for option in args.server_option:
        name, _, value = option.partition("=")
        extra += [f"--{name}", value]
    result: dict[str, Any] = {
        "server_options": extra,
        "machine": machine_info(),
        "passages": passages,
        "label": f"{passages:,} passages, {args.sessions} sessions, {args.rounds} rounds",
        "sessions": args.sessions,
        "roles": [role_of(i) for i in range(args.sessions)],
        "rounds": args.rounds,
        "think_seconds": [args.think_min, args.think_max],
        "session_ttl_seconds": args.session_ttl,
        "load_average_start": os.getloadavg(),
    }
    walker = Walker((args.think_min, args.think_max), args.seed)
    with serve(config, folder / "streamlit-1.log", extra) as (url, pid):
        result["one_replica"] = asyncio.run(one_replica(args, url, pid, settings, walker))
    result["server_errors"] = {"1": server_errors(folder / "streamlit-1.log")}
    result["memory"] = result["one_replica"].pop("memory")
    if args.replica_waves:
        walker2 = Walker((args.think_min, args.think_max), args.seed)
        with contextlib.ExitStack() as stack:
            servers = [
                stack.enter_context(serve(config, folder / f"streamlit-r{i}.log", extra))
                for i in (1, 2)
            ]
            result["two_replicas"] = asyncio.run(two_replicas(args, servers, settings, walker2))
        result["two_replicas"]["runs"] = walker2.runs
        for i in (1, 2):
            result["server_errors"][f"r{i}"] = server_errors(folder / f"streamlit-r{i}.log")
    result["runs"] = walker.runs
    result["load_average_end"] = os.getloadavg()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--camps", type=int, default=350, help="350 ≈ 100,000 passages")
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2, help="walks through the pages")
    parser.add_argument("--waves", type=int, default=3, help="waves without a refresh")
    parser.add_argument(
        "--refresh-waves",
        type=int,
        default=1,
        help="waves with a refresh (each: 10 first pages after a refresh)",
    )
    parser.add_argument("--replica-waves", type=int, default=1, help="0: no replicas part")
    parser.add_argument("--think-min", type=float, default=0.5, help="seconds between clicks")
    parser.add_argument("--think-max", type=float, default=2.0)
    parser.add_argument(
        "--session-ttl",
        type=int,
        default=5,
        help="server.disconnectedSessionTTL (Streamlit's default: 120)",
    )
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument(
        "--server-option",
        action="append",
        default=[],
        help="a streamlit run option for the servers, e.g. runner.postScriptGC=false",
    )
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--suffix", default="", help="<date>_load<suffix>.json")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="carto-load-") as tmp:
        result = run(args, Path(tmp))
    date = dt.date.today().isoformat()
    write_json(args.results / f"{date}_load{args.suffix}.json", result)
    print(load_report.report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
