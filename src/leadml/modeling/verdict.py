"""The verdict on a trained model, in one sentence: does it rank better than chance and than the simple
baselines, by more than the test set's own noise, and are there enough outcomes to tell?

A model with no lift says so and never becomes champion (``PromotionConfig.require_lift``): its ROC AUC
interval must lie above 0.5 (the base rate's), and it must not be worse than the best simple baseline
beyond the interval of their paired margin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

EXIT_NO_LIFT = 5  # documented in README "Exit codes": trained and registered, but not fit to be champion
BASELINE_NAMES = {"logistic": "logistic regression", "points": "points score",
                  "lightgbm_defaults": "LightGBM with library defaults"}


@dataclass(frozen=True)
class Verdict:
    """Whether the model has lift, the sentence that says it, and warnings about the sample."""

    lift: bool
    sentence: str
    warnings: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, object]:
        return {"lift": self.lift, "sentence": self.sentence, "warnings": list(self.warnings)}


def interval(metrics: dict[str, float], name: str, digits: int = 3) -> str:
    """A figure with its 95% interval, e.g. ``0.954 [0.941, 0.966]`` (the bare figure when none was measured)."""
    value, low, high = (metrics.get(key, math.nan) for key in (name, f"{name}_ci_low", f"{name}_ci_high"))
    if math.isnan(low) or math.isnan(high):
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def sample_words(metrics: dict[str, float], what: str = "test leads") -> str:
    return f"on {int(metrics['rows']):,} {what} ({int(metrics['positives']):,} conversions)"


def sample_warnings(metrics: dict[str, float], min_conversions: int, *, what: str) -> list[str]:
    """A warning when the figures rest on fewer conversions than ``evaluation.min_conversions``."""
    if metrics.get("positives", 0) >= min_conversions:
        return []
    return [f"only {int(metrics.get('positives', 0)):,} conversions among the {what} (fewer than {min_conversions}, "
            "evaluation.min_conversions): every figure rests on few outcomes; add history or leads before trusting it"]


def lift_verdict(metrics: dict[str, float], baselines: tuple[str, ...], *, min_conversions: int,
                 what: str = "test leads") -> Verdict:
    """Judge ``metrics`` (ROC AUC with ``_ci_low``/``_ci_high``, ``rows``, ``positives`` and, per baseline,
    ``<baseline>_roc_auc`` and ``margin_roc_auc_vs_<baseline>`` with its interval)."""
    sample = sample_words(metrics, what)
    warnings = sample_warnings(metrics, min_conversions, what=what)
    figure = f"ROC AUC {interval(metrics, 'roc_auc')}"
    if not metrics.get("roc_auc_ci_low", math.nan) > 0.5:
        return Verdict(False, f"no lift: {figure} {sample}, an interval that reaches 0.5 (chance)",
                       tuple(warnings))
    scored = [b for b in baselines if not math.isnan(metrics.get(f"{b}_roc_auc", math.nan))]
    if not scored:
        return Verdict(True, f"lift: {figure} {sample}", tuple(warnings))
    best = max(scored, key=lambda b: metrics[f"{b}_roc_auc"])
    margin = f"margin_roc_auc_vs_{best}"
    name = BASELINE_NAMES.get(best, best)
    against = (f"{name} {metrics[f'{best}_roc_auc']:.3f}, margin "
               f"{metrics[margin]:+.3f} [{metrics.get(margin + '_ci_low', math.nan):+.3f}, "
               f"{metrics.get(margin + '_ci_high', math.nan):+.3f}]")
    if metrics.get(f"{margin}_ci_high", math.inf) < 0:
        return Verdict(False, f"worse than the {name} baseline: {figure} against {against} {sample}",
                       tuple(warnings))
    return Verdict(True, f"lift: {figure} {sample}; the best baseline is {against}", tuple(warnings))
