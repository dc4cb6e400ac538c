"""Case 9: a model that cannot be trusted is refused before anything is scored or published."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import write_config
from tests.robustness.conftest import Tables, Workspace, assert_refused

pytestmark = pytest.mark.slow


def run_with(workspace: Workspace, tables: Tables, model: str, config: Path | None = None):
    return workspace.run_damaged(tables, model=model, config=config)


def copy_model(model_dir: Path, target: Path) -> Path:
    shutil.copytree(model_dir, target)
    return target


@pytest.mark.parametrize("workspace", ["duckdb"], indirect=True)
def test_an_alias_that_does_not_exist(workspace: Workspace, base_tables: Tables) -> None:
    outcome = run_with(workspace, base_tables, "models:/leadml-lead-scoring@nobody")
    assert_refused(outcome, "models:/leadml-lead-scoring@nobody", "not found in the registry")


@pytest.mark.parametrize("workspace", ["duckdb"], indirect=True)
def test_a_model_trained_on_another_feature_list(workspace: Workspace, base_tables: Tables, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    config = write_config(other, features={"windows_days": [14], "half_lives_days": [7]})
    outcome = run_with(workspace, base_tables, str(workspace.model), config)
    assert_refused(outcome, "lacks the model's feature(s)")


@pytest.mark.parametrize("workspace", ["duckdb"], indirect=True)
def test_a_tampered_model_file(workspace: Workspace, base_tables: Tables, tmp_path: Path) -> None:
    model = copy_model(workspace.model, tmp_path / "tampered")
    booster = model / "booster.txt"
    booster.write_text(booster.read_text().replace("leaf_value=", "leaf_value=9", 1))
    assert_refused(run_with(workspace, base_tables, str(model)), "booster.txt", "checksum")


@pytest.mark.parametrize("workspace", ["duckdb"], indirect=True)
def test_a_calibrator_that_maps_everything_to_one_value(workspace: Workspace, base_tables: Tables,
                                                         tmp_path: Path) -> None:
    from leadml.modeling.lead_model import _sha256

    model = copy_model(workspace.model, tmp_path / "flat")
    (model / "calibrator.json").write_text(json.dumps({"kind": "isotonic", "x": [-5.0, 5.0], "y": [0.04, 0.04]}))
    manifest = json.loads((model / "model.json").read_text())
    manifest["files"]["calibrator.json"] = _sha256(model / "calibrator.json")  # a consistent, useless model
    (model / "model.json").write_text(json.dumps(manifest))
    assert_refused(run_with(workspace, base_tables, str(model)), "calibrator maps every score to 0.04")
