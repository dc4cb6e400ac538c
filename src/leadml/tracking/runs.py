"""MLflow runs: the store and experiment, one run per command, its parameters, metrics, tables and
figures, monitoring runs, and reading back what a run logged (the newest honest evaluation)."""

from __future__ import annotations

import io
import logging
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.tracking import MlflowClient

from leadml.config import TrackingConfig
from leadml.modeling.evaluation import Evaluation
from leadml.tracking.dataset import snapshot_dataset
from leadml.tracking.registry import logged_model_id
from leadml.tracking.store import configure

log = logging.getLogger(__name__)


class TrackingError(Exception):
    """The tracking store refused a write: raised in place of MLflow's own exceptions."""


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
                documents: dict[str, Any], *, tables: dict[str, pd.DataFrame], figures: dict[str, Any],
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
            mlflow.log_input(snapshot_dataset(dataset, dataset_name), context="training")


def log_text(text: str, name: str) -> None:
    """Log a text document (a Markdown report) to the active run."""
    mlflow.log_text(text, name)


def _run_tables(run_id: str, names: dict[str, str]) -> dict[str, pd.DataFrame] | None:
    """Read the CSV tables a run logged (``tables/<file>.csv``); None when one is missing."""
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


def log_monitoring(tracking: TrackingConfig, run_name: str, tags: dict[str, str], metrics: dict[str, float], *,
                   documents: dict[str, Any], model_version: str | None = None,
                   series: list[tuple[int, dict[str, float]]] = ()) -> str:
    """Log one monitoring run; its metrics are linked to the model version's LoggedModel when there is one.

    ``series`` holds (timestamp in ms, metrics) points, e.g. one per earlier scoring run, so the
    MLflow UI draws them over time. Returns the run id.
    """
    try:
        return _log_monitoring(tracking, run_name, tags, metrics, documents=documents, model_version=model_version,
                               series=series)
    except mlflow.exceptions.MlflowException as exc:
        raise TrackingError(" ".join(str(exc).split())[:300]) from None


def _log_monitoring(tracking: TrackingConfig, run_name: str, tags: dict[str, str], metrics: dict[str, float], *,
                    documents: dict[str, Any], model_version: str | None,
                    series: list[tuple[int, dict[str, float]]]) -> str:
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


def tag_run(run_id: str, tags: dict[str, str]) -> None:
    client = MlflowClient()
    for key, value in tags.items():
        client.set_tag(run_id, key, value)
