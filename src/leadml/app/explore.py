"""Helpers for the data-science notebooks: labelled snapshots, feature summaries by outcome and
the comparison of a training run against its baselines.

The notebooks call these instead of holding logic in cells, so what they show is what the package
computes and a change to the package shows up in them (CI runs both notebooks end to end).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from leadml.app.steps import open_data
from leadml.config import Config
from leadml.data.clean import CleanReport
from leadml.data.sources import open_source
from leadml.features.spine import training_cutoffs
from leadml.modeling.snapshots import build_snapshot

SCORERS = {"model": "leadml (LightGBM, calibrated)", "logistic": "logistic regression, same features",
           "points": "points score (rules)", "constant": "base rate", "uncalibrated": "leadml before calibration"}
COMPARED = ("roc_auc", "pr_auc", "log_loss", "brier", "ece", "lift_top10", "capture_top20", "precision_at_capacity")


def describe_source(data: str) -> pd.DataFrame:
    """Return the rows of each contract table and where the source's history stops."""
    with open_source(data) as source:
        rows = {table: source.table_rows(table) for table in ("leads", "activities", "opportunities")}
        end = source.data_end()
    return pd.DataFrame({"rows": rows, "data_end": str(end)})


def labelled_snapshot(data: str, config: Config, known_at: pd.Timestamp, cutoffs: int = 3) -> pd.DataFrame:
    """Return features, ``as_of`` and ``converted`` at the last ``cutoffs`` training cutoffs before
    ``known_at`` (labels only where the whole horizon is observed)."""
    chosen = training_cutoffs(known_at, config.horizon_days, config.training.cutoffs.count,
                              config.training.cutoffs.frequency)["train"][-cutoffs:]
    with open_data(config, data) as source:
        snapshot = build_snapshot(source.chunks(config.data.chunk_size), chosen, known_at,
                                  horizon_days=config.horizon_days, settings=config.features, report=CleanReport())
    frame = snapshot.features.copy()
    frame.insert(0, "as_of", snapshot.spine["as_of"].to_numpy())
    frame.insert(1, "converted", snapshot.labels.to_numpy().astype("int64"))
    return frame


def conversion_by(frame: pd.DataFrame, column: str, min_rows: int = 30) -> pd.DataFrame:
    """Return leads, conversions and conversion rate per value of ``column``, best rate first."""
    values = frame[column].astype("str").fillna("missing")
    grouped = frame.groupby(values.to_numpy())["converted"]
    out = pd.DataFrame({"leads": grouped.size(), "converted": grouped.sum(), "conversion_rate": grouped.mean()})
    return out[out["leads"] >= min_rows].sort_values("conversion_rate", ascending=False)


def compare_by_outcome(frame: pd.DataFrame, features: list[str]) -> pd.DataFrame:
    """Return median, mean and share non-zero of numeric features for converted and other leads."""
    rows = []
    for name in features:
        for outcome, part in frame.groupby("converted")[name]:
            values = part.astype("float64")
            rows.append({"feature": name, "converted": bool(outcome), "median": values.median(),
                         "mean": values.mean(), "share_nonzero": float((values.fillna(0) != 0).mean()),
                         "share_missing": float(values.isna().mean())})
    return pd.DataFrame(rows).set_index(["feature", "converted"])


def comparison_table(metrics: dict[str, Any]) -> pd.DataFrame:
    """Return the held-out metrics of the model beside its baselines (one row per scorer)."""
    rows = {}
    for prefix, label in SCORERS.items():
        key = "" if prefix == "model" else f"{prefix}_"
        rows[label] = {metric: metrics.get(f"{key}{metric}", np.nan) for metric in COMPARED}
    return pd.DataFrame(rows).T
