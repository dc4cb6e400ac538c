"""Reasons in words: what pushed each lead's score up (reasons) and down (risks).

Contributions come from the model itself (LightGBM ``pred_contrib``, exact TreeSHAP), so the
reasons explain the score that was actually given; the catalog turns feature values into words.
Features on one topic (demo requests over several windows) net out first: a topic is a reason or a
risk by the sum of its features' contributions, never both, and is said by the feature that pushed
hardest its way. Family scores add the contributions of each family (engagement, fit, budget); with
the base value they add up exactly to the model's raw score.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit

from leadml.features import Feature
from leadml.reasons.words import Combined, say, say_numbers, says_plainly

UP, DOWN = "↑", "↓"
FAMILIES = ("fit", "engagement", "budget")
KEPT_PHRASES = 500_000  # phrases kept from chunk to chunk: a bound on the memory they take


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
    grouped = np.array([column for topic in order for column in members[topic]], dtype=np.intp)
    starts = np.cumsum([0] + [len(members[topic]) for topic in order]).astype(np.intp)
    net, lead = _net_and_lead(np.asfortranarray(values, dtype="float64"), grouped, starts)
    return order, net, lead


@njit(cache=True, nogil=True)
def _net_and_lead(values: np.ndarray, grouped: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``topic_sides`` in one pass per topic, without a temporary per topic: topic ``t``'s columns are
    ``grouped[starts[t]:starts[t + 1]]``, added in that order; of equal pushes the first leads. Contributions
    are finite (``LeadModel`` checks they add up to the raw score): a NaN would never lead here."""
    rows, topics = values.shape[0], len(starts) - 1
    net, lead = np.zeros((rows, topics)), np.zeros((rows, topics), dtype=np.intp)
    for t in range(topics):
        first, end = starts[t], starts[t + 1]
        for row in range(rows):
            total = 0.0
            for k in range(first, end):
                total += values[row, grouped[k]]
            way = -1.0 if total < 0 else 1.0
            best, column = -np.inf, grouped[first]
            for k in range(first, end):
                push = values[row, grouped[k]] * way
                if push > best:
                    best, column = push, grouped[k]
            net[row, t], lead[row, t] = total, column
    return net, lead


def _strongest(net: np.ndarray, count: int, sign: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the ``count`` topics netting most strongly in the direction ``sign``, ties in catalog order:
    their sizes (0 where no further topic pushes that way) and topic numbers."""
    signed = net * sign
    rows = np.arange(len(net))
    sizes, picks = np.zeros((len(net), count)), np.zeros((len(net), count), dtype=np.intp)
    for k in range(min(count, net.shape[1])):
        picks[:, k] = signed.argmax(axis=1)  # the first of equal maxima: catalog order
        sizes[:, k] = np.maximum(signed[rows, picks[:, k]], 0.0)
        signed[rows, picks[:, k]] = -np.inf
    return sizes, picks


def _combine(up: list[np.ndarray], order: list[str], combined: Sequence[Combined], *,
             columns: dict[str, np.ndarray], count: int) -> list[np.ndarray]:
    """Merge pairs of reasons that a ``Combined`` rule joins; keep the ``count`` strongest per row.

    ``up`` is (sizes, words, topic numbers), one row per lead, strongest first. A joined reason takes a slot
    of its own after the picked ones, the two it joins are emptied, and each row is sorted again (stable: of
    equal sizes, picked reasons first, then joined ones in rule order); a phrase is made once per distinct
    set of the values it needs."""
    sizes, words, picks = up
    rules = [rule for rule in combined if all(name in columns for name in rule.needs)
             and all(topic in order for topic in rule.topics)]
    width, rows = sizes.shape[1], np.arange(len(sizes))
    sizes = np.column_stack([sizes, np.zeros((len(sizes), len(rules)))])
    words = np.column_stack([words, np.full((len(words), len(rules)), "", dtype=object)])
    topics = np.column_stack([np.where(sizes[:, :width] > 0, picks, -1), np.full((len(picks), len(rules)), -1)])
    for r, rule in enumerate(rules):
        a, b = (order.index(topic) for topic in rule.topics)
        slot_a, slot_b = np.argmax(topics == a, axis=1), np.argmax(topics == b, axis=1)
        both = rows[(topics == a).any(axis=1) & (topics == b).any(axis=1)]
        codes, first = _groups([columns[name][both] for name in rule.needs]) if len(both) else (both, both)
        phrases = np.array([rule.phrase({name: columns[name][both[i]] for name in rule.needs}) for i in first],
                           dtype=object)[codes]
        joined = both[phrases != None]  # noqa: E711 (elementwise)
        sizes[joined, width + r] = sizes[joined, slot_a[joined]] + sizes[joined, slot_b[joined]]
        words[joined, width + r], topics[joined, width + r] = phrases[phrases != None], len(order) + r  # noqa: E711
        for slot in (slot_a, slot_b):
            sizes[joined, slot[joined]], words[joined, slot[joined]], topics[joined, slot[joined]] = 0.0, "", -1
    ranked = np.argsort(-sizes, axis=1, kind="stable")[:, :count]
    return [np.take_along_axis(sizes, ranked, axis=1), np.take_along_axis(words, ranked, axis=1)]


def _top_lines(up: list[np.ndarray], down: list[np.ndarray], count: int) -> pa.Array:
    """The ``count`` strongest reasons and risks of each row, strongest first (ties: reasons first), marked;
    joined by Arrow, column by column, not row by row."""
    sizes = np.column_stack([up[0], down[0]])
    said = np.column_stack([up[1], down[1]])
    marks = np.array([UP] * up[0].shape[1] + [DOWN] * down[0].shape[1], dtype=object)
    order = np.argsort(-sizes, axis=1, kind="stable")[:, :count]
    sizes, said, marks = (np.take_along_axis(sizes, order, axis=1), np.take_along_axis(said, order, axis=1),
                          marks[order])
    line = pa.array([""] * len(sizes), pa.string())
    for k in range(order.shape[1]):  # sizes fall along a row: a said part follows only said parts
        part = pc.binary_join_element_wise(pa.array(marks[:, k], pa.string()), pa.array(said[:, k], pa.string()), " ")
        line = pc.if_else(pa.array(sizes[:, k] > 0), part if k == 0 else pc.binary_join_element_wise(line, part, "; "),
                          line)
    return line


def _value_columns(matrix: pd.DataFrame, features: list[Feature],
                   combined: Sequence[Combined]) -> dict[str, np.ndarray]:
    """The matrix columns the words say: each feature's own, or the one it ``says``, and those of ``combined``."""
    said = {feature.says or feature.name for feature in features} | {
        feature.says_else for feature in features if feature.says_else in matrix}
    absent = sorted(name for name in said if name not in matrix)
    if absent:
        raise ValueError(f"feature matrix lacks {', '.join(absent)}, whose values the reasons say")
    needed = said | {name for rule in combined for name in rule.needs if name in matrix}
    return {name: matrix[name].to_numpy() if matrix[name].dtype == "float64" else matrix[name].to_numpy(dtype=object)
            for name in needed}  # numbers stay numbers: each value said is a numpy float


class _Wording:
    """The words of feature ``j`` in ``row``, made once per (feature, value): values repeat across a million
    leads, phrases need not be rebuilt. A recency-weighted count that pushes up while its window holds nothing
    says the count further back (``says_else``) instead: "no pricing view in the last 30 days" is no reason for."""

    def __init__(self, features: list[Feature], by_name: dict[str, Feature], columns: dict[str, np.ndarray],
                 cache: dict[tuple[str, object], str]):
        self.features, self.by_name, self.columns, self.cache = features, by_name, columns, cache

    def all(self, picks: np.ndarray, lead: np.ndarray, sizes: np.ndarray, sign: int) -> np.ndarray:
        """The words of every picked topic (rows by ``picks``' rows), "" where its size is 0; each distinct
        (feature, value) is said once."""
        rows = np.broadcast_to(np.arange(len(picks))[:, None], picks.shape)[sizes > 0]
        columns = np.take_along_axis(lead, picks, axis=1)[sizes > 0]
        said = np.full(picks.shape, "", dtype=object)
        found = np.empty(len(rows), dtype=object)
        for j in np.unique(columns):
            at = np.flatnonzero(columns == j)
            codes, first = _groups(self._keys(rows[at], int(j), sign))
            found[at] = np.array(self._said(rows[at[first]], int(j), sign), dtype=object)[codes]
        said[sizes > 0] = found
        return said

    def _said(self, rows: np.ndarray, j: int, sign: int) -> list[str]:
        """The words of feature ``j`` in each of these rows: plain numbers at once, the others value by value."""
        feature = self.features[j]
        values = self.columns[feature.says or feature.name][rows]
        if values.dtype == "float64" and says_plainly(feature) and not self._may_say_else(feature, sign):
            return say_numbers(feature, values.tolist())
        return [self(int(row), j, sign) for row in rows]

    def _may_say_else(self, feature: Feature, sign: int) -> bool:
        """Whether, as a reason, a zero of this feature is said by the count further back (``says_else``)."""
        return sign > 0 and feature.says_else in self.by_name and feature.says_else in self.columns

    def _keys(self, rows: np.ndarray, j: int, sign: int) -> list[np.ndarray]:
        """What the words of feature ``j`` depend on in these rows: its value (a duration by its calendar days:
        "3 months ago" is said of a thousand distinct ages), and where a count further back may be said
        instead, whether the value is zero and that count."""
        feature = self.features[j]
        values = self.columns[feature.says or feature.name][rows]
        keys = [_said_value(feature, values)]
        if self._may_say_else(feature, sign):
            numbers = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype="float64")
            keys.append(np.isfinite(numbers) & (np.round(numbers) == 0))  # as _is_zero says of each value
            keys.append(_said_value(self.by_name[feature.says_else], self.columns[feature.says_else][rows]))
        return keys

    def __call__(self, row: int, j: int, sign: int) -> str:
        feature = self.features[j]
        value = self.columns[feature.says or feature.name][row]
        if self._may_say_else(feature, sign) and _is_zero(value):
            feature = self.by_name[feature.says_else]
            value = self.columns[feature.name][row]
        try:
            key = (feature.name, "NaN" if isinstance(value, float) and value != value else value)  # NaN != NaN
            said = self.cache.get(key)
            if said is None:
                said = say(feature, value)
                if len(self.cache) < KEPT_PHRASES:
                    self.cache[key] = said
            return said
        except TypeError:  # an unhashable value
            return say(feature, value)


def _groups(keys: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per row the number of its distinct combination of ``keys`` (missing values a group of their own),
    and the first row of each."""
    codes = np.zeros(len(keys[0]), dtype="int64")
    for key in keys:
        part, uniques = pd.factorize(key, use_na_sentinel=False)
        codes = codes * (len(uniques) + 1) + part
    codes, uniques = pd.factorize(codes)
    first = np.empty(len(uniques), dtype="int64")
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)
    return codes, first


def _said_value(feature: Feature, values: np.ndarray) -> np.ndarray:
    """``values`` as far as the words can tell them apart: positive durations by calendar day (see ``say``)."""
    if "{duration" not in feature.template or feature.log10 or feature.binary:
        return values
    days = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype="float64")
    return np.where(days > 0, np.ceil(days - 1e-9), days)


def _is_zero(value: object) -> bool:
    return isinstance(value, int | float | np.number) and bool(np.isfinite(value)) and round(float(value)) == 0


def explain(contributions: pd.DataFrame, matrix: pd.DataFrame, catalog: Sequence[Feature], reasons: int = 3, *,
            risks: int = 2, combined: Sequence[Combined] = (), phrases: dict[tuple[str, object], str] | None = None
            ) -> pd.DataFrame:
    """Return family scores, ``reason_1..n`` (strongest topics up), ``risk_1..m`` (strongest down) and
    ``top_reasons`` (the strongest of either side, marked ↑ or ↓) for every row; ``combined`` rules
    join two upward reasons into one phrase. ``phrases`` keeps the words said per (feature, value) for
    the next call: a scoring run passes one dict to all its chunks (same catalog, same language)."""
    by_name = {feature.name: feature for feature in catalog}
    names = [c for c in contributions.columns if c != "base"]
    features = [by_name[name] for name in names]
    order, net, lead = topic_sides(contributions[names].to_numpy(dtype="float64"),
                                   [f.topic or f.name for f in features])
    columns = _value_columns(matrix, features, combined)
    words = _Wording(features, by_name, columns, {} if phrases is None else phrases)
    sizes, picks = _strongest(net, reasons + len(combined), +1)
    up = [sizes, words.all(picks, lead, sizes, +1), picks]
    up = _combine(up, order, combined, columns=columns, count=reasons) if combined else up[:2]
    sizes, picks = _strongest(net, risks, -1)
    down = [sizes, words.all(picks, lead, sizes, -1)]
    out = family_scores(contributions, catalog)
    for i in range(reasons):
        out[f"reason_{i + 1}"] = pd.array(up[1][:, i] if i < up[1].shape[1] else [""] * len(out), dtype="str")
    for i in range(risks):
        out[f"risk_{i + 1}"] = pd.array(down[1][:, i], dtype="str")
    out["top_reasons"] = pd.array(_top_lines(up, down, reasons), dtype="str")
    return out
