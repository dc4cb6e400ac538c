"""The one module that talks to MLflow: runs, metrics, the logged model and the registry.

The model is logged as a pyfunc whose ``predict`` returns the calibrated probability, carrying the
native model files (booster text, spec and calibrator JSON) as its artifacts. The registered
version that scores is chosen by alias (``champion``), never by deprecated stages.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
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
from leadml.reporting.report_data import Evaluation

CHAMPION = "champion"
CHALLENGER = "challenger"
HISTORY_TAG = "champion_history"
log = logging.getLogger(__name__)


class LeadPyfunc(mlflow.pyfunc.PythonModel):
    """MLflow wrapper: feature frame in, calibrated probability out."""

    def load_context(self, context: Any) -> None:
        self.model = LeadModel.load(context.artifacts["model"])

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict | None = None) -> pd.Series:
        return pd.Series(self.model.predict_proba(model_input), name="probability")


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


@contextmanager
def command_run(tracking: TrackingConfig, run_name: str | None = None) -> Iterator[str]:
    """Open the MLflow run of one command; yield its id."""
    experiment_id = configure(tracking)
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name) as run:
        yield run.info.run_id


def log_trial(number: int, params: dict[str, Any], validation_auc: float) -> None:
    """Log one tuning trial as a run nested in the active training run."""
    parent = mlflow.active_run()
    with mlflow.start_run(run_name=f"trial-{number:03d}", nested=True, experiment_id=parent.info.experiment_id):
        mlflow.log_params(params)
        mlflow.log_metric("validation_roc_auc", validation_auc)


@contextmanager
def nested_run(run_name: str) -> Iterator[str]:
    """Open a run nested in the active one (e.g. a comparison run beside the main result); yield its id."""
    parent = mlflow.active_run()
    with mlflow.start_run(run_name=run_name, nested=True, experiment_id=parent.info.experiment_id) as run:
        yield run.info.run_id


def log_results(params: dict[str, Any], metrics: dict[str, float], tags: dict[str, str],
                documents: dict[str, Any], tables: dict[str, pd.DataFrame], figures: dict[str, Any],
                dataset: pd.DataFrame | None = None, dataset_name: str = "training snapshot") -> None:
    """Log parameters, NaN-free metrics, tags, JSON documents, tables, PNG figures and the input data."""
    mlflow.log_params({k: str(v)[:500] for k, v in params.items()})
    mlflow.log_metrics({k: float(v) for k, v in metrics.items() if v == v})
    mlflow.set_tags(tags)
    for name, document in documents.items():
        mlflow.log_dict(document, name)
    for name, table in tables.items():
        mlflow.log_text(table.to_csv(), f"tables/{name}.csv")
    for name, figure in figures.items():
        mlflow.log_figure(figure, f"plots/{name}.png")
    if dataset is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mlflow.log_input(mlflow.data.from_pandas(dataset, name=dataset_name), context="training")


def log_text(text: str, name: str) -> None:
    """Log a text document (a Markdown report) to the active run."""
    mlflow.log_text(text, name)


def register_model(model: LeadModel, model_dir: Path, example: pd.DataFrame,
                   tracking: TrackingConfig) -> dict[str, str]:
    """Log the model of the active run as a pyfunc, register it and alias it ``challenger``."""
    example = model.spec.prepare(example).astype({name: "object" for name in model.spec.categories})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        info = mlflow.pyfunc.log_model(
            name="model", python_model=str(Path(__file__).with_name("pyfunc_entry.py")),
            artifacts={"model": str(model_dir)},
            signature=_signature(example, model.predict_proba(example)),
            input_example=example.head(5), registered_model_name=tracking.registered_model,
        )
    version = str(info.registered_model_version)
    client = MlflowClient()
    client.set_registered_model_alias(tracking.registered_model, CHALLENGER, version)
    client.set_model_version_tag(tracking.registered_model, version, "trained_as_of",
                                 str(model.info.get("trained_as_of")))
    return {"run_id": mlflow.active_run().info.run_id, "model_uri": info.model_uri,
            "model_name": tracking.registered_model, "model_version": version}


def champion_version(name: str) -> str | None:
    """Return the version the ``champion`` alias points at, or None."""
    try:
        return str(MlflowClient().get_model_version_by_alias(name, CHAMPION).version)
    except mlflow.exceptions.MlflowException:
        return None


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
    client.get_model_version(name, version)  # raises for an unknown version
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
                     "brier": metrics.get("brier"), "trained_as_of": version.tags.get("trained_as_of")})
    return sorted(rows, key=lambda row: -row["version"])


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


def _run_tables(run_id: str, names: dict[str, str]) -> dict[str, pd.DataFrame] | None:
    """Read the CSV tables a run logged (``tables/<file>.csv``); None when one is missing."""
    import io

    out = {}
    for key, file in names.items():
        try:
            content = mlflow.artifacts.load_text(f"runs:/{run_id}/tables/{file}.csv")
        except (mlflow.exceptions.MlflowException, OSError):
            return None
        out[key] = pd.read_csv(io.StringIO(content), index_col=0)
    return out


def latest_evaluation(model_version: str, tracking: TrackingConfig) -> Evaluation | None:
    """Return the newest honest measurement of a registered model version (``NAME/VERSION``).

    A backtest by ``leadml evaluate`` on outcomes the model never saw wins over the test half of the
    training run; None for local models or runs that logged no grade table.
    """
    match = re.fullmatch(r"([^/@]+)/(\d+)", model_version)
    if not match:
        return None
    configure(tracking)
    client = MlflowClient()
    experiment = client.get_experiment_by_name(tracking.experiment)
    names = {"grades": "grade_outcomes", "lift": "lift"}
    if experiment is not None:
        runs = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time DESC"], max_results=20,
                                  filter_string=f"tags.command = 'evaluate' and tags.model_version = '{model_version}' "
                                                "and tags.outcomes_seen_in_training = 'False'")
        for run in runs:
            tables = _run_tables(run.info.run_id, names)
            if tables is not None:
                return Evaluation("evaluate", run.info.run_id, run.data.params.get("as_of", ""), **tables)
    try:
        version = client.get_model_version(match[1], match[2])
    except mlflow.exceptions.MlflowException:
        return None
    if not version.run_id:
        return None
    tables = _run_tables(version.run_id, names)
    if tables is None:
        return None
    return Evaluation("training", version.run_id, client.get_run(version.run_id).data.params.get("cutoff_holdout", ""),
                      **tables)


def run_overview(run_id: str, tracking: TrackingConfig) -> dict[str, Any]:
    """Return a run's name, status, parameters, metrics, tags and artifact paths, for notebooks."""
    configure(tracking)
    client = MlflowClient()
    run = client.get_run(run_id)

    def walk(path: str | None = None) -> list[str]:
        found = []
        for item in client.list_artifacts(run_id, path):
            found += walk(item.path) if item.is_dir else [item.path]
        return found

    return {"run_name": run.info.run_name, "status": run.info.status, "params": dict(run.data.params),
            "metrics": dict(run.data.metrics), "tags": {k: v for k, v in run.data.tags.items()
                                                        if not k.startswith("mlflow.")}, "artifacts": walk()}


def download_run_artifact(run_id: str, path: str, tracking: TrackingConfig) -> Path:
    """Download one artifact of a run (e.g. ``plots/gain.png``) and return its local path."""
    configure(tracking)
    return Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=path))


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


def log_monitoring(tracking: TrackingConfig, run_name: str, tags: dict[str, str], metrics: dict[str, float],
                   documents: dict[str, Any], model_version: str | None = None,
                   series: list[tuple[int, dict[str, float]]] = ()) -> str:
    """Log one monitoring run; its metrics are linked to the model version's LoggedModel when there is one.

    ``series`` holds (timestamp in ms, metrics) points, e.g. one per earlier scoring run, so the
    MLflow UI draws them over time. Returns the run id.
    """
    experiment_id = configure(tracking)
    model_id = logged_model_id(model_version) if model_version else None
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name) as run:
        mlflow.set_tags({**tags, **({"model_version": model_version} if model_version else {})})
        mlflow.log_metrics({k: float(v) for k, v in metrics.items() if v is not None and v == v}, model_id=model_id)
        for step, (timestamp, point) in enumerate(series):
            mlflow.log_metrics({k: float(v) for k, v in point.items() if v is not None and v == v},
                               step=step, timestamp=timestamp, model_id=model_id)
        for name, document in documents.items():
            mlflow.log_dict(document, name)
    return run.info.run_id


def champion_info(name: str) -> dict[str, str] | None:
    """Return the champion's version and the as-of moment it was trained at, or None."""
    try:
        version = MlflowClient().get_model_version_by_alias(name, CHAMPION)
    except mlflow.exceptions.MlflowException:
        return None
    return {"version": str(version.version), "trained_as_of": version.tags.get("trained_as_of", "")}


def tag_run(run_id: str, tags: dict[str, str]) -> None:
    client = MlflowClient()
    for key, value in tags.items():
        client.set_tag(run_id, key, value)
