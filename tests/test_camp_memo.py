"""Per-camp results kept across versions (carto.analytics.memo) equal a computation
from scratch after random edits, deletions and additions of passages."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from carto import schema
from carto.analytics import camps, events, memo, needs, places, population
from carto.analytics.memo import MISSING, CampMemo, camp_fingerprints, per_frame
from carto.dataset import Dataset

WINDOW = 7
STATUSES = ("Actif", "Vide", "Évacué", "Démantelé")


def _clear() -> None:
    memo.clear_all()  # every per-camp memo and the per-frame values


def _compute(passages: pd.DataFrame, sites: pd.DataFrame, merge: int) -> tuple[pd.DataFrame, ...]:
    days = population.day_range(passages["date"].min(), passages["date"].max())
    as_of = passages["date"].max()
    return (
        events.evacuation_events(passages, sites, WINDOW, merge),
        population.estimated_population(passages, days, WINDOW, merge_days=merge),
        places.camp_places(passages, sites),
        camps.camp_states(passages, sites, as_of, WINDOW),
        camps.camp_states(passages, sites, as_of - pd.Timedelta(days=20), WINDOW),
        needs.weekly_needs(passages),
    )


def _edited(passages: pd.DataFrame, seed: int, n: int) -> pd.DataFrame:
    """``n`` random edits of each kind: counts, statuses and evacuations changed, passages
    moved in time, deleted, passages added (copies moved by a few hours, new record ids)."""
    rng = np.random.default_rng(seed)
    out = passages.copy()
    rows = out.index[rng.choice(len(out), n, replace=False)]
    out.loc[rows, "people"] = rng.integers(0, 80, n).astype(float)
    rows = out.index[rng.choice(len(out), n, replace=False)]
    out.loc[rows, "site_status"] = rng.choice(STATUSES, n)
    rows = out.index[rng.choice(len(out), n, replace=False)]
    out.loc[rows, "evacuation"] = rng.choice(schema.EVACUATIONS, n)
    out.loc[rows, "sheltered"] = rng.integers(0, 40, n).astype(float)
    rows = out.index[rng.choice(len(out), n, replace=False)]
    out.loc[rows, "date"] = out.loc[rows, "date"] + pd.to_timedelta(rng.integers(-30, 30, n), "h")
    out = out.drop(index=out.index[rng.choice(len(out), n, replace=False)])
    added = out.iloc[rng.choice(len(out), n, replace=False)].copy()
    added["record_id"] = [f"recAdded{seed}x{i}" for i in range(n)]
    added["date"] = added["date"] + pd.to_timedelta(rng.integers(-48, 48, n), unit="h")
    return pd.concat([out, added], ignore_index=True)


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**31), n=st.integers(1, 12), merge=st.sampled_from([0, 1, 10]))
def test_warm_memo_equals_cold_computation(
    demo_dataset: Dataset, seed: int, n: int, merge: int
) -> None:
    passages, sites = demo_dataset.passages, demo_dataset.sites
    _clear()
    _compute(passages, sites, 1)  # the memo warm with the version before
    changed = _edited(passages, seed, n)
    warm = _compute(changed, sites, merge)
    again = _compute(changed, sites, merge)  # the per-frame values of ``changed`` kept
    _clear()
    cold = _compute(changed, sites, merge)
    for a, b, c in zip(warm, again, cold, strict=True):
        pd.testing.assert_frame_equal(a, c, check_exact=True)
        pd.testing.assert_frame_equal(b, c, check_exact=True)


def test_a_new_version_recomputes_only_the_changed_camps(demo_dataset: Dataset) -> None:
    passages, sites = demo_dataset.passages, demo_dataset.sites
    _clear()
    _compute(passages, sites, 1)
    camps = passages["camp_id"].nunique()
    changed = passages.copy()
    one = changed.index[changed["camp_id"] == changed["camp_id"].iloc[0]]
    changed.loc[one[-1], "people"] = 999.0
    for kept in (events._MEMO, population._MEMO, population._PARTS):
        kept.hits = kept.misses = 0
    _compute(changed, sites, 1)
    assert population._MEMO.misses == 1
    assert population._MEMO.hits == camps - 1
    assert population._PARTS.misses == 1  # rounds and events made again for that camp only
    assert population._PARTS.hits == camps - 1
    assert events._MEMO.misses <= 1


def test_fingerprint_follows_values_and_order() -> None:
    frame = pd.DataFrame(
        {"camp_id": ["a", "a", "b", "b"], "people": [1.0, 2.0, 3.0, 4.0], "site_status": "Actif"}
    )
    base = camp_fingerprints(frame, ["people", "site_status"])
    edited = camp_fingerprints(frame.assign(people=[1.0, 2.0, 3.0, 5.0]), ["people"])
    swapped = camp_fingerprints(frame.iloc[[1, 0, 2, 3]], ["people", "site_status"])
    assert base["a"] != swapped["a"] and base["b"] == swapped["b"]
    assert camp_fingerprints(frame, ["people"])["a"] == edited["a"]
    assert camp_fingerprints(frame, ["people"])["b"] != edited["b"]


def test_memo_keeps_its_bounds() -> None:
    memo = CampMemo(max_entries=3, max_bytes=100)
    for key in "abcd":
        memo.put(key, key, 10)
    assert len(memo) == 3 and memo.get("a") is MISSING
    memo.get("b")  # now the most recent: "c" goes first
    memo.put("e", "e", 60)
    assert memo.get("c") is MISSING and memo.get("b") == "b"
    memo.put("big", "big", 101)
    assert memo.get("big") is MISSING


def test_time_order_is_the_sort_of_the_counted_passages(demo_dataset: Dataset) -> None:
    passages = demo_dataset.passages.sample(frac=1.0, random_state=3)  # any row order
    memo.clear_frames()
    expected = camps.counted(passages).sort_values(["date", "record_id"])
    found = camps.in_time_order(passages, list(passages.columns))
    pd.testing.assert_frame_equal(found, expected)
    recent = passages["date"] > passages["date"].median()
    pd.testing.assert_frame_equal(
        camps.in_time_order(passages, ["date", "record_id", "people"], where=recent),
        expected.loc[
            expected["date"] > passages["date"].median(),
            ["date", "record_id", "people", "is_duplicate"],
        ],
    )


def test_per_frame_values_belong_to_one_frame_object() -> None:
    memo.clear_frames()
    made: list[str] = []

    def make(tag: str) -> pd.DataFrame:
        made.append(tag)
        return pd.DataFrame({"x": [1, 2]})

    first = pd.DataFrame({"a": [1]})
    equal = first.copy()  # same content, another object (another version, another role)
    kept = per_frame("t", [first], lambda: make("first"))
    per_frame("t", [first], lambda: make("again"))
    per_frame("t", [equal], lambda: make("equal"))
    assert made == ["first", "equal"]
    kept["x"] = 0  # a caller changing what it was handed does not change the kept value
    assert per_frame("t", [first], lambda: make("never"))["x"].tolist() == [1, 2]
    entries = len(memo._FRAMES)
    del first, kept
    assert len(memo._FRAMES) == entries - 1  # gone with its frame


def test_per_frame_keeps_its_bound() -> None:
    memo.clear_frames()
    frames = [pd.DataFrame({"a": [i]}) for i in range(memo.FRAME_ENTRIES + 5)]
    for i, frame in enumerate(frames):
        per_frame("t", [frame], lambda i=i: i)
    assert len(memo._FRAMES) == memo.FRAME_ENTRIES
    assert per_frame("t", [frames[0]], lambda: -1) == -1  # the oldest was dropped
