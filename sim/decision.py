"""The firms' decision rule and beliefs, as pure functions over arrays (DESIGN section 6).

Expected net value of one H100e-month through option o for firm f::

    U(f, o) = v_f - c(f, o) - lambda_f * pi_hat(f, o) * (L_o + F_o)

Options with U <= 0 are never taken. The firm splits its unmet demand over the others by a
logit with a temperature relative to its value of compute (0: everything to the best
option), fills capacities, and re-splits what is left.
"""

from __future__ import annotations

import numpy as np

EPS_H100E = 1e-9


def utilities(
    value_usd: np.ndarray,
    cost_usd: np.ndarray,
    risk_aversion: np.ndarray,
    pi_hat: np.ndarray,
    loss_usd: np.ndarray,
    fine_usd: float,
) -> np.ndarray:
    """U = v - c - lambda * pi_hat * (L + F), all per H100e-month; broadcasts over (firms, options)."""
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
    positive = u > 0
    if not positive.any():
        return shares
    if temperature == 0 or scale_usd <= 0:
        shares[int(np.argmax(np.where(positive, u, -np.inf)))] = 1.0
        return shares
    z = np.where(positive, (u - u[positive].max()) / (temperature * scale_usd), -np.inf)
    weights = np.exp(z)
    return weights / weights.sum()


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
    allow. Capacity is drawn from ``pool_left`` in place.

    Returns:
        H100e ordered per option index.
    """
    orders: dict[int, float] = {}
    open_ = u > 0
    for _ in range(max_rounds):
        if need_h100e <= EPS_H100E or budget_usd <= 0:
            break
        available = np.minimum(pool_left[pool_index[:, 0]], pool_left[pool_index[:, 1]])
        open_ &= available > EPS_H100E
        if not open_.any():
            break
        shares = logit_shares(np.where(open_, u, -1.0), temperature, scale_usd)
        shares[shares < min(min_share, shares.max())] = 0.0
        shares /= shares.sum()
        round_need = need_h100e
        for o in np.flatnonzero(shares)[np.argsort(-shares[np.flatnonzero(shares)], kind="stable")]:
            pools = pool_index[o]
            q = min(
                shares[o] * round_need,
                pool_left[pools[0]],
                pool_left[pools[1]],
                budget_usd / upfront_usd_per_h100e[o] if upfront_usd_per_h100e[o] > 0 else np.inf,
                need_h100e,
            )
            if q <= EPS_H100E:
                continue
            pool_left[pools[0]] -= q
            if pools[1] != pools[0]:
                pool_left[pools[1]] -= q
            budget_usd -= q * upfront_usd_per_h100e[o]
            need_h100e -= q
            orders[int(o)] = orders.get(int(o), 0.0) + q
    return orders


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
            public_detections: Detections per cell made public this month.
            news_weight: Pseudo-detections per public detection.
            news_trials: Pseudo-transactions per public detection.
        """
        self.a = self.prior_a + retention * (self.a - self.prior_a)
        self.b = self.prior_b + retention * (self.b - self.prior_b)
        self.a += own_detected + news_weight * public_detections
        self.b += own_passed + (news_trials - news_weight) * public_detections
