"""Ready frames cut into chunks by creation week (carto/prepared.py stores them so).

A refresh that changed a few records re-encodes and writes only the chunks holding
them, and a process that read the previous version decodes only those: the cost of a
change follows the change, not the size of the base. A chunk is a run of rows of one
creation week (UTC, Monday to Sunday), cut into pieces of ``ROWS`` rows when the week
has more; the quarantine's sites and passages are in different chunks. Rows are in the
canonical order (creation time, then record id; quarantine: sites first), so each chunk
is one contiguous run of rows.

A frame is stored as a manifest (its columns and, per chunk, its key, the digest of its
bytes and its number of rows) and one blob per chunk, named by that digest: equal bytes,
equal name, so an unchanged chunk is neither written nor read again.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

WIDTH_US = 7 * 86_400 * 1_000_000  # a week, in microseconds
_EPOCH_US = 4 * 86_400 * 1_000_000  # 1970-01-05, a Monday
_UNDATED = 2**31  # rows without creation time: last, as in the canonical order
_TABLE_SPAN = 2**32  # quarantine: every key of the sites before those of the passages
_TABLE_ORDER = {"sites": 0, "passages": 1}
NAT = np.iinfo(np.int64).min  # NaT as an int64
# A week of a large base (about 2,000 passages at 100,000) is cut into pieces of at most
# ROWS rows: an edit re-encodes and writes a piece, not its whole week. Fewer rows, more
# chunks for a process that decodes all of them (a fixed cost each).
ROWS = 256
_PIECES = 2**16  # pieces a week can have: a key is week * _PIECES + piece


def micros(created: pd.Series) -> np.ndarray:
    """Timestamps (aware: in UTC) as microseconds since the epoch; NaT as ``NAT``."""
    if isinstance(created.dtype, pd.DatetimeTZDtype):
        created = created.dt.tz_convert("UTC").dt.tz_localize(None)
    return created.to_numpy(dtype="datetime64[us]").astype(np.int64)


def keys(frame: pd.DataFrame) -> np.ndarray:
    """The chunk key of every row: its creation week (and table, for the quarantine),
    then its piece of ``ROWS`` rows in that week (``week``: the first part back)."""
    if frame.empty:
        return np.zeros(0, dtype=np.int64)
    us = micros(frame["created_time"])
    out = np.where(us == NAT, _UNDATED, (us - _EPOCH_US) // WIDTH_US)
    if "table" in frame.columns:
        table = frame["table"].map(_TABLE_ORDER).fillna(2).to_numpy(dtype=np.int64)
        out = out + table * _TABLE_SPAN
    at = np.arange(len(out))
    first = np.ones(len(out), dtype=bool)
    first[1:] = out[1:] != out[:-1]
    start = np.maximum.accumulate(np.where(first, at, 0))  # of each row's run of a week
    return (out * _PIECES + (at - start) // ROWS).astype(np.int64)


def week(chunk_keys: np.ndarray) -> np.ndarray:
    """The week part (and table) of chunk keys: the chunks of one week share it."""
    return chunk_keys // _PIECES


def runs(row_keys: np.ndarray) -> list[tuple[int, int, int]]:
    """(key, start, stop) of each chunk: the runs of equal keys. Keys out of order
    (rows not in the canonical order) make one chunk, so that no key is in two runs."""
    n = len(row_keys)
    if n == 0:
        return [(0, 0, 0)]  # an empty frame is stored too: its columns and types
    if (np.diff(row_keys) < 0).any():
        return [(0, 0, n)]
    starts = np.flatnonzero(np.diff(row_keys)) + 1
    bounds = [0, *starts.tolist(), n]
    return [(int(row_keys[a]), a, b) for a, b in itertools.pairwise(bounds)]


def digest(data: bytes) -> str:
    """The name of a chunk's bytes."""
    return hashlib.blake2b(data, digest_size=12).hexdigest()


@dataclass(frozen=True)
class Chunk:
    """One stored chunk: its key, the digest of its bytes, its number of rows."""

    key: int
    digest: str
    rows: int


@dataclass(frozen=True)
class Manifest:
    """What a stored frame is made of: its columns and chunks, in row order."""

    columns: tuple[str, ...]
    chunks: tuple[Chunk, ...]

    def to_bytes(self) -> bytes:
        body = {
            "columns": list(self.columns),
            "chunks": [[c.key, c.digest, c.rows] for c in self.chunks],
        }
        return json.dumps(body, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> Manifest:
        body = json.loads(data)
        return cls(
            tuple(body["columns"]),
            tuple(Chunk(int(k), str(d), int(r)) for k, d, r in body["chunks"]),
        )

    def by_key(self) -> dict[int, Chunk]:
        return {c.key: c for c in self.chunks}


def blob_name(name: str, chunk_digest: str) -> str:
    """The stored name of a chunk of the frame ``name``."""
    return f"{name}:{chunk_digest}"
