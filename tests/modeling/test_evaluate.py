"""The paired bootstrap interval of a margin between two scorers on the same rows."""

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from leadml.modeling.evaluation import RankedScores, margin_intervals


def test_a_clearly_better_scorer_has_an_interval_above_zero() -> None:
    rng = np.random.default_rng(1)
    y = rng.random(4000) < 0.05
    good = y + rng.normal(0, 0.5, len(y))
    poor = y + rng.normal(0, 3.0, len(y))
    intervals = margin_intervals(y, good, {"poor": poor}, resamples=200)
    low, high = intervals[("poor", "roc_auc")]
    assert 0 < low < high
    low_pr, high_pr = intervals[("poor", "pr_auc")]
    assert 0 < low_pr < high_pr


def test_two_equal_scorers_on_few_positives_cannot_be_told_apart() -> None:
    rng = np.random.default_rng(2)
    y = rng.random(3000) < 0.01
    signal = y * 1.0
    first, second = signal + rng.normal(0, 1, len(y)), signal + rng.normal(0, 1, len(y))
    low, high = margin_intervals(y, first, {"second": second}, resamples=300)[("second", "roc_auc")]
    assert low < 0 < high
    assert margin_intervals(y, first, {"itself": first}, resamples=50)[("itself", "roc_auc")] == (0.0, 0.0)


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_ranked_scores_equal_sklearn_on_a_resample_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = (rng.random(2000) < 0.05).astype(int)
    score = np.round(y * 0.3 + rng.random(len(y)), 1)  # one decimal: many ties
    rows = rng.integers(0, len(y), len(y))
    counts = np.bincount(rows, minlength=len(y))
    roc, ap = RankedScores(y, score).scores(counts)
    assert roc == pytest.approx(roc_auc_score(y[rows], score[rows]), abs=1e-12)
    assert ap == pytest.approx(average_precision_score(y[rows], score[rows]), abs=1e-12)
