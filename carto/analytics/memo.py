"""Per-camp results kept across snapshot versions (docs/architecture.md §2).

Every page cache is keyed on the snapshot version, so a refresh that changed 10 passages
would recompute analytics over the whole history. Where camps are computed one by one
(``events.evacuation_events``, ``population._contributions``), each camp's result is
kept here under a key made of exactly what that computation reads: the camp's rows (the
columns it uses, hashed vectorially by ``camp_fingerprints``) and every parameter. A new
version then recomputes only the camps whose rows changed; the others are a lookup.

The key is the rows' content, never a role or a version: a partner's view (coarser
positions, suppressed counts, other rows) hashes differently, so no result computed for
one role can be returned for another's rows unless those rows are identical.

``CampMemo`` is a process-wide LRU bounded by entries and by an estimate of their bytes,
guarded by a lock (pages run in threads). Stored values must not be mutated by callers.

``per_frame`` keeps what several analyses of one page derive from the same frame (the
passages in time order, each camp's place) for as long as that very frame object lives:
within a version, events, camp states, alerts and the population start from the same
dataset frame, and each used to sort it or place its camps again. Frames are read-only
once built (the dataset's, the role's, the filtered view's: carto/ui/data.py).
"""

from __future__ import annotations

import sys
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

import numpy as np
import pandas as pd
from pandas.util import hash_array, hash_pandas_object

_MISSING = object()
T = TypeVar("T")


# Multiplier that spreads a row's position within its camp (golden ratio, 64 bits).
_SPREAD = np.uint64(0x9E3779B97F4A7C15)


class CampMemo:
    """A thread-safe LRU of per-camp results, at most ``max_entries`` entries and about
    ``max_bytes`` bytes (the size each ``put`` states)."""

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, tuple[object, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        _ALL.append(self)

    def get(self, key: Hashable) -> object:
        """The value kept under ``key`` (now the most recent), or ``MISSING``."""
        with self._lock:
            found = self._items.get(key, _MISSING)
            if found is _MISSING:
                self.misses += 1
                return _MISSING
            self._items.move_to_end(key)
            self.hits += 1
            return found[0]  # type: ignore[index]

    def put(self, key: Hashable, value: object, size: int) -> None:
        """Keep ``value`` (about ``size`` bytes), dropping the least recently used."""
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._items[key] = (value, size)
            self._bytes += size
            while len(self._items) > self.max_entries or self._bytes > self.max_bytes:
                _, (_, dropped) = self._items.popitem(last=False)
                self._bytes -= dropped

    def get_or_make(
        self,
        fingerprint: Hashable | None,
        key: tuple[Hashable, ...],
        make: Callable[[], T],
        size: Callable[[T], int] | None = None,
    ) -> T:
        """The value kept for ``fingerprint`` and ``key``, else ``make()``, kept for them
        (about ``size`` of it bytes; ``size_of`` when not given). Rows with no
        fingerprint (``camp_fingerprints``) are never looked up nor kept."""
        if fingerprint is None:
            return make()
        found = self.get((fingerprint, *key))
        if found is not _MISSING:
            return found  # type: ignore[return-value]
        value = make()
        self.put((fingerprint, *key), value, size_of(value) if size is None else size(value))
        return value

    def clear(self) -> None:
        """Forget every entry (and the hit counts)."""
        with self._lock:
            self._items.clear()
            self._bytes = 0
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._items)


MISSING = _MISSING
_ALL: list[CampMemo] = []  # every memo of the process (a few, made at import)


def clear_all() -> None:
    """Forget every memo's entries and the ``per_frame`` values (a cold measurement;
    tests)."""
    for memo in _ALL:
        memo.clear()
    clear_frames()


def camp_fingerprints(
    rows: pd.DataFrame, columns: Sequence[str], by: str = "camp_id"
) -> dict[str, tuple[int, int, int, str]]:
    """Per camp of ``rows[by]``: (rows, two 64-bit sums, column types) identifying the
    values of ``columns`` in the order of ``rows`` (each row's hash is mixed with its
    position in its camp, so reordering rows changes the fingerprint). Rows without a
    camp are left out: such a camp has no fingerprint and is not kept."""
    if rows.empty:
        return {}
    per_row = hash_pandas_object(rows[list(columns)], index=False).to_numpy()
    codes, camps = pd.factorize(rows[by].astype("str"))
    known = codes >= 0  # rows without a camp have no fingerprint
    per_row, codes = per_row[known], codes[known]
    position = pd.Series(codes).groupby(codes, sort=False).cumcount().to_numpy(np.uint64)
    with np.errstate(over="ignore"):
        mixed = hash_array(per_row + position * _SPREAD)
        second = hash_array(mixed ^ per_row)
    # Sums modulo 2**64 (unsigned addition wraps): the order of rows is in ``mixed``.
    first_sum = np.zeros(len(camps), np.uint64)
    second_sum = np.zeros(len(camps), np.uint64)
    np.add.at(first_sum, codes, mixed)
    np.add.at(second_sum, codes, second)
    counts = np.bincount(codes, minlength=len(camps))
    types = ",".join(str(rows[c].dtype) for c in columns)
    return {
        str(cid): (int(n), int(a), int(b), types)
        for cid, n, a, b in zip(
            camps, counts.tolist(), first_sum.tolist(), second_sum.tolist(), strict=True
        )
    }


def size_of(value: object) -> int:
    """A rough size in bytes of a kept value (arrays by their buffers)."""
    if isinstance(value, np.ndarray):
        return int(value.nbytes) + 112
    if isinstance(value, (list, tuple)):
        return sys.getsizeof(value) + sum(size_of(v) for v in value)
    if isinstance(value, dict):
        return sys.getsizeof(value) + sum(size_of(v) for v in value.values())
    return sys.getsizeof(value)


# per_frame: (name, ids of the frames, extra) -> (weak references to the frames, value)
_FRAMES: OrderedDict[Hashable, tuple[tuple[weakref.ref[pd.DataFrame], ...], object]] = OrderedDict()
_FRAMES_LOCK = threading.RLock()  # reentrant: a weakref callback may run inside it
FRAME_ENTRIES = 32


def per_frame(
    name: str,
    frames: Sequence[pd.DataFrame],
    make: Callable[[], T],
    extra: tuple[Hashable, ...] = (),
) -> T:
    """``make()``, kept for these very frame objects (not equal ones) and ``extra``
    while they live (at most ``FRAME_ENTRIES`` entries, least recently used dropped).
    A frame of another role or version is another object: another entry. A kept
    DataFrame is handed out as a shallow copy (copy-on-write: a caller setting a column
    does not change the kept one)."""
    key = (name, *(id(f) for f in frames), *extra)
    with _FRAMES_LOCK:
        found = _FRAMES.get(key)
        if found is not None and all(r() is f for r, f in zip(found[0], frames, strict=True)):
            _FRAMES.move_to_end(key)
            return _handed(found[1])  # type: ignore[return-value]
    value = make()
    if isinstance(value, np.ndarray):
        value.flags.writeable = False

    def forget(_: object, key: Hashable = key) -> None:
        with _FRAMES_LOCK:
            _FRAMES.pop(key, None)

    refs = tuple(weakref.ref(f, forget) for f in frames)
    with _FRAMES_LOCK:
        _FRAMES[key] = (refs, value)
        _FRAMES.move_to_end(key)
        while len(_FRAMES) > FRAME_ENTRIES:
            _FRAMES.popitem(last=False)
    return _handed(value)  # type: ignore[return-value]


def _handed(value: object) -> object:
    return value.copy(deep=False) if isinstance(value, pd.DataFrame) else value


def clear_frames() -> None:
    """Forget every ``per_frame`` value (tests; a cold measurement)."""
    with _FRAMES_LOCK:
        _FRAMES.clear()
