"""Population drift: a compact training profile saved with the model, and PSI of a scored population against it.

The profile describes the held-out cutoff of training: one population as of one moment, like a
scoring run, scored out of sample. It holds decile edges and shares per numeric feature, value
shares per categorical (the model's vocabulary), the same for the calibrated probability, the
share per grade and the base rate observed there. A scoring run counts its population into the
same bins chunk by chunk (``DriftCounter``), so memory does not grow with the population.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from leadml.config import MonitoringConfig
from leadml.modeling.evaluation import grade_of
from leadml.modeling.lead_model import FeatureSpec, to_vocabulary

PROFILE_VERSION = 1
SHARE_FLOOR = 1e-4  # an empty bin on either side would make PSI infinite


def decile_edges(values: np.ndarray, bins: int = 10) -> list[float]:
    """Return the distinct inner quantile edges of the finite values (ties collapse bins)."""
    finite = values[np.isfinite(values)]
    if not len(finite):
        return []
    return [float(e) for e in np.unique(np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1]))]


def numeric_counts(values: np.ndarray, edges: list[float]) -> np.ndarray:
    """Count values per bin ``(-inf, e1], (e1, e2], ..., (ek, inf)``, then missing, last."""
    values = np.asarray(values, dtype="float64")
    missing = np.isnan(values)
    index = np.searchsorted(np.asarray(edges, dtype="float64"), values[~missing], side="left")
    return np.append(np.bincount(index, minlength=len(edges) + 1), missing.sum()).astype("int64")


def category_counts(values: pd.Series, vocabulary: list[str]) -> np.ndarray:
    """Count values per vocabulary entry (outside it: ``unknown``, as the model sees them), then missing."""
    codes = pd.Categorical(to_vocabulary(values, vocabulary), categories=vocabulary).codes
    return np.append(np.bincount(codes[codes >= 0], minlength=len(vocabulary)), (codes < 0).sum()).astype("int64")


def shares(counts: np.ndarray) -> list[float]:
    total = float(counts.sum())
    return [round(float(c) / total, 6) if total else 0.0 for c in counts]


def psi(expected: list[float] | np.ndarray, counts: np.ndarray) -> float:
    """Population stability index of observed ``counts`` against the ``expected`` shares of the same bins."""
    total = counts.sum()
    if not total:
        return float("nan")
    e = np.maximum(np.asarray(expected, dtype="float64"), SHARE_FLOOR)
    a = np.maximum(counts / total, SHARE_FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def grade_shares(probability: np.ndarray, grades: dict[str, float]) -> dict[str, float]:
    assigned = grade_of(probability, grades)
    return {name: round(float((assigned == name).mean()), 6) if len(assigned) else 0.0 for name in grades}


def training_profile(matrix: pd.DataFrame, spec: FeatureSpec, probability: np.ndarray, labels: np.ndarray,
                     grades: dict[str, float], bins: int = 10) -> dict[str, Any]:
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
            "grades": {"floors": dict(grades), "shares": grade_shares(probability, grades)},
            "base_rate": float(np.mean(labels)), "mean_probability": float(probability.mean()),
            "probability_sd": float(probability.std())}


class DriftCounter:
    """Counts a population into the profile's feature bins, one chunk of feature rows at a time."""

    def __init__(self, profile: dict[str, Any]):
        self.profile = profile
        self.counts = {name: np.zeros(len(f["shares"]), dtype="int64") for name, f in profile["features"].items()}

    def add(self, matrix: pd.DataFrame) -> None:
        for name, feature in self.profile["features"].items():
            if feature["kind"] == "categorical":
                self.counts[name] += category_counts(matrix[name], feature["values"])
            else:
                self.counts[name] += numeric_counts(matrix[name].astype("float64").to_numpy(), feature["edges"])


def drift_report(profile: dict[str, Any], counter: DriftCounter, probability: np.ndarray,
                 grades: dict[str, float], limits: MonitoringConfig) -> dict[str, Any]:
    """Compare a scored population with the training profile; say whether, and why, it has drifted."""
    probability = np.asarray(probability, dtype="float64")
    features = {name: psi(f["shares"], counter.counts[name]) for name, f in profile["features"].items()}
    features = dict(sorted(features.items(), key=lambda item: -np.nan_to_num(item[1], nan=-1.0)))
    score_psi = psi(profile["score"]["shares"], numeric_counts(probability, profile["score"]["edges"]))
    reasons = [f"feature {name}: PSI {value:.3f} above {limits.psi_warning}"
               for name, value in features.items() if value > limits.psi_warning]
    if score_psi > limits.score_psi_warning:
        reasons.append(f"score distribution: PSI {score_psi:.3f} above {limits.score_psi_warning}")
    grade_table: dict[str, Any] = {"comparable": profile["grades"]["floors"] == dict(grades)}
    if grade_table["comparable"]:
        now = grade_shares(probability, grades)
        for name, before in profile["grades"]["shares"].items():
            change = now[name] - before
            grade_table[name] = {"training": before, "now": now[name], "change": round(change, 6)}
            if abs(change) > limits.grade_share_change:
                reasons.append(f"grade {name}: share {now[name]:.1%} against {before:.1%} in training")
    else:
        grade_table["reason"] = "the grade floors changed since training"
    base = base_rate_shift(profile, probability)
    if (base["ratio"] > limits.base_rate_ratio or base["ratio"] < 1 / limits.base_rate_ratio) and abs(base["z"]) > 3:
        reasons.append(f"mean probability {base['mean_probability']:.2%} against {base['expected']:.2%} on the "
                       f"training population (observed conversion there {profile['base_rate']:.2%})")
    judged = len(probability) >= limits.min_rows
    if not judged:
        reasons = [f"only {len(probability)} leads scored, fewer than {limits.min_rows}: drift not judged"]
    return {"available": True, "rows": int(len(probability)), "training_rows": profile["rows"],
            "drift_warning": bool(judged and reasons), "reasons": reasons,
            "features_over_threshold": [n for n, v in features.items() if v > limits.psi_warning],
            "score_psi": score_psi, "max_feature_psi": next(iter(features.values()), float("nan")),
            "feature_psi": features, "grades": grade_table,
            "base_rate": base,
            "thresholds": limits.model_dump(include={"psi_warning", "score_psi_warning", "grade_share_change",
                                                     "base_rate_ratio", "min_rows"})}


def base_rate_shift(profile: dict[str, Any], probability: np.ndarray) -> dict[str, float]:
    """Compare the conversion the model expects now (its mean probability) with the training population's.

    Like with like: on the training population the mean probability is calibrated to the observed
    rate (reported beside it). A mean of rare-event probabilities is noisy (it moves with the few
    near-certain leads), so ``z`` says how many standard errors the two means lie apart.
    """
    expected, n_before = profile["mean_probability"], profile["rows"]
    mean = float(probability.mean()) if len(probability) else float("nan")
    error = np.sqrt(probability.var() / max(len(probability), 1) + profile["probability_sd"] ** 2 / n_before)
    return {"expected": expected, "training_observed": profile["base_rate"], "mean_probability": mean,
            "ratio": mean / expected if expected > 0 else float("nan"),
            "z": float((mean - expected) / error) if error > 0 else float("nan")}


def json_safe(value: Any) -> Any:
    """Return ``value`` with NaN and infinities as None: JSON has no NaN, and browsers refuse it."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, float | np.floating) and not np.isfinite(value):
        return None
    return value


def no_profile_report() -> dict[str, Any]:
    return {"available": False, "drift_warning": False,
            "reasons": ["the model carries no training profile (trained by an older leadml): retrain to monitor"]}
