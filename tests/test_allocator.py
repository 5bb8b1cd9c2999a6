"""The allocator settings serving processes apply: large buffers stop costing fresh pages."""

from __future__ import annotations

import subprocess
import sys

import pytest

# In a fresh interpreter, in a worker thread (where FastAPI runs handlers): 40 times, hold four
# 3 MiB buffers (a decoded picture and its copies) and free them; print the page faults that cost.
_PROGRAM = """
import resource, sys, threading
from service import allocator
changed = allocator.tune(int(sys.argv[1]))
def churn():
    for _ in range(40):
        held = [bytearray(3 * 1024 * 1024) for _ in range(4)]
        del held
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
thread = threading.Thread(target=churn)
thread.start()
thread.join()
print(changed, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(keep_mib: int) -> tuple[str, int]:
    done = subprocess.run(
        [sys.executable, "-c", _PROGRAM, str(keep_mib)], capture_output=True, text=True, check=True
    )
    changed, faults = done.stdout.split()
    return changed, int(faults)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_tuned_allocator_reuses_large_buffers_instead_of_faulting_in_new_pages() -> None:
    changed, tuned = _faults(128)
    unchanged, default = _faults(0)
    assert (changed, unchanged) == ("True", "False")
    pages = 12 * 1024 * 1024 // 4096  # one round's buffers
    assert default > 10 * pages  # round after round was fresh pages
    assert tuned < 2 * pages  # the first round's only
