"""Invariants: nothing created or lost, capacities respected, ratios bounded, determinism."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim import Config, run
from sim.channels import CHANNEL_NAMES, CHANNELS, Source
from sim.model import ExportControlModel
from sim.schema import with_settings
from sim.sources import sources_of
from tests.conftest import rows

SCENARIOS = ["baseline", "crackdown_singapore", "diffusion_rule_kept", "no_controls"]


@pytest.fixture(scope="module", params=[0, 1, 2])
def stepped(request: pytest.FixtureRequest, baseline: Config) -> tuple[ExportControlModel, list[dict]]:
    """The baseline stepped month by month, with the state checked after each month."""
    cfg = with_settings(baseline, {"seed": request.param, "policy.enforcement.audit_budget_per_month": 10.0})
    model = ExportControlModel(cfg)
    checks = []
    for _ in range(cfg.months):
        model.step()
        firms = model.firms
        leased = sum(lease.quantity_h100e for lease in rows(firms.ledger.leases) if lease.start_month <= model.month)
        checks.append(
            {
                "operators": [(o.leased_h100e, o.capacity_h100e) for o in model.operators.agents],
                "leases_by_operator": _leases_by_operator(model),
                "access": model.timeseries()["access_h100e_months"].iloc[-1],
                "stock_plus_leased": firms.stock_h100e.sum() + leased,
            }
        )
    return model, checks


def _leases_by_operator(model: ExportControlModel) -> dict[int, float]:
    """Capacity each operator (by row) has committed to leases, read off the firms' ledger."""
    committed: dict[int, float] = {}
    for lease in rows(model.firms.ledger.leases):
        committed[lease.operator] = committed.get(lease.operator, 0.0) + lease.quantity_h100e
    return committed


def test_chips_shipped_equal_delivered_plus_seized_plus_in_transit(stepped) -> None:
    model, _ = stepped
    ts = model.timeseries()
    smuggled = model.sources.smuggled
    in_transit = sum(s.quantity_h100e for s in rows(model.firms.ledger.shipments) if smuggled[s.source])
    shipped = ts["smuggled_h100e"].sum()
    assert shipped > 0 and ts["seized_h100e"].sum() > 0
    assert shipped == pytest.approx(ts["delivered_smuggled_h100e"].sum() + ts["seized_h100e"].sum() + in_transit)


def test_no_operator_leases_beyond_capacity(stepped) -> None:
    _, checks = stepped
    for month in checks:
        for leased, capacity in month["operators"]:
            assert -1e-6 <= leased <= capacity + 1e-6


def test_operators_lease_exactly_what_the_ledger_holds(stepped) -> None:
    """No capacity is leased twice or lost: what an operator holds as leased is its running leases."""
    model, checks = stepped
    assert any(month["leases_by_operator"] for month in checks)
    for o in model.operators.agents:
        assert o.leased_h100e == pytest.approx(checks[-1]["leases_by_operator"].get(o.row, 0.0), abs=1e-6)


def test_compute_used_never_exceeds_stock_and_leases(stepped) -> None:
    model, checks = stepped
    for month in checks:
        assert month["access"] <= month["stock_plus_leased"] + 1e-6
    ts = model.timeseries()
    assert (ts["access_h100e_months"] <= ts["demand_h100e_months"] + 1e-6).all()


def test_access_is_the_sum_of_its_sources(stepped) -> None:
    model, _ = stepped
    ts = model.timeseries()
    sources = ["stockpile", *CHANNELS]
    np.testing.assert_allclose(ts[[f"access_{s}" for s in sources]].sum(axis=1), ts["access_h100e_months"])
    offshore = ts[[f"access_{name}" for name, c in CHANNELS.items() if c.offshore]].sum(axis=1)
    np.testing.assert_allclose(ts[[c for c in ts if c.startswith("access_hub_")]].sum(axis=1), offshore)


def test_sources_sum_by_channel_and_by_hub_exactly() -> None:
    """Each source a distinct power of two, so a sum shows exactly which sources went into it."""
    sources = sources_of(("a", "b"))
    bit = {source: 2.0 ** sources.index(source) for source in sources.all}
    stockpile_bit = bit[Source("stockpile")]
    per_channel = dict(zip(CHANNEL_NAMES, sources.per_channel(np.array(list(bit.values()))), strict=True))
    per_hub = dict(zip(("a", "b"), sources.per_hub(np.array(list(bit.values()))), strict=True))
    for name, channel in CHANNELS.items():
        hubs = ("a", "b") if channel.offshore else (None,)
        assert per_channel[name] == sum(bit[Source(name, hub)] for hub in hubs)
    for hub in ("a", "b"):
        assert per_hub[hub] == sum(bit[Source(name, hub)] for name, c in CHANNELS.items() if c.offshore)
    assert sum(per_channel.values()) + stockpile_bit == sum(bit.values())  # the stockpile is of no channel
    flags = sources.of_channels(["smuggling", "domestic"])
    assert {s for s, f in zip(sources.all, flags, strict=True) if f} == {
        Source("smuggling", "a"),
        Source("smuggling", "b"),
        Source("domestic"),
    }


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_ratios_stay_in_unit_interval(scenario: str) -> None:
    from sim import load_config

    ts = run(load_config([f"scenario={scenario}", "seed=3"])).timeseries
    for column in ["access_ratio", *[c for c in ts if c.startswith("detection_rate")]]:
        values = ts[column].dropna()
        assert ((values >= 0) & (values <= 1)).all(), column


def test_same_seed_same_results(baseline: Config) -> None:
    first, second = run(baseline), run(baseline)
    pd.testing.assert_frame_equal(first.timeseries, second.timeseries)
    assert first.summary == pytest.approx(second.summary, nan_ok=True)


def test_different_seeds_differ(baseline: Config) -> None:
    other = with_settings(baseline, {"seed": baseline.seed + 1})
    assert not run(baseline).timeseries.equals(run(other).timeseries)


def test_run_does_not_mutate_its_config(baseline: Config) -> None:
    before = baseline.config_hash()
    run(baseline)
    assert baseline.config_hash() == before


def test_every_column_is_documented_and_every_documented_pattern_exists(baseline: Config) -> None:
    import re

    from sim.metrics import column_docs

    patterns = {key: re.compile("^" + re.sub(r"<[a-z]+>", "[a-z_]+", key) + "$") for key in column_docs()}
    columns = run(baseline).timeseries.columns
    for column in columns:
        assert any(p.match(column) for p in patterns.values()), f"{column} is not in COLUMN_DOCS"
    for key, pattern in patterns.items():
        assert any(pattern.match(c) for c in columns), f"COLUMN_DOCS has {key}, which no column matches"


def test_firm_classes_are_not_capped_at_200(baseline: Config) -> None:
    """A world of 1,000 firms (500 in one class) runs, each firm with its own row."""
    counts = {"frontier_lab": 250, "big_tech": 250, "startup": 500}
    cfg = with_settings(baseline, {"months": 2} | {f"world.firms.classes.{c}.count": n for c, n in counts.items()})
    model = ExportControlModel(cfg)
    model.run_for(cfg.months)
    assert len(model.firms) == 1000 and model.firms.stock_h100e.shape[0] == 1000
    assert model.timeseries()["access_ratio"].between(0.0, 1.0).all()
