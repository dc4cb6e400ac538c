"""Reasons in words: what pushed each lead's score up (reasons) and down (risks).

Contributions come from the model itself (LightGBM ``pred_contrib``, exact TreeSHAP), so the
reasons explain the score that was actually given; the catalog turns feature values into words.
Features on one topic (demo requests over several windows) net out first: a topic is a reason or a
risk by the sum of its features' contributions, never both, and is said by the feature that pushed
hardest its way. Family scores add the contributions of each family (engagement, fit, budget); with
the base value they add up exactly to the model's raw score.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from leadml.features import Feature
from leadml.reasons.words import Combined, say

UP, DOWN = "↑", "↓"
FAMILIES = ("fit", "engagement", "budget")
Item = tuple[float, str, str]  # (size, words, topic)


def family_scores(contributions: pd.DataFrame, catalog: Sequence[Feature]) -> pd.DataFrame:
    """Return ``fit_score``, ``engagement_score``, ``budget_score`` and ``base_score`` (log-odds)."""
    family_of = {feature.name: feature.family for feature in catalog}
    out = pd.DataFrame(index=contributions.index)
    for family in FAMILIES:
        members = [c for c in contributions.columns if family_of.get(c) == family]
        out[f"{family}_score"] = contributions[members].sum(axis=1)
    out["base_score"] = contributions["base"]
    return out


def topic_sides(values: np.ndarray, topics: Sequence[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Per row and topic, the net contribution of the topic's features and the column of the one whose words
    say it: the feature pushing hardest the way the topic nets."""
    order = list(dict.fromkeys(topics))
    members: dict[str, list[int]] = {topic: [] for topic in order}
    for column, topic in enumerate(topics):
        members[topic].append(column)
    net = np.zeros((len(values), len(order)))
    lead = np.zeros((len(values), len(order)), dtype=np.intp)
    for t, topic in enumerate(order):
        columns = np.asarray(members[topic])
        part = values[:, columns]
        net[:, t] = part.sum(axis=1)
        way = np.where(net[:, t] < 0, -1.0, 1.0)
        lead[:, t] = columns[np.argmax(part * way[:, None], axis=1)]
    return order, net, lead


def _strongest(net: np.ndarray, lead: np.ndarray, order: list[str], words: Callable[[int, int, int], str], *,
               count: int, sign: int) -> list[list[Item]]:
    """Per row, the ``count`` topics netting most strongly in the direction ``sign``, as (size, words, topic)."""
    signed = net * sign
    picks = np.argsort(-signed, axis=1, kind="stable")[:, :count]
    return [[(float(signed[row, t]), words(row, int(lead[row, t]), sign), order[t]) for t in chosen
             if signed[row, t] > 0] for row, chosen in enumerate(picks)]


def _combine(rows: list[list[Item]], combined: Sequence[Combined], columns: dict[str, np.ndarray],
             count: int) -> list[list[Item]]:
    """Merge pairs of reasons that a ``Combined`` rule joins; keep the ``count`` strongest per row."""
    rules = [rule for rule in combined if all(name in columns for name in rule.needs)]
    out = []
    for row, items in enumerate(rows):
        for rule in rules:
            topics = [topic for _, _, topic in items]
            if not all(t in topics for t in rule.topics):
                continue
            phrase = rule.phrase({name: columns[name][row] for name in rule.needs})
            if phrase is not None:
                joined = [items[topics.index(t)] for t in rule.topics]
                items = [item for item in items if item not in joined] + [
                    (sum(size for size, _, _ in joined), phrase, "+".join(rule.topics))]
                items.sort(key=lambda item: -item[0])
        out.append(items[:count])
    return out


def _top_lines(up: list[list[Item]], down: list[list[Item]], count: int) -> list[str]:
    """The ``count`` strongest reasons and risks of each row, strongest first, marked ↑ or ↓."""
    lines = []
    for ups, downs in zip(up, down, strict=True):
        items = sorted([(size, f"{UP} {w}") for size, w, _ in ups] + [(size, f"{DOWN} {w}") for size, w, _ in downs],
                       key=lambda item: -item[0])
        lines.append("; ".join(text for _, text in items[:count]))
    return lines


def _value_columns(matrix: pd.DataFrame, features: list[Feature],
                   combined: Sequence[Combined]) -> dict[str, np.ndarray]:
    """The matrix columns the words say: each feature's own, or the one it ``says``, and those of ``combined``."""
    said = {feature.says or feature.name for feature in features} | {
        feature.says_else for feature in features if feature.says_else in matrix}
    absent = sorted(name for name in said if name not in matrix)
    if absent:
        raise ValueError(f"feature matrix lacks {', '.join(absent)}, whose values the reasons say")
    needed = said | {name for rule in combined for name in rule.needs if name in matrix}
    return {name: matrix[name].to_numpy(dtype=object) for name in needed}


class _Wording:
    """The words of feature ``j`` in ``row``, made once per (feature, value): values repeat across a million
    leads, phrases need not be rebuilt. A recency-weighted count that pushes up while its window holds nothing
    says the count further back (``says_else``) instead: "no pricing view in the last 30 days" is no reason for."""

    def __init__(self, features: list[Feature], by_name: dict[str, Feature], columns: dict[str, np.ndarray]):
        self.features, self.by_name, self.columns = features, by_name, columns
        self.cache: dict[tuple[str, object], str] = {}

    def __call__(self, row: int, j: int, sign: int) -> str:
        feature = self.features[j]
        value = self.columns[feature.says or feature.name][row]
        if sign > 0 and feature.says_else in self.by_name and feature.says_else in self.columns and _is_zero(value):
            feature = self.by_name[feature.says_else]
            value = self.columns[feature.name][row]
        try:
            key = (feature.name, "NaN" if isinstance(value, float) and value != value else value)  # NaN != NaN
            if key not in self.cache:
                self.cache[key] = say(feature, value)
            return self.cache[key]
        except TypeError:  # an unhashable value
            return say(feature, value)


def _is_zero(value: object) -> bool:
    return isinstance(value, int | float | np.number) and bool(np.isfinite(value)) and round(float(value)) == 0


def explain(contributions: pd.DataFrame, matrix: pd.DataFrame, catalog: Sequence[Feature], reasons: int = 3, *,
            risks: int = 2, combined: Sequence[Combined] = ()) -> pd.DataFrame:
    """Return family scores, ``reason_1..n`` (strongest topics up), ``risk_1..m`` (strongest down) and
    ``top_reasons`` (the strongest of either side, marked ↑ or ↓) for every row; ``combined`` rules
    join two upward reasons into one phrase."""
    by_name = {feature.name: feature for feature in catalog}
    names = [c for c in contributions.columns if c != "base"]
    features = [by_name[name] for name in names]
    order, net, lead = topic_sides(contributions[names].to_numpy(dtype="float64"),
                                   [f.topic or f.name for f in features])
    columns = _value_columns(matrix, features, combined)
    words = _Wording(features, by_name, columns)
    up = _strongest(net, lead, order, words, count=reasons + len(combined), sign=+1)
    if combined:
        up = _combine(up, combined, columns, reasons)
    down = _strongest(net, lead, order, words, count=risks, sign=-1)
    out = family_scores(contributions, catalog)
    for i in range(reasons):
        out[f"reason_{i + 1}"] = pd.array([r[i][1] if i < len(r) else "" for r in up], dtype="str")
    for i in range(risks):
        out[f"risk_{i + 1}"] = pd.array([r[i][1] if i < len(r) else "" for r in down], dtype="str")
    out["top_reasons"] = pd.array(_top_lines(up, down, reasons), dtype="str")
    return out
