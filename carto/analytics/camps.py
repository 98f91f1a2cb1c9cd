"""Camps: which passages belong together, duplicate submissions, and each camp's state.

A passage belongs to a camp through its Site link; without one, to the nearest camp
within ``radius_m`` that was visited within ``gap_days`` (docs/architecture.md §4). Camp ids are
derived from record ids (``S-<site record>``, ``P-<first passage record>``), so they stay
the same when new passages arrive or a sync returns records in another order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from carto import schema
from carto.analytics.frames import local_times, sort_order
from carto.analytics.lineage import by_camp
from carto.analytics.memo import per_frame

DUPLICATE_WINDOW = pd.Timedelta(minutes=30)
# A passage made before this hour (local) belongs to the round of the evening before.
ROUND_START_HOUR = 5
# A camp's status on a day (docs/architecture.md §4; labels: ``camp.status.<code>``,
# ``filter.status.<code>``): closed when its latest passage says Vide, Évacué or
# Démantelé; active when not closed and seen within ``active_days``; else stale.
STATUS_ACTIVE, STATUS_CLOSED, STATUS_STALE = "active", "closed", "stale"
STATUSES = (STATUS_ACTIVE, STATUS_CLOSED, STATUS_STALE)
M_PER_DEG_LAT = 110_540.0
M_PER_DEG_LON_EQUATOR = 111_320.0
AROUND = tuple((dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1))  # a cell and its 8 neighbours


def grid_steps(radius_m: float) -> tuple[float, float]:
    """The grid's cell size in degrees (latitude, longitude): at least ``radius_m`` wide up
    to 60° of latitude, so that a passage only looks at the 3×3 cells around it."""
    return radius_m / M_PER_DEG_LAT, 2 * radius_m / M_PER_DEG_LON_EQUATOR


def _site_spans(
    passages: pd.DataFrame, sites: pd.DataFrame
) -> tuple[pd.Series, pd.DataFrame, pd.DataFrame]:
    """Which passages are linked to a known Site, each linked Site's time span (index
    site id, sorted) and its position."""
    linked = passages["site_id"].isin(sites["record_id"])
    # the two columns only: filtering every column of the frame cost more than the rest
    site_span = (
        passages.loc[linked, ["site_id", "date"]].groupby("site_id")["date"].agg(["min", "max"])
    )
    site_pos = sites.set_index("record_id").loc[site_span.index, ["latitude", "longitude"]]
    return linked, site_span, site_pos


def _loose(passages: pd.DataFrame, linked: pd.Series) -> pd.DataFrame:
    """The passages without a known Site, in the order they are grouped (date, id).
    Only the columns used: sorting the whole frame would move every column."""
    loose = passages.loc[~linked, ["date", "record_id", "latitude", "longitude"]]
    return loose.take(sort_order(loose, ["date", "record_id"]))


def assign_camps(
    passages: pd.DataFrame, sites: pd.DataFrame, radius_m: float, gap_days: int
) -> pd.Series:
    """The camp id of each passage, aligned on ``passages.index``. (After a few changes,
    ``carto.analytics.regroup`` gives the same from the previous result.)"""
    camp = pd.Series(pd.NA, index=passages.index, dtype="str")
    linked, site_span, site_pos = _site_spans(passages, sites)
    camp[linked] = "S-" + passages.loc[linked, "site_id"]
    loose = _loose(passages, linked)

    gap = gap_days * 86_400
    # Candidate camps (sites first, then the camps loose passages start) indexed in a grid
    # of cells at least ``radius_m`` wide, so that a passage only looks at the 3×3 cells
    # around it. A camp's time span grows as passages join it.
    lat_step, lon_step = grid_steps(radius_m)
    cand_id = ["S-" + s for s in site_span.index]
    cand_lat = site_pos["latitude"].to_list()
    cand_lon = site_pos["longitude"].to_list()
    cand_first = epoch_seconds(site_span["min"]).tolist()
    cand_last = epoch_seconds(site_span["max"]).tolist()

    grid: dict[tuple[int, int], list[int]] = {}
    for c, (la, lo) in enumerate(zip(cand_lat, cand_lon, strict=True)):
        grid.setdefault((int(la // lat_step), int(lo // lon_step)), []).append(c)
    # the candidates of a cell and its 8 neighbours, kept until a camp starts in one of
    # them: most passages are in a cell seen before (9 lookups each cost more than the
    # comparisons)
    near: dict[tuple[int, int], list[int]] = {}

    ids = loose["record_id"].to_list()
    assigned: list[str] = []
    hypot, cos, radians, inf = math.hypot, math.cos, math.radians, math.inf
    for pos, (when, lat, lon) in enumerate(
        zip(
            epoch_seconds(loose["date"]).tolist(),
            loose["latitude"].to_list(),
            loose["longitude"].to_list(),
            strict=True,
        )
    ):
        cell = (int(lat // lat_step), int(lon // lon_step))
        around = near.get(cell)
        if around is None:
            cy, cx = cell
            around = [c for dy, dx in AROUND for c in grid.get((cy + dy, cx + dx), ())]
            near[cell] = around
        m_per_deg_lon = M_PER_DEG_LON_EQUATOR * cos(radians(lat))
        chosen, best = -1, inf
        for c in around:
            if not cand_first[c] - gap <= when <= cand_last[c] + gap:
                continue
            d = hypot((cand_lat[c] - lat) * M_PER_DEG_LAT, (cand_lon[c] - lon) * m_per_deg_lon)
            if d <= radius_m and (d < best or (d == best and c < chosen)):
                chosen, best = c, d
        if chosen >= 0:
            if when > cand_last[chosen]:
                cand_last[chosen] = when
        else:
            chosen = len(cand_id)
            cand_id.append("P-" + ids[pos])
            cand_lat.append(lat)
            cand_lon.append(lon)
            cand_first.append(when)
            cand_last.append(when)
            grid.setdefault(cell, []).append(chosen)
            cy, cx = cell
            for dy, dx in AROUND:
                near.pop((cy + dy, cx + dx), None)
        assigned.append(cand_id[chosen])
    camp.loc[loose.index] = assigned
    return camp


def round_days(dates: pd.Series) -> pd.Series:
    """The day (naive local midnight) of the round each passage belongs to: a round
    ending after midnight is the evening's (``ROUND_START_HOUR``)."""
    local = dates.dt.tz_localize(None) if dates.dt.tz is not None else dates
    return (local - pd.Timedelta(hours=ROUND_START_HOUR)).dt.normalize()


def epoch_seconds(dates: pd.Series) -> np.ndarray:
    """Aware timestamps as whole seconds since the epoch (any pandas resolution)."""
    utc = dates.dt.tz_convert("UTC").dt.tz_localize(None)
    return utc.to_numpy().astype("datetime64[s]").astype(np.int64)


def mark_duplicates(passages: pd.DataFrame) -> pd.Series:
    """True for a passage sent again by the same association for the same camp within 30 min:
    in camp, association (missing as empty), date, creation time then id order, one of
    the same camp and association as the one before it, dated at most 30 minutes after
    it. Camps and associations are sorted and compared as integer codes (which camp
    comes first does not change who comes before whom within one), the neighbours by
    numpy: the strings sorted, shifted and compared by pandas cost twice as much at
    100,000 passages."""
    camp = pd.factorize(passages["camp_id"])[0]  # missing: -1, never a duplicate
    association, sort_key = _association_codes(passages["association"])
    keys = pd.DataFrame(
        {
            "camp": camp,
            "association": sort_key,
            "date": passages["date"].array,
            "created_time": passages["created_time"].array,
            "record_id": passages["record_id"].array,
        }
    )
    order = sort_order(keys, list(keys.columns))
    camp, association = camp[order], association[order]
    dates = keys["date"]
    if isinstance(dates.dtype, pd.DatetimeTZDtype):
        dates = dates.dt.tz_convert("UTC").dt.tz_localize(None)
    when = dates.to_numpy()[order]
    marks = np.zeros(len(order), dtype=bool)
    marks[1:] = (
        (camp[1:] == camp[:-1])
        & (camp[1:] >= 0)
        & (association[1:] == association[:-1])
        & (when[1:] - when[:-1] <= DUPLICATE_WINDOW.to_timedelta64())  # NaT: False
    )
    out = np.empty(len(order), dtype=bool)
    out[order] = marks
    return pd.Series(out, index=passages.index)


def _association_codes(association: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(codes equal where the associations are, a missing one as empty; codes that sort
    them as their texts would relative to each other where it matters: empty first,
    missing last). A camp's empty and missing associations count as one, but follow
    each other only when it has no other: as the texts sorted them."""
    missing = association.isna().to_numpy(dtype=bool)
    codes = pd.factorize(association.fillna(""))[0]
    empty = ~missing & (association.fillna("x") == "").to_numpy(dtype=bool)
    sort_key = codes + 1
    sort_key[empty] = 0
    sort_key[missing] = codes.max(initial=0) + 2
    return codes, sort_key


def with_camps(
    passages: pd.DataFrame, sites: pd.DataFrame, radius_m: float, gap_days: int
) -> pd.DataFrame:
    """Passages with ``camp_id`` and ``is_duplicate`` columns; duplicates are flagged.
    (After a few changes, ``carto.analytics.regroup`` gives the same from the previous
    result.)"""
    out = passages.assign(camp_id=assign_camps(passages, sites, radius_m, gap_days))
    return flag_duplicates(out, mark_duplicates(out))


DUPLICATE_FLAG = "flag.duplicate"


def flag_duplicates(passages: pd.DataFrame, dup: pd.Series | np.ndarray) -> pd.DataFrame:
    """Passages with ``is_duplicate`` = ``dup`` and ``DUPLICATE_FLAG`` added last to the
    flags of those it marks (only their lists change)."""
    codes = passages["flag_codes"].to_list()
    params = passages["flag_params"].to_list()
    for i in np.flatnonzero(np.asarray(dup, dtype=bool)):
        codes[i], params[i] = [*codes[i], DUPLICATE_FLAG], [*params[i], {}]
    return passages.assign(
        is_duplicate=dup,
        flag_codes=pd.Series(codes, index=passages.index, dtype=object),
        flag_params=pd.Series(params, index=passages.index, dtype=object),
    )


def counted(
    passages: pd.DataFrame,
    columns: Sequence[str] | None = None,
    where: pd.Series | np.ndarray | None = None,
) -> pd.DataFrame:
    """The passages that count in figures: duplicates are counted once. With
    ``columns``, only those of them the frame has: selecting rows copies every column
    kept, and a base of 100k passages has dozens (lists, texts) a caller never reads.
    With ``where`` (a boolean mask of ``passages``' rows), only those rows."""
    keep = ~passages["is_duplicate"].to_numpy(dtype=bool)
    if where is not None:
        keep &= np.asarray(where, dtype=bool)
    if columns is not None:
        keys = dict.fromkeys([*columns, "is_duplicate"])  # kept: callers pass rows on
        passages = passages[[c for c in keys if c in passages.columns]]
    return passages[keep]


def time_order(passages: pd.DataFrame) -> np.ndarray:
    """Positions of ``passages``' rows by date then record id (missing dates last), as
    ``sort_values(["date", "record_id"])`` orders them; kept while the frame lives
    (``memo.per_frame``): the analyses of a page each needed it."""

    def make() -> np.ndarray:
        # sorted by Arrow (``sort_order``): pandas' sort of the record ids took 0.1 s at
        # 100,000 passages, paid again by every new version's first page
        return sort_order(passages, ["date", "record_id"]).astype(np.int64)

    return per_frame("time_order", [passages], make)


def in_time_order(
    passages: pd.DataFrame,
    columns: Sequence[str],
    where: pd.Series | np.ndarray | None = None,
) -> pd.DataFrame:
    """``counted(passages, columns, where)`` sorted by date then record id (record ids
    are unique: the order is the one ``sort_values`` gives), from ``time_order``."""
    keep = ~passages["is_duplicate"].to_numpy(dtype=bool)
    if where is not None:
        keep &= np.asarray(where, dtype=bool)
    order = time_order(passages)
    keys = dict.fromkeys([*columns, "is_duplicate"])
    return passages[[c for c in keys if c in passages.columns]].take(order[keep[order]])


# The flag ``carto.privacy`` adds beside a count it suppressed (privacy builds on the
# dataset, which builds on this module: the suffix is repeated here).
SUPPRESSED = "_suppressed"


def latest_counts(passages: pd.DataFrame) -> pd.DataFrame:
    """Each camp's latest passage that counted people (index ``camp_id``), from passages
    sorted by date. A count a role may not see (suppressed, flagged) is still the
    latest count: the camp shows "<5", not an older figure."""
    counted_rows = passages["people"].notna()
    if "people" + SUPPRESSED in passages.columns:
        counted_rows |= passages["people" + SUPPRESSED].fillna(False).astype(bool)
    return passages[counted_rows].groupby("camp_id").tail(1).set_index("camp_id")


def camp_states(
    passages: pd.DataFrame, sites: pd.DataFrame, as_of: pd.Timestamp, active_days: int
) -> pd.DataFrame:
    """One row per camp at its latest known state on ``as_of`` (end of that day).

    ``active`` is false for a camp whose latest passage closed it (Vide, Évacué,
    Démantelé) or that nobody has seen for more than ``active_days`` days. For the
    next version of the passages, only the camps whose passages changed are made again
    (``lineage.by_camp``).
    """
    # Name, position and arrondissement as camp_places settles them (Site first).
    from carto.analytics.places import camp_places  # places builds on this

    # Every passage seen by then (today, usually): the places of the whole frame, kept
    # for it, are those of each camp's passages seen by then.
    end = as_of.normalize() + pd.Timedelta(days=1)
    seen_all = bool((passages["date"] < end).all())
    placed = camp_places(passages, sites) if seen_all else None

    def make(rows: pd.DataFrame) -> pd.DataFrame:
        return _camp_states(rows, sites, as_of, active_days, placed)

    key = (as_of, active_days)
    read = [*_state_read(), "is_duplicate"]
    return by_camp("camp_states", [passages, sites], make, _by_camp_column, key, read)


def _state_read() -> list[str]:
    """The passage columns ``_camp_states`` reads."""
    from carto.analytics.places import PLACE_READ

    read = [*PLACE_READ, "association", "site_status", "needs", *_PEOPLE_COLS]
    return read + [c + SUPPRESSED for c in _PEOPLE_COLS]


# The counts a camp's state shows (its latest count).
_PEOPLE_COLS = ["people", "families", "unaccompanied_minors", "single_women", "children"]


def _by_camp_column(states: pd.DataFrame) -> pd.DataFrame:
    return states.sort_values("camp_id", kind="stable", ignore_index=True)


def _camp_states(
    passages: pd.DataFrame,
    sites: pd.DataFrame,
    as_of: pd.Timestamp,
    active_days: int,
    placed: pd.DataFrame | None,
) -> pd.DataFrame:
    """``camp_states`` of ``passages``; ``placed``: the camps' places when every passage
    of theirs was seen by then (else made from those seen)."""
    from carto.analytics.places import camp_places

    end = as_of.normalize() + pd.Timedelta(days=1)
    read = _state_read()
    before_end = (passages["date"] < end).to_numpy(dtype=bool)
    seen = in_time_order(passages, read, where=before_end)
    if seen.empty:
        return _empty_states(passages["date"])
    last = seen.groupby("camp_id").tail(1).set_index("camp_id")
    last_count = latest_counts(seen)

    if placed is None:
        placed = camp_places(seen, sites)
    where = placed[["name", "latitude", "longitude", "arrondissement"]]
    stats = seen.groupby("camp_id").agg(
        first_visit=("date", "min"), n_passages=("record_id", "size")
    )
    states = stats.join(where).join(last[["date", "association", "site_status", "needs"]])
    states = states.rename(columns={"date": "last_visit", "association": "last_association"})
    flags = [c + SUPPRESSED for c in _PEOPLE_COLS if c + SUPPRESSED in last_count.columns]
    states = states.join(last_count[_PEOPLE_COLS + flags])
    last_day = states["last_visit"].dt.tz_localize(None).dt.normalize()
    days_since = (as_of.tz_localize(None).normalize() - last_day).dt.days
    states["days_since_visit"] = days_since.astype(int)
    closed = states["site_status"].isin(schema.CLOSING_SITE_STATUSES)
    states["active"] = ~closed & (states["days_since_visit"] <= active_days)
    states["closed"] = closed
    return states.reset_index(names="camp_id")


def camp_status(states: pd.DataFrame) -> pd.Series:
    """The status code of each camp of ``camp_states`` (index ``camp_id``)."""
    status = pd.Series(STATUS_STALE, index=states["camp_id"], dtype="str")
    status[states["active"].fillna(False).astype(bool).to_numpy()] = STATUS_ACTIVE
    status[states["closed"].fillna(False).astype(bool).to_numpy()] = STATUS_CLOSED
    return status


def _empty_states(dates: pd.Series) -> pd.DataFrame:
    cols: dict[str, Any] = {
        "camp_id": "str",
        "name": "str",
        "latitude": float,
        "longitude": float,
        "first_visit": local_times(dates, "ns"),
        "last_visit": local_times(dates, "ns"),
        "days_since_visit": int,
        "n_passages": int,
        "people": float,
        "families": float,
        "unaccompanied_minors": float,
        "single_women": float,
        "children": float,
        "last_association": "str",
        "site_status": "str",
        "needs": object,
        "arrondissement": "str",
        "active": bool,
        "closed": bool,
    }
    return pd.DataFrame({c: pd.Series(dtype=d) for c, d in cols.items()})
