"""The firms' decision rule and beliefs, as pure functions over arrays (docs/ODD.md, sections 4 and 7.12).

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
    positive = np.flatnonzero(u > 0)
    if positive.size:
        shares[positive] = _logit(u[positive], temperature, scale_usd)
    return shares


def _logit(u: np.ndarray, temperature: float, scale_usd: float) -> np.ndarray:
    """Logit shares over options that are all worth taking (first best on ties at 0)."""
    if temperature == 0 or scale_usd <= 0:
        shares = np.zeros_like(u)
        shares[int(np.argmax(u))] = 1.0
        return shares
    weights = np.exp((u - u.max()) / (temperature * scale_usd))
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
    first, second = pool_index[:, 0], pool_index[:, 1]
    for _ in range(max_rounds):
        if need_h100e <= EPS_H100E or budget_usd <= 0:
            break
        open_ &= np.minimum(pool_left[first], pool_left[second]) > EPS_H100E
        candidates = np.flatnonzero(open_)
        if candidates.size == 0:
            break
        shares = _logit(u[candidates], temperature, scale_usd)
        keep = shares >= min(min_share, shares.max())
        candidates, shares = candidates[keep], shares[keep] / shares[keep].sum()
        order = np.argsort(-shares, kind="stable")
        round_need = need_h100e
        for o, share in zip(candidates[order].tolist(), shares[order].tolist(), strict=True):
            a, b = pool_index[o].tolist()
            upfront = float(upfront_usd_per_h100e[o])
            affordable = budget_usd / upfront if upfront > 0 else np.inf
            q = min(share * round_need, float(pool_left[a]), float(pool_left[b]), affordable, need_h100e)
            if q <= EPS_H100E:
                continue
            pool_left[a] -= q
            if b != a:
                pool_left[b] -= q
            budget_usd -= q * upfront
            need_h100e -= q
            orders[o] = orders.get(o, 0.0) + q
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
            public_detections: Detections per cell made public this month; a firm's own
                detections among them count as own evidence only.
            news_weight: Pseudo-detections per public detection.
            news_trials: Pseudo-transactions per public detection.
        """
        self.a = self.prior_a + retention * (self.a - self.prior_a)
        self.b = self.prior_b + retention * (self.b - self.prior_b)
        news = public_detections[None, :] - own_detected
        self.a += own_detected + news_weight * news
        self.b += own_passed + (news_trials - news_weight) * news

    def observe_climate(self, true_pi: np.ndarray, weight: float) -> None:
        """Learn ``weight`` pseudo-transactions of each cell's current true detection probability.

        Cells given as NaN (no open option) are left alone. With no forgetting, the belief
        tends to the time average of the probability: fictitious play on enforcement.
        """
        known = ~np.isnan(true_pi)
        self.a += np.where(known, weight * true_pi, 0.0)
        self.b += np.where(known, weight * (1.0 - true_pi), 0.0)
