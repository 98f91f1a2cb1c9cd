"""Frames made from one another, and per-camp results carried from one to the next
(docs/architecture.md §2).

A refresh that changed 10 passages makes a new dataset frame whose rows are the previous
one's but for a few. ``carto.prepared`` tags each frame it hands out with a *token*
naming its content (the digest of its manifest: two frames of one token hold the same
rows in the same order) and, when the process held the previous version, the new
token's *lineage*: the previous token and the camps whose rows differ
(``prepared.changed_camps``, ids before and after, from the rows of the chunks that
changed).

``by_camp`` keeps, per token, a frame of per-camp results; for a token whose parent's
result is kept, it computes only the changed camps' rows and splices them in.
``camp_keys`` gives each camp a fingerprint of its rows (``memo.camp_fingerprints``),
hashing again only the changed camps'. A frame without a token (a filtered view, a
frame a test built) is computed whole: nothing is shared between frames of different
content. A role's variant of a tagged frame (``tag_variant``: made camp by camp, as
``privacy.apply`` makes it) has a token of its own, the source's and the variant's
name together, and the source's lineage with the camps the variant changed besides
(a partner's pseudonyms): nothing crosses from one role to another.

Only for computations in which a camp's result depends on that camp's rows alone (and on
what the key holds besides): tests compare each with the cold computation after edits.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from carto.analytics.memo import MISSING, CampMemo, camp_fingerprints

CAMP = "camp_id"


@dataclass(frozen=True)
class Lineage:
    """A token's parent and the camps whose rows differ between them."""

    parent: Hashable
    camps: frozenset[str]


# id of a tagged frame -> (weak reference to it, its token)
_TAGS: dict[int, tuple[weakref.ref[pd.DataFrame], Hashable]] = {}
_LINEAGE: OrderedDict[Hashable, Lineage] = OrderedDict()
LINEAGE_ENTRIES = 16  # a few versions per frame name: the next refresh needs the last one
_LOCK = threading.RLock()  # reentrant: a weakref callback may run inside it
# Per-camp frames (``by_camp``) and fingerprints (``camp_keys``) by token: a few versions
# of a few analyses, each a row or a tuple per camp.
_RESULTS = CampMemo(max_entries=256, max_bytes=64 * 2**20)


def tag(frame: pd.DataFrame, token: Hashable) -> None:
    """Name ``frame``'s content ``token`` while it lives (the caller vouches that every
    frame tagged with one token holds the same rows, and that none is changed)."""

    def forget(_: object, key: int = id(frame)) -> None:
        with _LOCK:
            _TAGS.pop(key, None)

    with _LOCK:
        _TAGS[id(frame)] = (weakref.ref(frame, forget), token)


def token(frame: pd.DataFrame) -> Hashable | None:
    """The token ``frame`` was tagged with, if any."""
    with _LOCK:
        found = _TAGS.get(id(frame))
    if found is None or found[0]() is not frame:
        return None
    return found[1]


def follow(child: Hashable, parent: Hashable, camps: Iterable[str]) -> None:
    """Note that the frame of token ``child`` holds the rows of ``parent``'s but for
    those of ``camps``."""
    with _LOCK:
        _LINEAGE[child] = Lineage(parent, frozenset(camps))
        _LINEAGE.move_to_end(child)
        while len(_LINEAGE) > LINEAGE_ENTRIES:
            _LINEAGE.popitem(last=False)


def tag_variant(
    variant: pd.DataFrame,
    source: pd.DataFrame,
    name: Hashable,
    also_changed: Callable[[Hashable], frozenset[str] | None] | None = None,
) -> None:
    """Tag ``variant``, made from ``source`` so that each camp's rows come from that
    camp's rows alone and from what ``name`` holds (the variant's name, and the token
    of any other frame it was made from), with (``source``'s token, ``name``); when
    ``source``'s lineage is known, note the variant's: the variant of its parent, with
    the same camps and those ``also_changed(parent's variant token)`` names (None: no
    lineage noted, the next results are computed whole). Nothing when ``source`` has no
    token."""
    found = token(source)
    if found is None:
        return
    child: Hashable = (found, name)
    tag(variant, child)
    noted = lineage(found)
    if noted is None:
        return
    parent: Hashable = (noted.parent, name)
    more = frozenset() if also_changed is None else also_changed(parent)
    if more is not None:
        follow(child, parent, noted.camps | more)


def lineage(child: Hashable) -> Lineage | None:
    """What ``follow`` noted for ``child``."""
    with _LOCK:
        return _LINEAGE.get(child)


def clear() -> None:
    """Forget every lineage and kept result (tests; a cold measurement). Tags stay:
    they name contents, and go with their frames."""
    with _LOCK:
        _LINEAGE.clear()
        _CHANGED_ROWS.clear()
    _RESULTS.clear()


def rows_of(
    passages: pd.DataFrame, camps: Iterable[str], columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """The rows of ``camps``, in the frame's order; with ``columns``, only those of them
    the frame has, and the camp id (picking rows copies every column kept: at 100,000
    passages, dozens of columns a computation never reads)."""
    wanted = frozenset(camps)
    mask = _changed_rows(passages, wanted)
    if mask is None:
        mask = passages[CAMP].isin(sorted(wanted)).to_numpy(dtype=bool)
    if columns is not None:
        keys = dict.fromkeys([CAMP, *columns])
        passages = passages[[c for c in keys if c in passages.columns]]
    return passages[mask]


# Per token: the rows of the camps its lineage names (a mask), found once for the
# several analyses that take those camps' rows (each a pass over the whole frame).
_CHANGED_ROWS: OrderedDict[Hashable, tuple[frozenset[str], np.ndarray]] = OrderedDict()


def _changed_rows(passages: pd.DataFrame, camps: frozenset[str]) -> np.ndarray | None:
    """The mask of the rows of ``camps`` when they are the camps the frame's lineage
    names (kept for its token), else None."""
    name = token(passages)
    found = lineage(name) if name is not None else None
    if found is None or found.camps != camps:
        return None
    with _LOCK:
        kept = _CHANGED_ROWS.get(name)
    # kept with its camps: a token's lineage can be noted again from another parent (the
    # same content reached another way), naming other camps
    mask = kept[1] if kept is not None and kept[0] == camps else None
    if mask is None or len(mask) != len(passages):
        mask = passages[CAMP].isin(sorted(camps)).to_numpy(dtype=bool)
        mask.flags.writeable = False
        with _LOCK:
            _CHANGED_ROWS[name] = (camps, mask)
            _CHANGED_ROWS.move_to_end(name)
            while len(_CHANGED_ROWS) > LINEAGE_ENTRIES:
                _CHANGED_ROWS.popitem(last=False)
    return mask


Key = tuple[Hashable, ...]
Fingerprint = tuple[int, int, int, str]


def _key(name: str, frames: Sequence[pd.DataFrame], extra: Key) -> Key | None:
    """(name, token of each frame, extra), None when a frame has no token."""
    tokens = [token(f) for f in frames]
    if any(t is None for t in tokens):
        return None
    return (name, *tokens, *extra)


def _carried(
    name: str, frames: Sequence[pd.DataFrame], extra: Key
) -> tuple[object, frozenset[str]]:
    """(the kept result of the first frame's parent, with the other frames and ``extra``
    the same; the camps that changed since), or (``MISSING``, no camp)."""
    first = token(frames[0])
    found = lineage(first) if first is not None else None
    if found is None:
        return MISSING, frozenset()
    others = [token(f) for f in frames[1:]]
    return _RESULTS.get((name, found.parent, *others, *extra)), found.camps


def by_camp(
    name: str,
    frames: Sequence[pd.DataFrame],
    compute: Callable[[pd.DataFrame], pd.DataFrame],
    order: Callable[[pd.DataFrame], pd.DataFrame],
    extra: Key = (),
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """``compute(frames[0])``: a frame of rows per camp (camp ids in the index named
    ``camp_id``, else in a column of that name), each camp's rows made from that camp's
    passages alone, with ``frames[1:]`` and ``extra`` (which make the key with every
    frame's token). With a kept result of the passages' parent, only the changed camps'
    passages are computed and spliced in, then put in ``compute``'s order by ``order``;
    ``columns``: the only passage columns ``compute`` reads (the changed camps' rows are
    picked with those alone). Handed out as a shallow copy (copy-on-write)."""
    key = _key(name, frames, extra)
    if key is None:
        return compute(frames[0])
    found = _RESULTS.get(key)
    if isinstance(found, pd.DataFrame):
        return found.copy(deep=False)
    before, camps = _carried(name, frames, extra)
    if isinstance(before, pd.DataFrame):
        made = _spliced(before, compute(rows_of(frames[0], camps, columns)), camps, order)
    else:
        made = compute(frames[0])
    _RESULTS.put(key, made, int(made.memory_usage(index=True, deep=False).sum()))
    return made.copy(deep=False)


def _camp_ids(frame: pd.DataFrame) -> pd.Index | pd.Series:
    return frame.index if frame.index.name == CAMP else frame[CAMP]


def _spliced(
    before: pd.DataFrame,
    part: pd.DataFrame,
    camps: frozenset[str],
    order: Callable[[pd.DataFrame], pd.DataFrame],
) -> pd.DataFrame:
    """``before`` without the rows of ``camps``, with ``part`` (their new rows)."""
    kept = before[~np.asarray(_camp_ids(before).isin(sorted(camps)), dtype=bool)]
    if part.empty:
        return order(kept)
    if kept.empty:
        return order(part)
    return order(pd.concat([kept, part]))


def camp_keys(passages: pd.DataFrame, columns: Sequence[str]) -> dict[str, Fingerprint]:
    """``memo.camp_fingerprints(passages, columns)``, hashing again, for a frame whose
    parent's are kept, only the rows of the camps that changed. Not to be changed by
    the caller."""
    key = _key("camp_keys", [passages], tuple(columns))
    if key is None:
        return camp_fingerprints(passages, columns)
    found = _RESULTS.get(key)
    if isinstance(found, dict):
        return found
    before, camps = _carried("camp_keys", [passages], tuple(columns))
    if isinstance(before, dict):
        made = {c: v for c, v in before.items() if c not in camps}
        made.update(camp_fingerprints(rows_of(passages, camps, columns), columns))
    else:
        made = camp_fingerprints(passages, columns)
    _RESULTS.put(key, made, 200 * len(made))
    return made
