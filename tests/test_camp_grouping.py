"""The camp grouping (carto/analytics/camps.py ``assign_camps``: a grid of cells and the
candidates around each cell kept until a camp starts near it) gives the camps of the
definition (docs/architecture.md §4), computed here the plain way: every candidate
compared for every passage."""

from __future__ import annotations

import math

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from carto.analytics import camps

RADIUS, GAP_DAYS = 150.0, 2
SITES = pd.DataFrame(
    {
        "record_id": ["recSITEB", "recSITEA", "recSITEC"],
        "latitude": [48.8500, 48.8510, 48.8600],
        "longitude": [2.3500, 2.3500, 2.3620],
    }
)
T0 = pd.Timestamp("2026-11-01 20:00", tz="Europe/Paris")


def by_definition(passages: pd.DataFrame, sites: pd.DataFrame) -> list[str]:
    """Each passage's camp: its Site's when linked to a known one; else, in date then
    id order, the nearest camp within the radius whose visits span its date give or take
    the gap (on a tie, the camp made first: Sites by id, then in the order they
    started), else a camp of its own."""
    seconds = camps.epoch_seconds(passages["date"])
    linked = passages["site_id"].isin(sites["record_id"]).to_numpy()
    out = ["S-" + str(s) if hit else "" for s, hit in zip(passages["site_id"], linked, strict=True)]
    position = sites.set_index("record_id")
    found = []  # [camp id, latitude, longitude, first, last]
    for site in sorted(set(passages.loc[linked, "site_id"])):
        when = seconds[(passages["site_id"] == site).to_numpy() & linked]
        lat, lon = position.loc[site, ["latitude", "longitude"]]
        found.append(["S-" + site, float(lat), float(lon), int(when.min()), int(when.max())])
    gap = GAP_DAYS * 86_400
    loose = [i for i in range(len(passages)) if not linked[i]]
    for i in sorted(loose, key=lambda i: (seconds[i], passages["record_id"].iloc[i])):
        lat, lon = passages["latitude"].iloc[i], passages["longitude"].iloc[i]
        m_per_deg_lon = 111_320.0 * math.cos(math.radians(lat))
        best, nearest = None, math.inf
        for camp in found:
            if not camp[3] - gap <= seconds[i] <= camp[4] + gap:
                continue
            d = math.hypot((camp[1] - lat) * 110_540.0, (camp[2] - lon) * m_per_deg_lon)
            if d <= RADIUS and d < nearest:
                best, nearest = camp, d
        if best is None:
            best = ["P-" + passages["record_id"].iloc[i], lat, lon, seconds[i], seconds[i]]
            found.append(best)
        best[4] = max(best[4], int(seconds[i]))
        out[i] = best[0]
    return out


# Positions on a lattice of about 55 m around the Sites (ties and cell edges happen),
# dates within a few days (camps end and start again), some passages linked to a Site.
PASSAGE = st.tuples(
    st.integers(min_value=-12, max_value=30),
    st.integers(min_value=-10, max_value=30),
    st.integers(min_value=0, max_value=24 * 12),
    st.sampled_from([None, None, None, "recSITEA", "recSITEB", "recUNKNOWN"]),
)


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(PASSAGE, max_size=60))
def test_camps_are_those_of_the_definition(rows: list[tuple[int, int, int, str | None]]) -> None:
    passages = pd.DataFrame(
        {
            "record_id": [f"rec{n:05d}" for n in range(len(rows))],
            "date": pd.Series(
                [T0 + pd.Timedelta(hours=h) for _, _, h, _ in rows],
                dtype="datetime64[us, Europe/Paris]",
            ),
            "site_id": pd.Series([s for *_, s in rows], dtype="str"),
            "latitude": [48.85 + 0.0005 * y for y, *_ in rows],
            "longitude": [2.35 + 0.00075 * x for _, x, *_ in rows],
        }
    )
    assigned = camps.assign_camps(passages, SITES, RADIUS, GAP_DAYS)
    assert assigned.to_list() == by_definition(passages, SITES)


def marks_by_definition(passages: pd.DataFrame) -> pd.Series:
    """The duplicate marks stated plainly in pandas: in camp, association (missing as
    empty), date, creation time then id order, a passage of the same camp and
    association as the one before it, dated at most 30 minutes after it."""
    keys = ["camp_id", "association", "date", "created_time", "record_id"]
    order = passages[keys].sort_values(keys, na_position="last", kind="stable")
    same = (order["camp_id"] == order["camp_id"].shift()) & (
        order["association"].fillna("") == order["association"].fillna("").shift()
    )
    close = (order["date"] - order["date"].shift()) <= camps.DUPLICATE_WINDOW
    return (same & close).fillna(False).astype(bool).reindex(passages.index)


# Camps, associations (missing and empty alike), dates minutes apart (the window's
# edge, equal dates, missing ones), creation times and ids that break ties.
MARKED = st.tuples(
    st.sampled_from([None, "S-recA", "S-recB", "P-recC"]),
    st.sampled_from([None, "", "Utopia 56", "Croix-Rouge française"]),
    st.one_of(st.none(), st.integers(min_value=0, max_value=120).map(lambda m: m - m % 5)),
    st.integers(min_value=0, max_value=3),
)


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(MARKED, max_size=40), start=st.integers(min_value=0, max_value=3))
def test_duplicate_marks_are_those_of_the_definition(
    rows: list[tuple[str | None, str | None, int | None, int]], start: int
) -> None:
    """``mark_duplicates`` (integer codes sorted, neighbours compared by numpy) marks
    the passages the plain pandas statement marks, on any index."""
    n = len(rows)
    passages = pd.DataFrame(
        {
            "camp_id": pd.Series([r[0] for r in rows], dtype="str"),
            "association": pd.Series([r[1] for r in rows], dtype="str"),
            "date": pd.Series(
                [pd.NaT if r[2] is None else T0 + pd.Timedelta(minutes=r[2]) for r in rows],
                dtype="datetime64[us, Europe/Paris]",
            ),
            "created_time": pd.Series(
                [T0 + pd.Timedelta(minutes=r[3]) for r in rows],
                dtype="datetime64[us, Europe/Paris]",
            ),
            "record_id": pd.Series(
                [f"rec{(7 * i) % 11:02d}{i:03d}" for i in range(n)], dtype="str"
            ),
        },
        index=pd.RangeIndex(start, start + n)[::-1] if n else pd.RangeIndex(0),
    )
    got = camps.mark_duplicates(passages)
    pd.testing.assert_series_equal(got, marks_by_definition(passages), check_names=False)
