"""Camp grouping redone after a few changes (carto/analytics/regroup.py): the same camps
and duplicate marks as from scratch, after random edits of the passages and sites, and
only the passages a change reaches decided again."""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from typing import Any
from unittest import mock

import numpy as np
import pandas as pd
from hypothesis import example, given, settings
from hypothesis import strategies as st

from carto import demo
from carto.analytics import camps, regroup
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


def grouped(passages: pd.DataFrame, sites: pd.DataFrame) -> pd.DataFrame:
    return camps.with_camps(passages, sites, RADIUS, GAP)


def carried(
    before: pd.DataFrame, passages: pd.DataFrame, changed: set[str]
) -> tuple[pd.DataFrame, np.ndarray]:
    """The passages as ``regroup`` takes them: each row not in ``changed`` with the
    camp, mark and flags it had in ``before``, and its position there (-1 for the rows
    of ``changed``: no camp, no duplicate flag)."""
    source = pd.Index(before["record_id"]).get_indexer(passages["record_id"])
    source[passages["record_id"].isin(changed).to_numpy()] = -1
    kept = source >= 0
    out = passages.assign(
        camp_id=pd.Series(pd.NA, index=passages.index, dtype="str"), is_duplicate=False
    )
    out.loc[kept, "camp_id"] = before["camp_id"].to_numpy(dtype=object)[source[kept]]
    out.loc[kept, "is_duplicate"] = before["is_duplicate"].to_numpy(dtype=bool)[source[kept]]
    for col in ("flag_codes", "flag_params"):
        values = out[col].to_numpy(dtype=object, copy=True)
        values[kept] = before[col].to_numpy(dtype=object)[source[kept]]
        out[col] = pd.Series(values, index=out.index, dtype=object)
    return out, source


def regrouped(
    before: tuple[pd.DataFrame, pd.DataFrame],
    passages: pd.DataFrame,
    sites: pd.DataFrame,
    changed: set[str],
    sites_changed: set[str],
) -> pd.DataFrame:
    """``regroup`` of the passages after the changes, checked to report every row whose
    camp, mark or flags differ from what it carried."""
    if sites_changed:  # a passage linked to a changed Site, before or now, is changed
        for frame in (before[0], passages):
            changed = changed | set(frame.loc[frame["site_id"].isin(sites_changed), "record_id"])
    rows, source = carried(before[0], passages, changed)
    out, moved = regroup.regroup(rows, sites, RADIUS, GAP, before, source, sites_changed)
    for col in ("camp_id", "is_duplicate", "flag_codes", "flag_params"):
        same = out[col].to_numpy(dtype=object) == rows[col].to_numpy(dtype=object)
        assert (same | moved).all(), f"a row whose {col} changed is not reported"
    return out


_COPIES = itertools.count()
EDIT = st.tuples(
    st.sampled_from(
        [
            "move",
            "move_far",
            "redate",
            "unlink",
            "delete_last",
            "link",
            "delete",
            "copy",
            "copy_before",
            "insert_late",
            "association",
            "move_site",
            "delete_site",
        ]
    ),
    st.floats(min_value=0, max_value=0.999),
    st.integers(min_value=0, max_value=400),
)


def edited(
    passages: pd.DataFrame, sites: pd.DataFrame, edits: list[tuple[str, float, int]]
) -> tuple[pd.DataFrame, pd.DataFrame, set[str], set[str]]:
    """The passages and sites after the edits, with the passage and Site ids changed."""
    p, s = passages.copy(), sites.copy()
    changed: set[str] = set()
    sites_changed: set[str] = set()
    for kind, where, n in edits:
        if p.empty:
            break
        i = p.index[int(where * len(p))]
        j = s.index[n % len(s)] if len(s) else None
        if kind in ("move_site", "delete_site"):
            if j is None:
                continue
            sites_changed.add(str(s.loc[j, "record_id"]))
            if kind == "move_site":
                s.loc[j, "latitude"] = s.loc[j, "latitude"] + 0.002
            else:
                s = s.drop(index=j)
            continue
        if kind == "delete_last" and j is not None:  # the Site's span ends sooner
            mine = p.index[p["site_id"] == s.loc[j, "record_id"]]
            if len(mine):
                i = p.loc[mine, "date"].idxmax()
        if kind not in ("copy", "copy_before", "insert_late"):  # those add a passage
            changed.add(str(p.loc[i, "record_id"]))
        if kind == "move":
            p.loc[i, "latitude"] = 48.84 + n / 20_000
            p.loc[i, "longitude"] = 2.30 + n / 20_000
        elif kind == "move_far":  # to another camp's place
            k = p.index[(int(where * len(p)) + n) % len(p)]
            p.loc[i, ["latitude", "longitude"]] = p.loc[k, ["latitude", "longitude"]]
        elif kind == "redate":
            p.loc[i, "date"] = p.loc[i, "date"] + pd.Timedelta(hours=n - 200)
        elif kind == "unlink":
            p.loc[i, "site_id"] = pd.NA
        elif kind == "link" and len(s):
            p.loc[i, "site_id"] = s["record_id"].iloc[n % len(s)]
        elif kind in ("delete", "delete_last"):
            p = p.drop(index=i)
        elif kind in ("copy", "copy_before", "insert_late"):
            row = p.loc[[i]].copy()
            row["record_id"] = f"recCOPY{next(_COPIES):09d}"
            changed.add(row["record_id"].iloc[0])
            if kind == "copy":  # sent again a few minutes later: a duplicate
                row["date"] = row["date"] + pd.Timedelta(minutes=n % 20)
            elif kind == "copy_before":  # sent first: the other one is the duplicate
                row["date"] = row["date"] - pd.Timedelta(minutes=1 + n % 20)
            else:  # tonight, after every other
                row["date"] = p["date"].max() + pd.Timedelta(minutes=n)
                row["created_time"] = p["created_time"].max() + pd.Timedelta(minutes=n)
            p = pd.concat([p, row], ignore_index=True)
        elif kind == "association":
            p.loc[i, "association"] = f"Asso {n % 3}"
    p = p.sort_values(["created_time", "record_id"], kind="stable").reset_index(drop=True)
    return p, s.reset_index(drop=True), changed, sites_changed


@settings(max_examples=60, deadline=None)
@given(steps=st.lists(st.lists(EDIT, min_size=1, max_size=5), min_size=1, max_size=3))
@example(steps=[[("delete", 0.1, 0)]])  # an early passage deleted: its camp's later ones
@example(steps=[[("insert_late", 0.5, 3), ("insert_late", 0.9, 7)]])  # tonight's
@example(steps=[[("move_site", 0.0, 1), ("delete_site", 0.0, 2)]])
@example(steps=[[("delete_last", 0.0, n)] for n in range(3)])  # Sites' last visits sooner
def test_regrouped_equals_from_scratch(steps: list[list[tuple[str, float, int]]]) -> None:
    passages, sites = frames()
    before = grouped(passages, sites)
    for edits in steps:
        new_passages, new_sites, changed, sites_changed = edited(passages, sites, edits)
        again = regrouped((before, sites), new_passages, new_sites, changed, sites_changed)
        pd.testing.assert_frame_equal(again, grouped(new_passages, new_sites))
        passages, sites, before = new_passages, new_sites, again


def _decided(spy: list[int]) -> Any:
    """``regroup._Again.choose`` counting its calls in ``spy``."""
    real = regroup._Again.choose

    def counting(self: Any, i: int, rank: int) -> Any:
        spy.append(i)
        return real(self, i, rank)

    return mock.patch.object(regroup._Again, "choose", counting)


def test_a_passage_of_tonight_is_the_only_one_decided() -> None:
    """A loose passage added after every other: it alone is grouped, and only its
    camp's duplicate marks are redone."""
    passages, sites = frames()
    before = grouped(passages, sites)
    loose = int(np.flatnonzero(passages["site_id"].isna().to_numpy())[-3])
    where = (loose + 0.5) / len(passages)
    new, new_sites, changed, _ = edited(passages, sites, [("insert_late", where, 5)])
    assert len(changed) == 1 and new.loc[new["record_id"].isin(changed), "site_id"].isna().all()
    decided: list[int] = []
    marked: list[int] = []
    real_mark = camps.mark_duplicates

    def counting_mark(rows: pd.DataFrame) -> pd.Series:
        marked.append(rows["camp_id"].nunique())
        return real_mark(rows)

    with _decided(decided), mock.patch.object(regroup, "mark_duplicates", counting_mark):
        again = regrouped((before, sites), new, new_sites, changed, set())
    pd.testing.assert_frame_equal(again, grouped(new, new_sites))
    assert len(decided) == 1 and marked == [1]


def test_an_early_deletion_decides_again_only_the_passages_near_it() -> None:
    """The passage that started a camp of the first weeks deleted: its camp is gone, so
    the walk resumes there and its other passages are grouped again (into a camp named
    after the next one), but the passages elsewhere are not decided again."""
    passages, sites = frames()
    before = grouped(passages, sites)
    loose = before[before["site_id"].isna()].sort_values(["date", "record_id"])
    early = loose.iloc[: len(loose) // 3]
    started = early.loc[early["camp_id"] == "P-" + early["record_id"], "camp_id"]
    camp = loose.loc[loose["camp_id"].isin(started), "camp_id"].value_counts().index[0]
    members = int((loose["camp_id"] == camp).sum())
    first = str(camp)[2:]
    later = int((loose["date"] > loose.set_index("record_id").at[first, "date"]).sum())
    new = passages[passages["record_id"] != first].reset_index(drop=True)
    decided: list[int] = []
    with _decided(decided):
        again = regrouped((before, sites), new, sites, {first}, set())
    pd.testing.assert_frame_equal(again, grouped(new, sites))
    assert members > 3 and members - 1 <= len(decided) < later / 3, (members, decided, later)


def test_a_site_losing_its_last_visit_and_a_passage_that_joined_it() -> None:
    """A Site's last linked visit moved to another Site (its span ends sooner: it is
    dirty from its previous visit plus the gap) and, just before that date, a passage
    without a Site that had joined it deleted: the Site's state from then on must not
    count the deleted passage (both take effect before the same passage of the walk)."""
    passages, sites = frames()
    before = grouped(passages, sites)
    loose = before[before["site_id"].isna()].sort_values(["date", "record_id"])
    gap = pd.Timedelta(days=GAP)
    found = None
    for site in sites["record_id"]:
        visits = before.loc[before["site_id"] == site].sort_values("date")
        if len(visits) < 2:
            continue
        ends = visits["date"].iloc[-2] + gap  # when the shorter span stops being joined
        joined = loose[(loose["camp_id"] == "S-" + site) & (loose["date"] < ends)]
        if (
            not joined.empty
            and not ((loose["date"] > joined["date"].iloc[-1]) & (loose["date"] < ends)).any()
        ):
            found = site, visits["record_id"].iloc[-1], joined["record_id"].iloc[-1]
            break
    assert found is not None, "the demo base has such a Site"
    site, last, lost = found
    other = sites.loc[sites["record_id"] != site, "record_id"].iloc[0]
    new = passages[passages["record_id"] != lost].copy()
    new.loc[new["record_id"] == last, "site_id"] = other
    new = new.reset_index(drop=True)
    again = regrouped((before, sites), new, sites, {last, lost}, set())
    pd.testing.assert_frame_equal(again, grouped(new, sites))


def test_duplicate_marks_follow_the_passage_sent_before() -> None:
    """A passage sent a few minutes before another of its camp and association makes
    that one a duplicate, and deleting it makes it one no more: the marks of the
    passages after a change are redone, not only the changed passage's."""
    passages, sites = frames()
    before = grouped(passages, sites)
    plain = before[~before["is_duplicate"] & before["site_id"].notna()]
    later = plain.iloc[len(plain) // 2]
    earlier = passages[passages["record_id"] == later["record_id"]].copy()
    earlier["record_id"] = "recEARLIER000001"
    earlier["date"] = earlier["date"] - pd.Timedelta(minutes=7)
    added = pd.concat([passages, earlier], ignore_index=True)
    added = added.sort_values(["created_time", "record_id"], kind="stable").reset_index(drop=True)
    again = regrouped((before, sites), added, sites, {"recEARLIER000001"}, set())
    pd.testing.assert_frame_equal(again, grouped(added, sites))
    assert again.set_index("record_id").at[later["record_id"], "is_duplicate"]
    back = regrouped((again, sites), passages, sites, {"recEARLIER000001"}, set())
    pd.testing.assert_frame_equal(back, before)
    assert not back.set_index("record_id").at[later["record_id"], "is_duplicate"]
