"""Per-camp results carried from one version of the ready frames to the next
(carto.analytics.lineage) equal a computation from scratch, whatever the edits."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import functools
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from carto import chunks, demo, prepared, privacy
from carto.analytics import alerts, camps, events, lineage, memo, places, population
from carto.dataset import Dataset, recipe
from carto.store import SnapshotStore
from tests import test_prepared
from tests.test_prepared import EDIT, SETTINGS, _edit_fields, apply

TODAY = dt.date(2026, 11, 20)
WINDOW = 7


@functools.cache
def base() -> demo.DemoBase:
    """About 1,000 passages of 24 camps: an edit changes a few camps, not all."""
    generated = demo.generate(seed=11, days=60, today=TODAY, n_camps=24)
    return dataclasses.replace(generated, passages=[copy.deepcopy(r) for r in generated.passages])


def filled_store(folder: Path) -> SnapshotStore:
    return test_prepared.filled_store(folder, base())


def analyses(passages: pd.DataFrame, sites: pd.DataFrame) -> list[pd.DataFrame]:
    """Every result ``lineage`` carries over, on these frames."""
    as_of = passages["date"].max()
    days = population.day_range(as_of - pd.Timedelta(days=40), as_of)
    return [
        places.camp_places(passages, sites),
        camps.camp_states(passages, sites, as_of, WINDOW),
        camps.camp_states(passages, sites, as_of - pd.Timedelta(days=20), WINDOW),
        population.estimated_population(passages, days, WINDOW),
        population.estimated_population(passages, days[-10:], WINDOW, merge_days=0),
        events.evacuation_events(passages, sites, WINDOW, 1),
        population.daily_camp_counts(passages, days, WINDOW, "unaccompanied_minors"),
        population.daily_camp_counts(passages, days[-10:], WINDOW),
        alerts.protection_alerts(passages, sites, as_of, 48),
        alerts.protection_alerts(passages, sites, as_of - pd.Timedelta(days=10), 24 * 5),
    ]


def read(store: SnapshotStore) -> prepared.Frames:
    frames = prepared.read_stored(store, recipe(SETTINGS).key, store.version)
    assert frames is not None
    return frames


def refresh(store: SnapshotStore, edits: list[tuple[str, float, int]], elsewhere: bool) -> None:
    """Write ``edits`` as a sync does; ``elsewhere``: in another process (this one then
    decodes the changed chunks, as a page process does), else in this one."""
    held = dict(prepared._DECODED), dict(prepared._CHUNKS)
    with store.transaction(bump_version=False) as conn:
        for edit in edits:
            apply(store, conn, edit)
        store.bump_version(conn)
        prepared.after_write(store, conn, recipe(SETTINGS))
    if elsewhere:
        prepared._DECODED.clear()
        prepared._DECODED.update(held[0])
        prepared._CHUNKS.clear()
        prepared._CHUNKS.update(held[1])


@settings(max_examples=10, deadline=None)
@given(
    steps=st.lists(st.lists(EDIT, min_size=1, max_size=6), min_size=1, max_size=3),
    elsewhere=st.booleans(),
)
@example(steps=[[("people", 0.3, 12)]], elsewhere=True)
@example(steps=[[("delete_passage", 0.5, 0), ("insert_passage", 0.2, 50)]], elsewhere=True)
@example(
    steps=[[("move", 0.4, 3), ("unlink_site", 0.7, 0)], [("link_site", 0.1, 4)]], elsewhere=False
)
def test_carried_results_equal_a_cold_computation(
    steps: list[list[tuple[str, float, int]]], elsewhere: bool
) -> None:
    memo.clear_all()
    prepared.forget()
    with tempfile.TemporaryDirectory(prefix="carto-lineage-") as tmp:
        store = filled_store(Path(tmp))
        frames = read(store)
        analyses(frames.passages, frames.sites)  # kept for the first version
        before = lineage.token(frames.passages)
        for edits in steps:
            refresh(store, edits, elsewhere)
            frames = read(store)
            # made from the previous frame and the changed chunks: as from every chunk
            manifest = chunks.Manifest.from_bytes(prepared._DECODED["passages"][0])
            held = prepared._CHUNKS["passages"]
            whole = prepared._frame([held[c.digest] for c in manifest.chunks], manifest.columns)
            pd.testing.assert_frame_equal(frames.passages, whole, check_exact=True)
            now = lineage.token(frames.passages)
            # the carried path is the one under test (unless no passage changed)
            assert now == before or lineage.lineage(now) is not None
            before = now
            carried = analyses(frames.passages, frames.sites)
            # shallow copies carry no token: computed whole
            cold = analyses(frames.passages.copy(deep=False), frames.sites.copy(deep=False))
            for a, b in zip(carried, cold, strict=True):
                pd.testing.assert_frame_equal(a, b, check_exact=True)


PARTNER = privacy.Policy(
    exact_positions=False, comments=False, free_text=False, small_count_threshold=5
)


def partner_view(frames: prepared.Frames, version: int) -> Dataset:
    ds = Dataset(frames.passages, frames.sites, frames.quarantine, version, False, None, TODAY)
    return privacy.apply(ds, PARTNER)


def clashing_codes(camp_id: str, attempt: int, length: int = 3) -> str:
    """Pseudonym letters from a space of two at the first attempt: most camps' clash,
    and which camp keeps them depends on the order camps were first seen."""
    if attempt == 0:
        return "AA" + "BC"[zlib.crc32(camp_id.encode()) % 2]
    return REAL_CODE(camp_id, attempt, length)


REAL_CODE = privacy._pseudonym_code


@settings(max_examples=10, deadline=None)
@given(
    steps=st.lists(st.lists(EDIT, min_size=1, max_size=6), min_size=1, max_size=3),
    clashing=st.booleans(),
)
@example(steps=[[("delete_passage", 0.0, 0), ("move", 0.05, 3)]], clashing=True)
@example(steps=[[("people", 0.3, 12)]], clashing=False)
@example(steps=[[("move_site", 0.0, 0)]], clashing=False)
def test_a_partners_carried_results_equal_a_cold_computation(
    steps: list[list[tuple[str, float, int]]], clashing: bool
) -> None:
    """A partner's variant carries its per-camp results from the previous version's
    variant (``lineage.tag_variant``) as the frames do: equal to a computation from
    scratch, pseudonyms included, also when an edit deals another camp's pseudonym
    again (``clashing``: most camps' letters clash)."""
    with pytest.MonkeyPatch.context() as patch:
        if clashing:
            patch.setattr(privacy, "_pseudonym_code", clashing_codes)
        memo.clear_all()
        prepared.forget()
        with tempfile.TemporaryDirectory(prefix="carto-lineage-") as tmp:
            store = filled_store(Path(tmp))
            frames = read(store)
            view = partner_view(frames, store.version)
            analyses(view.passages, view.sites)  # kept for the first version
            for edits in steps:
                sites_before = lineage.token(frames.sites)
                refresh(store, edits, elsewhere=True)
                frames = read(store)
                view = partner_view(frames, store.version)
                noted = lineage.lineage(lineage.token(frames.passages))
                now = lineage.token(view.passages)
                assert now is not None
                # the variant's lineage: the frame's and more; none when the Sites
                # changed (a camp takes its Site's zone: computed whole)
                if noted is not None and lineage.token(frames.sites) == sites_before:
                    found = lineage.lineage(now)
                    assert found is not None and found.camps >= noted.camps
                carried = analyses(view.passages, view.sites)
                cold = analyses(view.passages.copy(deep=False), view.sites.copy(deep=False))
                for a, b in zip(carried, cold, strict=True):
                    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_a_camp_dealt_another_pseudonym_counts_as_changed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Camp b, first seen before a, takes the letters they both want; b's passage moved
    after a's: a changed for the partner's variant (it takes the letters now), though
    the frame's lineage names b alone."""
    monkeypatch.setattr(privacy, "_pseudonym_code", lambda c, n, length=3: "ABC"[n] * 3)
    memo.clear_all()

    def frame(b_day: str) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "camp_id": pd.Series(["a", "b"], dtype="str"),
                "date": pd.to_datetime(["2026-11-05", b_day]).tz_localize("Europe/Paris"),
                "latitude": [48.85, 48.86],
                "longitude": [2.35, 2.36],
            }
        )

    sites = pd.DataFrame(
        {c: pd.Series(dtype="str") for c in ("record_id", "latitude", "longitude")}
    )
    empty = pd.DataFrame()
    lineage.tag(sites, ("sites", b"s"))
    first, second = frame("2026-11-01"), frame("2026-11-09")
    lineage.tag(first, ("passages", b"v1"))
    lineage.tag(second, ("passages", b"v2"))
    lineage.follow(("passages", b"v2"), ("passages", b"v1"), {"b"})
    policy = dataclasses.replace(PARTNER, small_count_threshold=0)
    one = privacy.apply(Dataset(first, sites, empty, 1, False, None, TODAY), policy)
    two = privacy.apply(Dataset(second, sites, empty, 2, False, None, TODAY), policy)
    assert one.passages.set_index("camp_id")[privacy.ALIAS].to_dict() == {
        "a": "Campement BBB",
        "b": "Campement AAA",
    }
    assert two.passages.set_index("camp_id")[privacy.ALIAS].to_dict() == {
        "a": "Campement AAA",
        "b": "Campement BBB",
    }
    found = lineage.lineage(lineage.token(two.passages))
    assert found is not None and found.camps == {"a", "b"}


def test_results_carried_to_a_camp_dealt_another_pseudonym_are_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every camp wants the same letters: the first seen keeps them. Its first passage
    dated before the base's first date (into the quarantine): another camp, whose rows
    did not change, is now first seen and takes them. The partner's carried results
    name it so, as a computation from scratch does."""
    monkeypatch.setattr(
        privacy,
        "_pseudonym_code",
        lambda c, n, length=3: "AAA" if n == 0 else REAL_CODE(c, n, length),
    )
    memo.clear_all()
    prepared.forget()
    store = filled_store(tmp_path)
    frames = read(store)
    view = partner_view(frames, store.version)
    analyses(view.passages, view.sites)
    first = frames.passages.sort_values("date").iloc[0]
    with store.transaction(bump_version=False) as conn:
        _edit_fields(store, conn, first["record_id"], {"Date": "1901-01-02T19:00:00.000Z"})
        store.bump_version(conn)
        prepared.after_write(store, conn, recipe(SETTINGS))
    frames = read(store)
    noted = lineage.lineage(lineage.token(frames.passages))
    assert noted is not None and noted.camps == {first["camp_id"]}
    view = partner_view(frames, store.version)
    aliases = view.passages.drop_duplicates("camp_id").set_index("camp_id")[privacy.ALIAS]
    renamed = aliases[aliases == "Campement AAA"].index[0]
    assert renamed != first["camp_id"]
    found = lineage.lineage(lineage.token(view.passages))
    assert found is not None and renamed in found.camps
    carried = analyses(view.passages, view.sites)
    cold = analyses(view.passages.copy(deep=False), view.sites.copy(deep=False))
    for a, b in zip(carried, cold, strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_a_site_moved_under_passages_with_their_own_position_is_a_new_variant(
    tmp_path: Path,
) -> None:
    """A camp's partner position is its Site's zone; a Site moved leaves its passages
    unchanged when each has its own position (found by an outside review: the partner
    variant kept its token, and the camps' fingerprints their old zone). The variant is
    another one, its fingerprints those of a computation from scratch."""
    memo.clear_all()
    prepared.forget()
    store = filled_store(tmp_path)
    frames = read(store)
    camp = next(c for c in frames.passages["camp_id"].dropna() if str(c).startswith("S-"))
    site_id = camp.removeprefix("S-")
    ids = set(frames.passages.loc[frames.passages["camp_id"] == camp, "record_id"])
    with store.transaction(bump_version=False) as conn:
        site = store.records_by_id(conn, "sites", [site_id])[site_id]
        for rid in ids:  # each passage of the camp at the Site, by its own position
            _edit_fields(
                store,
                conn,
                rid,
                {
                    "Latitude": site["fields"]["Latitude"],
                    "Longitude": site["fields"]["Longitude"],
                    "Site": [site_id],
                },
            )
        store.bump_version(conn)
        prepared.after_write(store, conn, recipe(SETTINGS))
    frames = read(store)
    before = partner_view(frames, store.version)
    columns = list(population._BASE_READ)
    lineage.camp_keys(before.passages, columns)
    analyses(before.passages, before.sites)
    with store.transaction(bump_version=False) as conn:
        site = copy.deepcopy(store.records_by_id(conn, "sites", [site_id])[site_id])
        site["fields"]["Latitude"] = float(site["fields"]["Latitude"]) + 0.03
        store.upsert(conn, "sites", [site])
        store.bump_version(conn)
        prepared.after_write(store, conn, recipe(SETTINGS))
    moved = read(store)
    assert lineage.token(moved.passages) == lineage.token(frames.passages)
    after = partner_view(moved, store.version)
    at = after.passages["camp_id"] == camp
    assert (after.passages.loc[at, "latitude"] != before.passages.loc[at, "latitude"]).all()
    assert lineage.token(after.passages) != lineage.token(before.passages)
    cold = memo.camp_fingerprints(after.passages.copy(deep=False), columns)
    assert lineage.camp_keys(after.passages, columns) == cold
    carried = analyses(after.passages, after.sites)
    fresh = analyses(after.passages.copy(deep=False), after.sites.copy(deep=False))
    for a, b in zip(carried, fresh, strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=True)


def _counting(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> list[set[str]]:
    """The camps each call of ``module.name`` was given rows of, from now on."""
    calls: list[set[str]] = []
    real: Callable[..., Any] = getattr(module, name)

    def counting(rows: pd.DataFrame, *args: Any, **kwargs: Any) -> Any:
        calls.append(set(rows["camp_id"].dropna()))
        return real(rows, *args, **kwargs)

    monkeypatch.setattr(module, name, counting)
    return calls


def test_a_refresh_computes_only_the_camps_it_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    memo.clear_all()
    prepared.forget()
    store = filled_store(tmp_path)
    frames = read(store)
    analyses(frames.passages, frames.sites)
    edited = frames.passages.iloc[len(frames.passages) // 2]
    as_of = frames.passages["date"].max()
    placed = _counting(monkeypatch, places, "_places")
    states = _counting(monkeypatch, camps, "_camp_states")
    hashed = _counting(monkeypatch, lineage, "camp_fingerprints")
    counted_daily = _counting(monkeypatch, population, "_daily_camp_counts")
    described = _counting(monkeypatch, events, "_camp_events_frame")
    alerted = _counting(monkeypatch, alerts, "counted")  # the rows an alert reads
    held = dict(prepared._DECODED), dict(prepared._CHUNKS)
    with store.transaction(bump_version=False) as conn:
        _edit_fields(store, conn, edited["record_id"], {"Personnes": 41})
        store.bump_version(conn)
        prepared.after_write(store, conn, recipe(SETTINGS))
    prepared._DECODED.update(held[0])  # as a page process that did not write it
    prepared._CHUNKS.update(held[1])
    frames = read(store)
    places.camp_places(frames.passages, frames.sites)
    camps.camp_states(frames.passages, frames.sites, as_of, WINDOW)
    for kept in (population._MEMO, population._PARTS, events._MEMO):
        kept.hits = kept.misses = 0
    days = population.day_range(as_of - pd.Timedelta(days=40), as_of)
    population.estimated_population(frames.passages, days, WINDOW)
    events.evacuation_events(frames.passages, frames.sites, WINDOW, 1)
    population.daily_camp_counts(frames.passages, days[-10:], WINDOW)
    alerts.protection_alerts(frames.passages, frames.sites, as_of, 48)
    # that camp's rows only; the states take their places from the whole frame's
    assert placed == [{edited["camp_id"]}]
    assert counted_daily == [{edited["camp_id"]}]
    assert states == [{edited["camp_id"]}]
    counted = frames.passages["camp_id"].nunique()
    assert population._PARTS.misses == 1 and population._PARTS.hits == counted - 1
    assert population._MEMO.misses == 1 and population._MEMO.hits == counted - 1
    # the other camps' events are carried whole (not even looked up per camp)
    assert events._MEMO.misses == 1 and events._MEMO.hits == 0
    assert described == [{edited["camp_id"]}]
    assert alerted == [{edited["camp_id"]}]
    # the fingerprints of that camp only, once for each set of columns
    assert hashed == [{edited["camp_id"]}] * 2


def _buffers(column: pd.Series) -> set[int]:
    """The addresses of the memory a column's values are in."""
    values = column.array
    if isinstance(values, pd.arrays.ArrowStringArray):
        arrays = values.__arrow_array__().chunks
        return {b.address for a in arrays for b in a.buffers() if b is not None}
    return {column.to_numpy().__array_interface__["data"][0]}


def test_an_edit_set_in_place_is_read_sharing_the_columns_it_did_not_change(
    tmp_path: Path,
) -> None:
    """A page process reading a refresh that changed a count (no row added, removed or
    moved) makes the new frame from the one it held: the changed rows converted in the
    columns where they differ, every other column shared, not copied (the copy grew
    with the base); the frame is the one of every chunk."""
    memo.clear_all()
    prepared.forget()
    store = filled_store(tmp_path)
    before = read(store).passages
    edited = before.iloc[len(before) // 2]
    people = 41.0 if edited["people"] != 41 else 42.0
    held = dict(prepared._DECODED), dict(prepared._CHUNKS)
    with store.transaction(bump_version=False) as conn:
        _edit_fields(store, conn, edited["record_id"], {"Personnes": people})
        store.bump_version(conn)
        prepared.after_write(store, conn, recipe(SETTINGS))
    prepared._DECODED.update(held[0])  # as a page process that did not write it
    prepared._CHUNKS.update(held[1])
    after = read(store).passages
    manifest = chunks.Manifest.from_bytes(prepared._DECODED["passages"][0])
    chunk_parts = prepared._CHUNKS["passages"]
    whole = prepared._frame([chunk_parts[c.digest] for c in manifest.chunks], manifest.columns)
    pd.testing.assert_frame_equal(after, whole, check_exact=True)
    assert after.loc[after["record_id"] == edited["record_id"], "people"].tolist() == [people]
    # the numpy columns, kept when equal bit for bit. Not the aware dates nor the texts,
    # compared by Arrow's equality of the chunks: in one full `make test` the date column
    # was made again (its values equal, the frame above equal), after some earlier test
    # of the process; the cause is not found yet (session 9's note)
    for column in ("latitude", "day", "is_duplicate"):
        assert _buffers(after[column]) == _buffers(before[column]), column
    assert not _buffers(after["people"]) & _buffers(before["people"])


def _part(frame: pd.DataFrame) -> prepared.Part:
    """A decoded chunk of those rows."""
    table = pa.Table.from_pandas(frame.drop(columns="needs"), preserve_index=False)
    return table, {"needs": frame["needs"].to_list()}


def test_changed_camps_are_those_of_rows_added_removed_or_changed() -> None:
    before = pd.DataFrame(
        {
            "record_id": ["r1", "r2", "r3", "r4"],
            "camp_id": ["a", "b", "c", "d"],
            "people": [1.0, None, 3.0, 4.0],
            "needs": [["Eau"], [], ["Repas"], []],
        }
    )
    assert prepared.changed_camps([_part(before)], [_part(before.copy())]) == set()
    after = before.copy()
    after.loc[1, "people"] = None  # missing stays missing: unchanged
    after.loc[2, "needs"] = ["Repas", "Eau"]  # a list cell changed
    after.loc[3, "camp_id"] = "e"  # moved to another camp: both
    after = pd.concat([after.drop(index=0), before.iloc[[0]].assign(record_id="r9", camp_id="f")])
    # split in two chunks on one side: rows are matched by record id, not by chunk
    found = prepared.changed_camps([_part(before)], [_part(after.iloc[:2]), _part(after.iloc[2:])])
    assert found == {"a", "c", "d", "e", "f"}
    assert prepared.changed_camps([_part(before)], []) == {"a", "b", "c", "d"}
    other = _part(after.assign(people=after["people"].astype("str")))
    assert prepared.changed_camps([_part(before)], [other]) is None  # another column type


def test_a_frame_without_a_token_is_computed_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    memo.clear_all()
    frame = pd.DataFrame({"camp_id": ["a", "b"], "x": [1, 2]}).set_index("camp_id")
    lineage.tag(frame, "content")
    lineage.follow("child", "content", {"a"})
    calls: list[int] = []

    def compute(rows: pd.DataFrame) -> pd.DataFrame:
        calls.append(len(rows))
        return rows

    lineage.by_camp("t", [frame.reset_index()], compute, lambda f: f)  # not tagged
    lineage.by_camp("t", [frame.reset_index()], compute, lambda f: f)
    assert calls == [2, 2]
    tagged = frame.reset_index()
    lineage.tag(tagged, "other")
    lineage.by_camp("t", [tagged], compute, lambda f: f)
    lineage.by_camp("t", [tagged], compute, lambda f: f)  # kept for its token
    assert calls == [2, 2, 2]


def test_the_changed_rows_follow_the_lineage_noted_last() -> None:
    """The same content can be reached from two parents (a change undone, a frame of
    another store the process held before): its lineage is noted again and names other
    camps. The rows taken for them are theirs, not those of the camps noted first."""
    frame = pd.DataFrame(
        {"camp_id": ["a", "b", "c", "a"], "people": [1.0, 2.0, 3.0, 4.0]}, dtype=object
    )
    lineage.tag(frame, ("passages", b"child"))
    lineage.follow(("passages", b"child"), ("passages", b"first parent"), ["a"])
    assert lineage.rows_of(frame, {"a"})["camp_id"].tolist() == ["a", "a"]
    lineage.follow(("passages", b"child"), ("passages", b"second parent"), ["c"])
    assert lineage.rows_of(frame, {"c"})["camp_id"].tolist() == ["c"]
