"""The Airtable base: create the tables of docs/architecture.md §3, check a live base's schema.

``init_base`` creates Sites, then Passages (whose Site field links to Sites), in a base
through the metadata API; a table that already exists is left alone and only checked.
``check_schema`` compares the live schema (read as pyairtable's ``BaseSchema`` models) with
the configured field mapping and returns every problem found, in French, rather than
failing on the first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from pyairtable import Api
from pyairtable.models.schema import FieldSchema, TableSchema

from carto import schema
from carto.airtable_client import AirtableClient, client_from_settings
from carto.i18n import t
from carto.schema import FieldType
from carto.settings import Settings

# Airtable types the normalisation reads correctly for each contract type.
COMPATIBLE_TYPES: Mapping[FieldType, frozenset[str]] = {
    FieldType.TEXT: frozenset(
        {"singleLineText", "multilineText", "richText", "email", "url", "phoneNumber"}
    ),
    FieldType.LONG_TEXT: frozenset({"multilineText", "richText", "singleLineText"}),
    FieldType.NUMBER: frozenset({"number", "percent", "currency"}),
    FieldType.DATETIME: frozenset({"dateTime", "date", "createdTime"}),
    FieldType.SINGLE_SELECT: frozenset({"singleSelect"}),
    FieldType.MULTI_SELECT: frozenset({"multipleSelects"}),
    FieldType.LINKS: frozenset({"multipleRecordLinks"}),
}
# Computed fields are judged by the type of their result.
COMPUTED_TYPES = frozenset({"formula", "rollup", "lookup", "multipleLookupValues"})
# The table each link field must point to.
LINK_TARGETS: Mapping[tuple[str, str], str] = {("passages", "site"): "sites"}


@dataclass(frozen=True)
class SchemaProblem:
    """One difference between the live base and the configured mapping."""

    table: str  # canonical table key
    kind: str  # "missing_table", "missing_field", "wrong_type" or "wrong_link"
    message: str  # French, for the user
    field: str | None = None  # canonical field key

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class InitReport:
    """What ``init_base`` did: tables created, tables left alone, problems of the latter."""

    created: dict[str, int] = field(default_factory=dict)  # table name -> fields created
    existing: list[str] = field(default_factory=list)
    problems: list[SchemaProblem] = field(default_factory=list)
    api_calls: int = 0


def type_label(airtable_type: str) -> str:
    """An Airtable field type in French words (the raw name when unknown)."""
    try:
        return t(f"airtable.type.{airtable_type}")
    except KeyError:
        return airtable_type


def _table_names(settings: Settings) -> dict[str, str]:
    return {
        "sites": settings["airtable.sites_table"],
        "passages": settings["airtable.passages_table"],
    }


def _mapping(settings: Settings, key: str) -> schema.FieldMapping:
    return schema.field_mapping(schema.TABLES[key], settings[f"airtable.{key}_fields"])


def field_spec(
    fld: schema.Field, name: str, timezone: str, linked_table_id: str | None = None
) -> dict[str, Any]:
    """The metadata API spec creating one contract field under ``name``."""
    spec: dict[str, Any] = {"name": name, "type": fld.type.value}
    if fld.type is FieldType.NUMBER:
        spec["options"] = {"precision": fld.precision if fld.precision is not None else 0}
    elif fld.type is FieldType.DATETIME:
        spec["options"] = {
            "dateFormat": {"name": "european"},
            "timeFormat": {"name": "24hour"},
            "timeZone": timezone,
        }
    elif fld.type in (FieldType.SINGLE_SELECT, FieldType.MULTI_SELECT):
        spec["options"] = {"choices": [{"name": option} for option in fld.options]}
    elif fld.type is FieldType.LINKS:
        if linked_table_id is None:
            raise ValueError(f"link field {fld.key!r} needs the linked table id")
        spec["options"] = {"linkedTableId": linked_table_id, "prefersSingleRecordLink": True}
    return spec


def table_spec(settings: Settings, key: str, linked_table_ids: Mapping[str, str]) -> dict[str, Any]:
    """The metadata API spec creating one contract table (first field is the primary)."""
    mapping = _mapping(settings, key)
    fields = [
        field_spec(
            fld,
            mapping.airtable_name(fld.key),
            settings["general.timezone"],
            linked_table_ids.get(LINK_TARGETS.get((key, fld.key), "")),
        )
        for fld in mapping.table.fields
    ]
    return {"name": _table_names(settings)[key], "fields": fields}


def read_schema(settings: Settings, client: Api) -> list[TableSchema]:
    """The live tables of the configured base, as pyairtable's schema models."""
    return client.base(settings["airtable.base_id"]).schema(force=True).tables


def _find(tables: Sequence[TableSchema], name_or_id: str) -> TableSchema | None:
    for table in tables:
        if name_or_id in (table.id, table.name):
            return table
    return None


def _type_name(fld: Any) -> str:
    """A field's (or a computed field's result's) Airtable type, as a plain string."""
    kind = fld.type
    return str(kind.value if isinstance(kind, Enum) else kind)


def _option(fld: FieldSchema, name: str, key: str) -> Any:
    """One option of a field: an attribute of its typed model, or a key of the raw
    options of a type pyairtable has no model for."""
    options = getattr(fld, "options", None)
    if isinstance(options, Mapping):
        return options.get(key)
    return getattr(options, name, None)


def _effective_type(live: FieldSchema) -> str:
    kind = _type_name(live)
    if kind in COMPUTED_TYPES:
        result = _option(live, "result", "result")
        if isinstance(result, Mapping):
            return str(result.get("type") or kind)
        return _type_name(result) if result is not None else kind
    return kind


def _check_table(
    settings: Settings, key: str, live: TableSchema, tables: Sequence[TableSchema]
) -> list[SchemaProblem]:
    mapping = _mapping(settings, key)
    table_label = live.name
    by_name = {f.name: f for f in live.fields}
    problems: list[SchemaProblem] = []
    for fld in mapping.table.fields:
        name = mapping.airtable_name(fld.key)
        found = by_name.get(name)
        words = {"table": table_label, "field": name, "key": fld.key}
        if found is None:
            message = t("schema.missing_field", **words)
            problems.append(SchemaProblem(key, "missing_field", message, fld.key))
            continue
        actual = _effective_type(found)
        if actual not in COMPATIBLE_TYPES[fld.type]:
            message = t(
                "schema.wrong_type",
                **words,
                actual=type_label(actual),
                expected=type_label(fld.type.value),
            )
            problems.append(SchemaProblem(key, "wrong_type", message, fld.key))
            continue
        target_key = LINK_TARGETS.get((key, fld.key))
        if target_key is not None and _type_name(found) == "multipleRecordLinks":
            target = _find(tables, _table_names(settings)[target_key])
            linked = _option(found, "linked_table_id", "linkedTableId")
            if target is not None and linked != target.id:
                message = t("schema.wrong_link", **words, target=target.name)
                problems.append(SchemaProblem(key, "wrong_link", message, fld.key))
    return problems


def check_schema(
    settings: Settings,
    client: Api | None = None,
    *,
    tables: Sequence[TableSchema] | None = None,
) -> list[SchemaProblem]:
    """Every difference between the live base and the configured mapping, in French.

    Reads the schema (one API call) unless ``tables`` is given. An empty list means the
    base has every table and field the app reads, with usable types.
    """
    if tables is None:
        tables = read_schema(settings, client or client_from_settings(settings))
    problems: list[SchemaProblem] = []
    for key, name in _table_names(settings).items():
        live = _find(tables, name)
        if live is None:
            message = t("schema.missing_table", table=name, base=settings["airtable.base_id"])
            problems.append(SchemaProblem(key, "missing_table", message))
        else:
            problems.extend(_check_table(settings, key, live, tables))
    return problems


def init_base(settings: Settings, client: AirtableClient | None = None) -> InitReport:
    """Create the missing contract tables in the configured base; check the others.

    Nothing is ever created in or over an existing table: its missing or mistyped
    fields are reported for a person to fix (or to map in ``config.toml``).
    """
    client = client if client is not None else client_from_settings(settings)
    calls_before = client.calls
    base = client.base(settings["airtable.base_id"])
    tables = read_schema(settings, client)
    report = InitReport()
    table_ids: dict[str, str] = {}
    for key in ("sites", "passages"):  # Sites first: Passages.Site links to it
        name = _table_names(settings)[key]
        live = _find(tables, name)
        if live is not None:
            report.existing.append(live.name)
            report.problems.extend(_check_table(settings, key, live, tables))
            table_ids[key] = live.id
            continue
        spec = table_spec(settings, key, table_ids)
        # Base.create_table would read the whole schema again: one call saved.
        created = TableSchema.from_api(
            client.post(base.urls.tables, json=spec), client, context=base
        )
        tables = [*tables, created]
        table_ids[key] = created.id
        report.created[created.name] = len(spec["fields"])
    return InitReport(
        created=report.created,
        existing=report.existing,
        problems=report.problems,
        api_calls=client.calls - calls_before,
    )
