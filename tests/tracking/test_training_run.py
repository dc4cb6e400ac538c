"""What `leadml train` leaves in MLflow besides metrics: the model's pinned requirements and the snapshot's
description as the run's dataset input."""

import json
from importlib.metadata import version

import mlflow

from leadml.config import load_config
from tests.conftest import Trained


def test_the_model_pins_its_packages_and_the_run_describes_its_snapshot(trained_session: Trained) -> None:
    mlflow.set_tracking_uri(load_config(trained_session.config, env={}).tracking.uri)
    summary = trained_session.summary
    uri = f"models:/{summary['model_name']}/{summary['model_version']}/requirements.txt"
    pinned = mlflow.artifacts.load_text(uri).split()
    assert {f"lightgbm=={version('lightgbm')}", f"leadml=={version('leadml')}", f"mlflow=={version('mlflow')}",
            f"pandas=={version('pandas')}"} <= set(pinned)

    (dataset,) = mlflow.MlflowClient().get_run(summary["run_id"]).inputs.dataset_inputs
    assert dataset.dataset.name == "training snapshot" and len(dataset.dataset.digest) == 8
    columns = json.loads(dataset.dataset.schema)["mlflow_colspec"]
    assert {"name": "lead_age_days", "type": "double", "required": True} in columns
    assert all(c["name"] != "lead_id" for c in columns)  # features only: no key, no personal data
    assert json.loads(dataset.dataset.profile)["num_rows"] > 0
