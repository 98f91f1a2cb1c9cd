"""How the app process uses memory: allocators that give freed memory back.

Measured at 100,000 passages (benchmarks/pages.py): the data a page process keeps
alive is about 110 MiB (40 MiB of list and dict objects, 32 MiB of Arrow strings, the
numeric columns), yet the process sat 300-400 MiB above its imports. The rest was memory
already freed and kept by the allocators: pyarrow's own pool (mimalloc) keeps the pages
it used, and glibc keeps freed memory in one arena per thread (Streamlit runs every
script run in its own thread). ``tune`` makes Arrow allocate through the system
allocator and caps glibc's arenas; ``release`` hands the freed memory back after a
snapshot version is dropped.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc

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


def release() -> None:
    """Collect garbage, frozen objects included, and give the memory freed since back to
    the system (after a snapshot version's frames are dropped).

    The pages freeze the loaded dataset out of the collector's scans (``gc.freeze``),
    and with it whatever else was alive then (the running page's objects): once garbage,
    the cycles among those are never collected (the page benchmark at 100,000 passages
    froze about 5,000 more objects with each version, 400 with this). Unfreezing costs
    one full collection per new version (0.35-0.48 s at 100,000 passages, machine
    loaded); the next
    dataset freezes again."""
    gc.unfreeze()
    gc.collect()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)
