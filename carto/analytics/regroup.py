"""Camps and duplicate marks after a few passages or Sites changed, at the cost of the
change (docs/architecture.md §2): the frame ``camps.with_camps`` gives from scratch, from
the one it gave before.

``camps.assign_camps`` walks the passages without a Site (*loose*) in time order; each
joins the nearest camp within the radius whose visits span its date give or take the
gap, else starts one. A change can alter that walk only from the earliest date it
reaches: a changed passage's date, before or after; for a Site whose first or last
linked visit, position or existence changed, the first date whose test against it
differs (``_diverges``). From there, a passage is decided again only when it changed or
a *dirty* camp is within the 3 × 3 grid cells it looks at: a camp the new walk has in
another state than the old one. Every other passage would see exactly what it saw
before, so it keeps its camp. A camp is dirty from the place in the walk where the
walks part for it (a changed Site from that first date, the camp of a changed passage
from that passage's place), and when a passage decided again joins another camp, both
are. It is clean again once it is back in the old walk's state (a passage it lost is
followed by one both walks give it) or neither walk can give it another passage. A camp
that is not dirty is in the state the previous walk left it in at that moment, read
from the previous camps when first needed (``_Window``): its first visit, its position
and the latest of its passages before that moment.

Duplicate marks depend only on a camp's own passages: they are redone in the camps that
gained, lost or changed a passage. tests/test_camps_incremental.py checks the result
equals a grouping from scratch after random changes.
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from carto.analytics.camps import (
    AROUND,
    DUPLICATE_FLAG,
    DUPLICATE_WINDOW,
    M_PER_DEG_LAT,
    M_PER_DEG_LON_EQUATOR,
    epoch_seconds,
    grid_steps,
    mark_duplicates,
)
from carto.analytics.frames import sort_order

_NEVER = -(2**62)  # a time before every other: "before the window", for first or last visits
Order = tuple[int, int, str]  # a camp's place among the candidates (ties in distance)
Cell = tuple[int, int]


def _isin(column: pd.Series, values: Iterable[str]) -> np.ndarray:
    """Mask of the rows whose value is one of ``values`` (Arrow: one pass, no hashing of
    the column)."""
    wanted = sorted({str(v) for v in values})
    if not wanted or column.empty:
        return np.zeros(len(column), dtype=bool)
    found = pc.is_in(_strings(column), value_set=pa.array(wanted))
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)


def _strings(column: pd.Series) -> pa.Array:
    """A text column as one Arrow array (a column put together from pieces is several)."""
    found = pa.array(column.array, type=pa.string())
    return found.combine_chunks() if isinstance(found, pa.ChunkedArray) else found


def _micros(dates: pd.Series) -> np.ndarray:
    """Timestamps as microseconds (the order of the walk: date, then record id)."""
    utc = dates.dt.tz_convert("UTC").dt.tz_localize(None) if dates.dt.tz is not None else dates
    return utc.to_numpy(dtype="datetime64[us]").astype(np.int64)


def _before(micros: np.ndarray, ids: pa.Array, at: int, record_id: str) -> int:
    """How many passages, in the walk's order (``micros`` and ``ids``: date and id),
    come before the one of date ``at`` and id ``record_id``."""
    i = int(np.searchsorted(micros, at, side="left"))
    j = int(np.searchsorted(micros, at, side="right"))
    return i + bisect.bisect_left(ids[i:j].to_pylist(), record_id) if j > i else i


@dataclass
class _State:
    """A camp as the walk has it at some moment."""

    exists: bool
    first: int = 0
    last: int = _NEVER
    lat: float = math.nan
    lon: float = math.nan
    order: Order = (0, 0, "")


@dataclass(frozen=True)
class _Span:
    """What the walk reads of a linked Site: its position and linked visits' span."""

    lat: float
    lon: float
    first: int
    last: int


@dataclass
class _Static:
    """A camp of the previous walk that may matter from the window on: where it is, its
    first visit, the last one of its linked passages, and its loose passages in the
    window (ranks in the window's order, seconds)."""

    lat: float
    lon: float
    first: int
    last: int
    order: Order
    start_rank: int  # rank of the passage that started it (-1: a Site, or before the window)
    ranks: list[int] = field(default_factory=list)
    seconds: list[int] = field(default_factory=list)
    changed: int = -1  # rank of its latest passage changed since (the new walk lacks it)

    def joined(self, rank: int) -> int:
        """The date of the latest of its loose passages before that rank."""
        i = bisect.bisect_left(self.ranks, rank)
        return self.seconds[i - 1] if i else _NEVER

    def at(self, rank: int) -> _State:
        """Its state just before the passage of that rank in the previous walk."""
        if rank <= self.start_rank:
            return _State(False)
        last = max(self.last, self.joined(rank))
        return _State(True, self.first, last, self.lat, self.lon, self.order)


class _Walk:
    """The walk's radius, gap (seconds) and grid cells, as ``camps.assign_camps``."""

    def __init__(self, radius_m: float, gap_days: int) -> None:
        self.radius = radius_m
        self.gap = gap_days * 86_400
        self.lat_step, self.lon_step = grid_steps(radius_m)  # the grid of camps.assign_camps

    def cell(self, lat: float, lon: float) -> Cell:
        return int(lat // self.lat_step), int(lon // self.lon_step)


def _located(
    spans: dict[str, tuple[int, int]], ids: set[str], sites: pd.DataFrame
) -> dict[str, _Span]:
    """The walk's view of those Sites: where they are and their linked visits' span."""
    where = _positions(sites)
    return {
        site: _Span(*where[site], *spans[site]) for site in ids if site in spans and site in where
    }


def _spans_now(
    before: dict[str, tuple[int, int]],
    ids: set[str],
    passages: pd.DataFrame,
    old: pd.DataFrame,
    linked: tuple[np.ndarray, np.ndarray],
    redo: tuple[np.ndarray, np.ndarray],
    seconds: tuple[np.ndarray, np.ndarray],
) -> dict[str, tuple[int, int]]:
    """The span of those Sites' linked visits now, from ``before`` (the previous
    passages'): grown by the passages written since; read again from the passages when
    one that left a Site was its first or last visit."""
    gone = old.loc[redo[1] & linked[1], "site_id"].to_list()
    gone_seconds = seconds[1][redo[1] & linked[1]].tolist()
    added = passages.loc[redo[0] & linked[0], "site_id"].to_list()
    added_seconds = seconds[0][redo[0] & linked[0]].tolist()
    out = {}
    for site in ids:
        span = before.get(site)
        if span is not None and any(
            g == site and sec in span for g, sec in zip(gone, gone_seconds, strict=True)
        ):
            rows = linked[0] & _isin(passages["site_id"], [site])
            span = (
                (int(seconds[0][rows].min()), int(seconds[0][rows].max())) if rows.any() else None
            )
        for a, sec in zip(added, added_seconds, strict=True):
            if a == site:
                span = (min(span[0], sec), max(span[1], sec)) if span else (sec, sec)
        if span is not None:
            out[site] = span
    return out


def _positions(sites: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """Each Site's position, by id."""
    return {
        str(s): (float(a), float(b))
        for s, a, b in zip(
            sites["record_id"].to_list(),
            sites["latitude"].to_list(),
            sites["longitude"].to_list(),
            strict=True,
        )
    }


def _diverges(old: _Span | None, new: _Span | None, gap: int) -> int | None:
    """The first date (seconds) whose test against this Site differs between the walks
    (None: it never does). The test is ``first - gap <= date <= last + gap`` (``last``
    grown by loose passages that joined it): with the same first visit and position,
    it cannot differ up to the smaller last visit plus the gap."""
    if old == new:
        return None
    if old is None or new is None or (old.lat, old.lon, old.first) != (new.lat, new.lon, new.first):
        return min(s.first for s in (old, new) if s is not None) - gap
    return min(old.last, new.last) + gap + 1


class _Window:
    """The previous walk from ``low`` (``start`` less the gap) on: its loose passages
    in time order (a passage's *rank* is its place there) and the camps a passage dated
    from ``start`` on may join (one whose latest visit is before ``low`` cannot), each
    read when first asked for (``static``): a change reaches a few of them."""

    def __init__(
        self,
        old: pd.DataFrame,
        linked: np.ndarray,
        redo: np.ndarray,
        seconds: np.ndarray,
        sites: pd.DataFrame,
        start: int,
        walk: _Walk,
    ) -> None:
        self.old, self.linked, self.seconds_all = old, linked, seconds
        self.start, self.gap = start, walk.gap
        self.low = low = start - walk.gap
        rows = np.flatnonzero(~linked & (seconds >= low))
        rows = rows[sort_order(old[["date", "record_id"]].iloc[rows], ["date", "record_id"])]
        part = old[["date", "record_id", "latitude", "longitude", "camp_id"]].iloc[rows]
        self.changed = redo[rows]
        self.micros = _micros(part["date"])
        self.seconds = epoch_seconds(part["date"])
        self.ids = _strings(part["record_id"])
        camps = _strings(part["camp_id"])
        # each camp's passages in the window, in order
        encoded = camps.dictionary_encode()
        codes = encoded.indices.to_numpy(zero_copy_only=False)
        names = encoded.dictionary.to_pylist()
        self.by_camp = np.argsort(codes, kind="stable")
        self.bounds = np.searchsorted(codes[self.by_camp], np.arange(len(names) + 1))
        self.code = {str(n): k for k, n in enumerate(names)}
        # where the camps the loose passages started are: their first passage
        starts = pc.equal(camps, pc.binary_join_element_wise("P-", self.ids, ""))
        self.first: dict[str, tuple[int, int, int, str, float, float]] = {}
        at = np.flatnonzero(np.asarray(starts.to_numpy(zero_copy_only=False), dtype=bool))
        lats = part["latitude"].to_numpy(dtype=float)
        lons = part["longitude"].to_numpy(dtype=float)
        for n in at.tolist():
            rid = str(self.ids[n].as_py())
            us, sec = int(self.micros[n]), int(self.seconds[n])
            self.first["P-" + rid] = (n, us, sec, rid, float(lats[n]), float(lons[n]))
        self.where = _positions(sites)
        self.grid: dict[Cell, set[str]] = {}  # every camp that may matter, by its cell
        for name, (_, _, _, _, lat, lon) in self.first.items():
            self.grid.setdefault(walk.cell(lat, lon), set()).add(name)
        for site, (lat, lon) in self.where.items():
            self.grid.setdefault(walk.cell(lat, lon), set()).add("S-" + site)
        # the camps started before the window: found when first asked for, in the cells
        # around one of their passages in it (a passage is in a cell next to its camp's)
        self.earlier = [c for c in self.code if c.startswith("P-") and c not in self.first]
        for name in self.earlier:
            n = int(self.by_camp[self.bounds[self.code[name]]])
            cy, cx = walk.cell(float(lats[n]), float(lons[n]))
            for dy, dx in AROUND:
                self.grid.setdefault((cy + dy, cx + dx), set()).add(name)
        self.spans: dict[str, tuple[int, int]] | None = None  # Site: first, last visit
        self.statics: dict[str, _Static | None] = {}

    def _starts_before(self) -> None:
        """Where and when the camps started before the window started (read once)."""
        wanted = {c[2:] for c in self.earlier}
        self.earlier = []
        found = np.flatnonzero(_isin(self.old["record_id"], wanted))
        head = self.old[["record_id", "date", "latitude", "longitude"]].iloc[found]
        for rid, us, sec, lat, lon in zip(
            head["record_id"].to_list(),
            _micros(head["date"]).tolist(),
            epoch_seconds(head["date"]).tolist(),
            head["latitude"].to_list(),
            head["longitude"].to_list(),
            strict=True,
        ):
            self.first["P-" + rid] = (-1, us, sec, rid, lat, lon)

    def rank(self, micros: int, record_id: str) -> int:
        """How many of the window's passages come before (date, id) in the walk."""
        return _before(self.micros, self.ids, micros, record_id)

    def static(self, name: str) -> _Static | None:
        """The camp of the previous walk (None: it cannot matter from ``start`` on)."""
        if name not in self.statics:
            self.statics[name] = self._read(name)
        return self.statics[name]

    def _read(self, name: str) -> _Static | None:
        if name.startswith("S-"):
            static = self._site(name[2:])
        elif name.startswith("P-") and name in self.code:
            if name not in self.first:
                self._starts_before()
            n, us, sec, rid, lat, lon = self.first[name]
            static = _Static(lat, lon, sec, sec, (1, us, rid), n)
        else:
            return None
        if static is not None and name in self.code:
            k = self.code[name]
            ranks = self.by_camp[self.bounds[k] : self.bounds[k + 1]]
            static.ranks = ranks.tolist()
            static.seconds = self.seconds[ranks].tolist()
            lost = ranks[self.changed[ranks]]
            static.changed = int(lost[-1]) if len(lost) else -1
        return static

    def _site(self, site: str) -> _Static | None:
        """A linked Site: its position and its linked visits' span."""
        if self.spans is None:
            self.spans = _all_spans(self.old["site_id"], self.linked, self.seconds_all)
        span = self.spans.get(site)
        if site not in self.where or span is None:
            return None
        if span[1] < self.low and "S-" + site not in self.code:
            return None  # nothing joins it from ``start`` on
        return _Static(*self.where[site], span[0], span[1], (0, 0, site), -1)


def _all_spans(
    site_ids: pd.Series, linked: np.ndarray, seconds: np.ndarray
) -> dict[str, tuple[int, int]]:
    """The first and last date (seconds) of every Site's linked rows (one pass)."""
    encoded = _strings(site_ids).dictionary_encode()
    rows = np.flatnonzero(linked)
    codes = encoded.indices.to_numpy(zero_copy_only=False)[rows].astype(np.int64)
    first = np.full(len(encoded.dictionary), np.iinfo(np.int64).max)
    last = np.full(len(encoded.dictionary), np.iinfo(np.int64).min)
    np.minimum.at(first, codes, seconds[rows])
    np.maximum.at(last, codes, seconds[rows])
    seen = np.zeros(len(first), dtype=bool)
    seen[codes] = True
    names = encoded.dictionary.to_pylist()
    return {str(names[k]): (int(first[k]), int(last[k])) for k in np.flatnonzero(seen).tolist()}


def _loose_again(
    passages: pd.DataFrame,
    old: pd.DataFrame,
    linked: tuple[np.ndarray, np.ndarray],
    redo: tuple[np.ndarray, np.ndarray],
    seconds: tuple[np.ndarray, np.ndarray],
    walk: _Walk,
    sites: tuple[pd.DataFrame, pd.DataFrame, set[str]],
) -> dict[int, str]:
    """The camps of the loose passages decided again (row position: camp id), each
    pair being (now, before)."""
    new_sites, old_sites, sites_changed = sites
    gap = walk.gap
    affected = set(sites_changed)
    affected |= set(passages.loc[redo[0], "site_id"].dropna())
    affected |= set(old.loc[redo[1], "site_id"].dropna())
    every = _all_spans(old["site_id"], linked[1], seconds[1])
    spans_old = _located(every, affected, old_sites)
    spans_new = _located(
        _spans_now(every, affected, passages, old, linked, redo, seconds), affected, new_sites
    )
    starts: list[int] = []
    dirty_sites: dict[str, tuple[_Span | None, _Span | None]] = {}
    for site in affected:
        at = _diverges(spans_old.get(site), spans_new.get(site), gap)
        if at is not None:
            dirty_sites[site] = (spans_old.get(site), spans_new.get(site))
            starts.append(at)
    loose_redo = redo[0] & ~linked[0]
    old_loose_redo = redo[1] & ~linked[1]
    starts += seconds[0][loose_redo].tolist() + seconds[1][old_loose_redo].tolist()
    if not starts:
        return {}
    start = min(starts)
    window = _Window(old, linked[1], redo[1], seconds[1], old_sites, start, walk)
    window.spans = every
    again = _Again(walk, window, passages, ~linked[0] & (seconds[0] >= start), redo[0], start)
    again.changed_sites = {site: after for site, (_, after) in dirty_sites.items()}
    # A changed Site is dirty from the first date its test differs, the camp of a
    # passage changed since from that passage's place in the previous walk: up to
    # there, both walks see the same.
    for site, (before, after) in sorted(dirty_sites.items()):
        at = _diverges(before, after, gap)
        assert at is not None
        rank = int(np.searchsorted(window.seconds, at, side="left"))
        place = int(np.searchsorted(again.seconds, at, side="left"))
        where = [walk.cell(before.lat, before.lon)] if before is not None else []
        again.later(place, rank, "S-" + site, where)
    gone = old.loc[old_loose_redo, ["date", "record_id", "camp_id"]]
    for us, rid, camp in zip(
        _micros(gone["date"]).tolist(),
        gone["record_id"].to_list(),
        gone["camp_id"].to_list(),
        strict=True,
    ):
        again.later(again.place(us, str(rid)), window.rank(us, str(rid)), str(camp), [])
    for i in np.flatnonzero(again.redo):
        again.push(int(i))
    return again.run()


def _site_state(site: str, span: _Span | None, window: _Window, rank: int) -> _State:
    """A dirty Site at the start of the walk: its new span, grown by the loose passages
    that joined it before."""
    if span is None:
        return _State(False)
    static = window.static("S-" + site)
    joined = static.joined(rank) if static is not None else _NEVER
    return _State(True, span.first, max(span.last, joined), span.lat, span.lon, (0, 0, site))


class _Again:
    """The walk over the loose passages dated from the start, deciding again those that
    may decide otherwise: the passages near a dirty camp (a heap of their places in the
    walk, in time order). A dirty camp stops being one when the new walk brings it back
    to the state the old one had at that moment (a passage it lost is followed by one
    both walks give it), or when neither walk can give it another passage (its latest
    visit more than the gap ago): the passages near it are then decided as before."""

    def __init__(
        self,
        walk: _Walk,
        window: _Window,
        passages: pd.DataFrame,
        rows: np.ndarray,
        redo: np.ndarray,
        start: int,
    ) -> None:
        self.walk, self.window, self.start = walk, window, start
        at = np.flatnonzero(rows)
        part = passages[["date", "record_id", "latitude", "longitude", "camp_id"]].iloc[at]
        order = sort_order(part, ["date", "record_id"])
        part = part.iloc[order]
        self.rows = at[order]
        self.micros = _micros(part["date"])
        self.ids = _strings(part["record_id"])
        self.seconds = epoch_seconds(part["date"])
        self.lats = part["latitude"].to_numpy(dtype=float)
        self.lons = part["longitude"].to_numpy(dtype=float)
        self.carried = _strings(part["camp_id"])
        self.redo = redo[self.rows]
        self.cy = np.floor_divide(self.lats, walk.lat_step).astype(np.int64)
        self.cx = np.floor_divide(self.lons, walk.lon_step).astype(np.int64)
        self.grid = window.grid  # the camps by the cell they are in (dirty ones added)
        self.dirty: dict[str, _State] = {}
        self.near: dict[Cell, set[str]] = {}  # dirty camps by the cells they are (were) in
        self.cells: dict[str, set[Cell]] = {}
        # the places of the passages by cell, and their cells' keys in that order
        keys = self.cy * 2**32 + self.cx
        self.by_cell = np.argsort(keys, kind="stable")
        self.cell_keys = keys[self.by_cell]
        self.streams: dict[Cell, int] = {}  # the next place queued in a cell looked at
        self.heap: list[int] = []
        self.queued: set[int] = set()
        # camps that become dirty before the passage at a place: (rank, name, cells)
        self.events: dict[int, list[tuple[int, str, list[Cell]]]] = {}
        self.changed_sites: dict[str, _Span | None] = {}  # their new span

    def key(self, i: int) -> tuple[int, str]:
        return int(self.micros[i]), str(self.ids[i].as_py())

    def around(self, i: int) -> set[Cell]:
        cy, cx = int(self.cy[i]), int(self.cx[i])
        return {(cy + dy, cx + dx) for dy, dx in AROUND}

    def place(self, micros: int, record_id: str) -> int:
        """How many of the passages walked again come before (date, id)."""
        return _before(self.micros, self.ids, micros, record_id)

    def later(self, place: int, rank: int, name: str, cells: list[Cell]) -> None:
        """The camp becomes dirty before the passage at ``place``, as it was before
        ``rank`` in the previous walk (and is looked for in ``cells`` too: where it
        was). Events at one place happen in the order of their ranks: a camp that
        lost a passage is dirty from there, before any later event reads its state."""
        self.events.setdefault(place, []).append((rank, name, cells))
        self.push(place)

    def push(self, i: int) -> None:
        if i not in self.queued:
            self.queued.add(i)
            heapq.heappush(self.heap, i)

    def heat(self, cell: Cell, after: int) -> None:
        """The passages after place ``after`` that may see a camp in this cell: looked
        at again, in each cell around it one after the other while a dirty camp is near
        (``follow``)."""
        cy, cx = cell
        for dy, dx in AROUND:
            near = (cy + dy, cx + dx)
            if near not in self.streams:
                self.follow(near, after)

    @staticmethod
    def cell_key(cell: Cell) -> int:
        return cell[0] * 2**32 + cell[1]

    def follow(self, cell: Cell, after: int) -> None:
        """Queue the first passage of the cell after place ``after``."""
        key = self.cell_key(cell)
        a, b = np.searchsorted(self.cell_keys, [key, key + 1])
        places = self.by_cell[a:b]  # in order (a stable sort of places)
        k = int(np.searchsorted(places, after, side="right"))
        if k < len(places):
            self.streams[cell] = int(places[k])
            self.push(int(places[k]))

    def now(self, name: str, rank: int) -> _State:
        """The camp in the new walk before the passage of that rank, while it was not
        dirty: as in the previous walk, but a changed Site with its new span."""
        if name.startswith("S-") and name[2:] in self.changed_sites:
            return _site_state(name[2:], self.changed_sites[name[2:]], self.window, rank)
        return self.old(name, rank)

    def old(self, name: str, rank: int) -> _State:
        """The camp in the previous walk, before the passage of that rank."""
        static = self.window.static(name)
        return static.at(rank) if static is not None else _State(False)

    def mark(self, name: str, state: _State, after: int, where: Iterable[Cell] = ()) -> None:
        """The camp is dirty from place ``after`` on, in this state (and looked for in
        the cells ``where`` too)."""
        self.dirty[name] = state
        cells = self.cells.setdefault(name, set())
        cells.update(where)
        static = self.window.static(name)
        if static is not None:
            cells.add(self.walk.cell(static.lat, static.lon))
        if state.exists:
            cell = self.walk.cell(state.lat, state.lon)
            cells.add(cell)
            self.grid.setdefault(cell, set()).add(name)
        for cell in cells:
            self.near.setdefault(cell, set()).add(name)
            self.heat(cell, after)

    def clean(self, name: str) -> None:
        """The camp is in the same state in both walks again (or out of reach in both)."""
        del self.dirty[name]
        for cell in self.cells.pop(name, ()):
            self.near[cell].discard(name)

    def effective(self, state: _State) -> tuple[object, ...]:
        """What a state decides for a passage dated from the start on: a first visit
        that far back, or a last one before the window, all decide alike."""
        if not state.exists:
            return (False,)
        gap = self.walk.gap
        first = state.first if state.first - gap > self.start else _NEVER
        last = state.last if state.last >= self.start - gap else _NEVER
        return (True, first, last, state.lat, state.lon, state.order)

    def settle(self, name: str, rank: int) -> None:
        """Clean the dirty camp if its state is the previous walk's before ``rank``, and
        the previous walk gives it no passage changed since at or after that rank."""
        static = self.window.static(name)
        if static is not None and static.changed >= rank:
            return
        if self.effective(self.dirty[name]) == self.effective(self.old(name, rank)):
            self.clean(name)

    def out_of_reach(self, name: str, when: int, rank: int) -> bool:
        """Whether neither walk can give the camp a passage dated ``when`` or later."""
        gap = self.walk.gap
        now = self.dirty[name]
        if now.exists and now.last + gap >= when:
            return False
        static = self.window.static(name)
        if static is None:
            return True
        before = static.at(rank)
        if not before.exists:
            return rank > static.start_rank  # else: it starts later in the old walk
        return before.last + gap < when

    def dirty_near(self, i: int) -> bool:
        return any(self.near.get(cell) for cell in self.around(i))

    def choose(self, i: int, rank: int) -> str | None:
        """The camp the walk gives the passage at place ``i`` (None: it starts one)."""
        walk, when = self.walk, int(self.seconds[i])
        lat, lon = float(self.lats[i]), float(self.lons[i])
        around = self.around(i)
        m_per_deg_lon = M_PER_DEG_LON_EQUATOR * math.cos(math.radians(lat))
        best: tuple[float, Order] | None = None
        chosen = None
        seen: set[str] = set()
        for cell in around:
            for name in self.grid.get(cell, ()):
                if name in seen:
                    continue
                seen.add(name)
                if name in self.dirty and self.out_of_reach(name, when, rank):
                    self.clean(name)
                state = self.dirty.get(name) or self.old(name, rank)
                if not state.exists or walk.cell(state.lat, state.lon) not in around:
                    continue
                if not state.first - walk.gap <= when <= state.last + walk.gap:
                    continue
                d = math.hypot((state.lat - lat) * M_PER_DEG_LAT, (state.lon - lon) * m_per_deg_lon)
                if d <= walk.radius and (best is None or (d, state.order) < best):
                    best, chosen = (d, state.order), name
        return chosen

    def run(self) -> dict[int, str]:
        """Each passage looked at again, in time order: decided again when it is new or
        changed or a dirty camp is near it; its camp, by row position."""
        out: dict[int, str] = {}
        while self.heap:
            i = heapq.heappop(self.heap)
            for rank, name, where in sorted(self.events.pop(i, [])):
                # dirty already: its state is the new walk's; look where it was too
                state = self.dirty[name] if name in self.dirty else self.now(name, rank)
                self.mark(name, state, i - 1, where)
            if i >= len(self.rows):
                continue
            cell = (int(self.cy[i]), int(self.cx[i]))
            streamed = self.streams.get(cell) == i
            if streamed:
                del self.streams[cell]
            if self.dirty_near(i) or self.redo[i]:
                self.decide(i, out)
            if streamed and self.dirty_near(i):
                self.follow(cell, i)  # the next passage of this cell, while it matters
        return out

    def decide(self, i: int, out: dict[int, str]) -> None:
        """Decide again the passage at place ``i`` (its camp into ``out``) and mark dirty
        the camps that differ from the previous walk for it."""
        rank = self.window.rank(*self.key(i))
        chosen = self.choose(i, rank)
        when = int(self.seconds[i])
        started = None
        if chosen is None:
            chosen = "P-" + str(self.ids[i].as_py())
            lat, lon = float(self.lats[i]), float(self.lons[i])
            started = _State(True, when, when, lat, lon, (1, *self.key(i)))
        before = None if self.redo[i] else str(self.carried[i].as_py())
        if before != chosen:
            if before is not None and before not in self.dirty:
                self.mark(before, self.now(before, rank), i)
            if chosen not in self.dirty:
                self.mark(chosen, self.now(chosen, rank), i)
        if chosen in self.dirty:
            if started is not None:
                self.mark(chosen, started, i)
            else:
                held = self.dirty[chosen]
                held.last = max(held.last, when)
            # the previous walk's state after this passage (in its window if kept)
            self.settle(chosen, rank + (0 if self.redo[i] else 1))
        out[int(self.rows[i])] = chosen


def regroup(
    passages: pd.DataFrame,
    sites: pd.DataFrame,
    radius_m: float,
    gap_days: int,
    previous: tuple[pd.DataFrame, pd.DataFrame],
    source: np.ndarray,
    sites_changed: set[str],
) -> tuple[pd.DataFrame, np.ndarray]:
    """``camps.with_camps(passages, sites, ...)`` from its previous result.

    ``previous``: the passages ``with_camps`` gave last (same radius and gap) and the
    Sites it was given. ``source``: for each row of ``passages``, the position in the
    previous passages of the row it is, unchanged in what the grouping reads and with
    the ``camp_id``, ``is_duplicate`` and flags it had there; or -1 for a passage
    written since (no camp, no duplicate flag yet). A previous row no row comes from
    was deleted or written since. ``sites_changed``: the Site ids written or deleted
    since (a passage linked to one of them, before or now, is one written since).
    Returns the passages and the mask of the rows that changed (those written since
    and those whose camp or mark moved)."""
    old, old_sites = previous
    walk = _Walk(radius_m, gap_days)
    redo = source < 0
    kept = source[~redo]
    old_redo = np.ones(len(old), dtype=bool)
    old_redo[kept] = False
    old_linked = _isin(old["site_id"], old_sites["record_id"])
    old_seconds = epoch_seconds(old["date"])
    linked = np.zeros(len(passages), dtype=bool)
    linked[~redo] = old_linked[kept]
    linked[redo] = _isin(passages["site_id"][redo], sites["record_id"])
    seconds = np.zeros(len(passages), dtype=np.int64)
    seconds[~redo] = old_seconds[kept]
    seconds[redo] = epoch_seconds(passages["date"][redo])

    decided = {
        int(i): "S-" + str(site)
        for i, site in zip(
            np.flatnonzero(redo & linked), passages["site_id"][redo & linked], strict=True
        )
    }
    decided |= _loose_again(
        passages,
        old,
        (linked, old_linked),
        (redo, old_redo),
        (seconds, old_seconds),
        walk,
        (sites, old_sites, sites_changed),
    )
    at = np.fromiter(sorted(decided), dtype=np.int64, count=len(decided))
    carried = passages["camp_id"].iloc[at].to_numpy(dtype=object)
    now = np.array([decided[i] for i in at.tolist()], dtype=object)
    moved = np.zeros(len(passages), dtype=bool)
    moved[at] = now != carried
    moved &= ~redo
    # where duplicate marks may change: each camp that gained, lost or changed a
    # passage, at that passage's date
    changed = moved[at] | redo[at]
    anchors = list(zip(now[changed].tolist(), seconds[at][changed].tolist(), strict=True))
    anchors += zip(carried[moved[at]].tolist(), seconds[at][moved[at]].tolist(), strict=True)
    gone = old_redo & old["camp_id"].notna().to_numpy(dtype=bool)
    anchors += zip(old["camp_id"][gone].to_list(), old_seconds[gone].tolist(), strict=True)
    camp = passages["camp_id"].copy()
    if len(at):
        camp.iloc[at] = now
    return _marked(passages.assign(camp_id=camp), redo, moved, anchors, seconds)


def _marked(
    passages: pd.DataFrame,
    redo: np.ndarray,
    moved: np.ndarray,
    anchors: list[tuple[str, int]],
    seconds: np.ndarray,
) -> tuple[pd.DataFrame, np.ndarray]:
    """The duplicate marks redone where they may change, the flag added or removed
    where the mark changed; with the mask of the rows that changed.

    A passage is a duplicate when one of its camp (and association) came before it
    within the window. So a passage that came or went at a camp (``anchors``: camp,
    date in seconds) can change the marks of that camp's passages in the window after
    it, and those read the passages in the window before them: only the rows that
    close in time are read (their dates in whole seconds, hence a second's margin)."""
    dup = passages["is_duplicate"].to_numpy(dtype=bool, copy=True)
    dup[redo] = False  # not marked yet
    fresh = dup.copy()
    reach = int(DUPLICATE_WINDOW.total_seconds()) + 2
    times: dict[str, list[int]] = {}
    for camp, when in anchors:
        times.setdefault(str(camp), []).append(int(when))
    if times:
        every = np.unique([t for found in times.values() for t in found])
        low = np.searchsorted(every, seconds - 2 * reach, side="left")
        high = np.searchsorted(every, seconds + 2 * reach, side="right")
        near = np.flatnonzero(high > low)
        keys = ["camp_id", "association", "date", "created_time", "record_id"]
        rows = passages[keys].iloc[near]
        ours = _isin(rows["camp_id"], times)
        rows, near = rows[ours], near[ours]
        marks = mark_duplicates(rows).to_numpy(dtype=bool)
        for found in times.values():
            found.sort()
        pairs = zip(rows["camp_id"].to_list(), seconds[near].tolist(), strict=True)
        for k, (camp, when) in enumerate(pairs):
            found = times[str(camp)]
            j = bisect.bisect_right(found, when + 1)  # an anchor at most a second after
            if j and found[j - 1] >= when - reach:
                fresh[near[k]] = marks[k]
    flip = fresh != dup  # rows of ``redo``: marked now; others: mark changed
    if not flip.any():
        return passages.assign(is_duplicate=fresh), redo | moved
    codes = passages["flag_codes"].to_numpy(dtype=object, copy=True)
    params = passages["flag_params"].to_numpy(dtype=object, copy=True)
    for i in np.flatnonzero(flip):
        if fresh[i]:
            codes[i], params[i] = [*codes[i], DUPLICATE_FLAG], [*params[i], {}]
        else:  # the flag ``flag_duplicates`` added last
            codes[i], params[i] = codes[i][:-1], params[i][:-1]
    out = passages.assign(
        is_duplicate=fresh,
        flag_codes=pd.Series(codes, index=passages.index, dtype=object),
        flag_params=pd.Series(params, index=passages.index, dtype=object),
    )
    return out, redo | moved | flip
