"""A contract every registered channel keeps, checked over every channel and scenario month."""

from __future__ import annotations

import re

import numpy as np
import pytest

from sim import load_config, run
from sim.agents.intermediary import KINDS
from sim.channels import CHANNEL_NAMES, CHANNELS, Channel, Delivery, IntermediaryKind
from sim.model import ExportControlModel


@pytest.fixture(scope="module")
def models() -> list[ExportControlModel]:
    """Models stepped a few months in two scenarios, so every channel has open options."""
    out = []
    for scenario in ("baseline", "no_controls"):
        model = ExportControlModel(load_config([f"scenario={scenario}", "months=8"]))
        model.run_for(8)
        out.append(model)
    return out


def test_registry_holds_the_six_channels() -> None:
    assert set(CHANNELS) == {"domestic", "compliant", "smuggling", "remote_rental", "data_transport", "cloud_rental"}
    assert all(issubclass(cls, Channel) and cls.name == name for name, cls in CHANNELS.items())
    assert {c.served_by for c in CHANNELS.values() if c.served_by} == set(IntermediaryKind)


@pytest.mark.parametrize("name", sorted(CHANNELS))
def test_channel_declares_everything_about_itself(name: str) -> None:
    cls = CHANNELS[name]
    assert isinstance(cls.delivers, Delivery)
    assert cls.label and re.fullmatch(r"#[0-9A-F]{6}", cls.colour)
    assert not cls.uses_import_quota or (cls.offshore and cls.delivers is Delivery.STOCK)
    assert cls.audited is None or cls.offshore
    assert cls.smuggles_chips() == (cls.illicit and cls.delivers is Delivery.STOCK)


@pytest.mark.parametrize("name", sorted(CHANNELS))
def test_channel_options_keep_the_contract(models: list[ExportControlModel], name: str) -> None:
    cls = CHANNELS[name]
    offered = 0
    for model in models:
        channel = cls()
        assert channel.lead_time_months(model.cfg) >= 0
        assert channel.months_delivered(model.cfg) >= 1
        if not channel.is_open(model):
            continue
        model.parties = model.intermediaries.terms()  # as a month lists options: after the step some were caught
        offers = channel.options(model)
        n = offers.size
        offered += n
        per_option = (offers.intermediary, offers.operator, *offers.pools, offers.cost_usd_per_h100e_month)
        per_option += (offers.upfront_usd_per_h100e, offers.believed_risk_factor, offers.trip_cost_usd)
        per_option += tuple(check.p for check in offers.checkpoints)
        assert all(isinstance(column, np.ndarray) and column.shape == (n,) for column in per_option)
        assert (offers.cost_usd_per_h100e_month > 0).all() and (offers.upfront_usd_per_h100e > 0).all()
        assert (offers.believed_risk_factor >= 0).all() and (offers.trip_cost_usd >= 0).all()
        for check in offers.checkpoints:
            assert ((check.p >= 0.0) & (check.p <= 1.0)).all()
        assert cls.illicit or not any(c.penalised for c in offers.checkpoints)  # legal: refused, never penalised
        assert not cls.illicit or offers.checkpoints
        assert ((offers.hub >= 0) == cls.offshore).all()
        assert ((offers.intermediary >= 0) == (cls.served_by is not None)).all()
        if cls.served_by is not None:
            parties = model.intermediaries
            assert (parties.kind[offers.intermediary] == KINDS.index(cls.served_by)).all()
            assert (parties.hub[offers.intermediary] == offers.hub).all()
            assert parties.usable()[offers.intermediary].all()
        assert ((offers.operator >= 0) == (cls.offshore and cls.delivers is Delivery.FLOW)).all()
        if cls.offshore and cls.delivers is Delivery.FLOW:
            assert (model.operators.hub[offers.operator] == offers.hub).all()
        for pools in offers.pools:
            assert ((pools >= 0) & (pools < len(model.capacities.left))).all()
    assert offered > 0, f"{name} offered no option in any scenario month"


@pytest.mark.parametrize("scenario", ["baseline", "crackdown_singapore"])
def test_a_channels_chip_and_checks_follow_from_the_config(scenario: str) -> None:
    """Only check probabilities change from month to month (the option table memoises the rest per config)."""
    model = ExportControlModel(load_config([f"scenario={scenario}", "months=14"]))
    seen: dict[tuple[int, str], tuple] = {}
    for _ in range(14):
        model.step()
        for channel in model.channels:
            if channel.is_open(model):
                offers = channel.options(model)
                kinds = (offers.chip, tuple((c.name, c.per_trip, c.penalised) for c in offers.checkpoints))
                assert seen.setdefault((id(model.cfg), channel.name), kinds) == kinds
    assert len({cfg for cfg, _ in seen}) > 1  # the rules changed on the way


@pytest.fixture(scope="module")
def columns() -> set[str]:
    return set(run(load_config(["months=2"])).timeseries.columns)


@pytest.mark.parametrize("name", sorted(CHANNELS))
def test_every_channel_has_its_output_columns(columns: set[str], name: str) -> None:
    assert {f"access_{name}", f"attempts_{name}", f"price_{name}_usd_per_h100e_month"} <= columns
    assert (f"detection_rate_{name}" in columns) == CHANNELS[name].illicit


def test_closed_channels_offer_nothing() -> None:
    model = ExportControlModel(
        load_config(
            ["scenario=baseline", "policy.compliant_chips.allowed=false", "world.domestic.hbm_stacks_per_month=0"]
        )
    )
    model.step()
    assert {CHANNEL_NAMES[c] for c in model.table.channel}.isdisjoint({"compliant", "domestic"})
