"""Exact TreeSHAP for many rows, computed once per distinct decision pattern of each tree.

Path-dependent TreeSHAP sees a row only through the way it goes at each split of a tree, so rows
that go the same way at every split of a tree share that tree's contributions exactly. A 15-leaf
tree has 14 splits, and a chunk of 50,000 leads takes about a thousand of the 2^14 patterns. Each
pattern is explained once, by LightGBM's own ``pred_contrib`` on one of its rows and that tree
alone, and the rows gather their pattern's values: the result equals ``pred_contrib`` on every row,
at a small part of its cost. The values of every pattern are kept, so the next chunk of the same
scoring run sends only the patterns it is the first to take to ``pred_contrib``. The splits are
decided here as LightGBM decides them (missing values, zero as missing, category sets);
``check_sums`` compares every row's sum with the booster's raw score: a split decided differently
sends some rows to another leaf, and their sums show it.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd

ZERO = 1e-35  # LightGBM's kZeroThreshold: a value this close to 0 counts as zero for missing_type Zero
KEY_BITS = 64  # a tree with more splits keys its patterns by bytes, and they are not kept between chunks
DENSE_BITS = 16  # up to 2^16 possible patterns are numbered through a table instead of a hash
KEPT_PATTERNS = 200_000  # per tree; beyond that, new patterns are explained but no longer kept


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
    """The matrix's columns as LightGBM reads them, each prepared once for the many splits on it.

    For a numerical split, LightGBM reads NaN as 0 unless NaN is the missing value, and sends missing
    values to the default side; ``compared`` is the column with missing values already moved to
    -inf (default left) or +inf (default right), so that every split is one comparison.
    """

    def __init__(self, matrix: np.ndarray):
        self.matrix = np.asfortranarray(matrix, dtype="float64")
        self._compared: dict[tuple[int, str, bool], np.ndarray] = {}

    def compared(self, feature: int, missing: str, default_left: bool) -> np.ndarray:
        key = (feature, missing, default_left if missing in ("NaN", "Zero") else False)
        if key not in self._compared:
            values = self.matrix[:, feature]
            if missing == "NaN":
                values = np.where(np.isnan(values), -np.inf, values) if default_left else values
            else:
                values = np.where(np.isnan(values), 0.0, values)
                if missing == "Zero":
                    values = np.where(np.abs(values) <= ZERO, -np.inf if default_left else np.inf, values)
            self._compared[key] = values
        return self._compared[key]

    def prepare(self, trees: list[list[Split]]) -> None:
        """Compute every column the splits compare, before threads share this object."""
        for split in (split for splits in trees for split in splits if split.categories is None):
            self.compared(split.feature, split.missing, split.default_left)

    def goes_left(self, split: Split) -> np.ndarray:
        """Whether each row goes to the left child, decided as LightGBM's ``Tree::Decision`` does."""
        if split.categories is not None:  # NaN and negative codes go right
            return np.isin(self.matrix[:, split.feature], split.categories)
        return self.compared(split.feature, split.missing, split.default_left) <= split.threshold


def _keys(columns: Columns, splits: list[Split]) -> np.ndarray:
    """Each row's decisions at the tree's splits as one key: bit i set when it goes left at split i
    (uint64), or the packed decisions as bytes for a tree of more than ``KEY_BITS`` splits."""
    rows = len(columns.matrix)
    if len(splits) > KEY_BITS:
        decisions = np.column_stack([columns.goes_left(split) for split in splits])
        return np.packbits(decisions, axis=1).view(f"V{(len(splits) + 7) // 8}").ravel()
    key = np.zeros(rows, dtype="uint64")
    byte, shifted = np.empty(rows, dtype="uint8"), np.empty(rows, dtype="uint8")
    for start in range(0, len(splits), 8):  # eight decisions are packed in bytes, then added to the key
        byte[:] = 0
        for bit, split in enumerate(splits[start:start + 8]):
            np.left_shift(columns.goes_left(split).view("uint8"), bit, out=shifted)
            np.bitwise_or(byte, shifted, out=byte)
        key |= byte.astype("uint64") << np.uint64(start)
    return key


def _number(key: np.ndarray, splits: int) -> tuple[np.ndarray, np.ndarray]:
    """Number the distinct keys: each row's number and the keys in the numbers' order."""
    if splits <= DENSE_BITS:
        present = np.zeros(1 << splits, dtype="bool")
        present[key] = True
        uniques = np.flatnonzero(present).astype("uint64")
        number = np.empty(1 << splits, dtype="int64")
        number[uniques] = np.arange(len(uniques))
        return number[key], uniques
    codes, uniques = pd.factorize(key)
    return codes, np.asarray(uniques)


class TreePatterns:
    """One tree's contributions per decision pattern explained so far: sorted keys and, per key, the values
    of the features the tree splits on followed by the tree's expected value."""

    def __init__(self, features: list[int]):
        self.features = features
        self.keys = np.empty(0, dtype="uint64")
        self.values = np.empty((0, len(features) + 1))

    def lookup(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where each key's values are kept, and whether they are kept at all."""
        at = np.searchsorted(self.keys, keys).clip(max=max(len(self.keys) - 1, 0))
        return at, (self.keys[at] == keys) if len(self.keys) else np.zeros(len(keys), dtype="bool")

    def keep(self, keys: np.ndarray, values: np.ndarray) -> None:
        if len(self.keys) + len(keys) > KEPT_PATTERNS:
            return
        keys, values = np.concatenate([self.keys, keys]), np.concatenate([self.values, values])
        order = np.argsort(keys, kind="stable")
        self.keys, self.values = keys[order], values[order]


class PatternExplainer:
    """Exact TreeSHAP contributions of a booster, chunk after chunk, remembering every pattern's values.

    The trees are shared among ``threads`` threads, one booster copy each: a booster keeps the trees it
    predicts with as its own state, so two threads must not share one; numpy and LightGBM release the GIL.
    """

    def __init__(self, booster: lgb.Booster, threads: int = 1):
        self.splits = tree_splits(booster)
        text = booster.model_to_string() if threads > 1 else ""
        self._boosters = [booster, *(lgb.Booster(model_str=text) for _ in range(threads - 1))]
        self._known = [TreePatterns(sorted({split.feature for split in splits})) for splits in self.splits]
        self.explained = 0  # patterns sent to pred_contrib so far
        self._counting = threading.Lock()

    def forget(self) -> None:
        """Drop every kept pattern (after a chunk whose sums missed, so that nothing wrong is reused)."""
        self._known = [TreePatterns(known.features) for known in self._known]

    def contributions(self, matrix: np.ndarray) -> np.ndarray:
        """TreeSHAP contributions per feature plus the expected value last, equal to ``pred_contrib``.

        ``matrix`` is the float matrix LightGBM predicts on (category codes, NaN for missing)."""
        columns = Columns(matrix)
        if not len(columns.matrix):
            return np.zeros((0, columns.matrix.shape[1] + 1))
        columns.prepare(self.splits)
        trees = list(range(len(self.splits)))
        every = len(self._boosters)
        if every == 1:
            return self._explain_trees(self._boosters[0], columns, trees)
        with ThreadPoolExecutor(every) as pool:
            parts = list(pool.map(lambda k: self._explain_trees(self._boosters[k], columns, trees[k::every]),
                                  range(every)))
        return np.sum(parts, axis=0)

    def _explain_trees(self, booster: lgb.Booster, columns: Columns, trees: list[int]) -> np.ndarray:
        """The contributions of these trees alone, base last, in column order (F)."""
        rows, width = columns.matrix.shape
        out, base = np.zeros((rows, width + 1), order="F"), 0.0
        gathered = np.empty(rows)
        for tree in trees:
            splits, known = self.splits[tree], self._known[tree]
            if not splits:  # a one-leaf tree only shifts the expected value
                base += self._explain(booster, tree, columns.matrix[:1])[0, width]
                continue
            key = _keys(columns, splits)
            codes, uniques = _number(key, len(splits))
            values = self._pattern_values(booster, tree, columns, codes=codes, uniques=uniques)
            base += values[0, -1]
            for column, feature in enumerate(known.features):
                np.take(values[:, column], codes, out=gathered)
                out[:, feature] += gathered
        out[:, width] = base
        return out

    def _pattern_values(self, booster: lgb.Booster, tree: int, columns: Columns, *, codes: np.ndarray,
                        uniques: np.ndarray) -> np.ndarray:
        """Per distinct pattern of the chunk, the values of the tree's features and its expected value:
        kept ones looked up, new ones explained by ``pred_contrib`` on one of their rows and kept."""
        known, kept = self._known[tree], uniques.dtype.kind != "V"  # byte keys are not kept
        values = np.empty((len(uniques), len(known.features) + 1))
        found = np.zeros(len(uniques), dtype="bool")
        if kept:
            at, found = known.lookup(uniques)
            values[found] = known.values[at[found]]
        new = np.flatnonzero(~found)
        if len(new):
            rows = _one_row_each(codes, len(uniques))[new]
            values[new] = self._explain(booster, tree, columns.matrix[rows])[:, [*known.features, -1]]
            if kept:
                known.keep(uniques[new], values[new])
        return values

    def _explain(self, booster: lgb.Booster, tree: int, rows: np.ndarray) -> np.ndarray:
        with self._counting:
            self.explained += len(rows)
        return booster.predict(rows, pred_contrib=True, start_iteration=tree, num_iteration=1,
                               num_threads=1)  # the threads are ours


def _one_row_each(codes: np.ndarray, count: int) -> np.ndarray:
    """A row of each pattern number (the last one that has it)."""
    rows = np.empty(count, dtype="int64")
    rows[codes] = np.arange(len(codes))
    return rows


def lightgbm_matrix(prepared: pd.DataFrame) -> np.ndarray:
    """The float matrix LightGBM makes of a prepared frame: category codes, NaN for missing."""
    return np.column_stack([
        np.where(column.cat.codes < 0, np.nan, column.cat.codes).astype("float64")
        if isinstance(column.dtype, pd.CategoricalDtype) else column.to_numpy(dtype="float64", na_value=np.nan)
        for _, column in prepared.items()])


def check_sums(contributions: np.ndarray, raw: np.ndarray, tolerance: float = 1e-6) -> np.ndarray:
    """Rows whose contributions do not add up to the booster's raw score (none, unless a split was misread)."""
    return np.flatnonzero(np.abs(contributions.sum(axis=1) - raw) > tolerance * np.maximum(1.0, np.abs(raw)))
