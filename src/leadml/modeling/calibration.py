"""Probability calibrators fitted on a later cutoff than the booster, stored as plain JSON.

They map the booster's raw score (log-odds) to a probability. Following the scikit-learn
contract, ``fit`` returns self and learned state lives in trailing-underscore attributes.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class SigmoidCalibrator:
    """Platt scaling: p = 1 / (1 + exp(-(a * raw + b)))."""

    kind = "sigmoid"

    def fit(self, raw: np.ndarray, y: np.ndarray) -> SigmoidCalibrator:
        from sklearn.linear_model import LogisticRegression  # only to fit: a calibrator applies its own numbers

        model = LogisticRegression(C=1e6, max_iter=1000).fit(np.asarray(raw).reshape(-1, 1), y)
        self.a_, self.b_ = float(model.coef_[0, 0]), float(model.intercept_[0])
        return self

    def predict(self, raw: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(self.a_ * np.asarray(raw, dtype="float64") + self.b_)))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "a": self.a_, "b": self.b_}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SigmoidCalibrator:
        calibrator = cls()
        calibrator.a_, calibrator.b_ = float(data["a"]), float(data["b"])
        return calibrator


class IsotonicCalibrator:
    """Isotonic regression on the raw score, kept as its step function's knots."""

    kind = "isotonic"

    def fit(self, raw: np.ndarray, y: np.ndarray) -> IsotonicCalibrator:
        from sklearn.isotonic import IsotonicRegression  # only to fit

        model = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, y)
        self.x_ = model.X_thresholds_.astype("float64")
        self.y_ = model.y_thresholds_.astype("float64")
        return self

    def predict(self, raw: np.ndarray) -> np.ndarray:
        return np.interp(np.asarray(raw, dtype="float64"), self.x_, self.y_)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "x": self.x_.tolist(), "y": self.y_.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IsotonicCalibrator:
        calibrator = cls()
        calibrator.x_ = np.asarray(data["x"], dtype="float64")
        calibrator.y_ = np.asarray(data["y"], dtype="float64")
        return calibrator


CALIBRATORS = {"sigmoid": SigmoidCalibrator, "isotonic": IsotonicCalibrator}


def calibrator_from_dict(data: dict[str, Any]) -> SigmoidCalibrator | IsotonicCalibrator:
    return CALIBRATORS[data["kind"]].from_dict(data)
