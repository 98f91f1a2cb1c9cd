"""Ready frames kept in the store (carto/prepared.py): incremental equals a full rebuild,
the encoding gives back the same frames, pages read them without normalising again."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import functools
import gc
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from carto import arrow_records, chunks, demo, prepared
from carto.analytics.camps import with_camps
from carto.dataset import build_dataset, normalise_options, recipe
from carto.normalise import normalise
from carto.options import AnalysisOptions
from carto.settings import Settings
from carto.store import Record, SnapshotStore

TODAY = dt.date(2026, 11, 20)
NOW = pd.Timestamp("2026-11-21 12:00", tz="Europe/Paris")
SETTINGS = Settings({"airtable": {"base_id": "appPREPARED000001"}})


@functools.cache
def base() -> demo.DemoBase:
    """A small base (about 150 passages), with a few records normalisation objects to."""
    generated = demo.generate(seed=7, days=30, today=TODAY, n_camps=5)
    passages = [copy.deepcopy(r) for r in generated.passages]
    extra: list[Record] = []
    for n, fields in enumerate(
        [
            {},  # empty: quarantined
            {"Date": "pas une date", "Personnes": 3},
            {
                "Date": "2026-11-10T20:00:00.000Z",
                "Personnes": "env. 12",
                "Latitude": 48.88,
                "Longitude": 2.37,
            },
            {"Date": "2026-11-10T20:00:00.000Z", "Site": ["recUNKNOWNSITE"]},
            {"Date": "2026-11-10T20:00:00.000Z", "Latitude": 2.35, "Longitude": 48.87},
            {
                "Date": "2026-11-10T20:00:00.000Z",
                "Personnes": -4,
                "Latitude": 48.88,
                "Longitude": 2.37,
            },
        ]
    ):
        extra.append(
            {"id": f"recEXTRA{n:08d}", "createdTime": "2026-11-10T21:00:00.000Z", "fields": fields}
        )
    dated = next(r for r in passages if "T" in str(r["fields"].get("Date", "")))
    again = copy.deepcopy(dated)  # the same visit sent twice: a duplicate
    again["id"] = "recAGAIN00000001"
    sent = pd.Timestamp(again["fields"]["Date"]) + pd.Timedelta(minutes=5)
    again["fields"]["Date"] = sent.isoformat()
    return dataclasses.replace(generated, passages=[*passages, *extra, again])


def stored(store: SnapshotStore) -> prepared.Frames:
    """The stored frames of the current version, as this process keeps them and as
    decoding their bytes afresh gives them (both checked equal)."""
    frames = prepared.read_stored(store, recipe(SETTINGS).key, store.version)
    assert frames is not None, "the frames of the current version are in the store"
    prepared.forget()
    fresh = prepared.read_stored(store, recipe(SETTINGS).key, store.version)
    assert fresh is not None
    assert_same(frames, fresh)
    return fresh


def manifests(store: SnapshotStore) -> dict[str, chunks.Manifest]:
    found = store.derived(prepared.NAMES)
    return {name: chunks.Manifest.from_bytes(found[name].data) for name in prepared.NAMES}


def stored_chunks(store: SnapshotStore) -> int:
    """How many chunks the stored frames are made of."""
    return sum(len(m.chunks) for m in manifests(store).values())


def counted_decodes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of the chunks decoded from now on (the list grows as they are)."""
    decoded: list[int] = []
    real_decode = prepared.decode_chunk

    def counting(data: bytes) -> Any:
        decoded.append(len(data))
        return real_decode(data)

    monkeypatch.setattr(prepared, "decode_chunk", counting)
    return decoded


def rebuilt(store: SnapshotStore) -> prepared.Frames:
    return prepared.build(store.records("sites"), store.records("passages"), recipe(SETTINGS))


def assert_same(a: prepared.Frames, b: prepared.Frames) -> None:
    for name in prepared.NAMES:
        pd.testing.assert_frame_equal(a.as_dict()[name], b.as_dict()[name])


def filled_store(folder: Path, records: demo.DemoBase | None = None) -> SnapshotStore:
    """A store of ``records`` (default: ``base()``) and its ready frames."""
    records = records or base()
    store = SnapshotStore(folder / "store.sqlite")
    with store.transaction() as conn:
        store.replace_table(conn, "sites", records.sites)
        store.replace_table(conn, "passages", records.passages)
    prepared.load(store, recipe(SETTINGS))
    return store


# One edit: (kind, which record as a fraction of the table, a number).
EDIT = st.tuples(
    st.sampled_from(
        [
            "people",
            "people_text",
            "no_date",
            "move",
            "unlink_site",
            "link_site",
            "delete_passage",
            "copy_passage",
            "insert_passage",
            "tonight",
            "redate",
            "fix_date",
            "old_date",
            "move_site",
            "delete_site",
            "add_site",
        ]
    ),
    st.floats(min_value=0, max_value=0.999),
    st.integers(min_value=0, max_value=60),
)


def apply(store: SnapshotStore, conn: Any, edit: tuple[str, float, int]) -> None:
    """One random edit of the stored records, as a sync would write it."""
    kind, where, n = edit
    passages = store.records_in(conn, "passages")
    sites = store.records_in(conn, "sites")
    if kind in ("move_site", "delete_site") and not sites:
        return
    if kind.endswith("site") and kind not in ("unlink_site", "link_site"):
        site = copy.deepcopy(sites[int(where * len(sites))]) if sites else None
        if kind == "delete_site" and site:
            store.delete_ids(conn, "sites", [site["id"]])
        elif kind == "move_site" and site:
            site["fields"]["Latitude"] = 48.85 + n / 1000
            store.upsert(conn, "sites", [site])
        elif kind == "add_site":
            fields = {"Nom": f"Site {n}", "Latitude": 48.86 + n / 2000, "Longitude": 2.36}
            # every other one is the Site a quarantined passage links to
            rid = "recUNKNOWNSITE" if n % 2 else f"recNEWSITE{n:06d}"
            new = {
                "id": rid,
                "createdTime": "2026-11-15T10:00:00.000Z",
                "fields": fields,
            }
            store.upsert(conn, "sites", [new])
        return
    if not passages:
        return
    rec = copy.deepcopy(passages[int(where * len(passages))])
    fields = rec["fields"]
    if kind == "people":
        fields["Personnes"] = n
    elif kind == "people_text":
        fields["Personnes"] = f"env. {n}"
    elif kind == "no_date":
        fields.pop("Date", None)
    elif kind == "move":
        fields["Latitude"], fields["Longitude"] = 48.84 + n / 1000, 2.30 + n / 1000
    elif kind == "unlink_site":
        fields.pop("Site", None)
    elif kind == "link_site" and sites:
        fields["Site"] = [sites[n % len(sites)]["id"]]
    elif kind == "delete_passage":
        store.delete_ids(conn, "passages", [rec["id"]])
        return
    elif kind == "copy_passage":  # the same visit sent again a few minutes later
        rec["id"] = f"recCOPY{n:02d}{rec['id'][-8:]}"
        if isinstance(fields.get("Date"), str) and "T" in fields["Date"]:
            sent = pd.Timestamp(fields["Date"]) + pd.Timedelta(minutes=n % 20)
            fields["Date"] = sent.isoformat()
    elif kind == "insert_passage":  # created later or earlier: lands in another chunk
        rec["id"] = f"recINS{n:02d}{rec['id'][-8:]}"
        created = pd.Timestamp(rec["createdTime"]) + pd.Timedelta(hours=(n - 30) * 7)
        rec["createdTime"] = created.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    elif kind == "tonight":  # typed in this evening: created after every other
        rec["id"] = f"recTONIGHT{n:02d}{rec['id'][-6:]}"
        latest = max(pd.Timestamp(r["createdTime"]) for r in passages)
        created = latest + pd.Timedelta(minutes=n + 1)
        rec["createdTime"] = created.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        fields["Date"] = (created - pd.Timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    elif kind == "redate":  # moved in time: the camps after it may change
        if isinstance(fields.get("Date"), str) and "T" in fields["Date"]:
            moved = pd.Timestamp(fields["Date"]) + pd.Timedelta(hours=(n - 30) * 3)
            fields["Date"] = moved.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    elif kind == "old_date":  # before [quality] first_date: into the quarantine
        fields["Date"] = f"{1900 + n}-01-02T19:00:00.000Z"
    elif kind == "fix_date":  # a date and a place: out of the quarantine if it was in
        fields["Date"] = "2026-11-12T20:00:00.000Z"
        fields.setdefault("Latitude", 48.88 + n / 10_000)
        fields.setdefault("Longitude", 2.37)
    store.upsert(conn, "passages", [rec])


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="carto-prepared-") as tmp:
        yield Path(tmp)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(st.lists(EDIT, min_size=1, max_size=6), min_size=1, max_size=3))
@example(steps=[[("delete_passage", 0.0, 0)]])  # a deletion alone: no row to place
# a quarantined passage given a date and a place (out), then its date taken away again
# (in) while two passages of tonight are added (0.625: "pas une date", by id)
@example(
    steps=[
        [("fix_date", 0.625, 3)],
        [("no_date", 0.625, 0), ("tonight", 0.5, 1), ("tonight", 0.2, 2)],
    ]
)
# a passage dated 1900 (quarantined), then given back a date of the base (out again)
@example(steps=[[("old_date", 0.4, 0)], [("fix_date", 0.4, 1)]])
# edits set in place (nothing the grouping reads changed), then one that regroups
@example(steps=[[("people", 0.3, 12), ("people_text", 0.6, 5)], [("people", 0.999, 0)]])
# every Site deleted: a frame of no row (pandas parses no date in seconds) must have the
# same column types as the rows it replaced
@example(steps=[[("delete_site", 0.0, 0)] * 10] * 3)
@pytest.mark.parametrize(
    ("chunk_days", "rows"),
    [(7, chunks.ROWS), (1, chunks.ROWS), (7, 3)],
    ids=["weekly-chunks", "daily-chunks", "weekly-pieces-of-3-rows"],
)
def test_incremental_frames_equal_a_full_rebuild(
    folder: Path, chunk_days: int, rows: int, steps: list[list[tuple[str, float, int]]]
) -> None:
    """Whatever the edits, and with chunks of a week (the stored layout), of a day, or
    of weeks cut in pieces of 3 rows (more chunk boundaries in this one-month base: rows
    inserted, removed and moved across them, shifting the pieces after them), the stored
    frames are those a full rebuild gives."""
    width = mock.patch.object(chunks, "WIDTH_US", chunk_days * 86_400 * 1_000_000)
    pieces = mock.patch.object(chunks, "ROWS", rows)
    with width, pieces, tempfile.TemporaryDirectory(dir=folder) as tmp:
        store = filled_store(Path(tmp))
        for edits in steps:
            with store.transaction(bump_version=False) as conn:
                for edit in edits:
                    apply(store, conn, edit)
                store.bump_version(conn)
                refuse = AssertionError("rebuilt whole instead of updated")
                with mock.patch.object(prepared, "build", side_effect=refuse):
                    prepared.after_write(store, conn, recipe(SETTINGS))
            assert_same(stored(store), rebuilt(store))


def _edit_fields(store: SnapshotStore, conn: Any, rid: str, fields: dict[str, Any]) -> None:
    rec = copy.deepcopy(store.records_by_id(conn, "passages", [rid])[rid])
    rec["fields"].update(fields)
    store.upsert(conn, "passages", [rec])


@pytest.mark.parametrize("pick", ["loose", "linked", "duplicate", "duplicated", "quarantined"])
def test_an_edit_the_grouping_does_not_read_is_set_in_place(tmp_path: Path, pick: str) -> None:
    """Counts, needs and comment of passages that stay where they were changed (one with
    a Site, one without, a duplicate, the passage it repeats, one quarantined for its
    date): their rows are normalised again and set where they are, without regrouping
    the base, and only their chunk is written; the frames are those of a full rebuild."""
    store = filled_store(tmp_path)
    passages = stored(store).passages
    duplicate = passages.loc[passages["is_duplicate"], "record_id"].iloc[0]
    kept = passages[~passages["is_duplicate"]]
    picked = {
        "loose": kept.loc[kept["site_id"].isna(), "record_id"].iloc[3],
        "linked": kept.loc[kept["site_id"].notna(), "record_id"].iloc[-2],
        "duplicate": duplicate,
        "duplicated": passages.loc[
            (passages["camp_id"] == passages.set_index("record_id").at[duplicate, "camp_id"])
            & ~passages["is_duplicate"],
            "record_id",
        ].iloc[-1],
        "quarantined": "recEXTRA00000001",  # "pas une date"
    }[pick]
    before = manifests(store)
    refuse = AssertionError("regrouped the whole base")
    with (
        mock.patch.object(prepared, "update", side_effect=refuse),
        mock.patch.object(prepared, "with_camps", side_effect=refuse),
        store.transaction(bump_version=False) as conn,
    ):
        fields = {"Personnes": "env. 17", "Besoins": ["Eau"], "Commentaire": "revu"}
        if pick == "quarantined":  # still no date, another reason's text
            fields["Date"] = "demain soir"
        _edit_fields(store, conn, picked, fields)
        store.bump_version(conn)
        prepared.after_write(store, conn, recipe(SETTINGS))
    after = manifests(store)
    written = [n for n in prepared.NAMES for c in after[n].chunks if c not in before[n].chunks]
    assert written == ["quarantine" if pick == "quarantined" else "passages"]
    frames = stored(store)
    assert_same(frames, rebuilt(store))
    if pick != "quarantined":
        row = frames.passages.set_index("record_id").loc[picked]
        assert row["people"] == 17 and list(row["needs"]) != []


def test_a_week_of_many_rows_is_stored_in_pieces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A week with more than ``chunks.ROWS`` passages is cut into pieces of that many
    rows: an edit encodes and writes its piece alone, not its whole week."""
    monkeypatch.setattr(chunks, "ROWS", 4)
    store = filled_store(tmp_path)
    passages = stored(store).passages
    weeks = chunks.week(chunks.keys(passages))
    assert pd.Series(weeks).value_counts().max() > 8, "a week of more than two pieces"
    encoded: list[list[tuple[int, int]]] = []
    real_encode = prepared.encode_chunks

    def counting_encode(name: str, frame: pd.DataFrame, spans: Any) -> Any:
        encoded.append(spans)
        return real_encode(name, frame, spans)

    monkeypatch.setattr(prepared, "encode_chunks", counting_encode)
    picked = passages["record_id"].iloc[len(passages) // 2]
    with store.transaction(bump_version=False) as conn:
        _edit_fields(store, conn, picked, {"Personnes": 33})
        store.bump_version(conn)
        prepared.after_write(store, conn, recipe(SETTINGS))
    assert len(encoded) == 1 and len(encoded[0]) == 1
    (start, stop) = encoded[0][0]
    assert stop - start <= 4
    assert_same(stored(store), rebuilt(store))


def test_passages_of_tonight_encode_only_the_last_piece(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Passages typed in this evening are created after every other: they are grouped
    without grouping the base again, and only the last piece of the passages, where
    they land, is encoded and written; the frames are those of a full rebuild."""
    monkeypatch.setattr(chunks, "ROWS", 4)
    store = filled_store(tmp_path)
    before = len(stored(store).passages)
    encoded: list[tuple[str, list[tuple[int, int]]]] = []
    real_encode = prepared.encode_chunks

    def counting_encode(name: str, frame: pd.DataFrame, spans: Any) -> Any:
        encoded.append((name, spans))
        return real_encode(name, frame, spans)

    monkeypatch.setattr(prepared, "encode_chunks", counting_encode)
    refuse = AssertionError("grouped the base from scratch")
    with (
        mock.patch.object(prepared, "with_camps", side_effect=refuse),
        store.transaction(bump_version=False) as conn,
    ):
        apply(store, conn, ("tonight", 0.3, 1))
        apply(store, conn, ("tonight", 0.7, 2))
        store.bump_version(conn)
        prepared.after_write(store, conn, recipe(SETTINGS))
    assert [name for name, _ in encoded] == ["passages"]
    spans = encoded[0][1]
    assert spans[-1][1] == before + 2 and spans[0][0] >= before - 4, spans
    assert_same(stored(store), rebuilt(store))


def test_text_columns_stay_in_few_pieces_across_refreshes(tmp_path: Path) -> None:
    """Each refresh that adds and deletes passages splices the passages frame from
    pieces: the frame the sync's process keeps (and its pages read) does not pile up
    Arrow pieces in its text columns from one refresh to the next."""
    store = filled_store(tmp_path)
    for n in range(6):
        with store.transaction(bump_version=False) as conn:
            for where in (0.1, 0.4, 0.8):
                apply(store, conn, ("delete_passage", where, 0))
            apply(store, conn, ("tonight", 0.5, n))
            store.bump_version(conn)
            prepared.after_write(store, conn, recipe(SETTINGS))
    kept = prepared.load(store, recipe(SETTINGS)).passages
    for column in ("record_id", "camp_id", "site_id"):
        pieces = kept[column].array.__arrow_array__().num_chunks
        assert pieces <= prepared.MOST_PIECES, (column, pieces)
    assert_same(stored(store), rebuilt(store))


def test_an_edit_the_grouping_reads_regroups(tmp_path: Path) -> None:
    """A passage moved in time, or linked to a Site, is regrouped (not set in place):
    its camp and the duplicate marks around it are those of a full rebuild."""
    store = filled_store(tmp_path)
    passages = stored(store).passages
    duplicate = passages.loc[passages["is_duplicate"], "record_id"].iloc[0]
    date = passages.loc[passages["record_id"] == duplicate, "date"].iloc[0]
    later = (date + pd.Timedelta(hours=3)).isoformat()
    with store.transaction(bump_version=False) as conn:
        _edit_fields(store, conn, duplicate, {"Date": later})
        store.bump_version(conn)
        prepared.after_write(store, conn, recipe(SETTINGS))
    frames = stored(store)
    assert_same(frames, rebuilt(store))
    assert not frames.passages.set_index("record_id").at[duplicate, "is_duplicate"]


def test_encoding_gives_back_the_same_frames() -> None:
    frames = prepared.build(base().sites, base().passages, recipe(SETTINGS))
    assert not frames.quarantine.empty and frames.passages["is_duplicate"].any()
    for name, frame in frames.as_dict().items():
        pd.testing.assert_frame_equal(prepared.decode(prepared.encode(name, frame)), frame)


# What a list column's cell may hold: needs and referrals (options, a missing item: None,
# or NaN from a stored text ``json`` wrote), flag or reason codes and their parameters.
_ITEMS = st.one_of(st.text(max_size=6), st.none(), st.just(float("nan")))
_CELLS = st.one_of(
    st.lists(_ITEMS, max_size=3),
    st.lists(st.dictionaries(st.text(max_size=4), st.text(max_size=6), max_size=2), max_size=2),
)


@settings(max_examples=200, deadline=None)
@given(lists=st.dictionaries(st.sampled_from(["needs", "flag_params"]), st.lists(_CELLS)))
@example(lists={"needs": [["Eau", float("nan")]]})  # orjson would write NaN as null
@example(lists={"needs": [["\x00\x1f\x7f\u2028\ufeff\U0001f600", '"\\']]})
def test_a_chunk_header_has_the_bytes_json_writes(lists: dict[str, list[Any]]) -> None:
    """orjson writes the header (faster): the same bytes as ``json`` with the options the
    chunks were written with, whatever the cells hold."""
    header = {"columns": ["record_id", *lists], "lists": lists}
    text = json.dumps(header, ensure_ascii=False, separators=(",", ":"))
    assert prepared._header_bytes(header) == text.encode("utf-8")


@pytest.mark.parametrize("threads_from", [2, 10**6], ids=["two-threads", "one-thread"])
def test_spans_apart_are_encoded_as_each_alone(
    monkeypatch: pytest.MonkeyPatch, threads_from: int
) -> None:
    """A refresh encodes chunks that do not follow each other, a rebuild hundreds of
    chunks by two threads (one conversion for all): the bytes and decoded parts of each
    are those it has encoded alone."""
    monkeypatch.setattr(prepared, "PARALLEL_SPANS", threads_from)
    passages = prepared.build(base().sites, base().passages, recipe(SETTINGS)).passages
    spans = [(a, b) for _, a, b in chunks.runs(chunks.keys(passages))]
    assert len(spans) >= 4, "several weekly chunks"
    for picked in ([spans[1], spans[3]], [spans[0], spans[2], spans[-1]], spans[1:3], spans):
        together = prepared.encode_chunks("passages", passages, picked)
        for span, (data, (table, lists)) in zip(picked, together, strict=True):
            [(alone, (alone_table, alone_lists))] = prepared.encode_chunks(
                "passages", passages, [span]
            )
            assert data == alone
            assert table.equals(alone_table) and lists == alone_lists
            rows = passages.iloc[span[0] : span[1]].reset_index(drop=True)
            pd.testing.assert_frame_equal(prepared.decode(data), rows)


@pytest.mark.parametrize(("split", "lines"), [(0, 1), (0, 7), (0, 10_000), (20_000, 10_000)])
def test_passages_read_ahead_by_blocks_give_the_frames_of_their_records(
    monkeypatch: pytest.MonkeyPatch, split: int, lines: int
) -> None:
    """A full rebuild reads the passages' texts by blocks, each normalised while the
    next is read: the frames are those of the records normalised together, in any
    order, whatever the size of the blocks."""
    monkeypatch.setattr(arrow_records, "AHEAD_LINES", lines)
    monkeypatch.setattr(arrow_records, "SPLIT_LINES", split)
    passages = list(reversed(base().passages))
    texts = "\n".join(SnapshotStore.encode(r) for r in passages).encode("utf-8")
    frames = prepared.build_from_lines(base().sites, texts, recipe(SETTINGS))
    assert_same(frames, prepared.build(base().sites, base().passages, recipe(SETTINGS)))


def test_dataset_equals_normalising_at_load(tmp_path: Path) -> None:
    """What pages get from the ready frames is what normalising the records then and
    there gives (the future-date flag included), in the canonical order."""
    store = filled_store(tmp_path)
    later = {
        "id": "recFUTURE0000001",
        "createdTime": "2026-11-21T10:00:00.000Z",
        "fields": {
            "Date": "2026-11-21T18:00:00.000Z",
            "Personnes": 5,
            "Latitude": 48.88,
            "Longitude": 2.37,
        },
    }
    with store.transaction() as conn:
        store.upsert(conn, "passages", [later])
    ds = build_dataset(SETTINGS, store, now=NOW)

    options = normalise_options(SETTINGS, NOW)
    direct = normalise(store.records("sites"), store.records("passages"), options)
    analysis = AnalysisOptions.from_settings(SETTINGS)
    expected = with_camps(
        direct.passages, direct.sites, analysis.camp_radius_m, analysis.active_days
    )
    expected = prepared._ordered(expected)
    pd.testing.assert_frame_equal(ds.passages, expected)
    pd.testing.assert_frame_equal(ds.sites, prepared._ordered(direct.sites))
    pd.testing.assert_frame_equal(ds.quarantine, prepared._ordered_quarantine(direct.quarantine))
    flags = ds.passages.set_index("record_id")["flag_codes"]
    assert flags["recFUTURE0000001"][0] == prepared.FUTURE_FLAG


def test_pages_read_ready_frames_without_normalising(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = filled_store(tmp_path)  # frames built once and stored

    def refuse(*args: object, **kwargs: object) -> prepared.Frames:
        raise AssertionError("normalised again at page load")

    monkeypatch.setattr(prepared, "build", refuse)
    ds = build_dataset(SETTINGS, store, now=NOW)
    assert ds.version == store.version and len(ds.passages) > 0


def test_frames_written_or_read_once_are_not_decoded_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process that wrote the frames (the sync) and every page after it read them
    without decoding the same bytes again; other bytes (another store) are decoded."""
    store = filled_store(tmp_path / "a")
    with store.transaction(bump_version=False) as conn:
        apply(store, conn, ("move", 0.5, 7))
        store.bump_version(conn)
        prepared.after_write(store, conn, recipe(SETTINGS))
    expected = rebuilt(store)
    decoded = counted_decodes(monkeypatch)
    first = prepared.load(store, recipe(SETTINGS))
    assert decoded == []
    assert_same(first, expected)
    first.passages["added"] = 1  # a caller's column stays in its copy
    again = prepared.load(store, recipe(SETTINGS))
    assert "added" not in again.passages.columns and decoded == []

    other = SnapshotStore(tmp_path / "b.sqlite")
    generated = demo.generate(seed=8, days=20, today=TODAY, n_camps=3)
    with other.transaction() as conn:
        other.replace_table(conn, "sites", generated.sites)
        other.replace_table(conn, "passages", generated.passages)
    prepared.load(other, recipe(SETTINGS))  # built and stored: remembered as written
    prepared.load(store, recipe(SETTINGS))
    assert len(decoded) == stored_chunks(store), "other bytes remembered: decoded again"
    assert_same(prepared.load(other, recipe(SETTINGS)), rebuilt(other))


def test_an_update_runs_with_the_collector_paused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The merge and the encoding at sync run without garbage collection passes (each
    would scan every list and dict of the frames the process keeps), and the collector
    is back on after."""
    store = filled_store(tmp_path)
    seen: list[bool] = []
    real_update, real_encode = prepared.refreshed, prepared.encode_chunks

    def update(*args: Any) -> Any:
        seen.append(gc.isenabled())
        return real_update(*args)

    def encode(*args: Any) -> Any:
        seen.append(gc.isenabled())
        return real_encode(*args)

    monkeypatch.setattr(prepared, "refreshed", update)
    monkeypatch.setattr(prepared, "encode_chunks", encode)
    assert gc.isenabled()
    with store.transaction(bump_version=False) as conn:
        apply(store, conn, ("people", 0.3, 12))
        store.bump_version(conn)
        prepared.after_write(store, conn, recipe(SETTINGS))
    # the update, then the encoding of the one chunk it changed
    assert seen == [False, False] and gc.isenabled()


def test_chunks_are_decoded_with_the_collector_paused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process that holds nothing decodes every chunk without a collection between
    two (re-enabled after each, it scanned the lists decoded so far again and again),
    and the collector is back on after."""
    store = filled_store(tmp_path)
    prepared.forget()
    seen: list[bool] = []
    real_decode = prepared.decode_chunk

    def decode(data: bytes) -> Any:
        seen.append(gc.isenabled())
        return real_decode(data)

    monkeypatch.setattr(prepared, "decode_chunk", decode)
    assert gc.isenabled()
    prepared.load(store, recipe(SETTINGS))
    assert len(seen) == stored_chunks(store) and not any(seen) and gc.isenabled()


def test_a_change_encodes_stores_and_decodes_only_its_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One passage edited: the sync encodes and writes its week's chunk alone, and a
    page process that held the previous version decodes that chunk alone; the frames
    are still those of a full rebuild, and no chunk of the old version is left."""
    store = filled_store(tmp_path)
    prepared.forget()
    prepared.load(store, recipe(SETTINGS))  # a page process holding the version
    page_memory = (dict(prepared._DECODED), dict(prepared._CHUNKS))
    total = stored_chunks(store)
    before = manifests(store)["passages"]
    assert total > len(prepared.NAMES) + 2, "the base spans several chunks"

    encoded: list[tuple[str, int]] = []
    real_encode = prepared.encode_chunks

    def counting_encode(name: str, frame: pd.DataFrame, spans: Any) -> Any:
        encoded.append((name, len(spans)))
        return real_encode(name, frame, spans)

    monkeypatch.setattr(prepared, "encode_chunks", counting_encode)
    with store.transaction(bump_version=False) as conn:
        apply(store, conn, ("people", 0.5, 41))
        store.bump_version(conn)
        prepared.after_write(store, conn, recipe(SETTINGS))
    assert encoded == [("passages", 1)]
    after = manifests(store)["passages"]
    assert len(set(before.chunks) - set(after.chunks)) == 1
    names = [f"passages:{c.digest}" for c in after.chunks]
    assert set(store.derived(names)) == set(names)
    gone = [f"passages:{c.digest}" for c in set(before.chunks) - set(after.chunks)]
    assert store.derived(gone) == {}, "the replaced chunk is deleted"

    prepared._DECODED.clear()
    prepared._DECODED.update(page_memory[0])
    prepared._CHUNKS.clear()
    prepared._CHUNKS.update(page_memory[1])
    decoded = counted_decodes(monkeypatch)
    frames = prepared.load(store, recipe(SETTINGS))
    assert len(decoded) == 1
    assert_same(frames, rebuilt(store))
    # read from several chunks, its columns are still one piece each (not one per week)
    assert frames.passages["record_id"].array.__arrow_array__().num_chunks == 1


def test_chunks_are_stored_and_read_back_on_both_backends(store_location: str | Path) -> None:
    """SQLite and PostgreSQL: after a change, a process holding nothing reads the
    frames of a full rebuild from the manifests and chunks, and only the chunks the
    manifests list are left."""
    store = SnapshotStore(store_location)
    with store.transaction() as conn:
        store.replace_table(conn, "sites", base().sites)
        store.replace_table(conn, "passages", base().passages)
    prepared.load(store, recipe(SETTINGS))
    for edit in (("move", 0.2, 3), ("delete_passage", 0.7, 0), ("insert_passage", 0.4, 55)):
        with store.transaction(bump_version=False) as conn:
            apply(store, conn, edit)
            store.bump_version(conn)
            prepared.after_write(store, conn, recipe(SETTINGS))
    prepared.forget()
    assert_same(stored(store), rebuilt(store))
    listed = {f"{name}:{c.digest}" for name, m in manifests(store).items() for c in m.chunks}
    assert set(store.derived(listed)) == listed
    with store.transaction(bump_version=False) as conn:  # deletes nothing if none is left
        left = sum(store.prune_derived(conn, f"{n}:", listed) for n in prepared.NAMES)
    assert left == 0, "no chunk left over"


def _listed_by_pages(prebuild: prepared.Prebuild, passages: list[Record], page: int) -> None:
    """Pages added as a listing adds them, the thread caught up before each (as it is
    when the listing waits on the rate limit)."""
    for start in range(0, len(passages), page):
        prebuild.add(passages[start : start + page])
        for fold in prebuild._folds:
            fold.result()


def test_prebuild_leaves_a_small_batch_for_the_end_and_makes_the_frames_once_finished(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A first sync's thread normalises what is pending as soon as it is idle, so the
    commit does not wait for a large last batch; ``finish`` makes the frames in the
    thread, equal to a build from the records."""
    data = base()
    batches: list[int] = []
    real = prepared.normalise_passages

    def counted(records: Any, *args: Any) -> Any:
        batches.append(len(records))
        return real(records, *args)

    monkeypatch.setattr(prepared, "normalise_passages", counted)
    monkeypatch.setattr(prepared.Prebuild, "LEAST", 40)
    prebuild = prepared.Prebuild(data.sites, recipe(SETTINGS))
    _listed_by_pages(prebuild, data.passages, 10)
    ids = [str(r["id"]) for r in data.passages]
    prebuild.finish(ids)
    made = prebuild.ready(ids)

    assert len(batches) > 1 and batches[-1] <= prepared.Prebuild.LEAST
    assert sum(batches) == len(data.passages)
    assert made is not None
    full = prepared.build(data.sites, data.passages, recipe(SETTINGS))
    for name in prepared.NAMES:
        pd.testing.assert_frame_equal(made[0].as_dict()[name], full.as_dict()[name])


def test_prebuild_gives_no_frames_for_other_passages_than_it_was_given() -> None:
    data = base()
    prebuild = prepared.Prebuild(data.sites, recipe(SETTINGS))
    _listed_by_pages(prebuild, data.passages, 10)
    ids = [str(r["id"]) for r in data.passages]
    prebuild.finish(ids[:-1])
    assert prebuild.ready(ids[:-1]) is None
    again = prepared.Prebuild(data.sites, recipe(SETTINGS))
    _listed_by_pages(again, data.passages, 10)
    again.finish(ids)
    assert again.ready([*ids[1:], ids[0]]) is None  # not the ids it was finished with


def _decoded(folder: Path, blobs: dict[str, bytes]) -> prepared.Frames:
    """The frames ``blobs`` encode, written to a store and read back afresh; they hold
    the manifests and the chunks these list, no other."""
    listed = {
        chunks.blob_name(name, c.digest)
        for name in prepared.NAMES
        for c in chunks.Manifest.from_bytes(blobs[name]).chunks
    }
    assert set(blobs) == listed | set(prepared.NAMES)
    store = SnapshotStore(folder / "snapshot.sqlite")
    with store.transaction(bump_version=False) as conn:
        prepared._write(store, conn, 0, recipe(SETTINGS).key, blobs)
    prepared.forget()
    frames = prepared.read_stored(store, recipe(SETTINGS).key, 0)
    assert frames is not None
    return frames


def test_prebuild_adds_each_batch_to_the_frames_and_leaves_the_last_for_the_end(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The thread adds each batch to the frames while the listing goes on: once it ended,
    only the last batch is added and the chunks it changed encoded, not every chunk.
    The frames, and what their blobs decode to, are a build's."""
    data = base()
    listed = sorted(data.passages, key=lambda r: (r["createdTime"], r["id"]))  # Airtable's
    monkeypatch.setattr(prepared.Prebuild, "LEAST", 40)
    prebuild = prepared.Prebuild(data.sites, recipe(SETTINGS))
    _listed_by_pages(prebuild, listed, 10)
    encoded: list[int] = []
    real = prepared.encode_chunks

    def counted(name: str, frame: pd.DataFrame, spans: list[tuple[int, int]]) -> Any:
        encoded.append(sum(stop - start for start, stop in spans))
        return real(name, frame, spans)

    monkeypatch.setattr(prepared, "encode_chunks", counted)
    made = prebuild.ready([str(r["id"]) for r in listed])

    assert made is not None
    assert 0 < sum(encoded) < len(listed) // 2
    full = prepared.build(data.sites, data.passages, recipe(SETTINGS))
    assert_same(made[0], full)
    assert_same(_decoded(tmp_path, made[1]), full)


LISTED_AGAIN = st.tuples(  # which passage, where in the listing, its people count then
    st.floats(min_value=0, max_value=0.999),
    st.floats(min_value=0, max_value=1),
    st.integers(min_value=0, max_value=60),
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    page=st.integers(min_value=1, max_value=40),
    least=st.integers(min_value=1, max_value=120),
    again=st.lists(LISTED_AGAIN, max_size=4),
    restart=st.none() | st.floats(min_value=0, max_value=1),
)
@example(page=100, least=300, again=[], restart=None)  # one batch: the frames made at the end
@example(page=7, least=1, again=[(0.0, 1.0, 5), (0.5, 0.0, 9)], restart=0.5)
def test_a_prebuild_equals_a_build_of_what_the_listing_left(
    folder: Path,
    page: int,
    least: int,
    again: list[tuple[float, float, int]],
    restart: float | None,
) -> None:
    """Whatever the pages and the batches, with passages listed twice (edited in
    between, as a record changed during the listing) and a listing that started over
    part-way, the frames made while listing and what their blobs decode to are a build
    of the records the listing leaves in the store (the last of each id)."""
    data = base()
    listed = list(data.passages)
    for where, at, people in again:
        record = copy.deepcopy(data.passages[int(where * len(data.passages))])
        record["fields"]["Personnes"] = people
        listed.insert(int(at * len(listed)), record)
    with mock.patch.object(prepared.Prebuild, "LEAST", least):
        prebuild = prepared.Prebuild(data.sites, recipe(SETTINGS))
        try:
            if restart is not None:
                _listed_by_pages(prebuild, listed[: int(restart * len(listed))], page)
                prebuild.restart()
            _listed_by_pages(prebuild, listed, page)
            made = prebuild.ready([str(r["id"]) for r in listed])
        finally:
            prebuild.close()
    assert made is not None
    last = list({r["id"]: r for r in listed}.values())
    full = prepared.build(data.sites, last, recipe(SETTINGS))
    assert_same(made[0], full)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        assert_same(_decoded(Path(tmp), made[1]), full)


def test_the_frames_are_rebuilt_when_the_first_date_changes() -> None:
    """Which passages are quarantined for their date depends on ``[quality] first_date``:
    frames stored with another one are not read as current."""
    later = SETTINGS.with_values(quality__first_date="2026-11-01")
    assert recipe(later).key != recipe(SETTINGS).key
    assert recipe(later).normalise.first_date == dt.date(2026, 11, 1)
