"""``python -m sim [overrides]``: run one scenario and write its results.

Any config key can be overridden Hydra-style
(``python -m sim scenario=crackdown_singapore policy.end_user_audits.audit_rate=0.2 seed=7``),
and ``-m`` runs a Hydra multirun over comma-separated values, one run folder per job under
``results/multirun/<timestamp>/<job>``. A bad key or value exits
with code 2 and one message naming it; the run's folder is printed on the last line.

Only what a run needs is imported here (the model, results writing and the one chart), not the
sweep engine or its analysis stack, so the command starts quickly.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from sim.config import Config
from sim.loading import CONFIG_DIR, ConfigError, check_overrides, load_config, resolved, validate, with_lever_groups
from sim.report.names import SOURCE_ORDER, label
from sim.report.one_run import write_figure
from sim.results import new_run_dir, write_run
from sim.run import RunResult, run

EXIT_BAD_CONFIG = 2

#: (summary key, label, format) of each line of the printed table.
SUMMARY_ROWS = (
    ("access_ratio", "compute access / demand, whole run", "{:.3f}"),
    ("access_ratio_final", "compute access / demand, last month", "{:.3f}"),
    *((f"channel_share_{s}", f"share of compute: {label(s).lower()}", "{:.1%}") for s in SOURCE_ORDER),
    ("smuggled_h100e_total", "chips smuggled (H100e)", "{:,.0f}"),
    ("seized_h100e_total", "chips seized (H100e)", "{:,.0f}"),
    ("detection_rate", "detected share of illicit transactions", "{:.3f}"),
    ("listed_entities_final", "entities listed", "{:,}"),
    ("legit_denied_h100e_months_total", "legitimate demand denied (H100e-months)", "{:,.0f}"),
)


def summary_table(result: RunResult) -> str:
    """A short plain-text table of the run's headline metrics."""
    cfg = result.config
    lines = [f"scenario {cfg.name}, seed {cfg.seed}, {cfg.start} + {cfg.months} months"]
    width = max(len(text) for _, text, _ in SUMMARY_ROWS)
    for key, text, fmt in SUMMARY_ROWS:
        lines.append(f"  {text:<{width}}  {fmt.format(result.summary[key])}")
    return "\n".join(lines)


def run_and_write(config: Config, folder: Path | None = None) -> tuple[RunResult, Path]:
    """Run a config and write its results and chart; return the result and its folder.

    Args:
        config: The validated config.
        folder: The folder to write into (a Hydra multirun job's); by default a new one under
            ``<paths.results>/runs/<scenario>/``.
    """
    folder = folder or new_run_dir(Path(config.paths.results), config.name)  # checked writable first
    result = run(config)
    write_run(result, folder)
    write_figure(result, folder)
    return result, folder


@hydra.main(config_path=str(CONFIG_DIR), config_name="config", version_base="1.3")
def _hydra_entry(cfg: DictConfig) -> None:
    logging.getLogger("mesa").setLevel(logging.WARNING)
    try:
        config = validate(resolved(cfg, "the config"))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(EXIT_BAD_CONFIG)
    hydra_run = HydraConfig.get()
    multirun = hydra_run.mode is RunMode.MULTIRUN  # one folder per job: results/multirun/<time>/<job>
    try:
        result, folder = run_and_write(config, Path(hydra_run.runtime.output_dir) if multirun else None)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(EXIT_BAD_CONFIG)
    print(summary_table(result))
    print(folder.resolve())


def _overrides(argv: list[str]) -> list[str]:
    return [a for a in argv if "=" in a and not a.startswith("-")]


def main() -> None:
    """Check the overrides before Hydra sees them, then run through Hydra."""
    logging.getLogger("mesa").setLevel(logging.WARNING)
    overrides = _overrides(sys.argv[1:])
    multirun = any(a in ("-m", "--multirun") for a in sys.argv[1:])
    try:
        if multirun:
            check_overrides(overrides)
        else:
            load_config(overrides)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(EXIT_BAD_CONFIG)
    flags = [a for a in sys.argv[1:] if a not in overrides]
    sys.argv = [sys.argv[0], *flags, *with_lever_groups(overrides)]  # Hydra sees every lever group
    _hydra_entry()


if __name__ == "__main__":
    main()
