"""Drive exportsim from EMA Workbench: the model as a plain function of named inputs.

``exportsim_model(**params) -> dict`` builds a config from the scenario's base config with
:func:`sim.schema.with_settings` and returns the run's outcomes; it needs only exportsim.
Running this file needs ema-workbench (``pip install -e '.[ema]'``)::

    python experiments/ema_workbench/exportsim_ema.py --scenarios 50 --policies 4 --replications 3

It samples uncertainties and levers with Latin hypercubes, runs every scenario against every
policy, ``--replications`` times each with seeds 0, 1, ..., and saves EMA's results archive.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from functools import lru_cache
from typing import Any

from sim import Config, load_config, run
from sim.schema import with_settings

#: EMA parameter name -> config path. A dotted config path is accepted as a name as well.
PARAMETERS = {
    "audit_budget": "policy.enforcement.audit_budget_per_month",
    "audit_rate": "policy.end_user_audits.audit_rate",
    "cargo_multiplier": "policy.customs.cargo_multiplier",
    "temperature": "behaviour.temperature",
    "belief_decay": "behaviour.belief_decay",
    "gray_premium": "world.market.gray_premium",
}
#: Lever and uncertainty ranges of the example: EMA name -> (low, high).
LEVERS = {"audit_budget": (0.0, 32.0), "audit_rate": (0.0, 0.5), "cargo_multiplier": (0.5, 4.0)}
UNCERTAINTIES = {"temperature": (0.02, 0.5), "belief_decay": (0.5, 1.0), "gray_premium": (1.2, 3.0)}
OUTCOMES = ("access_ratio", "detection_rate", "channel_share_smuggling", "smuggled_h100e_total")


@lru_cache(maxsize=8)
def base_config(scenario: str, months: int) -> Config:
    """The scenario's composed config, once per process (composing takes about 0.1 s)."""
    return load_config([f"scenario={scenario}", f"months={months}"])


def exportsim_model(scenario: str = "baseline", months: int = 36, seed: int = 0, **params: Any) -> dict[str, float]:
    """Run exportsim at one point and return its outcomes.

    Args:
        scenario: Base scenario, a file of configs/scenario.
        months: Months simulated.
        seed: Seed of the run.
        **params: Inputs by EMA name (see ``PARAMETERS``) or dotted config path.

    Returns:
        The summary metrics named in ``OUTCOMES``.

    Raises:
        sim.schema.SettingsError: An input is unknown or out of range (the message names it).
    """
    settings = {PARAMETERS.get(name, name): value for name, value in params.items()}
    cfg = with_settings(base_config(scenario, int(months)), {**settings, "seed": int(seed)})
    summary = run(cfg).summary
    return {name: float(summary[name]) for name in OUTCOMES}


def build_model(replications: int, months: int) -> Any:
    """The EMA ReplicatorModel: uncertainties, levers, outcomes averaged over one seed per replication."""
    from ema_workbench import Constant, RealParameter, ReplicatorModel, ScalarOutcome

    model = ReplicatorModel("exportsim", function=exportsim_model)
    model.uncertainties = [RealParameter(name, low, high) for name, (low, high) in UNCERTAINTIES.items()]
    model.levers = [RealParameter(name, low, high) for name, (low, high) in LEVERS.items()]
    model.constants = [Constant("months", months), Constant("scenario", "baseline")]
    model.outcomes = [ScalarOutcome(name, function=statistics.fmean) for name in OUTCOMES]  # mean of seeds
    model.replications = [{"seed": seed} for seed in range(replications)]
    return model


def main() -> None:
    """Sample, run and save an EMA Workbench experiment set."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenarios", type=int, default=20, help="uncertainty samples")
    parser.add_argument("--policies", type=int, default=4, help="lever samples")
    parser.add_argument("--replications", type=int, default=3, help="seeds per experiment")
    parser.add_argument("--months", type=int, default=36, help="months simulated")
    parser.add_argument("--processes", type=int, default=1, help="worker processes (1: sequential)")
    parser.add_argument("--out", default="exportsim_ema.tar.gz", help="EMA results archive")
    args = parser.parse_args()
    try:
        from ema_workbench import MultiprocessingEvaluator, SequentialEvaluator, perform_experiments, save_results
    except ImportError:
        sys.exit("error: EMA Workbench is not installed; pip install -e '.[ema]'")
    model = build_model(args.replications, args.months)
    evaluator = SequentialEvaluator(model) if args.processes == 1 else MultiprocessingEvaluator(model, args.processes)
    with evaluator:
        experiments, outcomes = perform_experiments(
            model, scenarios=args.scenarios, policies=args.policies, evaluator=evaluator
        )
    save_results((experiments, outcomes), args.out)
    for name, values in outcomes.items():
        print(f"{name:<26} shape {values.shape}, mean {values.mean():.4g}")
    print(args.out)


if __name__ == "__main__":
    main()
