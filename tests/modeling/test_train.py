"""Training guards: the leakage probe, too little data, and the time order of the splits."""

from pathlib import Path

import pandas as pd
import pytest

from leadml.config import load_config
from leadml.data.clean import CleanReport
from leadml.data.sources import DuckDBSource
from leadml.features.spine import as_timestamp, training_cutoffs
from leadml.modeling.leakage import LeakageError, dominance_warnings
from leadml.modeling.snapshots import Snapshot, build_snapshot
from leadml.modeling.training import InsufficientDataError, fit_model
from tests.conftest import write_config

AS_OF = as_timestamp("2026-11-01")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def snapshot(tiny_db: Path) -> tuple[Snapshot, dict]:
    cutoffs = training_cutoffs(AS_OF, 30, 12, "monthly")
    with DuckDBSource(tiny_db) as source:
        snap = build_snapshot(source.chunks(2000), [c for v in cutoffs.values() for c in v], AS_OF, horizon_days=30,
                              settings=_config().features, report=CleanReport())
    return snap, cutoffs


def _config(tmp: Path | None = None, **training):
    if tmp is None:
        return load_config(Path(__file__).resolve().parents[2] / "configs" / "default.yaml", env={})
    overrides = {"training": {"min_positives": 20, "cutoffs": {"count": 12}, **training},
                 "model": {"num_boost_round": 400, "early_stopping_rounds": 40, "params": {"learning_rate": 0.05}}}
    return load_config(write_config(tmp, **overrides), env={})


def _with_leak(snap: Snapshot) -> Snapshot:
    leaky = snap.features.copy()
    leaky["n_meeting_held_all"] = snap.labels.astype("float64") * 3  # "logged by sales once the deal exists"
    return Snapshot(snap.spine, leaky, snap.labels)


def test_a_leaky_feature_stops_training_and_is_named(snapshot, tmp_path: Path) -> None:
    snap, cutoffs = snapshot
    with pytest.raises(LeakageError, match=r"n_meeting_held_all \(ROC AUC 1\.000\)"):
        fit_model(_with_leak(snap), cutoffs, _config(tmp_path), AS_OF)


def test_an_allowed_leak_trains_and_the_honest_set_passes(snapshot, tmp_path: Path) -> None:
    snap, cutoffs = snapshot
    leaky = fit_model(_with_leak(snap), cutoffs, _config(tmp_path, leakage_allow=["n_meeting_held_all"]), AS_OF)
    assert leaky.metrics["max_single_feature_auc"] == pytest.approx(1.0)
    effects = leaky.tables["feature_dominance"].set_index("feature")
    assert effects.index[0] == "n_meeting_held_all" and effects["share_of_lift"].iloc[0] >= 0.25
    [named] = dominance_warnings(leaky.tables["feature_dominance"], 0.25)
    assert named.startswith("n_meeting_held_all carries") and "alone ROC AUC 1.000" in named
    honest = fit_model(snap, cutoffs, _config(tmp_path), AS_OF)
    assert honest.metrics["max_single_feature_auc"] < 0.95 and honest.metrics["roc_auc"] > 0.7
    assert honest.model.info["trained_as_of"] == str(AS_OF)
    assert len(honest.tables["feature_dominance"]) == 3 and not dominance_warnings(honest.tables["feature_dominance"],
                                                                                   0.25)


def test_the_model_and_its_baselines_are_measured_on_the_same_rows(snapshot, tmp_path: Path) -> None:
    snap, cutoffs = snapshot
    result = fit_model(snap, cutoffs, _config(tmp_path), AS_OF)
    m = result.metrics
    assert m["roc_auc"] > m["constant_roc_auc"] + 0.2 and m["pr_auc"] > 3 * m["constant_pr_auc"]
    for name in ("logistic", "points"):
        assert 0.5 < m[f"{name}_roc_auc"] < 1 and f"margin_roc_auc_vs_{name}" in m
    # the booster is near calibrated already: calibration on a later cutoff must not make it materially worse
    assert m["brier"] <= 1.05 * m["uncalibrated_brier"]
    assert {"lift_top5", "capture_top20", "precision_at_capacity"} <= set(m)
    assert set(result.slices["segment"]) <= {"lead_source", "region", "company_size_band"}
    assert list(result.importance.columns) == ["gain", "mean_abs_contribution"]
    assert len(result.probabilities["model"]) == len(result.test.labels)


def test_too_few_conversions_is_an_error_with_the_counts(snapshot, tmp_path: Path) -> None:
    snap, cutoffs = snapshot
    with pytest.raises(InsufficientDataError, match=r"training cutoffs: \d+ conversions in \d+ rows; at least 100000"):
        fit_model(snap, cutoffs, _config(tmp_path, min_positives=100000), AS_OF)


def test_labels_never_reach_past_the_as_of_moment(tiny_db: Path) -> None:
    late = [as_timestamp("2026-10-15")]  # its 30-day window would close after AS_OF
    with DuckDBSource(tiny_db) as source, pytest.raises(ValueError, match="label window open"):
        build_snapshot(source.chunks(2000), late, AS_OF, horizon_days=30, settings=_config().features,
                       report=CleanReport())


def test_snapshot_labels_equal_the_full_database_labels(snapshot) -> None:
    snap, cutoffs = snapshot
    assert set(snap.spine["as_of"]) == {c for v in cutoffs.values() for c in v}
    assert snap.labels.isin([0, 1]).all() and 0 < snap.labels.mean() < 0.05
    assert not snap.spine.duplicated().any()
    assert pd.api.types.is_integer_dtype(snap.labels)


def test_balanced_weights_miscalibrate_and_calibration_repairs_them(snapshot, tmp_path: Path) -> None:
    snap, cutoffs = snapshot
    config = _config(tmp_path)
    config = config.model_copy(update={"model": config.model.model_copy(update={"class_weight": "balanced"})})
    m = fit_model(snap, cutoffs, config, AS_OF).metrics
    assert m["uncalibrated_mean_probability"] > 5 * m["base_rate"]  # weighting inflates probabilities
    assert m["brier"] < 0.5 * m["uncalibrated_brier"] and m["ece"] < 0.5 * m["uncalibrated_ece"]


def test_the_snapshot_is_ordered_by_cutoff_and_does_not_depend_on_the_chunks(snapshot, tiny_db: Path) -> None:
    snap, cutoffs = snapshot
    assert snap.spine["as_of"].is_monotonic_increasing  # each split's rows are consecutive: a view, not a copy
    for chosen_cutoffs in [*cutoffs.values(), [cutoffs["train"][0], cutoffs["holdout"][0]]]:  # the last: apart
        chosen, masked = snap.at(chosen_cutoffs), snap.rows(snap.spine["as_of"].isin(chosen_cutoffs).to_numpy())
        assert len(chosen.labels) > 0 and set(chosen.spine["as_of"]) == set(chosen_cutoffs)
        pd.testing.assert_frame_equal(chosen.spine, masked.spine)
        pd.testing.assert_frame_equal(chosen.features, masked.features)
        pd.testing.assert_series_equal(chosen.labels, masked.labels)
    with DuckDBSource(tiny_db) as source:  # the 4,000 leads in one chunk, against two chunks of 2,000
        whole = build_snapshot(source.chunks(10_000), [c for v in cutoffs.values() for c in v], AS_OF,
                               horizon_days=30, settings=_config().features, report=CleanReport())

    def by_lead(part: Snapshot) -> pd.DataFrame:
        joined = pd.concat([part.spine, part.features, part.labels.rename("label")], axis=1)
        return joined.sort_values(["as_of", "lead_id"], ignore_index=True)

    pd.testing.assert_frame_equal(by_lead(snap), by_lead(whole))


def test_chunks_built_in_threads_come_back_in_order_with_at_most_two_in_flight() -> None:
    import threading
    import time

    from leadml.modeling.snapshots import in_threads

    flying, most, lock = [0], [0], threading.Lock()

    def work(item: int) -> int:
        with lock:
            flying[0] += 1
            most[0] = max(most[0], flying[0])
        time.sleep(0.02 * (item % 3))  # later items finish first at times
        with lock:
            flying[0] -= 1
        if item == 7:
            raise ValueError("chunk 7 is bad")
        return item * 10

    results = in_threads(work, iter(range(10)), workers=2)
    assert [next(results) for _ in range(7)] == [i * 10 for i in range(7)] and most[0] == 2
    with pytest.raises(ValueError, match="chunk 7 is bad"):
        list(results)
