"""The local Airtable look-alike (testing/fake_airtable.py), driven through real pyairtable:
the requests the app sends, the faults the tests inject."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from pyairtable import Api
from pyairtable import formulas as F
from pyairtable.models.schema import UnknownFieldSchema

from carto.base_setup import table_spec
from carto.settings import Settings
from testing.fake_airtable import FakeAirtable

TOKEN = "patTEST"
BASE = "appCARTOTEST00001"
OTHER_BASE = "appCARTOTEST00002"
PASSAGES = "Passages été"  # a name with a space and an accent
T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)

PASSAGE_FIELDS: list[dict[str, Any]] = [
    {"name": "Nom", "type": "singleLineText"},
    {"name": "Personnes", "type": "number", "options": {"precision": 0}},
    {"name": "Besoins", "type": "multipleSelects", "options": {"choices": [{"name": "Eau"}]}},
]


class FakeClock:
    """A settable clock for the server (aware UTC)."""

    def __init__(self, start: datetime) -> None:
        self.value = start

    def __call__(self) -> datetime:
        return self.value

    def advance(self, **delta: float) -> datetime:
        self.value += timedelta(**delta)
        return self.value


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _records(count: int, start: datetime = T0) -> list[dict[str, Any]]:
    """Records in API shape, created one minute apart."""
    return [
        {
            "id": f"rec{i:014d}",
            "createdTime": _iso(start + timedelta(minutes=i)),
            "fields": {"Nom": f"Site {i}", "Personnes": i},
        }
        for i in range(count)
    ]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0 + timedelta(days=1))


@pytest.fixture
def server(clock: FakeClock) -> Iterator[FakeAirtable]:
    with FakeAirtable(token=TOKEN, rate_limit=None, clock=clock) as fake:
        fake.add_table(BASE, PASSAGES, PASSAGE_FIELDS)
        yield fake


def _api(server: FakeAirtable, **kwargs: Any) -> Api:
    kwargs.setdefault("retry_strategy", None)
    return Api(kwargs.pop("token", TOKEN), endpoint_url=server.url, **kwargs)


def _raw(server: FakeAirtable, method: str, path: str, **kwargs: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    return requests.request(method, server.url + path, headers=headers, timeout=5, **kwargs)


def _error_type(exc: requests.HTTPError) -> str:
    assert exc.response is not None
    return str(exc.response.json()["error"]["type"])


# ---------------------------------------------------------------------- lifecycle


def test_binds_loopback_on_a_free_port_and_stops_cleanly() -> None:
    fake = FakeAirtable()
    fake.add_base(BASE)
    fake.start()
    path = f"/v0/meta/bases/{BASE}/tables"
    serving = fake._thread
    try:
        url = fake.url
        assert url.startswith("http://127.0.0.1:") and fake.port > 0
        assert _raw(fake, "GET", path).status_code == 200
        # An idle keep-alive connection: stop() must close it, not wait for the client.
        idle = socket.create_connection(("127.0.0.1", fake.port), timeout=30)
        idle.sendall(
            f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\r\n".encode()
        )
        assert idle.recv(12).startswith(b"HTTP/1.1 200")
        with contextlib.suppress(TimeoutError):
            idle.settimeout(0.2)
            while idle.recv(65536):  # the rest of the answer; the connection stays open
                pass
    finally:
        fake.stop()
    assert serving is not None and not serving.is_alive()
    assert not fake.running
    idle.settimeout(30)
    assert idle.recv(1) == b""  # closed by the server (a timeout here would mean left open)
    idle.close()
    with pytest.raises(requests.ConnectionError):
        requests.get(url + path, timeout=1)


# ------------------------------------------------------------------------- listing


def test_lists_250_records_in_pages_of_100_exactly_once(server: FakeAirtable) -> None:
    server.load_records(BASE, PASSAGES, _records(250))
    table = _api(server).table(BASE, PASSAGES)

    assert [len(page) for page in table.iterate()] == [100, 100, 50]

    server.reset_log()
    records = table.all()
    ids = [r["id"] for r in records]
    assert ids == [f"rec{i:014d}" for i in range(250)]  # createdTime order, no repeat
    assert server.count("GET", path_contains=PASSAGES, status=200) == 3
    offsets = [entry.params.get("offset") for entry in server.requests]
    assert offsets[0] is None and all(isinstance(o, str) for o in offsets[1:])
    assert records[0] == {
        "id": "rec00000000000000",
        "createdTime": "2024-05-01T08:00:00.000Z",
        "fields": {"Nom": "Site 0", "Personnes": 0},  # 0 is a value
    }
    assert server.records(BASE, PASSAGES) == records


def test_table_addressed_by_name_or_id(server: FakeAirtable) -> None:
    server.load_records(BASE, PASSAGES, _records(3))
    api = _api(server)
    table_id = api.base(BASE).schema().table(PASSAGES).id
    assert table_id.startswith("tbl") and len(table_id) == 17
    assert len(api.table(BASE, table_id).all()) == 3
    assert len(api.table(BASE, PASSAGES).all()) == 3
    assert server.requests[-1].path == f"/v0/{BASE}/{PASSAGES}"


def test_empty_values_are_left_out(server: FakeAirtable) -> None:
    [record_id] = server.load_records(
        BASE, PASSAGES, [{"fields": {"Nom": "", "Personnes": 3, "Besoins": []}}]
    )
    table = _api(server).table(BASE, PASSAGES)
    assert table.all()[0]["fields"] == {"Personnes": 3}
    server.edit(BASE, PASSAGES, record_id, {"Nom": "Pont", "Personnes": None})
    assert table.all()[0]["fields"] == {"Nom": "Pont"}


def test_fields_parameter_returns_only_those_fields(server: FakeAirtable) -> None:
    server.load_records(BASE, PASSAGES, _records(5))
    table = _api(server).table(BASE, PASSAGES)
    records = table.all(fields=["Nom"])
    assert [set(r["fields"]) for r in records] == [{"Nom"}] * 5
    assert server.requests[-1].params["fields[]"] == ["Nom"]
    with pytest.raises(requests.HTTPError) as error:
        table.all(fields=["Inconnu"])
    assert error.value.response is not None and error.value.response.status_code == 422
    assert _error_type(error.value) == "UNKNOWN_FIELD_NAME"


def test_expired_offsets_answer_iterator_not_available(server: FakeAirtable) -> None:
    server.load_records(BASE, PASSAGES, _records(250))
    table = _api(server).table(BASE, PASSAGES)

    pages = table.iterate()
    assert len(next(pages)) == 100
    assert server.expire_offsets() == 1
    with pytest.raises(requests.HTTPError) as error:
        next(pages)
    assert error.value.response is not None and error.value.response.status_code == 422
    assert _error_type(error.value) == "LIST_RECORDS_ITERATOR_NOT_AVAILABLE"
    assert "LIST_RECORDS_ITERATOR_NOT_AVAILABLE" in str(error.value)  # pyairtable adds it

    answer = _raw(server, "GET", f"/v0/{BASE}/{PASSAGES}", params={"offset": "nonsense"})
    assert answer.status_code == 422
    assert answer.json()["error"]["type"] == "LIST_RECORDS_ITERATOR_NOT_AVAILABLE"
    assert len(table.all()) == 250  # a new listing works


# ------------------------------------------------------------------------- formula


def test_modified_since_formula_returns_only_edited_records(
    server: FakeAirtable, clock: FakeClock
) -> None:
    ids = server.load_records(BASE, PASSAGES, _records(6))
    restored = server.load_records(
        BASE, PASSAGES, [{"createdTime": _iso(T0), "fields": {"Nom": "Revenu"}}]
    )
    table = _api(server).table(BASE, PASSAGES)
    since = clock.advance(hours=1)
    clock.advance(minutes=5)
    server.edit(BASE, PASSAGES, ids[1], {"Personnes": 42})
    new_id = server.add(BASE, PASSAGES, {"Nom": "Nouveau"})

    # The sync's own rendering (carto/sync.py), the one formula shape the fake models.
    formula = F.GT(F.LAST_MODIFIED_TIME(), since.astimezone(UTC))
    assert str(formula) == "LAST_MODIFIED_TIME()>DATETIME_PARSE('2024-05-02T09:00:00.000Z')"
    found = table.all(formula=formula)
    assert [r["id"] for r in found] == [ids[1], new_id]
    assert found[0]["fields"]["Personnes"] == 42
    assert found[0]["createdTime"] == _records(6)[1]["createdTime"]  # unchanged by edits
    assert restored[0] not in {r["id"] for r in found}  # keeps its old modification time
    # Strictly after: a record modified at that very millisecond is not returned.
    assert table.all(formula=F.GT(F.LAST_MODIFIED_TIME(), clock.value)) == []


@pytest.mark.parametrize(
    ("options", "error_type"),
    [
        ({"formula": "{Personnes} > 3"}, "INVALID_FILTER_BY_FORMULA"),
        ({"formula": "LAST_MODIFIED_TIME()>DATETIME_PARSE('hier')"}, "INVALID_FILTER_BY_FORMULA"),
        ({"page_size": 10}, "INVALID_REQUEST_UNKNOWN"),
        ({"sort": ["Nom"]}, "INVALID_REQUEST_UNKNOWN"),
    ],
)
def test_requests_the_fake_does_not_model_answer_422(
    server: FakeAirtable, options: dict[str, Any], error_type: str
) -> None:
    server.load_records(BASE, PASSAGES, _records(2))
    with pytest.raises(requests.HTTPError) as error:
        _api(server).table(BASE, PASSAGES).all(**options)
    assert error.value.response is not None and error.value.response.status_code == 422
    assert _error_type(error.value) == error_type


# ------------------------------------------------------------------- auth, errors


def test_bad_or_missing_token_answers_401(server: FakeAirtable) -> None:
    table = _api(server, token="patWRONG").table(BASE, PASSAGES)
    with pytest.raises(requests.HTTPError) as error:
        table.all()
    assert error.value.response is not None and error.value.response.status_code == 401
    assert _error_type(error.value) == "AUTHENTICATION_REQUIRED"
    answer = requests.get(f"{server.url}/v0/{BASE}/{PASSAGES}", timeout=5)
    assert answer.status_code == 401
    assert answer.json()["error"]["type"] == "AUTHENTICATION_REQUIRED"
    assert server.count(status=401) == 2


def test_unknown_base_or_table_answers_404(server: FakeAirtable) -> None:
    api = _api(server)
    with pytest.raises(requests.HTTPError) as error:
        api.table("appDOESNOTEXIST00", PASSAGES).all()
    assert _error_type(error.value) == "NOT_FOUND"
    with pytest.raises(requests.HTTPError) as error:
        api.table(BASE, "Inconnue").all()
    assert error.value.response is not None and error.value.response.status_code == 404
    assert _error_type(error.value) == "TABLE_NOT_FOUND"


# ------------------------------------------------------------------------- metadata


def test_schema_parses_into_pyairtable_models_and_tables_can_be_created() -> None:
    plain = Settings({})
    with FakeAirtable(token=TOKEN, rate_limit=None) as server:
        server.add_base(BASE)
        base = _api(server).base(BASE)
        # Created as init-base does: Sites first, then Passages linking to it.
        sites = base.create_table("Sites", table_spec(plain, "sites", {})["fields"])
        specs = table_spec(plain, "passages", {"sites": sites.id})["fields"]
        base.create_table("Passages", specs)

        schema = base.schema(force=True)
        assert [t.name for t in schema.tables] == ["Sites", "Passages"]
        passages = schema.table("Passages")
        assert passages.primary_field_id == passages.fields[0].id
        assert [f.name for f in passages.fields] == [s["name"] for s in specs]
        # Every contract field has its typed model, none falls back to the unknown one.
        fields = [*schema.table("Sites").fields, *passages.fields]
        assert not [f.name for f in fields if isinstance(f, UnknownFieldSchema)]
        assert passages.field("Site").options.linked_table_id == sites.id  # type: ignore[union-attr]

        with pytest.raises(requests.HTTPError) as error:
            base.create_table("Sites", [{"name": "Nom", "type": "singleLineText"}])
        assert _error_type(error.value) == "DUPLICATE_TABLE_NAME"

        server.rename_field(BASE, "Passages", "Personnes", "Nb personnes")
        renamed = base.schema(force=True).table("Passages").field("Nb personnes")
        assert renamed.id == server.field_id(BASE, "Passages", "Nb personnes")
        assert server.count(method="POST", path_contains="/meta/bases/") == 3


# ------------------------------------------------------------------- rate limiting


def test_rate_limit_429_then_penalty_window_then_recovery() -> None:
    now = [1000.0]  # the rate limit's clock, stepped by hand: no real sleep to overshoot
    with FakeAirtable(
        token=TOKEN, rate_limit=5, penalty_seconds=1.0, rate_clock=lambda: now[0]
    ) as server:
        server.add_table(BASE, PASSAGES, PASSAGE_FIELDS)
        server.add_table(OTHER_BASE, PASSAGES, PASSAGE_FIELDS)
        path = f"/v0/{BASE}/{PASSAGES}"
        with requests.Session() as session:
            session.headers["Authorization"] = f"Bearer {TOKEN}"
            statuses = []
            for _ in range(5):
                statuses.append(session.get(server.url + path, timeout=5).status_code)
                now[0] += 0.1
            assert statuses == [200] * 5
            blocked = session.get(server.url + path, timeout=5)
            blocked_at = now[0]
            assert blocked.status_code == 429
            assert blocked.json() == {
                "errors": [
                    {
                        "error": "RATE_LIMIT_REACHED",
                        "message": "Rate limit exceeded. Please try again later",
                    }
                ]
            }
            assert "Retry-After" not in blocked.headers
            # Another base has its own budget; meta endpoints count for their base.
            other = session.get(f"{server.url}/v0/{OTHER_BASE}/{PASSAGES}", timeout=5)
            assert other.status_code == 200
            meta = session.get(f"{server.url}/v0/meta/bases/{BASE}/tables", timeout=5)
            assert meta.status_code == 429
            # The penalty holds after the 1-second window has slid past the burst...
            now[0] = blocked_at + 0.99
            server.send_retry_after = True
            still = session.get(server.url + path, timeout=5)
            assert still.status_code == 429 and still.headers["Retry-After"] == "1"
            # ...and ends after penalty_seconds.
            now[0] = blocked_at + 1.01
            assert session.get(server.url + path, timeout=5).status_code == 200
        assert server.count(status=429) == 3


# ------------------------------------------------------------------ fault injection


def test_injected_503s_and_dropped_connections(server: FakeAirtable) -> None:
    path = f"/v0/{BASE}/{PASSAGES}"
    server.inject("503", count=2)
    server.inject("drop", path_contains="/meta/", method="GET")
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {TOKEN}"
        first = session.get(server.url + path, timeout=5)
        assert first.status_code == 503
        assert first.json()["error"]["type"] == "SERVICE_UNAVAILABLE"
        assert session.get(server.url + path, timeout=5).status_code == 503
        assert session.get(server.url + path, timeout=5).status_code == 200
        with pytest.raises(requests.ConnectionError):
            session.get(f"{server.url}/v0/meta/bases/{BASE}/tables", timeout=5)
        assert session.get(f"{server.url}/v0/meta/bases/{BASE}/tables", timeout=5).ok
    assert [e.status for e in server.requests] == [503, 503, 200, 0, 200]
    with pytest.raises(ValueError, match="unknown fault kind"):
        server.inject("418")


def test_injected_timeout_trips_the_client_timeout(server: FakeAirtable) -> None:
    # The server holds its answer 30 s, the client reads for 0.3 s: only the client's
    # timeout can end the call. The fault is then spent: the next call is answered.
    server.inject("timeout", seconds=30.0)
    with pytest.raises(requests.exceptions.Timeout):
        _api(server, timeout=(2, 0.3)).table(BASE, PASSAGES).all()
    assert _api(server, timeout=(5, 30)).table(BASE, PASSAGES).all() == []


def test_latency_does_not_serialize_concurrent_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeAirtable(token=TOKEN, rate_limit=None, latency_seconds=0.3) as server:
        server.add_table(BASE, PASSAGES, PASSAGE_FIELDS)
        # Each request's latency starts only once all 8 are being handled together: served
        # one at a time, the first would wait for the others and the barrier break.
        together = threading.Barrier(8, timeout=30)
        sleep = server._sleep

        def latency(seconds: float) -> None:
            together.wait()
            sleep(seconds)

        monkeypatch.setattr(server, "_sleep", latency)
        durations: list[float] = []
        statuses: list[int] = []

        def fetch() -> None:
            started = time.monotonic()
            statuses.append(_raw(server, "GET", f"/v0/{BASE}/{PASSAGES}").status_code)
            durations.append(time.monotonic() - started)

        threads = [threading.Thread(target=fetch) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert statuses == [200] * 8 and not together.broken
        assert min(durations) >= 0.3  # the latency is served (a lower bound)
