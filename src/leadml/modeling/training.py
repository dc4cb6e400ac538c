"""Fit the booster on training cutoffs, stop early on the validation cutoff, calibrate later.

The held-out cutoff is split by a stable hash of lead_id: one half fits the calibrators, the other
half is the test set every reported figure comes from, for the model and for the baselines
alike. Nothing is split at random.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from leadml.config import Config
from leadml.features import feature_catalog
from leadml.modeling.baselines import LogisticBaseline, points_score
from leadml.modeling.calibration import CALIBRATORS, SigmoidCalibrator
from leadml.modeling.dominance import quick_drop_column_effects
from leadml.modeling.evaluation import (
    classification_metrics,
    lift_table,
    margin_intervals,
    reliability_table,
    slice_metrics,
    with_intervals,
)
from leadml.modeling.grading import grade_table
from leadml.modeling.lead_model import FeatureSpec, LeadModel
from leadml.modeling.leakage import check_leakage, single_feature_auc
from leadml.modeling.profile import training_profile
from leadml.modeling.snapshots import Snapshot
from leadml.modeling.stopwatch import Stopwatch

DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "binary", "learning_rate": 0.05, "num_leaves": 15, "min_data_in_leaf": 200,
    "feature_fraction": 0.5, "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0,
    "cat_smooth": 20, "max_cat_to_onehot": 8, "deterministic": True, "force_row_wise": True,
    "num_threads": 0, "verbosity": -1,  # 0: OpenMP's default, every core unless OMP_NUM_THREADS says fewer
}
SLICES = ("lead_source", "region", "company_size_band")
TrialCallback = Callable[[int, dict[str, Any], float], None]


class InsufficientDataError(ValueError):
    """Raised when the cutoffs hold too few rows or conversions to train an honest model."""


@dataclass
class TrainingResult:
    """The model and everything measured about it on the test half of the held-out cutoff."""

    model: LeadModel
    metrics: dict[str, float]
    test: Snapshot
    probabilities: dict[str, np.ndarray]  # calibrated, per scorer: model, logistic, points, constant
    uncalibrated: np.ndarray
    slices: pd.DataFrame
    importance: pd.DataFrame
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


def calibration_half(snapshot: Snapshot) -> np.ndarray:
    """Whether each held-out row belongs to the calibration half, by a stable hash of lead_id (else: test)."""
    return (pd.util.hash_pandas_object(snapshot.spine["lead_id"], index=False).to_numpy() % 2) == 0


def split_holdout(snapshot: Snapshot) -> tuple[Snapshot, Snapshot]:
    """Split held-out rows into calibration and test halves by a stable hash of lead_id."""
    half = calibration_half(snapshot)
    return snapshot.rows(half), snapshot.rows(~half)


def _require(name: str, part: Snapshot, minimum: int) -> None:
    positives, rows = int(part.labels.sum()), len(part.labels)
    if positives < minimum or positives == rows:
        raise InsufficientDataError(
            f"{name}: {positives} conversions in {rows} rows; at least {minimum} conversions and some "
            "non-conversions are needed (generate more leads, add cutoffs or lower training.min_positives)")


def booster_params(config: Config, train_labels: pd.Series, overrides: dict[str, Any] | None = None
                   ) -> dict[str, Any]:
    """Return LightGBM parameters: leadml defaults, the config, class weighting, then overrides."""
    params = DEFAULT_PARAMS | {"seed": config.training.seed} | config.model.params | (overrides or {})
    if config.model.class_weight == "balanced":
        positives = max(float(train_labels.sum()), 1.0)
        params["scale_pos_weight"] = (len(train_labels) - positives) / positives
    elif config.model.class_weight == "sqrt_balanced":
        positives = max(float(train_labels.sum()), 1.0)
        params["scale_pos_weight"] = float(np.sqrt((len(train_labels) - positives) / positives))
    return params


def _fit_booster(params: dict[str, Any], spec: FeatureSpec, train: Snapshot, valid: Snapshot, *,
                 categorical: list[str], config: Config) -> lgb.Booster:
    train_set = lgb.Dataset(spec.prepare(train.features), train.labels.to_numpy(),
                            categorical_feature=categorical, free_raw_data=True)
    valid_set = lgb.Dataset(spec.prepare(valid.features), valid.labels.to_numpy(), reference=train_set)
    booster = lgb.train(params | {"metric": "auc"}, train_set, num_boost_round=config.model.num_boost_round,
                        valid_sets=[valid_set], valid_names=["validation"],
                        callbacks=[lgb.early_stopping(config.model.early_stopping_rounds, verbose=False)])
    booster.free_dataset()
    return booster


def tune(config: Config, spec: FeatureSpec, train: Snapshot, valid: Snapshot, *, categorical: list[str],
         trials: int, on_trial: TrialCallback | None = None) -> dict[str, Any]:
    """Search LightGBM parameters with Optuna, scoring each trial by validation-cutoff ROC AUC."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def objective(trial: optuna.Trial) -> float:
        overrides = {
            "learning_rate": trial.suggest_float("learning_rate", 0.02, 0.2, log=True),
            "num_leaves": trial.suggest_int("num_leaves", 8, 128, log=True),
            "min_data_in_leaf": trial.suggest_int("min_data_in_leaf", 20, 500, log=True),
            "feature_fraction": trial.suggest_float("feature_fraction", 0.4, 1.0),
            "lambda_l2": trial.suggest_float("lambda_l2", 1e-3, 30.0, log=True),
        }
        booster = _fit_booster(booster_params(config, train.labels, overrides), spec, train, valid,
                               categorical=categorical, config=config)
        auc = float(booster.best_score["validation"]["auc"])
        if on_trial is not None:
            on_trial(trial.number, overrides | {"best_iteration": booster.best_iteration}, auc)
        return auc

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=config.training.seed))
    study.optimize(objective, n_trials=trials)
    return dict(study.best_params)


def fit_model(snapshot: Snapshot, cutoffs: dict[str, list[pd.Timestamp]], config: Config,
              known_at: pd.Timestamp, *, tune_trials: int = 0, on_trial: TrialCallback | None = None
              ) -> TrainingResult:
    """Train, early-stop, calibrate and measure the model and its baselines on the test half."""
    train, valid, holdout, calib, test = _split(snapshot, cutoffs, config)

    clock = Stopwatch()  # the main thread's waits: stages run beside others are timed by what is left of them
    catalog = feature_catalog(config.features)
    categorical = [f.name for f in catalog if f.kind == "categorical"]
    with ThreadPoolExecutor(1, thread_name_prefix="leadml-baselines") as pool:  # both mostly on one core each
        baselines = pool.submit(_baseline_probabilities, train, calib, test, categorical=categorical,
                                seed=config.training.seed)
        aucs = single_feature_auc(train.features, train.labels, valid.features, valid.labels, categorical=categorical)
        check_leakage(aucs, config.training.leakage_max_auc, config.training.leakage_allow)
        spec = FeatureSpec.learn(train.features, {f.name: f.family for f in catalog}, categorical,
                                 config.features.max_categories)
        clock.lap("leakage_probe")
        baseline_probabilities = baselines.result()  # before the fit, which wants both cores
    clock.lap("baselines")
    tuned = tune(config, spec, train, valid, categorical=categorical, trials=tune_trials,
                 on_trial=on_trial) if tune_trials else {}
    clock.lap("tuning")
    params = booster_params(config, train.labels, tuned)
    booster = _fit_booster(params, spec, train, valid, categorical=categorical, config=config)
    clock.lap("booster_fit")
    with ThreadPoolExecutor(1, thread_name_prefix="leadml-dominance") as pool:  # quick fits beside the measures
        dominance = pool.submit(quick_drop_column_effects, params, spec, train, test, own_auc=aucs,
                                rounds=booster.best_iteration, seed=config.training.seed,
                                columns=_by_gain(booster)[: config.training.dominance_columns])
        half, raw_holdout = _held_out_scores(booster, spec, holdout)
        model, probability_holdout = _calibrated_model(booster, spec, holdout, half=half, raw=raw_holdout,
                                                       config=config, info={
            "best_iteration": booster.best_iteration, "horizon_days": config.horizon_days,
            "trained_as_of": str(known_at), "tuned_params": tuned,
            "cutoffs": {k: [str(t) for t in v] for k, v in cutoffs.items()},
            "base_rate": float(train.labels.mean()),
        })
        clock.lap("calibration")
        y_calib, y_test = calib.labels.to_numpy(), test.labels.to_numpy()
        uncalibrated = 1 / (1 + np.exp(-raw_holdout[~half]))
        probabilities = {"model": probability_holdout[~half], **baseline_probabilities}
        metrics = _test_metrics(y_test, probabilities, uncalibrated, config)
        metrics |= {"best_iteration": float(booster.best_iteration), "train_rows": float(len(train.labels)),
                    "train_positives": float(train.labels.sum()), "validation_rows": float(len(valid.labels)),
                    "validation_positives": float(valid.labels.sum()), "calibration_rows": float(len(y_calib)),
                    "max_single_feature_auc": float(aucs.max()) if len(aucs) else float("nan")}
        importance = _importance(model, test.features.head(20_000))
        clock.lap("evaluation")
        effects = dominance.result()
    clock.lap("feature_dominance")
    metrics |= {f"seconds_{stage}": seconds for stage, seconds in clock.laps.items()}
    return TrainingResult(
        model=model, metrics=metrics, test=test, probabilities=probabilities, uncalibrated=uncalibrated,
        slices=slice_metrics(y_test, probabilities["model"], test.features[list(SLICES)]),
        importance=importance,
        tables={"reliability_before": reliability_table(y_test, uncalibrated),
                "reliability_after": reliability_table(y_test, probabilities["model"]),
                "grade_outcomes": grade_table(y_test, probabilities["model"], config.grades),
                "lift": lift_table(y_test, probabilities["model"]),
                "single_feature_auc": aucs.rename("roc_auc").to_frame(), "feature_dominance": effects})


def _split(snapshot: Snapshot, cutoffs: dict[str, list[pd.Timestamp]],
           config: Config) -> tuple[Snapshot, Snapshot, Snapshot, Snapshot, Snapshot]:
    """Return the train, validation and held-out rows and the held-out's calibration and test halves, each
    with enough conversions to learn from or measure."""
    train, valid, holdout = (snapshot.at(cutoffs[k]) for k in ("train", "validation", "holdout"))
    calib, test = split_holdout(holdout)
    _require("training cutoffs", train, config.training.min_positives)
    _require("validation cutoff", valid, 1)
    _require("calibration half of the held-out cutoff", calib, 1)
    _require("test half of the held-out cutoff", test, 1)
    return train, valid, holdout, calib, test


def _held_out_scores(booster: lgb.Booster, spec: FeatureSpec, holdout: Snapshot) -> tuple[np.ndarray, np.ndarray]:
    """Which held-out rows form the calibration half, and every held-out row's raw score, predicted once for
    both halves."""
    return calibration_half(holdout), booster.predict(spec.prepare(holdout.features), raw_score=True,
                                                      validate_features=True)


def _calibrated_model(booster: lgb.Booster, spec: FeatureSpec, holdout: Snapshot, *, half: np.ndarray, raw: np.ndarray,
                      config: Config, info: dict[str, Any]) -> tuple[LeadModel, np.ndarray]:
    """The model: the booster with the calibrator fitted on the calibration ``half`` of the held-out raw scores,
    and the profile of the held-out population that drift checks compare with; and every held-out probability."""
    labels = holdout.labels.to_numpy()
    calibrator = CALIBRATORS[config.model.calibration]().fit(raw[half], labels[half])
    model = LeadModel(booster, spec, calibrator, info)
    probability = model.calibrated(raw)
    model.profile = training_profile(holdout.features, spec, probability, labels, grades=config.grades)
    return model, probability


def _baseline_probabilities(train: Snapshot, calib: Snapshot, test: Snapshot, *, categorical: list[str],
                            seed: int) -> dict[str, np.ndarray]:
    """The baselines' probabilities on the test half: logistic regression and points calibrated on the
    calibration half, and the training base rate."""
    y_calib = calib.labels.to_numpy()
    logistic = LogisticBaseline(categorical, seed=seed).fit(train.features, train.labels.to_numpy())

    def calibrated(calib_score: np.ndarray, test_score: np.ndarray) -> np.ndarray:
        return SigmoidCalibrator().fit(calib_score, y_calib).predict(test_score)

    return {
        "logistic": calibrated(logistic.decision(calib.features), logistic.decision(test.features)),
        "points": calibrated(points_score(calib.features), points_score(test.features)),
        "constant": np.full(len(test.labels), float(train.labels.mean())),
    }


def _test_metrics(y_test: np.ndarray, probabilities: dict[str, np.ndarray], uncalibrated: np.ndarray,
                  config: Config) -> dict[str, float]:
    """Metrics of the model, its uncalibrated score and every baseline on the test half, and the model's
    margins over logistic and points with their bootstrap intervals."""
    capacity = config.evaluation.sales_capacity
    metrics = classification_metrics(y_test, probabilities["model"], capacity=capacity)
    metrics |= classification_metrics(y_test, uncalibrated, prefix="uncalibrated_")
    for name in ("logistic", "points", "constant"):
        metrics |= classification_metrics(y_test, probabilities[name], prefix=f"{name}_", capacity=capacity)
    resamples, seed = config.evaluation.bootstrap_resamples, config.training.seed
    metrics = with_intervals(metrics, y_test, probabilities["model"], resamples=resamples, seed=seed)
    baselines = {name: probabilities[name] for name in ("logistic", "points")}
    intervals = margin_intervals(y_test, probabilities["model"], baselines, resamples=resamples, seed=seed)
    for (name, metric), (low, high) in intervals.items():
        metrics[f"margin_{metric}_vs_{name}"] = metrics[metric] - metrics[f"{name}_{metric}"]
        metrics[f"margin_{metric}_vs_{name}_ci_low"], metrics[f"margin_{metric}_vs_{name}_ci_high"] = low, high
    return metrics


def _by_gain(booster: lgb.Booster) -> list[str]:
    """The booster's features by their total gain, highest first."""
    gain = pd.Series(booster.feature_importance("gain"), index=booster.feature_name())
    return gain.sort_values(ascending=False, kind="stable").index.tolist()


def _importance(model: LeadModel, sample: pd.DataFrame) -> pd.DataFrame:
    """Each feature's gain in the booster and its mean absolute contribution on ``sample``, by gain."""
    contributions = model.contributions(sample).drop(columns="base")
    return pd.DataFrame({"gain": model.booster.feature_importance("gain"),
                         "mean_abs_contribution": contributions.abs().mean().to_numpy()},
                        index=model.spec.names).loc[_by_gain(model.booster)]
