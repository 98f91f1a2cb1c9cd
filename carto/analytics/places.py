"""Where each camp is: its name, position, arrondissement and type of site.

A camp linked to a Sites record takes that record's name, position, arrondissement and
type. A camp known only from passages takes the median position of its passages, the
arrondissement they report most often and, as a name, the place description they give
most often (never a pasted map link or pair of coordinates); else "Campement sans nom"
and its arrondissement, as on the map. A camp whose passages carry an alias (column
``camp_alias``: a partner's pseudonym, set by ``carto.privacy``) is named by it and its
arrondissement, "Campement KQW — 75019", whatever its real name.

An arrondissement someone recorded (on the Site, else on the passages) wins over one
inferred from a position (``carto.boundaries``); ``arrondissement_inferred`` is true
when the camp's arrondissement comes only from positions.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from carto.analytics.camps import counted
from carto.analytics.frames import local_times
from carto.analytics.lineage import by_camp
from carto.analytics.memo import per_frame
from carto.i18n import t

ALIAS = "camp_alias"  # a name standing for the camp's real one (carto.privacy)
PLACE_COLUMNS = [
    "name",
    "latitude",
    "longitude",
    "arrondissement",
    "arrondissement_inferred",
    "site_id",
    "site_type",
    "first_visit",
    "last_visit",
    "n_passages",
]

# The passage columns camp_places reads (callers pick rows with these, not every column).
PLACE_READ = [
    "camp_id",
    "record_id",
    "date",
    "latitude",
    "longitude",
    "arrondissement",
    "arrondissement_inferred",
    "location_text",
    "position_source",
    ALIAS,
]


def camp_places(passages: pd.DataFrame, sites: pd.DataFrame) -> pd.DataFrame:
    """One row per camp (index ``camp_id``) with the columns of ``PLACE_COLUMNS``.

    Duplicate submissions are left out; first and last visits are aware timestamps.
    Kept while both frames live (``memo.per_frame``): a page's analyses each place the
    camps of the same frames; and for the next version, which places again only the
    camps whose passages changed (``lineage.by_camp``).
    """

    def make() -> pd.DataFrame:
        place = partial(_places, sites=sites)
        read = [*PLACE_READ, "is_duplicate"]
        return by_camp("camp_places", [passages, sites], place, _by_camp_id, columns=read)

    return per_frame("camp_places", [passages, sites], make)


def _by_camp_id(places: pd.DataFrame) -> pd.DataFrame:
    return places.sort_index()


def _places(passages: pd.DataFrame, sites: pd.DataFrame) -> pd.DataFrame:
    seen = counted(passages, PLACE_READ)
    if seen.empty:
        return _empty_places(passages["date"])
    by_camp = seen.groupby("camp_id")
    places = by_camp.agg(
        latitude=("latitude", "median"),
        longitude=("longitude", "median"),
        first_visit=("date", "min"),
        last_visit=("date", "max"),
        n_passages=("record_id", "size"),
    )
    guessed = inferred(seen)
    recorded_arr = _most_common(seen[~guessed], "arrondissement").reindex(places.index)
    inferred_arr = _most_common(seen[guessed], "arrondissement").reindex(places.index)
    site_recorded = pd.Series(pd.NA, index=places.index, dtype="str")
    site_inferred = pd.Series(pd.NA, index=places.index, dtype="str")
    texts = seen[_is_description(seen)]
    names = _most_common(texts, "location_text").reindex(places.index)

    site_rows = sites.set_index("S-" + sites["record_id"])
    on_site = places.index.intersection(site_rows.index)
    places["site_id"] = pd.Series(pd.NA, index=places.index, dtype="str")
    places["site_type"] = pd.Series(pd.NA, index=places.index, dtype="str")
    if len(on_site):
        info = site_rows.loc[on_site]
        places.loc[on_site, ["latitude", "longitude"]] = info[["latitude", "longitude"]].to_numpy()
        places.loc[on_site, "site_id"] = info["record_id"].to_numpy()
        places.loc[on_site, "site_type"] = info["type"].to_numpy()
        site_guessed = inferred(info).to_numpy()
        site_arr = info["arrondissement"].astype("str")
        site_recorded.loc[on_site] = site_arr.where(~site_guessed).to_numpy()
        site_inferred.loc[on_site] = site_arr.where(site_guessed).to_numpy()
        names = info["name"].reindex(places.index).fillna(names)
    known = site_recorded.fillna(recorded_arr)
    places["arrondissement"] = known.fillna(site_inferred).fillna(inferred_arr).astype("str")
    places["arrondissement_inferred"] = (known.isna() & places["arrondissement"].notna()).to_numpy(
        dtype=bool
    )
    unnamed = t("camp.unnamed") + " " + places["arrondissement"].fillna("").astype("str")
    places["name"] = names.fillna(unnamed.str.strip()).astype("str")
    if ALIAS in seen.columns:
        places["name"] = _aliases(seen, places["arrondissement"]).fillna(places["name"])
    places.index.name = "camp_id"
    return places[PLACE_COLUMNS]


def _aliases(passages: pd.DataFrame, arrondissements: pd.Series) -> pd.Series:
    """Each camp's alias with its arrondissement, "Campement KQW — 75019" (index camp_id)."""
    alias = passages.dropna(subset=[ALIAS]).groupby("camp_id")[ALIAS].first()
    alias = alias.reindex(arrondissements.index)
    return pd.Series(
        [
            t("camp.alias_place", alias=a, place=p) if isinstance(p, str) and p else a
            for a, p in zip(alias.tolist(), arrondissements.tolist(), strict=True)
        ],
        index=arrondissements.index,
        dtype="str",
    )


def inferred(frame: pd.DataFrame) -> pd.Series:
    """Rows whose arrondissement was inferred from the position (False for frames made
    without that column)."""
    if "arrondissement_inferred" not in frame.columns:
        return pd.Series(False, index=frame.index)
    return frame["arrondissement_inferred"].fillna(False).astype(bool)


def _is_description(passages: pd.DataFrame) -> pd.Series:
    """Rows whose Localisation text describes the place (not coordinates or a map link)."""
    text = passages["location_text"].astype("str")
    from_text = passages["position_source"].astype("str").eq("localisation").fillna(False)
    link = text.str.contains("http", regex=False, na=False)
    return text.notna() & text.str.strip().ne("").fillna(False) & ~from_text & ~link


def _most_common(passages: pd.DataFrame, column: str) -> pd.Series:
    """Per camp, the value of ``column`` given most often (the latest one on a tie)."""
    rows = passages[["camp_id", column, "date"]]
    rows = rows[rows[column].notna()]
    if rows.empty:
        return pd.Series(dtype="str")
    stats = (
        rows.groupby(["camp_id", column], observed=True)["date"]
        .agg(["size", "max"])
        .reset_index()
        .sort_values(["camp_id", "size", "max"])
    )
    return stats.groupby("camp_id").tail(1).set_index("camp_id")[column].astype("str")


def _empty_places(dates: pd.Series) -> pd.DataFrame:
    cols: dict[str, Any] = {
        "name": "str",
        "latitude": float,
        "longitude": float,
        "arrondissement": "str",
        "arrondissement_inferred": bool,
        "site_id": "str",
        "site_type": "str",
        "first_visit": local_times(dates),
        "last_visit": local_times(dates),
        "n_passages": int,
    }
    frame = pd.DataFrame({c: pd.Series(dtype=d) for c, d in cols.items()})
    frame.index = pd.Index([], dtype="str", name="camp_id")
    return frame


EARTH_RADIUS_M = 6_371_000.0


def distance_m(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> Any:
    """Great-circle distance in metres (haversine), element-wise on numbers or arrays."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dlat, dlon = p2 - p1, np.radians(lon2) - np.radians(lon1)
    h = np.sin(dlat / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
