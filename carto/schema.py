"""The Airtable base contract (docs/architecture.md §3): tables, fields, types and select options.

Each field has a canonical key (English, used as the column name in frames) and a
default Airtable field name (French, as the SoftR form writes it). A base whose field
names differ maps canonical keys to its own names in config
(``[airtable] passages_fields`` / ``sites_fields``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from carto.i18n import t


class FieldType(StrEnum):
    """The Airtable field types the contract uses (metadata API names)."""

    TEXT = "singleLineText"
    LONG_TEXT = "multilineText"
    NUMBER = "number"
    DATETIME = "dateTime"
    SINGLE_SELECT = "singleSelect"
    MULTI_SELECT = "multipleSelects"
    LINKS = "multipleRecordLinks"


ARRONDISSEMENTS: tuple[str, ...] = (
    *(f"750{n:02d}" for n in range(1, 21)),
    "93 Saint-Denis",
    "93 Aubervilliers",
    "93 Pantin",
    "Autre",
)
ASSOCIATIONS = ("Utopia 56", "Croix-Rouge française", "Action contre la Faim", "Autre")
SITE_TYPES = (
    "Campement de tentes",
    "Pont/tunnel",
    "Squat/bâtiment",
    "Parking",
    "Gare",
    "Parc/jardin",
    "Autre",
)
SITE_STATUSES = ("Actif", "Inactif", "Évacué")
NEEDS = (
    "Nourriture",
    "Eau",
    "Tentes",
    "Couvertures/duvets",
    "Vêtements",
    "Hygiène",
    "Soins médicaux",
    "Santé mentale",
    "Accès aux droits",
    "Hébergement",
    "Recharge téléphone",
)
REFERRALS = ("115", "PASS/hôpital", "Accueil de jour", "Juridique", "ASE (mineurs)", "Autre")
EVACUATION_NONE = "Aucune"
EVACUATION_SHELTERED = "Évacuation avec mise à l'abri"
EVACUATION_NO_SOLUTION = "Évacuation sans solution"
EVACUATION_PARTIAL = "Évacuation partielle"
EVACUATIONS = (EVACUATION_NONE, EVACUATION_SHELTERED, EVACUATION_NO_SOLUTION, EVACUATION_PARTIAL)
PASSAGE_SITE_STATUSES = ("Actif", "Vide", "Évacué", "Démantelé")
# A passage reporting one of these statuses closes the camp from that day on.
CLOSING_SITE_STATUSES = frozenset({"Vide", "Évacué", "Démantelé"})


@dataclass(frozen=True)
class Field:
    """One field of the contract."""

    key: str
    airtable: str
    type: FieldType
    options: tuple[str, ...] = ()
    required: bool = False
    precision: int | None = None


@dataclass(frozen=True)
class Table:
    """One table of the contract."""

    key: str
    airtable: str
    fields: tuple[Field, ...]

    def field(self, key: str) -> Field:
        for f in self.fields:
            if f.key == key:
                return f
        raise KeyError(f"{self.key} has no field {key!r}")

    def keys_of(self, *types: FieldType) -> list[str]:
        return [f.key for f in self.fields if f.type in types]


SITES = Table(
    "sites",
    "Sites",
    (
        Field("name", "Nom", FieldType.TEXT),
        Field("latitude", "Latitude", FieldType.NUMBER, precision=6),
        Field("longitude", "Longitude", FieldType.NUMBER, precision=6),
        Field("arrondissement", "Arrondissement", FieldType.SINGLE_SELECT, ARRONDISSEMENTS),
        Field("type", "Type", FieldType.SINGLE_SELECT, SITE_TYPES),
        Field("status", "Statut", FieldType.SINGLE_SELECT, SITE_STATUSES),
        Field("notes", "Notes", FieldType.LONG_TEXT),
    ),
)

PEOPLE_COUNTS = ("single_men", "single_women", "families", "children", "unaccompanied_minors")
DISTRIBUTIONS = (
    "meals_given",
    "tents_given",
    "blankets_given",
    "hygiene_kits_given",
    "clothes_given",
)

PASSAGES = Table(
    "passages",
    "Passages",
    (
        Field("date", "Date", FieldType.DATETIME, required=True),
        Field("association", "Association", FieldType.SINGLE_SELECT, ASSOCIATIONS),
        Field("team", "Équipe", FieldType.TEXT),
        Field("site", "Site", FieldType.LINKS),
        Field("latitude", "Latitude", FieldType.NUMBER, precision=6),
        Field("longitude", "Longitude", FieldType.NUMBER, precision=6),
        Field("location_text", "Localisation", FieldType.TEXT),
        Field("arrondissement", "Arrondissement", FieldType.SINGLE_SELECT, ARRONDISSEMENTS),
        Field("people", "Personnes", FieldType.NUMBER, precision=0),
        Field("single_men", "Hommes seuls", FieldType.NUMBER, precision=0),
        Field("single_women", "Femmes seules", FieldType.NUMBER, precision=0),
        Field("families", "Familles", FieldType.NUMBER, precision=0),
        Field("children", "Enfants", FieldType.NUMBER, precision=0),
        Field("unaccompanied_minors", "Mineurs non accompagnés", FieldType.NUMBER, precision=0),
        Field("tents", "Tentes", FieldType.NUMBER, precision=0),
        Field("needs", "Besoins", FieldType.MULTI_SELECT, NEEDS),
        Field("meals_given", "Repas distribués", FieldType.NUMBER, precision=0),
        Field("tents_given", "Tentes distribuées", FieldType.NUMBER, precision=0),
        Field("blankets_given", "Couvertures distribuées", FieldType.NUMBER, precision=0),
        Field("hygiene_kits_given", "Kits hygiène distribués", FieldType.NUMBER, precision=0),
        Field("clothes_given", "Vêtements distribués", FieldType.NUMBER, precision=0),
        Field("referrals", "Orientations", FieldType.MULTI_SELECT, REFERRALS),
        Field("evacuation", "Évacuation", FieldType.SINGLE_SELECT, EVACUATIONS),
        Field("sheltered", "Personnes mises à l'abri", FieldType.NUMBER, precision=0),
        Field("site_status", "Statut du site", FieldType.SINGLE_SELECT, PASSAGE_SITE_STATUSES),
        Field("comment", "Commentaire", FieldType.LONG_TEXT),
    ),
)

TABLES: dict[str, Table] = {SITES.key: SITES, PASSAGES.key: PASSAGES}


@dataclass(frozen=True)
class FieldMapping:
    """Canonical field key → Airtable field name, for one table."""

    table: Table
    names: Mapping[str, str]

    def airtable_name(self, key: str) -> str:
        return self.names[key]

    def canonical(self, fields: Mapping[str, object]) -> dict[str, object]:
        """Re-key an Airtable ``fields`` dict by canonical keys (unknown names dropped)."""
        return {key: fields[name] for key, name in self.names.items() if name in fields}


def field_mapping(table: Table, overrides: Mapping[str, str] | None = None) -> FieldMapping:
    """The mapping for a table, with the config's overrides applied and checked."""
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - {f.key for f in table.fields})
    if unknown:
        valid = ", ".join(f.key for f in table.fields)
        raise ValueError(
            t("config.error.field_keys", table=table.key, unknown=", ".join(unknown), valid=valid)
        )
    names = {f.key: overrides.get(f.key, f.airtable) for f in table.fields}
    if len(set(names.values())) != len(names):
        raise ValueError(t("config.error.same_name", table=table.key))
    return FieldMapping(table, names)
