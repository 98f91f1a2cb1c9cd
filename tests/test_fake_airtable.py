"""Tests for the local Airtable-compatible server, driven through real pyairtable."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import requests
from pyairtable import Api
from pyairtable import formulas as F

from testing.fake_airtable import FakeAirtable

TOKEN = "patTEST"
BASE = "appCARTOTEST00001"
OTHER_BASE = "appCARTOTEST00002"
PASSAGES = "Passages été"  # a name with a space and an accent
T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)

PASSAGE_FIELDS: list[dict[str, Any]] = [
    {"name": "Nom", "type": "singleLineText"},
    {"name": "Personnes", "type": "number", "options": {"precision": 0}},
    {"name": "Date", "type": "dateTime", "options": {"timeZone": "Europe/Paris"}},
    {
        "name": "Statut",
        "type": "singleSelect",
        "options": {"choices": [{"name": "Actif"}, {"name": "Évacué"}]},
    },
    {"name": "Besoins", "type": "multipleSelects", "options": {"choices": [{"name": "Eau"}]}},
    {"name": "Urgent", "type": "checkbox"},
    {"name": "Modifié le", "type": "lastModifiedTime"},
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
        fake.add_base(BASE)
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
    body = exc.response.json()
    return str(body["error"]["type"])


# ---------------------------------------------------------------------- lifecycle


def test_binds_loopback_on_a_free_port_and_stops_cleanly() -> None:
    fake = FakeAirtable()
    fake.start()
    try:
        url = fake.url
        assert url.startswith("http://127.0.0.1:") and fake.port > 0
        assert _raw(fake, "GET", "/v0/meta/bases").status_code == 200
        # An idle keep-alive connection must not keep stop() waiting.
        idle = requests.Session()
        idle.get(url + "/v0/meta/bases", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    finally:
        started = time.monotonic()
        fake.stop()
    assert time.monotonic() - started < 1.0
    assert not fake.running
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/v0/meta/bases", timeout=1)
    idle.close()


# ------------------------------------------------------------------------- listing


def test_all_pages_through_250_records_exactly_once(server: FakeAirtable) -> None:
    server.load_records(BASE, PASSAGES, _records(250))
    table = _api(server).table(BASE, PASSAGES)

    pages = [len(page) for page in table.iterate()]
    assert pages == [100, 100, 50]

    server.reset_log()
    records = table.all()
    ids = [r["id"] for r in records]
    assert len(ids) == 250 and len(set(ids)) == 250
    assert ids == [f"rec{i:014d}" for i in range(250)]  # createdTime order
    assert server.count("GET", path_contains=PASSAGES, status=200) == 3
    offsets = [entry.params.get("offset") for entry in server.requests]
    assert offsets[0] is None and all(isinstance(o, str) for o in offsets[1:])
    assert records[0]["createdTime"] == "2024-05-01T08:00:00.000Z"


def test_listing_uses_get_and_falls_back_to_post_list_records(server: FakeAirtable) -> None:
    server.load_records(BASE, PASSAGES, _records(150))
    table = _api(server).table(BASE, PASSAGES)
    assert len(table.all(formula=F.GT(F.Field("Personnes"), 100))) == 49
    assert server.count("GET") == 1 and server.count("POST") == 0

    # A URL of 16000+ characters makes pyairtable move the options to a POST body.
    server.reset_log()
    wanted = F.OR(*(F.EQ(F.RECORD_ID(), f"rec{i:014d}") for i in range(0, 150, 2)))
    padding = F.NE(F.Field("Nom"), "x" * 16000)
    records = table.all(formula=F.AND(wanted, padding), page_size=20)
    assert [r["id"] for r in records] == [f"rec{i:014d}" for i in range(0, 150, 2)]
    assert server.count("POST", path_contains="/listRecords", status=200) == 4
    assert server.count("GET") == 0
    assert all(e.params.get("pageSize") == 20 for e in server.requests)


def test_table_addressed_by_name_or_id(server: FakeAirtable) -> None:
    server.load_records(BASE, PASSAGES, _records(3))
    api = _api(server)
    table_id = server.table_id(BASE, PASSAGES)
    assert table_id.startswith("tbl") and len(table_id) == 17
    assert len(api.table(BASE, table_id).all()) == 3
    assert len(api.table(BASE, PASSAGES).all()) == 3
    assert server.requests[-1].path == f"/v0/{BASE}/{PASSAGES}"


def test_empty_fields_are_left_out(server: FakeAirtable) -> None:
    server.load_records(
        BASE,
        PASSAGES,
        [
            {
                "id": "recEMPTY000000001",
                "createdTime": _iso(T0),
                "fields": {"Nom": "", "Personnes": 0, "Besoins": [], "Urgent": False},
            }
        ],
    )
    table = _api(server).table(BASE, PASSAGES)
    created = table.create({"Nom": "Pont", "Statut": None, "Besoins": [], "Urgent": False})
    assert created["fields"] == {"Nom": "Pont", "Modifié le": created["createdTime"]}

    first = table.get("recEMPTY000000001")
    assert first["fields"] == {"Personnes": 0, "Modifié le": _iso(T0)}  # 0 is a value
    for record in table.all():
        for value in record["fields"].values():
            assert value is not None and value is not False and value not in ("", [])


def test_fields_parameter_returns_only_those_fields(server: FakeAirtable) -> None:
    server.load_records(BASE, PASSAGES, _records(5))
    table = _api(server).table(BASE, PASSAGES)
    records = table.all(fields=["Nom"])
    assert all(set(r["fields"]) == {"Nom"} for r in records)
    by_id = table.all(fields=["Personnes"], use_field_ids=True)
    assert set(by_id[1]["fields"]) == {server.field_id(BASE, PASSAGES, "Personnes")}
    with pytest.raises(requests.HTTPError) as error:
        table.all(fields=["Inconnu"])
    assert error.value.response is not None and error.value.response.status_code == 422
    assert _error_type(error.value) == "UNKNOWN_FIELD_NAME"


def test_sort_and_max_records(server: FakeAirtable) -> None:
    server.load_records(BASE, PASSAGES, _records(30))
    table = _api(server).table(BASE, PASSAGES)
    records = table.all(sort=["-Personnes"], max_records=12, page_size=5)
    assert [r["fields"]["Personnes"] for r in records] == list(range(29, 17, -1))
    assert server.count("GET", status=200) == 3
    assert table.first(sort=["Nom"])["fields"]["Nom"] == "Site 0"  # type: ignore[index]


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

    server.offset_ttl_seconds = 0.1
    pages = table.iterate()
    next(pages)
    time.sleep(0.2)
    with pytest.raises(requests.HTTPError) as error:
        next(pages)
    assert _error_type(error.value) == "LIST_RECORDS_ITERATOR_NOT_AVAILABLE"

    answer = _raw(server, "GET", f"/v0/{BASE}/{PASSAGES}", params={"offset": "nonsense"})
    assert answer.status_code == 422
    assert answer.json()["error"]["type"] == "INVALID_OFFSET_VALUE"


# ------------------------------------------------------------------------- formulas


def test_last_modified_since_returns_only_edited_records(
    server: FakeAirtable, clock: FakeClock
) -> None:
    ids = server.load_records(BASE, PASSAGES, _records(6))
    table = _api(server).table(BASE, PASSAGES)
    since = clock.advance(hours=1)
    clock.advance(minutes=5)
    server.edit(BASE, PASSAGES, ids[1], {"Personnes": 42})  # as in the Airtable UI
    table.update(ids[4], {"Statut": "Actif"})  # through the API
    new_id = server.add(BASE, PASSAGES, {"Nom": "Nouveau"})

    text = f"IS_AFTER(LAST_MODIFIED_TIME(), DATETIME_PARSE('{_iso(since)}'))"
    assert {r["id"] for r in table.all(formula=text)} == {ids[1], ids[4], new_id}

    # pyairtable's own renderings of the same filter
    rendered = [
        F.GT(F.LAST_MODIFIED_TIME(), since),
        F.LAST_MODIFIED_TIME().gt(since),
        F.IS_AFTER(F.LAST_MODIFIED_TIME(), since),
        F.GT(F.LAST_MODIFIED_TIME(), since.replace(tzinfo=None)),  # naive: no "Z"
        F.IS_AFTER(F.LAST_MODIFIED_TIME(), since.astimezone(timezone(timedelta(hours=2)))),
    ]
    assert str(rendered[0]) == "LAST_MODIFIED_TIME()>DATETIME_PARSE('2024-05-02T09:00:00.000Z')"
    for formula in rendered:
        assert {r["id"] for r in table.all(formula=formula)} == {ids[1], ids[4], new_id}

    edited = table.get(ids[4])
    assert edited["fields"]["Modifié le"] == _iso(clock.value)
    assert edited["createdTime"] == _records(6)[4]["createdTime"]  # unchanged by updates
    assert server.last_modified(BASE, PASSAGES, ids[4]) == clock.value
    same_second = f"IS_SAME(LAST_MODIFIED_TIME(), '{_iso(clock.value)}', 'second')"
    assert {r["id"] for r in table.all(formula=same_second)} == {ids[1], ids[4], new_id}


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ("{Personnes} > 3", [4, 5]),
        ("{Personnes} >= 3", [3, 4, 5]),
        ("{Personnes} < 2", [0, 1]),
        ("{Personnes} <= 1", [0, 1]),
        ("{Personnes} = 2", [2]),
        ("{Personnes} != 2", [0, 1, 3, 4, 5]),
        ("{Nom} = 'Site 3'", [3]),
        ('{Nom} = "Site 3"', [3]),
        ("{Nom} > 'Site 3'", [4, 5]),
        ("AND({Personnes} > 1, {Personnes} < 4)", [2, 3]),
        ("OR({Personnes} = 0, {Nom} = 'Site 5')", [0, 5]),
        ("NOT({Personnes} > 0)", [0]),
        ("TRUE()", [0, 1, 2, 3, 4, 5]),
        ("FALSE()", []),
        ("RECORD_ID() = 'rec00000000000002'", [2]),
        ("CREATED_TIME() >= DATETIME_PARSE('2024-05-01T08:04:00.000Z')", [4, 5]),
        ("IS_BEFORE(CREATED_TIME(), '2024-05-01T08:02:00Z')", [0, 1]),
        ("IS_SAME(CREATED_TIME(), DATETIME_PARSE('2024-05-01'), 'day')", [0, 1, 2, 3, 4, 5]),
        ("IS_SAME(CREATED_TIME(), DATETIME_PARSE('2024-05-01T08:03:00.000Z'))", [3]),
        ("DATETIME_PARSE('01/05/2024 08:01', 'DD/MM/YYYY HH:mm') = CREATED_TIME()", [1]),
        ("{Statut} = 'Évacué'", [5]),
        ("{Statut} = ''", [0, 1, 2, 3, 4]),
        ("FIND('Eau', ARRAYJOIN({Besoins}))", [5]),
        ("{Urgent}", [5]),
        ("{Personnes} * 2 + 1 = 7", [3]),
        ("LEN({Nom} & 'x') = 7", [0, 1, 2, 3, 4, 5]),
        (str(F.match({"Nom": "Site 1", "Personnes": ("<", 5)})), [1]),
        (str(F.OR(F.EQ(F.Field("Nom"), "l'été"), F.EQ(F.Field("Personnes"), 4))), [4]),
        (
            "DATETIME_DIFF(CREATED_TIME(), DATETIME_PARSE('2024-05-01T08:00:00Z'), 'minutes') = 2",
            [2],
        ),
    ],
)
def test_formula_evaluator(server: FakeAirtable, formula: str, expected: list[int]) -> None:
    records = _records(6)
    records[5]["fields"].update({"Statut": "Évacué", "Besoins": ["Eau"], "Urgent": True})
    server.load_records(BASE, PASSAGES, records)
    found = _api(server).table(BASE, PASSAGES).all(formula=formula)
    assert [r["id"] for r in found] == [f"rec{i:014d}" for i in expected]


@pytest.mark.parametrize(
    "formula",
    [
        "AND({Nom} = 'x'",  # unbalanced
        "{Nom} = = 'x'",
        "{Champ inconnu} > 1",
        "LAST_MODIFIED_TIME() > SOMETIME('2024-01-01')",
        "NOT(1, 2)",
        "{Nom} = 'x' ;",
        "DATETIME_PARSE('pas une date') > CREATED_TIME()",  # an evaluation error
    ],
)
def test_invalid_formula_answers_422(server: FakeAirtable, formula: str) -> None:
    server.load_records(BASE, PASSAGES, _records(2))
    table = _api(server).table(BASE, PASSAGES)
    with pytest.raises(requests.HTTPError) as error:
        table.all(formula=formula)
    assert error.value.response is not None and error.value.response.status_code == 422
    assert _error_type(error.value) == "INVALID_FILTER_BY_FORMULA"
    assert "INVALID_FILTER_BY_FORMULA" in str(error.value)


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


def test_unknown_base_table_or_record_answers_404(server: FakeAirtable) -> None:
    api = _api(server)
    with pytest.raises(requests.HTTPError) as error:
        api.table("appDOESNOTEXIST00", PASSAGES).all()
    assert _error_type(error.value) == "NOT_FOUND"
    with pytest.raises(requests.HTTPError) as error:
        api.table(BASE, "Inconnue").all()
    assert error.value.response is not None and error.value.response.status_code == 404
    assert _error_type(error.value) == "TABLE_NOT_FOUND"
    with pytest.raises(requests.HTTPError) as error:
        api.table(BASE, PASSAGES).get("recDOESNOTEXIST00")
    assert error.value.response is not None and error.value.response.status_code == 404


# --------------------------------------------------------------------------- writes


def test_create_update_delete_round_trip(server: FakeAirtable, clock: FakeClock) -> None:
    table = _api(server).table(BASE, PASSAGES)
    one = table.create({"Nom": "Porte de la Chapelle", "Personnes": 12, "Date": "2024-05-01"})
    assert one["id"].startswith("rec") and len(one["id"]) == 17
    assert one["createdTime"] == _iso(clock.value)
    assert one["fields"]["Date"] == "2024-05-01T00:00:00.000Z"

    server.reset_log()
    many = table.batch_create([{"Nom": f"Lot {i}", "Personnes": i} for i in range(25)])
    assert len(many) == 25 and server.count("POST", status=200) == 3
    assert table.get(many[7]["id"])["fields"]["Nom"] == "Lot 7"

    clock.advance(minutes=1)
    updated = table.update(one["id"], {"Personnes": 15, "Statut": "Actif"})
    assert updated["fields"]["Personnes"] == 15
    assert updated["fields"]["Nom"] == "Porte de la Chapelle"
    assert updated["createdTime"] == one["createdTime"]
    assert updated["fields"]["Modifié le"] == _iso(clock.value)

    replaced = table.update(one["id"], {"Nom": "Remplacé"}, replace=True)
    assert set(replaced["fields"]) == {"Nom", "Modifié le"}

    batch = table.batch_update([{"id": r["id"], "fields": {"Personnes": 100}} for r in many])
    assert {r["fields"]["Personnes"] for r in batch} == {100}

    upsert = table.batch_upsert(
        [{"fields": {"Nom": "Lot 3", "Personnes": 3}}, {"fields": {"Nom": "Neuf"}}],
        key_fields=["Nom"],
    )
    assert upsert["updatedRecords"] == [many[3]["id"]] and len(upsert["createdRecords"]) == 1

    assert table.delete(one["id"]) == {"id": one["id"], "deleted": True}
    deleted = table.batch_delete([r["id"] for r in many])
    assert len(deleted) == 25 and all(d["deleted"] for d in deleted)
    assert [r["fields"]["Nom"] for r in table.all()] == ["Neuf"]

    with pytest.raises(requests.HTTPError) as error:
        table.create({"Colonne inconnue": 1})
    assert _error_type(error.value) == "UNKNOWN_FIELD_NAME"
    with pytest.raises(requests.HTTPError) as error:
        table.create({"Statut": "Nouveau statut"})
    assert _error_type(error.value) == "INVALID_MULTIPLE_CHOICE_OPTIONS"
    assert table.create({"Statut": "Nouveau statut"}, typecast=True)["fields"]["Statut"]
    with pytest.raises(requests.HTTPError) as error:
        table.create({"Personnes": "douze"})
    assert _error_type(error.value) == "INVALID_VALUE_FOR_COLUMN"


def test_batch_limits_are_ten_records(server: FakeAirtable) -> None:
    path = f"/v0/{BASE}/{PASSAGES}"
    answer = _raw(server, "POST", path, json={"records": [{"fields": {}}] * 11})
    assert answer.status_code == 422
    assert answer.json()["error"]["type"] == "INVALID_RECORDS"
    ids = [f"rec{i:014d}" for i in range(11)]
    answer = _raw(server, "DELETE", path, params={"records[]": ids})
    assert answer.status_code == 422
    answer = _raw(server, "POST", path, json={"records": [{"fields": {"Nom": "a"}}] * 10})
    assert answer.status_code == 200 and len(answer.json()["records"]) == 10


# ------------------------------------------------------------------------- metadata


def test_metadata_list_tables_create_table_and_field(server: FakeAirtable) -> None:
    api = _api(server)
    base = api.base(BASE)
    schema = base.schema()
    passages = schema.table(PASSAGES)
    assert passages.id == server.table_id(BASE, PASSAGES)
    assert passages.primary_field_id == passages.fields[0].id
    assert [f.name for f in passages.fields] == [f["name"] for f in PASSAGE_FIELDS]
    assert all(f.id.startswith("fld") and len(f.id) == 17 for f in passages.fields)

    sites = base.create_table(
        "Sites",
        [{"name": "Nom", "type": "singleLineText"}, {"name": "Latitude", "type": "number"}],
    )
    assert sites.id.startswith("tbl")
    assert [t.name for t in base.schema(force=True).tables] == [PASSAGES, "Sites"]
    with pytest.raises(requests.HTTPError) as error:
        base.create_table("Sites", [{"name": "Nom", "type": "singleLineText"}])
    assert _error_type(error.value) == "DUPLICATE_TABLE_NAME"

    notes = sites.create_field("Notes", "multilineText", description="Remarques")
    assert notes.id.startswith("fld") and notes.name == "Notes"
    assert "Notes" in [f.name for f in sites.schema(force=True).fields]
    sites.create({"Nom": "Quai", "Notes": "ok"})
    assert sites.all()[0]["fields"] == {"Nom": "Quai", "Notes": "ok"}

    renamed = _raw(
        server,
        "PATCH",
        f"/v0/meta/bases/{BASE}/tables/{sites.id}/fields/{notes.id}",
        json={"name": "Commentaire"},
    )
    assert renamed.status_code == 200 and renamed.json()["name"] == "Commentaire"
    assert sites.all()[0]["fields"] == {"Nom": "Quai", "Commentaire": "ok"}
    assert server.count(path_contains="/meta/bases/") >= 4


# ------------------------------------------------------------------- rate limiting


def test_rate_limit_429_then_penalty_window_then_recovery() -> None:
    with FakeAirtable(token=TOKEN, rate_limit=5, penalty_seconds=1.0) as server:
        server.add_table(BASE, PASSAGES, PASSAGE_FIELDS)
        server.add_table(OTHER_BASE, PASSAGES, PASSAGE_FIELDS)
        path = f"/v0/{BASE}/{PASSAGES}"
        with requests.Session() as session:
            session.headers["Authorization"] = f"Bearer {TOKEN}"
            statuses = [session.get(server.url + path, timeout=5).status_code for _ in range(5)]
            assert statuses == [200] * 5
            blocked = session.get(server.url + path, timeout=5)
            blocked_at = time.monotonic()
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
            time.sleep(max(0.0, blocked_at + 0.7 - time.monotonic()))
            server.send_retry_after = True
            still = session.get(server.url + path, timeout=5)
            assert still.status_code == 429 and still.headers["Retry-After"] == "1"
            # ...and ends after penalty_seconds.
            time.sleep(max(0.0, blocked_at + 1.1 - time.monotonic()))
            assert session.get(server.url + path, timeout=5).status_code == 200
        assert server.count(status=429) == 3


def test_pyairtable_default_retry_rides_out_a_short_penalty_only() -> None:
    with FakeAirtable(token=TOKEN, rate_limit=2, penalty_seconds=1.0) as server:
        server.add_table(BASE, PASSAGES, PASSAGE_FIELDS)
        server.load_records(BASE, PASSAGES, _records(3))
        # Default strategy: 429 only, 5 retries, sleeps 0, 0.2, 0.4, 0.8, 1.6 s (3 s in all).
        table = Api(TOKEN, endpoint_url=server.url).table(BASE, PASSAGES)
        for _ in range(3):
            _raw(server, "GET", f"/v0/{BASE}/{PASSAGES}")
        started = time.monotonic()
        assert len(table.all()) == 3
        assert 0.9 < time.monotonic() - started < 2.5
        assert server.count(status=429) >= 3

        # A penalty longer than the retry budget surfaces as RetryError after ~3 s.
        server.penalty_seconds = 10.0
        server.reset_rate_limits()
        for _ in range(3):
            _raw(server, "GET", f"/v0/{BASE}/{PASSAGES}")
        server.reset_log()
        started = time.monotonic()
        with pytest.raises(requests.exceptions.RetryError):
            table.all()
        assert 2.5 < time.monotonic() - started < 5.0
        assert server.count(status=429) == 6  # the first try and 5 retries


def test_pyairtable_honours_retry_after() -> None:
    with FakeAirtable(token=TOKEN, rate_limit=2, penalty_seconds=1.0) as server:
        server.add_table(BASE, PASSAGES, PASSAGE_FIELDS)
        server.send_retry_after = True
        table = Api(TOKEN, endpoint_url=server.url).table(BASE, PASSAGES)
        for _ in range(3):
            _raw(server, "GET", f"/v0/{BASE}/{PASSAGES}")
        server.reset_log()
        assert table.all() == []
        assert [e.status for e in server.requests] == [429, 200]


# ------------------------------------------------------------------ fault injection


def test_injected_503_500_and_drop_seen_by_raw_requests(server: FakeAirtable) -> None:
    path = f"/v0/{BASE}/{PASSAGES}"
    server.inject("503", count=2)
    server.inject("500", path_contains="/meta/")
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {TOKEN}"
        first = session.get(server.url + path, timeout=5)
        assert first.status_code == 503
        assert first.json()["error"]["type"] == "SERVICE_UNAVAILABLE"
        assert session.get(server.url + path, timeout=5).status_code == 503
        assert session.get(server.url + path, timeout=5).status_code == 200
        meta = session.get(f"{server.url}/v0/meta/bases/{BASE}/tables", timeout=5)
        assert meta.status_code == 500 and meta.json()["error"]["type"] == "SERVER_ERROR"

        server.inject("drop", method="POST")
        with pytest.raises(requests.ConnectionError):
            session.post(server.url + path, json={"fields": {"Nom": "x"}}, timeout=5)
        assert session.get(server.url + path, timeout=5).status_code == 200
    assert server.count(status=0) == 1 and server.count(status=503) == 2
    assert server.records(BASE, PASSAGES) == []  # the dropped create never happened


def test_pyairtable_retries_drops_but_not_5xx_by_default(server: FakeAirtable) -> None:
    default = Api(TOKEN, endpoint_url=server.url).table(BASE, PASSAGES)
    no_retry = _api(server).table(BASE, PASSAGES)

    server.inject("503")
    with pytest.raises(requests.HTTPError) as error:
        default.all()  # 503 is not in the default status_forcelist (429 only)
    assert error.value.response is not None and error.value.response.status_code == 503

    server.inject("drop")
    with pytest.raises(requests.ConnectionError):
        no_retry.all()

    server.reset_log()
    server.inject("drop")
    assert default.all() == []  # read errors are retried (allowed_methods=None: all)
    assert [e.status for e in server.requests] == [0, 200]


def test_injected_timeout_trips_the_client_timeout(server: FakeAirtable) -> None:
    table = _api(server, timeout=(2, 0.3)).table(BASE, PASSAGES)
    server.inject("timeout", seconds=1.0)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.Timeout):
        table.all()
    assert time.monotonic() - started < 0.9
    assert table.all() == []


def test_latency_does_not_serialize_concurrent_requests() -> None:
    with FakeAirtable(token=TOKEN, rate_limit=None, latency_seconds=0.3) as server:
        server.add_table(BASE, PASSAGES, PASSAGE_FIELDS)
        durations: list[float] = []

        def fetch() -> None:
            started = time.monotonic()
            _raw(server, "GET", f"/v0/{BASE}/{PASSAGES}").raise_for_status()
            durations.append(time.monotonic() - started)

        threads = [threading.Thread(target=fetch) for _ in range(8)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        assert len(durations) == 8 and min(durations) >= 0.3
        assert elapsed < 0.9  # 8 x 0.3 s if served one at a time
        stamps = sorted(e.timestamp for e in server.requests)
        assert stamps[-1] - stamps[0] < 0.25  # all received before the first answered
