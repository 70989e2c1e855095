"""The decision rule and beliefs on tiny cases checked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from sim.decision import Beliefs, allocate, logit_shares, utility


def test_utility_formula() -> None:
    # v - c - lambda * pi * (L + F) = 4000 - 2000 - 2 * 0.1 * (4000 + 1000)
    assert utility(4000.0, 2000.0, 2.0, 0.1, 4000.0, 1000.0) == pytest.approx(1000.0)


def test_logit_shares_by_hand() -> None:
    u = np.array([1000.0, 0.0, 1000.0 - 400.0 * np.log(3), -5.0])
    shares = logit_shares(u, temperature=0.1, scale_usd=4000.0)  # temperature 400 USD
    np.testing.assert_allclose(shares, [0.75, 0.0, 0.25, 0.0])


def test_temperature_zero_takes_the_first_best() -> None:
    np.testing.assert_array_equal(logit_shares(np.array([5.0, 9.0, 9.0]), 0.0, 1.0), [0, 1, 0])
    assert logit_shares(np.array([-1.0, 0.0]), 0.0, 1.0).sum() == 0


def pools(*capacities: float) -> tuple[np.ndarray, np.ndarray]:
    """One pool per option plus the unlimited pool 0."""
    left = np.array([np.inf, *capacities])
    index = np.array([[i + 1, 0] for i in range(len(capacities))])
    return index, left


def test_capacity_filling_resplits_what_is_left() -> None:
    index, left = pools(30.0, 1000.0)
    u = np.array([100.0, 50.0])
    orders = allocate(u, 100.0, 1e9, np.ones(2), index, left, 0.0, 1.0, 0.0, 3)
    assert orders == {0: 30.0, 1: 70.0}
    np.testing.assert_allclose(left, [np.inf, 0.0, 930.0])


def test_budget_limits_orders() -> None:
    index, left = pools(1000.0)
    orders = allocate(np.array([10.0]), 100.0, 500.0, np.array([20.0]), index, left, 0.0, 1.0, 0.0, 3)
    assert orders == {0: 25.0}


def test_shared_pool_is_not_overdrawn() -> None:
    left = np.array([np.inf, 40.0, 1000.0, 1000.0])  # pool 1 is a quota shared by both options
    index = np.array([[2, 1], [3, 1]])
    orders = allocate(np.array([10.0, 10.0]), 100.0, 1e9, np.ones(2), index, left, 1.0, 1.0, 0.0, 3)
    assert sum(orders.values()) == pytest.approx(40.0)
    assert left[1] == pytest.approx(0.0)


def test_small_shares_are_dropped_but_the_best_is_kept() -> None:
    index, left = pools(1e9, 1e9, 1e9)
    u = np.array([100.0, 99.0, 10.0])
    orders = allocate(u, 90.0, 1e9, np.ones(3), index, left, 100.0, 1.0, 0.4, 1)
    assert set(orders) == {0, 1}
    assert sum(orders.values()) == pytest.approx(90.0)


def test_options_not_worth_taking_are_never_ordered() -> None:
    index, left = pools(1e9, 1e9)
    assert allocate(np.array([-1.0, 0.0]), 50.0, 1e9, np.ones(2), index, left, 1.0, 1.0, 0.0, 3) == {}


def test_beliefs_forget_towards_the_prior_then_learn() -> None:
    beliefs = Beliefs(n_firms=1, n_cells=1, prior_a=1.0, prior_b=9.0)
    beliefs.a[:] = 5.0
    beliefs.b[:] = 13.0
    beliefs.update(0.5, np.array([[1.0]]), np.array([[2.0]]), np.array([3.0]), news_weight=0.5, news_trials=2.0)
    # Of 3 public detections, 1 is the firm's own: news adds 2.
    # a = 1 + 0.5 * (5 - 1) + 1 + 0.5 * 2 = 5.0;  b = 9 + 0.5 * (13 - 9) + 2 + 1.5 * 2 = 16.0
    assert beliefs.a[0, 0] == pytest.approx(5.0) and beliefs.b[0, 0] == pytest.approx(16.0)
    assert beliefs.mean()[0, 0] == pytest.approx(5.0 / 21.0)
