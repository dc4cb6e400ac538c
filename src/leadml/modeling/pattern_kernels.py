"""Compiled loops of TreeSHAP by pattern: deciding every split for every row, numbering the patterns,
and adding each pattern's values to its rows.

In numpy each of these is a pass over the chunk per split or per feature, with a temporary array each
time; compiled, a tree's splits are decided into one key array and its values added row by row. The
functions release the GIL, so the explainer's threads and the scoring thread beside them can run them
at once. They are compiled on first use and cached beside this file.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def decide_splits(compared: np.ndarray, categories: np.ndarray,
                  tree: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    """Each row's decisions at a tree's splits: bit ``s % 64`` of ``keys[s // 64, row]`` set when it goes left.

    ``tree`` holds ``reading``, ``thresholds`` and ``category_sets`` (see ``shap_patterns.TreeReading``).
    A numerical split (``reading[s, 0] == 0``) compares row ``reading[s, 1]`` of ``compared`` (a column
    with missing values already moved to their side) with its threshold. A categorical split
    (``reading[s, 0] == 1``) looks row ``reading[s, 1]`` of ``categories`` (category codes, those that go
    right at every split moved to the last position) up in row ``reading[s, 2]`` of ``category_sets``.
    """
    reading, thresholds, category_sets = tree
    splits, rows = len(thresholds), compared.shape[1]
    keys = np.zeros(((splits + 63) // 64, rows), dtype=np.uint64)
    for split in range(splits):  # split by split over contiguous columns, which the compiler vectorises
        word, shift = keys[split >> 6], np.uint64(split & 63)
        if reading[split, 0] == 0:
            values, threshold = compared[reading[split, 1]], thresholds[split]
            for row in range(rows):
                word[row] |= np.uint64(values[row] <= threshold) << shift
        else:
            codes, members = categories[reading[split, 1]], category_sets[reading[split, 2]]
            for row in range(rows):
                word[row] |= np.uint64(members[codes[row]]) << shift
    return keys


@njit(cache=True, nogil=True)
def number_keys(keys: np.ndarray, splits: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Number the distinct keys of a tree of few splits through a table of all ``2**splits`` keys.

    Returns each row's number, the keys in the numbers' order and, per number, a row that has it."""
    table = np.full(1 << splits, -1, dtype=np.int64)
    numbers = np.empty(len(keys), dtype=np.int64)
    uniques = np.empty(min(len(keys), 1 << splits), dtype=np.uint64)
    rows = np.empty(len(uniques), dtype=np.int64)
    count = 0
    for row in range(len(keys)):
        key = keys[row]
        number = table[key]
        if number < 0:
            number = count
            table[key], uniques[count], rows[count] = count, key, row
            count += 1
        numbers[row] = number
    return numbers, uniques[:count], rows[:count]


@njit(cache=True, nogil=True)
def add_values(out: np.ndarray, numbers: np.ndarray, values: np.ndarray, features: np.ndarray) -> None:
    """Add to each row of ``out`` the values of its pattern: column ``j`` of ``values`` to ``features[j]``.

    Column by column: ``out`` is column-major, so a tree touches only the columns of its features."""
    for j in range(len(features)):
        column = features[j]
        for row in range(len(numbers)):
            out[row, column] += values[numbers[row], j]
