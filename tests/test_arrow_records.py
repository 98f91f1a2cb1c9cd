"""The store's record texts read by Arrow give the frames and quarantine of the reference
path (records decoded one by one, ``normalise_passages``), on messy records."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from carto import arrow_records, normalise, schema
from carto.dataset import normalise_options
from carto.normalise import normalise_passages, normalise_raw_passages, normalise_sites
from carto.schema import FieldType
from carto.settings import Settings
from carto.store import SnapshotStore

OPTIONS = dataclasses.replace(
    normalise_options(Settings({}), now=pd.Timestamp("2026-11-26 12:00", tz="Europe/Paris")),
    base_id="appTEST",
)
MAPPING = OPTIONS.passages_map
SITE = {
    "id": "recSITE000000001",
    "createdTime": "2026-01-01T10:00:00.000Z",
    "fields": {"Nom": "Pont de Flandre", "Latitude": 48.8917, "Longitude": 2.3794},
}
SITES, _ = normalise_sites([SITE], OPTIONS)

# --- what a record's fields may hold ---------------------------------------------------

texts = st.one_of(
    st.text(max_size=10),
    st.sampled_from(
        ["env. 30", "30+", "48,88 2,36", "48.8841, 2.3601", "06 12 34 56 78", 'a "b" \\ c\nd']
    ),
)
scalars = st.one_of(
    st.none(),
    texts,
    st.booleans(),
    st.integers(min_value=-10, max_value=10_000),
    st.integers(min_value=2**53, max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
)
messy_values = st.one_of(
    scalars,
    st.lists(scalars, max_size=3),
    st.dictionaries(st.text(max_size=3), scalars, max_size=2),
)
DATES = ["2026-11-20T19:30:00.000Z", "2026-11-20", "20/11/2026", "2027-05-01T10:00:00.000Z"]


def typed(field: schema.Field) -> st.SearchStrategy[Any]:
    """A value of the type the field expects (what Arrow reads)."""
    if field.type is FieldType.NUMBER:
        if field.key in ("latitude", "longitude"):
            return st.floats(min_value=-5, max_value=60, allow_nan=False)
        return st.one_of(st.integers(min_value=-2, max_value=2_000), st.floats(0, 50))
    if field.type is FieldType.DATETIME:
        return st.sampled_from(DATES)
    if field.type is FieldType.SINGLE_SELECT:
        return st.one_of(st.sampled_from(field.options), texts)
    if field.type is FieldType.MULTI_SELECT:
        items = st.one_of(st.sampled_from(field.options), texts, st.none())
        return st.lists(items, max_size=3)
    if field.type is FieldType.LINKS:
        return st.lists(st.sampled_from([SITE["id"], "recUNKNOWN000001"]), max_size=2)
    return texts


FIELDS = {f.airtable: f for f in schema.PASSAGES.fields}
typed_fields = st.fixed_dictionaries(
    {}, optional={name: st.one_of(st.none(), typed(f)) for name, f in FIELDS.items()}
)
# a field of the mapping, one it does not know, one named like a canonical key
names = st.sampled_from([*FIELDS, "Inconnu", "people", "comment"])
messy_fields = st.dictionaries(names, messy_values, max_size=6)
fields = st.one_of(typed_fields, typed_fields, messy_fields, st.just({}))
created = st.one_of(
    st.sampled_from(["2026-11-20T19:40:00.000Z", "2026-11-21T08:00:00.000Z"]),
    st.none(),
    st.just("hier"),
)
records = st.lists(st.tuples(fields, created, st.booleans()), max_size=25).map(
    lambda rows: [
        {
            "id": f"recH{i:013d}",
            **({} if when is None else {"createdTime": when}),
            **({"fields": f} if with_fields or f else {}),
        }
        for i, (f, when, with_fields) in enumerate(rows)
    ]
)


def lines(recs: list[dict[str, Any]]) -> bytes:
    """The records' texts as the store keeps them, one per line."""
    return "\n".join(SnapshotStore.encode(r) for r in recs).encode("utf-8")


def by_id(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("record_id", kind="stable").reset_index(drop=True)


def both_ways(recs: list[dict[str, Any]]) -> tuple[int, int]:
    """Asserts that the Arrow path equals the reference path on those records; returns
    (records read by Arrow, records left to the reference path)."""
    # the reference reads them back from the store too (orjson: an integer beyond 64 bits
    # comes back a float)
    stored = [SnapshotStore.decode(SnapshotStore.encode(r)) for r in recs]
    expected_kept, expected_quarantine = normalise_passages(stored, SITES, OPTIONS)
    raw, rest = arrow_records.read(lines(recs), MAPPING)
    kept, quarantine = normalise_raw_passages(raw, SITES, OPTIONS)
    rest_kept, rest_quarantine = normalise_passages(
        [SnapshotStore.decode(text) for text in rest], SITES, OPTIONS
    )
    kept = pd.concat([kept, rest_kept], ignore_index=True) if len(rest_kept) else kept
    if len(rest_quarantine):
        quarantine = pd.concat([quarantine, rest_quarantine], ignore_index=True)
    pd.testing.assert_frame_equal(by_id(kept), by_id(expected_kept))
    pd.testing.assert_frame_equal(by_id(quarantine), by_id(expected_quarantine))
    return len(raw), len(rest)


CLEAN = {
    "id": "recCLEAN00000001",
    "createdTime": "2026-11-20T19:40:00.000Z",
    "fields": {
        "Date": "2026-11-20T19:30:00.000Z",
        "Association": "Utopia",  # an alias: a flag, read by Arrow all the same
        "Site": [SITE["id"]],
        "Personnes": 12,
        "Hommes seuls": 20,
        "Besoins": ["Eau", "Duvets"],
        "Commentaire": "appeler le 06 12 34 56 78",
    },
}


# no shrinking: a failing case of 25 records took minutes to shrink; it is printed whole
@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(records)
@example([CLEAN, {**CLEAN, "id": "recMESSY00000001", "fields": {"Personnes": "env. 30"}}])
def test_arrow_path_gives_the_reference_frames_and_quarantine(
    recs: list[dict[str, Any]],
) -> None:
    both_ways(recs)


def test_well_typed_records_are_read_by_arrow_and_messy_ones_are_not() -> None:
    """The fast path is taken for the records whose values have their fields' types."""
    messy = [
        {**CLEAN, "id": f"recMESSY{i:08d}", "fields": {**CLEAN["fields"], **f}}
        for i, f in enumerate(
            [
                {"Personnes": "env. 30"},  # a number as text
                {"Équipe": 3},  # a number for a text
                {"Besoins": "Eau"},  # a string for a list
                {"Site": [1]},  # a list of something else than strings
                {"Latitude": float("nan")},  # NaN, written as such
            ]
        )
    ]
    empty = [{"id": "recEMPTY00000001", "createdTime": CLEAN["createdTime"], "fields": {}}]
    no_fields = [{"id": "recNOFIELD000001", "createdTime": CLEAN["createdTime"]}]
    clean = [{**CLEAN, "id": f"recCLEAN{i:08d}"} for i in range(5)]
    # a field the mapping does not know, even named like a canonical key, is left out
    clean.append({**CLEAN, "id": "recOTHER00000001", "fields": {**CLEAN["fields"], "people": 3}})
    assert both_ways(clean + messy + empty + no_fields) == (6, 7)


def test_a_block_arrow_refuses_is_read_by_the_reference_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A record the text check misses and Arrow refuses sends its block, not the whole
    table, to the reference path."""
    monkeypatch.setattr(arrow_records, "BLOCK", 3)
    monkeypatch.setattr(arrow_records, "_pattern", lambda mapping: "^$")  # checks nothing
    clean = [{**CLEAN, "id": f"recCLEAN{i:08d}"} for i in range(9)]
    clean[4] = {**clean[4], "fields": {**CLEAN["fields"], "Personnes": "env. 30"}}
    assert both_ways(clean) == (6, 3)


def test_the_check_fails_when_the_arrow_path_mistypes(monkeypatch: pytest.MonkeyPatch) -> None:
    """``both_ways`` sees a fast path that reads a number as text."""
    real = arrow_records._column

    def numbers_as_text(values: Any, field_type: FieldType) -> pd.Series:
        column = real(values, field_type)
        return column.astype("str") if field_type is FieldType.NUMBER else column

    monkeypatch.setattr(arrow_records, "_column", numbers_as_text)
    with pytest.raises(AssertionError):
        both_ways([CLEAN])


def test_record_lines_are_every_stored_text(store_location: str | Path) -> None:
    """``record_lines_in``: each stored text once, one per line (a newline typed in a
    field is escaped by JSON), on SQLite and PostgreSQL."""
    store = SnapshotStore(store_location)
    recs = [
        {**CLEAN, "id": f"recLINE{i:09d}", "fields": {"Commentaire": f"l'été\nligne {i} 🏕"}}
        for i in range(3)
    ]
    with store.db.connect() as conn:
        assert store.record_lines_in(conn, "passages") == b""
    with store.transaction() as conn:
        store.replace_table(conn, "passages", recs)
        store.replace_table(conn, "sites", [SITE])
    with store.db.connect() as conn:
        data = store.record_lines_in(conn, "passages")
    assert sorted(data.decode("utf-8").split("\n")) == sorted(map(SnapshotStore.encode, recs))
    assert both_ways(recs) == (3, 0)


def test_a_record_is_normalised_alike_whatever_the_records_beside_it() -> None:
    """The split between the two paths relies on it: a number where a date is expected
    is quoted as written, not as pandas' float once another record lacks the field."""
    odd = {"id": "recODD0000000001", "createdTime": CLEAN["createdTime"], "fields": {"Date": 0}}
    alone = normalise_passages([odd], SITES, OPTIONS)[1]
    no_date = {**odd, "id": "recNODATE0000001", "fields": {"Association": "Utopia 56"}}
    beside = normalise_passages([odd, no_date], SITES, OPTIONS)[1].set_index("record_id")
    assert alone["reason_params"].iloc[0] == [{"value": "0"}, {}]
    assert beside.loc[odd["id"], "reason_params"] == alone["reason_params"].iloc[0]


def test_a_field_named_like_a_canonical_key_is_not_that_field() -> None:
    """A field the mapping does not know is left out, even named "comment" beside a
    record with « Commentaire » (two columns of one name stopped the rebuild)."""
    other = {**CLEAN, "id": "recOTHER00000001", "fields": {**CLEAN["fields"], "comment": "x"}}
    kept, _ = normalise_passages([other, CLEAN], SITES, OPTIONS)
    assert kept["comment"].tolist() == ["appeler le [téléphone]"] * 2


def _raws_equal(a: arrow_records.Raw, b: arrow_records.Raw) -> None:
    pd.testing.assert_series_equal(a.ids, b.ids)
    pd.testing.assert_series_equal(a.created, b.created)
    pd.testing.assert_frame_equal(a.fields, b.fields)
    assert a.empty.tolist() == b.empty.tolist()


def test_a_block_read_alone_gives_what_arrows_pool_reads() -> None:
    """``read_ahead``'s readers parse a block without Arrow's pool of threads, in one
    piece (over 1 MiB: the pool parses it in several): the same records read, the same
    texts left to the reference path, on messy records among clean ones."""
    odd = [
        {"Personnes": "env. 30"},  # a number as text
        {"Besoins": "Eau"},  # a string for a list
        {"Site": [1]},  # a list of something else than strings
        # read by Arrow: fields the mapping does not know, a lone surrogate (U+FFFD)
        {"Inconnu": {"a": [1, None]}, "people": 3},
        {"Commentaire": "\ud800 demi-paire"},
    ]
    recs = [
        {**CLEAN, "id": f"recBIG{i:010d}", "fields": {**CLEAN["fields"], **odd[i % 50]}}
        if i % 50 < len(odd)
        else {**CLEAN, "id": f"recBIG{i:010d}"}
        for i in range(9000)
    ]
    data = lines(recs)
    assert len(data) > 2 * 2**20, "several blocks of Arrow's pool"
    pooled, pooled_rest = arrow_records.read(data, MAPPING)
    alone, alone_rest = arrow_records.read(data, MAPPING, threads=False)
    assert alone_rest == pooled_rest and len(alone_rest) == 3 * 9000 // 50
    _raws_equal(alone, pooled)
    assert both_ways(recs[:300]) == (300 - 3 * 6, 3 * 6)


def test_read_ahead_gives_the_blocks_in_order_and_reads_few_ahead(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Blocks come in the order of the lines, each as ``read`` alone gives it (the first
    smaller, read beside the second), and the readers hold at most ``READERS`` blocks
    beyond the one the caller normalises."""
    monkeypatch.setattr(arrow_records, "AHEAD_LINES", 10)
    monkeypatch.setattr(arrow_records, "SPLIT_LINES", 20)
    recs = [{**CLEAN, "id": f"recAHEAD{i:08d}"} for i in range(95)]
    data = lines(recs)
    started: list[int] = []
    real, read_lines = arrow_records.read, arrow_records._read_lines

    def counted(*args: Any, **kwargs: Any) -> Any:
        started.append(len(started))
        return read_lines(*args, **kwargs)

    monkeypatch.setattr(arrow_records, "_read_lines", counted)
    got = []
    for n, (raw, rest) in enumerate(arrow_records.read_ahead(data, MAPPING)):
        assert len(started) <= n + 1 + arrow_records.READERS
        got.append((raw, rest))
    # the first: FIRST_SHARE of the lines of the first READERS blocks (2 × 10)
    assert [len(raw) for raw, _ in got] == [8, *[10] * 8, 7]
    ids = [i for raw, _ in got for i in raw.ids.tolist()]
    assert ids == [r["id"] for r in recs]
    block = b"\n".join(data.split(b"\n")[8:18]) + b"\n"
    _raws_equal(got[1][0], real(block, MAPPING)[0])


item_lists = st.lists(st.one_of(st.none(), st.lists(st.one_of(st.none(), st.text(max_size=2)))))


@settings(max_examples=150, deadline=None)
@given(item_lists, st.integers(min_value=0, max_value=70))
def test_lists_from_arrow_are_the_rows_lists_each_distinct_one_made_once(
    rows: list[list[str | None] | None], many: int
) -> None:
    """``normalise._python_lists`` gives each row its items (a missing list: empty);
    equal lists are one object when one number per list fits (few options, short
    lists), and still equal, each its own, when it does not (``many`` distinct items
    in one long list: beyond 63 bits)."""
    rows = [*rows, [f"option {i}" for i in range(many)]]
    values = pa.array(rows, pa.list_(pa.string()))
    got = normalise._python_lists(values)
    assert got == [r or [] for r in rows]
    assert all(type(cell) is list for cell in got)
    distinct = len({item for r in rows for item in r or []})
    if max(len(r or []) for r in rows) * math.log2(distinct + 2) < 62:
        shared = {tuple(cell): id(cell) for cell in got}
        assert all(shared[tuple(cell)] == id(cell) for cell in got)


def test_few_lines_are_read_as_one_block(monkeypatch: pytest.MonkeyPatch) -> None:
    """Below ``SPLIT_LINES`` lines, ``read_ahead`` reads them all at once (a second
    normalisation would cost more than the read it overlaps); from it, in blocks."""
    recs = [{**CLEAN, "id": f"recFEW{i:010d}"} for i in range(30)]
    data = lines(recs)
    monkeypatch.setattr(arrow_records, "SPLIT_LINES", 31)
    assert [len(raw) for raw, _ in arrow_records.read_ahead(data, MAPPING)] == [30]
    monkeypatch.setattr(arrow_records, "SPLIT_LINES", 30)
    assert [len(raw) for raw, _ in arrow_records.read_ahead(data, MAPPING)] == [12, 18]


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.binary(max_size=40).map(lambda b: b.replace(b"\r", b"\n")),
    piece=st.integers(1, 9),
)
def test_lines_are_found_piece_by_piece_as_in_one_scan(
    data: bytes, piece: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The newlines are looked for by pieces of the text (no temporary of its size):
    each line starts after a newline, the last ends at the end whether or not a newline
    ends it, wherever the pieces cut."""
    monkeypatch.setattr(arrow_records, "_SCAN_BYTES", piece)
    starts = [0] + [i + 1 for i, byte in enumerate(data) if byte == ord("\n")]
    expected = starts if starts[-1] == len(data) else [*starts, len(data)]
    assert arrow_records._line_offsets(memoryview(data)).tolist() == expected


def test_the_last_record_needs_no_newline() -> None:
    """The store's texts end without a newline: the last record is read whole, by Arrow
    or, when odd, given back to the caller whole; as with a newline after it."""
    odd = {**CLEAN, "id": "recODDLAST000001", "fields": {**CLEAN["fields"], "Personnes": "30"}}
    for last in (CLEAN, odd):
        recs = [{**CLEAN, "id": "recFIRST00000001"}, last]
        data = lines(recs)
        assert not data.endswith(b"\n")
        raw, rest = arrow_records.read(data, MAPPING)
        with_newline, rest_newline = arrow_records.read(data + b"\n", MAPPING)
        _raws_equal(raw, with_newline)
        assert rest == rest_newline
        assert [*raw.ids.tolist(), *(SnapshotStore.decode(t)["id"] for t in rest)] == [
            r["id"] for r in recs
        ]
        if last is odd:
            assert rest == [SnapshotStore.encode(odd)]
