"""Camp grouping redone from a previous result (carto/analytics/camps.py ``previous``):
the same camps and duplicate marks as from scratch, after random edits of the passages
and sites, and only the tail of the loose passages redone when the change is late."""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from unittest import mock

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from carto import demo
from carto.analytics import camps
from carto.dataset import normalise_options
from carto.normalise import normalise
from carto.options import AnalysisOptions
from carto.settings import Settings

TODAY = dt.date(2026, 11, 20)
SETTINGS = Settings({"airtable": {"base_id": "appCAMPSINCR00001"}})
ANALYSIS = AnalysisOptions.from_settings(SETTINGS)
# a short gap: camps come and go within the two months, so their time spans matter
RADIUS, GAP = ANALYSIS.camp_radius_m, 2


@functools.cache
def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Normalised demo passages (a few hundred, some without a Site) and sites."""
    base = demo.generate(seed=11, days=60, today=TODAY, n_camps=6)
    data = normalise(base.sites, base.passages, normalise_options(SETTINGS))
    passages = data.passages.sort_values(["created_time", "record_id"]).reset_index(drop=True)
    # a share of passages without their Site link: grouped by position and time
    loose = passages.index % 3 == 0
    passages.loc[loose, "site_id"] = pd.NA
    return passages, data.sites.reset_index(drop=True)


def grouped(
    passages: pd.DataFrame,
    sites: pd.DataFrame,
    previous: tuple[pd.DataFrame, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    return camps.with_camps(passages, sites, RADIUS, GAP, previous=previous)


_COPIES = itertools.count()
EDIT = st.tuples(
    st.sampled_from(
        ["move", "redate", "unlink", "link", "delete", "copy", "association", "move_site"]
    ),
    st.floats(min_value=0, max_value=0.999),
    st.integers(min_value=0, max_value=400),
)


def edited(
    passages: pd.DataFrame, sites: pd.DataFrame, edits: list[tuple[str, float, int]]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    p, s = passages.copy(), sites.copy()
    for kind, where, n in edits:
        if p.empty:
            break
        i = p.index[int(where * len(p))]
        if kind == "move":
            p.loc[i, "latitude"] = 48.84 + n / 20_000
            p.loc[i, "longitude"] = 2.30 + n / 20_000
        elif kind == "redate":
            p.loc[i, "date"] = p.loc[i, "date"] + pd.Timedelta(hours=n - 200)
        elif kind == "unlink":
            p.loc[i, "site_id"] = pd.NA
        elif kind == "link":
            p.loc[i, "site_id"] = s["record_id"].iloc[n % len(s)]
        elif kind == "delete":
            p = p.drop(index=i)
        elif kind == "copy":  # sent again a few minutes later: a duplicate
            row = p.loc[[i]].copy()
            row["record_id"] = f"recCOPY{next(_COPIES):09d}"
            row["date"] = row["date"] + pd.Timedelta(minutes=n % 20)
            p = pd.concat([p, row], ignore_index=True)
        elif kind == "association":
            p.loc[i, "association"] = f"Asso {n % 3}"
        elif kind == "move_site":
            j = s.index[n % len(s)]
            s.loc[j, "latitude"] = s.loc[j, "latitude"] + 0.002
    p = p.sort_values(["created_time", "record_id"], kind="stable").reset_index(drop=True)
    return p, s


@settings(max_examples=25, deadline=None)
@given(steps=st.lists(st.lists(EDIT, min_size=1, max_size=5), min_size=1, max_size=3))
def test_from_a_previous_result_equals_from_scratch(
    steps: list[list[tuple[str, float, int]]],
) -> None:
    passages, sites = frames()
    before = grouped(passages, sites)
    for edits in steps:
        new_passages, new_sites = edited(passages, sites, edits)
        again = grouped(new_passages, new_sites, previous=(before, sites))
        pd.testing.assert_frame_equal(again, grouped(new_passages, new_sites))
        passages, sites, before = new_passages, new_sites, again


def test_a_late_change_redoes_only_the_tail() -> None:
    passages, sites = frames()
    before = grouped(passages, sites)
    loose = passages[passages["site_id"].isna()].sort_values(["date", "record_id"])
    last = loose.index[-1]
    moved = passages.copy()
    moved.loc[last, "latitude"] = moved.loc[last, "latitude"] + 0.01
    starts: list[int] = []
    real = camps._resume

    def spy(*args: object) -> tuple[int, list[str]]:
        out = real(*args)  # type: ignore[arg-type]
        starts.append(out[0])
        return out

    with mock.patch.object(camps, "_resume", spy):
        again = grouped(moved, sites, previous=(before, sites))
    pd.testing.assert_frame_equal(again, grouped(moved, sites))
    # every loose passage but the last kept its camp without being grouped again
    assert starts == [len(loose) - 1]
