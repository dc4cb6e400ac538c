"""Exact TreeSHAP for many rows, computed once per distinct decision pattern of each tree.

Path-dependent TreeSHAP sees a row only through the way it goes at each split of a tree, so rows
that go the same way at every split of a tree share that tree's contributions exactly. A 15-leaf
tree has 14 splits, and a chunk of 50,000 leads takes a few hundred of the 2^14 patterns. Each
pattern is explained once, by LightGBM's own ``pred_contrib`` on one of its rows and that tree
alone, and the rows gather their pattern's values: the result equals ``pred_contrib`` on every row,
at a small part of its cost. The splits are decided here as LightGBM decides them (missing values,
zero as missing, category sets); ``check_sums`` compares every row's sum with the booster's raw
score: a split decided differently sends some rows to another leaf, and their sums show it.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd

ZERO = 1e-35  # LightGBM's kZeroThreshold: a value this close to 0 counts as zero for missing_type Zero


@dataclass(frozen=True)
class Split:
    feature: int
    threshold: float
    categories: np.ndarray | None  # a categorical split sends these codes left
    default_left: bool
    missing: str  # None, Zero or NaN, as LightGBM names them


def tree_splits(booster: lgb.Booster) -> list[list[Split]]:
    """Every tree's internal nodes, in any fixed order (one-leaf trees have none)."""
    trees = []
    for tree in booster.dump_model()["tree_info"]:
        splits, stack = [], [tree["tree_structure"]]
        while stack:
            node = stack.pop()
            if "leaf_index" in node or "split_feature" not in node:
                continue
            categorical = node["decision_type"] == "=="
            splits.append(Split(
                feature=int(node["split_feature"]),
                threshold=np.nan if categorical else float(node["threshold"]),
                categories=np.array([int(c) for c in str(node["threshold"]).split("||")]) if categorical else None,
                default_left=bool(node["default_left"]), missing=str(node["missing_type"])))
            stack += [node["left_child"], node["right_child"]]
        trees.append(splits)
    return trees


class Columns:
    """The matrix's columns as LightGBM reads them, each prepared once for the many splits on it."""

    def __init__(self, matrix: np.ndarray):
        self.matrix = np.asfortranarray(matrix, dtype="float64")
        self._missing: dict[int, np.ndarray] = {}
        self._zeroed: dict[int, np.ndarray] = {}

    def missing(self, feature: int) -> np.ndarray:
        if feature not in self._missing:
            self._missing[feature] = np.isnan(self.matrix[:, feature])
        return self._missing[feature]

    def zeroed(self, feature: int) -> np.ndarray:
        """LightGBM reads NaN as 0 unless NaN is the split's missing value."""
        if feature not in self._zeroed:
            self._zeroed[feature] = np.where(self.missing(feature), 0.0, self.matrix[:, feature])
        return self._zeroed[feature]

    def goes_left(self, split: Split) -> np.ndarray:
        """Whether each row goes to the left child, decided as LightGBM's ``Tree::Decision`` does."""
        if split.categories is not None:  # NaN and negative codes go right
            return np.isin(self.matrix[:, split.feature], split.categories)
        if split.missing == "NaN":
            left = self.matrix[:, split.feature] <= split.threshold  # NaN compares False
            return left | self.missing(split.feature) if split.default_left else left
        values = self.zeroed(split.feature)
        left = values <= split.threshold
        if split.missing == "Zero":
            zero = np.abs(values) <= ZERO
            return left | zero if split.default_left else left & ~zero
        return left


def _patterns(columns: Columns, splits: list[Split]) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the number of its decision pattern in this tree, and one row of each pattern."""
    rows = len(columns.matrix)
    if len(splits) <= 62:
        key = np.zeros(rows, dtype="int64")
        for bit, split in enumerate(splits):
            np.bitwise_or(key, 1 << bit, out=key, where=columns.goes_left(split))
    else:  # too many splits for one integer: the packed decisions as bytes
        decisions = np.column_stack([columns.goes_left(split) for split in splits])
        key = np.packbits(decisions, axis=1).view(f"V{(len(splits) + 7) // 8}").ravel()
    codes, uniques = pd.factorize(key)
    first = np.empty(len(uniques), dtype="int64")
    first[codes[::-1]] = np.arange(rows - 1, -1, -1)
    return codes, first


def exact_contributions(boosters: Sequence[lgb.Booster], matrix: np.ndarray, splits: list[list[Split]]
                        ) -> np.ndarray:
    """TreeSHAP contributions per feature plus the expected value last, equal to ``pred_contrib``.

    ``matrix`` is the float matrix LightGBM predicts on (category codes, NaN for missing). The trees are
    shared among one thread per booster (copies of one model: a booster keeps the trees it predicts with
    as its own state, so two threads must not share one); numpy and LightGBM release the GIL.
    """
    columns = Columns(matrix)
    for feature in range(columns.matrix.shape[1]):  # filled here, read by every thread
        columns.zeroed(feature)
    trees = list(enumerate(splits))
    if len(boosters) == 1:
        return _explain_trees(boosters[0], columns, trees)
    every = len(boosters)
    with ThreadPoolExecutor(every) as pool:
        parts = list(pool.map(lambda k: _explain_trees(boosters[k], columns, trees[k::every]), range(every)))
    return np.sum(parts, axis=0)


def copies(booster: lgb.Booster, count: int) -> list[lgb.Booster]:
    """``booster`` and ``count - 1`` independent copies of it, for ``exact_contributions``' threads."""
    text = booster.model_to_string()
    return [booster, *(lgb.Booster(model_str=text) for _ in range(count - 1))]


def _explain_trees(booster: lgb.Booster, columns: Columns, trees: list[tuple[int, list[Split]]]) -> np.ndarray:
    """The contributions of these trees alone, base last, in column order (F)."""
    rows, width = columns.matrix.shape
    out, base = np.zeros((rows, width + 1), order="F"), 0.0
    for tree, nodes in trees:
        if not nodes:  # a one-leaf tree only shifts the expected value
            base += booster.predict(columns.matrix[:1], pred_contrib=True, start_iteration=tree,
                                    num_iteration=1, num_threads=1)[0, width]
            continue
        codes, first = _patterns(columns, nodes)
        values = booster.predict(columns.matrix[first], pred_contrib=True, start_iteration=tree,
                                 num_iteration=1, num_threads=1).T.copy()  # the threads are ours
        base += values[width, 0]
        for feature in sorted({split.feature for split in nodes}):
            out[:, feature] += values[feature].take(codes)
    out[:, width] = base
    return out


def lightgbm_matrix(prepared: pd.DataFrame) -> np.ndarray:
    """The float matrix LightGBM makes of a prepared frame: category codes, NaN for missing."""
    return np.column_stack([
        np.where(column.cat.codes < 0, np.nan, column.cat.codes).astype("float64")
        if isinstance(column.dtype, pd.CategoricalDtype) else column.to_numpy(dtype="float64", na_value=np.nan)
        for _, column in prepared.items()])


def check_sums(contributions: np.ndarray, raw: np.ndarray, tolerance: float = 1e-6) -> np.ndarray:
    """Rows whose contributions do not add up to the booster's raw score (none, unless a split was misread)."""
    return np.flatnonzero(np.abs(contributions.sum(axis=1) - raw) > tolerance * np.maximum(1.0, np.abs(raw)))
