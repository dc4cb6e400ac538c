"""Model behaviour on a small fitted booster: alignment, vocabularies, files, calibration, reasons."""

from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from leadml.features import Feature
from leadml.modeling.calibration import IsotonicCalibrator, SigmoidCalibrator
from leadml.modeling.lead_model import UNSEEN, FeatureSpec, LeadModel, ModelError, vocabulary_codes
from leadml.reasons.attribution import explain
from tests.conftest import lightgbm_matrix

CATALOG = (
    Feature("n_demo_requested_30d", "engagement", "Demo requests", template="{value:.0f} {noun} in the last 30 days",
            nouns=("demo request", "demo requests"), topic="demo"),
    Feature("n_demo_requested_all", "engagement", "Demo requests ever", template="{value:.0f} {noun} in total",
            nouns=("demo request", "demo requests"), topic="demo"),
    Feature("days_since_last_touch", "engagement", "Days since last touch",
            template="Last activity {value:.0f} {noun} ago", nouns=("day", "days"), missing="No activity at all"),
    Feature("seniority", "fit", "Seniority", "categorical", template="Seniority: {value}"),
    Feature("employees", "fit", "Employees", template="Company of {value:,.0f} employees"),
)


def toy(n: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    demos = rng.poisson(0.3, n).astype(float)
    frame = pd.DataFrame({
        "n_demo_requested_30d": demos, "n_demo_requested_all": demos + rng.poisson(0.2, n),
        "days_since_last_touch": np.where(rng.random(n) < 0.1, np.nan, rng.exponential(30, n)),
        "seniority": pd.array(rng.choice(["c_level", "manager", "student"], n), dtype="str"),
        "employees": rng.lognormal(4, 1, n),
    })
    logit = -2 + 1.5 * demos - 0.02 * frame["days_since_last_touch"].fillna(90) + (frame["seniority"] == "c_level")
    return frame, (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)


@pytest.fixture(scope="module")
def model() -> LeadModel:
    frame, y = toy()
    spec = FeatureSpec.learn(frame, {f.name: f.family for f in CATALOG}, ["seniority"], 10)
    booster = lgb.train({"objective": "binary", "verbosity": -1, "num_threads": 1, "seed": 1},
                        lgb.Dataset(spec.prepare(frame), y, categorical_feature=["seniority"]), 60)
    calibrator = SigmoidCalibrator().fit(booster.predict(spec.prepare(frame), raw_score=True), y)
    return LeadModel(booster, spec, calibrator)


def test_reordered_columns_score_identically(model: LeadModel) -> None:
    frame, _ = toy(200, seed=5)
    shuffled = frame[list(reversed(frame.columns))]
    np.testing.assert_array_equal(model.predict_proba(frame), model.predict_proba(shuffled))


def test_scoring_the_design_matrix_equals_predicting_the_frame(model: LeadModel) -> None:
    frame, _ = toy(400, seed=6)
    frame.loc[:20, "seniority"] = ["astronaut", None] * 10 + ["manager"]  # unseen and missing categories
    design = model.design(frame)
    np.testing.assert_array_equal(design.values, lightgbm_matrix(model.spec.prepare(frame)))  # NaN equal NaN
    probability, contributions = model.score(design)
    np.testing.assert_array_equal(probability, model.predict_proba(frame))
    np.testing.assert_allclose(contributions.to_numpy(), model.booster.predict(model.spec.prepare(frame),
                                                                               pred_contrib=True), rtol=0, atol=1e-12)


def test_a_booster_whose_categories_differ_from_the_spec_is_refused(model: LeadModel) -> None:
    vocabulary = model.spec.categories["seniority"]
    spec = FeatureSpec(model.spec.names, model.spec.families, {"seniority": (vocabulary[1], vocabulary[0],
                                                                             *vocabulary[2:])})
    with pytest.raises(ModelError, match="categories differ"):
        LeadModel(model.booster, spec, model.calibrator)


def test_missing_feature_is_refused(model: LeadModel) -> None:
    frame, _ = toy(10)
    with pytest.raises(ModelError, match="employees"):
        model.predict_proba(frame.drop(columns="employees"))


def test_unseen_category_and_str_dtype_use_the_training_vocabulary(model: LeadModel) -> None:
    frame, _ = toy(50, seed=2)
    unseen = frame.assign(seniority=pd.array(["astronaut"] * 50, dtype="str"))
    prepared = model.spec.prepare(unseen)
    assert list(prepared["seniority"].cat.categories) == list(model.spec.categories["seniority"])
    assert (prepared["seniority"] == "unknown").all()
    assert np.isfinite(model.predict_proba(unseen)).all()


@pytest.mark.parametrize("values", [
    pd.Series(["a", "b", None, "c", "a"], dtype="str"),
    pd.Series(pd.Categorical(["b", "a", None, "q"], categories=["q", "b", "a", "z"])),
    pd.Series([1.0, 1.5, np.nan, 2.0]),
    pd.Series([0.0, -0.0, np.nan]),  # one value to a hash, two as text: the words must not depend on the order
    pd.Series([True, False, None], dtype="boolean"),
    pd.Series(["a", 1, True, 1.5, None, np.nan], dtype=object),  # 1 and True: one value to a hash, not as text
])
def test_category_codes_are_each_value_as_text_in_the_vocabulary(values: pd.Series) -> None:
    vocabulary = ["a", "b", "1", "1.5", "True", "-0.0", UNSEEN]
    expected = [-1 if pd.isna(v) else vocabulary.index(str(v)) if str(v) in vocabulary else vocabulary.index(UNSEEN)
                for v in values]
    assert vocabulary_codes(values, vocabulary).tolist() == expected
    assert vocabulary_codes(values, ["a"]).tolist() == [0 if str(v) == "a" and not pd.isna(v) else -1 for v in values]


def test_save_load_round_trip_and_tampering_is_refused(model: LeadModel, tmp_path: Path) -> None:
    frame, _ = toy(100, seed=3)
    folder = model.save(tmp_path / "m")
    np.testing.assert_array_equal(LeadModel.load(folder).predict_proba(frame), model.predict_proba(frame))
    booster = folder / "booster.txt"
    booster.write_text(booster.read_text().replace("learning_rate", "learning_ratE", 1))
    with pytest.raises(ModelError, match="booster.txt.*checksum"):
        LeadModel.load(folder)


def test_contributions_add_up_to_the_raw_score(model: LeadModel) -> None:
    frame, _ = toy(300, seed=4)
    contributions = model.contributions(frame)
    np.testing.assert_allclose(contributions.sum(axis=1).to_numpy(), model.raw_score(frame), atol=1e-9)


def test_path_contributions_add_up_and_agree_with_treeshap_on_the_strongest(model: LeadModel) -> None:
    frame, _ = toy(400, seed=9)
    path, shap = model.contributions(frame, "path"), model.contributions(frame, "treeshap")
    np.testing.assert_allclose(path.sum(axis=1).to_numpy(), model.raw_score(frame), atol=1e-9)
    strongest = lambda c: c.drop(columns="base").abs().to_numpy().argmax(axis=1)  # noqa: E731
    assert (strongest(path) == strongest(shap)).mean() > 0.7
    with pytest.raises(ValueError, match="unknown contribution method"):
        model.contributions(frame, "magic")


def test_reasons_are_words_on_distinct_topics(model: LeadModel) -> None:
    frame, _ = toy(300, seed=6)
    reasons = explain(model.contributions(frame), frame, CATALOG, 3)["top_reasons"]
    names = [f.name for f in CATALOG]
    for text in reasons:
        assert text and not any(name in text for name in names if "_" in name)
        assert text.count("demo request") <= 1  # 30-day and all-time counts share one topic
        assert all(part[:1] in "↑↓" for part in text.split("; "))


def test_family_scores_add_up_and_reasons_and_risks_have_the_right_sign(model: LeadModel) -> None:
    frame, _ = toy(300, seed=8)
    contributions = model.contributions(frame)
    explained = explain(contributions, frame, CATALOG, reasons=3, risks=2)
    total = explained[["fit_score", "engagement_score", "budget_score", "base_score"]].sum(axis=1)
    np.testing.assert_allclose(total.to_numpy(), model.raw_score(frame), atol=1e-9)
    demo_up = contributions["n_demo_requested_30d"] + contributions["n_demo_requested_all"]
    for i in range(len(frame)):
        reasons = {explained.loc[i, f"reason_{k}"] for k in (1, 2, 3)} - {""}
        risks = {explained.loc[i, f"risk_{k}"] for k in (1, 2)} - {""}
        assert not reasons & risks
        if contributions.loc[i, "n_demo_requested_30d"] > 0 and demo_up[i] > 0.5:
            assert any("demo request" in r for r in reasons)
        silent = contributions.loc[i, "days_since_last_touch"]
        if silent < -0.3 and (contributions.drop(columns="base").iloc[i] < silent).sum() < 2:
            assert any("No activity" in r or "Last activity" in r for r in risks)


def test_more_demo_requests_never_lower_the_score(model: LeadModel) -> None:
    frame, _ = toy(300, seed=7)
    more = frame.assign(n_demo_requested_30d=frame["n_demo_requested_30d"] + 2,
                        n_demo_requested_all=frame["n_demo_requested_all"] + 2)
    assert (model.predict_proba(more) >= model.predict_proba(frame) - 1e-12).mean() > 0.95


@pytest.mark.parametrize("calibrator", [SigmoidCalibrator, IsotonicCalibrator])
def test_calibration_repairs_a_miscalibrated_score(calibrator) -> None:
    rng = np.random.default_rng(0)
    raw = rng.normal(0, 2, 20000)
    y = (rng.random(20000) < 1 / (1 + np.exp(-(0.5 * raw - 2)))).astype(int)
    naive = 1 / (1 + np.exp(-raw))
    fitted = calibrator().fit(raw[:10000], y[:10000])
    brier = lambda p: np.mean((p - y[10000:]) ** 2)  # noqa: E731
    assert brier(fitted.predict(raw[10000:])) < 0.8 * brier(naive[10000:])
    again = type(fitted).from_dict(fitted.to_dict())
    np.testing.assert_allclose(again.predict(raw[:50]), fitted.predict(raw[:50]))
