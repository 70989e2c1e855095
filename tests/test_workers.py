"""Local worker processes: one thread per numeric library, so a sweep's workers do not compete for cores."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor

from sim.workers import SINGLE_THREADED, process_context


def test_workers_run_one_blas_and_numba_thread_each() -> None:
    with ProcessPoolExecutor(1, mp_context=process_context("sim.sweep.worker")) as pool:
        seen = {name: pool.submit(os.getenv, name).result() for name in SINGLE_THREADED}
    assert seen == SINGLE_THREADED


def test_a_thread_count_the_user_set_is_kept(monkeypatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    process_context("sim.sweep.worker")
    assert os.environ["OMP_NUM_THREADS"] == "3"
