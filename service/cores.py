"""How a serving process's numeric libraries share its cores.

NumPy and OpenCV each bundle OpenBLAS, which starts a thread per core and, after every product it
spreads over them, keeps those threads spinning for a while in case another comes. A check's
products are small (a PDQ hash, a probe's hidden layer), so the spreading saves nothing, and the
spinning took half of a serving process's CPU on two cores: 26-35 ms per check of a 1 MP photo
with words and symbols off against 13 ms with one BLAS thread, 94 ms against 48-51 ms with both
on, the latency the same (the HTTP part of ``bench/bench_words.py``). A server already spreads its
requests over the cores, so each process keeps BLAS to one thread. Training and benches, which
multiply large matrices, are left as they are.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def one_blas_thread() -> bool:
    """Limit every OpenBLAS loaded in this process to one thread; returns whether any was found."""
    import cv2  # noqa: F401  # loaded first, so the limit reaches the OpenBLAS each bundles
    import numpy  # noqa: F401
    from threadpoolctl import threadpool_info, threadpool_limits

    found = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    threadpool_limits(limits=1, user_api="blas")
    log.debug("BLAS kept to one thread in %d libraries", len(found))
    return bool(found)
