"""The Airtable contract of docs/architecture.md §3 and the field mapping."""

import pytest

from carto import schema


def test_tables_and_field_names_match_design() -> None:
    assert schema.SITES.airtable == "Sites"
    assert schema.PASSAGES.airtable == "Passages"
    names = [f.airtable for f in schema.PASSAGES.fields]
    for expected in (
        "Date",
        "Association",
        "Équipe",
        "Site",
        "Localisation",
        "Personnes",
        "Mineurs non accompagnés",
        "Besoins",
        "Kits hygiène distribués",
        "Évacuation",
        "Personnes mises à l'abri",
        "Statut du site",
        "Commentaire",
    ):
        assert expected in names
    assert len(names) == len(set(names))
    assert schema.PASSAGES.field("date").required
    assert schema.PASSAGES.field("site").type is schema.FieldType.LINKS


def test_select_options_match_design() -> None:
    assert schema.PASSAGES.field("evacuation").options == (
        "Aucune",
        "Évacuation avec mise à l'abri",
        "Évacuation sans solution",
        "Évacuation partielle",
    )
    arr = schema.SITES.field("arrondissement").options
    assert arr[0] == "75001" and arr[19] == "75020" and "93 Saint-Denis" in arr
    assert len(schema.PASSAGES.field("needs").options) == 11
    every_select = [f for t in schema.TABLES.values() for f in t.fields if "Select" in f.type.value]
    assert all(f.options for f in every_select)


def test_mapping_defaults_and_overrides() -> None:
    default = schema.field_mapping(schema.PASSAGES)
    assert default.airtable_name("people") == "Personnes"
    custom = schema.field_mapping(schema.PASSAGES, {"people": "Nb personnes"})
    assert custom.airtable_name("people") == "Nb personnes"
    assert custom.canonical({"Nb personnes": 12, "Personnes": 99, "Autre": 1}) == {"people": 12}


def test_mapping_rejects_unknown_keys_and_collisions() -> None:
    with pytest.raises(ValueError, match="clé de champ inconnue pour la table passages"):
        schema.field_mapping(schema.PASSAGES, {"peeple": "X"})
    with pytest.raises(ValueError, match="même nom Airtable"):
        schema.field_mapping(schema.PASSAGES, {"people": "Tentes"})
