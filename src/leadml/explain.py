"""Reasons in words: the features that pushed each lead's score up or down most.

Contributions come from the model itself (LightGBM ``pred_contrib``, exact TreeSHAP), so the
reasons explain the score that was actually given; the catalog turns feature values into words.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from leadml.features import Feature

UP, DOWN = "↑", "↓"


def top_reasons(contributions: pd.DataFrame, matrix: pd.DataFrame, catalog: Sequence[Feature],
                count: int) -> pd.Series:
    """Return, per row, the ``count`` strongest contributions on distinct topics as '↑ words; ↓ words'."""
    by_name = {feature.name: feature for feature in catalog}
    names = [c for c in contributions.columns if c != "base"]
    topics = [by_name[name].topic or name for name in names]
    values = contributions[names].to_numpy()
    # a few spare candidates, since several windows of one topic may rank next to each other
    strongest = np.argsort(-np.abs(values), axis=1, kind="stable")[:, : count * 4]
    columns = {name: matrix[name].to_numpy(dtype=object) for name in names}
    texts = []
    for row, candidates in enumerate(strongest):
        parts, seen = [], set()
        for j in candidates:
            if values[row, j] == 0 or topics[j] in seen:
                continue
            seen.add(topics[j])
            parts.append(f"{UP if values[row, j] > 0 else DOWN} {by_name[names[j]].words(columns[names[j]][row])}")
            if len(parts) == count:
                break
        texts.append("; ".join(parts))
    return pd.Series(texts, index=contributions.index, dtype="str")
