"""Grades from probabilities under the configured policy: probability floors, the sales team's capacity, or shares.

Floors give a grade a meaning in chance ("A: at least 20%"), but on a source whose conversions are rare every
lead can fall below the lowest floor. Capacity and shares grade by rank instead: A is exactly the N best leads
(or the best x%) of the population scored at one moment, whatever its base rate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from leadml.config import GradesConfig
from leadml.modeling.evaluation import grade_of


def assign_grades(probability: np.ndarray, policy: GradesConfig, ranks: np.ndarray | None = None) -> np.ndarray:
    """Return each lead's grade. ``ranks`` (1 = best) break ties the way the export ranks leads; without them
    equal probabilities keep their order, so capacity always gives exactly N leads to a grade."""
    probability = np.asarray(probability, dtype="float64")
    if policy.policy == "floors":
        return grade_of(probability, policy.floors)
    if ranks is None:
        ranks = np.empty(len(probability), dtype="int64")
        ranks[np.argsort(-probability, kind="stable")] = np.arange(1, len(probability) + 1)
    ends = rank_ends(policy, len(probability))
    names = np.array(policy.names(), dtype=object)
    return names[np.searchsorted(ends, np.asarray(ranks) - 1, side="right")]


def rank_ends(policy: GradesConfig, leads: int) -> np.ndarray:
    """The last rank of each grade but the last, cumulative: capacity counts leads, shares are rounded (half up)
    once on the running total so the grades add up to the population."""
    bounds = [b for b in policy.bounds().values()][:-1]
    if policy.policy == "capacity":
        return np.cumsum(np.asarray(bounds, dtype="int64"))
    return np.floor(np.cumsum(np.asarray(bounds, dtype="float64")) * leads + 0.5).astype("int64")  # half up


def rank_counts(policy: GradesConfig, leads: int) -> dict[str, int]:
    """How many of ``leads`` ranked leads each grade of a rank policy (capacity or shares) holds."""
    edges = np.minimum(np.concatenate([[0], rank_ends(policy, leads), [leads]]), leads)
    return dict(zip(policy.names(), np.maximum(np.diff(edges), 0).tolist(), strict=True))


def grade_shares(probability: np.ndarray, policy: GradesConfig) -> dict[str, float]:
    """Each grade's share of the leads."""
    assigned = assign_grades(probability, policy)
    return {name: round(float((assigned == name).mean()), 6) if len(assigned) else 0.0 for name in policy.names()}


def grade_table(y: np.ndarray, probability: np.ndarray, grades: GradesConfig) -> pd.DataFrame:
    """Return rows, conversions and conversion rate per grade, for sentences such as "of leads
    graded A, 38% became opportunities"; ``bound`` is each grade's floor, leads or share under the policy."""
    assigned = assign_grades(probability, grades)
    y = np.asarray(y, dtype="int64")
    rows = []
    for name, bound in grades.bounds().items():
        mask = assigned == name
        rows.append({"grade": name, "bound": float("nan") if bound is None else float(bound), "rows": int(mask.sum()),
                     "converted": int(y[mask].sum()),
                     "conversion_rate": float(y[mask].mean()) if mask.any() else float("nan"),
                     "mean_probability": float(np.mean(probability[mask])) if mask.any() else float("nan")})
    return pd.DataFrame(rows)
