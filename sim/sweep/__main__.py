"""``python -m sim.sweep experiment=<name> [override ...]``: run a sweep; ``resume=<dir>`` continues one.

Overrides change experiment keys in Hydra's grammar (``replications=2 executor.workers=1
+levers.policy.penalties.seizure=[true,false]``), as for ``python -m sim``. The sweep folder
is printed on the last line. Exit codes: 0 every run finished, 1 some runs failed (see
failures.jsonl), 2 a bad experiment (nothing run), 130 interrupted (resume it).
"""

from __future__ import annotations

import signal
import sys

from sim.commands import EXIT_INTERRUPTED, quiet_when_output_closes, version_text
from sim.loading import refuse_keys_given_twice
from sim.schema import ConfigError
from sim.sweep.engine import SweepInterrupted, resume_sweep, start_sweep, stop_on_signal
from sim.sweep.experiment import experiment_names, load_experiment

EXIT_RUNS_FAILED = 1
EXIT_BAD_EXPERIMENT = 2
USAGE = (
    "usage: python -m sim.sweep experiment=<name or file.yaml> [Hydra override ...]\n"
    "       python -m sim.sweep resume=<sweep dir> [executor.key=value ...] [allow_code_change=true]"
)


HELP = """\
Runs a sweep: the points of an experiment's design (configs/experiment/<name>.yaml or a YAML
file), each replicated over seeds, in worker processes or on a Dask cluster. Results stream to
results/sweeps/<name>/<timestamp>/, printed on the last line; resume=<dir> runs only what a
killed sweep had not finished. Overrides change experiment keys in Hydra's grammar:
replications=2 executor.workers=1 +levers.policy.penalties.seizure=[true,false].

exit codes: 0 every run finished, 1 some runs failed (see failures.jsonl), 2 a bad experiment
(nothing run) or results that cannot be written (resume once fixed), 130 interrupted (resume it).
next: python -m sim.sweep.summarize <dir> (means with 95% intervals), python -m sim.report <dir>
(figures), python -m sim.sweep.sensitivity <dir> (Sobol or Morris). Guide: docs/sweeps.md"""


def main(argv: list[str]) -> int:
    """Run or resume the sweep the arguments name; return the exit code."""
    if not argv or any(a in ("-h", "--help") for a in argv):
        if not argv:
            print(f"{USAGE}\nexperiments: {', '.join(experiment_names())}")
            return EXIT_BAD_EXPERIMENT
        print(f"{USAGE}\n\n{HELP}\n\nexperiments: {', '.join(experiment_names())}")
        return 0
    if "--version" in argv:
        print(version_text())
        return 0
    for stop in (signal.SIGINT, signal.SIGTERM):  # a scheduler's SIGTERM stops cleanly, like Ctrl-C
        signal.signal(stop, stop_on_signal)
    named = {k: v for k, _, v in (a.partition("=") for a in argv) if k in ("experiment", "resume")}
    flags = {k: v for k, _, v in (a.partition("=") for a in argv) if k == "allow_code_change"}
    overrides = [a for a in argv if a.partition("=")[0] not in {*named, *flags}]
    try:
        for arg in argv:
            if "=" not in arg and not arg.startswith("~"):
                raise ConfigError(f"{arg}: expected key=value (e.g. replications=2) or ~key\n{USAGE}")
        refuse_keys_given_twice(argv)
        if len(named) != 1:
            raise ConfigError(f"give one of experiment=<name> or resume=<dir>\n{USAGE}")
        if flags and ("resume" not in named or flags["allow_code_change"] not in ("true", "false")):
            raise ConfigError("allow_code_change=true|false goes with resume=<dir> only")
        if "resume" in named:
            outcome = resume_sweep(
                named["resume"], overrides, allow_code_change=flags.get("allow_code_change") == "true"
            )
        else:
            outcome = start_sweep(load_experiment(named["experiment"], overrides))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_EXPERIMENT
    except SweepInterrupted as exc:
        print(exc, file=sys.stderr)
        if exc.path is not None:
            print(exc.path.resolve())
        return EXIT_INTERRUPTED
    if outcome.failed:
        print(f"{outcome.failed:,} of {outcome.runs:,} runs failed; see {outcome.path / 'failures.jsonl'}")
    else:
        print(f"{outcome.finished:,} of {outcome.runs:,} runs finished")
    print(outcome.path.resolve())
    return EXIT_RUNS_FAILED if outcome.failed else 0


if __name__ == "__main__":
    with quiet_when_output_closes():
        sys.exit(main(sys.argv[1:]))
