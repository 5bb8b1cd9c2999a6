"""A serving process keeps BLAS to one thread: its small products no longer spin a second core."""

from __future__ import annotations

import json
import subprocess
import sys

# In a fresh interpreter (the limit is process-wide): limit, then multiply medium matrices for a
# while and report the CPU time that took against the wall time, and what each BLAS says.
_PROGRAM = """
import json, time
from service import cores
found = cores.one_blas_thread()
import numpy as np
from threadpoolctl import threadpool_info
a = np.random.default_rng(0).standard_normal((256, 256))
wall, cpu = time.perf_counter(), time.process_time()
while time.perf_counter() - wall < 0.5:
    a = np.tanh(a @ a / 256)
ratio = (time.process_time() - cpu) / (time.perf_counter() - wall)
blas = [(i["filepath"], i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas"]
print(json.dumps({"found": found, "ratio": ratio, "blas": blas}))
"""


def test_every_blas_of_a_serving_process_runs_on_one_thread() -> None:
    done = subprocess.run([sys.executable, "-c", _PROGRAM], capture_output=True, text=True, check=True)
    out = json.loads(done.stdout)
    assert out["found"] is True
    assert len(out["blas"]) >= 2  # NumPy's and OpenCV's own copies
    assert {threads for _, threads in out["blas"]} == {1}
    assert out["ratio"] < 1.3  # one core busy, not two
