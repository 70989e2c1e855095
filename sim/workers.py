"""Local worker processes: one start method for every pool, the model preloaded, one thread each."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing import forkserver
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
    environment, which workers inherit, unless the user set them. The forkserver starts with
    Ctrl-C ignored, as its workers run: the command's own process handles it.
    """
    for name, value in SINGLE_THREADED.items():
        os.environ.setdefault(name, value)
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([worker_module, MODEL_MODULE])
        _start_forkserver_ignoring_interrupts()
        return context
    return multiprocessing.get_context("spawn")


def _start_forkserver_ignoring_interrupts() -> None:
    """Start the forkserver with SIGINT ignored, which it keeps through its exec.

    It imports the preloaded modules (a second or two) before it sets its own handlers, so a
    Ctrl-C in that window printed a traceback from it; it now ignores SIGINT from its first
    instruction, and so do the workers it forks. Only the main thread can change a handler:
    elsewhere the forkserver starts when the pool first needs it, as before.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        forkserver.ensure_running()
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back while a pool starts its workers; they take effect when the block ends.

    A worker whose start was interrupted half-way is never joined: the pool's queues go with
    this process, and the worker fails with a traceback of its own. A signal that arrives
    meanwhile (in whichever thread) is remembered, and its handler runs once the block ends.
    Only the main thread may set handlers, so elsewhere nothing is held.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    stops = (signal.SIGINT, signal.SIGTERM)
    previous = {number: signal.signal(number, lambda n, _: held.append(n)) for number in stops}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if held:
            handler = previous[held[0]]
            if callable(handler):
                handler(held[0], None)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(held[0])
