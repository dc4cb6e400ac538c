"""Reasons in words: what pushed each lead's score up (reasons) and down (risks).

Contributions come from the model itself (LightGBM ``pred_contrib``, exact TreeSHAP), so the
reasons explain the score that was actually given; the catalog turns feature values into words.
Family scores add the contributions of each family (engagement, fit, budget); with the base value
they add up exactly to the model's raw score.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from leadml.features import Feature
from leadml.reasons.words import Combined, say

UP, DOWN = "↑", "↓"
FAMILIES = ("fit", "engagement", "budget")


def family_scores(contributions: pd.DataFrame, catalog: Sequence[Feature]) -> pd.DataFrame:
    """Return ``fit_score``, ``engagement_score``, ``budget_score`` and ``base_score`` (log-odds)."""
    family_of = {feature.name: feature.family for feature in catalog}
    out = pd.DataFrame(index=contributions.index)
    for family in FAMILIES:
        members = [c for c in contributions.columns if family_of.get(c) == family]
        out[f"{family}_score"] = contributions[members].sum(axis=1)
    out["base_score"] = contributions["base"]
    return out


def _strongest(values: np.ndarray, names: list[str], topics: list[str], matrix: dict[str, np.ndarray], *,
               by_name: dict[str, Feature], count: int, sign: int) -> list[list[tuple[float, str, str]]]:
    """Per row, (size, words, topic) of the ``count`` strongest contributions of one sign, one per topic."""
    signed = values * sign
    candidates = np.argsort(-signed, axis=1, kind="stable")[:, : count * 4]
    rows = []
    for row, picks in enumerate(candidates):
        words, seen = [], set()
        for j in picks:
            if signed[row, j] <= 0 or len(words) == count:
                break
            if topics[j] in seen:
                continue
            seen.add(topics[j])
            words.append((float(signed[row, j]), say(by_name[names[j]], matrix[names[j]][row]), topics[j]))
        rows.append(words)
    return rows


def _combine(rows: list[list[tuple[float, str, str]]], combined: Sequence[Combined], matrix: dict[str, np.ndarray],
             count: int) -> list[list[tuple[float, str, str]]]:
    """Merge pairs of reasons that a ``Combined`` rule joins; keep the ``count`` strongest per row."""
    rules = [rule for rule in combined if all(flag in matrix for flag in rule.flags)]
    out = []
    for row, items in enumerate(rows):
        for rule in rules:
            topics = [topic for _, _, topic in items]
            if all(t in topics for t in rule.topics) and all(matrix[f][row] == 1.0 for f in rule.flags):
                joined = [items[topics.index(t)] for t in rule.topics]
                items = [item for item in items if item not in joined] + [
                    (sum(size for size, _, _ in joined), rule.words, "+".join(rule.topics))]
                items.sort(key=lambda item: -item[0])
        out.append(items[:count])
    return out


def explain(contributions: pd.DataFrame, matrix: pd.DataFrame, catalog: Sequence[Feature], reasons: int = 3, *,
            risks: int = 2, combined: Sequence[Combined] = ()) -> pd.DataFrame:
    """Return family scores, ``reason_1..n`` (strongest up), ``risk_1..m`` (strongest down) and
    ``top_reasons`` (the strongest of either sign, marked ↑ or ↓) for every row; ``combined`` rules
    join two upward reasons into one phrase."""
    by_name = {feature.name: feature for feature in catalog}
    names = [c for c in contributions.columns if c != "base"]
    topics = [by_name[name].topic or name for name in names]
    values = contributions[names].to_numpy()
    columns = {name: matrix[name].to_numpy(dtype=object) for name in names}
    up = _strongest(values, names, topics, columns, by_name=by_name, count=reasons + (1 if combined else 0), sign=+1)
    if combined:
        up = _combine(up, combined, columns, reasons)
    down = _strongest(values, names, topics, columns, by_name=by_name, count=risks, sign=-1)
    out = family_scores(contributions, catalog)
    for i in range(reasons):
        out[f"reason_{i + 1}"] = pd.array([r[i][1] if i < len(r) else "" for r in up], dtype="str")
    for i in range(risks):
        out[f"risk_{i + 1}"] = pd.array([r[i][1] if i < len(r) else "" for r in down], dtype="str")
    lines = []
    for ups, downs in zip(up, down, strict=True):
        items = sorted([(size, f"{UP} {w}", t) for size, w, t in ups] + [(size, f"{DOWN} {w}", t)
                                                                         for size, w, t in downs],
                       key=lambda item: -item[0])
        texts, seen = [], set()
        for _, text, topic in items:  # one line per topic, even when it pushed both ways
            if topic not in seen and len(texts) < reasons:
                seen.add(topic)
                texts.append(text)
        lines.append("; ".join(texts))
    out["top_reasons"] = pd.array(lines, dtype="str")
    return out
