"""Intermediaries relocating when a hub's enforcement is tightened (docs/ODD.md, section 7.7)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.agents import Intermediary
from sim.channels import IntermediaryKind
from sim.config import Config, Hub, Ownership
from sim.model import ExportControlModel
from sim.schema import with_settings
from sim.world import route_km
from tests.conftest import one_hub, tiny_world

#: Hubs on the equator: "near" is 1 degree of longitude from "home", "far" 10; "strict" is
#: nearest of all but its cooperation is above home's before the crackdown.
HUBS = {
    "home": one_hub(cooperation=0.5, resellers=4, front_companies=2, longitude_deg=0.0),
    "strict": one_hub(cooperation=0.9, resellers=0, longitude_deg=0.5),
    "near": one_hub(cooperation=0.5, resellers=0, longitude_deg=1.0),
    "far": one_hub(cooperation=0.1, resellers=0, longitude_deg=10.0),
}
HUB_ORDER = tuple(HUBS)
CRACKDOWN = {"month": "2025-02", "note": "crackdown", "set": {"world.hubs.home.cooperation": 1.0}}


def world(base: Config, local_front_share: float, timeline: dict | None = None) -> Config:
    """The four hubs, subsidiaries or local fronts, the crackdown in February unless told otherwise."""
    cfg = tiny_world(base, world__intermediaries__local_front_share=local_front_share)
    cfg = with_settings(cfg, {"world.hubs": HUBS})
    return with_settings(cfg, {"timeline": timeline or {"c": CRACKDOWN}})


def hubs_after(cfg: Config, months: int) -> dict[str, int]:
    """How many intermediaries are registered in each hub after ``months`` steps."""
    model = ExportControlModel(cfg)
    for _ in range(months):
        model.step()
    return {hub: len(registered(model, hub)) for hub in HUBS}


def registered(model: ExportControlModel, hub: str) -> list[Intermediary]:
    """The intermediaries registered in a hub (usable or not yet), neither closed nor listed."""
    parties = model.intermediaries
    return [parties.agents[row] for row in np.flatnonzero(parties.open & (parties.hub == HUB_ORDER.index(hub)))]


def test_route_km_is_the_great_circle_distance(baseline: Config) -> None:
    hubs = baseline.world.hubs
    assert route_km(hubs["singapore"], hubs["singapore"]) == 0.0
    # one degree of longitude on the equator
    equator = Hub(**one_hub(latitude_deg=0.0, longitude_deg=0.0))
    one_degree_east = Hub(**one_hub(latitude_deg=0.0, longitude_deg=1.0))
    assert route_km(equator, one_degree_east) == pytest.approx(2 * math.pi * 6371.0 / 360)
    # Singapore to Johor is a causeway away; Jakarta is farther
    assert route_km(hubs["singapore"], hubs["malaysia"]) < 30 < route_km(hubs["singapore"], hubs["indonesia"])


def test_subsidiaries_move_to_the_nearest_hub_that_is_not_stricter(baseline: Config) -> None:
    cfg = world(baseline, local_front_share=0.0)
    assert hubs_after(cfg, 1) == {"home": 6, "strict": 0, "near": 0, "far": 0}
    assert hubs_after(cfg, 2) == {"home": 0, "strict": 0, "near": 6, "far": 0}


def test_moved_intermediaries_register_anew_with_an_operator_of_their_new_hub(baseline: Config) -> None:
    model = ExportControlModel(world(baseline, local_front_share=0.0))
    model.step()
    model.step()
    delay = model.cfg.world.intermediaries.relocation_delay_months
    moved = registered(model, "near")
    assert len(moved) == 6
    assert all(i.hub == "near" and i.usable_from_month == 1 + delay for i in moved)
    lessees = [i for i in moved if i.kind is not IntermediaryKind.RESELLER]
    assert lessees and all(i.operator in model.operators.of_hub("near") for i in lessees)
    assert model.intermediaries.usable_count(IntermediaryKind.RESELLER)[HUB_ORDER.index("near")] == 0


def test_local_fronts_stay(baseline: Config) -> None:
    cfg = world(baseline, local_front_share=1.0)
    model = ExportControlModel(cfg)
    model.step()
    model.step()
    assert all(i.ownership is Ownership.LOCAL_FRONT for i in registered(model, "home"))
    assert hubs_after(cfg, 2) == {"home": 6, "strict": 0, "near": 0, "far": 0}


def test_nobody_moves_without_a_tightening_event(baseline: Config) -> None:
    loosening = {"month": "2025-02", "note": "x", "set": {"world.hubs.home.cooperation": 0.2}}
    assert hubs_after(world(baseline, 0.0, {"l": loosening}), 3)["home"] == 6
    assert (
        hubs_after(world(baseline, 0.0, {"n": {**CRACKDOWN, "set": {"policy.end_user_audits.audit_rate": 0.1}}}), 3)[
            "home"
        ]
        == 6
    )


def test_nobody_moves_when_every_other_hub_is_stricter(baseline: Config) -> None:
    cfg = with_settings(world(baseline, 0.0), {"world.hubs.near.cooperation": 0.6, "world.hubs.far.kyc_baseline": 0.1})
    assert hubs_after(cfg, 2)["home"] == 6
