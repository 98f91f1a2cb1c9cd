"""Statistics and tables of the load scenario (``benchmarks.load``): no timing here.

A page run is a mapping with at least ``page``, ``role``, ``seconds`` and ``ok``; only
runs that drew their page (``ok``) enter the statistics, the others are counted apart.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from benchmarks.report import markdown_table

Run = Mapping[str, Any]


def nearest_rank(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0 < q ≤ 1) by nearest rank: a value that was measured, the
    smallest one with at least ``q`` of the values at or below it."""
    if not values:
        raise ValueError("no values")
    if not 0 < q <= 1:
        raise ValueError("q must be in (0, 1]")
    ordered = sorted(values)
    return ordered[max(math.ceil(q * len(ordered)), 1) - 1]


def summary(values: Sequence[float]) -> dict[str, float | int | None]:
    """count, median, p95 and max of ``values`` (None for an empty list)."""
    if not values:
        return {"count": 0, "median": None, "p95": None, "max": None}
    return {
        "count": len(values),
        "median": nearest_rank(values, 0.5),
        "p95": nearest_rank(values, 0.95),
        "max": max(values),
    }


def grouped(runs: Iterable[Run], key: Callable[[Run], str]) -> dict[str, dict[str, Any]]:
    """``summary`` of the good runs' seconds per ``key``, and the count of failed runs."""
    seconds: dict[str, list[float]] = {}
    failed: dict[str, int] = {}
    for run in runs:
        name = key(run)
        seconds.setdefault(name, [])
        failed.setdefault(name, 0)
        if run["ok"]:
            seconds[name].append(float(run["seconds"]))
        else:
            failed[name] += 1
    return {name: {**summary(seconds[name]), "failed": failed[name]} for name in sorted(seconds)}


def overall(runs: Iterable[Run]) -> dict[str, Any]:
    """``summary`` of every good run, with the count of failed ones."""
    return grouped(runs, lambda _: "all").get("all", {**summary([]), "failed": 0})


def ratio(loaded: float | None, alone: float | None) -> float | None:
    """loaded / alone, None when either is missing or alone is 0."""
    if loaded is None or not alone:
        return None
    return loaded / alone


def memory_check(samples: Mapping[str, Any], sessions: int, bound_mib: float) -> dict[str, Any]:
    """Memory per session and growth across waves, against ``bound_mib`` per session.

    ``samples`` holds ``warm_mib`` (the server after one session of each role, all
    closed) and ``waves``: per wave, ``open_mib`` (its ``sessions`` still connected) and
    ``closed_mib`` (after they closed). Per session: what a wave's open sessions add to
    what the server held before the wave, divided by their number (the largest over the
    waves). Growth: what each wave left behind after its sessions closed, beyond the
    previous wave; it must stay under one session's bound (closed sessions are freed)."""
    waves = samples["waves"]
    before = [samples["warm_mib"], *(w["closed_mib"] for w in waves[:-1])]
    per_session = [(w["open_mib"] - b) / sessions for w, b in zip(waves, before, strict=True)]
    growth = [w["closed_mib"] - b for w, b in zip(waves, before, strict=True)]
    worst_session = max(per_session)
    # the first wave may settle allocator arenas and caches: growth is judged after it
    later_growth = max(growth[1:]) if len(growth) > 1 else growth[0]
    return {
        "bound_mib_per_session": bound_mib,
        "per_session_mib": per_session,
        "growth_mib_per_wave": growth,
        "met": worst_session <= bound_mib and later_growth <= bound_mib,
    }


def _fmt(value: float | None, unit: str = " s") -> str:
    return "—" if value is None else f"{value:.2f}{unit}"


def stats_rows(stats: Mapping[str, Mapping[str, Any]], alone: Mapping[str, Any]) -> list[list[str]]:
    """One table row per group: count (failed), median, p95, max, p95 loaded / alone."""
    rows = []
    for name, s in stats.items():
        base = alone.get(name, {})
        rows.append(
            [
                name,
                f"{s['count']}" + (f" ({s['failed']} failed)" if s["failed"] else ""),
                _fmt(s["median"]),
                _fmt(s["p95"]),
                _fmt(s["max"]),
                _fmt(ratio(s["p95"], base.get("p95")), ""),
            ]
        )
    return rows


STATS_HEADER = ["", "runs", "median", "p95", "max", "p95 / alone"]


def _wave_row(wave: Mapping[str, Any]) -> list[str]:
    cpu = sum(wave["server_cpu_seconds"])
    return [
        f"{wave['phase']} ({wave['servers']} server(s))",
        f"{wave['seconds']:.0f} s",
        f"{cpu:.0f} s ({cpu / wave['seconds']:.2f} cores)",
        f"{cpu / wave['runs']:.2f} s" if wave.get("runs") else "—",
        f"{wave['load_average'][0]:.1f}",
    ]


def report(result: Mapping[str, Any]) -> str:
    """The markdown tables of a load result (see ``benchmarks.load``)."""
    one = result["one_replica"]
    alone = one["alone"]
    kinds = ("overall", "session_starts", "clicks")
    names = ("all runs", "sessions' first runs", "clicks (other runs)")
    parts = [
        markdown_table(
            ["page runs, 1 replica, " + result["label"], *STATS_HEADER[1:]],
            stats_rows(
                {n: one[k] for n, k in zip(names, kinds, strict=True)},
                {n: alone[k] for n, k in zip(names, kinds, strict=True)},
            )
            + stats_rows(one["per_role"], alone["per_role"])
            + stats_rows(one["per_page"], alone["per_page"])
            + stats_rows({"first page after a refresh": one["after_refresh"]}, {})
            + stats_rows({"every run of the refresh wave": one["refresh_wave"]["overall"]}, {}),
        )
    ]
    two = result.get("two_replicas")
    if two:
        rows = []
        for label, side in (("1 replica", one), ("2 replicas", two)):
            rows += stats_rows(
                {f"{label}: {n}": side[k] for n, k in zip(names, kinds, strict=True)},
                {f"{label}: {n}": side["alone"][k] for n, k in zip(names, kinds, strict=True)},
            )
        parts.append(
            markdown_table(["replicas (same sessions, same walk)", *STATS_HEADER[1:]], rows)
        )
    waves = [*one["waves"], *(two["waves"] if two else [])]
    parts.append(
        markdown_table(
            ["wave", "time", "servers' CPU", "CPU per page run", "load average"],
            [_wave_row(w) for w in waves],
        )
    )
    mem = result["memory"]
    check = mem["check"]
    rows = [
        ["server started, no session", f"{mem['start_mib']:.0f} MiB"],
        ["after 1 session (admin walk, open)", f"{mem['one_session_mib']:.0f} MiB"],
        ["after one session of each role (closed)", f"{mem['warm_mib']:.0f} MiB"],
    ]
    for i, wave in enumerate(mem["waves"], 1):
        rows.append(
            [
                f"wave {i}: {result['sessions']} sessions open / closed",
                f"{wave['open_mib']:.0f} / {wave['closed_mib']:.0f} MiB",
            ]
        )
    refresh = mem["refresh_wave"]
    rows += [
        [
            "after the refresh wave (open / closed)",
            f"{refresh['open_mib']:.0f} / {refresh['closed_mib']:.0f} MiB",
        ],
        ["peak (VmHWM)", f"{mem['peak_mib']:.0f} MiB"],
        ["per session (worst wave)", f"{max(check['per_session_mib']):.1f} MiB"],
        [
            "growth per wave after closing",
            ", ".join(f"{g:+.1f}" for g in check["growth_mib_per_wave"]) + " MiB",
        ],
        [
            f"bound: {check['bound_mib_per_session']:.0f} MiB per session and per wave",
            "met" if check["met"] else "MISSED",
        ],
    ]
    parts.append(markdown_table(["server memory (VmRSS, 1 replica)", ""], rows))
    return "\n\n".join(parts)
