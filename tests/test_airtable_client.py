"""The Airtable client: per-base throttle, patient retries, counted calls, French errors."""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from carto.airtable_client import (
    AirtableClient,
    AirtableConfigError,
    AirtableRequestError,
    AirtableUnavailable,
    RateLimiter,
    RetryPolicy,
    client_from_settings,
    rate_key,
)
from carto.settings import TOKEN_ENV, Settings
from testing.fake_airtable import FakeAirtable

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


def test_limiter_spaces_slots_within_the_rate() -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    limiter = RateLimiter(5.0, clock=lambda: now[0], sleep=sleep)
    sent = []
    for _ in range(16):
        limiter.acquire()
        sent.append(now[0])
    assert all(b - a >= 0.2 - 1e-9 for a, b in itertools.pairwise(sent))
    assert all(sum(1 for u in sent if t <= u < t + 1.1) <= 5 for t in sent)
    limiter.pause(3.0)
    before = now[0]
    limiter.acquire()
    assert now[0] - before >= 3.0


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
