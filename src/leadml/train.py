"""Fit the booster on training cutoffs, stop early on the validation cutoff, calibrate later.

The held-out cutoff is split by a stable hash of lead_id: one half fits the calibrator, the other
half is the test set the reported metrics come from. Nothing is split at random.
"""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from leadml.calibrate import CALIBRATORS
from leadml.config import Config
from leadml.dataset import Snapshot
from leadml.evaluate import classification_metrics
from leadml.features import feature_catalog
from leadml.leakage import check_leakage, single_feature_auc
from leadml.model import FeatureSpec, LeadModel

DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "binary", "learning_rate": 0.05, "num_leaves": 31, "min_data_in_leaf": 100,
    "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0,
    "cat_smooth": 20, "max_cat_to_onehot": 8, "deterministic": True, "force_row_wise": True,
    "num_threads": 2, "verbosity": -1,
}


class InsufficientDataError(ValueError):
    """Raised when the cutoffs hold too few rows or conversions to train an honest model."""


def split_holdout(snapshot: Snapshot) -> tuple[Snapshot, Snapshot]:
    """Split held-out rows into calibration and test halves by a stable hash of lead_id."""
    half = (pd.util.hash_pandas_object(snapshot.spine["lead_id"], index=False).to_numpy() % 2) == 0
    def pick(rows: np.ndarray) -> Snapshot:
        return Snapshot(snapshot.spine[rows].reset_index(drop=True),
                        snapshot.features[rows].reset_index(drop=True),
                        snapshot.labels[rows].reset_index(drop=True))
    return pick(half), pick(~half)


def _require(name: str, part: Snapshot, minimum: int) -> None:
    positives, rows = int(part.labels.sum()), len(part.labels)
    if positives < minimum or positives == rows:
        raise InsufficientDataError(
            f"{name}: {positives} conversions in {rows} rows; at least {minimum} conversions and some "
            "non-conversions are needed (generate more leads, add cutoffs or lower training.min_positives)")


def fit_model(snapshot: Snapshot, cutoffs: dict[str, list[pd.Timestamp]], config: Config,
              known_at: pd.Timestamp) -> tuple[LeadModel, dict[str, float]]:
    """Train, early-stop, calibrate; return the model and its metrics on the test half."""
    train, valid, holdout = (snapshot.at(cutoffs[k]) for k in ("train", "validation", "holdout"))
    calib, test = split_holdout(holdout)
    _require("training cutoffs", train, config.training.min_positives)
    _require("validation cutoff", valid, 1)
    _require("calibration half of the held-out cutoff", calib, 1)
    _require("test half of the held-out cutoff", test, 1)

    catalog = feature_catalog(config.features)
    categorical = [f.name for f in catalog if f.kind == "categorical"]
    spec = FeatureSpec.learn(train.features, {f.name: f.family for f in catalog}, categorical,
                             config.features.max_categories)
    aucs = single_feature_auc(train.features, train.labels, valid.features, valid.labels, categorical)
    check_leakage(aucs, config.training.leakage_max_auc, config.training.leakage_allow)
    params = DEFAULT_PARAMS | {"seed": config.training.seed} | config.model.params
    train_set = lgb.Dataset(spec.prepare(train.features), train.labels.to_numpy(),
                            categorical_feature=categorical, free_raw_data=True)
    valid_set = lgb.Dataset(spec.prepare(valid.features), valid.labels.to_numpy(), reference=train_set)
    booster = lgb.train(params, train_set, num_boost_round=config.model.num_boost_round,
                        valid_sets=[valid_set], valid_names=["validation"],
                        callbacks=[lgb.early_stopping(config.model.early_stopping_rounds, verbose=False)])
    booster.free_dataset()

    uncalibrated = LeadModel(booster, spec, CALIBRATORS["sigmoid"]().fit(np.array([0.0, 1.0]), [0, 1]))
    calibrator = CALIBRATORS[config.model.calibration]().fit(uncalibrated.raw_score(calib.features),
                                                           calib.labels.to_numpy())
    model = LeadModel(booster, spec, calibrator, {
        "best_iteration": booster.best_iteration, "horizon_days": config.horizon_days,
        "trained_as_of": str(known_at),
        "cutoffs": {k: [str(t) for t in v] for k, v in cutoffs.items()},
    })
    probability = model.predict_proba(test.features)
    base_rate = float(train.labels.mean())
    metrics = classification_metrics(test.labels.to_numpy(), probability)
    metrics |= classification_metrics(test.labels.to_numpy(), np.full(len(test.labels), base_rate),
                                      prefix="constant_")
    metrics |= {"best_iteration": float(booster.best_iteration), "train_rows": float(len(train.labels)),
                "train_positives": float(train.labels.sum()), "validation_rows": float(len(valid.labels)),
                "validation_positives": float(valid.labels.sum()),
                "max_single_feature_auc": float(aucs.max()) if len(aucs) else float("nan")}
    return model, metrics
