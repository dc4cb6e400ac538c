"""The leakage probe sees a leak whatever value its missing rows hold."""

import numpy as np
import pandas as pd

from leadml.modeling.leakage import single_feature_auc


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
