"""Location verification: the closed form of detection during use, the tamper rule, its effects."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pytest

from sim import Config, load_config, run
from sim.levers.location_verification import LocationVerification, Lots
from sim.model import ExportControlModel
from sim.run import RunResult
from sim.schema import with_settings
from sim.sources import Source
from tests.conftest import SMUGGLING_WORLD

SMUGGLED = Source("smuggling", "malaysia")


class TwoSources:
    """The stockpile and one hub's smuggled chips (the part of sim.sources.Sources the lever reads)."""

    all = (Source("stockpile"), SMUGGLED)
    smuggled = np.array([False, True])


@dataclass
class Month:
    """A stand-in for the model's MonthView: one firm class, smuggled chips in column 1."""

    cfg: Config
    month: int = 0
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(7))
    scarcity: float = 0.0
    arrivals: Arrivals = field(default_factory=lambda: arrivals(0, 0.0))
    firm_value_usd: np.ndarray = field(default_factory=lambda: np.array([3000.0]))
    firm_risk_aversion: np.ndarray = field(default_factory=lambda: np.array([2.0]))
    sources: TwoSources = field(default_factory=TwoSources)
    detections: list[tuple[int, Source, float, int]] = field(default_factory=list)

    def detected(self, firm_index: int, source: Source, quantity_h100e: float, months_delivered: int) -> None:
        self.detections.append((firm_index, source, quantity_h100e, months_delivered))

    def seize_stock(self, firm_index: int, source: Source, quantity_h100e: float) -> float:
        return quantity_h100e


class Arrivals(NamedTuple):
    """The part of the month's shipments (sim.ledger.Shipments) the lever reads."""

    firm_index: np.ndarray
    source: np.ndarray
    quantity_h100e: np.ndarray


def arrivals(n: int, quantity_h100e: float) -> Arrivals:
    """``n`` shipments of smuggled chips (source 1) to firm 0."""
    return Arrivals(np.zeros(n, dtype=int), np.ones(n, dtype=int), np.full(n, quantity_h100e))


def lever(baseline: Config, **values: Any) -> LocationVerification:
    """The lever switched on from the start (off in the baseline), q = 0.05, no tampering unless asked."""
    on = {"enabled": True, "from_month": baseline.start, "verified_share": 1.0, "detection_per_month": 0.05}
    return with_settings(baseline.policy.location_verification, on | {"tamper_cost_usd_per_h100e": 1e12} | values)


@pytest.mark.parametrize("q", [0.05, 0.2])
def test_an_untampered_chip_is_found_by_month_t_with_one_minus_one_minus_q_to_the_t(baseline: Config, q: float) -> None:
    rule, lots = lever(baseline, detection_per_month=q), Lots()
    month = Month(baseline, arrivals=arrivals(20_000, 1.0))
    rule.after_delivery(month, lots)  # month 0: the lots arrive
    month.arrivals = arrivals(0, 0.0)
    found = []
    for t in range(1, 7):
        month.month = t
        rule.after_delivery(month, lots)
        found.append(len(month.detections) / 20_000)
    expected = 1 - (1 - q) ** np.arange(1, 7)
    np.testing.assert_allclose(found, expected, atol=4 * np.sqrt(q / 20_000) + 1e-3)
    assert not any(lots.tampered)


def test_firms_tamper_iff_it_costs_less_than_the_expected_loss(baseline: Config) -> None:
    month = Month(baseline)
    life = baseline.world.market.amortisation_months
    rule = lever(baseline, detection_per_month=0.1, tampered_detection_per_month=0.0, tamper_cost_usd_per_h100e=0.0)
    untampered, tampered = rule.expected_costs_usd(month)
    # Hand check: lambda * (v * lost + F * found) with lost = sum q (1-q)^(t-1) (T - t) / T
    q, lam, v, fine = 0.1, 2.0, 3000.0, baseline.policy.penalties.fine_usd_per_h100e_month
    lost = sum(q * (1 - q) ** (t - 1) * (life - t) / life for t in range(1, life + 1))
    assert untampered[0] == pytest.approx(lam * (v * lost + fine * (1 - (1 - q) ** life)))
    assert tampered[0] == 0.0
    threshold = untampered[0] * life  # tamper cost at which the two are equal
    for cost, tampers in ((0.99 * threshold, True), (1.01 * threshold, False)):
        rule_at = with_settings(rule, {"tamper_cost_usd_per_h100e": cost})
        lots = Lots()
        rule_at.after_delivery(Month(baseline, arrivals=arrivals(1, 10.0)), lots)
        assert lots.tampered == [tampers]


def test_only_smuggling_options_are_penalised_and_only_once_in_force(baseline: Config) -> None:
    class Options:  # the part of the option table the lever reads
        smuggles = np.array([False, True])

    options = Options()
    rule = lever(baseline, from_month="2025-03", verified_share=0.5)
    month = Month(baseline, month=1)
    assert rule.option_penalty_usd_per_h100e_month(month, Lots(), options) == 0.0
    month.month = 2
    penalty = rule.option_penalty_usd_per_h100e_month(month, Lots(), options)
    untampered, tampered = rule.expected_costs_usd(month)
    np.testing.assert_allclose(penalty, [[0.0, 0.5 * min(untampered[0], tampered[0])]])


def test_a_rule_not_yet_in_force_changes_nothing(baseline: Config) -> None:
    assert not baseline.policy.location_verification.enabled
    late = load_config(
        ["policy/location_verification=chip_security_act", "policy.location_verification.from_month=2031-01"]
    )
    pd.testing.assert_frame_equal(run(baseline).timeseries, run(late).timeseries)


@pytest.fixture(scope="module")
def with_and_without() -> tuple[list[RunResult], list[RunResult]]:
    seeds = range(4)
    off = [run(load_config([*SMUGGLING_WORLD, f"seed={s}"])) for s in seeds]
    lever = "policy/location_verification=chip_security_act"
    on = [run(load_config([*SMUGGLING_WORLD, lever, f"seed={s}"])) for s in seeds]
    return off, on


def smuggled_from(runs: list[RunResult], month: str) -> float:
    """Mean volume smuggled from ``month`` on."""
    return float(np.mean([r.timeseries.loc[r.timeseries["month"] >= month, "smuggled_h100e"].sum() for r in runs]))


def test_verification_cuts_smuggled_compute(with_and_without) -> None:
    off, on = with_and_without
    in_force = load_config(["policy/location_verification=chip_security_act"]).policy.location_verification.from_month
    # by more than a third (about 45% here): a found lot's loss scales with chips' gray price, which falls
    assert smuggled_from(on, in_force) < 2 / 3 * smuggled_from(off, in_force)
    assert np.mean([r.summary["access_smuggling_total"] for r in on]) < np.mean(
        [r.summary["access_smuggling_total"] for r in off]
    )


def test_verified_chips_found_in_use_are_seized_and_counted() -> None:
    cfg = load_config(
        [
            *SMUGGLING_WORLD,
            "policy/location_verification=chip_security_act",
            "policy.location_verification.from_month=2025-01",
        ]
    )
    ts = run(cfg).timeseries
    assert ts["verification_detections"].sum() > 0
    assert 0 < ts["verification_seized_h100e"].sum() <= ts["delivered_smuggled_h100e"].sum()


def test_a_lot_found_after_delivery_is_the_firms_own_lesson_and_news_to_the_others(baseline: Config) -> None:
    """Section 4's learning: the found firm adds a detection; every other firm adds news_weight of one."""
    from sim.model import ExportControlModel

    found, unfound = ExportControlModel(baseline), ExportControlModel(baseline)
    for model in (found, unfound):
        model.step()
    found.detected(0, SMUGGLED, 100.0, baseline.world.market.amortisation_months)
    for model in (found, unfound):
        model._learn()
    cell = found.sources.cell(SMUGGLED)
    behaviour = baseline.behaviour
    gained_a = found.firms.beliefs.a[:, cell] - unfound.firms.beliefs.a[:, cell]
    gained_b = found.firms.beliefs.b[:, cell] - unfound.firms.beliefs.b[:, cell]
    others = np.full(len(gained_a) - 1, 1.0)
    np.testing.assert_allclose(gained_a, [1.0, *(behaviour.news_weight * others)])
    np.testing.assert_allclose(gained_b, [0.0, *((behaviour.news_trials - behaviour.news_weight) * others)])


def test_the_month_calls_a_hook_only_on_the_levers_that_override_it() -> None:
    model = ExportControlModel(load_config(["policy/location_verification=chip_security_act"]))
    assert len(model.levers) > 1
    assert [lever.key for lever in model.penalising] == ["location_verification"]
    assert [lever.key for lever in model.acting] == ["location_verification"]
