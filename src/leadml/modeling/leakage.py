"""The leakage probe: a single feature that alone predicts the label almost perfectly is a leak.

A status field written after the outcome, or an activity logged by sales once the deal exists,
shows up as a feature whose own ROC AUC on the validation cutoff is near 1. Training stops and
names it instead of shipping a model that will fail on the leads it must score.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

EDGE_SAMPLE = 200_000  # values a number's bins are read from, as LightGBM reads its own (bin_construct_sample_cnt)


class LeakageError(ValueError):
    """Raised when features predict the validation label suspiciously well on their own."""


def single_feature_auc(train: pd.DataFrame, train_y: pd.Series, valid: pd.DataFrame, valid_y: pd.Series, *,
                       categorical: list[str]) -> pd.Series:
    """Return each feature's ROC AUC on the validation rows (direction-free: at least 0.5)."""
    y = valid_y.to_numpy()
    if len(np.unique(y)) < 2:
        return pd.Series(dtype="float64")
    hits, base = train_y.to_numpy().astype("float64"), float(train_y.mean())
    aucs = {}
    for name in valid.columns:
        # each value (a category, or one of 20 quantile bins of a number) scores its training conversion rate;
        # missing is a value of its own: a status left empty until the deal exists says a lot
        codes_train, codes_valid, groups = _groups(train[name], valid[name], name in categorical)
        rows = np.bincount(codes_train, minlength=groups)
        rates = np.where(rows > 0, np.bincount(codes_train, weights=hits, minlength=groups) / np.maximum(rows, 1),
                         base)  # a value never seen in training scores the base rate
        values, rank = np.unique(rates, return_inverse=True)  # groups of equal rate, lowest first
        auc = ranked_auc(rank[codes_valid], y, len(values))
        aucs[name] = max(auc, 1 - auc)
    return pd.Series(aucs).sort_values(ascending=False)


def ranked_auc(rank: np.ndarray, y: np.ndarray, ranks: int) -> float:
    """ROC AUC of a score that takes ``ranks`` distinct values, given each row's rank among them (ties count
    half), from counts per rank: the same number as ``roc_auc_score`` without sorting every row."""
    positives = np.bincount(rank, weights=y, minlength=ranks)
    negatives = np.bincount(rank, minlength=ranks) - positives
    below = np.cumsum(negatives) - negatives
    return float((positives * (below + negatives / 2)).sum() / (positives.sum() * negatives.sum()))


def _groups(train: pd.Series, valid: pd.Series, categorical: bool,
            bins: int = 20) -> tuple[np.ndarray, np.ndarray, int]:
    """Return the group number of each training and validation value and the number of groups: the category
    or the training-quantile bin; missing is a group too."""
    if categorical:
        both = pd.concat([train, valid], ignore_index=True)
        if not isinstance(both.dtype, pd.StringDtype):  # numbers or mixed values: grouped by their text
            both = both.astype("object").where(both.notna(), None).astype("str")
        codes, groups = pd.factorize(both, use_na_sentinel=False)  # missing: a code of its own
        return codes[: len(train)], codes[len(train):], len(groups)
    numbers = train.astype("float64").to_numpy()
    known = numbers[~np.isnan(numbers)]
    known = known[:: max(1, -(-len(known) // EDGE_SAMPLE))]  # evenly spaced: quantiles of 600,000 rows cost seconds
    edges = np.unique(np.quantile(known, np.linspace(0, 1, bins + 1))[1:-1]) if len(known) else np.array([])
    return _bin(numbers, edges), _bin(valid.astype("float64").to_numpy(), edges), len(edges) + 2


def _bin(numbers: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bins (e[i-1], e[i]] numbered from 1: a value that fills many quantiles (0 in a count) keeps a bin of its
    own; missing is bin 0."""
    return np.where(np.isnan(numbers), 0, np.searchsorted(edges, numbers, side="left") + 1)


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
