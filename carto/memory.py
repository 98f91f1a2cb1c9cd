"""How the app process uses memory: allocators that give freed memory back.

Measured at 100,000 passages (benchmarks/pages.py): the data a page process keeps
alive is about 110 MiB (40 MiB of list and dict objects, 32 MiB of Arrow strings, the
numeric columns), yet the process sat 300-400 MiB above its imports. The rest was memory
already freed and kept by the allocators: pyarrow's own pool (mimalloc) keeps the pages
it used, and glibc keeps freed memory in one arena per thread (Streamlit runs every
script run in its own thread). ``tune`` makes Arrow allocate through the system
allocator and caps glibc's arenas; ``release`` hands the freed memory back after a
snapshot version is dropped, and ``collect_when_idle`` the rest (what frozen cycles
held) once no page runs.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import threading
import time
from collections.abc import Callable

import pyarrow as pa

# glibc's mallopt parameter for the number of arenas (malloc.h).
_M_ARENA_MAX = -8
# Two arenas: the main thread's and one shared by the script threads. More only help
# threads that allocate at the same time, which the GIL mostly prevents.
ARENA_MAX = 2
# glibc's mallopt parameter for the size from which a block is mapped on its own.
_M_MMAP_THRESHOLD = -3
# A block this large or larger is mapped on its own and unmapped when freed. glibc's
# threshold starts there but rises to the largest mapped block freed (up to 32 MiB):
# after the first large frame is dropped, the columns of 100,000 rows (0.4-0.8 MB each)
# came from the heap, and the holes they left stayed in the process. Setting it fixes
# it (the page benchmark's peak and versions: README, benchmarks/results/*_memory2.json).
MMAP_THRESHOLD = 128 * 1024


def _glibc() -> ctypes.CDLL | None:
    """The C library, when it is glibc (``mallopt`` and ``malloc_trim`` are glibc's)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None


_LIBC = _glibc()
_tuned = False


def tune() -> None:
    """Arrow's buffers through the system allocator, glibc capped at ``ARENA_MAX``
    arenas and mapping blocks from ``MMAP_THRESHOLD`` bytes, once per process (a no-op
    elsewhere than glibc for the latter two)."""
    global _tuned
    if _tuned:
        return
    _tuned = True
    pa.set_memory_pool(pa.system_memory_pool())
    if _LIBC is not None:
        _LIBC.mallopt(_M_ARENA_MAX, ARENA_MAX)
        _LIBC.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)


def trim() -> None:
    """Give the memory freed so far back to the system (a no-op elsewhere than glibc)."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def release() -> None:
    """Collect the garbage the collector scans (not the frozen objects) and give the
    freed memory back (after a snapshot version's frames are dropped).

    Cheap (milliseconds at 100,000 passages): the dropped version's frames are freed by
    reference counting and this collection, unless a frozen cycle holds them; those wait
    for ``collect_frozen``, which ``collect_when_idle`` runs once no page runs."""
    gc.collect()
    trim()


def collect_frozen() -> None:
    """Collect garbage, frozen objects included, freeze what is left and give the memory
    back.

    The pages freeze the loaded dataset out of the collector's scans (``gc.freeze``),
    and with it whatever else was alive then (the running page's objects, its globals
    holding that version's frames): once garbage, the cycles among those are never
    collected (the page benchmark at 100,000 passages froze about 5,000 more objects
    with each version, 400 with this). It walks every object alive (0.14-0.16 s at
    100,000 passages, most of it the held frames' lists), which is why it runs off the
    pages' path; freezing again afterwards, when no page runs, keeps the dataset out of
    the next scans without freezing a page's objects. It covers the idle collections
    asked for before it (``collect_when_idle``): they do not run again for it."""
    global _covered
    with _done:
        asked = _requested
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    trim()
    with _done:
        _covered = max(_covered, asked)
        _done.notify_all()


# How often the collecting thread looks whether pages still run.
IDLE_POLL_SECONDS = 0.05

_done = threading.Condition()
# Under ``_done``: collections asked for, the last one asked that a run covered, runs.
_requested = 0
_covered = 0
_runs = 0
_worker: threading.Thread | None = None
_busy: Callable[[], bool] = bool  # the last call's: what the thread waits on


def collect_when_idle(busy: Callable[[], bool]) -> None:
    """Run ``collect_frozen`` in a background thread as soon as ``busy()`` is false (no
    page runs): once for however many calls came before it ran (``busy`` the last
    one's)."""
    global _requested, _worker, _busy
    with _done:
        _busy = busy
        _requested += 1
        _done.notify_all()
        if _worker is None or not _worker.is_alive():
            _worker = threading.Thread(target=_collect_loop, name="carto-memory", daemon=True)
            _worker.start()


def _wanted() -> bool:
    return _requested > _covered


def _collect_loop() -> None:
    global _runs
    while True:
        with _done:
            _done.wait_for(_wanted)
        while _busy():
            time.sleep(IDLE_POLL_SECONDS)
        with _done:
            if not _wanted():  # covered meanwhile by a collection run elsewhere
                continue
        collect_frozen()
        with _done:
            _runs += 1


def idle_collections() -> int:
    """How many collections the background thread has run in this process."""
    with _done:
        return _runs


def wait_collected(timeout: float) -> bool:
    """Wait until every collection asked for has run (True), or ``timeout`` seconds
    (False)."""
    with _done:
        return _done.wait_for(lambda: not _wanted(), timeout)
