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


def single_feature_auc(train: pd.DataFrame, train_y: pd.Series, valid: pd.DataFrame, valid_y: pd.Series, *,
                       categorical: list[str]) -> pd.Series:
    """Return each feature's ROC AUC on the validation rows (direction-free: at least 0.5)."""
    y = valid_y.to_numpy()
    if len(np.unique(y)) < 2:
        return pd.Series(dtype="float64")
    aucs = {}
    for name in valid.columns:
        # each value (a category, or one of 20 quantile bins of a number) scores its training conversion rate;
        # missing is a value of its own: a status left empty until the deal exists says a lot
        groups_train, groups_valid = _groups(train[name], valid[name], name in categorical)
        rates = train_y.groupby(groups_train.to_numpy()).mean()
        score = groups_valid.map(rates).astype("float64").fillna(float(train_y.mean()))
        auc = roc_auc_score(y, score.to_numpy())
        aucs[name] = max(auc, 1 - auc)
    return pd.Series(aucs).sort_values(ascending=False)


def _groups(train: pd.Series, valid: pd.Series, categorical: bool, bins: int = 20) -> tuple[pd.Series, pd.Series]:
    """Return the group of each value: the category or the training-quantile bin; missing is a group too."""
    if categorical:
        return tuple(v.astype("object").where(v.notna(), "\x00missing").astype("str") for v in (train, valid))
    known = train.astype("float64").dropna().to_numpy()
    edges = np.unique(np.quantile(known, np.linspace(0, 1, bins + 1))[1:-1]) if len(known) else np.array([])
    return _bin(train, edges), _bin(valid, edges)


def _bin(values: pd.Series, edges: np.ndarray) -> pd.Series:
    """Bins (e[i-1], e[i]]: a value that fills many quantiles (0 in a count) keeps a bin of its own."""
    numbers = values.astype("float64")
    return pd.Series(np.searchsorted(edges, numbers.to_numpy(), side="left"), index=values.index).where(
        numbers.notna(), -1)


def check_leakage(aucs: pd.Series, max_auc: float, allowed: tuple[str, ...]) -> None:
    """Raise ``LeakageError`` naming every feature above ``max_auc`` that is not explicitly allowed."""
    suspects = aucs[(aucs > max_auc) & ~aucs.index.isin(allowed)]
    if len(suspects):
        named = ", ".join(f"{name} (ROC AUC {auc:.3f})" for name, auc in suspects.items())
        raise LeakageError(f"possible leakage: {named} alone predict(s) the validation label; check that these "
                           "values exist before the outcome, or allow them in training.leakage_allow")


def column_effects(own_auc: pd.Series, full_auc: float, without: dict[str, float]) -> pd.DataFrame:
    """Per refitted-without column: its own ROC AUC, the model's ROC AUC without it, and the share of the
    model's lift over chance (ROC AUC - 0.5) that goes with it. A leak that dominates a model shows here
    even when it is not alone above the probe's threshold: the rest cannot make up for it."""
    lift = full_auc - 0.5
    rows = [{"feature": name, "own_roc_auc": float(own_auc.get(name, np.nan)), "model_roc_auc": full_auc,
             "roc_auc_without": auc, "drop": full_auc - auc,
             "share_of_lift": (full_auc - auc) / lift if lift > 0 else np.nan} for name, auc in without.items()]
    columns = ["feature", "own_roc_auc", "model_roc_auc", "roc_auc_without", "drop", "share_of_lift"]
    return pd.DataFrame(rows, columns=columns).sort_values("drop", ascending=False, ignore_index=True)


def dominance_warnings(effects: pd.DataFrame, share: float) -> list[str]:
    """One sentence per feature that carries at least ``share`` of the model's lift over chance."""
    return [f"{row.feature} carries {row.share_of_lift:.0%} of the model: alone ROC AUC {row.own_roc_auc:.3f}; "
            f"without it the model falls from {row.model_roc_auc:.3f} to {row.roc_auc_without:.3f}: is it known "
            "before the outcome? (a column known only after it belongs in mapping exclude)"
            for row in effects.itertuples() if row.share_of_lift >= share]
