"""Normalisation: typed frames, quarantine with reasons, and the exactly-once invariant."""

import dataclasses
import datetime as dt
import unicodedata
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carto import normalise as normalise_module
from carto import parsing, schema
from carto.dataset import normalise_options
from carto.i18n import t
from carto.normalise import RELATIVE_TIME_WORDS, describe, normalise, utc_times
from carto.settings import Settings

NOW = pd.Timestamp("2026-11-26 12:00", tz="Europe/Paris")
# The declared settings' options, with a base to link records to.
OPTIONS = dataclasses.replace(normalise_options(Settings({}), now=NOW), base_id="appTEST")
SITE = {
    "id": "recSITE000000001",
    "createdTime": "2026-01-01T10:00:00.000Z",
    "fields": {"Nom": "Pont de Flandre", "Latitude": 48.8917, "Longitude": 2.3794},
}


def passage(i: int, **fields: Any) -> dict[str, Any]:
    base = {"Date": "2026-11-20T19:30:00.000Z", "Association": "Utopia 56"}
    base.update(fields)
    return {
        "id": f"recP{i:013d}",
        "createdTime": "2026-11-20T19:40:00.000Z",
        "fields": {k: v for k, v in base.items() if v is not None},
    }


def run(*passages: dict[str, Any], sites: list[dict[str, Any]] | None = None):
    return normalise([SITE] if sites is None else sites, list(passages), OPTIONS)


def flags(row: pd.Series) -> list[str]:
    """A record's flags as the quality page writes them."""
    return [t(c, **p) for c, p in zip(row["flag_codes"], row["flag_params"], strict=True)]


def reason(row: pd.Series) -> str:
    """A quarantined record's reasons as the quality page writes them."""
    return describe(row["reason_codes"], row["reason_params"])


def one(result) -> pd.Series:
    assert len(result.passages) == 1, result.quarantine
    return result.passages.iloc[0]


def test_typed_columns_and_local_time() -> None:
    row = one(run(passage(1, Latitude=48.88, Longitude=2.36, Personnes=12, Besoins=["Eau"])))
    assert row["date"] == pd.Timestamp("2026-11-20 20:30", tz="Europe/Paris")
    assert row["day"] == pd.Timestamp("2026-11-20")
    assert row["people"] == 12.0
    assert row["needs"] == ["Eau"]
    assert row["referrals"] == []
    assert row["position_source"] == "passage"
    assert flags(row) == []


def test_frames_carry_codes_and_the_values_quoted_never_french_text() -> None:
    """Flags and reasons are catalogue codes with the typed values they quote; the text
    is written where it is shown (``describe``), never stored in a frame."""
    res = run(
        passage(1, Latitude=48.88, Longitude=2.36, Personnes="env. 30"),
        passage(2, Latitude=48.88, Longitude=2.36, Tentes=-4),
    )
    row = one(res)
    assert row["flag_codes"] == ["flag.number_text"]
    assert row["flag_params"] == [{"field": "Personnes", "value": "env. 30", "number": "30"}]
    q = res.quarantine.iloc[0]
    assert q["reason_code"] == "reason.negative_count"
    assert q["reason_codes"] == ["reason.negative_count"]
    assert q["reason_params"] == [{"field": "Tentes", "value": "-4"}]
    assert reason(q) == "Nombre négatif dans « Tentes » : -4"
    for frame in (res.passages, res.sites, res.quarantine):
        assert not {"flags", "reason"} & set(frame.columns)
        texts = [str(value) for value in frame.to_numpy().ravel()]
        assert not any("lu comme" in text or "Nombre négatif" in text for text in texts)


def test_position_falls_back_to_site_then_text() -> None:
    res = run(
        passage(1, Site=["recSITE000000001"]),
        passage(2, Localisation="https://maps.google.com/?q=48.8841,2.3601"),
        passage(3, Localisation="48,8841 2,3601"),
    )
    p = res.passages.set_index("record_id")
    assert p.loc["recP0000000000001", ["latitude", "longitude"]].tolist() == [48.8917, 2.3794]
    assert p.loc["recP0000000000001", "position_source"] == "site"
    assert p.loc["recP0000000000002", "position_source"] == "localisation"
    assert p.loc["recP0000000000003", "latitude"] == pytest.approx(48.8841)
    assert "Position lue dans la localisation" in flags(p.loc["recP0000000000003"])[0]


def test_swapped_coordinates_are_corrected_and_flagged() -> None:
    row = one(run(passage(1, Latitude=2.36, Longitude=48.88)))
    assert (row["latitude"], row["longitude"]) == (48.88, 2.36)
    assert flags(row) == ["Latitude et longitude inversées : corrigées"]


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({"Date": None, "Latitude": 48.88, "Longitude": 2.36}, "Date manquante"),
        ({"Date": "hier soir", "Latitude": 48.88, "Longitude": 2.36}, "Date illisible"),
        ({"Date": "today", "Latitude": 48.88, "Longitude": 2.36}, "Date illisible : « today »"),
        ({"Date": "now", "Latitude": 48.88, "Longitude": 2.36}, "Date illisible : « now »"),
        (
            {"Date": "1678-01-02T19:00:00.000Z", "Latitude": 48.88, "Longitude": 2.36},
            "Date trop ancienne : « 1678-01-02T19:00:00.000Z » (avant le 01/01/2015)",
        ),
        (
            {"Date": "31/12/2014", "Latitude": 48.88, "Longitude": 2.36},
            "Date trop ancienne : « 31/12/2014 »",
        ),
        ({"Localisation": "près du métro"}, "Aucune position"),
        ({"Latitude": 0, "Longitude": 0}, "Position (0, 0)"),
        ({"Latitude": 43.3, "Longitude": 5.4}, "hors de la zone"),
        ({"Latitude": 48.88, "Longitude": 2.36, "Personnes": -3}, "Nombre négatif"),
        ({"Latitude": 48.88, "Longitude": 2.36, "Tentes": 50000}, "invraisemblable"),
    ],
)
def test_unusable_records_are_quarantined_with_reason(fields: dict[str, Any], text: str) -> None:
    res = run(passage(1, **fields))
    assert res.passages.empty
    q = res.quarantine.iloc[0]
    assert q["record_id"] == "recP0000000000001"
    assert q["table"] == "passages"
    assert text in reason(q)
    assert q["airtable_url"] == "https://airtable.com/appTEST/Passages/recP0000000000001"


def test_zero_position_with_a_site_uses_the_site() -> None:
    row = one(run(passage(1, Latitude=0, Longitude=0, Site=["recSITE000000001"])))
    assert row["position_source"] == "site"
    assert any("(0, 0)" in f for f in flags(row))


def test_numbers_as_text_are_read_and_flagged() -> None:
    row = one(run(passage(1, Latitude=48.88, Longitude=2.36, Personnes="env. 30", Tentes="12+")))
    assert row["people"] == 30 and row["tents"] == 12
    assert any("« env. 30 » lu comme 30" in f for f in flags(row))


def test_selects_aliases_and_unknown_values() -> None:
    row = one(
        run(
            passage(
                1,
                Latitude=48.88,
                Longitude=2.36,
                Association="Croix Rouge",
                Besoins=["Couvertures", "Eau", "Chaussures"],
            )
        )
    )
    assert row["association"] == "Croix-Rouge française"
    assert row["needs"] == ["Couvertures/duvets", "Eau", "Autre"]
    assert any("Chaussures" in f and "Autre" in f for f in flags(row))
    assert any("« Couvertures » lue comme" in f or "Couvertures" in f for f in flags(row))


def test_personal_data_is_scrubbed() -> None:
    row = one(
        run(
            passage(
                1,
                Latitude=48.88,
                Longitude=2.36,
                Commentaire="Rappeler Ali au 06 12 34 56 78 ou ali@exemple.fr",
                **{"Équipe": "Nord 07.12.34.56.78"},
            )
        )
    )
    assert row["comment"] == "Rappeler Ali au [téléphone] ou [email]"
    assert row["team"] == "Nord [téléphone]"


# Personal data as volunteers type it (issue 14, item 7): French and foreign phone
# numbers in their usual spellings, and an e-mail address.
PHONES = [
    "06 12 34 56 78",
    "06.12.34.56.78",
    "+33 6 12 34 56 78",
    "0033612345678",
    "+330612345678",
    "+44 7911 123456",
]
EMAIL = "prenom.nom@asso.org"


def digits(text: object) -> str:
    return "".join(c for c in str(text) if c.isdigit())


def leaks(text: object, phone: str) -> bool:
    """True when ``text`` still holds the phone number's subscriber digits."""
    return digits(phone)[-8:] in digits(text)


def text_fields(table: schema.Table) -> list[str]:
    return table.keys_of(schema.FieldType.TEXT, schema.FieldType.LONG_TEXT)


@pytest.mark.parametrize("phone", PHONES)
@pytest.mark.parametrize("key", text_fields(schema.PASSAGES))
def test_every_passage_text_field_is_scrubbed(key: str, phone: str) -> None:
    name = schema.PASSAGES.field(key).airtable
    typed = f"Sous le pont, appeler {phone} ou {EMAIL}"
    row = one(run(passage(1, Latitude=48.88, Longitude=2.36, **{name: typed})))
    assert not leaks(row[key], phone), row[key]
    assert EMAIL not in row[key]
    assert "[téléphone]" in row[key] and "[email]" in row[key]


@pytest.mark.parametrize("phone", PHONES)
@pytest.mark.parametrize("key", text_fields(schema.SITES))
def test_every_site_text_field_is_scrubbed(key: str, phone: str) -> None:
    name = schema.SITES.field(key).airtable
    site = {**SITE, "fields": {**SITE["fields"], name: f"Référent {phone}, {EMAIL}"}}
    res = run(passage(1, Site=[SITE["id"]]), sites=[site])
    value = res.sites.iloc[0][key]
    assert not leaks(value, phone) and EMAIL not in value, value
    assert "[téléphone]" in value and "[email]" in value


def test_the_text_fields_tested_are_all_the_free_text_of_the_schema() -> None:
    # A new free-text field in the contract is scrubbed (and tested) without a change here.
    assert set(text_fields(schema.PASSAGES)) >= {"team", "location_text", "comment"}
    assert set(text_fields(schema.SITES)) >= {"name", "notes"}


def test_position_is_still_read_from_a_localisation_holding_a_phone_number() -> None:
    row = one(run(passage(1, Localisation="48.8841, 2.3601 — appeler Ali 06 12 34 56 78")))
    assert row["position_source"] == "localisation"
    assert row["latitude"] == pytest.approx(48.8841)
    assert not leaks(row["location_text"], "0612345678")
    assert flags(row) and not any(leaks(f, "0612345678") for f in flags(row))


@pytest.mark.parametrize(
    "fields",
    [
        {"Date": "rappeler le 06 12 34 56 78", "Latitude": 48.88, "Longitude": 2.36},
        {"Latitude": 48.88, "Longitude": 2.36, "Personnes": "0612345678"},
        {"Latitude": 48.88, "Longitude": 2.36, "Personnes": 612345678},
        {"Latitude": 43.3, "Longitude": 5.4, "Localisation": "appeler 06 12 34 56 78"},
    ],
)
def test_quarantine_reasons_quote_no_phone_number(fields: dict[str, Any]) -> None:
    res = run(passage(1, **fields))
    assert res.passages.empty
    text = reason(res.quarantine.iloc[0])
    assert text and not leaks(text, "0612345678"), text


@pytest.mark.parametrize(
    "fields",
    [
        {"Personnes": "06 12 34 56 78"},
        {"Association": "Asso de Ali 06 12 34 56 78"},
        {"Besoins": ["Eau", f"écrire à {EMAIL} ou 06 12 34 56 78"]},
        {"Évacuation": "appeler 0612345678"},
    ],
)
def test_flags_quote_no_phone_number_nor_email(fields: dict[str, Any]) -> None:
    row = one(run(passage(1, Latitude=48.88, Longitude=2.36, **fields)))
    assert flags(row), "the typed value is flagged"
    for flag in flags(row):
        assert not leaks(flag, "0612345678") and EMAIL not in flag, flag


def test_subcount_over_total_and_future_date_are_flagged() -> None:
    row = one(
        run(
            passage(
                1,
                Date="2026-12-25T19:00:00.000Z",
                Latitude=48.88,
                Longitude=2.36,
                Personnes=10,
                **{"Mineurs non accompagnés": 14},
            )
        )
    )
    assert "Date dans le futur" in flags(row)
    assert any("dépasse le total" in f for f in flags(row))


def test_date_without_time_is_local() -> None:
    row = one(run(passage(1, Date="2026-11-20", Latitude=48.88, Longitude=2.36)))
    assert row["date"] == pd.Timestamp("2026-11-20 00:00", tz="Europe/Paris")


def test_custom_field_names_from_config() -> None:
    options = normalise_options(
        Settings({}).with_values(airtable__passages_fields={"people": "Nb personnes"}), now=NOW
    )
    res = normalise(
        [], [passage(1, Latitude=48.88, Longitude=2.36, **{"Nb personnes": 7})], options
    )
    assert one(res)["people"] == 7


def test_site_without_coordinates_is_quarantined_and_links_fall_back() -> None:
    bad_site = {
        "id": "recSITEBAD",
        "createdTime": "2026-01-01T10:00:00.000Z",
        "fields": {"Nom": "X"},
    }
    res = run(passage(1, Site=["recSITEBAD"], Localisation="48.88, 2.36"), sites=[bad_site])
    assert res.sites.empty
    assert [reason(q) for _, q in res.quarantine.iterrows()] == [
        "Site sans coordonnées utilisables"
    ]
    row = one(res)
    assert row["position_source"] == "localisation"
    assert "Site lié introuvable" in flags(row)


# --- the invariant, on arbitrary records -------------------------------------------------

values = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.integers(min_value=-10, max_value=10_000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.lists(st.text(max_size=8), max_size=3),
    st.sampled_from(["2026-11-20T19:30:00.000Z", "2026-11-20", "48.88, 2.36", "Eau"]),
)
field_names = st.sampled_from([f.airtable for f in schema.PASSAGES.fields] + ["Inconnu"])
records = st.lists(
    st.dictionaries(field_names, values, max_size=8).map(
        lambda f: {k: v for k, v in f.items() if v is not None}
    ),
    max_size=25,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records)
def test_every_record_lands_exactly_once(fields_list: list[dict[str, Any]]) -> None:
    raw = [
        {"id": f"recH{i:013d}", "createdTime": "2026-11-20T19:40:00.000Z", "fields": f}
        for i, f in enumerate(fields_list)
    ]
    res = run(*raw)
    placed = list(res.passages["record_id"]) + list(
        res.quarantine.loc[res.quarantine["table"] == "passages", "record_id"]
    )
    assert sorted(placed) == sorted(r["id"] for r in raw)
    assert all(reason(q) for _, q in res.quarantine.iterrows())
    assert res.passages["latitude"].notna().all() and res.passages["date"].notna().all()


def test_french_date_in_text() -> None:
    row = one(run(passage(1, Date="20/11/2026", Latitude=48.88, Longitude=2.36)))
    assert row["day"] == pd.Timestamp("2026-11-20")


# Texts near the form Airtable's API writes date-times in, and others.
_FIELD = st.sampled_from(["00", "01", "09", "12", "23", "24", "29", "30", "31", "59", "60", "7"])
_API_LIKE = st.builds(
    "{}-{}-{}T{}:{}:{}{}{}".format,
    st.sampled_from(["1899", "1900", "2024", "2026", "2099", "2100", "0000", "20261"]),
    _FIELD,
    _FIELD,
    _FIELD,
    _FIELD,
    _FIELD,
    st.sampled_from(["", ".", ".0", ".000", ".123456", ".1234567"]),
    st.sampled_from(["Z", "", "z", "+01:00", " Z"]),
)
_API = st.builds(
    lambda when, fraction: when.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z",
    st.datetimes(min_value=dt.datetime(1890, 1, 1), max_value=dt.datetime(2110, 12, 31)),
    st.sampled_from(["", ".000", ".5", ".123456"]),
)
_TIME_TEXTS = st.one_of(
    _API,
    _API,
    _API,
    _API_LIKE,
    st.none(),
    st.text(max_size=12),
    st.just("2026-11-20"),
    st.sampled_from(RELATIVE_TIME_WORDS),
)


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(_TIME_TEXTS, max_size=12), start=st.integers(0, 5))
def test_utc_times_are_what_pandas_reads(texts: list[str | None], start: int) -> None:
    """The date-times written as the API writes them are read by Arrow, the others by
    pandas: the same instants as pandas reading them all (an impossible day, a leap
    second, a year pandas cannot hold: missing alike), except the words pandas reads as
    the current instant, which are missing."""
    text = pd.Series(texts, dtype="str", index=range(start, start + len(texts)))
    written = text.mask(text.isin(RELATIVE_TIME_WORDS))
    expected = pd.to_datetime(written, utc=True, format="ISO8601", errors="coerce")
    pd.testing.assert_series_equal(utc_times(text), expected.dt.as_unit("us"))


@pytest.mark.parametrize("word", RELATIVE_TIME_WORDS)
def test_words_pandas_reads_as_now_are_not_times(word: str) -> None:
    """pandas reads these words as the instant of reading; they must not become one."""
    assert pd.to_datetime(pd.Series([word]), utc=True, format="ISO8601").notna().all()
    read = utc_times(pd.Series([word, "2026-11-20T19:30:00.000Z"], dtype="str"))
    assert read.isna().tolist() == [True, False]


def _scrubbed_one_by_one(value: object) -> object:
    """The definition ``normalise._scrub`` follows, text by text: a text holding an @ or
    at least 9 decimal digits (Unicode Nd) is scrubbed, any other is kept."""
    if value is None:
        return None
    text = str(value)
    many_digits = sum(unicodedata.category(c) == "Nd" for c in text) >= 9
    if "@" in text or many_digits:
        return parsing.scrub_pii(text, t("pii.phone"), t("pii.email"))
    return text


_FREE_TEXTS = st.one_of(
    st.none(),
    st.sampled_from(["Équipe Nord 1", "06 12 34 56 78", "a@b.fr", "٠٦١٢٣٤٥٦٧٨", "12345678", ""]),
    st.text(alphabet="0123456789 .+@abcé٣", max_size=24),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_FREE_TEXTS, max_size=40), st.integers(min_value=0, max_value=5))
def test_free_text_is_scrubbed_as_each_text_alone(values: list[str | None], start: int) -> None:
    """Free text is scrubbed once per distinct text: the column is what scrubbing each
    row alone gives, missing values kept, its index and text type kept."""
    col = pd.Series(values, dtype="str", index=pd.RangeIndex(start, start + len(values)))
    got = normalise_module._scrub(col)
    expected = pd.Series([_scrubbed_one_by_one(v) for v in values], dtype="str", index=col.index)
    pd.testing.assert_series_equal(got, expected)
