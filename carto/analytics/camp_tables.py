"""The camps and events tables as known on a day: one row per camp and one row per
evacuation event, with explicit column names (the Historique page's camps and successor
chains, and the ``camps`` and ``events`` export datasets, docs/architecture.md §9).

Status codes: ``camps.STATUSES`` (``camps.camp_status``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from carto.analytics.camps import (
    STATUS_STALE,
    SUPPRESSED,
    camp_states,
    camp_status,
    in_time_order,
    latest_counts,
)
from carto.analytics.events import evacuation_events
from carto.analytics.places import PLACE_COLUMNS, camp_places
from carto.analytics.successors import successor_links

LATEST_COUNTS = ("people", "unaccompanied_minors", "families", "children", "single_women")
CAMP_COLUMNS = [
    "camp_id",
    *PLACE_COLUMNS[: PLACE_COLUMNS.index("last_visit") + 1],
    "days_since_visit",
    *PLACE_COLUMNS[PLACE_COLUMNS.index("last_visit") + 1 :],
    "status",
    "last_site_status",
    "last_count_date",
    *LATEST_COUNTS,
    "evacuations",
    "last_evacuation",
    "predecessor_id",
    "successor_ids",
]


@dataclass(frozen=True)
class CampTables:
    """The camps and events datasets, and the successor links they were built from."""

    camps: pd.DataFrame
    events: pd.DataFrame
    links: pd.DataFrame


def camp_tables(
    passages: pd.DataFrame,
    sites: pd.DataFrame,
    as_of: dt.date,
    active_days: int,
    count_window_days: int,
    successor_distance_m: float,
    successor_days: int,
    timezone: str,
    merge_days: int,
) -> CampTables:
    """Camps, events and links as known at the end of ``as_of`` (later passages ignored)."""
    end = pd.Timestamp(as_of).tz_localize(timezone) + pd.Timedelta(days=1)
    before_end = (passages["date"] < end).to_numpy(dtype=bool)
    # every passage, usually (as of today): the frame itself, whose results are kept
    known = passages if before_end.all() else passages[before_end]
    events = evacuation_events(known, sites, count_window_days, merge_days)
    places = camp_places(known, sites)
    links = successor_links(places, events, successor_distance_m, successor_days)
    camps = camps_table(
        known, sites, events, links, pd.Timestamp(as_of).tz_localize(timezone), active_days
    )
    return CampTables(camps=camps, events=events_table(events, links), links=links)


def camps_table(
    passages: pd.DataFrame,
    sites: pd.DataFrame,
    events: pd.DataFrame,
    links: pd.DataFrame,
    as_of: pd.Timestamp,
    active_days: int,
) -> pd.DataFrame:
    """One row per camp, columns ``CAMP_COLUMNS``: place, first and last visit, status,
    latest counts (with their date), evacuations, predecessor and successors (ids
    separated by ", ")."""
    places = camp_places(passages, sites)
    states = camp_states(passages, sites, as_of, active_days)
    camps = places.join(states.set_index("camp_id")[["days_since_visit", "site_status"]])
    camps["status"] = camp_status(states).reindex(camps.index, fill_value=STATUS_STALE)
    camps = camps.rename(columns={"site_status": "last_site_status"})

    read = ["camp_id", "date", "record_id", *LATEST_COUNTS]
    last_count = latest_counts(in_time_order(passages, [*read, *(c + SUPPRESSED for c in read)]))
    camps["last_count_date"] = last_count["date"].reindex(camps.index)
    flags = []
    for col in LATEST_COUNTS:
        camps[col] = last_count[col].reindex(camps.index).astype(float)
        if col + SUPPRESSED in last_count.columns:  # a role's suppressed latest count
            flags.append(col + SUPPRESSED)
            camps[col + SUPPRESSED] = (
                last_count[col + SUPPRESSED].reindex(camps.index).fillna(False).astype(bool)
            )

    by_camp = events.groupby("camp_id")["date"]
    camps["evacuations"] = by_camp.size().reindex(camps.index, fill_value=0).astype(int)
    camps["last_evacuation"] = by_camp.max().reindex(camps.index)
    pred = links.set_index("successor_id")["predecessor_id"]
    camps["predecessor_id"] = pred.reindex(camps.index).astype("str")
    succ = links.groupby("predecessor_id")["successor_id"].agg(", ".join)
    camps["successor_ids"] = succ.reindex(camps.index).fillna("").astype("str")
    camps["days_since_visit"] = camps["days_since_visit"].astype(int)
    camps = camps.reset_index().sort_values(["first_visit", "camp_id"], ignore_index=True)
    return camps[CAMP_COLUMNS + flags]


def events_table(events: pd.DataFrame, links: pd.DataFrame) -> pd.DataFrame:
    """``evacuation_events`` with ``successor_ids``: the camps that re-formed after it."""
    succ = links.groupby("event_id")["successor_id"].agg(", ".join)
    return events.assign(
        successor_ids=succ.reindex(events["event_id"]).fillna("").astype("str").to_numpy()
    )
