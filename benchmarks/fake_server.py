"""The fake Airtable in its own process, driven from the benchmark through a pipe.

Airtable runs on other machines: the fake must not share the benchmark's interpreter.
In the same process, a garbage collection of the client's 100,000 fetched records
stalls the fake's handler threads too, which delays the moment the fake counts a
request for its rate limit: an artefact that produced 429s no real server would see.
Here the fake runs in a forked child (the base is handed over by the fork), and the
parent asks it, through a pipe, to reset its rate limits, edit records, advance its
clock or hand over its request log.

Both processes read ``time.monotonic()`` (one system-wide clock on Linux), so request
times from the child and garbage-collector pauses from the parent line up.
"""

from __future__ import annotations

import datetime as dt
import gc
import multiprocessing as mp
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from carto.base_setup import table_spec
from carto.settings import Settings
from testing.fake_airtable import FakeAirtable


class ShiftedClock:
    """Wall-clock UTC time plus an offset that ``advance`` moves forward. The parent and
    the child each hold one with the same offset: the sync's clock and the fake's."""

    def __init__(self, offset: dt.timedelta) -> None:
        self.offset = offset

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += dt.timedelta(seconds=seconds)


class TimedFakeAirtable(FakeAirtable):
    """The fake Airtable, also recording when it answered each request and the CPU time
    it spent (routing, rate check, formula evaluation, building the page), latency
    excluded.

    The fake checks its rate limit when it answers, after its latency: like Airtable,
    it counts a request when it arrives, not when the client sent it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.answers: list[tuple[float, float, int]] = []  # (monotonic, seconds, status)

    def _answer(self, *args: Any, **kwargs: Any) -> Any:
        at, started = time.monotonic(), time.perf_counter()
        status = 0
        try:
            answer = super()._answer(*args, **kwargs)
            status = int(answer[0])
            return answer
        finally:
            self.answers.append((at, time.perf_counter() - started, status))


class GcPauses:
    """Records this process's garbage-collector pauses (every thread stops meanwhile)."""

    def __init__(self, threshold: float = 0.02) -> None:
        self.threshold = threshold
        self.pauses: list[tuple[float, float, int]] = []  # (monotonic start, seconds, gen)
        self._start = 0.0

    def _callback(self, phase: str, info: Mapping[str, Any]) -> None:
        if phase == "start":
            self._start = time.monotonic()
            return
        seconds = time.monotonic() - self._start
        if seconds >= self.threshold:
            self.pauses.append((self._start, seconds, int(info["generation"])))

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)


def gc_summary(pauses: Sequence[tuple[float, float, int]], threshold: float) -> dict[str, Any]:
    return {
        "over_seconds": threshold,
        "count": len(pauses),
        "max_seconds": max((p[1] for p in pauses), default=0.0),
        "total_seconds": sum(p[1] for p in pauses),
    }


@dataclass
class ServerLog:
    """What the fake saw since the last reset."""

    requests: list[tuple[str, str, int, float]]  # (method, path, status, received)
    answers: list[tuple[float, float, int]]  # (answered, cpu seconds, status)
    gc_pauses: list[tuple[float, float, int]]  # the fake's own collector pauses

    @property
    def calls(self) -> int:
        return len(self.requests)

    def count(self, status: int) -> int:
        return sum(1 for r in self.requests if r[2] == status)

    @property
    def cpu_seconds(self) -> float:
        return sum(a[1] for a in self.answers)


def send_delays(log: ServerLog, slots: Sequence[float]) -> list[float]:
    """For a sequential client: seconds from each request's rate-limiter slot (granted
    in the benchmark's process) to its arrival at the fake, in order."""
    received = sorted(r[3] for r in log.requests)
    if len(received) != len(slots):
        return []
    return [r - s for r, s in zip(received, sorted(slots), strict=True)]


def rate_limit_evidence(
    log: ServerLog,
    client_gc: Sequence[tuple[float, float, int]],
    limit: int,
    slots: Sequence[float] = (),
) -> list[dict[str, Any]]:
    """For each 429 (the first five): the requests the fake counted in the second
    before (on arrival, as Airtable does), when the client's limiter had granted each
    its slot and when the fake received it, and the garbage-collector pauses of either
    process in the 2.5 s before. Times in seconds from the first request counted."""
    answers = sorted(log.answers)
    received = sorted(r[3] for r in log.requests)
    granted = sorted(slots) if len(slots) == len(received) else []
    out: list[dict[str, Any]] = []
    for at, _, status in answers:
        if status != 429:
            continue
        window = [a for a, _, s in answers if at - 1.0 < a <= at and s != 429]
        first = window[0] if window else at

        def pauses(
            items: Sequence[tuple[float, float, int]], first: float = first, at: float = at
        ) -> list[Any]:
            return [
                {"at": round(p[0] - first, 3), "seconds": round(p[1], 3), "generation": p[2]}
                for p in items
                if first - 2.5 <= p[0] <= at
            ]

        near = [i for i, r in enumerate(received) if first - 1.0 <= r <= at]
        out.append(
            {
                "counted_in_window": len(window),
                "limit": limit,
                "arrivals_s": [round(a - first, 3) for a in window],
                "received_s": [round(received[i] - first, 3) for i in near],
                "slots_s": [round(granted[i] - first, 3) for i in near] if granted else [],
                "client_gc_pauses": pauses(client_gc),
                "server_gc_pauses": pauses(log.gc_pauses),
            }
        )
        if len(out) >= 5:
            break
    return out


# ------------------------------------------------------------------- the child side


def _load(server: FakeAirtable, base_id: str, sites: list[Any], passages: list[Any]) -> None:
    plain = Settings({})
    sites_id = server.add_table(base_id, "Sites", table_spec(plain, "sites", {})["fields"])
    spec = table_spec(plain, "passages", {"sites": sites_id})
    server.add_table(base_id, "Passages", spec["fields"])
    server.load_records(base_id, "Sites", sites)
    server.load_records(base_id, "Passages", passages)


def _edit(server: FakeAirtable, base_id: str, n: int) -> list[str]:
    """Change ``n`` passages spread over the table, as volunteers would."""
    records = server.records(base_id, "Passages")
    step = max(1, len(records) // n)
    edited = [r["id"] for r in records[::step][:n]]
    for i, record_id in enumerate(edited):
        fields = {"Personnes": 40 + i, "Commentaire": "Relu par la coordination."}
        server.edit(base_id, "Passages", record_id, fields)
    return edited


def _child(conn: Connection, options: dict[str, Any], base: tuple[list[Any], list[Any]]) -> None:
    clock = ShiftedClock(options["offset"])
    server = TimedFakeAirtable(
        token=options["token"],
        rate_limit=options["rate_limit"],
        penalty_seconds=options["penalty"],
        latency_seconds=options["latency"],
        clock=clock,
    )
    server.start()
    _load(server, options["base_id"], *base)
    del base
    gc.collect()
    pauses = GcPauses()
    with pauses:
        conn.send(server.url)
        while True:
            command, arg = conn.recv()
            if command == "stop":
                break
            if command == "reset":
                server.reset_rate_limits()
                server.reset_log()
                server.answers.clear()
                pauses.pauses.clear()
                conn.send(None)
            elif command == "lift":
                server.reset_rate_limits()
                conn.send(None)
            elif command == "log":
                requests = [(e.method, e.path, e.status, e.timestamp) for e in server.requests]
                conn.send(ServerLog(requests, list(server.answers), list(pauses.pauses)))
            elif command == "advance":
                clock.advance(arg)
                conn.send(None)
            elif command == "edit":
                conn.send(_edit(server, options["base_id"], int(arg)))
            else:
                conn.send(ValueError(f"unknown command {command!r}"))
    server.stop()
    conn.send(None)


# ------------------------------------------------------------------ the parent side


class RemoteFake:
    """The parent's handle on the fake Airtable running in a child process."""

    def __init__(
        self,
        *,
        token: str,
        base_id: str,
        sites: list[Any],
        passages: list[Any],
        latency: float,
        rate_limit: float,
        penalty: float,
        clock: ShiftedClock,
    ) -> None:
        self.clock = clock
        options = {
            "token": token,
            "base_id": base_id,
            "latency": latency,
            "rate_limit": rate_limit,
            "penalty": penalty,
            "offset": clock.offset,
        }
        context = mp.get_context("fork")  # the child inherits the base, no copying
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_child, args=(child, options, (sites, passages)), daemon=True
        )
        self._process.start()
        self.url: str = self._call_raw()

    def _call_raw(self) -> Any:
        if not self._conn.poll(600):
            raise TimeoutError("the fake Airtable did not answer")
        answer = self._conn.recv()
        if isinstance(answer, Exception):
            raise answer
        return answer

    def _call(self, command: str, arg: Any = None) -> Any:
        self._conn.send((command, arg))
        return self._call_raw()

    def reset(self) -> None:
        """Lift any penalty, forget the request history, the log and the timings."""
        self._call("reset")

    def lift_penalty(self) -> None:
        self._call("lift")

    def log(self) -> ServerLog:
        result: ServerLog = self._call("log")
        return result

    def advance(self, minutes: float) -> None:
        """Move both clocks (the fake's and the sync's) forward."""
        self._call("advance", minutes * 60)
        self.clock.advance(minutes * 60)

    def edit(self, n: int) -> list[str]:
        result: list[str] = self._call("edit", n)
        return result

    def stop(self) -> None:
        if self._process.is_alive():
            try:
                self._call("stop")
            finally:
                self._process.join(30)
                if self._process.is_alive():
                    self._process.kill()
