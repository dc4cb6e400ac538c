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
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from leadml.modeling.pattern_kernels import add_values, decide_splits, number_keys

if TYPE_CHECKING:  # a booster brings LightGBM along
    import lightgbm as lgb

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


def _copy(model_text: str) -> lgb.Booster:
    """A booster of its own for a thread: LightGBM serialises calls on one booster."""
    import lightgbm as lgb

    return lgb.Booster(model_str=model_text)


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


def compared_key(split: Split) -> tuple[int, str, bool]:
    """Which prepared column a numerical split compares: its feature, missing rule and default side."""
    return split.feature, split.missing, split.default_left if split.missing in ("NaN", "Zero") else False


@dataclass(frozen=True)
class TreeReading:
    """A tree's splits as ``pattern_kernels.decide_splits`` reads them, and the features it splits on."""

    reading: np.ndarray  # per split: 0 numerical or 1 categorical, the column read, the category set's row
    thresholds: np.ndarray
    category_sets: np.ndarray  # one row per categorical split: which codes go left
    features: np.ndarray

    @property
    def splits(self) -> int:
        return len(self.thresholds)


@dataclass(frozen=True)
class Reading:
    """What the splits of all trees read: the prepared numerical columns (``compared_key``), the
    categorical features, the number of codes any split names, and each tree's reading."""

    compared: list[tuple[int, str, bool]]
    categorical: list[int]
    codes: int
    trees: list[TreeReading]


def read_trees(trees: list[list[Split]]) -> Reading:
    """Index what every split reads, for ``Columns`` and the compiled decisions."""
    compared: dict[tuple[int, str, bool], int] = {}
    categorical: dict[int, int] = {}
    codes = 1 + max((int(split.categories.max()) for splits in trees for split in splits
                     if split.categories is not None and len(split.categories)), default=0)
    readings = []
    for splits in trees:
        reading, thresholds, sets = [], [], []
        for split in splits:
            if split.categories is None:
                reading.append((0, compared.setdefault(compared_key(split), len(compared)), 0))
            else:
                reading.append((1, categorical.setdefault(split.feature, len(categorical)), len(sets)))
                sets.append(split.categories)
            thresholds.append(np.nan if split.categories is not None else split.threshold)
        category_sets = np.zeros((max(len(sets), 1), codes + 1), dtype="bool")  # the last code goes right
        for row, members in enumerate(sets):
            category_sets[row, members] = True
        readings.append(TreeReading(np.array(reading, dtype="int64").reshape(-1, 3),
                                    np.array(thresholds, dtype="float64"), category_sets,
                                    np.array(sorted({split.feature for split in splits}), dtype="int64")))
    return Reading(list(compared), list(categorical), codes, readings)


class Columns:
    """The matrix's columns as the splits read them, each prepared once for the many splits on it.

    For a numerical split, LightGBM reads NaN as 0 unless NaN is the missing value, and sends missing
    values to the default side; each row of ``compared`` is a column with missing values already moved
    to -inf (default left) or +inf (default right), so that every split is one comparison. A categorical
    split reads the code as LightGBM's ``CategoricalDecision`` does: NaN and codes at or below -1 go right,
    others are truncated to an integer. Each row of ``categories`` holds a categorical column's codes, with
    those that go right at every split (missing, negative, beyond every split's codes) moved to one code
    that no split names.
    """

    def __init__(self, matrix: np.ndarray, reading: Reading):
        self.codes = np.asfortranarray(matrix, dtype="float64").T
        self.rows = self.codes.shape[1]
        self.compared = np.empty((len(reading.compared), self.rows))
        for row, (feature, missing, default_left) in enumerate(reading.compared):
            values = self.codes[feature]
            if missing == "NaN":
                values = np.where(np.isnan(values), -np.inf, values) if default_left else values
            else:
                values = np.where(np.isnan(values), 0.0, values)
                if missing == "Zero":
                    values = np.where(np.abs(values) <= ZERO, -np.inf if default_left else np.inf, values)
            self.compared[row] = values
        self.categories = np.empty((len(reading.categorical), self.rows), dtype="int64")
        for row, feature in enumerate(reading.categorical):
            values = self.codes[feature]
            outside = np.isnan(values) | (values <= -1.0) | (values >= reading.codes)
            self.categories[row] = np.where(outside, reading.codes, values).astype("int64")


def _keys(columns: Columns, tree: TreeReading) -> np.ndarray:
    """Each row's decisions at the tree's splits as one key: bit i set when it goes left at split i
    (uint64), or the decisions' words as bytes for a tree of more than ``KEY_BITS`` splits."""
    words = decide_splits(columns.compared, columns.categories, (tree.reading, tree.thresholds, tree.category_sets))
    if tree.splits <= KEY_BITS:
        return words[0]
    return np.ascontiguousarray(words.T).view(f"V{8 * len(words)}").ravel()


def _number(key: np.ndarray, splits: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Number the distinct keys: each row's number, the keys in the numbers' order, and a row of each."""
    if splits <= DENSE_BITS:
        return number_keys(key, splits)
    numbers, uniques = pd.factorize(key)
    rows = np.empty(len(uniques), dtype="int64")
    rows[numbers] = np.arange(len(numbers))
    return numbers, np.asarray(uniques), rows


class TreePatterns:
    """One tree's contributions per decision pattern explained so far: sorted keys and, per key, the values
    of the features the tree splits on followed by the tree's expected value."""

    def __init__(self):
        self.keys = np.empty(0, dtype="uint64")
        self.values = np.empty((0, 0))

    def lookup(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where each key's values are kept, and whether they are kept at all (some keys must be kept)."""
        at = np.searchsorted(self.keys, keys).clip(max=len(self.keys) - 1)
        return at, self.keys[at] == keys

    def keep(self, keys: np.ndarray, values: np.ndarray) -> None:
        if len(self.keys) + len(keys) > KEPT_PATTERNS:
            return
        if len(self.keys):
            keys, values = np.concatenate([self.keys, keys]), np.concatenate([self.values, values])
        order = np.argsort(keys, kind="stable")
        self.keys, self.values = keys[order], values[order]


class PatternExplainer:
    """Exact TreeSHAP contributions of a booster, chunk after chunk, remembering every pattern's values.

    The trees are shared among ``threads`` threads, one booster copy each: a booster keeps the trees it
    predicts with as its own state, so two threads must not share one; the compiled loops, numpy and
    LightGBM release the GIL.
    """

    def __init__(self, booster: lgb.Booster, threads: int = 1):
        self._reading = read_trees(tree_splits(booster))
        self._trees = self._reading.trees
        text = booster.model_to_string() if threads > 1 else ""
        self._boosters = [booster, *(_copy(text) for _ in range(threads - 1))]
        self._known = [TreePatterns() for _ in self._trees]
        self.explained = 0  # patterns sent to pred_contrib so far
        self._counting = threading.Lock()

    def forget(self) -> None:
        """Drop every kept pattern (after a chunk whose sums missed, so that nothing wrong is reused)."""
        self._known = [TreePatterns() for _ in self._trees]

    def contributions(self, matrix: np.ndarray) -> np.ndarray:
        """TreeSHAP contributions per feature plus the expected value last, equal to ``pred_contrib``.

        ``matrix`` is the float matrix LightGBM predicts on (category codes, NaN for missing)."""
        columns = Columns(matrix, self._reading)
        if not columns.rows:
            return np.zeros((0, len(columns.codes) + 1))
        trees = list(range(len(self._trees)))
        every = len(self._boosters)
        if every == 1:
            return self._explain_trees(self._boosters[0], columns, trees)
        with ThreadPoolExecutor(every) as pool:
            parts = list(pool.map(lambda k: self._explain_trees(self._boosters[k], columns, trees[k::every]),
                                  range(every)))
        return np.sum(parts, axis=0)

    def _explain_trees(self, booster: lgb.Booster, columns: Columns, trees: list[int]) -> np.ndarray:
        """The contributions of these trees alone, base last, in column order."""
        width = len(columns.codes)
        out, base = np.zeros((columns.rows, width + 1), order="F"), 0.0
        for tree in trees:
            reading = self._trees[tree]
            if not reading.splits:  # a one-leaf tree only shifts the expected value
                base += self._explain(booster, tree, columns.codes.T[:1])[0, width]
                continue
            numbers, uniques, rows = _number(_keys(columns, reading), reading.splits)
            values = self._pattern_values(booster, tree, columns, uniques=uniques, rows=rows)
            base += values[0, -1]
            add_values(out, numbers, values, reading.features)
        out[:, width] = base
        return out

    def _pattern_values(self, booster: lgb.Booster, tree: int, columns: Columns, *, uniques: np.ndarray,
                        rows: np.ndarray) -> np.ndarray:
        """Per distinct pattern of the chunk (``rows`` holds one row of each), the values of the tree's
        features and its expected value: kept ones looked up, new ones explained by ``pred_contrib``."""
        known, features = self._known[tree], self._trees[tree].features
        kept = uniques.dtype.kind != "V"  # byte keys are not kept
        values = np.empty((len(uniques), len(features) + 1))
        found = np.zeros(len(uniques), dtype="bool")
        if kept and len(known.keys):
            at, found = known.lookup(uniques)
            values[found] = known.values[at[found]]
        new = np.flatnonzero(~found)
        if len(new):
            explained = self._explain(booster, tree, columns.codes.T[rows[new]])
            values[new] = explained[:, [*features, -1]]
            if kept:
                known.keep(uniques[new], values[new])
        return values

    def _explain(self, booster: lgb.Booster, tree: int, rows: np.ndarray) -> np.ndarray:
        with self._counting:
            self.explained += len(rows)
        return booster.predict(rows, pred_contrib=True, start_iteration=tree, num_iteration=1,
                               num_threads=1)  # the threads are ours


def check_sums(contributions: np.ndarray, raw: np.ndarray, tolerance: float = 1e-6) -> np.ndarray:
    """Rows whose contributions do not add up to the booster's raw score (none, unless a split was misread)."""
    return np.flatnonzero(np.abs(contributions.sum(axis=1) - raw) > tolerance * np.maximum(1.0, np.abs(raw)))
