"""Shared fixtures: the default config, composed once, and tiny hand-checkable worlds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from sim import Config, load_config
from sim.channels import CHANNELS
from sim.ledger import Leases, Ledger, Scheduled, Shipments
from sim.schema import with_settings
from sim.sweep import load_experiment, start_sweep

#: Overrides of the baseline without legal compliant chips, so that smuggling is a main channel:
#: the directions of enforcement's effects on smuggling are measured there.
SMUGGLING_WORLD = (
    "policy.compliant_chips.allowed=false",
    "~timeline.h20_resumed",
    "~timeline.beijing_discourages_h20",
    "~timeline.h200_approved",
)


@pytest.fixture(scope="session")
def baseline() -> Config:
    """The default config (scenario baseline)."""
    return load_config()


def one_hub(**overrides: Any) -> dict[str, Any]:
    """Parameters of a single hub with every check switched off unless overridden."""
    hub = {
        "latitude_deg": 0.0,
        "longitude_deg": 0.0,
        "tier": 2,
        "shipping_cost_usd_per_h100e": 0.0,
        "import_cap_h100e_per_year": None,
        "rental_capacity_h100e": 1.0e9,
        "rental_price_usd_per_h100e_month": 2000.0,
        "cargo_inspection_rate": 0.0,
        "passenger_inspection_rate": 0.0,
        "cooperation": 1.0,
        "travel_cost_usd": 0.0,
        "kyc_baseline": 0.0,
        "operators": 1,
        "resellers": 1,
        "front_companies": 0,
        "logistics_brokers": 0,
    }
    return hub | overrides


def one_firm(**overrides: Any) -> dict[str, Any]:
    """Parameters of a single firm class of one firm."""
    firm = {
        "count": 1,
        "demand_h100e_months": 100.0,
        "demand_growth_per_month": 0.0,
        "budget_usd_per_month": 1.0e12,
        "value_usd_per_h100e_month": 4000.0,
        "risk_aversion": 1.0,
        "inference_share": 0.0,
        "dataset_tb": 10.0,
        "stock_h100e": 0.0,
    }
    return firm | overrides


def tiny_world(
    base: Config, hub: dict[str, Any] | None = None, firm: dict[str, Any] | None = None, **settings: Any
) -> Config:
    """A one-hub, one-firm-class world with static markets, no entry or exit, no learning.

    A cloud rule is in force (operators' KYC detections are penalised, legal cloud rental is
    closed) with no minimum strictness, so the hub's own KYC baseline applies.

    ``settings`` are dotted config paths (with ``__`` for dots) applied last.
    """
    world = {
        "world.hubs": {"hubland": hub or one_hub()},
        "world.inference_chips": {},  # every chip counts at its training H100e
        "world.firms.classes": {"lab": firm or one_firm()},
        "world.domestic.hbm_stacks_per_month": 0.0,
        "world.market.scarcity_elasticity": 0.0,
        "world.market.seizure_elasticity": 0.0,
        "world.intermediaries.registration_rate_per_month": 0.0,
        "world.intermediaries.exposure_per_kh100e": 0.0,
        "world.intermediaries.local_front_share": 0.0,
        "world.intermediaries.idle_exit_months": 120,
        "world.intermediaries.capacity_h100e_per_month": 1.0e9,
        "world.operators.risk_appetite": 0.0,
        "world.operators.legit_demand_share": 0.0,
        "world.operators.capacity_growth_per_month": 0.0,
        "policy.country_caps.enabled": False,
        "policy.country_caps.hubs": [],
        "policy.end_user_audits.audit_rate": 0.0,
        "policy.remote_access.kyc_required": True,  # KYC detections are penalised; no legal cloud rental
        "policy.remote_access.kyc_min_strictness": 0.0,
        "policy.remote_access.operator_audits": False,
        "policy.enforcement.audit_budget_per_month": 0.0,
        "policy.enforcement.allocation": "uniform",
        "policy.enforcement.escalation.enabled": False,
        "behaviour.learning": False,
        "timeline": {},
    }
    world |= {k.replace("__", "."): v for k, v in settings.items()}
    return with_settings(base, world)


def target_data(**changes: Any) -> dict[str, Any]:
    """A valid target (``configs/targets/targets.yaml`` entry) as plain data, with ``changes`` applied."""
    return {
        "role": "validation",
        "description": "d",
        "expression": "total(smuggled_h100e)",
        "unit": "H100e",
        "public": {"sign": "positive"},
        "source": {"cite": "X", "publisher": "p", "title": "t", "date": "2025", "counts": "c"},
    } | changes


def schedule_compliant(
    ledger: Ledger,
    cfg: Config,
    month: int,
    quantity_h100e: float,
    spend_usd: float,
    source: int,
    chip: str | None = None,
) -> None:
    """Schedule one compliant order of firm 0 that passed, placed in ``month``."""
    channel = CHANNELS["compliant"]()
    supply_usd = channel.supply_usd_per_month(cfg)
    ledger.schedule(
        Scheduled(
            np.array([0]),
            np.array([source]),
            np.array([quantity_h100e]),
            np.array([spend_usd]),
            np.array([month + channel.lead_time_months(cfg)]),
            np.array([True]),
            np.array([chip in cfg.world.inference_chips]),
            np.array([-1]),  # no operator
            np.array([np.nan if supply_usd is None else supply_usd]),
        ),
        cfg.world.market.lease_months,
        cfg.months,
    )


def rows(table: Shipments | Leases) -> list[SimpleNamespace]:
    """The entries of a ledger's table (shipments, leases) as records, in order: every named column."""
    named = [name for name, value in vars(type(table)).items() if isinstance(value, property)]
    names = named + [name for name, field in zip(table._fields, table, strict=True) if field.ndim == 1]
    columns = [getattr(table, name) for name in names]
    return [SimpleNamespace(**dict(zip(names, values, strict=True))) for values in zip(*columns, strict=True)]


@pytest.fixture(scope="session")
def model_sobol(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sensitivity experiment, small: 4 base samples over two factors, 2 replications of 6 months."""
    experiment = load_experiment(
        "sensitivity",
        [
            "overrides=['months=6']",
            "design.samples=4",
            "replications=2",
            "executor.kind=serial",
            "~levers",  # Hydra merges a dict into a section: delete it first to replace it
            "+levers={policy.enforcement.audit_budget_per_month: {low: 0, high: 32}}",
            "~uncertainties",
            "+uncertainties={behaviour: {temperature: {low: 0.02, high: 0.5}}}",
        ],
    )
    return start_sweep(experiment, tmp_path_factory.mktemp("sobol"), progress=False).path


def signal_once_ready(
    args: list[str], cwd: Path, ready: str, stop: signal.Signals, settle_s: float = 0.0
) -> subprocess.Popen[str]:
    """Start ``python <args>`` in a process group of its own and send ``stop`` to the group once a
    file matching the glob ``ready`` exists under ``cwd`` (``settle_s`` later); return the process,
    its stderr piped."""
    process = subprocess.Popen(
        [sys.executable, *args],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while not list(cwd.glob(ready)) and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(settle_s)
    os.killpg(process.pid, stop)
    return process
