"""The model as MLflow serves it: a pyfunc whose ``predict`` returns the calibrated probability."""

from __future__ import annotations

from typing import Any

import mlflow
import pandas as pd

from leadml.modeling.lead_model import LeadModel


class LeadPyfunc(mlflow.pyfunc.PythonModel):
    """MLflow wrapper: feature frame in, calibrated probability out."""

    def load_context(self, context: Any) -> None:
        self.model = LeadModel.load(context.artifacts["model"])

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict | None = None) -> pd.Series:
        return pd.Series(self.model.predict_proba(model_input), name="probability")
