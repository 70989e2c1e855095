"""Local worker processes: one thread per numeric library (no competing for cores); Ctrl-C left to the command."""

from __future__ import annotations

import os
import signal
from concurrent.futures import ProcessPoolExecutor

import pytest

from sim.workers import SINGLE_THREADED, interrupts_deferred, process_context


def test_workers_run_one_blas_and_numba_thread_each() -> None:
    with ProcessPoolExecutor(1, mp_context=process_context("sim.sweep.worker")) as pool:
        seen = {name: pool.submit(os.getenv, name).result() for name in SINGLE_THREADED}
    assert seen == SINGLE_THREADED


def test_a_thread_count_the_user_set_is_kept(monkeypatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    process_context("sim.sweep.worker")
    assert os.environ["OMP_NUM_THREADS"] == "3"


@pytest.fixture
def sigint_handler():
    """Set SIGINT's handler for a test (a test runner's worker may have its own), and put it back after."""
    previous = signal.getsignal(signal.SIGINT)
    yield lambda handler: signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGINT, previous)


def test_an_interrupt_while_workers_start_takes_effect_when_they_have(sigint_handler) -> None:
    sigint_handler(signal.default_int_handler)  # Python's: Ctrl-C raises KeyboardInterrupt
    reached = []
    with pytest.raises(KeyboardInterrupt), interrupts_deferred():
        signal.raise_signal(signal.SIGINT)
        reached.append("the rest of the block")
    assert reached == ["the rest of the block"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handler is back


def test_an_ignored_interrupt_stays_ignored_after_the_block(sigint_handler) -> None:
    sigint_handler(signal.SIG_IGN)
    with interrupts_deferred():
        signal.raise_signal(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN


def test_the_forkserver_ignores_ctrl_c_from_its_start() -> None:
    process_context("sim.sweep.worker")
    with ProcessPoolExecutor(1, mp_context=process_context("sim.sweep.worker")) as pool:
        assert pool.submit(signal.getsignal, signal.SIGINT).result() == signal.SIG_IGN
