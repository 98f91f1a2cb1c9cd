"""What keeps the page process's memory bounded (issue 15): chunks that own their rows,
large buffers handed back to the system when freed."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from carto import chunks, demo, memory, prepared
from carto.dataset import recipe
from carto.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = Settings({"airtable": {"base_id": "appMEMORY00000001"}})


def test_encoded_chunks_hold_only_their_own_rows() -> None:
    """A chunk kept across refreshes (``prepared._CHUNKS``) must not keep the whole
    table it was cut from: each refresh would keep one more copy of every column."""
    base = demo.generate(seed=3, days=60, today=dt.date(2026, 11, 20), n_camps=6)
    frames = prepared.build(base.sites, base.passages, recipe(SETTINGS))
    spans = [(a, b) for _, a, b in chunks.runs(chunks.keys(frames.passages))]
    assert len(spans) >= 4, "several weekly chunks"
    encoded = prepared.encode_chunks("passages", frames.passages, spans)
    whole = sum(part[0].nbytes for _, part in encoded)
    for (a, b), (data, (table, _)) in zip(spans, encoded, strict=True):
        assert table.num_rows == b - a
        # its buffers are its rows' (a slice would reference every row's buffers)
        assert table.get_total_buffer_size() <= table.nbytes + 64 * table.num_columns
        assert table.get_total_buffer_size() < whole / 2
        decoded, _ = prepared.decode_chunk(data)
        assert decoded.equals(table)


# Run in a fresh process: a block is mapped only when the heap has no free space for it,
# and after other tests the heap of this one may have.
_MAPPED = """
import ctypes, sys
from carto import memory
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
if sys.argv[1] == "tune":
    memory.tune()

def mapped(size):
    # the IS_MMAPPED bit (2) of the chunk's size word, just before the block
    block = libc.malloc(size)
    word = ctypes.c_size_t.from_address(block - ctypes.sizeof(ctypes.c_size_t)).value
    libc.free(block)
    return bool(word & 2)

big = mapped(8 * 2**20)  # freed: glibc alone then raises its threshold to 8 MiB
print(big, mapped(memory.MMAP_THRESHOLD * 16), mapped(1024))
"""


def _mapped(tune: bool) -> list[str]:
    """Whether blocks of 8 MiB, then 2 MiB, then 1 KiB get a mapping of their own, in a
    fresh process (after ``memory.tune`` or not)."""
    done = subprocess.run(
        [sys.executable, "-c", _MAPPED, "tune" if tune else "plain"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return done.stdout.split()


@pytest.mark.skipif(memory._LIBC is None, reason="glibc only")
def test_large_buffers_get_blocks_of_their_own() -> None:
    """After ``tune``, a column-sized buffer is mapped on its own (unmapped when freed),
    whatever was freed before: glibc's own threshold rises to the largest mapped block
    freed (up to 32 MiB), after which 100,000-row columns came from the heap, whose
    freed holes the process kept."""
    assert _mapped(tune=False) == ["True", "False", "False"]  # what tune changes
    assert _mapped(tune=True) == ["True", "True", "False"]


def test_decoded_lists_share_their_repeated_values() -> None:
    """Every empty cell of a decoded chunk is one list and every repeated string one
    object, in each chunk and across chunks: a copy per cell took most of the lists'
    memory at 100,000 passages."""
    base = demo.generate(seed=3, days=60, today=dt.date(2026, 11, 20), n_camps=6)
    frames = prepared.build(base.sites, base.passages, recipe(SETTINGS))
    spans = [(a, b) for _, a, b in chunks.runs(chunks.keys(frames.passages))]
    decoded = [
        prepared.decode_chunk(data)[1]
        for data, _ in prepared.encode_chunks("passages", frames.passages, spans)
    ]
    needs = [cell for lists in decoded for cell in lists["needs"]]
    assert needs == frames.passages["needs"].to_list()  # the same values
    empty = {id(cell) for cell in needs if cell == []}
    assert len(empty) <= len(spans) and len(empty) < sum(1 for c in needs if c == [])
    items = [item for cell in needs for item in cell]
    assert len(items) > len(set(items)), "repeated needs"
    assert len({id(item) for item in items}) == len(set(items))


def test_the_idle_collection_waits_for_the_pages_then_frees_frozen_cycles() -> None:
    """``collect_when_idle`` collects nothing while pages run (``busy``), then, in its
    own thread, the garbage cycles that were frozen with a dataset (never collected by
    the collector's own runs), and freezes what is left."""
    import gc
    import threading
    import weakref

    class Node:
        pass

    assert memory.wait_collected(timeout=60)  # none left pending by another test
    cycle = Node()
    cycle.self = cycle  # type: ignore[attr-defined]
    alive = weakref.ref(cycle)
    gc.freeze()  # as a page's objects are, with the dataset
    del cycle
    memory.release()  # the collector's own scan: frozen objects left alone
    assert alive() is not None
    running = threading.Event()
    running.set()
    memory.collect_when_idle(running.is_set)
    assert not memory.wait_collected(timeout=0.3), "no collection while a page runs"
    assert alive() is not None
    running.clear()
    assert memory.wait_collected(timeout=30)
    assert alive() is None
    assert gc.get_freeze_count() > 0, "what is left frozen again"


def test_a_full_collection_run_elsewhere_covers_the_idle_ones_asked_before_it() -> None:
    """A version prepared off the pages' path collects in place (``collect_frozen``):
    the idle collection asked for before does not run again for it, the pages still
    running or not."""
    import threading

    assert memory.wait_collected(timeout=60)  # none left pending by another test
    runs = memory.idle_collections()
    running = threading.Event()
    running.set()
    memory.collect_when_idle(running.is_set)
    assert not memory.wait_collected(timeout=0), "asked for, pages running"
    memory.collect_frozen()
    assert memory.wait_collected(timeout=30)
    running.clear()
    memory.collect_when_idle(running.is_set)  # a later one still runs, once idle
    assert memory.wait_collected(timeout=30)
    assert memory.idle_collections() == runs + 1
