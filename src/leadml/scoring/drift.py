"""Population drift: PSI of a scored population against the training profile saved with the model.

The profile (``leadml.modeling.profile``) describes the held-out cutoff of training: one population
as of one moment, like a scoring run, scored out of sample. It holds decile edges and shares per numeric feature, value
shares per categorical (the model's vocabulary), the same for the calibrated probability, the
share per grade and the base rate observed there. A scoring run counts its population into the
same bins chunk by chunk (``DriftCounter``), so memory does not grow with the population.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from leadml.config import GradesConfig, MonitoringConfig
from leadml.modeling.grading import grade_shares
from leadml.modeling.lead_model import Design
from leadml.modeling.profile import category_counts, numeric_counts

SHARE_FLOOR = 1e-4  # an empty bin on either side would make PSI infinite


def psi(expected: list[float] | np.ndarray, counts: np.ndarray) -> float:
    """Population stability index of observed ``counts`` against the ``expected`` shares of the same bins."""
    total = counts.sum()
    if not total:
        return float("nan")
    e = np.maximum(np.asarray(expected, dtype="float64"), SHARE_FLOOR)
    a = np.maximum(counts / total, SHARE_FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


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

    def add_design(self, design: Design, names: Sequence[str]) -> None:
        """Count one chunk from the model's input (``LeadModel.design``, columns ``names``) as ``add`` counts
        its feature rows: the categories there are already the vocabulary's codes, so nothing is coded twice."""
        for j, name in enumerate(names):
            feature = self.profile["features"].get(name)
            if feature is None:
                continue
            column = design.values[:, j]
            if feature["kind"] == "categorical":
                known = column[~np.isnan(column)].astype("int64")
                self.counts[name] += np.append(np.bincount(known, minlength=len(feature["values"])),
                                               len(column) - len(known))
            else:
                self.counts[name] += numeric_counts(column, feature["edges"])


def drift_report(profile: dict[str, Any], counter: DriftCounter, probability: np.ndarray, *,
                 grades: GradesConfig, limits: MonitoringConfig) -> dict[str, Any]:
    """Compare a scored population with the training profile; say whether, and why, it has drifted."""
    probability = np.asarray(probability, dtype="float64")
    features = {name: psi(f["shares"], counter.counts[name]) for name, f in profile["features"].items()}
    features = dict(sorted(features.items(), key=lambda item: -np.nan_to_num(item[1], nan=-1.0)))
    score_psi = psi(profile["score"]["shares"], numeric_counts(probability, profile["score"]["edges"]))
    reasons = [f"feature {name}: PSI {value:.3f} above {limits.psi_warning}"
               for name, value in features.items() if value > limits.psi_warning]
    if score_psi > limits.score_psi_warning:
        reasons.append(f"score distribution: PSI {score_psi:.3f} above {limits.score_psi_warning}")
    grade_table: dict[str, Any] = {"comparable": same_grading(profile["grades"], grades)}
    if grade_table["comparable"]:
        now = grade_shares(probability, grades)
        for name, before in profile["grades"]["shares"].items():
            change = now[name] - before
            grade_table[name] = {"training": before, "now": now[name], "change": round(change, 6)}
            if abs(change) > limits.grade_share_change:
                reasons.append(f"grade {name}: share {now[name]:.1%} against {before:.1%} in training")
    else:
        grade_table["reason"] = ("grades by rank: their shares follow the population" if grades.policy != "floors"
                                 else "the grade floors changed since training")
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


def no_profile_report() -> dict[str, Any]:
    return {"available": False, "drift_warning": False,
            "reasons": ["the model carries no training profile (trained by an older leadml): retrain to monitor"]}


def same_grading(trained: dict[str, Any], grades: GradesConfig) -> bool:
    """Whether grade shares can be compared with the training profile: only under the same probability floors
    (profiles before policies hold ``floors`` only). Under capacity the shares follow the population's size and
    under shares they are fixed, so neither says anything about drift."""
    if grades.policy != "floors":
        return False
    floors = trained["floors"] if "floors" in trained else trained.get("bounds") if trained.get("policy") == "floors" \
        else None
    return floors == grades.floors
