"""Stock split by use: inference chips serve inference demand only (docs/ODD.md, section 7.11)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.config import Config
from sim.model import ExportControlModel
from sim.sources import STOCKPILE, Source
from tests.conftest import one_firm, schedule_compliant, tiny_world

DOMESTIC = Source("domestic")


@pytest.fixture
def model(baseline: Config) -> ExportControlModel:
    """One firm wanting 100 H100e-months a month, 30% of it inference, with 50 H100e of H100s
    and 100 H100e of inference chips (domestic Ascends) in stock, nothing on order."""
    cfg = tiny_world(
        baseline,
        firm=one_firm(demand_h100e_months=100.0, inference_share=0.3, stock_h100e=50.0),
        world__inference_chips={"Ascend910C": 0.6},
    )
    m = ExportControlModel(cfg)
    domestic = m.sources.index(DOMESTIC)
    m.firms.stock_h100e[0, domestic] = 100.0
    m.firms.inference_stock_h100e[0, domestic] = 100.0
    return m


def test_inference_chips_serve_inference_only(model: ExportControlModel) -> None:
    demand, used = model.firms.use(0)
    sources = model.sources
    assert demand[0] == pytest.approx(100.0)
    # 30 of inference from the Ascends, 50 of training from the H100s: 80 of 100
    assert used[0, sources.index(DOMESTIC)] == pytest.approx(30.0)
    assert used[0, sources.index(STOCKPILE)] == pytest.approx(50.0)
    assert used.sum() == pytest.approx(80.0)


def test_the_need_is_training_compute_when_inference_is_covered(model: ExportControlModel) -> None:
    model.firms.plan(0, domestic_supply_h100e=0.0)
    assert model.firms.need_h100e[0] == pytest.approx(20.0)  # 70 of training, 50 covered
    assert model.firms.inference_need_h100e[0] == 0.0  # inference chips cannot fill it


def test_chips_that_serve_any_work_cover_inference_they_leave_over(model: ExportControlModel) -> None:
    firms, domestic = model.firms, model.sources.index(DOMESTIC)
    firms.stock_h100e[0, domestic] = firms.inference_stock_h100e[0, domestic] = 0.0
    firms.stock_h100e[0, model.sources.index(STOCKPILE)] = 90.0
    firms.plan(0, domestic_supply_h100e=0.0)
    # 90 of H100s: 70 for training, 20 of the 30 of inference; 10 of inference left
    assert firms.need_h100e[0] == pytest.approx(10.0)
    assert firms.inference_need_h100e[0] == pytest.approx(10.0)


def test_a_seizure_takes_inference_stock_in_proportion(model: ExportControlModel) -> None:
    firms, domestic = model.firms, model.sources.index(DOMESTIC)
    assert firms.seize(0, domestic, 40.0) == 40.0
    assert firms.stock_h100e[0, domestic] == pytest.approx(60.0)
    assert firms.inference_stock_h100e[0, domestic] == pytest.approx(60.0)
    np.testing.assert_array_less(-1e-9, firms.stock_h100e - firms.inference_stock_h100e)


def test_inference_chips_arrive_in_the_inference_stock(baseline: Config) -> None:
    cfg = tiny_world(
        baseline,
        firm=one_firm(),
        world__inference_chips={"H20": 1.19},
        world__market__compliant_lead_time_months=0,
        policy__compliant_chips__chip="H20",
        policy__compliant_chips__supply_usd_per_month=None,
    )
    m = ExportControlModel(cfg)
    compliant = Source("compliant")
    for chip, quantity in (("H20", 7.0), (None, 3.0)):  # an inference chip, then leased-class chips
        schedule_compliant(m.firms.ledger, cfg, 0, quantity, 1.0, m.sources.index(compliant), chip)
    m.firms.receive(0, depreciation_per_month=0.5)
    index = m.sources.index(compliant)
    assert m.firms.stock_h100e[0, index] == pytest.approx(10.0)
    assert m.firms.inference_stock_h100e[0, index] == pytest.approx(7.0)
