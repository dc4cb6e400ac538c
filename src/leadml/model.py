"""The scoring model: a LightGBM booster, its feature specification and its calibrator.

Saved as native, non-pickle files (LightGBM's text model and JSON) with SHA-256 checksums that are
verified on load, so a tampered or half-copied model refuses to load instead of scoring wrong.
Columns are always reordered to the saved feature list and categoricals cast to the training
vocabulary before predicting: LightGBM matches both by position.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from leadml.calibrate import IsotonicCalibrator, SigmoidCalibrator, calibrator_from_dict

UNSEEN = "unknown"
FILES = ("booster.txt", "spec.json", "calibrator.json")


class ModelError(ValueError):
    """Raised when a model cannot be loaded or does not fit the data it is given."""


@dataclass(frozen=True)
class FeatureSpec:
    """The model's inputs: names in order, families, and the vocabulary of each categorical."""

    names: tuple[str, ...]
    families: dict[str, str]
    categories: dict[str, tuple[str, ...]]

    @classmethod
    def learn(cls, matrix: pd.DataFrame, families: dict[str, str], categorical: list[str],
              max_categories: int) -> FeatureSpec:
        """Learn each categorical's vocabulary: its most frequent values, plus 'unknown' for the rest."""
        vocab = {}
        for name in categorical:
            top = matrix[name].value_counts().index[: max_categories - 1].astype(str).tolist()
            vocab[name] = tuple(sorted(v for v in top if v != UNSEEN)) + (UNSEEN,)
        return cls(tuple(matrix.columns), {n: families[n] for n in matrix.columns}, vocab)

    def prepare(self, matrix: pd.DataFrame) -> pd.DataFrame:
        """Return the matrix in training order with categoricals cast to the training vocabulary."""
        missing = [name for name in self.names if name not in matrix.columns]
        if missing:
            raise ModelError(f"feature matrix lacks the model's feature(s): {', '.join(missing)}")
        out = matrix.loc[:, list(self.names)].copy()
        for name, vocabulary in self.categories.items():
            values = out[name].astype("str")
            values = values.where(values.isin(vocabulary) | values.isna(), UNSEEN)
            out[name] = pd.Categorical(values, categories=list(vocabulary))
        numeric = [n for n in self.names if n not in self.categories]
        out[numeric] = out[numeric].astype("float64")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"names": list(self.names), "families": self.families,
                "categories": {k: list(v) for k, v in self.categories.items()}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureSpec:
        return cls(tuple(data["names"]), dict(data["families"]),
                   {k: tuple(v) for k, v in data["categories"].items()})


class LeadModel:
    """A fitted booster with the spec it was trained on and the calibrator fitted after it."""

    def __init__(self, booster: lgb.Booster, spec: FeatureSpec,
                 calibrator: SigmoidCalibrator | IsotonicCalibrator, info: dict[str, Any] | None = None):
        if list(booster.feature_name()) != list(spec.names):
            raise ModelError("booster features differ from the feature spec")
        self.booster = booster
        self.spec = spec
        self.calibrator = calibrator
        self.info = dict(info or {})

    def raw_score(self, matrix: pd.DataFrame) -> np.ndarray:
        """Return log-odds from the booster, after aligning the matrix to the spec."""
        return self.booster.predict(self.spec.prepare(matrix), raw_score=True, validate_features=True)

    def predict_proba(self, matrix: pd.DataFrame) -> np.ndarray:
        """Return the calibrated probability of becoming an opportunity within the horizon."""
        return np.clip(self.calibrator.predict(self.raw_score(matrix)), 0.0, 1.0)

    def contributions(self, matrix: pd.DataFrame) -> pd.DataFrame:
        """Return exact TreeSHAP contributions per feature plus 'base'; rows sum to the raw score."""
        values = self.booster.predict(self.spec.prepare(matrix), pred_contrib=True, validate_features=True)
        return pd.DataFrame(values, columns=[*self.spec.names, "base"], index=matrix.index)

    def save(self, folder: str | Path) -> Path:
        """Write the model files and a manifest of their checksums into ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "booster.txt").write_text(self.booster.model_to_string(), encoding="utf-8")
        (folder / "spec.json").write_text(json.dumps(self.spec.to_dict(), indent=1), encoding="utf-8")
        (folder / "calibrator.json").write_text(json.dumps(self.calibrator.to_dict()), encoding="utf-8")
        manifest = {"files": {name: _sha256(folder / name) for name in FILES}, "info": self.info}
        (folder / "model.json").write_text(json.dumps(manifest, indent=1, default=str), encoding="utf-8")
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> LeadModel:
        """Load a saved model, refusing it when any file's checksum does not match."""
        folder = Path(folder)
        try:
            manifest = json.loads((folder / "model.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelError(f"no readable model manifest in {folder}: {exc}") from None
        for name in FILES:
            path = folder / name
            if not path.exists() or _sha256(path) != manifest["files"].get(name):
                raise ModelError(f"model file {name} in {folder} is missing or does not match its checksum")
        booster = lgb.Booster(model_str=(folder / "booster.txt").read_text(encoding="utf-8"))
        spec = FeatureSpec.from_dict(json.loads((folder / "spec.json").read_text(encoding="utf-8")))
        calibrator = calibrator_from_dict(json.loads((folder / "calibrator.json").read_text(encoding="utf-8")))
        return cls(booster, spec, calibrator, manifest.get("info"))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()

