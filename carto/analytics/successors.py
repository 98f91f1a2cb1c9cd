"""Successor camps (docs/architecture.md §4): after an evacuation a camp often re-forms nearby.

A camp is the *successor* of an evacuated camp when its first visit comes after the
evacuation's first report and at most ``days`` days after the evacuation day, within
``distance_m`` metres of the evacuated camp. When several evacuations qualify, the
nearest camp wins (then the latest evacuation). A camp has at most one predecessor; an
evacuated camp may have several successors (people dispersed to several places).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from carto.analytics.camps import epoch_seconds
from carto.analytics.frames import local_times
from carto.analytics.places import distance_m as _distance

LINK_COLUMNS = [
    "predecessor_id",
    "successor_id",
    "event_id",
    "evacuation_date",
    "successor_first_visit",
    "distance_m",
    "delay_days",
]


def successor_links(
    places: pd.DataFrame, events: pd.DataFrame, distance_m: float, days: int
) -> pd.DataFrame:
    """Predecessor → successor links, columns ``LINK_COLUMNS``, in order of appearance.

    ``places`` is indexed by camp id with ``latitude``, ``longitude`` and ``first_visit``
    (``camp_places``); ``events`` comes from ``evacuation_events``.
    """
    if places.empty or events.empty:
        return _empty_links(places["first_visit"])
    ev = events.reset_index(drop=True)
    # Camps × events, as matrices: a few thousand camps by a few hundred events at most.
    first = places["first_visit"]
    first_day = first.dt.tz_localize(None).dt.normalize().to_numpy()[:, None]
    after = epoch_seconds(first)[:, None] > epoch_seconds(ev["first_report"])[None, :]
    deadline = (ev["date"] + pd.Timedelta(days=days)).to_numpy()[None, :]
    dist = _distance(
        places["latitude"].to_numpy(dtype=float)[:, None],
        places["longitude"].to_numpy(dtype=float)[:, None],
        ev["latitude"].to_numpy(dtype=float)[None, :],
        ev["longitude"].to_numpy(dtype=float)[None, :],
    )
    other = places.index.to_numpy()[:, None] != ev["camp_id"].to_numpy()[None, :]
    ok = after & (first_day <= deadline) & (dist <= distance_m) & other
    cand_camp, cand_event = np.nonzero(ok)
    if len(cand_camp) == 0:
        return _empty_links(places["first_visit"])
    cand = pd.DataFrame(
        {
            "camp": cand_camp,
            "event": cand_event,
            "dist": dist[cand_camp, cand_event],
            "when": epoch_seconds(ev["first_report"])[cand_event],
        }
    )
    best = cand.sort_values(["camp", "dist", "when"], ascending=[True, True, False])
    best = best.drop_duplicates("camp")
    chosen = ev.iloc[best["event"].to_numpy()]
    succ_first = first.iloc[best["camp"].to_numpy()]
    links = pd.DataFrame(
        {
            "predecessor_id": chosen["camp_id"].to_numpy(),
            "successor_id": places.index.to_numpy()[best["camp"].to_numpy()],
            "event_id": chosen["event_id"].to_numpy(),
            "evacuation_date": chosen["date"].to_numpy(),
            "successor_first_visit": succ_first.to_numpy(),
            "distance_m": best["dist"].round(0).to_numpy(),
            "delay_days": (
                succ_first.dt.tz_localize(None).dt.normalize().to_numpy()
                - chosen["date"].to_numpy()
            )
            // np.timedelta64(1, "D"),
        }
    )
    links["successor_first_visit"] = pd.to_datetime(links["successor_first_visit"]).dt.tz_convert(
        first.dt.tz
    )
    links = links.astype({"predecessor_id": "str", "successor_id": "str", "event_id": "str"})
    return links.sort_values(["successor_first_visit", "successor_id"], ignore_index=True)[
        LINK_COLUMNS
    ]


def camp_chain(links: pd.DataFrame, camp_id: str) -> list[str]:
    """The camp's lineage, oldest first: its predecessors, itself, then its successors.

    Successors of successors follow, depth first, each camp's successors in order of
    appearance (a camp that split into two lists both branches).
    """
    pred = dict(zip(links["successor_id"], links["predecessor_id"], strict=True))
    ordered = links.sort_values(["successor_first_visit", "successor_id"])
    succ: dict[str, list[str]] = {}
    for p, s in zip(ordered["predecessor_id"], ordered["successor_id"], strict=True):
        succ.setdefault(p, []).append(s)
    seen = {camp_id}
    ancestors: list[str] = []
    current = camp_id
    while current in pred and pred[current] not in seen:
        current = pred[current]
        seen.add(current)
        ancestors.append(current)
    chain = [*reversed(ancestors), camp_id]
    stack = list(reversed(succ.get(camp_id, [])))
    while stack:
        nxt = stack.pop()
        if nxt in seen:
            continue
        seen.add(nxt)
        chain.append(nxt)
        stack.extend(reversed(succ.get(nxt, [])))
    return chain


def chain_table(links: pd.DataFrame, camps: pd.DataFrame, camp_id: str) -> pd.DataFrame:
    """The camps of ``camp_chain`` as rows of ``camps`` (a frame with a ``camp_id``
    column), in chain order, with how each one followed its predecessor: ``evacuation_date``,
    ``distance_m`` and ``delay_days`` (empty for the first camp of the chain)."""
    chain = camp_chain(links, camp_id)
    rows = camps.set_index("camp_id").reindex(chain)
    how = links.set_index("successor_id")[["evacuation_date", "distance_m", "delay_days"]]
    return rows.join(how).reset_index(names="camp_id")


def _empty_links(dates: pd.Series) -> pd.DataFrame:
    cols: dict[str, Any] = {
        "predecessor_id": "str",
        "successor_id": "str",
        "event_id": "str",
        "evacuation_date": "datetime64[us]",
        "successor_first_visit": local_times(dates),
        "distance_m": float,
        "delay_days": int,
    }
    return pd.DataFrame({c: pd.Series(dtype=d) for c, d in cols.items()})
