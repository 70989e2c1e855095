"""Fault injection for the sweep tests: a worker initializer whose model dies at one temperature."""

from __future__ import annotations

import os

import sim.sweep.worker as worker

#: The temperature at which the patched model kills its worker process.
DEADLY_TEMPERATURE = 0.2


def start_crashing_worker() -> None:
    """In a worker process: make the model kill the process outright at ``DEADLY_TEMPERATURE``."""
    real_run = worker.run

    def run_or_die(cfg):
        if cfg.behaviour.temperature == DEADLY_TEMPERATURE:
            os._exit(9)  # as the kernel's out-of-memory killer would: no exception, no cleanup
        return real_run(cfg)

    worker.run = run_or_die
