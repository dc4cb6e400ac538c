"""Metrics that say how well probabilities predicted conversions within the horizon.

Ranking (ROC AUC, PR AUC, lift and capture at the top, precision at a sales capacity) and
probability quality (log loss, Brier, expected calibration error, a reliability table).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

TOP_SHARES = (0.05, 0.10, 0.20)


def reliability_table(y: np.ndarray, probability: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Return predicted against observed conversion per equal-count bin of probability."""
    order = np.argsort(probability, kind="stable")
    groups = np.array_split(order, min(bins, max(1, len(order))))
    rows = [{"bin": i + 1, "rows": len(g), "predicted": float(probability[g].mean()),
             "observed": float(y[g].mean())} for i, g in enumerate(groups) if len(g)]
    return pd.DataFrame(rows)


def expected_calibration_error(y: np.ndarray, probability: np.ndarray, bins: int = 10) -> float:
    """Row-weighted mean gap between predicted and observed conversion over equal-count bins."""
    table = reliability_table(y, probability, bins)
    return float((table["rows"] * (table["predicted"] - table["observed"]).abs()).sum() / table["rows"].sum())


def classification_metrics(y: np.ndarray, probability: np.ndarray, prefix: str = "",
                           capacity: int | None = None) -> dict[str, float]:
    """Return ranking and probability metrics; ranking metrics need both classes present.

    ``lift_topN`` is the conversion rate of the top N% by probability over the base rate,
    ``capture_topN`` the share of all conversions found there; ``precision_at_capacity`` is the
    conversion rate of the ``capacity`` best leads (what a sales team of that size would see).
    """
    from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score  # ~1 s to load

    y = np.asarray(y, dtype="int64")
    probability = np.clip(np.asarray(probability, dtype="float64"), 1e-12, 1 - 1e-12)
    metrics: dict[str, float] = {"rows": float(len(y)), "positives": float(y.sum()),
                                 "base_rate": float(y.mean()) if len(y) else float("nan")}
    if len(y):
        metrics |= {"brier": float(brier_score_loss(y, probability)),
                    "ece": expected_calibration_error(y, probability),
                    "mean_probability": float(probability.mean())}
    if len(np.unique(y)) == 2:
        metrics |= {"roc_auc": float(roc_auc_score(y, probability)),
                    "pr_auc": float(average_precision_score(y, probability)),
                    "log_loss": float(log_loss(y, probability, labels=[0, 1]))}
        if np.ptp(probability) > 0:  # a constant ranks nothing: no top to speak of
            order = np.argsort(-probability, kind="stable")
            for share in TOP_SHARES:
                top = y[order[: max(1, int(round(len(y) * share)))]]
                metrics[f"lift_top{int(share * 100)}"] = float(top.mean() / y.mean())
                metrics[f"capture_top{int(share * 100)}"] = float(top.sum() / y.sum())
            if capacity:
                metrics["precision_at_capacity"] = float(y[order[:capacity]].mean())
    return {f"{prefix}{name}": value for name, value in metrics.items()}


def slice_metrics(y: np.ndarray, probability: np.ndarray, segments: pd.DataFrame, min_rows: int = 200
                  ) -> pd.DataFrame:
    """Return ROC AUC, PR AUC, base rate and mean probability per value of each segment column."""
    rows = []
    for column in segments.columns:
        values = segments[column].astype("str").fillna("missing").to_numpy()
        for value in pd.unique(values):
            mask = values == value
            if mask.sum() < min_rows:
                continue
            m = classification_metrics(y[mask], probability[mask])
            rows.append({"segment": column, "value": value, "rows": int(mask.sum()), "positives": int(y[mask].sum()),
                         "base_rate": m["base_rate"], "mean_probability": m["mean_probability"],
                         "roc_auc": m.get("roc_auc", float("nan")), "pr_auc": m.get("pr_auc", float("nan"))})
    return pd.DataFrame(rows)


class RankedScores:
    """One scorer's rows in descending score order with ties grouped, to be measured under many row weights.

    A bootstrap resample is the same rows with other weights (how often each was drawn), so each
    resample costs two cumulative sums instead of a sort and sklearn's input checks.
    """

    def __init__(self, y: np.ndarray, score: np.ndarray):
        score = np.asarray(score, dtype="float64")
        self.order = np.argsort(-score, kind="stable")
        self.hit = np.asarray(y, dtype="float64")[self.order]
        self.last_of_tie = np.r_[np.flatnonzero(np.diff(score[self.order])), len(score) - 1]

    def scores(self, weights: np.ndarray) -> tuple[float, float]:
        """Return ROC AUC and average precision under row ``weights``, as sklearn computes them
        (tied scores share a threshold)."""
        w = np.asarray(weights, dtype="float64")[self.order]
        tp, seen = np.cumsum(w * self.hit)[self.last_of_tie], np.cumsum(w)[self.last_of_tie]
        fp = seen - tp
        if tp[-1] == 0 or fp[-1] == 0:
            return float("nan"), float("nan")
        tpr, fpr = np.r_[0.0, tp / tp[-1]], np.r_[0.0, fp / fp[-1]]
        roc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
        precision = np.divide(tp, seen, out=np.zeros_like(tp), where=seen > 0)
        return roc, float(np.sum(np.diff(tpr) * precision))

    def lift(self, weights: np.ndarray, share: float = 0.10) -> float:
        """Conversion rate of the best ``share`` of the (weighted) leads over the base rate."""
        w = np.asarray(weights, dtype="float64")[self.order]
        seen = np.cumsum(w)  # the best round(share * leads) leads, as classification_metrics counts them
        top = seen <= max(1.0, float(np.round(share * seen[-1])))
        hits = w * self.hit
        base = hits.sum() / seen[-1] if seen[-1] else float("nan")
        return float(hits[top].sum() / w[top].sum() / base) if base and w[top].sum() else float("nan")


HEADLINES = ("roc_auc", "pr_auc", "lift_top10")


def headline_intervals(y: np.ndarray, probability: np.ndarray, *, resamples: int = 500, seed: int = 0,
                       level: float = 0.95) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap intervals of ROC AUC, PR AUC and top-decile lift: how far each figure could move
    with another draw of the same number of test leads. Resamples with one class only are skipped."""
    y = np.asarray(y)
    ranked = RankedScores(y, probability)
    rng = np.random.default_rng(seed)
    values: dict[str, list[float]] = {name: [] for name in HEADLINES}
    for _ in range(resamples):
        rows = rng.integers(0, len(y), len(y))
        if 0 < y[rows].sum() < len(rows):
            counts = np.bincount(rows, minlength=len(y))
            roc, pr = ranked.scores(counts)
            for name, value in zip(HEADLINES, (roc, pr, ranked.lift(counts)), strict=True):
                values[name].append(value)
    tails = [50 * (1 - level), 50 * (1 + level)]
    return {name: tuple(float(v) for v in np.nanpercentile(found, tails)) if found else (float("nan"), float("nan"))
            for name, found in values.items()}


def outcome_figures(y: np.ndarray, probability: np.ndarray, *, resamples: int = 500, seed: int = 0
                    ) -> dict[str, float]:
    """What ``evaluate`` reports of probabilities against outcomes: every metric, the headline intervals, and
    the base rate's figures (``constant_``) beside them."""
    y = np.asarray(y, dtype="int64")
    metrics = with_intervals(classification_metrics(y, probability), y, probability, resamples=resamples, seed=seed)
    return metrics | classification_metrics(y, np.full(len(y), y.mean() if len(y) else 0.0), prefix="constant_")


def with_intervals(metrics: dict[str, float], y: np.ndarray, probability: np.ndarray, *, prefix: str = "",
                   resamples: int = 500, seed: int = 0) -> dict[str, float]:
    """``metrics`` with ``<prefix><headline>_ci_low`` and ``_ci_high`` added for every headline figure."""
    if len(np.unique(np.asarray(y))) < 2:
        return metrics
    out = dict(metrics)
    for name, (low, high) in headline_intervals(y, probability, resamples=resamples, seed=seed).items():
        out[f"{prefix}{name}_ci_low"], out[f"{prefix}{name}_ci_high"] = low, high
    return out


def margin_intervals(y: np.ndarray, model: np.ndarray, baselines: dict[str, np.ndarray], *, resamples: int = 500,
                     seed: int = 0, level: float = 0.95) -> dict[tuple[str, str], tuple[float, float]]:
    """Percentile intervals of ``metric(model) - metric(baseline)`` over paired bootstrap resamples, for
    every baseline and for ROC AUC and PR AUC, keyed ``(baseline, metric)``.

    Every scorer is measured on the same resampled leads, so an interval reflects how much the margin
    depends on which few conversions happen to be in the test set: an interval that contains 0 means the
    test set cannot tell the two apart. One pass draws the resamples and scores each scorer once per resample.
    """
    y = np.asarray(y)
    ours = RankedScores(y, model)
    theirs = {name: RankedScores(y, scores) for name, scores in baselines.items()}
    rng = np.random.default_rng(seed)
    margins: dict[tuple[str, str], list[float]] = {(name, m): [] for name in baselines for m in ("roc_auc", "pr_auc")}
    for _ in range(resamples):
        rows = rng.integers(0, len(y), len(y))
        if 0 < y[rows].sum() < len(rows):
            counts = np.bincount(rows, minlength=len(y))
            roc, pr = ours.scores(counts)
            for name, ranked in theirs.items():
                their_roc, their_pr = ranked.scores(counts)
                margins[(name, "roc_auc")].append(roc - their_roc)
                margins[(name, "pr_auc")].append(pr - their_pr)
    tails = [50 * (1 - level), 50 * (1 + level)]
    return {key: tuple(float(v) for v in np.percentile(values, tails)) if values else (float("nan"), float("nan"))
            for key, values in margins.items()}


def grade_of(probability: np.ndarray, grades: dict[str, float]) -> np.ndarray:
    """Return each probability's grade: the best grade whose floor it reaches (grades best first)."""
    names, floors = list(grades), np.array(list(grades.values()))
    index = (np.asarray(probability, dtype="float64")[:, None] < floors[None, :]).sum(axis=1)
    return np.array(names, dtype=object)[np.minimum(index, len(names) - 1)]


def lift_table(y: np.ndarray, probability: np.ndarray, groups: int = 10) -> pd.DataFrame:
    """Return conversion rate and lift over the base rate per equal-count group, best scores first."""
    y = np.asarray(y, dtype="int64")
    order = np.argsort(-np.asarray(probability), kind="stable")
    base = y.mean() if len(y) else float("nan")
    rows = [{"group": i + 1, "rows": len(part), "converted": int(y[part].sum()),
             "conversion_rate": float(y[part].mean()), "lift": float(y[part].mean() / base) if base else float("nan")}
            for i, part in enumerate(np.array_split(order, min(groups, max(1, len(order))))) if len(part)]
    return pd.DataFrame(rows)


@dataclass
class Evaluation:
    """The model's last honest measurement: outcomes and calibration per grade, lift per tenth."""

    source: str  # "training" (test half of the held-out cutoff) or "evaluate" (a backtest)
    run_id: str
    cutoff: str
    grades: pd.DataFrame  # grade, floor, rows, converted, conversion_rate, mean_probability
    lift: pd.DataFrame  # group, rows, converted, conversion_rate, lift
