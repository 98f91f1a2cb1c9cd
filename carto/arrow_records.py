"""The store's record texts → normalisation's input (``normalise.Raw``), read by Arrow.

A full rebuild reads every record: one orjson parse and one dict per record, then a
frame made from the dicts, cost more than the rest of normalisation at 100,000 records.
Arrow's JSON reader parses the texts, one per line, in C++ straight into typed columns,
with the schema of the field mapping: numbers as doubles, text, dates and single selects
as strings, multiple selects and links as lists of strings.

Airtable data is messy, and normalisation must see what the records hold. Arrow never
converts a value to another type: it refuses the whole read. So the records it may
refuse are found first and left to the caller, who reads them as records (``Raw.of``):
a record whose text shows a value of another type for a field of the mapping (a number
written as text, a string where a list is expected, NaN…), a field named like a canonical
key (the reference path would read it as that key), and a record with none of the
mapping's fields (empty, or no ``fields``: the reference path tells those apart). A block
that Arrow still refuses is left to the caller whole. Both paths give the same frames
(tests/test_arrow_records.py).
"""

from __future__ import annotations

import itertools
import json
import re
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from carto.normalise import Raw
from carto.schema import FieldMapping, FieldType

# Records per read when the whole read is refused: a refused block is read the slow way.
BLOCK: Final = 4096
# Records per block read ahead of normalisation (``read_ahead``), at most: the memory of
# the blocks in flight. Fewer blocks, less CPU: normalising one makes a few dozen pandas
# calls whatever its rows, and on 2 cores the readers and normalisation share them.
AHEAD_LINES: Final = 100_000
# The first block's share of the lines the readers start on at once (``READERS`` blocks):
# normalisation waits for the first; the next is read while it is normalised. Reading
# passages takes about twice the CPU time of normalising them (``benchmarks.rebuild_stages``):
# 0.4 lets the second block's read end about when the first is normalised.
FIRST_SHARE: Final = 0.4
# Records below which all are read as one block: a second normalisation's fixed cost
# would outweigh the part of the read it overlaps.
SPLIT_LINES: Final = 20_000
# Arrow's default size of a block of JSON parsed at once (``ReadOptions.block_size``).
_MIN_BLOCK_BYTES: Final = 1 << 20
# Threads reading blocks ahead: one per core of the machine the benchmark runs on (2).
READERS: Final = 2

_NUMBER = (FieldType.NUMBER,)
_LIST = (FieldType.MULTI_SELECT, FieldType.LINKS)


def _arrow_type(field_type: FieldType) -> pa.DataType:
    if field_type in _NUMBER:
        return pa.float64()
    if field_type in _LIST:
        return pa.list_(pa.string())
    return pa.string()


def _schema(mapping: FieldMapping) -> pa.Schema:
    fields = [pa.field(mapping.names[f.key], _arrow_type(f.type)) for f in mapping.table.fields]
    return pa.schema(
        [("id", pa.string()), ("createdTime", pa.string()), ("fields", pa.struct(fields))]
    )


def _keys(mapping: FieldMapping, types: Sequence[FieldType] | None) -> str:
    """The JSON keys (as the store writes them) of the fields of those types."""
    names = [mapping.names[f.key] for f in mapping.table.fields if types is None or f.type in types]
    return "|".join(_escape(json.dumps(n, ensure_ascii=False)) for n in names)


def _escape(text: str) -> str:
    """A literal in an RE2 pattern."""
    return re.sub(r"([\\.^$|?*+()\[\]{}-])", r"\\\1", text)


def _pattern(mapping: FieldMapping) -> str:
    """What marks a record Arrow may refuse or the reference path reads otherwise (RE2
    syntax, for ``pyarrow.compute``). Inside a JSON string a quote is escaped, so
    ``"name":`` is always a key; the store writes JSON without spaces."""
    strings = [FieldType.TEXT, FieldType.LONG_TEXT, FieldType.DATETIME, FieldType.SINGLE_SELECT]
    string_item = r'"(?:[^"\\]|\\.)*"'
    parts = [
        # a number starts with a digit or a minus sign, then a digit (not NaN, Infinity)
        rf"(?:{_keys(mapping, _NUMBER)}):(?:[^-0-9n]|-[^0-9])",
        rf"(?:{_keys(mapping, strings)}):[^\"n]",
        rf"(?:{_keys(mapping, _LIST)}):[^\[n]",
        # a list holding something else than strings and nulls
        rf"(?:{_keys(mapping, _LIST)}):\[(?:{string_item}|null|,)*[^\]\"n,]",
    ]
    return "|".join(parts)


# Bytes scanned for newlines at once (``_line_offsets``): a whole text's scan made a
# temporary array of its size, whose fresh pages the kernel filled at each rebuild.
_SCAN_BYTES: Final = 1 << 20


def _line_offsets(data: memoryview) -> np.ndarray:
    """Where each line of ``data`` starts, then where the last ends (``len(data)``): a
    line ends after a newline, or at the end of the text."""
    raw = np.frombuffer(data, dtype=np.uint8)
    ends = [
        np.flatnonzero(raw[at : at + _SCAN_BYTES] == ord("\n")) + (at + 1)
        for at in range(0, len(raw), _SCAN_BYTES)
    ]
    offsets = np.concatenate([[0], *ends]).astype(np.int64)
    if offsets[-1] != len(raw):  # the last line without its newline
        offsets = np.append(offsets, len(raw))
    return offsets


def _lines(data: memoryview, offsets: np.ndarray) -> pa.Array:
    """The lines of ``data`` (``offsets``: ``_line_offsets``), each with its newline, as
    strings over the same bytes (no copy)."""
    return pa.LargeStringArray.from_buffers(
        len(offsets) - 1, pa.py_buffer(offsets), pa.py_buffer(data)
    )


def _joined(data: memoryview, offsets: np.ndarray, rows: np.ndarray) -> bytes:
    """Those lines (rows in order) as one buffer, copied by runs of consecutive rows."""
    if not len(rows):
        return b""
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1
    starts = rows[np.concatenate([[0], breaks])]
    stops = rows[np.concatenate([breaks - 1, [len(rows) - 1]])] + 1
    return b"".join(data[offsets[a] : offsets[b]] for a, b in zip(starts, stops, strict=True))


def _read(data: bytes, schema: pa.Schema, threads: bool = True) -> pa.Table | None:
    """The lines of ``data`` as one table, or None when Arrow refuses them; with
    ``threads``, parsed by Arrow's pool of threads."""
    options = pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    # read alone: in one block, so that the columns come in one chunk each (several
    # chunks were concatenated, a copy of every column, to flatten the records' fields)
    reading = pa_json.ReadOptions(
        use_threads=threads, block_size=max(len(data), _MIN_BLOCK_BYTES) if not threads else None
    )
    try:
        return pa_json.read_json(pa.BufferReader(data), read_options=reading, parse_options=options)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _column(values: pa.Array, field_type: FieldType) -> pd.Series:
    """One field's column as the reference path's frame holds it (a column without any
    value is all NaN, as ``DataFrame.reindex`` adds a missing one)."""
    if values.null_count == len(values):
        return pd.Series(np.full(len(values), np.nan))
    if field_type in _NUMBER:
        return pd.Series(values.to_numpy(zero_copy_only=False))
    if field_type in _LIST:
        # kept in Arrow: normalisation checks the items there and makes the Python
        # lists once (``normalise.arrow_lists``)
        return pd.Series(pd.arrays.ArrowExtensionArray(values))
    return pd.Series(values.to_pandas())


def read(
    data: bytes | memoryview, mapping: FieldMapping, threads: bool = True
) -> tuple[Raw, list[str]]:
    """(the records Arrow read, the texts of those left to the caller) of the store's
    record texts joined by newlines (``SnapshotStore.record_lines_in``); with
    ``threads``, the JSON parsed by Arrow's pool of threads, else in the calling one."""
    view = memoryview(data)
    return _read_lines(view, _line_offsets(view), mapping, threads)


def _read_lines(
    view: memoryview, offsets: np.ndarray, mapping: FieldMapping, threads: bool
) -> tuple[Raw, list[str]]:
    """``read`` of ``view``, its lines at ``offsets`` (``_line_offsets``)."""
    schema = _schema(mapping)
    if len(offsets) < 2:
        return _raw(schema.empty_table(), mapping), []
    lines = _lines(view, offsets)
    suspect = pc.match_substring_regex(lines, _pattern(mapping))
    suspect = suspect.to_numpy(zero_copy_only=False)
    rest = np.flatnonzero(suspect)
    good = np.flatnonzero(~suspect)
    whole = _read(_joined(view, offsets, good), schema, threads) if len(good) else None
    if whole is not None or not len(good):
        read_rows, tables = [good], [whole or schema.empty_table()]
    else:  # a record Arrow refuses: read by blocks, each refused block the slow way
        read_rows, tables, refused = [], [], [rest]
        for start in range(0, len(good), BLOCK):
            block = good[start : start + BLOCK]
            part = _read(_joined(view, offsets, block), schema, threads)
            if part is None:
                refused.append(block)
            else:
                read_rows.append(block)
                tables.append(part)
        rest = np.concatenate(refused)
    table = pa.concat_tables(tables)
    # a record with none of the mapping's fields: the reference path tells apart those
    # without fields (quarantined) and those with other fields only
    nothing = np.ones(len(table), dtype=bool)
    for child in table.column("fields").combine_chunks().flatten():
        nothing &= pc.is_null(child).to_numpy(zero_copy_only=False)
    nothing |= pc.is_null(table.column("id")).to_numpy(zero_copy_only=False)
    if nothing.any():
        rest = np.concatenate([rest, np.concatenate(read_rows)[nothing]])
        table = table.filter(pa.array(~nothing))
    texts = [_text(view, offsets, i) for i in np.sort(rest).tolist()]
    return _raw(table, mapping), texts


def _text(view: memoryview, offsets: np.ndarray, row: int) -> str:
    """The text of one line, without its newline."""
    start, stop = int(offsets[row]), int(offsets[row + 1])
    if view[stop - 1] == ord("\n"):
        stop -= 1
    return bytes(view[start:stop]).decode("utf-8")


def read_ahead(data: bytes, mapping: FieldMapping) -> Iterator[tuple[Raw, list[str]]]:
    """``read`` of consecutive blocks of lines of ``data``, in order, each read by one of
    ``READERS`` threads while the caller normalises the blocks before: the first block
    ``FIRST_SHARE`` of the lines of the first ``READERS`` blocks, the others of
    ``AHEAD_LINES`` lines (the last fewer); one block below ``SPLIT_LINES`` lines.
    Arrow's work (the pattern's search, the JSON parse) runs outside the interpreter's
    lock; each block is parsed by its reader alone: Arrow's own pool of threads beside
    the readers and the caller made more threads than cores, and normalisation, which
    waits for nothing, waited for a core (its wall clock well above its CPU time in a
    profile at 100k). Normalisation is row by row: blocks give the rows the whole would."""
    view = memoryview(data)
    offsets = _line_offsets(view)
    lines = len(offsets) - 1
    if lines < SPLIT_LINES:
        yield _read_lines(view, offsets, mapping, threads=True)
        return
    first = max(1, int(FIRST_SHARE * min(lines, READERS * AHEAD_LINES)))
    cuts = [0, *range(first, lines, AHEAD_LINES), lines]  # in lines
    spans = list(itertools.pairwise(cuts))
    if len(spans) < 2:
        yield _read_lines(view, offsets, mapping, threads=True)
        return

    def block(start: int, stop: int) -> tuple[Raw, list[str]]:
        # the block's bytes and line offsets as views of the whole's: no copy
        at = offsets[start : stop + 1]
        part = view[int(at[0]) : int(at[-1])]
        return _read_lines(part, at - at[0], mapping, threads=False)

    with ThreadPoolExecutor(max_workers=READERS, thread_name_prefix="arrow-read") as pool:
        # at most READERS blocks read ahead of the one normalised: bounded memory
        pending = deque(pool.submit(block, *span) for span in spans[:READERS])
        for span in spans[READERS:]:
            done = pending.popleft()
            pending.append(pool.submit(block, *span))
            yield done.result()
        while pending:
            yield pending.popleft().result()


def _raw(table: pa.Table, mapping: FieldMapping) -> Raw:
    children = table.column("fields").combine_chunks().flatten()
    fields = pd.DataFrame(
        {
            f.key: _column(child, f.type)
            for f, child in zip(mapping.table.fields, children, strict=True)
        },
        index=pd.RangeIndex(len(table)),
        copy=False,  # each column its own block: the numbers were copied into one
    )
    return Raw(
        ids=pd.Series(table.column("id").to_pandas(), dtype="str"),
        created=pd.Series(table.column("createdTime").to_pandas(), dtype="str"),
        fields=fields,
        empty=np.zeros(len(table), dtype=bool),
    )
