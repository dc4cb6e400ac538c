"""TreeSHAP by decision pattern equals LightGBM's pred_contrib: every way a split reads missing values,
categories, many-leaf trees, one-leaf trees; patterns kept from an earlier chunk give the same values; a
split read wrongly is caught by the sums, not published, and nothing it explained is kept."""

import dataclasses
import logging

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from leadml.modeling import shap_patterns
from leadml.modeling.calibration import SigmoidCalibrator
from leadml.modeling.lead_model import FeatureSpec, LeadModel
from leadml.modeling.shap_patterns import PatternExplainer, check_sums, tree_splits
from tests.conftest import lightgbm_matrix


def frame_and_labels(n: int = 4000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    visits = rng.poisson(1.0, n).astype(float)  # many exact zeros
    days = np.where(rng.random(n) < 0.2, np.nan, rng.exponential(40, n))
    size = np.where(rng.random(n) < 0.1, np.nan, rng.lognormal(4, 1.5, n))
    negative = rng.normal(0, 1, n)
    role = pd.Categorical(np.where(rng.random(n) < 0.1, None, rng.choice(["ceo", "cto", "intern", "sales"], n)))
    logit = -1.5 + 0.6 * visits - 0.02 * np.nan_to_num(days, nan=80) + 0.5 * negative + (role == "ceo")
    frame = pd.DataFrame({"visits": visits, "days": days, "size": size, "negative": negative, "role": role})
    return frame, (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)


def fit(frame: pd.DataFrame, labels: np.ndarray, **params: object) -> lgb.Booster:
    base = {"objective": "binary", "verbosity": -1, "num_threads": 1, "seed": 1, "num_leaves": 15,
            "min_data_in_leaf": 20, "cat_smooth": 1, "min_data_per_group": 5}
    return lgb.train(base | params, lgb.Dataset(frame, labels, categorical_feature=["role"]), 40)


@pytest.mark.parametrize("params", [
    {},                                      # NaN is the missing value
    {"use_missing": False},                  # NaN is read as 0 (missing type None)
    {"zero_as_missing": True},               # 0 and NaN are missing (missing type Zero)
    {"num_leaves": 48, "min_data_in_leaf": 5},  # 47 splits: a wide integer key
    {"num_leaves": 70, "min_data_in_leaf": 5},  # more than 62 splits in a tree: patterns as bytes
    {"max_cat_to_onehot": 8},                # one-hot categorical splits
])
def test_equals_pred_contrib(params: dict) -> None:
    frame, labels = frame_and_labels()
    booster = fit(frame, labels, **params)
    missing_types = {s.missing for tree in tree_splits(booster) for s in tree if s.categories is None}
    if "zero_as_missing" in params:
        assert "Zero" in missing_types
    if "use_missing" in params:
        assert missing_types == {"None"}
    if params.get("num_leaves", 0) > 63:
        assert max(len(tree) for tree in tree_splits(booster)) > 62
    test, _ = frame_and_labels(1500, seed=7)
    test.loc[:50, "days"] = 0.0  # zeros and NaNs at every split
    expected = booster.predict(test, pred_contrib=True)
    got = PatternExplainer(booster, threads=2).contributions(lightgbm_matrix(test))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    assert len(check_sums(got, booster.predict(test, raw_score=True))) == 0


@pytest.mark.parametrize("params", [{}, {"max_cat_to_onehot": 8}])
def test_category_codes_read_as_lightgbm_reads_them(params: dict) -> None:
    frame, labels = frame_and_labels()
    booster = fit(frame, labels, **params)
    test = lightgbm_matrix(frame_and_labels(600, seed=3)[0])
    role = test[:, 4]
    role[:8] = [7.0, 250.0, -0.5, -1.0, -3.0, 2.7, np.inf, -np.inf]  # beyond every split, negative, fractional
    np.testing.assert_allclose(PatternExplainer(booster).contributions(test), booster.predict(test, pred_contrib=True),
                               rtol=0, atol=1e-12)


@pytest.mark.parametrize("params", [{}, {"zero_as_missing": True}, {"num_leaves": 70, "min_data_in_leaf": 5}])
def test_patterns_kept_from_an_earlier_chunk_give_pred_contribs_values(params: dict) -> None:
    frame, labels = frame_and_labels()
    booster = fit(frame, labels, **params)
    explainer = PatternExplainer(booster, threads=2)
    first, _ = frame_and_labels(1500, seed=7)
    explainer.contributions(lightgbm_matrix(first))
    after_first = explainer.explained
    second, _ = frame_and_labels(1500, seed=8)
    second = pd.concat([first.iloc[:700], second.iloc[:800]], ignore_index=True)  # half seen, half new
    got = explainer.contributions(lightgbm_matrix(second))
    np.testing.assert_allclose(got, booster.predict(second, pred_contrib=True), rtol=0, atol=1e-12)
    if params.get("num_leaves", 0) <= 63:  # byte keys are not kept
        assert 0 < explainer.explained - after_first < after_first
        before = explainer.explained
        explainer.contributions(lightgbm_matrix(first.iloc[:700]))
        assert explainer.explained == before  # every pattern was kept


def test_a_tree_without_splits_only_shifts_the_expected_value() -> None:
    frame, labels = frame_and_labels(500)
    flat = pd.DataFrame({"constant": np.ones(500)})
    booster = lgb.train({"objective": "binary", "verbosity": -1, "num_threads": 1}, lgb.Dataset(flat, labels), 5)
    assert tree_splits(booster)[0] == []
    got = PatternExplainer(booster).contributions(lightgbm_matrix(flat))
    np.testing.assert_allclose(got, booster.predict(flat, pred_contrib=True), rtol=0, atol=1e-12)


def test_a_split_read_wrongly_is_caught_and_computed_by_pred_contrib(monkeypatch, caplog) -> None:
    frame, labels = frame_and_labels()
    spec = FeatureSpec.learn(frame.assign(role=frame["role"].astype("str")), {c: "fit" for c in frame.columns},
                             ["role"], 10)
    prepared = spec.prepare(frame.assign(role=frame["role"].astype("str")))
    booster = lgb.train({"objective": "binary", "verbosity": -1, "num_threads": 1, "num_leaves": 15},
                        lgb.Dataset(prepared, labels, categorical_feature=["role"]), 30)
    model = LeadModel(booster, spec, SigmoidCalibrator().fit(booster.predict(prepared, raw_score=True), labels))
    right = model.contributions(frame.assign(role=frame["role"].astype("str")))
    splits = shap_patterns.tree_splits  # feature 0 read as always right: its patterns merge
    monkeypatch.setattr(shap_patterns, "tree_splits", lambda booster: [
        [dataclasses.replace(split, threshold=-np.inf, default_left=False) if split.feature == 0 else split
         for split in tree] for tree in splits(booster)])
    model._explainer = None  # read the trees again, through the patched reading
    with caplog.at_level(logging.WARNING, logger="leadml"):
        repaired = model.contributions(frame.assign(role=frame["role"].astype("str")))
    assert "missed the raw score" in caplog.text
    assert all(len(known.keys) == 0 for known in model._explainer._known)  # nothing misread is reused
    np.testing.assert_allclose(repaired.to_numpy(), right.to_numpy(), rtol=0, atol=1e-9)
    np.testing.assert_allclose(right.to_numpy(), booster.predict(prepared, pred_contrib=True), rtol=0, atol=1e-12)
