"""The benchmark: its phase timers change nothing; its instruction count is read from valgrind, refused without it."""

from __future__ import annotations

import numpy as np
import pytest

from sim import bench
from sim.config import Config
from sim.model import ExportControlModel
from sim.run import run
from sim.schema import with_settings

REPORT = """==12838== Events    : Ir
==12838== Collected : 418589003
==12838==
==12838== I   refs:      418,589,003
"""


def test_the_instructions_are_read_from_valgrinds_report() -> None:
    assert bench.instructions_executed(REPORT) == 418_589_003


def test_a_report_without_a_count_is_an_error_that_shows_it() -> None:
    with pytest.raises(RuntimeError, match=r"(?s)did not report.*Fatal error"):
        bench.instructions_executed("==1== Fatal error at startup")


def test_counting_instructions_without_valgrind_exits_2_before_measuring(monkeypatch, capsys) -> None:
    monkeypatch.setattr(bench.shutil, "which", lambda name: None)
    monkeypatch.setattr(bench, "measure", lambda *args: pytest.fail("measured without valgrind"))
    assert bench.main(["--instructions"]) == 2
    err = capsys.readouterr().err
    assert "--instructions" in err and "valgrind is not installed" in err and "apt-get install valgrind" in err


def test_timing_a_months_phases_changes_nothing_and_times_each(baseline: Config) -> None:
    cfg = with_settings(baseline, {"months": 6})
    seconds = [0.0] * len(bench.PHASES)
    model = ExportControlModel(cfg)
    bench._time_phases(model, seconds)
    model.run_for(cfg.months)
    assert np.array_equal(model.values(), run(cfg).values, equal_nan=True)
    assert all(s > 0 for s in seconds)


def test_the_phases_and_the_rest_make_up_the_month(baseline: Config) -> None:
    phases = bench.bench_phases(with_settings(baseline, {"months": 3}), runs=2)
    assert list(phases["us_per_month"]) == [what for what, _ in bench.PHASES] + [bench.REST_OF_MONTH]
    assert all(us > 0 for us in phases["us_per_month"].values())
    assert phases["build_ms"] > 0 and phases["results_ms"] > 0
