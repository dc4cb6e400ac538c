"""The tracking store: point MLflow at the configured store and experiment before any run or registry call."""

from __future__ import annotations

import os
from pathlib import Path

import mlflow

from leadml.config import TrackingConfig


def configure(tracking: TrackingConfig) -> str:
    """Point MLflow at the configured store and experiment; return the experiment id."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    mlflow.set_tracking_uri(tracking.uri)
    experiment = mlflow.get_experiment_by_name(tracking.experiment)
    if experiment is not None:
        return experiment.experiment_id
    artifact_root = Path(tracking.artifact_root).resolve()
    artifact_root.mkdir(parents=True, exist_ok=True)
    return mlflow.create_experiment(tracking.experiment, artifact_location=artifact_root.as_uri())
