"""Executors: local worker processes, a Dask cluster, or the calling process.

Each is a :class:`concurrent.futures.Executor` with a number of slots (runs in parallel),
so the engine submits batches and waits on futures the same way whatever runs them.
Dask is imported only when asked for.
"""

from __future__ import annotations

import gc
import importlib.util
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any

from sim.schema import ConfigError
from sim.sweep.experiment import Executor as ExecutorSpec
from sim.sweep.experiment import ExecutorKind
from sim.workers import interrupts_deferred, process_context

WORKER_MODULE = "sim.sweep.worker"
#: How often a worker checks that the sweep's process is alive, and its exit code when it is not.
PARENT_CHECK_S = 1.0
EXIT_PARENT_GONE = 3


class SerialExecutor(Executor):
    """Runs each task in the calling process when it is submitted (for debugging and timing)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        """Run ``fn(*args, **kwargs)`` now and return its finished future."""
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # the engine handles it as it would a remote task's error
            future.set_exception(exc)
        return future


def _leave_interrupts_to_the_sweep() -> None:
    """In a local Dask worker: ignore Ctrl-C, which the sweep's process handles by closing the cluster.

    Without it a Ctrl-C to the terminal killed every worker with a traceback, and a sweep whose
    own interrupt was caught inside Dask's client waited for them for ever.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)


#: The loggers through which Dask and its network library print (each has its own handler).
_DASK_LOGGERS = ("distributed", "tornado", "tornado.application")


def _dask_handlers() -> list[logging.Handler]:
    """The handlers that print Dask's messages in this process."""
    return [handler for name in _DASK_LOGGERS for handler in logging.getLogger(name).handlers]


def _quiet_once_closing(worker: Any) -> None:
    """In a local Dask worker: print none of Dask's messages once the worker is closing.

    Closing the cluster while runs are under way (after a Ctrl-C) made each worker log its
    cancelled runs and, at times, a traceback for a heartbeat the closing scheduler did not
    answer or a connection it had closed. The sweep reports the interrupt itself; what it
    stopped is in its results.
    """
    from distributed.core import Status

    def running(_: logging.LogRecord) -> bool:
        return worker.status not in (Status.closing, Status.closing_gracefully, Status.closed)

    for handler in _dask_handlers():
        handler.addFilter(running)


def _local_worker_plugin() -> Any:
    """A Dask worker plugin for the sweep's own cluster, run in every worker now and after a restart.

    It runs :func:`_leave_interrupts_to_the_sweep` and :func:`_quiet_once_closing`.
    """
    from distributed.diagnostics.plugin import WorkerPlugin

    class LocalWorker(WorkerPlugin):
        name = "exportsim-local-worker"

        def setup(self, worker: Any) -> None:
            _leave_interrupts_to_the_sweep()
            _quiet_once_closing(worker)

    return LocalWorker()


def _start_worker(parent_pid: int) -> None:
    """Leave Ctrl-C to the parent, which stops the sweep cleanly, exit when the parent is gone, freeze the imports.

    A parent killed outright (``kill -9``) cannot stop its workers, so each worker checks every
    second that the sweep's process still exists and exits if it does not. What the worker holds
    when it starts (the modules it preloaded) lives as long as it does, so the garbage collector
    stops walking it (``gc.freeze``): collections during runs then only walk what the runs make.
    """
    gc.freeze()
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while True:
            time.sleep(PARENT_CHECK_S)
            try:
                os.kill(parent_pid, 0)
            except ProcessLookupError:
                os._exit(EXIT_PARENT_GONE)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def worker_died(exc: BaseException) -> bool:
    """Whether a run's exception says its worker died (a broken local pool, or a worker Dask lost on each try)."""
    if isinstance(exc, BrokenProcessPool):
        return True
    distributed = sys.modules.get("distributed")  # loaded only by a sweep on Dask
    return distributed is not None and isinstance(exc, distributed.KilledWorker)


class LocalPool(Executor):
    """Worker processes on this machine; after a worker dies, :meth:`restart` replaces the pool."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self.workers, mp_context=process_context(WORKER_MODULE), initializer=_start_worker, initargs=(os.getpid(),)
        )

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        """Run ``fn(*args, **kwargs)`` in a worker (a submission may start one: interrupts wait till it has)."""
        with interrupts_deferred():
            return self._pool.submit(fn, *args, **kwargs)

    def restart(self) -> None:
        """Drop a pool broken by a dead worker and start a fresh one."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._new_pool()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop the workers."""
        self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)

    def terminate(self) -> None:
        """Stop the workers at once, with the runs under way (their futures fail as a broken pool)."""
        for process in list((self._pool._processes or {}).values()):  # no public way before Python 3.14
            process.terminate()
        self._pool.shutdown(wait=False, cancel_futures=True)


@contextmanager
def open_executor(spec: ExecutorSpec) -> Iterator[tuple[Executor, int]]:
    """Start the executor a spec names; yield it with its number of slots, and shut it down.

    Raises:
        ConfigError: Dask is asked for but not installed, or its scheduler cannot be reached.
    """
    if spec.kind is ExecutorKind.SERIAL:
        yield SerialExecutor(), 1
    elif spec.kind is ExecutorKind.LOCAL:
        workers = spec.workers or os.cpu_count() or 1
        pool = LocalPool(workers)
        try:
            yield pool, workers
        except BaseException:  # stopped (Ctrl-C, kill, an error): unfinished batches are redone on resume
            pool.terminate()  # so not waited for, and a second Ctrl-C meets no wait it could hang
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    else:
        with _dask_client(spec) as client:
            yield client.get_executor(pure=False), max(1, sum(client.nthreads().values()))


def check_installed(spec: ExecutorSpec) -> None:
    """Raise :class:`ConfigError` if the executor a spec names needs a library that is not installed."""
    if spec.kind is ExecutorKind.DASK and importlib.util.find_spec("distributed") is None:
        raise ConfigError("executor.kind=dask needs dask.distributed; install it with: pip install -e '.[dask]'")


@contextmanager
def _dask_client(spec: ExecutorSpec) -> Iterator[Any]:
    check_installed(spec)
    from distributed import Client, LocalCluster

    if spec.address:
        try:
            client = Client(spec.address, timeout="30s")
        except OSError as exc:
            raise ConfigError(f"executor.address={spec.address}: cannot reach the scheduler: {exc}") from None
        with client:
            yield client
        return
    workers = spec.workers or os.cpu_count() or 1
    # After a Ctrl-C or an error the cluster closes with runs under way; the sweep reports why, and
    # what Dask prints meanwhile (cancelled runs, closed connections) would not help.
    closing_early = threading.Event()

    def running(_: logging.LogRecord) -> bool:
        return not closing_early.is_set()

    handlers = _dask_handlers()
    for handler in handlers:
        handler.addFilter(running)
    try:
        # The scheduler's web server takes a free port on this machine only: two sweeps at once do
        # not compete for Dask's 8787, and it is not open to the network.
        with (
            LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0"
            ) as cluster,
            Client(cluster) as client,
        ):
            client.register_plugin(_local_worker_plugin())  # workers the nanny restarts too
            try:
                yield client
            except BaseException:
                closing_early.set()
                raise
    finally:
        for handler in handlers:
            handler.removeFilter(running)
