"""Analysis-ready frames kept in the store: normalised once, when the records change.

The raw records stay the source of truth (carto/store.py). From them this module makes
the three frames every page starts from (docs/architecture.md §2): ``passages`` (normalised
and grouped into camps: ``camp_id``, ``is_duplicate``), ``sites`` and ``quarantine``, and
keeps them in the store (``SnapshotStore.write_derived``) with the version of the records
they were built from and the fingerprint of the options they were built with.

- **At sync** (``after_write``, called by carto/sync.py inside the transaction that wrote
  the records): only what changed is normalised again and merged into the stored
  frames. The usual edit, passages already grouped changed in nothing the camp
  grouping and the duplicate marks read (a count, needs, a comment), is set in place
  (``edited_in_place``): their rows are replaced where they are and nothing else is
  compared or regrouped, so its cost follows the change, not the base. Otherwise
  (``update``: a passage added, deleted, moved in time or space, linked to another Site,
  in or out of the quarantine, a Site changed): a written or deleted Site record is
  normalised alone; a written or deleted passage too; when a Site changed, the passages
  linked to it and every quarantined passage (a Site can give them a position) are
  normalised again. Their rows are taken out of the stored passages and the new ones
  placed among the others, one copy of each column (``_spliced``), and the camps and
  duplicate marks are redone from the stored ones where the change reaches
  (carto/analytics/regroup.py: the passages without a Site near a camp the change
  touched, from the date it reaches; the duplicate marks of the camps that gained,
  lost or changed a passage; tests/test_camps_incremental.py: the same as from
  scratch). A transaction whose changes are not known (a table replaced, frames
  missing, older than the transaction, or built with other options) rebuilds every
  frame from the records instead: from those the caller holds when it listed every
  table in full (``current``), normalised while they were listed for a first sync
  (``Prebuild``).
- **At page load** (``load``): the stored frames of the current version are read; when
  they are missing or stale (a store written before this module, the demo, options
  changed) they are built once from the records and stored.

A full rebuild and the incremental path give the same frames (tests/test_prepared.py
checks it with random edits, insertions, deletions, moves and Site changes): rows are in
one canonical order, by creation time then record id (quarantine: sites first),
whatever order records were written in.

The one part of normalisation that depends on the clock, the flag on a passage dated in
the future (``flag.future_date``), is left out of the stored frames and added when they
are loaded (``with_future_flags``): a frame stored yesterday must not keep a passage
flagged once its time has come.

Storage in chunks (carto/chunks.py): each frame is stored as a manifest and one blob per
creation week (in pieces of ``chunks.ROWS`` rows), named by the digest of its bytes. A
refresh encodes and writes only the chunks whose rows changed (set in place: those of
the rows replaced; else ``_changed_pieces``: in each week where rows were added or
removed, the pieces from the first place the rows differ (a passage of tonight: the last
piece), and those of the passages whose camp or duplicate mark moved), and deletes the
chunks no manifest lists any more. Each process keeps the last frame it encoded or
decoded under each name with its manifest, and the chunks of that manifest
(``_DECODED``, ``_CHUNKS``): the same manifest is read without decoding; another decodes
only the chunks the process does not hold.

Serialisation of a chunk: Arrow IPC (pyarrow; the stream compressed whole with zstd)
for the typed columns, and the list columns (needs, referrals, flag and reason codes
and parameters) as one JSON array per column, encoded (by orjson, the bytes ``json``
writes) and decoded in one call each (per-cell JSON or Parquet lists of structs cost
more and do not give back the same Python lists and dicts). The chunks of a frame are
converted from and to pandas together: that conversion's fixed cost (several
milliseconds) is paid once per frame, not once per chunk.
"""

from __future__ import annotations

import bisect
import gc
import hashlib
import itertools
import json
import logging
import struct
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from carto import arrow_records, chunks
from carto.analytics import lineage
from carto.analytics.camps import flag_duplicates, with_camps
from carto.analytics.frames import sort_order
from carto.analytics.regroup import regroup
from carto.normalise import (
    NormaliseOptions,
    normalise,
    normalise_passages,
    normalise_raw_passages,
    normalise_sites,
)
from carto.options import AnalysisOptions
from carto.store import Record, SnapshotStore

log = logging.getLogger(__name__)

# Bump when what the frames hold or how they are encoded changes: stored frames of
# another format are rebuilt.
FORMAT = 3
NAMES = ("passages", "sites", "quarantine")
LIST_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "passages": ("needs", "referrals", "flag_codes", "flag_params"),
    "sites": ("flag_codes", "flag_params"),
    "quarantine": ("reason_codes", "reason_params"),
}
FUTURE_FLAG = "flag.future_date"
FUTURE_MARGIN = pd.Timedelta(minutes=10)  # as carto/normalise.py's _parse_dates
_TABLE_ORDER = {"sites": 0, "passages": 1}


@dataclass(frozen=True)
class Frames:
    """The analysis-ready frames of one version of the records (no future-date flags)."""

    passages: pd.DataFrame
    sites: pd.DataFrame
    quarantine: pd.DataFrame
    version: int

    def as_dict(self) -> dict[str, pd.DataFrame]:
        return {"passages": self.passages, "sites": self.sites, "quarantine": self.quarantine}


@dataclass(frozen=True)
class Recipe:
    """What the frames are built with: normalisation options (without the clock) and
    the camp grouping's radius and gap."""

    normalise: NormaliseOptions
    radius_m: float
    gap_days: int

    @classmethod
    def of(cls, options: NormaliseOptions, analysis: AnalysisOptions) -> Recipe:
        return cls(replace(options, now=None), analysis.camp_radius_m, analysis.active_days)

    @property
    def key(self) -> str:
        """Fingerprint of everything the frames depend on besides the records."""
        o = self.normalise
        parts = {
            "format": FORMAT,
            "passages_map": sorted(o.passages_map.names.items()),
            "sites_map": sorted(o.sites_map.names.items()),
            "timezone": o.timezone,
            "max_count": o.max_count,
            "area_bounds": list(o.area_bounds),
            "first_date": o.first_date.isoformat(),
            "base_id": o.base_id,
            "table_names": sorted(o.table_names.items()),
            "radius_m": self.radius_m,
            "gap_days": self.gap_days,
        }
        text = json.dumps(parts, sort_keys=True, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


# ------------------------------------------------------------------------------ build


def _ordered(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows by creation time, then record id (the canonical order)."""
    return frame.take(sort_order(frame, ["created_time", "record_id"])).reset_index(drop=True)


def _ordered_quarantine(frame: pd.DataFrame) -> pd.DataFrame:
    """Sites first, then passages, each in the canonical order."""
    table = frame["table"].map(_TABLE_ORDER).astype("int64")
    order = (
        frame.assign(_table=table)
        .sort_values(["_table", "created_time", "record_id"], na_position="last", kind="stable")
        .index
    )
    return frame.loc[order].reset_index(drop=True)


def _camps(passages: pd.DataFrame, sites: pd.DataFrame, recipe: Recipe) -> pd.DataFrame:
    return with_camps(passages, sites, radius_m=recipe.radius_m, gap_days=recipe.gap_days)


def build(
    sites_records: Iterable[Record], passages_records: Iterable[Record], recipe: Recipe
) -> Frames:
    """Every frame from the records (version 0: the caller says which version)."""
    data = normalise(list(sites_records), list(passages_records), recipe.normalise)
    return _frames_from(data.sites, data.passages, data.quarantine, recipe)


def build_from_lines(
    sites_records: Iterable[Record], passages_lines: bytes, recipe: Recipe
) -> Frames:
    """``build`` of the passages as the store keeps them, their texts one per line
    (``SnapshotStore.record_lines_in``): read by Arrow, but for the records it may not
    read as the records say (``arrow_records``), normalised from their dicts."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sites") as pool:
        sites_done = pool.submit(normalise_sites, list(sites_records), recipe.normalise)
        return _frames_from(*_normalised_lines(sites_done, passages_lines, recipe), recipe)


_Rows = tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]  # sites, passages, quarantine


def _normalised_lines(
    sites_done: Future[tuple[pd.DataFrame, pd.DataFrame]], passages_lines: bytes, recipe: Recipe
) -> _Rows:
    """The Sites (normalised by ``sites_done``, in a thread) and the passages of
    ``passages_lines`` normalised, in any order, with the quarantine of both."""
    options = recipe.normalise
    kept, quarantined, rest = [], [], []
    for raw, texts in arrow_records.read_ahead(passages_lines, options.passages_map):
        passages, quarantine = normalise_raw_passages(raw, sites_done.result()[0], options)
        kept.append(passages)
        quarantined.append(quarantine)
        rest += texts
    sites, q_sites = sites_done.result()
    if rest:
        records = [SnapshotStore.decode(text) for text in rest]
        passages, quarantine = normalise_passages(records, sites, options)
        kept.append(passages)
        quarantined.append(quarantine)
    quarantine = pd.concat([q_sites, _concat(*quarantined)], ignore_index=True)
    passages = _concat(*kept)
    kept.clear()  # the blocks' rows, copied: not kept while the frames are made
    return sites, passages, quarantine


def _frames_from(
    sites: pd.DataFrame, passages: pd.DataFrame, quarantine: pd.DataFrame, recipe: Recipe
) -> Frames:
    """The frames from normalised rows in any order: canonical order, camps."""
    sites = _ordered(sites)
    passages = _camps(_ordered(passages), sites, recipe)
    return Frames(passages, sites, _ordered_quarantine(quarantine), 0)


# A first listing's frames and their encoding (None: the caller builds them).
Ready = tuple[Frames, dict[str, bytes]] | None


class Prebuild:
    """The frames of a first full listing, made while it is listed (the listing waits on
    Airtable's rate limit most of the time): in a thread, batch by batch of pages, the
    passages are added to the frames as a refresh adds them (``refreshed``: placed among
    the rows, the camps redone around them, only the chunks they change encoded; the
    first batch, with the Sites, makes them). Once the listing ended (``finish``) only
    the last batch is left to add, while the commit writes the records. A passage listed
    again replaces its row, as the writes keep its last listing; a listing that starts
    over starts the frames over."""

    BATCH = 2000  # most records one batch adds (the thread is busy: the listing runs ahead)
    # The thread takes what is pending as soon as it is idle and this many records wait:
    # the batch left for the end of the listing stays small. Each batch has a cost of
    # its own besides its records (the camps redone around it, the chunks it changes
    # and every manifest encoded): fewer, larger batches take the thread less time
    # during the listing, whose thread competes with it for the interpreter.
    LEAST = 1000

    def __init__(self, sites_records: Sequence[Record], recipe: Recipe) -> None:
        self.recipe = recipe
        self._sites = list(sites_records)
        self._pending: list[Record] = []
        self._ids: list[str] = []
        self._folds: list[Future[None]] = []
        self._made: Future[Ready] | None = None
        # the frames so far and every blob encoded for them: the thread's only
        self._frames: Frames | None = None
        self._blobs: dict[str, bytes] = {}
        self._failed = False
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prebuild")

    def add(self, records: Sequence[Record]) -> None:
        """Passages just listed, in listing order."""
        self._pending.extend(records)
        self._ids.extend(str(r["id"]) for r in records)
        idle = not self._folds or self._folds[-1].done()
        if len(self._pending) >= self.BATCH or (idle and len(self._pending) >= self.LEAST):
            self._submit()

    def restart(self) -> None:
        """The listing starts over (its offset expired): forget its passages."""
        self._pool.shutdown(wait=True)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prebuild")
        self._pending, self._folds, self._ids, self._made = [], [], [], None
        self._frames, self._blobs, self._failed = None, {}, False

    def _submit(self) -> None:
        batch, self._pending = self._pending, []
        self._folds.append(self._pool.submit(self._fold, batch))

    def _fold(self, batch: list[Record]) -> None:
        """In the thread: the passages of ``batch`` (the last of an id listed twice)
        added to the frames, or the frames made from them and the Sites."""
        if self._failed:
            return  # a batch before failed: ``_final`` gives no frames
        try:
            self._add(batch)
        except BaseException:
            self._failed = True
            raise

    def _add(self, batch: list[Record]) -> None:
        latest = {str(r["id"]): r for r in batch}
        if self._frames is None:
            options = self.recipe.normalise
            sites, q_sites = normalise_sites(self._sites, options)
            kept, quarantined = normalise_passages(list(latest.values()), sites, options)
            quarantine = pd.concat([q_sites, quarantined], ignore_index=True)
            frames = _frames_from(sites, kept, quarantine, self.recipe)
            blobs = _blobs(frames)
        else:
            changed = {"passages": set(latest)}
            records = {"sites": {}, "passages": latest}
            frames, touched = refreshed(self._frames, changed, records, self.recipe)
            manifests = {n: chunks.Manifest.from_bytes(self._blobs[n]) for n in NAMES}
            blobs = _blobs(frames, manifests, touched)
        self._frames = frames
        self._blobs.update(blobs)

    def finish(self, passages_ids: Iterable[str]) -> None:
        """The listing ended with the passages ``passages_ids``: the thread adds the last
        batch from here (once; later calls change nothing)."""
        if self._made is not None:
            return
        if self._pending:
            self._submit()
        usable = list(passages_ids) == self._ids
        self._made = self._pool.submit(self._final, usable)

    def _final(self, usable: bool) -> Ready:
        """In the thread, after every batch: the frames and the blobs their manifests
        list (those of chunks a later batch changed left out); None when a batch
        failed, so that the commit builds the frames from the records rather than the
        sync failing on what is only a head start (a real fault in the records fails
        that build too, and says so)."""
        for fold in self._folds:
            error = fold.exception()  # done already: the one thread ran them first
            if error is not None:
                log.warning(
                    "frames made while listing failed; built from the records", exc_info=error
                )
                return None
        if not usable or self._frames is None:
            return None
        listed = {
            chunks.blob_name(name, c.digest)
            for name in NAMES
            for c in chunks.Manifest.from_bytes(self._blobs[name]).chunks
        }
        blobs = {k: v for k, v in self._blobs.items() if k in NAMES or k in listed}
        return self._frames, blobs

    def ready(self, passages_ids: Iterable[str]) -> Ready:
        """The frames and their encoding, when the passages added are ``passages_ids``
        (as ``finish`` was told if it was called); else None (the caller builds them
        from the records)."""
        ids = list(passages_ids)
        self.finish(ids)
        assert self._made is not None
        made = self._made.result()
        self._pool.shutdown(wait=True)
        return made if made is not None and ids == self._ids else None

    def close(self) -> None:
        """Stop the thread (the sync failed or did not use the frames)."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def _concat(*frames: pd.DataFrame) -> pd.DataFrame:
    """The rows of the frames, in order. Frames of no row are left out: pandas counts
    their columns' types too, which are not always those of normalised rows."""
    full = [f for f in frames if not f.empty]
    if not full:
        return frames[0]
    return full[0] if len(full) == 1 else pd.concat(full, ignore_index=True)


def _sort_times(created: pd.Series) -> np.ndarray:
    """Creation times as sortable integers, missing ones last (the canonical order)."""
    us = chunks.micros(created)
    return np.where(us == chunks.NAT, np.iinfo(np.int64).max, us)


def _spliced(
    frame: pd.DataFrame, gone: np.ndarray, new: pd.DataFrame
) -> tuple[pd.DataFrame, np.ndarray]:
    """``frame`` (in the canonical order) without the rows ``gone`` (a mask) and with
    the rows of ``new`` placed among the others; with, for each of its rows, the
    position in ``frame`` of the row it is, or -1 for a row of ``new``. One copy of
    each column, from the runs of rows kept and the rows placed between them: sorting
    every row again cost 0.2 s at 100,000 passages, and a concatenation then a
    ``take`` copied every column twice."""
    kept = np.flatnonzero(~gone)
    new = _ordered(new)
    times = _sort_times(frame["created_time"])[kept]
    new_times = _sort_times(new["created_time"])
    low = np.searchsorted(times, new_times, side="left")
    high = np.searchsorted(times, new_times, side="right")
    at = low.copy()
    for i in np.flatnonzero(high > low):  # same creation time: by record id
        tied = frame["record_id"].take(kept[low[i] : high[i]]).to_list()
        at[i] = low[i] + bisect.bisect_left(tied, new["record_id"].iloc[i])
    order = np.insert(kept, at, -1 - np.arange(len(new)))  # new row j: -1 - j
    source = np.maximum(order, -1)
    if len(order) == 0:
        return frame.iloc[:0].reset_index(drop=True), source
    # runs of consecutive rows of ``frame`` or of ``new`` (-1 - j, then -2 - j, ...)
    step = np.where(order[:-1] < 0, -1, 1)
    breaks = np.flatnonzero(
        (order[1:] != order[:-1] + step) | ((order[1:] < 0) != (order[:-1] < 0))
    )
    starts = [0, *(breaks + 1).tolist()]
    stops = [*(breaks + 1).tolist(), len(order)]
    parts = []
    for a, b in zip(starts, stops, strict=True):
        first, last = int(order[a]), int(order[b - 1])
        if first < 0:
            parts.append(new.iloc[-1 - first : -last])
        else:  # the whole frame when rows are only added after it: no slice to make
            whole = first == 0 and last == len(frame) - 1
            parts.append(frame if whole else frame.iloc[first : last + 1])
    if len(parts) == 1:
        return parts[0].reset_index(drop=True), source
    return _few_pieces(pd.concat(parts, ignore_index=True)), source


# Arrow pieces a text column may be made of: a concatenation keeps the pieces of what it
# joins, so each refresh's splice adds some, and operations on a column go through them
# one by one (the sync's process keeps the frame it wrote, and its pages read it).
MOST_PIECES = 8


def _few_pieces(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with each text column of more than ``MOST_PIECES`` Arrow pieces made
    one piece (a copy of that column)."""
    combined = {}
    for column in frame.columns:
        values = frame[column].array
        if not isinstance(values, pd.arrays.ArrowStringArray):
            continue
        arrow = values.__arrow_array__()
        if isinstance(arrow, pa.ChunkedArray) and arrow.num_chunks > MOST_PIECES:
            one = pd.arrays.ArrowStringArray(arrow.combine_chunks())
            combined[column] = pd.Series(one, index=frame.index, dtype=frame[column].dtype)
    return frame.assign(**combined) if combined else frame


def _changed_pieces(
    old: pd.DataFrame, gone: np.ndarray, new: pd.DataFrame, new_at: np.ndarray
) -> set[int]:
    """The chunk keys of ``new`` whose rows a removal (``gone``, a mask of ``old``'s
    rows) or an insertion (rows ``new_at`` of ``new``) may have changed: in each week
    changed, the pieces of the rows inserted and of the places where the rows differ
    from the old ones (the rows after a removal or an insertion move from one piece to
    the next; those before it, or after a removal and an insertion that offset each
    other, stay where they were)."""
    old_keys, new_keys = chunks.keys(old), chunks.keys(new)
    old_weeks, new_weeks = chunks.week(old_keys), chunks.week(new_keys)
    weeks = set(old_weeks[gone].tolist()) | set(new_weeks[new_at].tolist())
    placed = np.zeros(len(new), dtype=bool)
    placed[new_at] = True
    out: set[int] = set()
    for week in weeks:
        a, b = np.searchsorted(old_weeks, [week, week + 1])
        c, d = np.searchsorted(new_weeks, [week, week + 1])
        n = int(min(b - a, d - c))
        before = old["record_id"].iloc[a : a + n].to_numpy(dtype=object)
        after = new["record_id"].iloc[c : c + n].to_numpy(dtype=object)
        differ = np.zeros(d - c, dtype=bool)
        differ[:n] = before != after
        differ[n:] = True
        differ |= placed[c:d]
        out |= set(new_keys[c:d][differ].tolist())
    return out


def _merged(
    frames: Frames,
    changed: Mapping[str, set[str]],
    records: Mapping[str, Mapping[str, Record]],
    recipe: Recipe,
) -> tuple[Frames, dict[str, set[int]]]:
    """``update``, with the chunk keys per frame whose rows may have changed.

    The passages: the rows of the records normalised again are taken out and the new
    ones placed among the others (one copy of each column), and the camps and
    duplicate marks are redone from the stored ones where the change reaches
    (``regroup``), so that the work follows the change. Sites and quarantine, a few
    hundred rows at 100,000 passages, are filtered and ordered whole."""
    sites_changed = changed.get("sites", set())
    q = frames.quarantine
    sites = frames.sites
    quarantine_sites = q[q["table"] == "sites"]
    quarantine_passages = q[q["table"] == "passages"]
    if sites_changed:
        sites = sites[~sites["record_id"].isin(sites_changed)]
        quarantine_sites = quarantine_sites[~quarantine_sites["record_id"].isin(sites_changed)]
        new = [records["sites"][i] for i in sorted(sites_changed) if i in records["sites"]]
        if new:
            kept, quarantined = normalise_sites(new, recipe.normalise)
            sites = _concat(sites, kept)
            quarantine_sites = _concat(quarantine_sites, quarantined)
        sites = _ordered(sites)
    redo = passages_to_redo(frames, changed)
    old = frames.passages
    gone = _rows_of(old, redo)
    quarantine_passages = quarantine_passages[~quarantine_passages["record_id"].isin(redo)]
    found = [records["passages"][i] for i in sorted(redo) if i in records.get("passages", {})]
    kept, quarantined = normalise_passages(found, sites, recipe.normalise)
    quarantine_passages = _concat(quarantine_passages, quarantined)
    # not grouped yet (``regroup`` does): no camp, no duplicate flag
    kept = kept.assign(camp_id=pd.Series(pd.NA, index=kept.index, dtype=old["camp_id"].dtype))
    kept = kept.assign(is_duplicate=False)[list(old.columns)]
    spliced, source = _spliced(old, gone, kept)
    passages, moved = regroup(
        spliced,
        sites,
        recipe.radius_m,
        recipe.gap_days,
        previous=(old, frames.sites),
        source=source,
        sites_changed=sites_changed,
    )
    quarantine = _ordered_quarantine(_concat(quarantine_sites, quarantine_passages))
    updated = Frames(passages, sites, quarantine, frames.version)
    touched = {
        "passages": _changed_pieces(old, gone, passages, np.flatnonzero(source < 0))
        | set(chunks.keys(passages)[moved].tolist()),
        "sites": _changed_weeks(frames.sites, sites, sites_changed),
        "quarantine": _changed_weeks(q, quarantine, sites_changed | redo),
    }
    return updated, touched


def update(
    frames: Frames,
    changed: Mapping[str, set[str]],
    records: Mapping[str, Mapping[str, Record]],
    recipe: Recipe,
) -> Frames:
    """The frames after the records of ``changed`` (ids per table) were written or
    deleted. ``records`` holds, per table, the current record of every changed id that
    still exists, and, for passages, of every id ``passages_to_redo`` asked for."""
    return _merged(frames, changed, records, recipe)[0]


# What the camp grouping and the duplicate marks read of a passage (carto/analytics/
# camps.py: ``assign_camps``, ``mark_duplicates``), besides the Sites.
_GROUPING_COLUMNS = (
    "record_id",
    "created_time",
    "date",
    "site_id",
    "latitude",
    "longitude",
    "association",
)


def _set_rows(column: pd.Series, at: np.ndarray, values: pd.Series) -> pd.Series:
    """A copy of a column with the rows at positions ``at`` set to ``values``."""
    if column.dtype == object:  # lists: numpy's assignment would unpack them
        data = column.to_numpy(dtype=object, copy=True)
        data[at] = values.to_numpy(dtype=object)
        return pd.Series(data, index=column.index, dtype=object, name=column.name)
    out = column.copy()
    out.iloc[at] = values.array
    return out


def _rows_replaced(frame: pd.DataFrame, at: np.ndarray, rows: pd.DataFrame) -> pd.DataFrame:
    """The frame with its rows at positions ``at`` replaced by ``rows`` (same columns):
    only the columns where they differ are copied and set, the others are shared."""
    out = frame.copy(deep=False)
    before = frame.iloc[at].reset_index(drop=True)
    for column in frame.columns:
        if _differs(rows[column], before[column]).any():
            out[column] = _set_rows(frame[column], at, rows[column])
    return out


def edited_in_place(
    frames: Frames,
    changed: Mapping[str, set[str]],
    records: Mapping[str, Mapping[str, Record]],
    recipe: Recipe,
) -> tuple[Frames, dict[str, set[int]]] | None:
    """``update`` when only passages changed that stay where they were (grouped, or
    quarantined) and, those grouped, in nothing the camp grouping or the duplicate marks
    read (the usual edit: a count, needs, a comment): their rows are normalised again
    and set where they are; every other row, every camp and every mark stays, and only
    the chunks of those rows are touched (work follows the change, not the base). With
    the chunk keys touched, per frame; None for any other change (a Site, a passage
    added, deleted, moved in or out of the quarantine, or in time or space)."""
    ids = changed.get("passages", set())
    found = records.get("passages", {})
    if changed.get("sites") or not ids or not ids <= found.keys():
        return None
    old, q = frames.passages, frames.quarantine
    at = np.flatnonzero(_rows_of(old, ids))
    at_q = np.flatnonzero(_rows_of(q, ids) & (q["table"] == "passages").to_numpy(dtype=bool))
    if len(at) + len(at_q) != len(ids):
        return None
    before, q_before = old.iloc[at].reset_index(drop=True), q.iloc[at_q].reset_index(drop=True)
    order = [*before["record_id"].to_list(), *q_before["record_id"].to_list()]
    kept, quarantined = normalise_passages(
        [found[i] for i in order], frames.sites, recipe.normalise
    )
    kept, quarantined = kept.reset_index(drop=True), quarantined.reset_index(drop=True)
    if (
        kept["record_id"].to_list() != order[: len(at)]
        or quarantined["record_id"].to_list() != (order[len(at) :])
    ):
        return None
    if any(_differs(kept[c], before[c]).any() for c in _GROUPING_COLUMNS):
        return None
    if _differs(quarantined["created_time"], q_before["created_time"]).any():
        return None
    # same grouping inputs, same Sites: same camps and marks (as ``with_camps`` gives them)
    kept = flag_duplicates(
        kept.assign(camp_id=before["camp_id"].array),
        before["is_duplicate"].to_numpy(dtype=bool),
    )
    updated = replace(
        frames,
        passages=_rows_replaced(old, at, kept[list(old.columns)]),
        quarantine=_rows_replaced(q, at_q, quarantined[list(q.columns)]),
    )
    # rows neither added nor removed: every other row keeps its chunk
    touched = {
        "passages": set(chunks.keys(old)[at].tolist()),
        "sites": set(),
        "quarantine": set(chunks.keys(q)[at_q].tolist()),
    }
    return updated, touched


def passages_to_redo(frames: Frames, changed: Mapping[str, set[str]]) -> set[str]:
    """Passage ids to normalise again: the changed ones and, when Sites changed, those
    linked to a changed Site and every quarantined passage."""
    redo = set(changed.get("passages", set()))
    sites_changed = changed.get("sites", set())
    if sites_changed:
        p = frames.passages
        redo |= set(p.loc[p["site_id"].isin(sites_changed), "record_id"])
        q = frames.quarantine
        redo |= set(q.loc[q["table"] == "passages", "record_id"])
    return redo


# -------------------------------------------------------------------------- encoding


# One chunk's bytes: two lengths (the JSON header's, the Arrow stream's before
# compression), a JSON header (the frame's columns, and the values of its list columns),
# then an Arrow IPC stream of its typed columns, compressed whole (zstd). Compressed
# whole rather than buffer by buffer (Arrow's IPC option): a codec call per column
# buffer cost about 2 ms per chunk of 256 rows to decode, one call per chunk 0.3 ms, and
# the bytes are fewer. Chunks are converted to and from pandas together
# (``encode_chunks``, ``_frame``): the conversion's fixed cost, several milliseconds, is
# paid once per frame rather than once per chunk.
_HEAD = struct.Struct(">QQ")
_CODEC = pa.Codec("zstd", compression_level=1)
Part = tuple[pa.Table, dict[str, list[Any]]]  # one decoded chunk: typed columns, lists
# Chunks from which a frame's are encoded by two threads (a full rebuild: hundreds).
PARALLEL_SPANS = 16


def encode_chunks(
    name: str, frame: pd.DataFrame, spans: list[tuple[int, int]]
) -> list[tuple[bytes, Part]]:
    """The bytes of each span (start, stop) of rows of a frame, with what decoding them
    gives (one conversion to Arrow and one list per list column for the rows of all
    spans; a span is a slice of those). Many spans are encoded by two threads, a half
    each: Arrow's part (copies, stream, compression) runs outside the interpreter's lock."""
    lists = [c for c in LIST_COLUMNS[name] if c in frame.columns]
    part = _spans_of(frame, spans)
    table = pa.Table.from_pandas(part.drop(columns=lists), preserve_index=False)
    cells = {c: part[c].to_list() for c in lists}
    header: dict[str, Any] = {"columns": list(frame.columns)}
    starts = np.cumsum([0, *(b - a for a, b in spans)]).tolist()
    rows = [(at, at + b - a) for at, (a, b) in zip(starts, spans, strict=False)]

    def encoded(first: int, stop: int) -> list[tuple[bytes, Part]]:
        out = []
        for a, b in rows[first:stop]:
            values = {c: cells[c][a:b] for c in lists}
            head = _header_bytes({**header, "lists": values})
            # its own buffers (``take`` copies the rows), not a slice of the whole
            # table's: a chunk kept in ``_CHUNKS`` across refreshes would keep each
            # version's whole columns alive (issue 15: the memory grew with every
            # 10-record refresh); and a slice's stream holds bytes of the rows around it
            # (its digest would change with them)
            typed = table.take(np.arange(a, b))
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, table.schema) as writer:
                writer.write_table(typed)
            stream = sink.getvalue()
            body = _CODEC.compress(stream, asbytes=True)
            out.append((_HEAD.pack(len(head), stream.size) + head + body, (typed, values)))
        return out

    if len(spans) < PARALLEL_SPANS:
        return encoded(0, len(spans))
    half = len(spans) // 2
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="encode") as pool:
        second = pool.submit(encoded, half, len(spans))
        return encoded(0, half) + second.result()


def _spans_of(frame: pd.DataFrame, spans: list[tuple[int, int]]) -> pd.DataFrame:
    """The rows of the spans, in order: a slice when they follow each other (a full
    rebuild encodes every row), else one ``take``."""
    if all(b == a for (_, b), (a, _) in itertools.pairwise(spans)):
        return frame.iloc[spans[0][0] : spans[-1][1]]
    return frame.take(np.concatenate([np.arange(a, b) for a, b in spans]))


def _header_bytes(header: dict[str, Any]) -> bytes:
    """A chunk's JSON header, as ``json.dumps(header, ensure_ascii=False, separators=(",",
    ":"))`` in UTF-8 writes it, by orjson (several times faster at 100,000 rows: the same
    bytes for strings, lists, dicts and None, tests/test_prepared.py). orjson writes NaN
    as null: a header holding null (a list cell with a missing item, rare) is written by
    ``json``, and so is one orjson refuses."""
    try:
        data = orjson.dumps(header)
    except orjson.JSONEncodeError:
        data = b"null"
    if b"null" not in data:
        return data
    return json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def encode(name: str, frame: pd.DataFrame) -> bytes:
    """A whole frame as the bytes of one chunk."""
    return encode_chunks(name, frame, [(0, len(frame))])[0][0]


def decode_chunk(data: bytes) -> Part:
    """The typed columns and list columns of one chunk's bytes."""
    header, at, size = _header(data)
    stream = _CODEC.decompress(memoryview(data)[at:], decompressed_size=size)
    table = pa.ipc.open_stream(stream).read_all()
    lists: dict[str, list[Any]] = header["lists"]
    with paused_gc():
        for values in lists.values():
            _share_repeats(values)
    return table, lists


def _share_repeats(rows: list[Any]) -> None:
    """Decoded list cells made to share what repeats, in place: one empty list for
    every empty cell and one copy of each string (``sys.intern``). JSON gives each cell
    its own: at 100,000 passages, most of the lists' memory, for a few distinct values.
    The frames are read-only: no cell is changed in place (a change makes a new list,
    ``camps.with_camps``, ``with_future_flags``)."""
    empty: list[Any] = []
    for i, cell in enumerate(rows):
        if type(cell) is not list:
            continue
        if not cell:
            rows[i] = empty
            continue
        for j, item in enumerate(cell):
            if type(item) is str:
                cell[j] = sys.intern(item)


def _header(data: bytes) -> tuple[dict[str, Any], int, int]:
    """A chunk's JSON header, where its compressed stream starts and its size once
    decompressed."""
    head, size = _HEAD.unpack_from(data)
    start = _HEAD.size + head
    with paused_gc():
        header: dict[str, Any] = json.loads(data[_HEAD.size : start])
    return header, start, size


def _frame(parts: list[Part], columns: Iterable[str]) -> pd.DataFrame:
    """The frame of chunks, in their order (one conversion from Arrow for all)."""
    tables = [t for t, _ in parts]
    # one contiguous array per column: pandas keeps Arrow's chunks in its string columns,
    # and every later operation on them would go through one piece per week
    table = tables[0] if len(tables) == 1 else pa.concat_tables(tables).combine_chunks()
    frame = table.to_pandas()
    for column in parts[0][1]:
        values = list(itertools.chain.from_iterable(lists[column] for _, lists in parts))
        frame[column] = pd.Series(values, index=frame.index, dtype=object)
    return frame[list(columns)]


def decode(data: bytes) -> pd.DataFrame:
    """The frame ``encode`` wrote."""
    table, lists = decode_chunk(data)
    return _frame([(table, lists)], _header(data)[0]["columns"])


@contextmanager
def paused_gc() -> Iterator[None]:
    """The garbage collector paused: reading 100,000 records or decoding as many small
    lists and dicts makes millions of objects, none in a cycle, and the collector's passes
    over them cost more than the work (measured: records read 2.5×, full rebuild 1.3×
    faster at 100k; a sync's commit: 0.2 of 0.3 s at 10,000 records). Process-wide, so
    only re-enabled by whoever found it enabled."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# What this process last encoded or decoded, per frame name: the manifest's bytes with
# the whole frame, and each of its chunks by digest. The sync that wrote them, then
# every page of the process, decode nothing when the stored manifest is that one, and
# only the chunks they do not hold when it is another (a chunk's name is the digest of
# its bytes: whichever process or store wrote it, the same name is the same rows). Only
# the chunks of the last manifest are kept: bounded.
_DECODED: dict[str, tuple[bytes, pd.DataFrame]] = {}
_CHUNKS: dict[str, dict[str, Part]] = {}

Fetch = Callable[[list[str]], Mapping[str, Any]]


def forget() -> None:
    """Drop every frame and chunk this process remembers (the next read decodes)."""
    _DECODED.clear()
    _CHUNKS.clear()


def _remember(name: str, manifest: bytes, frame: pd.DataFrame, parts: dict[str, Part]) -> None:
    previous = _DECODED.get(name)
    held = _CHUNKS.get(name, {})
    _DECODED[name] = (manifest, frame)
    _CHUNKS[name] = parts
    if name == "passages" and previous is not None and previous[0] != manifest:
        _follow(name, previous[0], held, manifest, parts)


def token(name: str, manifest: bytes) -> tuple[str, bytes]:
    """What names the content of the frame ``name`` of that manifest (carto.analytics.lineage)."""
    return (name, hashlib.blake2b(manifest, digest_size=16).digest())


def _follow(
    name: str,
    before: bytes,
    held: Mapping[str, Part],
    manifest: bytes,
    parts: Mapping[str, Part],
) -> None:
    """Note which camps' rows differ from the frame this process held before: those of
    the rows of the chunks one manifest lists and the other does not (per-camp results
    of the previous frame are then carried over, ``lineage.by_camp``). Nothing is noted
    when a chunk of the previous frame is not held (a process that wrote it unread)."""
    old = chunks.Manifest.from_bytes(before).chunks
    new = chunks.Manifest.from_bytes(manifest).chunks
    kept = {c.digest for c in old} & {c.digest for c in new}
    removed = [held.get(c.digest) for c in old if c.digest not in kept]
    added = [parts.get(c.digest) for c in new if c.digest not in kept]
    if any(p is None for p in [*removed, *added]):
        return
    camps = changed_camps(removed, added)  # type: ignore[arg-type]
    if camps is not None:
        lineage.follow(token(name, manifest), token(name, before), camps)


def changed_camps(removed: Sequence[Part], added: Sequence[Part]) -> set[str] | None:
    """The camps (ids before and after) of the rows that differ between two sets of
    decoded chunks, rows matched by record id: added, removed, or with any value changed
    (compared by Arrow, list cells by value). None when their columns differ."""
    tables = [t for t, _ in [*removed, *added]]
    if not tables or any(t.schema != tables[0].schema for t in tables):
        return None
    if not {"record_id", "camp_id"} <= set(tables[0].column_names):
        return None
    keys = {tuple(values) for _, values in [*removed, *added]}
    if len(keys) > 1:
        return None
    old = _joined(removed, tables[0], keys.pop())
    new = _joined(added, tables[0], old[1].keys())
    old_ids, new_ids = old[0].column("record_id"), new[0].column("record_id")
    found: set[str] = set()
    where = pc.index_in(new_ids, value_set=old_ids)  # each new row's place in the old
    matched = where.is_valid().to_numpy(zero_copy_only=False)
    gone = pc.is_null(pc.index_in(old_ids, value_set=new_ids)).to_numpy(zero_copy_only=False)
    found |= _camps_at(new[0], ~matched) | _camps_at(old[0], gone)
    at_new = np.flatnonzero(matched)
    at_old = where.filter(where.is_valid()).to_numpy(zero_copy_only=False).astype(np.int64)
    differs = np.zeros(len(at_new), dtype=bool)
    for column in new[0].column_names:
        a = old[0].column(column).take(at_old)
        b = new[0].column(column).take(at_new)
        same = pc.or_kleene(pc.equal(a, b), pc.and_(pc.is_null(a), pc.is_null(b)))
        differs |= ~pc.fill_null(same, False).to_numpy(zero_copy_only=False)
    aligned = np.array_equal(at_old, np.arange(old[0].num_rows)) and np.array_equal(
        at_new, np.arange(new[0].num_rows)
    )
    for column, values in new[1].items():
        before = old[1][column]
        if aligned and before == values:  # the same rows in the same order: one comparison
            continue
        differs |= np.array(
            [before[i] != values[j] for i, j in zip(at_old, at_new, strict=True)], dtype=bool
        )
    mask_old = np.zeros(old[0].num_rows, dtype=bool)
    mask_old[at_old[differs]] = True
    mask_new = np.zeros(new[0].num_rows, dtype=bool)
    mask_new[at_new[differs]] = True
    return found | _camps_at(old[0], mask_old) | _camps_at(new[0], mask_new)


def _joined(parts: Sequence[Part], like: pa.Table, lists: Iterable[str]) -> Part:
    """Decoded chunks as one (with ``like``'s schema and those list columns when none)."""
    if not parts:
        return like.schema.empty_table(), {c: [] for c in lists}
    table = pa.concat_tables([t for t, _ in parts])
    lists = {c: [v for _, values in parts for v in values[c]] for c in parts[0][1]}
    return table, lists


def _camps_at(table: pa.Table, rows: np.ndarray) -> set[str]:
    """The camp ids of those rows of a decoded chunk (a mask)."""
    if not rows.any():
        return set()
    ids = table.column("camp_id").filter(pa.array(rows)).drop_null()
    return {str(c) for c in pc.unique(ids).to_pylist()}


def _assembled(name: str, manifest_bytes: bytes, fetch: Fetch) -> pd.DataFrame | None:
    """The frame of a stored manifest, decoding only the chunks this process does not
    hold; None when a chunk is missing (pruned by a later write meanwhile)."""
    found = _DECODED.get(name)
    if found is not None and found[0] == manifest_bytes:
        return found[1]
    manifest = chunks.Manifest.from_bytes(manifest_bytes)
    held = _CHUNKS.get(name, {})
    wanted = [c.digest for c in manifest.chunks if c.digest not in held]
    blobs = fetch([chunks.blob_name(name, d) for d in wanted]) if wanted else {}
    parts: dict[str, Part] = {}
    # paused once for every chunk: re-enabled after each, the collector ran over the
    # lists just decoded again and again (0.7 of 3 s for 575 chunks, profiled)
    with paused_gc():
        for c in manifest.chunks:
            if c.digest in held:
                parts[c.digest] = held[c.digest]
                continue
            blob = blobs.get(chunks.blob_name(name, c.digest))
            if blob is None:
                return None
            parts[c.digest] = decode_chunk(blob.data)
    frame = None
    if found is not None:  # the frame held before, but for the chunks that changed
        before = chunks.Manifest.from_bytes(found[0])
        frame = _edited_in_place(found[1], before, manifest, parts, held)
        if frame is None:
            frame = _from_held(found[1], before, manifest, parts)
    if frame is None:
        frame = _frame([parts[c.digest] for c in manifest.chunks], manifest.columns)
    _remember(name, manifest_bytes, frame, parts)
    return frame


def _edited_in_place(
    previous: pd.DataFrame,
    before: chunks.Manifest,
    manifest: chunks.Manifest,
    parts: Mapping[str, Part],
    held: Mapping[str, Part],
) -> pd.DataFrame | None:
    """The frame of ``manifest`` from the one of ``before`` (``previous``) when each
    chunk has as many rows as the one at its place before (no row added, removed or
    moved to another chunk: an edit set in place, ``edited_in_place``), the replaced
    chunks held: ``previous`` with the rows of those chunks converted from Arrow, in the
    columns where they may differ; the others are ``previous``'s (copy-on-write). None
    otherwise (then ``_from_held``). A copy of every column was most of the first read
    after a refresh at 100,000 passages, the same at every size for one chunk."""
    if manifest.columns != before.columns or list(previous.columns) != list(manifest.columns):
        return None
    if len(manifest.chunks) != len(before.chunks):
        return None
    spans: list[tuple[int, int, Part, Part]] = []  # (start, stop, part before, part now)
    at = 0
    for old, new in zip(before.chunks, manifest.chunks, strict=True):
        if old.rows != new.rows:
            return None
        if old.digest != new.digest:
            was = held.get(old.digest)
            if was is None:
                return None
            spans.append((at, at + new.rows, was, parts[new.digest]))
        at += new.rows
    if at != len(previous):
        return None
    if not spans:
        return previous.copy(deep=False)
    tables = [t for _, _, was, now in spans for t in (was[0], now[0])]
    if any(t.schema != tables[0].schema for t in tables):
        return None
    lists = list(spans[0][3][1])
    # Arrow columns (texts, aware dates) are compared in the chunks (Arrow's equality:
    # exact for them); numbers, flags and naive dates once converted, bit for bit (NaN
    # as NaN, -0.0 apart from 0.0); lists are set whatever they hold.
    candidates = [
        c
        for c in manifest.columns
        if c in lists
        or isinstance(previous[c].dtype, np.dtype)
        or any(not was[0].column(c).equals(now[0].column(c)) for _, _, was, now in spans)
    ]
    typed = [c for c in candidates if c not in lists]
    picked = [(now[0].select(typed), {c: now[1][c] for c in lists}) for *_, now in spans]
    fresh = _frame(picked, candidates)
    if not fresh.dtypes.equals(previous[candidates].dtypes):
        return None
    rows = [(a, b) for a, b, *_ in spans]
    frame = previous.copy(deep=False)  # the columns set below only are new
    for c in candidates:
        if c in lists or not _same_bits(previous[c], fresh[c], rows):
            frame[c] = _spliced_column(previous[c], fresh[c], rows)
    return frame


def _same_bits(previous: pd.Series, fresh: pd.Series, spans: Sequence[tuple[int, int]]) -> bool:
    """Whether the rows of ``spans`` of a numpy column of numbers, flags or dates hold
    ``fresh``'s values, bit for bit (False for any other column)."""
    if not isinstance(previous.dtype, np.dtype) or previous.dtype.kind not in "biufmM":
        return False
    old, new, taken = previous.to_numpy(), fresh.to_numpy(), 0
    for start, stop in spans:
        a, b = old[start:stop], new[taken : taken + stop - start]
        if a.tobytes() != b.tobytes():
            return False
        taken += stop - start
    return True


def _spliced_column(
    previous: pd.Series, fresh: pd.Series, spans: Sequence[tuple[int, int]]
) -> pd.Series:
    """``previous`` with the rows of ``spans`` (in order) replaced by ``fresh``'s."""
    if isinstance(previous.dtype, np.dtype):
        values = previous.to_numpy(copy=True)
        new, taken = fresh.to_numpy(), 0
        for start, stop in spans:
            values[start:stop] = new[taken : taken + stop - start]
            taken += stop - start
        return pd.Series(values, index=previous.index, name=previous.name, copy=False)
    pieces, at, taken = [], 0, 0
    for start, stop in spans:
        pieces += [previous.iloc[at:start], fresh.iloc[taken : taken + stop - start]]
        at, taken = stop, taken + stop - start
    pieces.append(previous.iloc[at:])
    return _one_chunk(pd.concat(pieces, ignore_index=True)).set_axis(previous.index)


def _one_chunk(column: pd.Series) -> pd.Series:
    """A text column as one Arrow chunk, as ``_frame`` makes them (a concatenation keeps
    its parts' chunks, and every later operation would go through them one by one);
    any other column as it is."""
    values = column.array
    if not isinstance(values, pd.arrays.ArrowStringArray):
        return column
    whole = values.__arrow_array__().combine_chunks()
    return pd.Series(pd.array(whole, dtype=values.dtype), index=column.index, name=column.name)


def _from_held(
    previous: pd.DataFrame,
    before: chunks.Manifest,
    manifest: chunks.Manifest,
    parts: Mapping[str, Part],
) -> pd.DataFrame | None:
    """The frame of ``manifest`` from the one of ``before`` (``previous``): its rows of
    the chunks both list, and the decoded rows of the others, in the manifest's order;
    None when the columns or their types differ (then made from every chunk). At 100,000
    passages a refresh changes a few chunks of 400: their rows are converted from Arrow,
    the others copied (0.09 s to convert every chunk; the first page after a refresh
    waited for it)."""
    if manifest.columns != before.columns or list(previous.columns) != list(manifest.columns):
        return None
    spans, at = {}, 0
    for c in before.chunks:
        spans[c.digest] = (at, at + c.rows)
        at += c.rows
    if at != len(previous):
        return None
    added = [parts[c.digest] for c in manifest.chunks if c.digest not in spans]
    fresh = _frame(added, manifest.columns) if added else previous.iloc[0:0]
    if not fresh.dtypes.equals(previous.dtypes):
        return None
    runs: list[tuple[pd.DataFrame, int, int]] = []  # (frame, start, stop), merged when contiguous
    taken = 0
    for c in manifest.chunks:
        source, start = (previous, spans[c.digest][0]) if c.digest in spans else (fresh, taken)
        if source is fresh:
            taken += c.rows
        if runs and runs[-1][0] is source and runs[-1][2] == start:
            runs[-1] = (source, runs[-1][1], start + c.rows)
        else:
            runs.append((source, start, start + c.rows))
    frame = pd.concat([f.iloc[a:b] for f, a, b in runs], ignore_index=True)
    for column in frame.columns:
        if isinstance(frame[column].array, pd.arrays.ArrowStringArray):
            frame[column] = _one_chunk(frame[column])
    return frame


def _blobs(
    frames: Frames,
    before: Mapping[str, chunks.Manifest] | None = None,
    touched: Mapping[str, set[int]] | None = None,
) -> dict[str, bytes]:
    """The manifests and the chunks to write: every chunk, or, given the manifests of the
    frames these were updated from and the chunk keys whose rows may have changed
    (``touched``), only the chunks not stored already. Every chunk: the Sites and the
    quarantine are encoded in a thread beside the passages (a few dozen chunks each,
    whose fixed costs came after the passages' hundreds)."""
    named = frames.as_dict()
    if before is not None:
        return _blobs_of(named, before, touched)
    small = {n: f for n, f in named.items() if n != "passages"}
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="encode-small") as pool:
        beside = pool.submit(_blobs_of, small)
        blobs = _blobs_of({"passages": named["passages"]})
        return {**blobs, **beside.result()}


def _blobs_of(
    frames: Mapping[str, pd.DataFrame],
    before: Mapping[str, chunks.Manifest] | None = None,
    touched: Mapping[str, set[int]] | None = None,
) -> dict[str, bytes]:
    """``_blobs`` of those frames, by name, in the calling thread."""
    blobs: dict[str, bytes] = {}
    for name, frame in frames.items():
        previous = before[name].by_key() if before and name in before else {}
        changed = touched.get(name, set()) if touched is not None else None
        held = _CHUNKS.get(name, {})
        listed: list[chunks.Chunk] = []
        todo: list[tuple[int, int, int, int]] = []  # (place in listed, key, start, stop)
        parts: dict[str, Part] = {}
        for key, start, stop in chunks.runs(chunks.keys(frame)):
            old = previous.get(key)
            unchanged = changed is not None and key not in changed
            if old is not None and unchanged and old.rows == stop - start:
                listed.append(old)
                if old.digest in held:
                    parts[old.digest] = held[old.digest]
                continue
            todo.append((len(listed), key, start, stop))
            listed.append(chunks.Chunk(key, "", stop - start))
        spans = [(start, stop) for _, _, start, stop in todo]
        written = encode_chunks(name, frame, spans) if todo else []
        for (n, key, start, stop), (data, part) in zip(todo, written, strict=True):
            listed[n] = chunks.Chunk(key, chunks.digest(data), stop - start)
            blobs[chunks.blob_name(name, listed[n].digest)] = data
            parts[listed[n].digest] = part
        manifest = chunks.Manifest(tuple(frame.columns), tuple(listed)).to_bytes()
        blobs[name] = manifest
        _remember(name, manifest, frame.copy(deep=False), parts)
    return blobs


def _write(
    store: SnapshotStore, conn: Any, version: int, key: str, blobs: dict[str, bytes]
) -> None:
    """Store manifests and new chunks; delete the chunks no manifest lists any more."""
    store.write_derived(conn, version, key, blobs)
    for name in NAMES:
        listed = chunks.Manifest.from_bytes(blobs[name]).chunks
        prefix = chunks.blob_name(name, "")
        store.prune_derived(conn, prefix, [prefix + c.digest for c in listed])


def _current(stamps: Mapping[str, tuple[int, str]], version: int, key: str) -> bool:
    """Whether every frame is stored, for ``version`` and ``key``."""
    return set(stamps) == set(NAMES) and all(s == (version, key) for s in stamps.values())


def _read(found: Mapping[str, Any], version: int | None, key: str, fetch: Fetch) -> Frames | None:
    """Frames from stored manifests (``found``) and their chunks (``fetch``: stored
    blobs by name), when all are there, of one version (``version`` if given) and built
    with ``key``. A shallow copy of each (copy-on-write): adding a column to it changes
    nothing here."""
    if set(found) != set(NAMES):
        return None
    versions = {found[n].version for n in NAMES}
    keys = {found[n].key for n in NAMES}
    if len(versions) != 1 or keys != {key} or (version is not None and versions != {version}):
        return None
    frames = {}
    for n in NAMES:
        frame = _assembled(n, found[n].data, fetch)
        if frame is None:
            return None
        frames[n] = frame.copy(deep=False)
    return Frames(frames["passages"], frames["sites"], frames["quarantine"], versions.pop())


def read_stored(store: SnapshotStore, key: str, version: int | None = None) -> Frames | None:
    """The stored frames built with ``key`` (of ``version`` if given), as ``load`` reads
    them; None when missing or of another version or key."""
    with store.db.connect() as conn:
        found = store.derived_in(conn, NAMES)
        return _tagged(_read(found, version, key, lambda n: store.derived_in(conn, n)), found)


def _tagged(frames: Frames | None, found: Mapping[str, Any]) -> Frames | None:
    """The frames handed to readers, each tagged with its content's token (the frames an
    update changes are not: carto.analytics.lineage)."""
    if frames is not None:
        for name, frame in frames.as_dict().items():
            lineage.tag(frame, token(name, found[name].data))
    return frames


# ------------------------------------------------------------------------- the store


# Every frame of the records a transaction commits, made without reading them back
# (a sync that listed every table in full holds them in memory), with their encoding
# when it was made already.
Current = Callable[[], tuple[Frames, dict[str, bytes] | None]]


def _normalised_store(store: SnapshotStore, conn: Any, recipe: Recipe) -> _Rows:
    """Every record the transaction sees normalised (``_normalised_lines``); the Sites
    in a thread while the database joins the passages' texts (it leaves the
    interpreter's lock meanwhile)."""
    sites = store.records_in(conn, "sites", ordered=False)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sites") as pool:
        sites_done = pool.submit(normalise_sites, sites, recipe.normalise)
        lines = store.record_lines_in(conn, "passages")
        return _normalised_lines(sites_done, lines, recipe)


def _rebuild(store: SnapshotStore, conn: Any, recipe: Recipe) -> Frames:
    """Every frame from the records the transaction sees (read in any order: ``build``
    puts the rows in the canonical order)."""
    with paused_gc():
        return _frames_from(*_normalised_store(store, conn, recipe), recipe)


def rebuilt(store: SnapshotStore, conn: Any, recipe: Recipe) -> tuple[Frames, dict[str, bytes]]:
    """Every frame from the records the transaction sees, and their encoding (a full
    rebuild), with the collector paused."""
    with paused_gc():
        frames = _rebuild(store, conn, recipe)
        return frames, _blobs(frames)


def _rebuilt_blobs(
    store: SnapshotStore, conn: Any, recipe: Recipe, current: Current | None
) -> dict[str, bytes]:
    """The encoding of every frame: ``current()``'s (encoded already, or here), else a
    rebuild's from the records the transaction sees."""
    if current is None:
        return rebuilt(store, conn, recipe)[1]
    with paused_gc():
        frames, blobs = current()
        return blobs if blobs is not None else _blobs(frames)


def after_write(
    store: SnapshotStore, conn: Any, recipe: Recipe, current: Current | None = None
) -> None:
    """Inside the transaction that wrote records, after its version bump (carto/sync.py):
    bring the stored frames to the version this transaction commits; incrementally when
    its changes are known and the stored frames are those of the version it started
    from (only the chunks whose rows changed are encoded and written), else rebuilt
    from the records (or by ``current``, when the caller can make the frames of every
    record this transaction commits without reading them)."""
    version = store.version_in(conn)
    key = recipe.key
    stamps = store.derived_stamps(conn, NAMES)
    if _current(stamps, version, key):
        return
    changes = store.changes(conn)
    frames = None
    if changes is not None and not changes.replaced:
        if not changes.ids and _current(stamps, changes.start_version, key):
            store.restamp_derived(conn, changes.start_version, version, key)
            return
        if _current(stamps, changes.start_version, key):
            found = store.derived_in(conn, NAMES)
            fetch: Fetch = lambda names: store.derived_in(conn, names)  # noqa: E731
            frames = _read(found, changes.start_version, key, fetch)
    if frames is None or changes is None:
        blobs = _rebuilt_blobs(store, conn, recipe, current)
    else:
        changed = {table: set(ids) for table, ids in changes.ids.items()}
        redo = passages_to_redo(frames, changed)
        wanted = {
            "sites": store.records_by_id(conn, "sites", sorted(changed.get("sites", set()))),
            "passages": store.records_by_id(conn, "passages", sorted(redo)),
        }
        # paused collector: the merge and the encoding make and drop lists of every
        # passage's lists and dicts; a full collection over the frames this process
        # keeps (``_DECODED``) cost more than the update (0.5 s out of 1 s at 100k)
        with paused_gc():
            updated, touched = refreshed(frames, changed, wanted, recipe)
            manifests = {n: chunks.Manifest.from_bytes(found[n].data) for n in NAMES}
            blobs = _blobs(updated, manifests, touched)
    _write(store, conn, version, key, blobs)


def refreshed(
    frames: Frames,
    changed: Mapping[str, set[str]],
    records: Mapping[str, Mapping[str, Record]],
    recipe: Recipe,
) -> tuple[Frames, dict[str, set[int]]]:
    """The frames after the changes (``update``; in place when ``edited_in_place`` can)
    and the chunk keys, per frame, whose rows may have changed."""
    edited = edited_in_place(frames, changed, records, recipe)
    if edited is not None:
        return edited
    return _merged(frames, changed, records, recipe)


def _rows_of(frame: pd.DataFrame, ids: set[str]) -> np.ndarray:
    """Mask of the rows of those record ids."""
    if not ids or frame.empty:
        return np.zeros(len(frame), dtype=bool)
    return frame["record_id"].isin(ids).to_numpy(dtype=bool)


def _differs(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Row by row, whether two columns of the same length hold different values (NA
    equals NA); compared as arrays, whatever their index."""
    both_na = a.isna().to_numpy(dtype=bool) & b.isna().to_numpy(dtype=bool)
    same = pd.Series(a.array == b.array, copy=False).fillna(False).to_numpy(dtype=bool)
    return ~(same | both_na)


def _changed_weeks(old: pd.DataFrame, new: pd.DataFrame, ids: set[str]) -> set[int]:
    """The chunk keys of a small frame (sites, quarantine) in the weeks of the records
    ``ids``, where they were and where they are: a row added or removed shifts the
    rows after it in its week from one piece to the next."""
    rows = (old, _rows_of(old, ids)), (new, _rows_of(new, ids))
    touched = {k for frame, at in rows for k in chunks.keys(frame)[at].tolist()}
    if not touched:
        return set()
    found = np.concatenate([chunks.keys(old), chunks.keys(new)])
    weeks = np.array(sorted(touched), dtype=np.int64)
    return touched | set(found[np.isin(chunks.week(found), chunks.week(weeks))].tolist())


def load(store: SnapshotStore, recipe: Recipe) -> Frames:
    """The frames of the store's current version: read ready, or built from the records
    once and stored (a store written before this module, the demo, other options)."""
    key = recipe.key
    frames = read_stored(store, key, store.version)
    if frames is not None:
        return frames
    with store.db.connect(write=True) as conn:
        version = store.lock_version(conn)
        fetch: Fetch = lambda names: store.derived_in(conn, names)  # noqa: E731
        found = store.derived_in(conn, NAMES)
        frames = _tagged(_read(found, version, key, fetch), found)
        if frames is not None:
            return frames  # another process built them meanwhile
        built, blobs = rebuilt(store, conn, recipe)
        _write(store, conn, version, key, blobs)
    return replace(built, version=version)


def with_future_flags(passages: pd.DataFrame, now: pd.Timestamp | None) -> pd.DataFrame:
    """Passages with ``flag.future_date`` first among the flags of those dated more than
    10 minutes after ``now`` (as normalisation flags them)."""
    if now is None or passages.empty:
        return passages
    future = (passages["date"] > now + FUTURE_MARGIN).fillna(False).to_numpy(dtype=bool)
    if not future.any():
        return passages
    codes = passages["flag_codes"].to_list()
    params = passages["flag_params"].to_list()
    for i in future.nonzero()[0]:
        codes[i] = [FUTURE_FLAG, *codes[i]]
        params[i] = [{}, *params[i]]
    return passages.assign(
        flag_codes=pd.Series(codes, index=passages.index, dtype=object),
        flag_params=pd.Series(params, index=passages.index, dtype=object),
    )
