"""Zones (docs/architecture.md §4): H3 hexagons at a configured resolution, and their coverage.

A zone's *last visit* is the latest visit of any active camp in it; a zone is a coverage
gap when that visit is more than ``gap_days`` days old, i.e. no active camp of the zone
was visited within the gap.
"""

from __future__ import annotations

from typing import Any

import h3
import pandas as pd

from carto.analytics.frames import local_times

ZONE_COLUMNS = [
    "zone",
    "latitude",
    "longitude",
    "camps",
    "people",
    "last_visit",
    "days_since_visit",
    "gap",
]


def zone_ids(latitude: pd.Series, longitude: pd.Series, resolution: int) -> pd.Series:
    """The H3 cell of each position (aligned on ``latitude``'s index; NA when unknown)."""
    cells = [
        h3.latlng_to_cell(float(la), float(lo), resolution)
        if pd.notna(la) and pd.notna(lo)
        else None
        for la, lo in zip(latitude.tolist(), longitude.tolist(), strict=True)
    ]
    return pd.Series(cells, index=latitude.index, dtype="str")


def zone_size(resolution: int) -> tuple[float, float]:
    """(average side in km, average area in km²) of the H3 hexagons of ``resolution``."""
    side = h3.average_hexagon_edge_length(resolution, unit="km")
    area = h3.average_hexagon_area(resolution, unit="km^2")
    return float(side), float(area)


def zone_center(zone: str) -> tuple[float, float]:
    """(latitude, longitude) of the centre of an H3 cell."""
    lat, lon = h3.cell_to_latlng(zone)
    return float(lat), float(lon)


def zone_coverage(states: pd.DataFrame, resolution: int, gap_days: int) -> pd.DataFrame:
    """One row per zone holding an active camp of ``states`` (``camps.camp_states``),
    columns ``ZONE_COLUMNS``: camps, people last counted, the zone's latest visit and
    whether it is a coverage gap. Longest wait first."""
    active = states[states["active"]]
    if active.empty:
        return _empty_zones(states["last_visit"])
    active = active.assign(zone=zone_ids(active["latitude"], active["longitude"], resolution))
    zones = active.groupby("zone").agg(
        camps=("camp_id", "size"),
        people=("people", "sum"),
        last_visit=("last_visit", "max"),
        days_since_visit=("days_since_visit", "min"),
    )
    centres = [zone_center(z) for z in zones.index]
    zones["latitude"] = [c[0] for c in centres]
    zones["longitude"] = [c[1] for c in centres]
    zones["gap"] = zones["days_since_visit"] > gap_days
    zones = zones.reset_index().sort_values(
        ["days_since_visit", "zone"], ascending=[False, True], ignore_index=True
    )
    return zones[ZONE_COLUMNS]


def _empty_zones(dates: pd.Series) -> pd.DataFrame:
    cols: dict[str, Any] = {
        "zone": "str",
        "latitude": float,
        "longitude": float,
        "camps": int,
        "people": float,
        "last_visit": local_times(dates),
        "days_since_visit": int,
        "gap": bool,
    }
    return pd.DataFrame({c: pd.Series(dtype=d) for c, d in cols.items()})
