"""The MLflow model registry: register a trained model, the champion and challenger aliases, promotion
and rollback, and resolving a model reference to local model files."""

from __future__ import annotations

import json
import re
import shutil
import warnings
from importlib.metadata import version
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.models import ModelSignature, infer_signature
from mlflow.tracking import MlflowClient
from mlflow.types import ColSpec, Schema

from leadml.config import TrackingConfig
from leadml.data.sources import redact_location as redact
from leadml.modeling.lead_model import LeadModel, ModelError
from leadml.tracking.store import configure

CHAMPION = "champion"
CHALLENGER = "challenger"
HISTORY_TAG = "champion_history"
PYFUNC_PACKAGES = ("mlflow", "cloudpickle", "leadml", "lightgbm", "numba", "numpy", "pandas", "psutil", "scikit-learn",
                   "scipy")


def register_model(model: LeadModel, model_dir: Path, example: pd.DataFrame, tracking: TrackingConfig, *,
                   challenger: bool = True, tags: dict[str, str] | None = None) -> dict[str, str]:
    """Log the model of the active run as a pyfunc, register it with ``tags``, and alias it ``challenger``
    unless told not to (a model without lift leaves every alias where it was)."""
    example = model.spec.prepare(example).astype({name: "object" for name in model.spec.categories})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        info = mlflow.pyfunc.log_model(
            name="model", python_model=str(Path(__file__).with_name("pyfunc_entry.py")),
            artifacts={"model": str(model_dir)},
            signature=_signature(example, model.predict_proba(example)),
            input_example=example.head(5), registered_model_name=tracking.registered_model,
            pip_requirements=pyfunc_requirements(),
        )
    version = str(info.registered_model_version)
    client = MlflowClient()
    if challenger:
        client.set_registered_model_alias(tracking.registered_model, CHALLENGER, version)
    for key, value in {"trained_as_of": str(model.info.get("trained_as_of")), **(tags or {})}.items():
        client.set_model_version_tag(tracking.registered_model, version, key, value[:5000])
    return {"run_id": mlflow.active_run().info.run_id, "model_uri": info.model_uri,
            "model_name": tracking.registered_model, "model_version": version}


def pyfunc_requirements() -> list[str]:
    """Pin the packages the pyfunc imports when it loads, as installed here. Given, not inferred: MLflow's
    inference loads the model in a child process to see what it imports (4 s a run), and missed lightgbm."""
    return [f"{package}=={version(package)}" for package in PYFUNC_PACKAGES]


def _signature(example: pd.DataFrame, output: Any) -> ModelSignature:
    """Infer the signature, with every input optional: any feature may be missing for a lead."""
    inferred = infer_signature(example, output)
    inputs = Schema([ColSpec(type=c.type, name=c.name, required=False) for c in inferred.inputs.inputs])
    return ModelSignature(inputs=inputs, outputs=inferred.outputs)


def champion_version(name: str) -> str | None:
    """Return the version the ``champion`` alias points at, or None."""
    try:
        return str(MlflowClient().get_model_version_by_alias(name, CHAMPION).version)
    except mlflow.exceptions.MlflowException:
        return None


def champion_info(name: str) -> dict[str, str] | None:
    """Return the champion's version and the as-of moment it was trained at, or None."""
    try:
        version = MlflowClient().get_model_version_by_alias(name, CHAMPION)
    except mlflow.exceptions.MlflowException:
        return None
    return {"version": str(version.version), "trained_as_of": version.tags.get("trained_as_of", "")}


def champion_run(name: str) -> tuple[dict[str, str], dict[str, float]] | None:
    """Return the parameters and metrics of the run that produced the champion, or None."""
    version = champion_version(name)
    if version is None:
        return None
    client = MlflowClient()
    run_id = client.get_model_version(name, version).run_id
    if not run_id:
        return None
    data = client.get_run(run_id).data
    return dict(data.params), dict(data.metrics)


def _history(client: MlflowClient, name: str) -> list[str]:
    tags = client.get_registered_model(name).tags
    return [v for v in tags.get(HISTORY_TAG, "").split(",") if v]


def promote(name: str, version: str, reason: str) -> None:
    """Point ``champion`` at ``version`` and remember the previous champion for rollback."""
    client = MlflowClient()
    try:
        client.get_model_version(name, version)
    except mlflow.exceptions.MlflowException:
        raise ModelError(f"model {name} has no version {version}") from None
    history = _history(client, name)
    client.set_registered_model_alias(name, CHAMPION, version)
    client.set_registered_model_tag(name, HISTORY_TAG, ",".join([*history, version]))
    client.set_model_version_tag(name, version, "promotion_reason", reason[:5000])


def rollback(name: str) -> tuple[str, str]:
    """Point ``champion`` back at the previous champion; return (from, to) versions."""
    client = MlflowClient()
    history = _history(client, name)
    if len(history) < 2:
        raise ModelError(f"model {name} has no earlier champion to roll back to")
    current, previous = history[-1], history[-2]
    client.set_registered_model_alias(name, CHAMPION, previous)
    client.set_registered_model_tag(name, HISTORY_TAG, ",".join(history[:-1]))
    client.set_model_version_tag(name, current, "rolled_back", "true")
    return current, previous


def list_versions(name: str) -> list[dict[str, Any]]:
    """Return every registered version with its aliases and held-out metrics, newest first."""
    client = MlflowClient()
    rows = []
    for found in client.search_model_versions(f"name = '{name}'"):  # name: a validated identifier
        version = client.get_model_version(name, found.version)  # search results leave aliases empty
        metrics = client.get_run(version.run_id).data.metrics if version.run_id else {}
        rows.append({"version": int(version.version), "aliases": list(version.aliases),
                     "created": pd.Timestamp(version.creation_timestamp, unit="ms", tz="UTC").isoformat(),
                     "roc_auc": metrics.get("roc_auc"), "pr_auc": metrics.get("pr_auc"),
                     "brier": metrics.get("brier"), "trained_as_of": version.tags.get("trained_as_of"),
                     "verdict": version.tags.get("verdict")})
    return sorted(rows, key=lambda row: -row["version"])


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
    if local_copy_run(target) != version.run_id:  # absent, or left by another store's version of that number
        downloaded = Path(mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{name}/{version.version}"))
        save_local_copy(next(downloaded.rglob("model.json")).parent, target, version.run_id)
    return LeadModel.load(target), f"{name}/{version.version}"


def save_local_copy(model_dir: Path, target: Path, run_id: str) -> None:
    """Copy model files to ``target`` and record the run they belong to."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(model_dir, target)
    (target / "run.json").write_text(json.dumps({"run_id": run_id}), encoding="utf-8")


def local_copy_run(target: Path) -> str | None:
    try:
        return json.loads((target / "run.json").read_text(encoding="utf-8"))["run_id"]
    except (OSError, ValueError, KeyError):
        return None


def logged_model_id(model_version: str) -> str | None:
    """Return the MLflow LoggedModel id behind a ``name/version`` label, or None (local models)."""
    match = re.fullmatch(r"([^/]+)/(\d+)", model_version)
    if not match:
        return None
    try:
        version = MlflowClient().get_model_version(*match.groups())
    except mlflow.exceptions.MlflowException:
        return None
    # registered through log_model, a version names its LoggedModel only in its source (models:/m-...)
    found = re.fullmatch(r"models:/(m-[0-9a-f]+)", version.source or "")
    return version.model_id or (found.group(1) if found else None)
