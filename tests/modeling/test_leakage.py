"""The leakage probe sees a leak whatever value its missing rows hold, and its AUCs are roc_auc_score's."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from leadml.modeling.leakage import ranked_auc, single_feature_auc


def test_a_status_left_empty_for_most_leads_is_still_seen_as_a_leak() -> None:
    rng = np.random.default_rng(0)
    y = pd.Series((rng.random(2000) < 0.4).astype(int))
    # sales fill the status for half the leads: "won" only for converted ones; empty leads convert at the mean
    filled = rng.random(2000) < 0.5
    status = pd.Series(np.where(y == 1, "won", "lost"), dtype="object").where(filled)
    numeric = pd.Series(np.where(y == 1, 10.0, 1.0)).where(filled)
    frame = pd.DataFrame({"status": status, "score": numeric})
    aucs = single_feature_auc(frame.iloc[:1000], y.iloc[:1000], frame.iloc[1000:], y.iloc[1000:],
                              categorical=["status"])
    # perfect where filled, the mean where empty: about 0.88 when missing is a value of its own; ranking
    # missing rows lowest (or unknown categories lowest) gave 0.63 for the number
    assert aucs["status"] > 0.85 and aucs["score"] > 0.85


def test_a_non_monotone_number_is_seen_and_noise_is_not() -> None:
    rng = np.random.default_rng(1)
    x = pd.Series(rng.normal(size=4000))
    y = pd.Series((np.abs(x) > 1).astype(int))  # converts at both extremes: no single threshold separates
    frame = pd.DataFrame({"x": x, "noise": rng.normal(size=4000)})
    aucs = single_feature_auc(frame.iloc[:2000], y.iloc[:2000], frame.iloc[2000:], y.iloc[2000:],
                              categorical=[])
    assert aucs["x"] > 0.95 and aucs["noise"] < 0.56


def test_a_count_that_is_zero_for_most_leads_keeps_its_zeros_apart() -> None:
    rng = np.random.default_rng(2)
    y = pd.Series((rng.random(4000) < 0.02).astype(int))
    frame = pd.DataFrame({"meetings_after_the_deal": y * 3.0})  # zero for 98 % of leads: every quantile is 0
    aucs = single_feature_auc(frame.iloc[:2000], y.iloc[:2000], frame.iloc[2000:], y.iloc[2000:],
                              categorical=[])
    assert aucs["meetings_after_the_deal"] == 1.0


def test_a_number_never_known_in_training_scores_one_half_and_bins_come_from_a_sample(monkeypatch) -> None:
    rng = np.random.default_rng(3)
    y = pd.Series((rng.random(4000) < 0.1).astype(int))
    frame = pd.DataFrame({"never_filled": np.full(4000, np.nan), "leak": y * 2.0 + rng.random(4000)})
    whole = single_feature_auc(frame.iloc[:2000], y.iloc[:2000], frame.iloc[2000:], y.iloc[2000:], categorical=[])
    assert whole["never_filled"] == 0.5 and whole["leak"] > 0.99
    monkeypatch.setattr("leadml.modeling.leakage.EDGE_SAMPLE", 300)  # bins from every 7th value: the leak still shows
    sampled = single_feature_auc(frame.iloc[:2000], y.iloc[:2000], frame.iloc[2000:], y.iloc[2000:], categorical=[])
    assert sampled["never_filled"] == 0.5 and sampled["leak"] > 0.99


@pytest.mark.parametrize("seed", range(5))
def test_the_auc_from_counts_per_value_is_roc_auc_score(seed: int) -> None:
    rng = np.random.default_rng(seed)
    score = rng.choice(rng.random(7), size=3000)  # few distinct values: many ties
    y = (rng.random(3000) < 0.1 + 0.5 * score).astype(int)
    values, rank = np.unique(score, return_inverse=True)
    assert ranked_auc(rank, y, len(values)) == pytest.approx(roc_auc_score(y, score), abs=1e-12)


def test_probe_aucs_are_those_of_the_rates_scored_with_roc_auc_score() -> None:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"x": np.where(rng.random(6000) < 0.2, np.nan, rng.gamma(1.0, size=6000)),
                          "band": pd.Series(rng.choice(["a", "b", "c", None], size=6000), dtype="str")})
    y = pd.Series((rng.random(6000) < 0.05 + 0.1 * frame["x"].fillna(3).clip(0, 3)).astype(int))
    train, valid, y_train, y_valid = frame.iloc[:4000], frame.iloc[4000:], y.iloc[:4000], y.iloc[4000:]
    aucs = single_feature_auc(train, y_train, valid, y_valid, categorical=["band"])
    # the band's rate by hand: each value's training conversion rate, missing a value of its own
    rates = y_train.groupby(train["band"].fillna("?").to_numpy()).mean()
    expected = roc_auc_score(y_valid, valid["band"].fillna("?").map(rates))
    assert aucs["band"] == pytest.approx(max(expected, 1 - expected), abs=1e-12)
    assert 0.5 <= aucs["band"] < 0.6 and aucs["x"] > 0.6
