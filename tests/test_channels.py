"""A contract every registered channel keeps, checked over every channel and scenario month."""

from __future__ import annotations

import pytest

from sim import Config, load_config
from sim.channels import CHANNELS, Channel, Delivery
from sim.model import ExportControlModel


@pytest.fixture(scope="module")
def models() -> list[ExportControlModel]:
    """Models stepped a few months in two scenarios, so every channel has open options."""
    out = []
    for scenario in ("baseline", "no_controls"):
        model = ExportControlModel(load_config([f"scenario={scenario}"]))
        model.run_for(8)
        out.append(model)
    return out


def test_registry_holds_the_five_channels() -> None:
    assert set(CHANNELS) == {"domestic", "compliant", "smuggling", "remote_rental", "data_transport"}
    assert all(issubclass(cls, Channel) and cls.name == name for name, cls in CHANNELS.items())


@pytest.mark.parametrize("name", sorted(CHANNELS))
def test_channel_contract(models: list[ExportControlModel], name: str) -> None:
    cls = CHANNELS[name]
    assert isinstance(cls.delivers, Delivery)
    assert cls.illicit == cls.offshore  # in this model every offshore channel evades the rules
    for model in models:
        channel = cls()
        assert channel.lead_time_months(model) >= 0
        assert channel.months_delivered(model) >= 1
        for option in channel.options(model):
            assert option.channel is channel
            assert option.cost_usd_per_h100e_month > 0 and option.upfront_usd_per_h100e > 0
            assert all(0.0 <= c.p <= 1.0 for c in option.checkpoints)
            assert bool(option.checkpoints) == cls.illicit
            assert (option.hub is not None) == cls.offshore
            assert len(option.pools) <= 2


def test_closed_channels_offer_nothing(baseline: Config) -> None:
    model = ExportControlModel(
        load_config(
            ["scenario=baseline", "policy.compliant_chips.allowed=false", "world.domestic.supply_h100e_per_month=0"]
        )
    )
    model.step()
    assert {o.channel.name for o in model.market.options}.isdisjoint({"compliant", "domestic"})
