"""init-base creates the contract tables once; the schema check reports what differs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from carto import cli, schema
from carto.base_setup import check_schema, init_base, table_spec
from carto.settings import TOKEN_ENV, Settings, load_settings
from testing.fake_airtable import FakeAirtable

TOKEN = "patTEST"
BASE = "appCARTOINIT00001"


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)


@pytest.fixture
def server() -> Iterator[FakeAirtable]:
    with FakeAirtable(token=TOKEN, rate_limit=5, penalty_seconds=0.5) as fake:
        fake.add_base(BASE)
        yield fake


def write_settings(folder: Path, server: FakeAirtable, extra: str = "") -> Settings:
    path = folder / "config.toml"
    path.write_text(
        f'[airtable]\nbase_id = "{BASE}"\nendpoint_url = "{server.url}"\n'
        f"penalty_seconds = 0.6\n{extra}"
        f'[store]\npath = "{folder / "snapshot.sqlite"}"\n',
        encoding="utf-8",
    )
    return load_settings(path)


@pytest.fixture
def settings(tmp_path: Path, server: FakeAirtable) -> Settings:
    return write_settings(tmp_path, server)


def live_tables(server: FakeAirtable) -> dict[str, dict[str, Any]]:
    answer = requests.get(
        f"{server.url}/v0/meta/bases/{BASE}/tables",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    )
    return {t["name"]: t for t in answer.json()["tables"]}


def test_init_base_creates_the_contract_tables(settings: Settings, server: FakeAirtable) -> None:
    report = init_base(settings)

    assert report.created == {"Sites": 7, "Passages": 26}
    assert report.existing == [] and report.problems == []
    assert report.api_calls == 3  # read the schema, create two tables
    tables = live_tables(server)
    sites = {f["name"]: f for f in tables["Sites"]["fields"]}
    passages = {f["name"]: f for f in tables["Passages"]["fields"]}
    assert tables["Sites"]["primaryFieldId"] == sites["Nom"]["id"]
    assert sites["Latitude"]["options"]["precision"] == 6
    assert [c["name"] for c in sites["Arrondissement"]["options"]["choices"]] == list(
        schema.ARRONDISSEMENTS
    )
    assert passages["Date"]["type"] == "dateTime"
    assert passages["Date"]["options"]["timeZone"] == "Europe/Paris"
    assert passages["Site"]["type"] == "multipleRecordLinks"
    assert passages["Site"]["options"]["linkedTableId"] == tables["Sites"]["id"]
    assert passages["Personnes"]["options"]["precision"] == 0
    assert [c["name"] for c in passages["Besoins"]["options"]["choices"]] == list(schema.NEEDS)
    assert check_schema(settings) == []


def test_second_run_creates_nothing_and_reports_a_missing_field(
    settings: Settings, server: FakeAirtable
) -> None:
    init_base(settings)
    server.rename_field(BASE, "Passages", "Personnes", "Nb personnes")
    server.reset_log()

    report = init_base(settings)

    assert report.created == {}
    assert report.existing == ["Sites", "Passages"]
    assert [str(p) for p in report.problems] == [
        "Passages : le champ « Personnes » (people) est introuvable."
    ]
    assert server.count(method="POST") == 0

    mapped = write_settings(
        settings.base_dir, server, 'passages_fields = { people = "Nb personnes" }\n'
    )
    assert check_schema(mapped) == []


def test_schema_check_reports_mistyped_fields_in_french(
    settings: Settings, server: FakeAirtable
) -> None:
    sites_id = server.add_table(BASE, "Sites", table_spec(settings, "sites", {})["fields"])
    fields = table_spec(settings, "passages", {"sites": sites_id})["fields"]
    for spec in fields:
        if spec["name"] == "Personnes":  # a base that typed counts as text
            spec.update(type="singleLineText", options=None)
    server.add_table(BASE, "Passages", [f for f in fields if f["name"] != "Tentes"])

    problems = check_schema(settings)

    assert [(p.table, p.kind, p.field) for p in problems] == [
        ("passages", "wrong_type", "people"),
        ("passages", "missing_field", "tents"),
    ]
    assert str(problems[0]) == (
        "Passages : le champ « Personnes » (people) est de type « texte sur une ligne » "
        "au lieu de « nombre »."
    )


def test_schema_check_reports_a_missing_table_and_a_wrong_link(
    settings: Settings, server: FakeAirtable
) -> None:
    other = server.add_table(BASE, "Autre", [{"name": "Nom", "type": "singleLineText"}])
    server.add_table(BASE, "Passages", table_spec(settings, "passages", {"sites": other})["fields"])

    problems = check_schema(settings)

    assert [p.kind for p in problems] == ["missing_table"]
    assert "La table « Sites » est introuvable" in str(problems[0])
    server.add_table(BASE, "Sites", table_spec(settings, "sites", {})["fields"])
    assert [str(p) for p in check_schema(settings)] == [
        "Passages : le champ « Site » (site) ne pointe pas vers la table « Sites »."
    ]


def test_cli_init_base_reports_in_french(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert settings.source is not None
    argv = ["--config", str(settings.source), "init-base"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "Table « Sites » créée (7 champs)." in out
    assert "Table « Passages » créée (26 champs)." in out

    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "Table « Passages » déjà présente : laissée telle quelle." in out
    assert "contient toutes les tables et tous les champs attendus" in out


def test_computed_fields_are_judged_by_the_type_of_their_result(
    settings: Settings, server: FakeAirtable
) -> None:
    sites_id = server.add_table(BASE, "Sites", table_spec(settings, "sites", {})["fields"])
    fields = table_spec(settings, "passages", {"sites": sites_id})["fields"]
    computed = {
        # A formula giving a number stands for a number; a rollup giving text does not.
        "Personnes": {
            "type": "formula",
            "options": {
                "formula": "{Hommes seuls} + {Familles}",
                "isValid": True,
                "result": {"type": "number", "options": {"precision": 0}},
            },
        },
        "Tentes": {
            "type": "rollup",
            "options": {"isValid": True, "result": {"type": "singleLineText"}},
        },
        # A computed type pyairtable has no model for is judged by its result all the same.
        "Familles": {"type": "lookup", "options": {"result": {"type": "number"}}},
        # A formula without a result type is judged by its own type.
        "Enfants": {"type": "formula", "options": {"formula": "1", "isValid": False}},
    }
    for spec in fields:
        spec.update(computed.get(spec["name"], {}))
    server.add_table(BASE, "Passages", fields)

    problems = check_schema(settings)

    assert [(p.kind, p.field) for p in problems] == [
        ("wrong_type", "children"),
        ("wrong_type", "tents"),
    ]
    assert "« Enfants » (children) est de type « formule » au lieu de « nombre »" in str(
        problems[0]
    )
    assert str(problems[1]) == (
        "Passages : le champ « Tentes » (tents) est de type « texte sur une ligne » "
        "au lieu de « nombre »."
    )
