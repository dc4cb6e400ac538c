"""Metrics that say how well probabilities predicted conversions within the horizon."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score


def classification_metrics(y: np.ndarray, probability: np.ndarray, prefix: str = "") -> dict[str, float]:
    """Return ROC AUC, PR AUC, log loss, Brier score, lift at the top 10% and the counts."""
    y = np.asarray(y, dtype="int64")
    probability = np.clip(np.asarray(probability, dtype="float64"), 1e-12, 1 - 1e-12)
    metrics: dict[str, float] = {"rows": float(len(y)), "positives": float(y.sum()),
                                 "base_rate": float(y.mean()) if len(y) else float("nan")}
    if len(np.unique(y)) == 2:
        top = np.argsort(-probability, kind="stable")[: max(1, len(y) // 10)]
        metrics |= {
            "roc_auc": float(roc_auc_score(y, probability)),
            "pr_auc": float(average_precision_score(y, probability)),
            "log_loss": float(log_loss(y, probability, labels=[0, 1])),
            "brier": float(brier_score_loss(y, probability)),
            "lift_top10": float(y[top].mean() / y.mean()),
        }
    return {f"{prefix}{name}": value for name, value in metrics.items()}
