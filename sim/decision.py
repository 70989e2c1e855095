"""The firms' decision rule and beliefs, as pure functions over arrays (docs/ODD.md, sections 4 and 7.12).

Expected net value of one H100e-month through option o for firm f::

    U(f, o) = v_f - c(f, o) - lambda_f * pi_hat(f, o) * (L_o + F_o)

Options with U <= 0 are never taken. The firm splits its unmet demand over the others by a
logit with a temperature relative to its value of compute (0: everything to the best
option), fills capacities, and re-splits what is left.
"""

from __future__ import annotations

import numpy as np
from numba import njit

EPS_H100E = 1e-9


@njit(cache=True)
def utility(
    value_usd: float, cost_usd: float, risk_aversion: float, pi_hat: float, loss_usd: float, fine_usd: float
) -> float:
    """U = v - c - lambda * pi_hat * (L + F), all per H100e-month (compiled: the option table prices with it)."""
    return value_usd - cost_usd - risk_aversion * pi_hat * (loss_usd + fine_usd)


def logit_shares(u: np.ndarray, temperature: float, scale_usd: float) -> np.ndarray:
    """Shares of demand per option: a logit over options with U > 0, zero elsewhere.

    Args:
        u: Utilities of the options, USD per H100e-month.
        temperature: Logit temperature relative to ``scale_usd``; 0 gives everything to the
            best option (the first one on ties).
        scale_usd: The firm's value of compute, which makes the temperature unitless.
    """
    shares = np.zeros_like(u, dtype=float)
    positive = np.flatnonzero(u > 0)
    if positive.size:
        out = np.empty(positive.size)
        _logit(np.asarray(u, dtype=float), positive, positive.size, temperature, scale_usd, out)
        shares[positive] = out
    return shares


@njit(cache=True)
def _logit(u, candidates, count, temperature, scale_usd, shares):
    """Logit shares of ``u[candidates[:count]]`` into ``shares[:count]`` (first best on ties at 0)."""
    if temperature == 0 or scale_usd <= 0:
        best = 0
        for k in range(1, count):
            if u[candidates[k]] > u[candidates[best]]:
                best = k
        shares[:count] = 0.0
        shares[best] = 1.0
        return
    top = -np.inf
    for k in range(count):
        top = max(top, u[candidates[k]])
    total = 0.0
    for k in range(count):
        shares[k] = np.exp((u[candidates[k]] - top) / (temperature * scale_usd))
        total += shares[k]
    for k in range(count):
        shares[k] /= total


@njit(cache=True)
def _allocate(u, need_h100e, budget_usd, upfront, scale_usd, out, pools, rule, scratch):
    """The decision rule for one firm (see :func:`allocate`); adds to ``out``, returns the money spent.

    ``pools`` is (first pool, second pool, what is left of each pool); ``rule`` is (temperature,
    min_share, max_rounds); ``scratch`` is :func:`_scratch` for as many options, its values unused.
    """
    first, second, pool_left = pools
    temperature, min_share, max_rounds = rule
    open_, candidates, shares, by_share = scratch
    n = u.size
    for o in range(n):
        open_[o] = u[o] > 0
    spent_usd = 0.0
    for _ in range(max_rounds):
        if need_h100e <= EPS_H100E or budget_usd <= 0:
            break
        count = 0
        for o in range(n):
            if open_[o]:
                if min(pool_left[first[o]], pool_left[second[o]]) > EPS_H100E:
                    candidates[count] = o
                    count += 1
                else:
                    open_[o] = False
        if count == 0:
            break
        _logit(u, candidates, count, temperature, scale_usd, shares)
        threshold = min(min_share, shares[:count].max())
        kept, total = 0, 0.0
        for k in range(count):
            if shares[k] >= threshold:
                candidates[kept], shares[kept] = candidates[k], shares[k]
                total += shares[k]
                kept += 1
        round_need = need_h100e
        for i in range(kept):  # largest share first, ties in option order (a stable insertion sort)
            j = i
            while j > 0 and shares[by_share[j - 1]] < shares[i]:
                by_share[j] = by_share[j - 1]
                j -= 1
            by_share[j] = i
        for k in by_share[:kept]:
            o = candidates[k]
            a, b = first[o], second[o]
            affordable = budget_usd / upfront[o] if upfront[o] > 0 else np.inf
            q = min(shares[k] / total * round_need, pool_left[a], pool_left[b], affordable, need_h100e)
            if q <= EPS_H100E:
                continue
            pool_left[a] -= q
            if b != a:
                pool_left[b] -= q
            budget_usd -= q * upfront[o]
            spent_usd += q * upfront[o]
            need_h100e -= q
            out[o] += q
    return spent_usd


def allocate(
    u: np.ndarray,
    need_h100e: float,
    budget_usd: float,
    upfront_usd_per_h100e: np.ndarray,
    pool_index: np.ndarray,
    pool_left: np.ndarray,
    temperature: float,
    scale_usd: float,
    min_share: float,
    max_rounds: int,
) -> dict[int, float]:
    """Split a firm's unmet demand over options, within capacities and budget.

    Each round splits what is still needed by :func:`logit_shares` over options that are
    worth taking and still have capacity, drops shares below ``min_share`` (keeping at least
    the best option), and orders as much of each share as the option's pools and the budget
    allow, largest share first. Capacity is drawn from ``pool_left`` in place. The rule is
    compiled (numba); :func:`allocate_month` runs it for every firm in one call.

    Returns:
        H100e ordered per option index (options ordered nothing are left out).
    """
    out = np.zeros(u.size)
    _allocate(
        np.asarray(u, dtype=float),
        float(need_h100e),
        float(budget_usd),
        np.asarray(upfront_usd_per_h100e, dtype=float),
        float(scale_usd),
        out,
        _pools(pool_index, pool_left),
        (float(temperature), float(min_share), int(max_rounds)),
        _scratch(u.size),
    )
    return {int(o): float(out[o]) for o in np.flatnonzero(out)}


@njit(cache=True)
def _scratch(n):
    """Working arrays of the rule for ``n`` options: open, candidates, their shares, candidates by share."""
    return np.empty(n, np.bool_), np.empty(n, np.int64), np.empty(n), np.empty(n, np.int64)


def _pools(pool_index: np.ndarray, pool_left: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(first pool, second pool, what is left of each) as the compiled rule takes them."""
    return np.ascontiguousarray(pool_index[:, 0]), np.ascontiguousarray(pool_index[:, 1]), pool_left


def allocate_month(
    firm_order: np.ndarray,
    u: np.ndarray,
    upfront_usd_per_h100e: np.ndarray,
    pool_index: np.ndarray,
    pool_left: np.ndarray,
    need_h100e: np.ndarray,
    budget_usd: np.ndarray,
    scale_usd: np.ndarray,
    rations: tuple[np.ndarray, np.ndarray],
    ahead: tuple[np.ndarray, np.ndarray, np.ndarray, int],
    temperature: float,
    min_share: float,
    max_rounds: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every firm's orders of the month, firm after firm in ``firm_order``, sharing ``pool_left``.

    A firm with unmet demand first sets its own rations (its share of domestic supply, its
    inference demand) in their pools and splits its demand by :func:`allocate`. It then buys
    chips ahead through each channel of chips about to close: up to what it still wants on
    order there, less the chips it has just ordered through it, through that channel's options
    only, paid from its budget for the months ahead (docs/ODD.md, section 7.15).

    Args:
        firm_order: Row of each firm, in the order they decide.
        u: (firms x options) utilities.
        upfront_usd_per_h100e: (firms x options) money committed per H100e ordered.
        pool_index: (options x 2) pools each option draws on.
        pool_left: What is left of each pool; drawn in place.
        need_h100e: Each firm's unmet demand.
        budget_usd: Each firm's monthly budget.
        scale_usd: Each firm's value of compute (the logit's scale).
        rations: The pools that are per-firm rations, and
            (firms x rations) what each firm may draw of them.
        ahead: (channels of chips about to close x options) which options each goes through,
            (firms x those channels) what each firm still wants on order there, each firm's
            budget for buying ahead, and the pool that takes the amount bought ahead.
        temperature: The logit's temperature (``behaviour.temperature``).
        min_share: Shares below it are dropped (``behaviour.min_order_share``).
        max_rounds: Rounds of re-splitting (``behaviour.max_rounds``).

    Returns:
        The orders as (firm, option, H100e), in the order decided: firm after firm, each firm's
        orders for this month's demand (by option) before those it buys ahead.
    """
    return _allocate_month(
        np.asarray(firm_order, dtype=np.int64),
        (u, upfront_usd_per_h100e, need_h100e, budget_usd, scale_usd),
        _pools(pool_index, pool_left),
        (float(temperature), float(min_share), int(max_rounds)),
        rations,
        ahead,
    )


@njit(cache=True)
def _allocate_month(firm_order, firms, pools, rule, rations, ahead):
    """The loop of :func:`allocate_month`, compiled."""
    u, upfront, need, budget, scale = firms
    pool_left = pools[2]
    ration_pools, ration_h100e = rations
    through, ahead_h100e, ahead_budget, ahead_pool = ahead
    n = u.shape[1]
    most = 2 * firm_order.size * n  # every option for the month's demand and bought ahead
    firm, option, quantity = np.empty(most, np.int64), np.empty(most, np.int64), np.empty(most)
    count = 0
    ordered = np.empty(n)
    just_ordered_h100e = np.empty(through.shape[0])
    scratch = _scratch(n)
    for i in firm_order:
        ordered[:] = 0.0
        if need[i] > 0:
            for k in range(ration_pools.size):
                pool_left[ration_pools[k]] = ration_h100e[i, k]
            _allocate(u[i], need[i], budget[i], upfront[i], scale[i], ordered, pools, rule, scratch)
        count = _emit(i, ordered, firm, option, quantity, count)
        for c in range(through.shape[0]):
            just_ordered_h100e[c] = np.sum(ordered[through[c]])
        ordered[:] = 0.0
        budget_left = ahead_budget[i]
        for c in range(through.shape[0]):
            wanted = ahead_h100e[i, c] - just_ordered_h100e[c]
            if wanted <= 0 or budget_left <= 0:
                continue
            pool_left[ahead_pool] = wanted
            u_through = np.where(through[c], u[i], -np.inf)
            spent_usd = _allocate(u_through, wanted, budget_left, upfront[i], scale[i], ordered, pools, rule, scratch)
            budget_left -= spent_usd
        count = _emit(i, ordered, firm, option, quantity, count)
    return firm[:count], option[:count], quantity[:count]


@njit(cache=True)
def _emit(i, ordered, firm, option, quantity, count):
    """Append firm ``i``'s orders (``ordered``, by option) to the month's; return the new count."""
    for o in range(ordered.size):
        if ordered[o] > 0:
            firm[count], option[count], quantity[count] = i, o, ordered[o]
            count += 1
    return count


class Beliefs:
    """Beta(a, b) beliefs of every firm about the detection probability of every cell.

    A cell is an (illicit channel, hub) pair. Evidence decays each month towards the prior
    (``retention`` = ``belief_decay``), then own outcomes and public detections are added.
    """

    def __init__(self, n_firms: int, n_cells: int, prior_a: float, prior_b: float) -> None:
        self.prior_a, self.prior_b = prior_a, prior_b
        self.a = np.full((n_firms, n_cells), prior_a)
        self.b = np.full((n_firms, n_cells), prior_b)

    def mean(self) -> np.ndarray:
        """Believed detection probability per (firm, cell)."""
        return self.a / (self.a + self.b)

    def update(
        self,
        retention: float,
        own_detected: np.ndarray,
        own_passed: np.ndarray,
        public_detections: np.ndarray,
        news_weight: float,
        news_trials: float,
    ) -> None:
        """Forget, then learn from this month's own outcomes and public detections.

        Args:
            retention: Share of past evidence kept.
            own_detected: Detected transactions per (firm, cell) this month.
            own_passed: Transactions that passed per (firm, cell).
            public_detections: Detections per cell made public this month; a firm's own
                detections among them count as own evidence only.
            news_weight: Pseudo-detections per public detection.
            news_trials: Pseudo-transactions per public detection.
        """
        _update(
            (self.a, self.b),
            (self.prior_a, self.prior_b, retention),
            (own_detected, own_passed, public_detections),
            (news_weight, news_trials - news_weight),
        )

    def observe_climate(self, true_pi: np.ndarray, weight: float) -> None:
        """Learn ``weight`` pseudo-transactions of each cell's current true detection probability.

        Cells given as NaN (no open option) are left alone. With no forgetting, the belief
        tends to the time average of the probability: fictitious play on enforcement.
        """
        known = ~np.isnan(true_pi)
        self.a += np.where(known, weight * true_pi, 0.0)
        self.b += np.where(known, weight * (1.0 - true_pi), 0.0)


@njit(cache=True)
def _update(beliefs, memory, evidence, news):
    """The loop of :meth:`Beliefs.update`, compiled; ``a`` and ``b`` are updated in place."""
    a, b = beliefs
    prior_a, prior_b, retention = memory
    own_detected, own_passed, public_detections = evidence
    news_weight, news_passes = news
    for f in range(a.shape[0]):
        for c in range(a.shape[1]):
            news_detections = public_detections[c] - own_detected[f, c]
            a[f, c] = prior_a + retention * (a[f, c] - prior_a) + (own_detected[f, c] + news_weight * news_detections)
            b[f, c] = prior_b + retention * (b[f, c] - prior_b) + (own_passed[f, c] + news_passes * news_detections)
