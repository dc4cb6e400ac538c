"""Compute the demo generator's oracle: the true probability that a lead converts within the horizon.

It exists to measure leadml against the truth. Under the generator's own process (``demo_generator``'s
hidden state and shared constants), it gives the best score any model could reach, the ceiling that
benchmarks compare leadml against (benchmarks/bench_train.py). It reads what a model never sees, so it is
a yardstick, never a feature.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import comb, expit, gammainc, gammaln

from leadml.data.demo_generator import (
    BURST_DAYS,
    BUYER_BURST,
    DAY,
    DELAY_SCALE,
    DELAY_SHAPE,
    NON_BUYER_BURST,
    NON_BUYER_BURST_START,
    STALL_DAYS,
    STALL_SHARE,
    HiddenState,
)


def oracle_probability(hidden: HiddenState, as_of: pd.Timestamp, horizon_days: int) -> pd.Series:
    """Return, per lead of ``hidden``, the true probability under the generator's own process that its first
    opportunity falls in (as_of, as_of + horizon], given it has none by ``as_of``: a yardstick, never a feature.

    The generator draws up front whether and when a lead converts. This is not that drawn outcome but the
    probability before the draw, from the lead's hidden log-odds, its creation and, as the generator knows
    them, the touches of its burst seen by ``as_of`` (buyers burst in the weeks before their opportunity; some
    others burst and stall): Bayes' rule over the conversion time, the burst's end and length, integrated on
    grids (within 0.03 of an eight times finer grid at worst, 1e-5 on average). It ignores the
    meeting held two hours before some opportunities, and sees the bursts of leads whose touches never reach
    the tables. NaN for leads created after ``as_of``; valid while as_of + horizon is inside the span.
    """
    ids = hidden.leads["lead_id"]
    seen = hidden.bursts[hidden.bursts["occurred_at"] <= as_of].groupby("lead_id")["occurred_at"]

    def days_before(stamps: pd.Series) -> np.ndarray:
        return ((as_of - stamps) / DAY).to_numpy(dtype=float)

    evidence = _Evidence(age=days_before(hidden.leads["created_at"]),
                         touches=seen.size().reindex(ids, fill_value=0).to_numpy(),
                         since_first=np.nan_to_num(days_before(seen.min().reindex(ids)), nan=-np.inf),
                         since_last=np.nan_to_num(days_before(seen.max().reindex(ids)), nan=-np.inf))
    converts, burst_share = expit(hidden.leads["logit"].to_numpy(dtype=float)), hidden.leads["burst_share"].to_numpy()
    probability = np.full(len(ids), np.nan)
    alive = np.flatnonzero(evidence.age >= 0)
    for rows in np.array_split(alive, max(1, len(alive) // 2000)):  # bounded memory: the grids are per lead
        seen_rows = evidence.rows(rows)
        inside, later = _buyer_weights(seen_rows, float(horizon_days))
        quiet = (seen_rows.touches == 0).astype(float)
        other = (1 - burst_share[rows]) * quiet + burst_share[rows] * _non_buyer_weight(seen_rows, hidden.days)
        buys = converts[rows]
        probability[rows] = buys * inside / (buys * (inside + later) + (1 - buys) * other)
    return pd.Series(probability, index=pd.Index(ids, name="lead_id"), name="oracle")


@dataclass(frozen=True)
class _Evidence:
    """Per lead at the cutoff: days since creation; the burst touches seen by then, and days since the first
    and the last of them (-inf without any)."""

    age: np.ndarray
    touches: np.ndarray
    since_first: np.ndarray
    since_last: np.ndarray

    def rows(self, index: np.ndarray) -> _Evidence:
        return _Evidence(self.age[index], self.touches[index], self.since_first[index], self.since_last[index])


def _buyer_weights(seen: _Evidence, horizon: float) -> tuple[np.ndarray, np.ndarray]:
    """The weight of a buyer converting x days after the cutoff, within the horizon and after it: the delay's
    prior density times the likelihood of the burst touches seen, integrated over x."""
    longest = BURST_DAYS[1]  # a conversion this far after the cutoff left no touch before it

    def weight(x: np.ndarray) -> np.ndarray:
        return _delay_density(x + seen.age[:, None]) * _burst_likelihood(x, seen, BUYER_BURST)

    zero = np.zeros(len(seen.age))
    reach = longest - seen.since_first  # the burst must reach back to its first touch seen
    inside = _integral(weight, zero, np.minimum(horizon, reach), points=48)
    between = _integral(weight, zero + horizon, np.minimum(max(horizon, longest), reach), points=24)
    beyond = (seen.touches == 0) * (1 - _delay_cdf(seen.age + max(horizon, longest)))
    return inside, between + beyond


def _non_buyer_weight(seen: _Evidence, days: float) -> np.ndarray:
    """The likelihood of the burst touches seen for a lead that will not convert but bursts, averaged over
    its burst's end e (days after the cutoff; uniform over the span after its creation)."""
    longest = BURST_DAYS[1]
    start, stop = NON_BUYER_BURST_START - seen.age, days - seen.age
    touched = seen.touches > 0

    def weight(e: np.ndarray) -> np.ndarray:
        return _burst_likelihood(e, seen, NON_BUYER_BURST)

    # touches seen: the burst ended after the last and began before the first; none seen: a burst that ended
    # by the cutoff began before the lead was created, or one ends less than a burst after the cutoff
    early = _integral(weight, np.where(touched, 0, start), np.where(touched, 0, np.minimum(longest - seen.age, 0)),
                      points=24)
    near = _integral(weight, np.where(touched, np.maximum(-seen.since_last, start), np.maximum(start, 0)),
                     np.minimum(np.where(touched, longest - seen.since_first, longest), stop), points=48)
    later = np.where(touched, 0, np.clip(stop - np.maximum(longest, start), 0, None))  # began after: unseen
    return (early + near + later) / (days - NON_BUYER_BURST_START)


def _integral(weight: Callable[[np.ndarray], np.ndarray], low: np.ndarray, high: np.ndarray, *,
              points: int) -> np.ndarray:
    """Integrate ``weight`` per lead from ``low`` to ``high`` (midpoint rule; 0 where high <= low)."""
    width = np.clip(high - low, 0, None)
    grid = low[:, None] + (np.arange(points) + 0.5) / points * width[:, None]
    return width / points * weight(grid).sum(axis=1)


def _burst_likelihood(end: np.ndarray, seen: _Evidence, burst: tuple[int, float]) -> np.ndarray:
    """The likelihood of the burst touches seen by the cutoff if the burst ends ``end`` days after it, averaged
    over the burst's length: each touch falls uniformly in the burst and is seen if after creation and by the
    cutoff. ``end`` is one row of points per lead."""
    low, high = BURST_DAYS
    shortest = np.clip(end + seen.since_first[:, None], low, high)[..., None]  # it must reach the first touch
    length = shortest + (np.arange(12) + 0.5) / 12 * (high - shortest)
    after = end[..., None]
    window = np.clip(np.minimum(after, 0) - np.maximum(after - length, -seen.age[:, None, None]), 0, None)
    touches = seen.touches[:, None, None]
    likelihood = length ** -touches.astype(float) * _count_weight(1 - window / length, touches, burst)
    return (high - shortest[..., 0]) / (high - low) * likelihood.mean(axis=2)


def _count_weight(missed: np.ndarray, seen: np.ndarray, burst: tuple[int, float]) -> np.ndarray:
    """Sum over the burst's size n of P(n) n!/(n-k)! missed^(n-k) for k touches seen, n = base + Poisson(rate):
    the k-th derivative of the size's generating function z^base exp(rate (z - 1)) at ``missed``."""
    base, rate = burst
    total = sum(comb(seen, j) * math.perm(base, j) * missed ** (base - j) * np.power(rate, seen - j, dtype=float)
                for j in range(base + 1))
    return np.exp(rate * (missed - 1)) * total


def _delay_density(days: np.ndarray) -> np.ndarray:
    """The density of the delay drawn in ``demo_generator._buying``: a gamma, shifted by a uniform stall for some."""
    low, high = STALL_DAYS
    y = np.clip(days, 1e-9, None)
    gamma = np.exp((DELAY_SHAPE - 1) * np.log(y) - y / DELAY_SCALE - gammaln(DELAY_SHAPE)
                   - DELAY_SHAPE * np.log(DELAY_SCALE))
    stalled = (_gamma_cdf(days - low) - _gamma_cdf(days - high)) / (high - low)
    return (1 - STALL_SHARE) * np.where(days > 0, gamma, 0) + STALL_SHARE * stalled


def _delay_cdf(days: np.ndarray) -> np.ndarray:
    """P(delay <= days) for the delay drawn in ``demo_generator._buying``."""
    low, high = STALL_DAYS
    stalled = (_gamma_cdf_integral(days - low) - _gamma_cdf_integral(days - high)) / (high - low)
    return (1 - STALL_SHARE) * _gamma_cdf(days) + STALL_SHARE * stalled


def _gamma_cdf(days: np.ndarray, shape: float = DELAY_SHAPE) -> np.ndarray:
    return gammainc(shape, np.clip(days, 0, None) / DELAY_SCALE)


def _gamma_cdf_integral(days: np.ndarray) -> np.ndarray:
    """The integral of the delay's gamma CDF from 0 to ``days``: y F_k(y) - k theta F_(k+1)(y)."""
    y = np.clip(days, 0, None)
    return y * _gamma_cdf(y) - DELAY_SHAPE * DELAY_SCALE * _gamma_cdf(y, DELAY_SHAPE + 1)
