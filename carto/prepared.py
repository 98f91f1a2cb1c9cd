"""Analysis-ready frames kept in the store: normalised once, when the records change.

The raw records stay the source of truth (carto/store.py). From them this module makes
the three frames every page starts from (docs/architecture.md §2): ``passages`` (normalised
and grouped into camps: ``camp_id``, ``is_duplicate``), ``sites`` and ``quarantine``, and
keeps them in the store (``SnapshotStore.write_derived``) with the version of the records
they were built from and the fingerprint of the options they were built with.

- **At sync** (``after_write``, called by carto/sync.py inside the transaction that wrote
  the records): only what changed is normalised again and merged into the stored
  frames. What is incremental: a written or deleted Site record is normalised alone; a
  written or deleted passage too; when a Site changed, the passages linked to it and
  every quarantined passage (a Site can give them a position) are normalised again. The
  grouping into camps resumes from the stored one (``with_camps(previous=...)``): a
  passage without a Site joins the nearest camp seen within the gap, so one passage can
  move the camps of every later one; the loose passages before the first that changed
  keep their camp, and duplicate marks are redone only in the camps whose passages
  changed (tests/test_camps_incremental.py: the same as from scratch). A transaction
  whose changes are not known (a table replaced, frames missing, older than the
  transaction, or built with other options) rebuilds every frame from the records
  instead: from those the caller holds when it listed every table in full
  (``current``), normalised while they were listed for a first sync (``Prebuild``).
- **At page load** (``load``): the stored frames of the current version are read; when
  they are missing or stale (a store written before this module, the demo, options
  changed) they are built once from the records and stored.

A full rebuild and the incremental path give the same frames (tests/test_prepared.py
checks it with random edits and deletions): rows are in one canonical order, by creation
time then record id (quarantine: sites first), whatever order records were written in.

The one part of normalisation that depends on the clock, the flag on a passage dated in
the future (``flag.future_date``), is left out of the stored frames and added when they
are loaded (``with_future_flags``): a frame stored yesterday must not keep a passage
flagged once its time has come.

Each process keeps the last frame it encoded or decoded under each name with its bytes
(``_decoded``): the sync that wrote the frames, and the pages of its process after it,
read them without decoding (0.15–0.2 s at 100,000 passages); other bytes are decoded.

Serialisation: Arrow IPC (Feather, zstd; pyarrow) for the typed columns, read about
ten times faster than Parquet for a somewhat larger blob (5.9 against 4.5 MB of passages
at 100,000); the list columns (needs,
referrals, flag and reason codes and parameters) as one JSON array per column, encoded
and decoded in one call each (per-cell JSON or Parquet lists of structs cost more and do
not give back the same Python lists and dicts).
"""

from __future__ import annotations

import gc
import hashlib
import io
import json
import struct
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from carto.analytics.camps import with_camps
from carto.normalise import NormaliseOptions, normalise, normalise_passages, normalise_sites
from carto.options import AnalysisOptions
from carto.store import Record, SnapshotStore

# Bump when what the frames hold or how they are encoded changes: stored frames of
# another format are rebuilt.
FORMAT = 1
NAMES = ("passages", "sites", "quarantine")
LIST_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "passages": ("needs", "referrals", "flag_codes", "flag_params"),
    "sites": ("flag_codes", "flag_params"),
    "quarantine": ("reason_codes", "reason_params"),
}
FUTURE_FLAG = "flag.future_date"
FUTURE_MARGIN = pd.Timedelta(minutes=10)  # as carto/normalise.py's _parse_dates
DUPLICATE_FLAG = "flag.duplicate"  # appended by carto.analytics.camps.with_camps
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
    return frame.sort_values(
        ["created_time", "record_id"], na_position="last", kind="stable"
    ).reset_index(drop=True)


def _ordered_quarantine(frame: pd.DataFrame) -> pd.DataFrame:
    """Sites first, then passages, each in the canonical order."""
    table = frame["table"].map(_TABLE_ORDER).astype("int64")
    order = (
        frame.assign(_table=table)
        .sort_values(["_table", "created_time", "record_id"], na_position="last", kind="stable")
        .index
    )
    return frame.loc[order].reset_index(drop=True)


def _camps(
    passages: pd.DataFrame, sites: pd.DataFrame, recipe: Recipe, previous: Frames | None = None
) -> pd.DataFrame:
    before = None if previous is None else (previous.passages, previous.sites)
    return with_camps(
        passages, sites, radius_m=recipe.radius_m, gap_days=recipe.gap_days, previous=before
    )


def build(
    sites_records: Iterable[Record], passages_records: Iterable[Record], recipe: Recipe
) -> Frames:
    """Every frame from the records (version 0: the caller says which version)."""
    data = normalise(list(sites_records), list(passages_records), recipe.normalise)
    return _assembled(data.sites, data.passages, data.quarantine, recipe)


def _assembled(
    sites: pd.DataFrame, passages: pd.DataFrame, quarantine: pd.DataFrame, recipe: Recipe
) -> Frames:
    """The frames from normalised rows in any order: canonical order, camps."""
    sites = _ordered(sites)
    passages = _camps(_ordered(passages), sites, recipe)
    return Frames(passages, sites, _ordered_quarantine(quarantine), 0)


class Prebuild:
    """The frames of a first full listing, normalised while it is listed: the Sites once
    all are listed, the passages by batches of pages in a thread while the next pages
    are awaited (the listing waits on Airtable's rate limit most of the time), so that
    the commit only orders, groups into camps and encodes. Normalisation is row by row:
    batches give the rows one normalisation of all would (``frames`` checks the ids)."""

    BATCH = 2000  # records: fewer, larger calls (each has a fixed cost of ~20 ms)

    def __init__(self, sites_records: Sequence[Record], recipe: Recipe) -> None:
        self.recipe = recipe
        self.sites, self._q_sites = normalise_sites(sites_records, recipe.normalise)
        self._pending: list[Record] = []
        self._parts: list[Future[tuple[pd.DataFrame, pd.DataFrame]]] = []
        self._ids: list[str] = []
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prebuild")

    def add(self, records: Sequence[Record]) -> None:
        """Passages just listed, in listing order."""
        self._pending.extend(records)
        self._ids.extend(str(r["id"]) for r in records)
        if len(self._pending) >= self.BATCH:
            self._submit()

    def restart(self) -> None:
        """The listing starts over (its offset expired): forget its passages."""
        self._pool.shutdown(wait=True)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prebuild")
        self._pending, self._parts, self._ids = [], [], []

    def _submit(self) -> None:
        batch, self._pending = self._pending, []
        self._parts.append(
            self._pool.submit(normalise_passages, batch, self.sites, self.recipe.normalise)
        )

    def frames(self, passages_ids: Iterable[str]) -> Frames | None:
        """The frames, when the passages added are ``passages_ids`` (each once); else
        None (the caller builds them from the records)."""
        self._submit()
        parts = [f.result() for f in self._parts]
        self._pool.shutdown(wait=True)
        ids = list(passages_ids)
        if ids != self._ids or len(set(ids)) != len(ids):
            return None
        kept = pd.concat([p for p, _ in parts], ignore_index=True)
        quarantine = pd.concat([self._q_sites, *(q for _, q in parts)], ignore_index=True)
        return _assembled(self.sites, kept, quarantine, self.recipe)

    def close(self) -> None:
        """Stop the thread (the sync failed or did not use the frames)."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def _without_camps(passages: pd.DataFrame) -> pd.DataFrame:
    """Stored passages as normalisation made them, before ``with_camps``."""
    dup = passages["is_duplicate"].to_numpy(dtype=bool)
    out = passages.drop(columns=["camp_id", "is_duplicate"])
    if dup.any():
        codes = out["flag_codes"].to_list()
        params = out["flag_params"].to_list()
        for i in dup.nonzero()[0]:
            codes[i], params[i] = codes[i][:-1], params[i][:-1]
        out = out.assign(
            flag_codes=pd.Series(codes, index=out.index, dtype=object),
            flag_params=pd.Series(params, index=out.index, dtype=object),
        )
    return out


def _concat(kept: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    if new.empty:
        return kept
    if kept.empty:
        return new
    return pd.concat([kept, new], ignore_index=True)


def update(
    frames: Frames,
    changed: Mapping[str, set[str]],
    records: Mapping[str, Mapping[str, Record]],
    recipe: Recipe,
) -> Frames:
    """The frames after the records of ``changed`` (ids per table) were written or
    deleted. ``records`` holds, per table, the current record of every changed id that
    still exists, and, for passages, of every id ``needs_passages`` asked for."""
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
    passages = _without_camps(frames.passages)
    redo = passages_to_redo(frames, changed)
    if redo:
        passages = passages[~passages["record_id"].isin(redo)]
        quarantine_passages = quarantine_passages[~quarantine_passages["record_id"].isin(redo)]
        new = [records["passages"][i] for i in sorted(redo) if i in records["passages"]]
        if new:
            kept, quarantined = normalise_passages(new, sites, recipe.normalise)
            passages = _concat(passages, kept)
            quarantine_passages = _concat(quarantine_passages, quarantined)
    passages = _camps(_ordered(passages), sites, recipe, previous=frames)
    quarantine = _ordered_quarantine(_concat(quarantine_sites, quarantine_passages))
    return Frames(passages, sites, quarantine, frames.version)


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


def encode(name: str, frame: pd.DataFrame) -> bytes:
    """A frame as bytes: a length, the JSON of its list columns, then Arrow IPC (Feather,
    zstd) for the typed columns."""
    lists = [c for c in LIST_COLUMNS[name] if c in frame.columns]
    header = json.dumps(
        {"columns": list(frame.columns), "lists": {c: frame[c].to_list() for c in lists}},
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode("utf-8")
    buf = io.BytesIO()
    frame.drop(columns=lists).to_feather(buf, compression="zstd")
    return struct.pack(">Q", len(header)) + header + buf.getvalue()


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


def decode(data: bytes) -> pd.DataFrame:
    """The frame ``encode`` wrote."""
    (size,) = struct.unpack(">Q", data[:8])
    with paused_gc():
        header: dict[str, Any] = json.loads(data[8 : 8 + size])
    frame = pd.read_feather(io.BytesIO(data[8 + size :]))
    for column, values in header["lists"].items():
        frame[column] = pd.Series(values, index=frame.index, dtype=object)
    return frame[header["columns"]]


# The last frame this process encoded or decoded under each name, with its bytes: the
# sync that wrote them, then every page of the process reading them, decode nothing
# when the stored bytes are those (compared whole: whichever process or store wrote
# them, equal bytes are the same frame). One entry per name: bounded.
_DECODED: dict[str, tuple[bytes, pd.DataFrame]] = {}


def _remember(name: str, data: bytes, frame: pd.DataFrame) -> None:
    _DECODED[name] = (data, frame)


def _decoded(name: str, data: bytes) -> pd.DataFrame:
    """``decode(data)``, or the frame already decoded from the same bytes. A shallow
    copy either way (copy-on-write): adding a column to it changes nothing here."""
    found = _DECODED.get(name)
    if found is None or found[0] != data:
        found = (data, decode(data))
        _remember(name, *found)
    return found[1].copy(deep=False)


def _blobs(frames: Frames) -> dict[str, bytes]:
    blobs = {}
    for name, frame in frames.as_dict().items():
        blobs[name] = encode(name, frame)
        _remember(name, blobs[name], frame.copy(deep=False))
    return blobs


def _current(stamps: Mapping[str, tuple[int, str]], version: int, key: str) -> bool:
    """Whether every frame is stored, for ``version`` and ``key``."""
    return set(stamps) == set(NAMES) and all(s == (version, key) for s in stamps.values())


def _read(found: Mapping[str, Any], version: int | None, key: str) -> Frames | None:
    """Frames from stored blobs, when all are there, of one version (``version`` if
    given) and built with ``key``."""
    if set(found) != set(NAMES):
        return None
    versions = {found[n].version for n in NAMES}
    keys = {found[n].key for n in NAMES}
    if len(versions) != 1 or keys != {key} or (version is not None and versions != {version}):
        return None
    frames = {n: _decoded(n, found[n].data) for n in NAMES}
    return Frames(frames["passages"], frames["sites"], frames["quarantine"], versions.pop())


# ------------------------------------------------------------------------- the store


# Every frame of the records a transaction commits, made without reading them back
# (a sync that listed every table in full holds them in memory).
Current = Callable[[], Frames]


def _rebuild(
    store: SnapshotStore, conn: Any, recipe: Recipe, current: Current | None = None
) -> Frames:
    """Every frame from the records the transaction sees (``current()`` when given; read
    in any order: ``build`` puts the rows in the canonical order)."""
    with paused_gc():
        if current is not None:
            return current()
        sites = store.records_in(conn, "sites", ordered=False)
        return build(sites, store.records_in(conn, "passages", ordered=False), recipe)


def after_write(
    store: SnapshotStore, conn: Any, recipe: Recipe, current: Current | None = None
) -> None:
    """Inside the transaction that wrote records, after its version bump (carto/sync.py):
    bring the stored frames to the version this transaction commits; incrementally when
    its changes are known and the stored frames are those of the version it started
    from, else rebuilt from the records (or by ``current``, when the caller can make
    the frames of every record this transaction commits without reading them)."""
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
            frames = _read(store.derived_in(conn, NAMES), changes.start_version, key)
    if frames is None or changes is None:
        frames = _rebuild(store, conn, recipe, current)
    else:
        changed = {table: set(ids) for table, ids in changes.ids.items()}
        wanted = {
            "sites": store.records_by_id(conn, "sites", sorted(changed.get("sites", set()))),
            "passages": store.records_by_id(
                conn, "passages", sorted(passages_to_redo(frames, changed))
            ),
        }
        # paused collector: the merge and the encoding make and drop lists of every
        # passage's lists and dicts; a full collection over the frames this process
        # keeps (``_DECODED``) cost more than the update (0.5 s out of 1 s at 100k)
        with paused_gc():
            frames = update(frames, changed, wanted, recipe)
    with paused_gc():
        blobs = _blobs(frames)
    store.write_derived(conn, version, key, blobs)


def load(store: SnapshotStore, recipe: Recipe) -> Frames:
    """The frames of the store's current version: read ready, or built from the records
    once and stored (a store written before this module, the demo, other options)."""
    key = recipe.key
    frames = _read(store.derived(NAMES), store.version, key)
    if frames is not None:
        return frames
    with store.db.connect(write=True) as conn:
        version = store.lock_version(conn)
        frames = _read(store.derived_in(conn, NAMES), version, key)
        if frames is not None:
            return frames  # another process built them meanwhile
        built = _rebuild(store, conn, recipe)
        store.write_derived(conn, version, key, _blobs(built))
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
