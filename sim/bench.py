"""``python -m sim.bench``: how fast a run is, measured so that the figures cannot flatter.

Everything compared is interleaved: each round times both sides back to back, in alternating
order, and the report gives the minimum and median over the rounds and the median of the
per-round ratios, never a difference of timings taken at different times. It measures:

- one baseline run (its time series read), and the sweep engine's batch against a plain loop
  of :func:`sim.run` (reading each run's time series, as the engine keeps them);
- agent-steps per second, against a minimal Mesa model with the same number of agents;
- a sweep on 1 and 2 local workers, each worker's peak memory, and a worker's start-up;
- the start-up of ``import sim`` and ``python -m sim --help`` beyond numpy and pandas;
- where a baseline month's time goes, phase by phase, and a run's outside its months;
- a scaling table (firms, hubs, months), and optionally a reference checkout (``--reference``);
- with ``--peer NAME=COMMAND``, agent-steps per second against other simulators, each side a
  server in its own interpreter (:data:`PEER_PROTOCOL`);
- with ``--instructions``, the CPU instructions a baseline run executes here and at the
  reference, and through the sweep engine against a plain loop, counted by valgrind
  (callgrind): figures that do not move with the machine's load, which timings on a shared
  machine do by 10-40% from one minute to the next.

The figures go to a JSON file; ``--readme`` rewrites the README's speed section from it.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import math
import os
import platform
import queue
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import FunctionType
from typing import Any

import psutil
from mesa import Agent, Model

from sim.channels import CHANNELS, Channel
from sim.commands import at_least, quiet_when_output_closes
from sim.config import Config
from sim.levers import LEVERS
from sim.levers.base import Lever
from sim.loading import load_config
from sim.model import ExportControlModel
from sim.run import run
from sim.schema import with_settings
from sim.sweep.designs import sample
from sim.sweep.engine import RunPlan, start_sweep
from sim.sweep.experiment import Experiment, parse_experiment
from sim.sweep.worker import run_batch
from sim.workers import SINGLE_THREADED

FACTOR = "policy.enforcement.audit_budget_per_month"
ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
README_START, README_END = "<!-- bench:start -->", "<!-- bench:end -->"
#: A run of the baseline in a fresh interpreter at a checkout (``sys.argv[1]``), timed on request.
SERVER = """
import sys, time, logging
sys.path.insert(0, sys.argv[1])
logging.getLogger("mesa").setLevel(logging.WARNING)
from sim import load_config, run
from sim.schema import with_settings
base = load_config(["scenario=baseline"])
run(base)
print("ready", flush=True)
for line in sys.stdin:
    cfg = with_settings(base, {"seed": int(line)})
    began = time.perf_counter()
    run(cfg).timeseries  # read: a run's DataFrame is built when first read (it was always built before)
    print(time.perf_counter() - began, flush=True)
"""


def _timed(work: Callable[[], Any]) -> float:
    began = time.perf_counter()
    work()
    return time.perf_counter() - began


def _summary(times_s: list[float], scale: float = 1.0) -> dict[str, float]:
    return {"min": min(times_s) * scale, "median": statistics.median(times_s) * scale}


def _interleaved(rounds: int, sides: dict[str, Callable[[], Any]]) -> dict[str, list[float]]:
    """Time each side once per round, the order reversed every other round."""
    times: dict[str, list[float]] = {name: [] for name in sides}
    names = list(sides)
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            times[name].append(_timed(sides[name]))
    return times


def _ratios(a: list[float], b: list[float]) -> float:
    """Median over rounds of a / b."""
    return statistics.median(x / y for x, y in zip(a, b, strict=True))


def _experiment(runs: int, executor: dict[str, object]) -> Experiment:
    """A baseline factorial over the audit budget with ``runs`` runs (2 replications a point)."""
    return parse_experiment(
        {
            "name": "bench",
            "scenario": "baseline",
            "design": {"kind": "factorial"},
            "levers": {FACTOR: [float(b) for b in range(max(2, runs // 2))]},
            "replications": 2,
            "seed": 1,
            "executor": executor,
        }
    )


def agent_steps(cfg: Config) -> int:
    """Agents stepped over a run: every month, each agent alive (firms, intermediaries, operators, regulator)."""
    model = ExportControlModel(cfg)
    total = 0
    for _ in range(cfg.months):
        model.step()
        total += len(model.agents)
    return total


class _Counter(Agent):
    def step(self) -> None:
        self.count = getattr(self, "count", 0) + 1


class MinimalModel(Model):
    """The least a Mesa model does: ``agents`` agents, each incrementing a counter every step."""

    def __init__(self, agents: int, seed: int = 0) -> None:
        super().__init__(rng=seed)
        for _ in range(agents):
            _Counter(self)

    def step(self) -> None:
        """Every agent steps, in random order."""
        self.agents.shuffle_do("step")


def batch_sides(batch: int, base: Config | None = None) -> tuple[Callable[[int], Any], Callable[[int], Any]]:
    """The sweep engine's batch and a plain loop of :func:`sim.run` over the same first runs of a baseline factorial.

    The plain loop runs the same configs as the engine's batch (factor values and seeds), built
    beforehand: the engine's own work (building each config, collecting rows) is what it costs.
    Each side reads every run's time series, as the engine keeps them.

    Returns:
        The engine's batch and the loop, each taking how many of the ``batch`` runs to do.
    """
    base = base or load_config(["scenario=baseline"])
    experiment = _experiment(batch, {"kind": "serial"})
    plan = RunPlan(experiment, sample(experiment))
    specs = [plan.spec(i) for i in range(batch)]
    configs = [with_settings(base, {**spec.settings, "seed": spec.seed}) for spec in specs]

    def engine(runs: int) -> Any:
        return run_batch({"baseline": base}, specs[:runs], keep_timeseries=True)

    def loop(runs: int) -> Any:
        return [run(c).timeseries for c in configs[:runs]]

    return engine, loop


def bench_runs(base: Config, rounds: int, batch: int) -> dict[str, Any]:
    """One run, the engine's batch against a plain loop (:func:`batch_sides`), agent-steps against minimal Mesa."""
    engine, loop = batch_sides(batch, base)
    steps = agent_steps(base)
    agents = round(steps / base.months)
    times = _interleaved(
        rounds,
        {
            "one_run": lambda: run(base).timeseries,
            "loop": lambda: loop(batch),
            "engine": lambda: engine(batch),
            "minimal_mesa": lambda: MinimalModel(agents).run_for(base.months),
        },
    )
    return {
        "one_run_ms": _summary(times["one_run"], 1000),
        "loop_ms_per_run": _summary(times["loop"], 1000 / batch),
        "engine_ms_per_run": _summary(times["engine"], 1000 / batch),
        "engine_over_loop": _ratios(times["engine"], times["loop"]),
        "agents_mean": agents,
        "agent_steps_per_run": steps,
        "agent_steps_per_s": steps / min(times["one_run"]),
        "minimal_mesa_agent_steps_per_s": steps / min(times["minimal_mesa"]),
        "minimal_mesa_over_us": _ratios(times["one_run"], times["minimal_mesa"]),
    }


class _PeakMemory:
    """Polls this process's descendants (forkserver workers included) and keeps each one's peak RSS."""

    def __init__(self) -> None:
        self.peak_mb: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        me = psutil.Process()
        while not self._stop.wait(0.05):
            for child in me.children(recursive=True):
                try:
                    rss = child.memory_info().rss / 2**20
                    if "python" in child.name():
                        self.peak_mb[child.pid] = max(self.peak_mb.get(child.pid, 0.0), rss)
                except psutil.Error:
                    continue

    def __enter__(self) -> _PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _sweep(runs: int, workers: int) -> None:
    executor = {"kind": "serial"} if workers == 0 else {"kind": "local", "workers": workers}
    with tempfile.TemporaryDirectory() as folder:
        outcome = start_sweep(_experiment(runs, executor), folder, progress=False, out=io.StringIO())
    if outcome.failed:
        raise RuntimeError(f"{outcome.failed} bench runs failed")


#: A fresh process starting a pool of one worker (forkserver, model preloaded) and waiting for its first result.
WORKER_STARTUP = """
import os, time
began = time.perf_counter()
from concurrent.futures import ProcessPoolExecutor
from sim.workers import process_context
with ProcessPoolExecutor(1, mp_context=process_context("sim.sweep.worker")) as pool:
    pool.submit(os.getpid).result()
print(time.perf_counter() - began)
"""


def _worker_startup_s() -> float:
    """Seconds from a fresh process creating a pool to its worker's first result (forkserver start included)."""
    done = subprocess.run([sys.executable, "-c", WORKER_STARTUP], check=True, capture_output=True, text=True, cwd=ROOT)
    return float(done.stdout)


def bench_workers(rounds: int, runs: int) -> dict[str, Any]:
    """Sweeps on 1 and 2 local workers, interleaved; each worker's peak memory; a worker's start-up."""
    with _PeakMemory() as memory:
        times = _interleaved(rounds, {"1": lambda: _sweep(runs, 1), "2": lambda: _sweep(runs, 2)})
    startups = [_worker_startup_s() for _ in range(3)]
    peaks = sorted(memory.peak_mb.values(), reverse=True)
    return {
        "runs_per_sweep": runs,
        "one_worker_runs_per_s": runs / min(times["1"]),
        "two_workers_runs_per_s": runs / min(times["2"]),
        "two_over_one": _ratios(times["1"], times["2"]),
        "worker_peak_mb": peaks,
        "driver_peak_mb": psutil.Process().memory_info().rss / 2**20,
        "worker_startup_s": _summary(startups),
    }


def _fresh_s(code: list[str], repeats: int = 5) -> float:
    """Median wall time of a fresh interpreter running ``code`` (arguments after ``python``)."""
    return statistics.median(
        _timed(lambda: subprocess.run([sys.executable, *code], check=True, capture_output=True, cwd=ROOT))
        for _ in range(repeats)
    )


#: A month's phases (docs/ODD.md, section 3), in order: what each does, and the model's method that runs it.
PHASES = (
    ("the regulator: memory, escalation, its checks", "regulator.step"),
    ("supply: leases end, intermediaries close and enter, quotas, prices, operators", "_refresh_supply"),
    ("trade: channels' options, the option table, the firms' decisions, orders", "_trade"),
    ("checkpoints, consequences and the ledger", "_resolve"),
    ("delivery and use of compute, levers after delivery", "_deliver_and_use"),
    ("learning", "_learn"),
)
#: What a month does beyond its phases.
REST_OF_MONTH = "the rest: the month's tally and row, Mesa's scheduler"


def _time_phases(model: ExportControlModel, seconds: list[float]) -> None:
    """Make each of the model's :data:`PHASES` add the time it takes to ``seconds`` (on this model only)."""
    for k, (_, path) in enumerate(PHASES):
        *parts, name = path.split(".")
        owner = getattr(model, parts[0]) if parts else model
        method = getattr(owner, name)

        def timed(*args: Any, k: int = k, method: Callable[..., Any] = method) -> Any:
            began = time.perf_counter()
            try:
                return method(*args)
            finally:
                seconds[k] += time.perf_counter() - began

        setattr(owner, name, timed)


def _mechanism_classes() -> list[type]:
    """Every channel and lever class, the bases they share included (their code is the mechanisms')."""
    concrete = [*CHANNELS.values(), *LEVERS.values()]
    return list(dict.fromkeys(c for cls in concrete for c in cls.__mro__ if issubclass(c, Channel | Lever)))


@contextlib.contextmanager
def _timing_mechanisms(seconds: list[float]) -> Iterator[None]:
    """While open, every method of every channel and lever class adds the time it takes to ``seconds[0]``.

    A method called from another one (or from what another one calls) is not counted again.
    The classes get their methods back on closing.
    """
    depth = [0]

    def timed(function: Callable[..., Any]) -> Callable[..., Any]:
        def method(*args: Any, **kwargs: Any) -> Any:
            if depth[0]:
                return function(*args, **kwargs)
            depth[0] += 1
            began = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                seconds[0] += time.perf_counter() - began
                depth[0] -= 1

        return method

    originals = [
        (cls, name, attribute)
        for cls in _mechanism_classes()
        for name, attribute in vars(cls).items()
        if not name.startswith("__") and isinstance(attribute, FunctionType | classmethod)
    ]
    for cls, name, attribute in originals:
        wrapped = classmethod(timed(attribute.__func__)) if isinstance(attribute, classmethod) else timed(attribute)
        setattr(cls, name, wrapped)
    try:
        yield
    finally:
        for cls, name, attribute in originals:
            setattr(cls, name, attribute)


def bench_phases(base: Config, runs: int) -> dict[str, Any]:
    """Where a baseline run's time goes: building the model, each phase of its months, reading its results.

    Over ``runs`` runs (seeds 0, 1, ...): each phase in µs a month (:data:`PHASES`, and
    :data:`REST_OF_MONTH`), and across them the time spent in the channels' and levers' own
    classes (:func:`_timing_mechanisms`); building the model and reading its summary and time
    series in ms a run.
    """
    phases_s = [0.0] * len(PHASES)
    mechanisms_s = [0.0]
    build_s = months_s = results_s = 0.0
    for seed in range(runs):
        cfg = with_settings(base, {"seed": seed})
        began = time.perf_counter()
        model = ExportControlModel(cfg)
        build_s += time.perf_counter() - began
        _time_phases(model, phases_s)
        with _timing_mechanisms(mechanisms_s):
            months_s += _timed(lambda model=model, months=cfg.months: model.run_for(months))
        results_s += _timed(lambda model=model: (model.summary(), model.timeseries()))
    months = runs * base.months
    us_per_month = {what: seconds / months * 1e6 for (what, _), seconds in zip(PHASES, phases_s, strict=True)}
    us_per_month[REST_OF_MONTH] = (months_s - sum(phases_s)) / months * 1e6
    return {
        "runs": runs,
        "us_per_month": us_per_month,
        "mechanisms_us_per_month": mechanisms_s[0] / months * 1e6,
        "build_ms": build_s / runs * 1e3,
        "results_ms": results_s / runs * 1e3,
    }


def bench_startup() -> dict[str, float]:
    """Fresh-process start-up: numpy and pandas alone, ``import sim``, the model, ``python -m sim --help``."""
    base = _fresh_s(["-c", "import numpy, pandas"])
    return {
        "numpy_pandas_s": base,
        "import_sim_beyond_s": _fresh_s(["-c", "import numpy, pandas, sim"]) - base,
        "help_beyond_s": _fresh_s(["-m", "sim", "--help"]) - base,
        "import_model_beyond_s": _fresh_s(["-c", "import numpy, pandas, sim.model"]) - base,
    }


def _scaled(base: Config, firms: int, hubs: int, months: int) -> Config:
    """The baseline with about ``firms`` firms (classes scaled alike), its hubs copied to ``hubs``, ``months``."""
    classes = base.world.firms.classes
    total = sum(c.count for c in classes.values())
    settings: dict[str, Any] = {"months": months}
    for name, c in classes.items():
        settings[f"world.firms.classes.{name}.count"] = max(1, round(c.count * firms / total))
    names = list(base.world.hubs)
    all_hubs = {f"{h}_{k}" if k else h: base.world.hubs[h] for k in range(hubs // len(names) + 1) for h in names}
    settings["world.hubs"] = {name: hub.model_dump() for name, hub in list(all_hubs.items())[:hubs]}
    return with_settings(base, settings)


def bench_scaling(base: Config) -> list[dict[str, float]]:
    """Run time (min of 2) as firms, hubs and months grow from the baseline, per firm-month."""
    hubs = len(base.world.hubs)
    firms = sum(c.count for c in base.world.firms.classes.values())
    sizes = [(f, hubs, 12) for f in (firms, 200, 2_000, 10_000)]
    sizes += [(firms, h, 12) for h in (2 * hubs, 4 * hubs)] + [(firms, hubs, 36)]
    table = []
    for f, h, m in sizes:
        cfg = _scaled(base, f, h, m)
        actual = sum(c.count for c in cfg.world.firms.classes.values())
        seconds = min(_timed(lambda cfg=cfg: run(cfg)) for _ in range(2))
        table.append(
            {
                "firms": actual,
                "hubs": h,
                "months": m,
                "run_s": seconds,
                "us_per_firm_month": seconds / (actual * m) * 1e6,
            }
        )
    return table


class ServerError(RuntimeError):
    """A benchmark server (a ``--peer`` command, or a checkout's baseline) did not start or broke the protocol."""


#: Seconds a benchmark server has to print each line (its ready line included) before it counts as stopped.
ANSWER_TIMEOUT_S = 120.0
#: Seconds a benchmark server has to end once its input closes, before it is killed.
STOP_GRACE_S = 10.0


class _Server:
    """A command run as a benchmark server: it prints one line when ready, then one line for each line it reads.

    It runs in a process group of its own (so that a wrapper's children end with it), its
    stdout read by a thread so that a silent server cannot hang the benchmark.
    """

    def __init__(self, name: str, command: list[str]) -> None:
        self.name, self.command = name, command
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (it lives as long as the server: stop() closes it)
        try:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                text=True,
                errors="replace",
                start_new_session=True,
            )
        except OSError as exc:
            self._stderr.close()
            raise ServerError(f"{name} ({shlex.join(command)}) did not start: {exc}") from None
        self._lines: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self._process.stdout:
            self._lines.put(line)
        self._lines.put("")  # it closed its output (it ended)

    def ask(self, request: int) -> None:
        """Send it one request."""
        with contextlib.suppress(BrokenPipeError):  # one that has ended: answer() says so
            self._process.stdin.write(f"{request}\n")
            self._process.stdin.flush()

    def answer(self) -> list[str]:
        """Its next line, split into fields.

        Raises:
            ServerError: It ended, or printed nothing within :data:`ANSWER_TIMEOUT_S`; the message
                shows the end of what it wrote to stderr.
        """
        try:
            line = self._lines.get(timeout=ANSWER_TIMEOUT_S)
        except queue.Empty:
            line, why = "", f"printed nothing for {ANSWER_TIMEOUT_S:.0f} s (each line flushed?)"
        else:
            why = "ended"
        if not line:
            said = self._said()
            self.stop()
            raise ServerError(f"{self.name} ({shlex.join(self.command)}) {why}; on stderr it wrote: {said}")
        return line.split()

    def _said(self) -> str:
        self._stderr.seek(max(0, self._stderr.seek(0, os.SEEK_END) - 1500))
        return self._stderr.read().decode(errors="replace").strip() or "nothing"

    def stop(self) -> None:
        """End it (again, harmlessly): its input closes; after :data:`STOP_GRACE_S`, what is left of its group dies."""
        with contextlib.suppress(BrokenPipeError):
            self._process.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout=STOP_GRACE_S)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, signal.SIGKILL)  # it, if it is still running, and a wrapper's children
        self._process.wait()
        self._reader.join(timeout=STOP_GRACE_S)  # it has read to the end of the output before that closes
        self._process.stdout.close()
        self._stderr.close()


def _serve_interleaved[T](
    commands: dict[str, list[str]], requests: int, parse: Callable[[str, list[str]], T], warm_ups: int = 0
) -> dict[str, list[T]]:
    """Start each command as a :class:`_Server`; ask each ``requests`` times (0, 1, ...), alternating their order.

    Args:
        commands: Each server's name and command.
        requests: Requests to each; request ``r`` goes to every server before ``r + 1``.
        parse: Reads one answer (the server's name, the answer's fields); raises
            :class:`ServerError` on one that breaks the protocol.
        warm_ups: Runs each server does in its turn before the one kept, each with a request
            number of its own (``r + requests``, ...), their answers checked but not kept: a run
            that follows another side's starts with the caches that side evicted, which weighs
            more on a short run than on a long one.

    Returns:
        Each server's parsed answers, in order.

    Raises:
        ServerError: A server did not start, stopped answering or broke the protocol.
    """
    answers: dict[str, list[T]] = {name: [] for name in commands}
    with contextlib.ExitStack() as stack:
        servers = {}
        for name, command in commands.items():
            servers[name] = _Server(name, command)
            stack.callback(servers[name].stop)
            servers[name].answer()  # ready
        names = list(commands)
        for r in range(requests):
            for name in names if r % 2 == 0 else names[::-1]:
                for w in range(warm_ups, -1, -1):
                    servers[name].ask(r + w * requests)
                    answer = parse(name, servers[name].answer())
                answers[name].append(answer)
    return answers


def bench_reference(reference: Path, rounds: int) -> dict[str, Any]:
    """A baseline run here and at ``reference`` (another checkout), each in its own fresh interpreter, interleaved."""
    commands = {
        "here": [sys.executable, "-c", SERVER, str(ROOT)],
        "reference": [sys.executable, "-c", SERVER, str(reference)],
    }
    times = _serve_interleaved(commands, rounds * 4, lambda name, answer: float(answer[0]))
    commit = subprocess.run(
        ["git", "-C", str(reference), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    return {
        "reference": str(reference),
        "reference_commit": commit.stdout.strip() or "unknown",
        "here_ms": _summary(times["here"], 1000),
        "reference_ms": _summary(times["reference"], 1000),
        "speedup": _ratios(times["reference"], times["here"]),
    }


#: What a ``--peer`` command must do.
PEER_PROTOCOL = (
    "print one line when ready; then, for each line read (0, 1, ...: a seed it may use), run its model once "
    "and print one line, the run's seconds and its agent-steps (agents stepped, summed over its steps), e.g. "
    "'0.0213 2341', flushing each line and printing nothing else"
)
#: This project as a peer: the baseline run of :func:`bench_runs`, its time series read, in a fresh interpreter.
HERE_AS_PEER = """
import sys, time, logging
logging.getLogger("mesa").setLevel(logging.WARNING)
from sim import load_config, run
from sim.bench import agent_steps
base = load_config(["scenario=baseline"])
steps = agent_steps(base)
run(base).timeseries
print("ready", flush=True)
for line in sys.stdin:
    began = time.perf_counter()
    run(base).timeseries
    print(time.perf_counter() - began, steps, flush=True)
"""


def parse_peers(texts: list[str]) -> dict[str, list[str]]:
    """Each ``--peer`` ``NAME=COMMAND``: its name and its command, split as a shell would.

    Raises:
        ValueError: One has no name, is named ``here`` or as another is, or has no command, or
            a command a shell could not split (an unclosed quote).
    """
    peers: dict[str, list[str]] = {}
    for text in texts:
        name, _, command = (part.strip() for part in text.partition("="))
        try:
            words = shlex.split(command)
        except ValueError as exc:
            words, why = [], f"its command does not split as a shell's would ({exc}); expected NAME=COMMAND"
        else:
            why = "expected NAME=COMMAND"
        if not name or not words or name == "here" or name in peers:
            raise ValueError(
                f"--peer {text!r}: {why}, a name of its own (not 'here', not another peer's) and the command "
                "that starts the peer's server, e.g. --peer 'cps=/path/to/python cps_server.py' "
                "(python -m sim.bench --help)"
            )
        peers[name] = words
    return peers


def _agent_steps_per_s(name: str, answer: list[str]) -> float:
    """Agent-steps per second of one run, from a server's answer.

    Raises:
        ServerError: The answer is not positive, finite seconds and a positive whole number of agent-steps.
    """
    try:
        seconds, steps = float(answer[0]), int(answer[1])
        if len(answer) == 2 and 0 < seconds < math.inf and steps > 0:
            return steps / seconds
    except (ValueError, IndexError):
        pass
    raise ServerError(f"{name} answered {' '.join(answer)!r}; a peer must {PEER_PROTOCOL}")


def bench_peers(peers: dict[str, list[str]], rounds: int) -> dict[str, Any]:
    """Agent-steps per second of a baseline run here and of each peer's run, interleaved.

    Every side is a server in its own interpreter (:data:`HERE_AS_PEER` here; each peer's
    command answering :data:`PEER_PROTOCOL`), asked for one run at a time, in ``rounds`` x 40
    rounds; in each round every side runs twice in a row, with seeds of their own, and the
    second run is timed (the first warms the caches the other sides' runs evicted: a short run
    pays more for them).

    Returns:
        Each side's agent-steps per second (best and median of its runs), and here over each
        peer (the median of the rounds' ratios).
    """
    commands = {"here": [sys.executable, "-c", HERE_AS_PEER]} | peers
    rates = _serve_interleaved(commands, rounds * 40, _agent_steps_per_s, warm_ups=1)
    return {
        name: {
            "command": shlex.join(peers[name]) if name in peers else "sim.bench.HERE_AS_PEER",
            "agent_steps_per_s": {"best": max(r), "median": statistics.median(r)},
            "here_over_it": _ratios(rates["here"], r),
        }
        for name, r in rates.items()
    }


#: A fresh interpreter at a checkout (``sys.argv[1]``) runs the baseline ``sys.argv[2]`` times after a first run.
COUNTED = """
import sys, logging
sys.path.insert(0, sys.argv[1])
logging.getLogger("mesa").setLevel(logging.WARNING)
from sim import load_config, run
from sim.schema import with_settings
base = load_config(["scenario=baseline"])
run(base).timeseries
for seed in range(int(sys.argv[2])):
    run(with_settings(base, {"seed": seed})).timeseries
"""


def instructions_executed(stderr: str) -> int:
    """The instructions callgrind counted, read from its report (``Collected : N``)."""
    found = re.search(r"Collected\s*:\s*(\d+)", stderr)
    if found is None:
        raise RuntimeError(f"valgrind did not report the instructions it counted:\n{stderr[-2000:]}")
    return int(found.group(1))


#: The same dict layouts every time (hash seed), numba's code for one CPU whatever valgrind shows it as (so
#: that a cache filled outside valgrind serves the counted interpreters), and no BLAS helper threads, whose
#: idle spinning valgrind would count in proportion to the time it takes (a baseline run calls no BLAS).
_COUNTING = {**os.environ, **SINGLE_THREADED, "PYTHONHASHSEED": "0", "NUMBA_CPU_NAME": "generic"}


def _counting(code: str, *args: object) -> subprocess.Popen[str]:
    """Start a fresh interpreter under callgrind, running ``code`` with ``args``."""
    valgrind = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
    command = [*valgrind, sys.executable, "-c", code, *map(str, args)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=_COUNTING)


def _counted(process: subprocess.Popen[str], what: str) -> int:
    """The instructions a :func:`_counting` interpreter executed, once it has ended.

    Raises:
        RuntimeError: It failed (``what`` names it); the message shows its stderr's end.
    """
    _, stderr = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{stderr[-2000:]}")
    return instructions_executed(stderr)


def bench_instructions(checkouts: dict[str, Path], runs: int = 3) -> dict[str, float]:
    """Millions of instructions a baseline run executes at each checkout (its time series read).

    Each checkout runs in a fresh interpreter under callgrind twice, with ``runs`` runs after
    the first and with none; the difference over ``runs`` leaves out start-up and the first
    run. Two interpreters run at a time. A run outside callgrind first brings numba's cache of
    each checkout up to date, so neither counted interpreter compiles.
    """
    for path in checkouts.values():
        subprocess.run([sys.executable, "-c", COUNTED, str(path), "0"], check=True, capture_output=True, env=_COUNTING)
    counted: dict[tuple[str, int], int] = {}
    for n in (runs, 0):
        started = {name: _counting(COUNTED, path, n) for name, path in checkouts.items()}
        for name, process in started.items():
            counted[name, n] = _counted(process, f"the counted runs at {checkouts[name]}")
    return {name: (counted[name, runs] - counted[name, 0]) / runs / 1e6 for name in checkouts}


#: A fresh interpreter runs the benchmark's batch of ``sys.argv[2]`` baseline runs through ``sys.argv[1]``:
#: "engine" (the sweep engine's batch), "loop" (``run()`` of each config, built beforehand) or "none"
#: (only what both do first: the configs built, one run each way).
COUNTED_ENGINE = """
import sys, logging
logging.getLogger("mesa").setLevel(logging.WARNING)
from sim.bench import batch_sides
engine, loop = batch_sides(int(sys.argv[2]))
engine(1), loop(1)
{"engine": engine, "loop": loop, "none": lambda runs: None}[sys.argv[1]](int(sys.argv[2]))
"""


def bench_engine_instructions(batch: int = 20) -> dict[str, float]:
    """Millions of instructions a baseline run executes through the sweep engine's batch and through a plain loop.

    Three fresh interpreters under callgrind run :data:`COUNTED_ENGINE`: a batch of ``batch``
    runs each way, and neither; the differences over ``batch`` leave out start-up and set-up,
    so their ratio is the engine's own work, whatever the machine's load. A batch of one outside
    callgrind first brings numba's cache up to date, so that no counted interpreter compiles.
    """
    subprocess.run([sys.executable, "-c", COUNTED_ENGINE, "none", "1"], check=True, capture_output=True, env=_COUNTING)
    started = {side: _counting(COUNTED_ENGINE, side, batch) for side in ("engine", "loop", "none")}
    counted = {side: _counted(process, f"the counted {side} batch") for side, process in started.items()}
    per_run = {side: (counted[side] - counted["none"]) / batch / 1e6 for side in ("engine", "loop")}
    return per_run | {"engine_over_loop": per_run["engine"] / per_run["loop"]}


def measure(
    rounds: int,
    runs: int,
    reference: Path | None,
    instructions: bool = False,
    peers: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """Every figure, with the date, machine and commit they were taken on.

    The peers and the reference go first, so that a server that does not answer stops the
    benchmark before the rest.
    """
    logging.getLogger("mesa").setLevel(logging.WARNING)
    compared = {"peers": bench_peers(peers, rounds)} if peers else {}
    if reference is not None:
        compared["vs_reference"] = bench_reference(reference, rounds)
    base = load_config(["scenario=baseline"])
    run(base)  # warm-up: imports and the compiled rule's cache
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    figures: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_implementation()} "
        f"{platform.python_version()}",
        "commit": commit.stdout.strip(),
        "rounds": rounds,
        "startup": bench_startup(),
        "runs": bench_runs(base, rounds, batch=20),  # a sweep batches up to 50 runs (MAX_AUTO_BATCH)
        "workers": bench_workers(rounds, runs),
        "scaling": bench_scaling(base),
        "phases": bench_phases(base, runs=40),
    } | compared
    if instructions:
        checkouts = {"here": ROOT} | ({"reference": reference} if reference is not None else {})
        figures["instructions_m"] = bench_instructions(checkouts)
        figures["engine_instructions_m"] = bench_engine_instructions()
    return figures


def report(f: dict[str, Any]) -> str:
    """The figures as Markdown tables: timings and ratios, where a month's time goes, scaling."""
    r, w, s = f["runs"], f["workers"], f["startup"]
    lines = [
        f"Measured with `python -m sim.bench` on {f['date']} ({f['machine']}, commit {f['commit']}); "
        f"every comparison interleaved over {f['rounds']} rounds, ratios are medians of per-round ratios.",
        "",
        "| figure | min | median |",
        "|---|---|---|",
        f"| one baseline run, its time series read (ms) | {r['one_run_ms']['min']:.1f} | "
        f"{r['one_run_ms']['median']:.1f} |",
        f"| plain loop of `run()`, time series read (ms a run) | {r['loop_ms_per_run']['min']:.1f} | "
        f"{r['loop_ms_per_run']['median']:.1f} |",
        f"| sweep engine's batch (ms a run) | {r['engine_ms_per_run']['min']:.1f} | "
        f"{r['engine_ms_per_run']['median']:.1f} |",
        f"| worker start-up to its first result (s) | {w['worker_startup_s']['min']:.2f} | "
        f"{w['worker_startup_s']['median']:.2f} |",
        "",
        "| figure | value |",
        "|---|---|",
        f"| engine / plain loop, per core | {r['engine_over_loop']:.3f} |",
        f"| agent-steps per second ({r['agents_mean']} agents on average, best round) | "
        f"{r['agent_steps_per_s']:,.0f} |",
        f"| minimal Mesa model, same agents: agent-steps per second | {r['minimal_mesa_agent_steps_per_s']:,.0f} |",
        f"| a run / the minimal Mesa model's | {r['minimal_mesa_over_us']:.1f} |",
        f"| sweep of {w['runs_per_sweep']} runs, 1 worker (runs/s, best round) | {w['one_worker_runs_per_s']:.1f} |",
        f"| sweep, 2 workers (runs/s, best round) | {w['two_workers_runs_per_s']:.1f} |",
        f"| 2 workers / 1 worker, throughput | {w['two_over_one']:.2f} |",
        f"| peak memory of the sweeps' worker processes, forkserver included (MB): largest, median | "
        f"{w['worker_peak_mb'][0]:.0f}, {statistics.median(w['worker_peak_mb']):.0f} |",
        f"| peak memory: the sweep's driver (MB) | {w['driver_peak_mb']:.0f} |",
        f"| numpy and pandas alone (s) | {s['numpy_pandas_s']:.2f} |",
        f"| `import sim`, beyond them (s) | {s['import_sim_beyond_s']:.2f} |",
        f"| `python -m sim --help`, beyond them (s) | {s['help_beyond_s']:.2f} |",
        f"| the model (Mesa, of which about 0.45 s its own imports, and the compiled rule), beyond them (s) | "
        f"{s['import_model_beyond_s']:.2f} |",
    ]
    if "vs_reference" in f:
        v = f["vs_reference"]
        lines.append(
            f"| a baseline run at commit {v['reference_commit']}, over one here, each in a fresh interpreter "
            f"({v['reference_ms']['min']:.1f} / {v['here_ms']['min']:.1f} ms, min) | {v['speedup']:.2f} |"
        )
    if "instructions_m" in f:
        counted = f["instructions_m"]
        lines.append(f"| instructions a baseline run executes (millions, valgrind) | {counted['here']:.1f} |")
        if "reference" in counted:
            ratio = counted["reference"] / counted["here"]
            lines.append(
                f"| instructions, at commit {f['vs_reference']['reference_commit']} over here "
                f"({counted['reference']:.1f} / {counted['here']:.1f} M) | {ratio:.2f} |"
            )
    if "engine_instructions_m" in f:
        e = f["engine_instructions_m"]
        lines.append(
            f"| engine / plain loop, instructions a run (valgrind; {e['engine']:.1f} / {e['loop']:.1f} M) | "
            f"{e['engine_over_loop']:.3f} |"
        )
    if "peers" in f:
        lines += [
            "",
            "| agent-steps per second, each side a server in its own interpreter, interleaved | best run | median | "
            "here over it, median of rounds |",
            "|---|---|---|---|",
        ]
        for name, peer in f["peers"].items():
            what = "here: a baseline run" if name == "here" else name  # its command is in the JSON file
            rate = peer["agent_steps_per_s"]
            lines.append(f"| {what} | {rate['best']:,.0f} | {rate['median']:,.0f} | {peer['here_over_it']:.2f} |")
    p = f["phases"]
    month_us = sum(p["us_per_month"].values())
    lines += [
        "",
        f"| where a baseline month's time goes (mean of {p['runs']} runs) | µs a month | share |",
        "|---|---|---|",
    ]
    lines += [f"| {what} | {us:.0f} | {us / month_us:.0%} |" for what, us in p["us_per_month"].items()]
    lines += [
        f"| a month, all of it | {month_us:.0f} | 100% |",
        f"| of all of it: in the channels' and levers' own classes (sim/channels.py, sim/levers/) | "
        f"{p['mechanisms_us_per_month']:.0f} | {p['mechanisms_us_per_month'] / month_us:.0%} |",
        f"| outside the months: building the model (ms a run) | {p['build_ms']:.2f} | |",
        f"| outside the months: reading its summary and time series (ms a run) | {p['results_ms']:.2f} | |",
    ]
    lines += ["", "| firms | hubs | months | run (s) | ms per month | µs per firm-month |", "|---|---|---|---|---|---|"]
    lines += [
        f"| {row['firms']:,} | {row['hubs']} | {row['months']} | {row['run_s']:.3f} | "
        f"{row['run_s'] / row['months'] * 1000:.1f} | {row['us_per_firm_month']:.1f} |"
        for row in f["scaling"]
    ]
    return "\n".join(lines)


def write_readme(text: str) -> None:
    """Replace the README's speed figures (between the bench markers) with ``text``."""
    readme = README.read_text()
    start, end = readme.index(README_START) + len(README_START), readme.index(README_END)
    README.write_text(readme[:start] + "\n" + text + "\n" + readme[end:])


def main(argv: list[str]) -> int:
    """Measure, print, write the JSON file, and on request the README's speed section."""
    parser = argparse.ArgumentParser(prog="python -m sim.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=at_least(1), default=5, help="interleaved rounds of every comparison")
    parser.add_argument("--runs", type=at_least(1), default=60, help="runs per sweep")
    parser.add_argument("--json", type=Path, default=ROOT / "results" / "bench.json", help="where the figures go")
    parser.add_argument("--reference", type=Path, help="another checkout to time a baseline run against")
    parser.add_argument("--readme", action="store_true", help="rewrite the README's speed figures from this run")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="also count the instructions of a baseline run, here and at --reference, and through the sweep engine "
        "against a plain loop (needs valgrind; about 13 minutes)",
    )
    parser.add_argument(
        "--peer",
        action="append",
        default=[],
        metavar="NAME=COMMAND",
        help="also time another simulator's runs in agent-steps per second, interleaved with the baseline's; "
        f"COMMAND starts its server, which must {PEER_PROTOCOL} (repeatable)",
    )
    args = parser.parse_args(argv)
    try:
        peers = parse_peers(args.peer)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    reference = None if args.reference is None else args.reference.resolve()
    if reference is not None and not (reference / "sim" / "run.py").is_file():
        print(f"--reference {args.reference}: not a checkout of this project (it has no sim/run.py)", file=sys.stderr)
        return 2
    if args.instructions and shutil.which("valgrind") is None:
        print(
            "--instructions: valgrind is not installed (it counts the instructions); "
            "install it (Debian: apt-get install valgrind) or leave the option out",
            file=sys.stderr,
        )
        return 2
    try:
        figures = measure(args.rounds, args.runs, reference, args.instructions, peers)
    except ServerError as exc:
        print(exc, file=sys.stderr)
        return 2
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(figures, indent=1) + "\n")
    text = report(figures)
    print(text)
    print(f"\nfigures written to {args.json}")
    if args.readme:
        write_readme(text)
    return 0


if __name__ == "__main__":
    with quiet_when_output_closes():
        sys.exit(main(sys.argv[1:]))
