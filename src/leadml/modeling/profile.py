"""The training profile saved with the model: bins and shares of every feature, the score and the grades
on the held-out cutoff, so a scoring run can measure drift against it (``leadml.scoring.drift``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numba import njit

from leadml.config import GradesConfig
from leadml.modeling.grading import grade_shares
from leadml.modeling.lead_model import FeatureSpec, vocabulary_codes

PROFILE_VERSION = 1


def decile_edges(values: np.ndarray, bins: int = 10) -> list[float]:
    """Return the distinct inner quantile edges of the finite values (ties collapse bins)."""
    finite = values[np.isfinite(values)]
    if not len(finite):
        return []
    return [float(e) for e in np.unique(np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1]))]


def numeric_counts(values: np.ndarray, edges: list[float]) -> np.ndarray:
    """Count values per bin ``(-inf, e1], (e1, e2], ..., (ek, inf)``, then missing, last."""
    return _bin_counts(np.asarray(values, dtype="float64"), np.asarray(edges, dtype="float64"))


@njit(cache=True, nogil=True)
def _bin_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """``numeric_counts`` in one pass without temporaries (a scoring run counts every feature of every chunk):
    a value's bin is the number of edges below it, as ``np.searchsorted(edges, value, side="left")`` finds."""
    counts = np.zeros(len(edges) + 2, dtype=np.int64)
    for value in values:
        if np.isnan(value):
            counts[-1] += 1
            continue
        below = 0
        for edge in edges:  # deciles: a handful of edges, counted without a branch to mispredict
            below += edge < value
        counts[below] += 1
    return counts


def category_counts(values: pd.Series, vocabulary: list[str]) -> np.ndarray:
    """Count values per vocabulary entry (outside it: ``unknown``, as the model sees them), then missing."""
    codes = vocabulary_codes(values, vocabulary)
    return np.append(np.bincount(codes[codes >= 0], minlength=len(vocabulary)), (codes < 0).sum()).astype("int64")


def shares(counts: np.ndarray) -> list[float]:
    total = float(counts.sum())
    return [round(float(c) / total, 6) if total else 0.0 for c in counts]


def training_profile(matrix: pd.DataFrame, spec: FeatureSpec, probability: np.ndarray, labels: np.ndarray, *,
                     grades: GradesConfig, bins: int = 10) -> dict[str, Any]:
    """Describe the population the model was measured on, compactly enough to ship inside the model."""
    features: dict[str, dict[str, Any]] = {}
    for name in spec.names:
        if name in spec.categories:
            vocabulary = list(spec.categories[name])
            features[name] = {"kind": "categorical", "values": vocabulary,
                              "shares": shares(category_counts(matrix[name], vocabulary))}
        else:
            values = matrix[name].astype("float64").to_numpy()
            edges = decile_edges(values, bins)
            features[name] = {"kind": "numeric", "edges": edges, "shares": shares(numeric_counts(values, edges))}
    probability = np.asarray(probability, dtype="float64")
    edges = decile_edges(probability, bins)
    return {"version": PROFILE_VERSION, "rows": int(len(probability)), "features": features,
            "score": {"edges": edges, "shares": shares(numeric_counts(probability, edges))},
            "grades": {"policy": grades.policy, "bounds": grades.bounds(), "shares": grade_shares(probability, grades)},
            "base_rate": float(np.mean(labels)), "mean_probability": float(probability.mean()),
            "probability_sd": float(probability.std())}
