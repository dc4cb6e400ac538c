"""The leakage probe: a single feature that alone predicts the label almost perfectly is a leak.

A status field written after the outcome, or an activity logged by sales once the deal exists,
shows up as a feature whose own ROC AUC on the validation cutoff is near 1. Training stops and
names it instead of shipping a model that will fail on the leads it must score.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score


class LeakageError(ValueError):
    """Raised when features predict the validation label suspiciously well on their own."""


def single_feature_auc(train: pd.DataFrame, train_y: pd.Series, valid: pd.DataFrame, valid_y: pd.Series,
                       categorical: list[str]) -> pd.Series:
    """Return each feature's ROC AUC on the validation rows (direction-free: at least 0.5)."""
    y = valid_y.to_numpy()
    if len(np.unique(y)) < 2:
        return pd.Series(dtype="float64")
    aucs = {}
    for name in valid.columns:
        if name in categorical:
            rates = train_y.groupby(train[name].astype("str").to_numpy()).mean()
            score = valid[name].astype("str").map(rates).astype("float64")
        else:
            score = valid[name].astype("float64")
        values = score.fillna(score.min() - 1 if score.notna().any() else 0).to_numpy()
        auc = roc_auc_score(y, values)
        aucs[name] = max(auc, 1 - auc)
    return pd.Series(aucs).sort_values(ascending=False)


def check_leakage(aucs: pd.Series, max_auc: float, allowed: tuple[str, ...]) -> None:
    """Raise ``LeakageError`` naming every feature above ``max_auc`` that is not explicitly allowed."""
    suspects = aucs[(aucs > max_auc) & ~aucs.index.isin(allowed)]
    if len(suspects):
        named = ", ".join(f"{name} (ROC AUC {auc:.3f})" for name, auc in suspects.items())
        raise LeakageError(f"possible leakage: {named} alone predict(s) the validation label; check that these "
                           "values exist before the outcome, or allow them in training.leakage_allow")
