"""The Airtable client: pyairtable with a per-base throttle, patient retries and a call count.

Airtable allows 5 requests per second per base and answers a burst with 429 and a
30-second penalty for the whole base; pyairtable's own retry gives up after about 3 s and
never retries 5xx. Every client built here sends through a ``ResilientSession`` that

- waits for the base's ``RateLimiter`` before each request: every thread and client of
  the process share it, and so does every process whose store is in the same folder
  (the file ``<store folder>/airtable-<base>.rate``, below);
- waits out a 429 penalty (``Retry-After`` when sent), holding the whole base meanwhile;
- retries 5xx, timeouts and dropped connections with exponential backoff (reads only:
  a write that may have been applied is not repeated);
- counts every HTTP request it sends, retries included (the monthly call budget);
- raises ``AirtableUnavailable`` after a bounded number of tries.

Errors are ours (``AirtableError`` and subclasses), with a French message for the user.

The limit, by arrival. Airtable counts a request when it *arrives*; the client only knows
when it sent it and when the answer came back. Spacing sends (the old limiter) breaks
as soon as a thread is delayed between its slot and its send (CPU contention, a garbage
collection): its late arrival joins the next window's requests, six in one second, and
the whole base is blocked for 30 s. So each request holds one of ``rate`` places from its
send until one second (plus ``RATE_WINDOW_MARGIN_SECONDS``) after its *effective send*:

    effective send = max(send, answer − fastest round trip)

and a new request goes only when a place is free. A request still in flight holds its
place whatever its age: nothing is sent while the ``rate`` previous ones all await their
answer. The correction moves a delayed request's window along with its delay: a request
held up on the way out (or at the server, or on the way back) shows a round trip longer
than the fastest, and its window starts that much later; an undelayed one keeps its send
time, so on a steady connection a sequential listing sends ``rate`` requests per
``1 + margin`` seconds, about 98 % of the ceiling at 5 requests/s. Why it holds: with
``a`` the arrival, ``a − send`` and ``answer − a`` are each at least their value in the
fastest round trip, up to the small jitter the margin absorbs; delays only lengthen them.
The fastest round trip must not be overestimated (a window would then move too little):
until ``ROUND_TRIP_SAMPLES`` answers were seen it counts as 0 (the answer's time bounds
the arrival), and it is then forgotten only slowly. Measured on the benchmark's fake
(150 ms a request, a loaded 2-core machine): with the fastest of the *first* few
answers trusted, one full sync in three met a 429 (a GC pause held the first request
up 20 ms while the estimate, from connection set-up, was still too high).

The limit, across processes. On SQLite the places live in a small JSON file next to the store,
``airtable-<base>.rate`` (``flock``-ed for each read-modify-write; ``time.monotonic`` is
one clock for every process of the machine), with the 429 pause and the recent round
trips: the app, a cron ``sync`` and a ``sync --watch`` worker sharing a store stay
within 5 requests/s together. A process that dies with a request in flight is noticed
(its pid is gone) and its place freed; an unreadable file makes the next request wait one
window. Processes in other containers sharing the folder share the limit too (one
kernel, one monotonic clock); their pids cannot be checked, so a place such a process
left in flight frees after ``STALE_SECONDS``. Without a store folder (or ``fcntl``, on
Windows) the same rule holds within the process only.

The limit, across hosts. With a PostgreSQL store (``[store] url``) the same record is a
row of the store's ``rate_limits`` table instead (``carto.store.RateStore``: locked with
``SELECT … FOR UPDATE`` for each read-modify-write), and its times are the database
server's clock (``clock_timestamp()``), the one clock the app replicas and the worker
share wherever they run. A process is named by host, pid namespace and pid: a dead one
is noticed on its own host, elsewhere its place frees after ``STALE_SECONDS``.

Taking a place ahead. When every place is held but one frees within a window (a
sequential listing's sixth request, waiting for the first's window to end), the request
takes it at once, recorded as sent at the time it frees, and waits in its process until
then (on the process's clock, read after the record's: never sooner). Every other
limiter sees the place held meanwhile. Looking at the record again once the place was
free, as before, put two round trips to PostgreSQL between that time and the send, and
each listing's window after it moved by them. A 429 met by another process during that
wait (at most a window) is seen by this one at its next request; one of its own process
makes it ask again.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import requests
from pyairtable import Api
from pyairtable.api.table import Table

from carto.i18n import t, t_n
from carto.private_files import make_private_dirs
from carto.settings import Settings, airtable_token
from carto.store import RateStore, backend_of, sqlite_file

try:
    import fcntl
except ImportError:  # Windows: the limit holds within each process only
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

Sleep = Callable[[float], None]
Clock = Callable[[], float]

RATE_WINDOW_SECONDS = 1.0
# Added to Airtable's one-second window, for the jitter the round-trip correction cannot
# see (a request reaching the server a little sooner after its send than the fastest
# round trip suggests); late arrivals are covered by the correction itself.
RATE_WINDOW_MARGIN_SECONDS = 0.02
# The fastest round trip estimates the part of a round trip that is not delay: trusted
# after this many answers, forgotten by this much per answer (0.1 s over 1,000 answers).
ROUND_TRIP_SAMPLES = 10
ROUND_TRIP_FORGET_SECONDS = 0.0001
# A request in flight longer than this no longer holds a place (its process is stuck, or
# gone in another container, where its pid cannot be checked): four read timeouts.
STALE_SECONDS = 120.0
# A pause further away than this was written before a reboot reset the clock.
PAUSE_CEILING_SECONDS = 3600.0
# How often a request waiting for another's answer looks again.
POLL_SECONDS = 0.005
MAX_BACKOFF_SECONDS = 60.0
ITERATOR_EXPIRED = "LIST_RECORDS_ITERATOR_NOT_AVAILABLE"


class AirtableError(Exception):
    """A failure to talk to Airtable, or a refusal to; ``str()`` is a French message."""


class AirtableConfigError(AirtableError):
    """The Airtable connection is not configured (token or base id missing)."""


class AirtableUnavailable(AirtableError):
    """Airtable gave no usable answer after every allowed try (network, 5xx, 429)."""

    def __init__(self, attempts: int, detail: str) -> None:
        super().__init__(t_n("airtable.error.unavailable", attempts, detail=detail))
        self.attempts = attempts
        self.detail = detail


class AirtableRequestError(AirtableError):
    """Airtable refused a request (an error answer other than 429 and 5xx)."""

    def __init__(self, status: int, error_type: str, detail: str) -> None:
        key = {401: "airtable.error.401", 403: "airtable.error.403", 404: "airtable.error.404"}
        text = t(
            key.get(status, "airtable.error.refused"),
            status=status,
            type=error_type,
            detail=detail,
        )
        super().__init__(text)
        self.status = status
        self.error_type = error_type
        self.detail = detail

    @property
    def offset_expired(self) -> bool:
        """The pagination offset expired: the listing must restart from the beginning."""
        return self.error_type == ITERATOR_EXPIRED

    @classmethod
    def from_response(cls, response: requests.Response) -> AirtableRequestError:
        """Read Airtable's ``{"error": {"type", "message"}}`` (or ``{"error": "TYPE"}``)."""
        error_type, detail = "", ""
        try:
            body = response.json()
        except ValueError:
            body = None
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            error_type = str(error.get("type", ""))
            detail = str(error.get("message", ""))
        elif isinstance(error, str):
            error_type = error
        return cls(response.status_code, error_type, detail or response.reason or "")


@dataclass(frozen=True)
class RetryPolicy:
    """How patiently to talk to Airtable (from the ``[airtable]`` settings)."""

    requests_per_second: float
    max_retries: int
    backoff_seconds: float
    penalty_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        """The policy the settings give (their declared defaults for ``Settings({})``)."""
        return cls(
            requests_per_second=settings["airtable.requests_per_second"],
            max_retries=settings["airtable.max_retries"],
            backoff_seconds=settings["airtable.backoff_seconds"],
            penalty_seconds=settings["airtable.penalty_seconds"],
        )

    def backoff(self, attempt: int) -> float:
        """Wait before retry number ``attempt`` (1, 2, …): doubles each time, capped."""
        return min(self.backoff_seconds * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS)


class RateLimiter:
    """At most ``rate`` requests in any second *as the server counts them*, for every
    thread, client and process that shares it (see the module docstring).

    ``acquire`` waits for a place and records the send; ``release`` records the answer
    (or its absence). With ``path`` the record lives in that file under an exclusive
    ``flock``, so every process using the same file shares one limit; with ``store``,
    in that PostgreSQL store's row ``name`` (its clock the database's; ``clock`` only
    times this process's waits for a place taken ahead), shared by every process on
    every host; without either, in this object only.
    """

    def __init__(
        self,
        rate: float,
        *,
        path: Path | None = None,
        store: RateStore | None = None,
        name: str = "airtable-meta",
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        margin: float = RATE_WINDOW_MARGIN_SECONDS,
    ) -> None:
        if rate <= 0:
            raise ValueError("requests per second must be positive")
        self.rate = rate
        self.path = path
        self.store = store
        self.name = name
        self.margin = margin
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._memory: dict[str, Any] = _empty_state()
        self._pauses = 0  # 429 pauses this limiter set (a reserved place then waits again)

    @property
    def burst(self) -> int:
        return max(1, math.floor(self.rate))

    def acquire(self) -> str:
        """Wait until a request may be sent, record it as in flight; returns its ticket
        for ``release``. A place that frees within a window is taken at once, for the
        time it frees (see ``_reserve``)."""
        while True:
            pauses = self._pauses
            with self._state() as (state, now, local):
                ready, known = self._ready_at(state, now)
                if ready <= now or known:
                    ticket = uuid.uuid4().hex[:16]
                    state["sends"].append([ticket, _process_id(), max(ready, now), None])
                    at = local + max(ready - now, 0.0)
                    break
            self._sleep(max(ready - now, POLL_SECONDS))
        if not self._reserve(ticket, at, pauses):
            return self.acquire()
        return ticket

    def _reserve(self, ticket: str, at: float, pauses: int) -> bool:
        """Wait, on this process's clock, for the place ``ticket`` took at a later time
        (``at``, that time on this clock: read after the record's, so no sooner).
        Taken rather than looked for again once free: on PostgreSQL the second look
        cost two round trips between the free place and the send, each moving every
        later window. Held meanwhile (in flight for every limiter), the place is given
        back if the wait fails or a 429 of this process paused the base meanwhile
        (False: ask again)."""
        wait = at - self._clock()
        if wait <= 0:
            return True
        try:
            self._sleep(wait)
        except BaseException:
            self.cancel(ticket)
            raise
        if self._pauses != pauses:
            self.cancel(ticket)
            return False
        return True

    def cancel(self, ticket: str) -> None:
        """The request of ``ticket`` was not sent: its place is free again."""
        with self._state() as (state, _, _):
            state["sends"] = [entry for entry in state["sends"] if entry[0] != ticket]

    def release(self, ticket: str, *, answered: bool = False) -> None:
        """The request of ``ticket`` got its answer (``answered``), or failed without
        one (timeout, dropped connection): it stops being in flight."""
        with self._state() as (state, now, _):
            for entry in state["sends"]:
                if entry[0] == ticket and entry[3] is None:
                    sent = float(entry[2])
                    if answered:
                        _learn_round_trip(state, now - sent)
                    entry[3] = max(sent, now - _fastest(state))
                    break

    def pause(self, seconds: float) -> None:
        """Hold every later request for ``seconds`` (a 429 penalty applies to the base)."""
        with self._state() as (state, now, _):
            until = now + seconds
            state["paused_until"] = max(float(state["paused_until"]), until)
            self._pauses += 1

    def _ready_at(self, state: dict[str, Any], now: float) -> tuple[float, bool]:
        """When the next request may go, and whether that time is known already (a
        place frees then, within a window: not an answer awaited, not a long pause);
        prunes what no longer holds a place."""
        window = RATE_WINDOW_SECONDS + self.margin
        held: list[list[Any]] = []
        for entry in state["sends"]:
            _, pid, sent, effective = entry
            if float(sent) > now + window:
                continue  # written before a reboot reset the clock
            if effective is None:
                if now - float(sent) > STALE_SECONDS or not _alive(str(pid)):
                    entry[3] = effective = now  # its process died with it in flight
                else:
                    held.append(entry)
                    continue
            if now < float(effective) + window <= now + 2 * window:
                held.append(entry)
        state["sends"] = held
        paused = float(state["paused_until"])
        if paused > now + PAUSE_CEILING_SECONDS:
            paused = state["paused_until"] = 0.0  # a clock reset, as above
        if len(held) < self.burst:
            ready = max(now, paused)
        else:
            releases = sorted(float(e[3]) + window for e in held if e[3] is not None)
            freed = len(held) - self.burst + 1  # places that must free up
            if len(releases) < freed:
                return max(now + POLL_SECONDS, paused), False  # wait for answers in flight
            ready = max(releases[freed - 1], paused)
        # no further: a send time beyond a window reads as written before a clock reset
        return ready, ready <= now + window

    @contextmanager
    def _state(self) -> Iterator[tuple[dict[str, Any], float, float]]:
        """The shared record, locked (this object's threads, then other processes), the
        time now on the record's clock, read once the lock is held, and the time on
        this process's clock read after it (the same on one host: one clock)."""
        with self._lock:
            if self.store is not None:
                with self.store.hold(self.name) as held:
                    local = self._clock()
                    state = _parse_state(held.state.encode(), held.now)
                    yield state, held.now, local
                    held.state = json.dumps(state, separators=(",", ":"))
                return
            if self.path is None or fcntl is None:
                now = self._clock()
                yield self._memory, now, now
                return
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                now = self._clock()
                state = _read_state(fd, now)
                yield state, now, now
                data = json.dumps(state, separators=(",", ":")).encode()
                os.lseek(fd, 0, os.SEEK_SET)
                os.write(fd, data)
                os.ftruncate(fd, len(data))
            finally:
                os.close(fd)  # releases the lock


def _empty_state() -> dict[str, Any]:
    return {"sends": [], "paused_until": 0.0, "fastest": None, "answers": 0}


def _learn_round_trip(state: dict[str, Any], seconds: float) -> None:
    """The fastest round trip seen, forgotten slowly (when the route gets slower for
    good, the estimate follows by ``ROUND_TRIP_FORGET_SECONDS`` per answer)."""
    fastest = state["fastest"]
    if fastest is not None:
        seconds = min(seconds, float(fastest) + ROUND_TRIP_FORGET_SECONDS)
    state["fastest"] = seconds
    state["answers"] = int(state["answers"]) + 1


def _fastest(state: dict[str, Any]) -> float:
    """The undelayed part of a round trip; 0 (an answer's time is its arrival's bound)
    until enough answers were seen: the first ones (a new connection, a process
    starting) are slow, and an estimate too high would move windows too little."""
    if state["fastest"] is None or int(state["answers"]) < ROUND_TRIP_SAMPLES:
        return 0.0
    return float(state["fastest"])


def _read_state(fd: int, now: float) -> dict[str, Any]:
    """The record in the file; an unreadable one (a process killed mid-write) makes the
    next request wait one full window, since what it held is unknown."""
    raw = b""
    while chunk := os.read(fd, 65536):
        raw += chunk
    return _parse_state(raw, now)


def _parse_state(raw: bytes, now: float) -> dict[str, Any]:
    """The record from its text (a file's bytes, a store row's text); see ``_read_state``."""
    if not raw:
        return _empty_state()
    try:
        state = json.loads(raw)
        if not isinstance(state, dict) or set(state) != set(_empty_state()):
            raise ValueError("unexpected rate state")
    except ValueError:
        log.warning("unreadable rate-limit state, waiting one window")
        return {**_empty_state(), "paused_until": now + RATE_WINDOW_SECONDS}
    return state


def _pid_namespace() -> str:
    """Which pid namespace this process is in (containers sharing the store's folder
    each have theirs): a pid means something only within it."""
    try:
        return str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        return ""


def _process_id() -> str:
    """``host/pid namespace:pid``: who holds a place, wherever the record is shared."""
    return f"{socket.gethostname()}/{_pid_namespace()}:{os.getpid()}"


def _alive(process: str) -> bool:
    """Whether the process of a ``_process_id`` still runs; one on another host or in
    another pid namespace is taken as running (its place frees after ``STALE_SECONDS``).
    A record written before hosts were named (``namespace:pid``) is of this host."""
    where, _, pid = process.rpartition(":")
    host, named, namespace = where.rpartition("/")
    if named and host != socket.gethostname():
        return True
    if namespace != _pid_namespace():
        return True
    if int(pid) == os.getpid():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


_LIMITERS: dict[tuple[str, Path | str | None], RateLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


def limiter_for(
    key: str, rate: float, directory: Path | None = None, store: str | None = None
) -> RateLimiter:
    """The limiter of one base: shared by every process using the PostgreSQL ``store``
    (its row ``airtable-<base>.rate`` in ``rate_limits``), else by every process whose
    store is in ``directory`` (the file ``airtable-<base>.rate`` there), else by this
    process only. Created on first use; ``rate`` updated."""
    name = rate_file_name(key)
    path = None
    if store is None and directory is not None and fcntl is not None:
        path = directory / name
    where: Path | str | None = store if store is not None else path
    with _LIMITERS_LOCK:
        limiter = _LIMITERS.get((key, where))
        if limiter is None:
            shared = RateStore(store) if store is not None else None
            limiter = RateLimiter(rate, path=path, store=shared, name=name)
            _LIMITERS[key, where] = limiter
        limiter.rate = rate
        return limiter


def rate_file_name(key: str) -> str:
    """``airtable-<base id>.rate`` (``airtable-meta.rate`` for token-wide calls): Airtable
    limits by base, whatever the host the requests go through."""
    base = re.sub(r"[^A-Za-z0-9_-]", "", key.rsplit("/", 1)[-1]) or "meta"
    return f"airtable-{base}.rate"


def rate_key(url: str) -> str:
    """What Airtable rate-limits a URL by: its host and base id ('' for token-wide calls)."""
    parts = urlsplit(url)
    segments = [unquote(s) for s in parts.path.split("/") if s]
    base = ""
    if len(segments) >= 4 and segments[1:3] == ["meta", "bases"]:
        base = segments[3]
    elif len(segments) >= 2 and segments[1] != "meta":
        base = segments[1]
    return f"{parts.scheme}://{parts.netloc}/{base}"


def _is_read(method: str, url: str) -> bool:
    """Safe to send twice: a GET, or the POST form of list records."""
    return method.upper() in ("GET", "HEAD") or urlsplit(url).path.endswith("/listRecords")


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:  # an HTTP date: fall back to the configured penalty
        return None


class ResilientSession(requests.Session):
    """A requests session that throttles, retries and counts (see the module docstring)."""

    def __init__(
        self,
        policy: RetryPolicy,
        *,
        sleep: Sleep = time.sleep,
        rate_dir: Path | None = None,
        rate_store: str | None = None,
    ) -> None:
        super().__init__()
        self.policy = policy
        self._sleep = sleep
        # Where the base's shared limit lives: a PostgreSQL store (every host), else a
        # folder (this host), else this process only.
        self.rate_dir = rate_dir
        self.rate_store = rate_store
        self._count_lock = threading.Lock()
        self.calls = 0

    def _count(self) -> None:
        with self._count_lock:
            self.calls += 1

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        method_s = method.decode() if isinstance(method, bytes) else str(method)
        url_s = url.decode() if isinstance(url, bytes) else str(url)
        key = rate_key(url_s)
        limiter = limiter_for(key, self.policy.requests_per_second, self.rate_dir, self.rate_store)
        attempts = self.policy.max_retries + 1
        detail = ""
        for attempt in range(1, attempts + 1):
            try:
                response = self._send(limiter, method_s, url_s, *args, **kwargs)
            except requests.Timeout:
                detail = t("airtable.detail.timeout")
                if not _is_read(method_s, url_s):
                    raise AirtableUnavailable(attempt, detail) from None
                wait = self.policy.backoff(attempt)
            except requests.ConnectionError:
                detail = t("airtable.detail.dropped")
                if not _is_read(method_s, url_s):
                    raise AirtableUnavailable(attempt, detail) from None
                wait = self.policy.backoff(attempt)
            else:
                status = response.status_code
                if status == 429:
                    detail = t("airtable.detail.rate_limited")
                    wait = _retry_after(response) or self.policy.penalty_seconds
                    limiter.pause(wait)
                elif status >= 500:
                    detail = t("airtable.detail.server_error", status=status)
                    if not _is_read(method_s, url_s):
                        raise AirtableUnavailable(attempt, detail)
                    wait = self.policy.backoff(attempt)
                else:
                    return response
                response.close()
            if attempt < attempts:
                self._sleep(wait)
        raise AirtableUnavailable(attempts, detail)

    def _send(self, limiter: RateLimiter, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        """One HTTP request, in flight for the limiter from its send to its answer."""
        ticket = limiter.acquire()
        self._count()
        answered = False
        try:
            response = super().request(method, url, *args, **kwargs)
            answered = True
            return response
        finally:
            limiter.release(ticket, answered=answered)


class AirtableClient(Api):
    """pyairtable's ``Api`` sending through a ``ResilientSession``, raising our errors."""

    def __init__(
        self,
        token: str,
        *,
        endpoint_url: str = "https://api.airtable.com",
        timeout_seconds: int = 30,
        policy: RetryPolicy | None = None,
        sleep: Sleep = time.sleep,
        rate_dir: Path | None = None,
        rate_store: str | None = None,
    ) -> None:
        super().__init__(
            token,
            timeout=(timeout_seconds, timeout_seconds),
            retry_strategy=None,
            endpoint_url=endpoint_url,
        )
        self.resilient = ResilientSession(
            policy or RetryPolicy.from_settings(Settings({})),
            sleep=sleep,
            rate_dir=rate_dir,
            rate_store=rate_store,
        )
        self.session = self.resilient
        self.api_key = token  # puts the Authorization header on the new session

    @property
    def calls(self) -> int:
        """HTTP requests sent so far by this client, retries included."""
        return self.resilient.calls

    def request(
        self,
        method: str,
        url: str,
        fallback: tuple[str, str] | None = None,
        options: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
    ) -> Any:
        try:
            return super().request(method, url, fallback, options, params, json)
        except requests.HTTPError as exc:
            if exc.response is None:
                raise
            raise AirtableRequestError.from_response(exc.response) from exc


def client_from_settings(
    settings: Settings, *, token: str | None = None, sleep: Sleep = time.sleep
) -> AirtableClient:
    """A client for the configured base; ``AirtableConfigError`` without token or base id."""
    token = token or airtable_token()
    if not token:
        raise AirtableConfigError(t("airtable.error.no_token"))
    if not settings["airtable.base_id"]:
        raise AirtableConfigError(t("airtable.error.no_base", config=settings.source or "-"))
    return AirtableClient(
        token,
        endpoint_url=settings["airtable.endpoint_url"],
        timeout_seconds=settings["airtable.timeout_seconds"],
        policy=RetryPolicy.from_settings(settings),
        sleep=sleep,
        rate_dir=rate_dir(settings),
        rate_store=rate_store(settings),
    )


def rate_store(settings: Settings) -> str | None:
    """The PostgreSQL store, when it is one: every process using it, on any host, shares
    one limit per base (``[store] path`` then plays no part)."""
    location = settings.store_location
    return str(location) if backend_of(location) == "postgresql" else None


def rate_dir(settings: Settings) -> Path | None:
    """The SQLite store's folder: every process syncing into it shares one limit per
    base (None on PostgreSQL: ``rate_store``)."""
    path = sqlite_file(settings.store_location)
    if path is None or str(path) in (":memory:", ""):
        return None
    try:
        make_private_dirs(path.parent)
    except OSError:
        log.warning("cannot create %s: the rate limit holds within this process only", path)
        return None
    return path.parent


def configured_tables(settings: Settings, client: Api) -> dict[str, Table]:
    """The Sites and Passages tables of the configured base, by canonical table key."""
    base_id = settings["airtable.base_id"]
    return {
        "sites": client.table(base_id, settings["airtable.sites_table"]),
        "passages": client.table(base_id, settings["airtable.passages_table"]),
    }
