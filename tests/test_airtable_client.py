"""The Airtable client: per-base throttle, patient retries, counted calls, French errors."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from carto.airtable_client import (
    POLL_SECONDS,
    RATE_WINDOW_MARGIN_SECONDS,
    ROUND_TRIP_SAMPLES,
    AirtableClient,
    AirtableConfigError,
    AirtableRequestError,
    AirtableUnavailable,
    RateLimiter,
    RetryPolicy,
    client_from_settings,
    limiter_for,
    rate_key,
)
from carto.settings import TOKEN_ENV, Settings
from carto.store import Database, RateHold, RateStore, close_engines
from testing.fake_airtable import FakeAirtable
from testing.postgres import TemporaryPostgres

DECLARED = RetryPolicy.from_settings(Settings({}))  # the declared defaults

TOKEN = "patTEST"
BASE = "appCARTOCLIENT001"
FIELDS = [{"name": "Nom", "type": "singleLineText"}]


@pytest.fixture
def server() -> Iterator[FakeAirtable]:
    with FakeAirtable(token=TOKEN, rate_limit=5, penalty_seconds=0.5) as fake:
        fake.add_table(BASE, "Sites", FIELDS)
        fake.load_records(BASE, "Sites", [{"fields": {"Nom": f"Site {i}"}} for i in range(3)])
        yield fake


class Sleeps:
    """Records every wait asked for, and really waits (the penalties are short)."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        time.sleep(seconds)


def client(server: FakeAirtable, sleep: Sleeps | None = None, **policy: Any) -> AirtableClient:
    defaults: dict[str, Any] = {"backoff_seconds": 0.01, "penalty_seconds": 0.6}
    return AirtableClient(
        TOKEN,
        endpoint_url=server.url,
        timeout_seconds=5,
        policy=dataclasses.replace(DECLARED, **{**defaults, **policy}),
        sleep=sleep or Sleeps(),
    )


def max_per_second(server: FakeAirtable) -> int:
    times = sorted(entry.timestamp for entry in server.requests)
    return max((sum(1 for u in times if t <= u < t + 1.0) for t in times), default=0)


# ------------------------------------------------------------------------- throttle


class FakeTime:
    """A clock that only moves when someone sleeps or a round trip is simulated."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def warm_up(limiter: RateLimiter, time_: FakeTime, round_trip: float) -> None:
    """Enough answers for the limiter to trust its fastest round trip; then a quiet
    window, so that they hold no place."""
    for _ in range(ROUND_TRIP_SAMPLES):
        ticket = limiter.acquire()
        time_.now += round_trip
        limiter.release(ticket, answered=True)
    time_.now += 2.0


def one_by_one(limiter: RateLimiter, time_: FakeTime, n: int, round_trip: float) -> list[float]:
    """``n`` requests sent one after the other's answer, as a listing sends its pages:
    when each went."""
    sent = []
    for _ in range(n):
        ticket = limiter.acquire()
        sent.append(time_.now)
        time_.now += round_trip
        limiter.release(ticket, answered=True)
    return sent


def in_any_window(sent: list[float], seconds: float) -> int:
    """The most sends within any window of ``seconds``."""
    return max(sum(1 for u in sent if t <= u < t + seconds) for t in sent)


def test_limiter_holds_each_place_until_a_second_after_the_answer() -> None:
    time_ = FakeTime()
    limiter = RateLimiter(5.0, clock=time_, sleep=time_.sleep)
    window = 1.0 + RATE_WINDOW_MARGIN_SECONDS
    warm_up(limiter, time_, 0.05)
    sent = one_by_one(limiter, time_, 16, 0.05)  # a steady round trip

    assert in_any_window(sent, window) == 5  # the whole allowance, never more
    # As fast as the limit allows: five requests per window, not five per window + slack.
    assert sent[5] - sent[0] == pytest.approx(window)
    assert sent[10] - sent[5] == pytest.approx(window)
    limiter.pause(3.0)
    before = time_.now
    limiter.release(limiter.acquire())
    assert time_.now - before >= 3.0 - 1e-9


def test_a_request_delayed_in_flight_moves_its_window() -> None:
    """The flaw of spacing sends: a request held up between its slot and its arrival
    lands among the next window's requests. Its late answer shows the delay."""
    time_ = FakeTime()
    limiter = RateLimiter(5.0, clock=time_, sleep=time_.sleep)
    window = 1.0 + RATE_WINDOW_MARGIN_SECONDS
    round_trip, delay = 0.05, 0.7
    warm_up(limiter, time_, round_trip)
    sent = []
    for i in range(7):
        ticket = limiter.acquire()
        sent.append(time_.now)
        time_.now += round_trip + (delay if i == 1 else 0.0)
        limiter.release(ticket, answered=True)

    assert sent[5] == pytest.approx(sent[0] + window)  # the undelayed first request
    # The second request may have arrived as late as its answer minus a round trip:
    # the seventh waits a window after that, not after the second's send.
    assert sent[6] == pytest.approx(sent[1] + delay + window, abs=1e-3)


class RoundTrips:
    """A limit's record kept as PostgreSQL keeps it: each hold takes a round trip to
    lock it (the clock read half-way) and another to commit, on the same clock as the
    requests."""

    def __init__(self, time_: FakeTime, seconds: float) -> None:
        self.time, self.seconds, self.state = time_, seconds, ""

    @contextmanager
    def hold(self, name: str) -> Iterator[RateHold]:
        self.time.now += self.seconds / 2
        held = RateHold(self.state, self.time.now)
        self.time.now += self.seconds / 2
        yield held
        self.state = held.state
        self.time.now += self.seconds


def test_a_place_that_frees_within_a_window_is_taken_for_the_time_it_frees() -> None:
    """Each fifth request of a sequential listing goes a window after the one five
    before, not a window plus the round trips of looking at the record again once the
    place is free (they added up over a listing, every window after moved by them)."""
    time_ = FakeTime()
    store = RoundTrips(time_, 0.002)
    limiter = RateLimiter(5.0, store=store, clock=time_, sleep=time_.sleep)  # type: ignore[arg-type]
    window = 1.0 + RATE_WINDOW_MARGIN_SECONDS
    warm_up(limiter, time_, 0.05)
    sent = one_by_one(limiter, time_, 21, 0.05)

    assert in_any_window(sent, 1.0) == 5
    for i in (5, 10, 15):
        assert sent[i + 5] - sent[i] == pytest.approx(window, abs=1e-9)


def test_a_place_taken_ahead_is_held_for_every_limiter(tmp_path: Path) -> None:
    """While one limiter waits for the place it took, another sharing the record (a
    second process) is given the place after it, not the same one."""
    time_ = FakeTime()
    path = tmp_path / "airtable-appX.rate"
    window = 1.0 + RATE_WINDOW_MARGIN_SECONDS
    asked: list[float] = []

    class Asked(Exception):
        pass

    def other_sleep(seconds: float) -> None:
        asked.append(time_.now + seconds)
        raise Asked  # when it would send: enough to know

    other = RateLimiter(5.0, path=path, clock=time_, sleep=other_sleep)

    def sleep(seconds: float) -> None:
        if not asked:
            with pytest.raises(Asked):
                other.acquire()
        time_.now += seconds

    limiter = RateLimiter(5.0, path=path, clock=time_, sleep=sleep)
    sent = []
    for _ in range(6):
        ticket = limiter.acquire()
        sent.append(time_.now)
        time_.now += 0.01
        limiter.release(ticket, answered=True)

    # no round trip learnt yet: each window counted from the answer (0.01 s later)
    assert sent[5] == pytest.approx(sent[0] + 0.01 + window)
    assert asked == [pytest.approx(sent[1] + 0.01 + window)]
    state = json.loads(path.read_text(encoding="utf-8"))
    # the other's place, never used, given back: only the six sent are left
    assert len(state["sends"]) == 6 and all(entry[3] is not None for entry in state["sends"])


def test_until_enough_answers_an_answer_bounds_the_arrival() -> None:
    """The first round trips (a new connection) are slow: trusting their fastest too
    early would move a delayed request's window too little."""
    time_ = FakeTime()
    limiter = RateLimiter(1.0, clock=time_, sleep=time_.sleep)
    ticket = limiter.acquire()
    time_.now += 0.3  # connection set-up, or a delay: unknown yet
    limiter.release(ticket, answered=True)
    limiter.release(limiter.acquire())
    assert time_.now == pytest.approx(0.3 + 1.0 + RATE_WINDOW_MARGIN_SECONDS)


def test_a_request_in_flight_holds_its_place_until_answered() -> None:
    limiter = RateLimiter(2.0)
    first, second = limiter.acquire(), limiter.acquire()
    waiting = threading.Thread(target=lambda: limiter.release(limiter.acquire()))
    waiting.start()
    waiting.join(timeout=0.3)
    assert waiting.is_alive()  # both places in flight: nothing may go, however long
    limiter.release(first, answered=True)
    limiter.release(second, answered=True)
    waiting.join(timeout=10)
    assert not waiting.is_alive()


def test_limiters_sharing_a_file_share_the_limit(tmp_path: Path) -> None:
    """Two limiters on one file, as two processes with one store folder have."""
    time_ = FakeTime()
    path = tmp_path / "airtable-appX.rate"
    app, worker = (RateLimiter(5.0, path=path, clock=time_, sleep=time_.sleep) for _ in "ab")
    sent = []
    for i in range(12):
        limiter = app if i % 3 else worker
        ticket = limiter.acquire()
        sent.append(time_.now)
        time_.now += 0.01
        limiter.release(ticket, answered=True)
        limiter.pause(0.0)

    assert in_any_window(sent, 1.0 + RATE_WINDOW_MARGIN_SECONDS) == 5
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_place_held_by_a_dead_process_is_freed(tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])  # a pid that no longer runs
    dead.wait()
    path = tmp_path / "airtable-appX.rate"
    sends = [["x", f"{os.stat('/proc/self/ns/pid').st_ino}:{dead.pid}", time.monotonic(), None]]
    state = {"sends": sends, "paused_until": 0.0, "fastest": None, "answers": 0}
    path.write_text(json.dumps(state), encoding="utf-8")
    now = [time.monotonic()]  # the limiter's clock, advanced only by its own sleeps

    def sleep(seconds: float) -> None:
        now[0] += seconds

    limiter = RateLimiter(1.0, path=path, clock=lambda: now[0], sleep=sleep)
    started = now[0]
    limiter.acquire()
    # Freed when found dead, then held for one window like an answer received then
    # (a place left to expire would hold it STALE_SECONDS).
    waited = now[0] - started
    assert waited <= 1.0 + RATE_WINDOW_MARGIN_SECONDS + 2 * POLL_SECONDS


def _assert_it_waits(path: Path, sends: list[list[object]]) -> None:
    """With ``sends`` held in the rate file, the next request waits rather than send."""
    state = {"sends": sends, "paused_until": 0.0, "fastest": None, "answers": 0}
    path.write_text(json.dumps(state), encoding="utf-8")

    class Waited(Exception):
        pass

    def sleep(seconds: float) -> None:
        raise Waited

    with pytest.raises(Waited):  # it would have waited, not sent
        RateLimiter(1.0, path=path, sleep=sleep).acquire()


def test_a_place_held_in_another_pid_namespace_is_kept(tmp_path: Path) -> None:
    """Another container's pid says nothing here: its request counts as in flight."""
    path = tmp_path / "airtable-appX.rate"
    gone = subprocess.Popen(["true"])  # dead here; in its namespace, who knows
    gone.wait()
    sends = [["x", f"another-namespace:{gone.pid}", time.monotonic(), None]]
    _assert_it_waits(path, sends)


def test_the_client_shares_the_limit_through_the_store_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    settings = Settings(
        {"airtable.base_id": BASE, "store.path": str(tmp_path / "store" / "snapshot.sqlite")},
        source=tmp_path / "config.toml",
    )
    api = client_from_settings(settings)
    assert api.resilient.rate_dir == tmp_path / "store"
    limiter = limiter_for(rate_key(f"https://x/v0/{BASE}/Sites"), 5.0, api.resilient.rate_dir)
    assert limiter.path == tmp_path / "store" / f"airtable-{BASE}.rate"


def test_the_client_shares_the_limit_through_a_postgresql_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, postgres_server: TemporaryPostgres
) -> None:
    """With ``[store] url`` on PostgreSQL the limit is in the store, whatever the
    ``[store] path``: processes on other hosts share it."""
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    url = postgres_server.database()
    settings = Settings(
        {
            "airtable.base_id": BASE,
            "store.url": url,
            "store.path": str(tmp_path / "store" / "snapshot.sqlite"),
        },
        source=tmp_path / "config.toml",
    )
    try:
        api = client_from_settings(settings)
        assert api.resilient.rate_store == url and api.resilient.rate_dir is None
        key = rate_key(f"https://x/v0/{BASE}/Sites")
        limiter = limiter_for(key, 5.0, api.resilient.rate_dir, api.resilient.rate_store)
        assert limiter.store is not None and limiter.path is None

        # Two limiters on the store's row, as two hosts have: one limit, on one clock.
        other = RateLimiter(5.0, store=RateStore(url), name=limiter.name)
        sent = []
        for i in range(12):
            ticket = (limiter if i % 3 else other).acquire()
            sent.append(time.monotonic())
            (limiter if i % 3 else other).release(ticket, answered=True)
        assert in_any_window(sent, 1.0) == 5
        assert not (tmp_path / "store").exists()
    finally:
        close_engines()


@pytest.mark.timeout(120)  # a lock left held would wait forever
def test_a_postgresql_limit_outlives_its_connection_and_a_failed_hold(
    postgres_server: TemporaryPostgres,
) -> None:
    """The store keeps a connection of its own for the limit: closed by the server (a
    restart, an idle timeout), the next request opens another; a hold that fails
    leaves the record as it was, unlocked."""
    url = postgres_server.database()
    try:
        store = RateStore(url)
        limiter = RateLimiter(5.0, store=store, name="airtable-appX.rate")
        limiter.release(limiter.acquire(), answered=True)
        with Database(url).connect() as conn:
            ended = conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
        assert ended >= 1
        limiter.release(limiter.acquire(), answered=True)

        with pytest.raises(RuntimeError), store.hold(limiter.name) as held:
            held.state = "{}"
            raise RuntimeError("the process failed while holding the record")
        with RateStore(url).hold(limiter.name) as other:  # not left locked
            state = json.loads(other.state)
        assert state["answers"] == 2 and len(state["sends"]) == 2
    finally:
        close_engines()


@pytest.mark.timeout(120)  # a hold that never waits would leave the loop below only so
def test_a_postgresql_hold_waits_for_another_and_reads_the_clock_after(
    postgres_server: TemporaryPostgres,
) -> None:
    """A hold locks the limit's row: another one, from another process or host, waits
    for it to end, then reads what it wrote, and the time once its own lock is held
    (not the time it began waiting: its send would be counted too early)."""
    url = postgres_server.database()
    try:
        first, second = RateStore(url), RateStore(url)
        name = "airtable-appX.rate"
        seen: list[RateHold] = []
        with first.hold(name):
            pass  # the row exists: what holds the second back is the lock on it

        def wait_then_read() -> None:
            with second.hold(name) as other:
                seen.append(dataclasses.replace(other))

        with first.hold(name) as held:
            waiter = threading.Thread(target=wait_then_read)
            waiter.start()
            waiting, db = 0, Database(url)
            while not waiting and waiter.is_alive():
                time.sleep(0.01)
                with db.connect() as conn:
                    waiting = conn.execute(
                        text(
                            "SELECT count(*) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                        )
                    ).scalar_one()
            with db.connect() as conn:
                meanwhile = conn.execute(
                    text("SELECT EXTRACT(EPOCH FROM clock_timestamp())")
                ).scalar_one()
            held.state = "written by the first"
        waiter.join(timeout=60)
        assert waiting == 1
        assert seen[0].state == "written by the first" and seen[0].now > float(meanwhile)
    finally:
        close_engines()


def test_a_place_held_on_another_host_is_kept(tmp_path: Path) -> None:
    """A pid of another host says nothing here, even in a pid namespace of the same
    number (every host's first namespace has the same inode)."""
    path = tmp_path / "airtable-appX.rate"
    gone = subprocess.Popen(["true"])
    gone.wait()
    namespace = os.stat("/proc/self/ns/pid").st_ino
    sends = [["x", f"another-host/{namespace}:{gone.pid}", time.monotonic(), None]]
    _assert_it_waits(path, sends)


def test_threads_and_clients_of_one_base_share_the_throttle(server: FakeAirtable) -> None:
    clients = [client(server), client(server)]

    def fetch(api: AirtableClient) -> None:
        for _ in range(3):
            api.table(BASE, "Sites").all()

    threads = [threading.Thread(target=fetch, args=(clients[i % 2],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert server.count() == 12 == sum(c.calls for c in clients)
    assert server.count(status=429) == 0
    assert max_per_second(server) <= 5


def test_rate_key_is_the_base_for_data_and_metadata_calls() -> None:
    assert rate_key("https://api.airtable.com/v0/appA/Sites?x=1") == "https://api.airtable.com/appA"
    assert rate_key("https://api.airtable.com/v0/meta/bases/appA/tables").endswith("/appA")
    assert rate_key("https://api.airtable.com/v0/meta/whoami").endswith(".com/")


# -------------------------------------------------------------------------- retries


def test_a_429_penalty_is_waited_out(server: FakeAirtable) -> None:
    server.rate_limit = 1  # two requests within a second start a 0.5 s penalty
    sleeps = Sleeps()
    api = client(server, sleeps)

    for _ in range(3):
        assert len(api.table(BASE, "Sites").all()) == 3

    assert server.count(status=429) >= 1
    assert 0.6 in sleeps.waits  # the configured penalty, not pyairtable's 0.1 s steps
    assert api.calls == server.count()


def test_retry_after_is_honoured_when_sent(server: FakeAirtable) -> None:
    server.rate_limit = 1
    server.send_retry_after = True
    sleeps = Sleeps()
    api = client(server, sleeps, penalty_seconds=30.0)

    for _ in range(2):
        api.table(BASE, "Sites").all()

    assert server.count(status=429) == 1
    assert sleeps.waits == [1.0]  # Retry-After: 1, not the configured 30 s


def test_503s_and_a_dropped_connection_are_retried_with_backoff(server: FakeAirtable) -> None:
    server.inject("503", count=3)
    server.inject("drop", count=1)
    sleeps = Sleeps()
    api = client(server, sleeps)

    assert len(api.table(BASE, "Sites").all()) == 3

    assert [e.status for e in server.requests] == [503, 503, 503, 0, 200]
    assert sleeps.waits == [0.01, 0.02, 0.04, 0.08]
    assert api.calls == 5


def test_a_timeout_is_retried(server: FakeAirtable) -> None:
    server.inject("timeout", count=1, seconds=2.0)
    api = AirtableClient(
        TOKEN,
        endpoint_url=server.url,
        timeout_seconds=1,
        policy=dataclasses.replace(DECLARED, backoff_seconds=0.01),
    )
    assert len(api.table(BASE, "Sites").all()) == 3
    assert api.calls == 2


def test_gives_up_after_the_bounded_tries_in_french(server: FakeAirtable) -> None:
    server.inject("503", count=10)
    api = client(server, max_retries=2)

    with pytest.raises(AirtableUnavailable) as error:
        api.table(BASE, "Sites").all()

    assert str(error.value) == (
        "Airtable est injoignable après 3 essais : erreur du serveur Airtable (503)."
    )
    assert server.count() == api.calls == 3


def test_a_write_is_never_sent_twice(server: FakeAirtable) -> None:
    server.inject("drop", count=1, method="POST")
    api = client(server)
    with pytest.raises(AirtableUnavailable, match="connexion interrompue"):
        api.table(BASE, "Sites").create({"Nom": "Doublon ?"})
    assert server.count(method="POST") == 1


# --------------------------------------------------------------------------- errors


def test_refusals_are_reported_in_french(server: FakeAirtable) -> None:
    bad_token = AirtableClient("patWRONG", endpoint_url=server.url)
    with pytest.raises(AirtableRequestError, match="Jeton Airtable refusé") as refused:
        bad_token.table(BASE, "Sites").all()
    assert refused.value.status == 401

    with pytest.raises(AirtableRequestError, match="Introuvable dans Airtable") as missing:
        client(server).table(BASE, "Campements").all()
    assert missing.value.error_type == "TABLE_NOT_FOUND"


def test_missing_token_or_base_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no .streamlit/secrets.toml here
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    settings = Settings({"airtable.base_id": BASE}, tmp_path / "config.toml", tmp_path)
    with pytest.raises(AirtableConfigError, match="Aucun jeton Airtable"):
        client_from_settings(settings)
    with pytest.raises(AirtableConfigError, match="base_id"):
        client_from_settings(Settings({}, tmp_path / "config.toml"), token=TOKEN)
