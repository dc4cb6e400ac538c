"""The verdict: intervals that cover the figure and narrow with the sample, and one sentence that says
no lift, worse than a baseline, or lift, with the sample behind it."""

from __future__ import annotations

import numpy as np
import pytest

from leadml.config import PromotionConfig
from leadml.modeling.evaluation import classification_metrics, headline_intervals, with_intervals
from leadml.modeling.promotion import decide, without_lift
from leadml.modeling.verdict import lift_verdict


def _scores(n: int, signal: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.1).astype(int)
    return y, rng.random(n) + signal * y


def test_intervals_hold_the_figure_and_narrow_as_the_sample_grows() -> None:
    widths = []
    for n in (1_000, 16_000):
        y, p = _scores(n, 0.4)
        metrics = classification_metrics(y, p)
        found = headline_intervals(y, p, resamples=300)
        for name in ("roc_auc", "pr_auc", "lift_top10"):
            low, high = found[name]
            assert low < metrics[name] < high, (name, n)
        widths.append(found["roc_auc"][1] - found["roc_auc"][0])
    assert widths[1] < widths[0] / 2.5  # 16x the leads: about a quarter of the width


def test_no_signal_is_no_lift_and_never_champion() -> None:
    y, p = _scores(2_000, 0.0)
    metrics = with_intervals(classification_metrics(y, p), y, p, resamples=300)
    verdict = lift_verdict(metrics, (), min_conversions=120)
    assert not verdict.lift and verdict.sentence.startswith("no lift: ROC AUC ")
    assert f"on 2,000 test leads ({int(y.sum())} conversions)" in verdict.sentence
    first = decide({"roc_auc": metrics["roc_auc"], "brier": 0.1}, None, PromotionConfig())
    assert first.promote  # no champion yet: the champion gate alone would promote it
    refused = without_lift(first, verdict, PromotionConfig(), champion="3")
    assert not refused.promote and not refused.lift and refused.reason.endswith("; the champion stays version 3")
    assert without_lift(first, verdict, PromotionConfig(require_lift=False), champion=None).promote


def test_a_model_worse_than_a_baseline_beyond_the_interval_has_no_lift() -> None:
    metrics = {"roc_auc": 0.70, "roc_auc_ci_low": 0.66, "roc_auc_ci_high": 0.74, "rows": 5000, "positives": 400,
               "logistic_roc_auc": 0.78, "margin_roc_auc_vs_logistic": -0.08,
               "margin_roc_auc_vs_logistic_ci_low": -0.11, "margin_roc_auc_vs_logistic_ci_high": -0.05,
               "points_roc_auc": 0.60, "margin_roc_auc_vs_points": 0.10}
    verdict = lift_verdict(metrics, ("logistic", "points"), min_conversions=120)
    assert not verdict.lift and verdict.sentence.startswith("worse than the logistic regression baseline")
    assert "margin -0.080 [-0.110, -0.050]" in verdict.sentence and not verdict.warnings
    metrics["margin_roc_auc_vs_logistic_ci_high"] = 0.01  # within the noise: not worse
    assert lift_verdict(metrics, ("logistic", "points"), min_conversions=120).lift


@pytest.mark.parametrize(("positives", "warned"), [(33, True), (120, False)])
def test_too_few_conversions_are_flagged(positives: int, warned: bool) -> None:
    metrics = {"roc_auc": 0.61, "roc_auc_ci_low": 0.52, "roc_auc_ci_high": 0.70, "rows": 900, "positives": positives}
    verdict = lift_verdict(metrics, (), min_conversions=120)
    assert verdict.lift and bool(verdict.warnings) == warned
    if warned:
        assert "only 33 conversions" in verdict.warnings[0] and "evaluation.min_conversions" in verdict.warnings[0]
