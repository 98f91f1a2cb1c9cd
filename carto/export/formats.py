"""Writers: export tables to CSV, XLSX, GeoJSON and KML bytes.

Each column is written after its pandas dtype: booleans, integers (nullable ``Int64``
included), decimals, *dates* (naive datetimes: local days) and *date-times* (aware
datetimes, written in their own time zone); everything else is text.

Text cells are neutralised against formula injection in CSV and XLSX (OWASP CSV
injection, ASVS 1.2.10): a text starting with ``=``, ``+``, ``-``, ``@``, a tab, a
carriage return or a line feed (or a fullwidth look-alike), or with spaces before one of
``=+-@``, gets a leading single quote. Numbers are written as numbers and never touched:
a negative count stays a negative number.

- CSV: UTF-8 with a byte-order mark (Excel then reads the accents), RFC 4180 quoting,
  ISO dates; the "Excel français" variant uses ``;``, a decimal comma and DD/MM/YYYY.
- XLSX: one sheet per table, typed cells (dates as dates, numbers as numbers), frozen
  bold header row and an autofilter.
- GeoJSON (RFC 7946): a FeatureCollection in WGS84, longitude before latitude, without
  ``crs``; properties under the stable column keys; UTF-8 without BOM.
- KML 2.2: one Placemark per row with a name, an HTML description (every value escaped
  for HTML, then for XML), a TimeStamp when the row has a date and ExtendedData.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import h3
import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from carto.i18n import t

CSV, XLSX, GEOJSON, KML = "csv", "xlsx", "geojson", "kml"
FORMATS: tuple[str, ...] = (CSV, XLSX, GEOJSON, KML)
GEO_FORMATS: tuple[str, ...] = (GEOJSON, KML)
MIME_TYPES = {
    CSV: "text/csv",
    XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    GEOJSON: "application/geo+json",
    KML: "application/vnd.google-earth.kml+xml",
}
KML_NS = "http://www.opengis.net/kml/2.2"

Kind = Literal["text", "bool", "int", "float", "date", "datetime"]
Geometry = Literal["point", "zone"]

# First characters that make a spreadsheet read a cell as a formula (or split it).
FORMULA_TRIGGERS = frozenset("=+-@\t\r\n\0＝＋－＠")
_FORMULA_AFTER_SPACE = frozenset("=+-@＝＋－＠")
XLSX_MAX_TEXT = 32_767  # Excel's limit for one cell
XLSX_MAX_SHEET_TITLE = 31
# Characters XML 1.0 forbids (XLSX and KML are XML): C0 controls but tab and line
# breaks, lone surrogates (not encodable in UTF-8) and the non-characters U+FFFE, U+FFFF.
# One of them in a record's text would make the file unreadable: they are removed.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


@dataclass(frozen=True)
class Table:
    """One dataset ready to write: the frame, French headers, and what maps need.

    ``labels`` gives the French header of each column (CSV, XLSX, KML display names);
    GeoJSON properties and KML data names use the column keys. ``names`` (aligned on
    the frame) names each placemark; ``geometry`` says where a row is: ``point`` (its
    ``latitude`` and ``longitude``), ``zone`` (the H3 hexagon of its ``zone``), or None
    (not a map dataset); ``time_column`` dates each placemark. ``description`` describes
    the whole table (KML document); ``summary_columns`` are the columns a placemark's
    description shows (every column stays in its ExtendedData)."""

    dataset: str
    title: str
    frame: pd.DataFrame
    labels: dict[str, str]
    id_column: str | None = None
    names: pd.Series | None = None
    geometry: Geometry | None = None
    time_column: str | None = None
    description: str = ""
    summary_columns: tuple[str, ...] = ()

    @property
    def rows(self) -> int:
        return len(self.frame)

    @property
    def mappable(self) -> bool:
        return self.geometry is not None

    def label(self, column: str) -> str:
        return self.labels.get(column, column)


class FormatError(ValueError):
    """A table cannot be written in the asked format (the message, French, says why)."""


# ------------------------------------------------------------------------- cells


def neutralise(text: str) -> str:
    """A text cell made inert for spreadsheets: a leading single quote when it would be
    read as a formula (OWASP CSV injection)."""
    if not text:
        return text
    if text[0] in FORMULA_TRIGGERS:
        return "'" + text
    stripped = text.lstrip()
    if stripped and stripped is not text and stripped[0] in _FORMULA_AFTER_SPACE:
        return "'" + text
    return text


def column_kind(series: pd.Series) -> Kind:
    """How a column is written, from its dtype."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if isinstance(dtype, pd.DatetimeTZDtype):
        return "datetime"
    if pd.api.types.is_datetime64_dtype(dtype):
        return "date"
    return "text"


def _missing(value: Any) -> bool:
    if value is None or value is pd.NaT or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)


def _values(series: pd.Series, kind: Kind) -> list[Any]:
    """Plain Python values of a column (None where missing): bool, int, float, str,
    ``datetime.date`` (dates) or aware ``datetime`` (date-times)."""
    if kind == "date":
        return [None if _missing(v) else v.date() for v in series.tolist()]
    if kind == "datetime":
        return [None if _missing(v) else v.to_pydatetime() for v in series.tolist()]
    values = series.astype(object).tolist()
    if kind == "bool":
        return [None if _missing(v) else bool(v) for v in values]
    if kind == "int":
        return [None if _missing(v) else int(v) for v in values]
    if kind == "float":
        return [None if _missing(v) else float(v) for v in values]
    return [None if _missing(v) else str(v) for v in values]


def _columns(frame: pd.DataFrame) -> list[tuple[str, Kind, list[Any]]]:
    out = []
    for col in frame.columns:
        kind = column_kind(frame[col])
        out.append((str(col), kind, _values(frame[col], kind)))
    return out


def _float_text(value: float) -> str:
    """The shortest text that reads back as the same number (no exponent for our data)."""
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text


# --------------------------------------------------------------------------- CSV


def to_csv(table: Table, excel_fr: bool = False) -> bytes:
    """CSV, UTF-8 with BOM; ``excel_fr``: ``;`` separator, decimal comma, DD/MM/YYYY."""
    yes, no = t("export.value.yes"), t("export.value.no")

    def cell(kind: Kind, value: Any) -> str:
        if value is None:
            return ""
        if kind == "text":
            return neutralise(value)
        if kind == "bool":
            return yes if value else no
        if kind == "int":
            return str(value)
        if kind == "float":
            text = _float_text(value)
            return text.replace(".", ",") if excel_fr else text
        if kind == "date":
            return value.strftime("%d/%m/%Y") if excel_fr else value.isoformat()
        # date-time, local to its zone
        return value.strftime("%d/%m/%Y %H:%M" if excel_fr else "%Y-%m-%d %H:%M:%S")

    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=";" if excel_fr else ",", lineterminator="\r\n")
    columns = _columns(table.frame)
    writer.writerow([neutralise(table.label(col)) for col, _, _ in columns])
    for i in range(table.rows):
        writer.writerow([cell(kind, values[i]) for _, kind, values in columns])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


# -------------------------------------------------------------------------- XLSX


def sheet_title(title: str, taken: set[str]) -> str:
    """A valid, unique Excel sheet name (31 characters, no ``[]:*?/\\``)."""
    base = _SHEET_FORBIDDEN.sub(" ", title).strip("' ")[:XLSX_MAX_SHEET_TITLE] or "Feuille"
    name, n = base, 2
    while name.lower() in taken:
        suffix = f" ({n})"
        name = base[: XLSX_MAX_SHEET_TITLE - len(suffix)] + suffix
        n += 1
    taken.add(name.lower())
    return name


def _xlsx_text(value: str) -> str:
    return neutralise(xml_text(value))[:XLSX_MAX_TEXT]


def to_xlsx(tables: Sequence[Table]) -> bytes:
    """One workbook, one sheet per table: typed cells, frozen bold header, autofilter."""
    wb = Workbook(write_only=True)
    taken: set[str] = set()
    bold = Font(bold=True)
    for table in tables:
        ws = wb.create_sheet(sheet_title(table.title, taken))
        columns = _columns(table.frame)
        ws.freeze_panes = "A2"
        for j, (col, kind, values) in enumerate(columns, start=1):
            sample = [len(str(v)) for v in values[:200] if v is not None]
            width = {"date": 11, "datetime": 16}.get(kind, max([8, *sample]))
            header = len(table.label(col))
            ws.column_dimensions[get_column_letter(j)].width = min(max(width, header) + 2, 60)
        if columns and table.rows:
            last = get_column_letter(len(columns))
            ws.auto_filter.ref = f"A1:{last}{table.rows + 1}"
        header_cells = []
        for col, _, _ in columns:
            c = WriteOnlyCell(ws, value=_xlsx_text(table.label(col)))
            c.font = bold
            header_cells.append(c)
        ws.append(header_cells)
        for i in range(table.rows):
            row: list[Any] = []
            for _, kind, values in columns:
                value = values[i]
                if value is None:
                    row.append(None)
                elif kind == "text":
                    c = WriteOnlyCell(ws, value=_xlsx_text(value))
                    c.data_type = "s"  # never a formula, whatever it starts with
                    row.append(c)
                elif kind == "date":
                    c = WriteOnlyCell(ws, value=value)
                    c.number_format = "DD/MM/YYYY"
                    row.append(c)
                elif kind == "datetime":
                    c = WriteOnlyCell(ws, value=value.replace(tzinfo=None))
                    c.number_format = "DD/MM/YYYY HH:MM"
                    row.append(c)
                else:
                    row.append(value)
            ws.append(row)
    if not tables:
        wb.create_sheet("Export")
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# ------------------------------------------------------------------------- maps


def _json_value(kind: Kind, value: Any) -> Any:
    if value is None:
        return None
    if kind in ("date", "datetime"):
        return value.isoformat()
    return value


def zone_ring(zone: str) -> list[tuple[float, float]]:
    """The closed boundary of an H3 cell as (longitude, latitude), counterclockwise
    (RFC 7946's right-hand rule for an exterior ring)."""
    ring = [(float(lon), float(lat)) for lat, lon in h3.cell_to_boundary(zone)]
    area = sum(
        x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True)
    )
    if area < 0:
        ring.reverse()
    return [*ring, ring[0]]


def _geometries(table: Table) -> list[dict[str, Any] | None]:
    frame = table.frame
    if table.geometry == "zone":
        return [
            {"type": "Polygon", "coordinates": [[list(p) for p in zone_ring(z)]]}
            if isinstance(z, str) and z
            else None
            for z in frame["zone"].tolist()
        ]
    lat = pd.to_numeric(frame["latitude"], errors="coerce").to_numpy(dtype=float)
    lon = pd.to_numeric(frame["longitude"], errors="coerce").to_numpy(dtype=float)
    return [
        None if np.isnan(la) or np.isnan(lo) else {"type": "Point", "coordinates": [lo, la]}
        for la, lo in zip(lat.tolist(), lon.tolist(), strict=True)
    ]


def _require_map(table: Table) -> None:
    if not table.mappable:
        raise FormatError(t("export.error.not_mappable", dataset=table.title))


def unlocated(table: Table) -> int:
    """Rows a map format leaves out because their position is unknown."""
    return sum(g is None for g in _geometries(table)) if table.mappable else table.rows


def to_geojson(table: Table) -> bytes:
    """A GeoJSON FeatureCollection (RFC 7946): one Feature per located row."""
    _require_map(table)
    columns = _columns(table.frame)
    features = []
    ids = table.frame[table.id_column].tolist() if table.id_column else None
    for i, geometry in enumerate(_geometries(table)):
        if geometry is None:
            continue
        feature: dict[str, Any] = {"type": "Feature"}
        if ids is not None and not _missing(ids[i]):
            feature["id"] = str(ids[i])
        feature["geometry"] = geometry
        feature["properties"] = {col: _json_value(kind, values[i]) for col, kind, values in columns}
        features.append(feature)
    doc = {"type": "FeatureCollection", "name": table.title, "features": features}
    return json.dumps(doc, ensure_ascii=False, allow_nan=False).encode("utf-8")


def _display(kind: Kind, value: Any) -> str:
    """A value as a French reader sees it (KML descriptions)."""
    if value is None:
        return ""
    if kind == "bool":
        return t("export.value.yes") if value else t("export.value.no")
    if kind == "float":
        return _float_text(value).replace(".", ",")
    if kind == "date":
        return str(value.strftime("%d/%m/%Y"))
    if kind == "datetime":
        return str(value.strftime("%d/%m/%Y %H:%M"))
    return str(value)


def _data_text(kind: Kind, value: Any) -> str:
    """A value as KML data holds it: as the standard CSV writes it (ISO dates, decimal
    point), so that GIS tools read numbers and dates back."""
    if value is None:
        return ""
    if kind == "bool":
        return t("export.value.yes") if value else t("export.value.no")
    if kind == "float":
        return _float_text(value)
    if kind in ("date", "datetime"):
        return str(value.isoformat())
    return str(value)


def xml_text(text: str) -> str:
    """``text`` without the characters XML forbids (``_XML_ILLEGAL``)."""
    return _XML_ILLEGAL.sub("", text)


def _html(text: str) -> str:
    """Text made inert inside HTML (before XML escaping): a KML reader such as Google
    Earth renders a Placemark's description, name and data values as HTML."""
    return html.escape(text, quote=False)


def _kml_coords(points: Sequence[Sequence[float]]) -> str:
    return " ".join(f"{lon!r},{lat!r}" for lon, lat in points)


def to_kml(table: Table, name_of: Callable[[int], str] | None = None) -> bytes:
    """A KML 2.2 document: one Placemark per located row, with a name, an HTML
    description, a TimeStamp and ExtendedData; the name and every value are
    HTML-escaped (a reader renders them as HTML), every text rid of what XML forbids."""
    _require_map(table)
    ET.register_namespace("", KML_NS)

    def el(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
        child = ET.SubElement(parent, f"{{{KML_NS}}}{tag}")
        if text is not None:
            child.text = xml_text(text)
        return child

    root = ET.Element(f"{{{KML_NS}}}kml")
    doc = el(root, "Document")
    el(doc, "name", table.title)
    if table.description:
        el(doc, "description", table.description)
    style = el(doc, "Style")
    style.set("id", "zone")
    el(el(style, "LineStyle"), "color", "ff2f3fd3")
    el(el(style, "PolyStyle"), "color", "552f3fd3")
    columns = _columns(table.frame)
    shown = [c for c in columns if c[0] in table.summary_columns] or columns
    names = table.names.tolist() if table.names is not None else None
    times = (
        _values(table.frame[table.time_column], column_kind(table.frame[table.time_column]))
        if table.time_column
        else None
    )
    for i, geometry in enumerate(_geometries(table)):
        if geometry is None:
            continue
        mark = el(doc, "Placemark")
        el(mark, "name", _html(name_of(i) if name_of else (str(names[i]) if names else "")))
        lines = [
            f"{_html(table.label(col))} : {_html(_display(kind, values[i]))}"
            for col, kind, values in shown
            if values[i] is not None and _display(kind, values[i]) != ""
        ]
        el(mark, "description", "<br>".join(lines))
        if times is not None and times[i] is not None:
            el(el(mark, "TimeStamp"), "when", times[i].isoformat())
        if geometry["type"] == "Polygon":
            el(mark, "styleUrl", "#zone")
        data = el(mark, "ExtendedData")
        for col, kind, values in columns:
            item = el(data, "Data")
            item.set("name", col)
            el(item, "displayName", table.label(col))
            el(item, "value", _html(_data_text(kind, values[i])))
        if geometry["type"] == "Point":
            el(el(mark, "Point"), "coordinates", _kml_coords([geometry["coordinates"]]))
        else:
            polygon = el(mark, "Polygon")
            ring = el(el(polygon, "outerBoundaryIs"), "LinearRing")
            el(ring, "coordinates", _kml_coords(geometry["coordinates"][0]))
    body = ET.tostring(root, encoding="unicode", xml_declaration=False)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode("utf-8")


# ------------------------------------------------------------------------ dispatch


def write(tables: Sequence[Table], fmt: str, excel_fr: bool = False) -> bytes:
    """The bytes of one file: every table in one workbook for XLSX, else exactly one."""
    if fmt == XLSX:
        return to_xlsx(tables)
    if len(tables) != 1:
        raise FormatError(t("export.error.one_dataset", format=fmt))
    table = tables[0]
    if fmt == CSV:
        return to_csv(table, excel_fr=excel_fr)
    if fmt == GEOJSON:
        return to_geojson(table)
    if fmt == KML:
        return to_kml(table)
    raise FormatError(t("export.error.format", format=fmt, formats=", ".join(FORMATS)))
