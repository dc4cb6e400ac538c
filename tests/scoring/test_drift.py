"""Drift against the training profile: PSI by training deciles and values, a drifted population
(shifted sources and company sizes) flagged, a stable one not; the profile travels inside the model."""

import json
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from leadml.config import FeaturesConfig, GradesConfig, MonitoringConfig
from leadml.data.clean import clean_tables
from leadml.data.contract import LeadTables
from leadml.data.demo_generator import GenerateSpec, generate_chunks
from leadml.features import feature_catalog
from leadml.features.spine import as_timestamp, label
from leadml.modeling.calibration import SigmoidCalibrator
from leadml.modeling.lead_model import FeatureSpec, LeadModel, ModelError
from leadml.modeling.profile import category_counts, decile_edges, numeric_counts, training_profile
from leadml.reporting.export import json_safe
from leadml.scoring.drift import DriftCounter, drift_report, psi, same_grading
from leadml.scoring.population import population_matrix

END = pd.Timestamp("2026-11-01", tz="UTC")
AT = as_timestamp("2026-09-01")
GRADES = GradesConfig(floors={"A": 0.30, "B": 0.15, "C": 0.05, "D": 0.0})
LIMITS = MonitoringConfig()


@pytest.mark.parametrize("expected, counts, value", [
    ([0.5, 0.5], [50, 50], 0.0),
    ([0.5, 0.5], [90, 10], 0.4 * np.log(0.9 / 0.5) - 0.4 * np.log(0.1 / 0.5)),  # 0.879: by hand
    ([0.25, 0.25, 0.25, 0.25], [30, 20, 25, 25], 0.05 * np.log(0.3 / 0.25) - 0.05 * np.log(0.2 / 0.25)),
    ([1.0, 0.0], [0, 10], (1 - 1e-4) * np.log(1 / 1e-4) * 2),  # empty bins are floored, not infinite
])
def test_psi_against_hand_computed_values(expected, counts, value) -> None:
    assert psi(expected, np.array(counts)) == pytest.approx(value, rel=1e-3)


def test_numeric_bins_are_right_closed_with_missing_last() -> None:
    edges = [1.0, 5.0]
    counts = numeric_counts(np.array([0.0, 1.0, 1.5, 5.0, 5.1, 99.0, np.nan]), edges)
    assert counts.tolist() == [2, 2, 2, 1]
    assert numeric_counts(np.array([np.inf, -np.inf, np.nan, np.nan]), edges).tolist() == [1, 0, 1, 2]
    assert numeric_counts(np.array([3.0, np.nan]), []).tolist() == [1, 1]  # a constant feature: one bin
    # ties collapse deciles: a feature that is mostly zero keeps one bin for its zeros
    assert decile_edges(np.r_[np.zeros(80), np.arange(1, 21)])[0] == 0.0
    assert decile_edges(np.array([np.nan, np.nan])) == []


def test_categories_outside_the_vocabulary_count_as_unknown() -> None:
    counts = category_counts(pd.Series(["web", "event", "brand_new", None, "web"]), ["event", "web", "unknown"])
    assert counts.tolist() == [1, 2, 1, 1]


def population(tables: LeadTables) -> tuple[pd.DataFrame, np.ndarray]:
    clean, _, _ = clean_tables(tables)
    spine, matrix = population_matrix(clean, AT, FeaturesConfig())
    return matrix, label(spine, clean.opportunities, 30).to_numpy()


def generated(seed: int) -> LeadTables:
    return next(generate_chunks(GenerateSpec(leads=3000, seed=seed, end=END, chunk_size=3000)))


def shifted(tables: LeadTables) -> LeadTables:
    """Half the leads moved to outbound (by id: duplicate rows stay duplicates), every company ten times bigger."""
    leads = tables.leads.copy()
    half = pd.util.hash_pandas_object(leads["lead_id"], index=False).to_numpy() % 2 == 0
    leads["source"] = leads["source"].where(half, "outbound")
    leads["employees"] = leads["employees"] * 10
    leads["annual_revenue"] = leads["annual_revenue"] * 10
    return LeadTables(leads, tables.activities, tables.opportunities)


@pytest.fixture(scope="module")
def reference() -> tuple[LeadModel, dict]:
    """A model fitted on one generated population at T, profiled on another (held out, as in training)."""
    matrix, y = population(generated(seed=21))
    catalog = feature_catalog(FeaturesConfig())
    categorical = [f.name for f in catalog if f.kind == "categorical"]
    spec = FeatureSpec.learn(matrix, {f.name: f.family for f in catalog}, categorical, 50)
    booster = lgb.train({"objective": "binary", "verbosity": -1, "num_threads": 1, "seed": 1, "min_data_in_leaf": 100},
                        lgb.Dataset(spec.prepare(matrix), y, categorical_feature=categorical), 30)
    model = LeadModel(booster, spec, SigmoidCalibrator().fit(booster.predict(spec.prepare(matrix), raw_score=True), y))
    held_out, y_held_out = population(generated(seed=23))
    model.profile = training_profile(held_out, spec, model.predict_proba(held_out), y_held_out, grades=GRADES)
    return model, model.profile


def check(model: LeadModel, tables: LeadTables, chunks: int = 1) -> dict:
    matrix, _ = population(tables)
    counter = DriftCounter(model.profile)
    for part in np.array_split(np.arange(len(matrix)), chunks):
        counter.add(matrix.iloc[part])
    return drift_report(model.profile, counter, model.predict_proba(matrix), grades=GRADES, limits=LIMITS)


def test_a_stable_population_does_not_drift(reference) -> None:
    model, _ = reference
    report = check(model, generated(seed=22))  # another draw of the same funnel
    assert report["rows"] >= LIMITS.min_rows
    assert report["drift_warning"] is False, report["reasons"]
    assert report["max_feature_psi"] < 0.1 and report["score_psi"] < 0.1
    assert report["features_over_threshold"] == []


def test_shifted_sources_and_sizes_raise_psi_above_the_threshold(reference) -> None:
    model, _ = reference
    stable, drifted = check(model, generated(seed=22)), check(model, shifted(generated(seed=22)))
    assert drifted["drift_warning"] is True
    for feature in ("lead_source", "employees", "company_size_band", "annual_revenue"):
        assert drifted["feature_psi"][feature] > LIMITS.psi_warning > stable["feature_psi"][feature]
        assert any(reason.startswith(f"feature {feature}: PSI") for reason in drifted["reasons"])
    # what the shift does not touch stays put
    assert drifted["feature_psi"]["revenue_per_employee"] < 0.1
    untouched = "days_since_last_touch"
    assert drifted["feature_psi"][untouched] == pytest.approx(stable["feature_psi"][untouched])


def test_counting_in_chunks_equals_counting_at_once(reference) -> None:
    model, _ = reference
    tables = shifted(generated(seed=22))
    assert check(model, tables, chunks=1)["feature_psi"] == check(model, tables, chunks=4)["feature_psi"]


def test_counting_the_models_input_equals_counting_the_feature_rows(reference) -> None:
    """A scoring run counts each chunk from the model's input (``LeadModel.design``) on its scoring thread."""
    model, _ = reference
    matrix, _ = population(shifted(generated(seed=22)))
    category = next(name for name in model.spec.names if name in model.spec.categories)
    text = matrix[category].astype("str")
    text.iloc[:5], text.iloc[5:10] = "never seen in training", None  # unknown to the model, and missing
    matrix = matrix.assign(**{category: text})
    rows, inputs = DriftCounter(model.profile), DriftCounter(model.profile)
    rows.add(matrix)
    inputs.add_design(model.design(matrix), model.spec.names)
    assert rows.counts.keys() == inputs.counts.keys() == model.profile["features"].keys()
    assert rows.counts[category][-1] >= 5  # the missing values, counted last
    for name, counts in rows.counts.items():
        np.testing.assert_array_equal(inputs.counts[name], counts, err_msg=name)


def test_score_grades_and_expected_base_rate_drift(reference) -> None:
    model, profile = reference
    matrix, _ = population(generated(seed=22))
    counter = DriftCounter(profile)
    counter.add(matrix)
    probability = model.predict_proba(matrix)
    assert not any(r.startswith("mean probability") for r in drift_report(profile, counter, probability, grades=GRADES,
                                                                           limits=LIMITS)["reasons"])
    # every lead 2 points likelier
    raised = drift_report(profile, counter, probability + 0.02, grades=GRADES, limits=LIMITS)
    assert raised["score_psi"] > LIMITS.score_psi_warning
    assert raised["base_rate"]["ratio"] == pytest.approx((probability.mean() + 0.02) / profile["mean_probability"])
    assert raised["base_rate"]["z"] > 3 and any(r.startswith("mean probability") for r in raised["reasons"])
    other_floors = drift_report(profile, counter, probability, grades=GradesConfig(floors={"A": 0.5, "B": 0.0}),
                                limits=LIMITS)
    assert other_floors["grades"] == {"comparable": False, "reason": "the grade floors changed since training"}
    few = drift_report(profile, counter, probability[:10], grades=GRADES,
                       limits=LIMITS.model_copy(update={"min_rows": 500}))
    assert few["drift_warning"] is False and "drift not judged" in few["reasons"][0]


def test_profile_is_compact_saved_with_the_model_and_checksummed(reference, tmp_path: Path) -> None:
    model, profile = reference
    folder = model.save(tmp_path / "m")
    assert (folder / "profile.json").stat().st_size < 100_000
    assert LeadModel.load(folder).profile == json.loads(json.dumps(profile))
    manifest = json.loads((folder / "model.json").read_text())
    assert "profile.json" in manifest["files"]
    (folder / "profile.json").write_text(json.dumps({**profile, "base_rate": 0.5}))
    with pytest.raises(ModelError, match="profile.json"):
        LeadModel.load(folder)
    # a model saved before profiles existed still loads, without one
    bare = LeadModel(model.booster, model.spec, model.calibrator).save(tmp_path / "bare")
    assert LeadModel.load(bare).profile is None


def test_json_safe_turns_nan_into_null() -> None:
    document = json_safe({"a": float("nan"), "b": [1.0, np.float64("inf")], "c": {"d": 2}})
    assert json.dumps(document, allow_nan=False) == '{"a": null, "b": [1.0, null], "c": {"d": 2}}'


def test_grade_shares_are_compared_only_under_the_same_floors() -> None:
    """Capacity shares follow the population's size (A = 200 of 5,000 or of 20,000 leads): never drift. A model
    saved before grade policies holds its floors under ``floors`` and still compares."""
    old_profile = {"floors": {"A": 0.30, "B": 0.15, "C": 0.05, "D": 0.0}, "shares": {}}
    assert same_grading(old_profile, GRADES)
    assert not same_grading(old_profile, GradesConfig())
    new_profile = {"policy": "floors", "bounds": GRADES.floors, "shares": {}}
    assert same_grading(new_profile, GRADES)
    capacity = GradesConfig(policy="capacity")
    assert not same_grading({"policy": "capacity", "bounds": capacity.bounds(), "shares": {}}, capacity)
