"""The one module that talks to MLflow: runs, metrics, the logged model and the registry.

The model is logged as a pyfunc whose ``predict`` returns the calibrated probability, carrying the
native model files (booster text, spec and calibrator JSON) as its artifacts. The registered
version that scores is chosen by alias (``champion``), never by deprecated stages.
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.models import ModelSignature, infer_signature
from mlflow.tracking import MlflowClient
from mlflow.types import ColSpec, Schema

from leadml.config import TrackingConfig
from leadml.model import LeadModel, ModelError

CHAMPION = "champion"
log = logging.getLogger(__name__)


class LeadPyfunc(mlflow.pyfunc.PythonModel):
    """MLflow wrapper: feature frame in, calibrated probability out."""

    def load_context(self, context: Any) -> None:
        self.model = LeadModel.load(context.artifacts["model"])

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict | None = None) -> pd.Series:
        return pd.Series(self.model.predict_proba(model_input), name="probability")


def redact(uri: str) -> str:
    """Drop credentials from a URL so it can be logged."""
    return re.sub(r"//[^/@]*@", "//***@", uri)


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


def log_trained_model(model: LeadModel, model_dir: Path, example: pd.DataFrame, tracking: TrackingConfig,
                      params: dict[str, Any], metrics: dict[str, float], tags: dict[str, str],
                      documents: dict[str, Any]) -> dict[str, str]:
    """Log one training run (with JSON documents such as the data-quality report), register its model
    and point ``champion`` at it."""
    experiment_id = configure(tracking)
    example = model.spec.prepare(example).astype({name: "object" for name in model.spec.categories})
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_params({k: str(v)[:500] for k, v in params.items()})
        mlflow.log_metrics({k: v for k, v in metrics.items() if v == v})  # NaN-free
        mlflow.set_tags(tags)
        for name, document in documents.items():
            mlflow.log_dict(document, name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            info = mlflow.pyfunc.log_model(
                name="model", python_model=str(Path(__file__).with_name("mlflow_model.py")),
                artifacts={"model": str(model_dir)},
                signature=_signature(example, model.predict_proba(example)),
                input_example=example.head(5), registered_model_name=tracking.registered_model,
            )
    version = str(info.registered_model_version)
    MlflowClient().set_registered_model_alias(tracking.registered_model, CHAMPION, version)
    return {"run_id": run.info.run_id, "model_uri": info.model_uri, "model_name": tracking.registered_model,
            "model_version": version}


def _signature(example: pd.DataFrame, output: Any) -> ModelSignature:
    """Infer the signature, with every input optional: any feature may be missing for a lead."""
    inferred = infer_signature(example, output)
    inputs = Schema([ColSpec(type=c.type, name=c.name, required=False) for c in inferred.inputs.inputs])
    return ModelSignature(inputs=inputs, outputs=inferred.outputs)


def resolve_model(ref: str | None, tracking: TrackingConfig, cache_dir: Path) -> tuple[LeadModel, str]:
    """Load a model by registry reference (``models:/name@alias``, ``models:/name/3``) or folder.

    Returns the model and the label that the export shows as ``model_version``.
    """
    if ref and Path(ref).is_dir():
        return LeadModel.load(ref), f"local:{Path(ref).name}"
    configure(tracking)
    ref = ref or f"models:/{tracking.registered_model}@{CHAMPION}"
    match = re.fullmatch(r"models:/([^/@]+)(?:@(.+)|/(\d+))", ref)
    if not match:
        raise ModelError(f"model reference {ref!r}: use models:/NAME@ALIAS, models:/NAME/VERSION or a folder")
    name, alias, number = match.groups()
    client = MlflowClient()
    try:
        version = client.get_model_version_by_alias(name, alias) if alias else client.get_model_version(name, number)
    except mlflow.exceptions.MlflowException:
        raise ModelError(f"model {ref} not found in the registry at {redact(tracking.uri)}: "
                         "train one first (leadml train)") from None
    target = cache_dir / f"{name}-v{version.version}"
    if not (target / "model.json").exists():
        downloaded = Path(mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{name}/{version.version}"))
        files = next(downloaded.rglob("model.json")).parent
        target.mkdir(parents=True, exist_ok=True)
        for path in files.iterdir():
            (target / path.name).write_bytes(path.read_bytes())
    return LeadModel.load(target), f"{name}/{version.version}"
