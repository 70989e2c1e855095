"""The benchmark: its phase timers change nothing; its instruction count is read from valgrind, refused without it."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest

from sim import bench
from sim.channels import Channel, HomeChips, Smuggling
from sim.config import Config
from sim.levers.base import Lever
from sim.levers.country_caps import CountryCaps
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


def test_timing_the_mechanisms_changes_nothing_and_gives_their_methods_back(baseline: Config) -> None:
    cfg = with_settings(baseline, {"months": 6})
    before = {cls: dict(vars(cls)) for cls in bench._mechanism_classes()}
    assert {Smuggling, HomeChips, Channel, Lever, CountryCaps} <= set(before)
    seconds = [0.0]
    model = ExportControlModel(cfg)
    with bench._timing_mechanisms(seconds):
        months_s = bench._timed(lambda: model.run_for(cfg.months))
    assert np.array_equal(model.values(), run(cfg).values, equal_nan=True)
    assert 0 < seconds[0] < months_s
    assert {cls: dict(vars(cls)) for cls in before} == before


def test_a_mechanism_called_by_another_is_not_timed_again(monkeypatch: pytest.MonkeyPatch, baseline: Config) -> None:
    clock = iter(range(100))
    monkeypatch.setattr(bench.time, "perf_counter", lambda: float(next(clock)))  # one second a reading
    monkeypatch.setattr(Smuggling, "lead_time_months", lambda self, cfg: self.months_delivered(cfg))
    seconds = [0.0]
    with bench._timing_mechanisms(seconds):
        assert Smuggling().lead_time_months(baseline) == Smuggling.months_delivered(baseline)
    assert seconds == [2.0]  # each outer call read the clock twice; the inner call did not read it


def test_the_phases_and_the_rest_make_up_the_month(baseline: Config) -> None:
    phases = bench.bench_phases(with_settings(baseline, {"months": 3}), runs=2)
    assert list(phases["us_per_month"]) == [what for what, _ in bench.PHASES] + [bench.REST_OF_MONTH]
    assert all(us > 0 for us in phases["us_per_month"].values())
    assert 0 < phases["mechanisms_us_per_month"] < sum(phases["us_per_month"].values())
    assert phases["build_ms"] > 0 and phases["results_ms"] > 0


#: A peer that answers the protocol with a run of exactly 1,000 agent-steps in 2 ms.
STEADY_PEER = "import sys\nprint('ready', flush=True)\nfor line in sys.stdin:\n    print('0.002 1000', flush=True)\n"


def test_a_peer_is_timed_against_the_baseline_each_in_its_own_interpreter() -> None:
    peers = bench.bench_peers({"steady": [sys.executable, "-c", STEADY_PEER]}, rounds=1)
    assert list(peers) == ["here", "steady"]
    assert peers["steady"]["agent_steps_per_s"] == {"best": 500_000.0, "median": 500_000.0}
    here = peers["here"]["agent_steps_per_s"]
    assert here["median"] > 0
    assert peers["steady"]["here_over_it"] == pytest.approx(here["median"] / 500_000)


#: Answers 4 ms for its first, third, ... run and 2 ms for the others; refuses a seed asked before.
WARMING_PEER = (
    "import sys\nprint('ready', flush=True)\nseen = []\nfor line in sys.stdin:\n"
    "    print('repeated' if line in seen else '0.004 1000' if len(seen) % 2 == 0 else '0.002 1000', flush=True)\n"
    "    seen.append(line)\n"
)


def test_each_side_runs_twice_a_round_with_seeds_of_their_own_and_only_the_second_is_timed() -> None:
    peers = bench.bench_peers({"warming": [sys.executable, "-c", WARMING_PEER]}, rounds=1)
    assert peers["warming"]["agent_steps_per_s"] == {"best": 500_000.0, "median": 500_000.0}


def test_a_bad_peer_stops_the_benchmark_before_it_measures_with_exit_2(monkeypatch, capsys) -> None:
    monkeypatch.setattr(bench, "bench_startup", lambda: pytest.fail("measured after a peer failed"))
    dead = f"{sys.executable} -c 'import sys; sys.exit(\"no licence server\")'"
    assert bench.main(["--peer", f"dead={dead}"]) == 2
    err = capsys.readouterr().err
    assert "dead (" in err and "ended" in err and "no licence server" in err


def test_a_server_that_dies_or_falls_silent_is_named_with_what_it_wrote(monkeypatch) -> None:
    def seconds(name: str, answer: list[str]) -> float:
        return float(answer[0])

    dies = "import sys\nprint('ready', flush=True)\nsys.stdin.readline()\nsys.exit('out of licences')\n"
    with pytest.raises(bench.ServerError, match=r"(?s)dying .*ended; on stderr it wrote: out of licences"):
        bench._serve_interleaved({"dying": [sys.executable, "-c", dies]}, 3, seconds)
    with pytest.raises(bench.ServerError, match=r"absent .*did not start"):
        bench._serve_interleaved({"absent": ["/nonexistent/peer"]}, 1, seconds)
    monkeypatch.setattr(bench, "ANSWER_TIMEOUT_S", 1.0)
    monkeypatch.setattr(bench, "STOP_GRACE_S", 0.5)
    silent = "import sys, time\nprint('ready', flush=True)\nsys.stderr.write('thinking')\ntime.sleep(600)\n"
    began = time.perf_counter()
    with pytest.raises(bench.ServerError, match=r"(?s)silent .*printed nothing for 1 s.*thinking"):
        bench._serve_interleaved({"silent": [sys.executable, "-c", silent]}, 2, seconds)
    assert time.perf_counter() - began < 30  # it was killed, not waited for


def test_an_answer_that_is_not_seconds_and_agent_steps_is_refused_with_the_protocol() -> None:
    assert bench._agent_steps_per_s("p", ["0.5", "100"]) == 200.0
    bad = (["fast"], ["0.5"], ["0", "100"], ["inf", "100"], ["0.5", "0"], ["0.5", "many"], ["0.5", "100", "x"])
    for answer in bad:
        with pytest.raises(bench.ServerError, match=r"p answered .*a peer must print one line when ready"):
            bench._agent_steps_per_s("p", answer)


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--peer", "nonsense"], "--peer 'nonsense': expected NAME=COMMAND"),
        (["--peer", "here=python x.py"], "a name of its own (not 'here'"),
        (["--peer", "cps="], "expected NAME=COMMAND"),
        (["--peer", "cps=python 'x"], "its command does not split as a shell's would (No closing quotation)"),
        (["--peer", "a=python x.py", "--peer", "a=python y.py"], "--peer 'a=python y.py'"),
        (["--reference", "/nonexistent"], "--reference /nonexistent: not a checkout of this project"),
    ],
)
def test_a_bad_peer_or_reference_exits_2_before_measuring(monkeypatch, capsys, args, said) -> None:
    monkeypatch.setattr(bench, "measure", lambda *args: pytest.fail("measured with a bad option"))
    assert bench.main(args) == 2
    assert said in capsys.readouterr().err


def test_a_reference_checkout_is_timed_against_this_one() -> None:
    compared = bench.bench_reference(bench.ROOT, rounds=1)  # this checkout against itself
    assert compared["reference"] == str(bench.ROOT)
    assert 0 < compared["here_ms"]["min"] <= compared["here_ms"]["median"]
    assert 0 < compared["reference_ms"]["min"] <= compared["reference_ms"]["median"]
    assert compared["speedup"] > 0


def test_the_engine_and_the_loop_that_the_benchmark_compares_run_the_same_runs() -> None:
    engine, loop = bench.batch_sides(3)
    batch, runs = engine(2), loop(2)
    assert not batch.failures and len(runs) == 2
    looped = np.concatenate([frame["access_h100e_months"].to_numpy() for frame in runs])
    assert np.array_equal(batch.timeseries["access_h100e_months"].to_numpy(), looped)
    assert batch.timeseries["run_id"].nunique() == 2
    for side in ("engine", "loop", "none"):  # what the instruction count runs under valgrind
        done = subprocess.run([sys.executable, "-c", bench.COUNTED_ENGINE, side, "2"], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
