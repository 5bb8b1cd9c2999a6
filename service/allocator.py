"""How a serving process's C allocator treats the large buffers every check allocates.

A 1 MP check allocates a few buffers of megabytes (the upload, the decoded picture, its reductions,
NumPy arrays). glibc serves a block that large with its own ``mmap`` and gives it back on ``free``;
its adaptive threshold, which would keep such blocks in the heap after the first one, does not
hold for the heaps of the worker threads FastAPI runs handlers on, which also return their free
top to the kernel at each request. So every check faulted in megabytes of fresh zeroed pages.
``tune`` keeps blocks up to ``_MMAP_MAX`` in the heap and lets a heap keep ``keep_mib`` of free
memory for the next request (``bench/bench_check.py`` measures a server with and without it).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_MAX = 32 * 1024 * 1024  # glibc's own ceiling for its adaptive threshold


def tune(keep_mib: int) -> bool:
    """Apply the settings above in this process (glibc only; elsewhere a no-op). ``keep_mib`` 0
    leaves the allocator's defaults. Returns whether anything was changed."""
    if keep_mib <= 0:
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        log.debug("no glibc mallopt here; allocator left as is")
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    keep = min(keep_mib, 1024) * 1024 * 1024  # mallopt takes a C int
    changed = bool(mallopt(_M_MMAP_THRESHOLD, min(_MMAP_MAX, keep)))
    changed = changed and bool(mallopt(_M_TRIM_THRESHOLD, keep))
    if not changed:
        log.warning("mallopt refused the allocator settings; large buffers stay one mmap each")
    return changed
