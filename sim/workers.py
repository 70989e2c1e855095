"""Local worker processes: one start method for every pool, the model preloaded, one thread each."""

from __future__ import annotations

import multiprocessing
import os
from multiprocessing.context import BaseContext

#: Thread counts of the numeric libraries in workers: a sweep's parallelism is its processes, and
#: BLAS threads of their own would compete with the other workers for the same cores.
SINGLE_THREADED = {
    name: "1"
    for name in (
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "VECLIB_MAXIMUM_THREADS",
        "NUMBA_NUM_THREADS",
    )
}
#: What every worker imports once, before its first task: the model and its compiled decision rule.
MODEL_MODULE = "sim.model"


def process_context(worker_module: str) -> BaseContext:
    """A forkserver context preloading ``worker_module`` and the model (spawn where forkserver is missing).

    The numeric libraries' thread counts (:data:`SINGLE_THREADED`) are set in this process's
    environment, which workers inherit, unless the user set them.
    """
    for name, value in SINGLE_THREADED.items():
        os.environ.setdefault(name, value)
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([worker_module, MODEL_MODULE])
        return context
    return multiprocessing.get_context("spawn")
