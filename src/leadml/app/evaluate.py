"""leadml evaluate: score the population at T and measure it against the conversions in the horizon after it."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from leadml import __version__
from leadml.app.steps import load_model, open_data, source_chunks
from leadml.config import Config
from leadml.data.clean import DataError, clean_tables
from leadml.data.sources import redact_location as redact
from leadml.features.spine import as_timestamp, label
from leadml.modeling.evaluation import (
    lift_table,
    outcome_figures,
    reliability_table,
)
from leadml.modeling.grading import grade_table
from leadml.modeling.lead_model import LeadModel
from leadml.modeling.verdict import sample_warnings
from leadml.scoring.population import population_matrix
from leadml.tracking.runs import command_run, log_results

log = logging.getLogger("leadml")


def evaluate(config: Config, data: str, *, as_of: pd.Timestamp, model_ref: str | None) -> dict[str, Any]:
    """Score the population at ``as_of`` and measure it against conversions in the horizon after it."""
    model, version, y, p = _outcomes_and_scores(config, data, as_of=as_of, model_ref=model_ref)
    metrics = outcome_figures(y, p, resamples=config.evaluation.bootstrap_resamples, seed=config.training.seed)
    trained_as_of = model.info.get("trained_as_of")
    seen = bool(trained_as_of) and as_of < as_timestamp(trained_as_of)
    if seen:
        log.warning("the model was trained as of %s, after %s: its training saw outcomes of this period, so "
                    "these figures are optimistic; evaluate a model trained before --as-of for a backtest",
                    trained_as_of, as_of)
    warnings = sample_warnings(metrics, config.evaluation.min_conversions, what="leads scored as of the moment")
    for warning in warnings:
        log.warning("%s", warning)
    result = {"as_of": str(as_of), "model_version": version, "horizon_days": config.horizon_days,
              "model_trained_as_of": trained_as_of, "outcomes_seen_in_training": seen, "warnings": warnings,
              "tracking_uri": redact(config.tracking.uri), "experiment": config.tracking.experiment, **metrics}
    tables = {"grade_outcomes": grade_table(y, p, config.grades), "lift": lift_table(y, p),
              "reliability": reliability_table(y, p)}
    with command_run(config.tracking, run_name=f"evaluate {version} as of {as_of.date()}") as run_id:
        log_results({"command": "evaluate", "as_of": as_of, "model_version": version, "data": redact(data),
                     "horizon_days": config.horizon_days}, metrics,
                    {"command": "evaluate", "outcomes_seen_in_training": str(seen), "leadml_version": __version__,
                     "model_version": version}, {}, tables=tables, figures={})
    return {**result, "run_id": run_id}


def _outcomes_and_scores(config: Config, data: str, *, as_of: pd.Timestamp, model_ref: str | None
                         ) -> tuple[LeadModel, str, np.ndarray, np.ndarray]:
    """Return the model, its version, and per lead of the population at ``as_of`` its outcome and probability."""
    ys, ps = [], []
    with open_data(config, data) as source:
        horizon_end = as_of + pd.Timedelta(days=config.horizon_days)
        if source.data_end() < horizon_end:
            raise DataError(f"the data ends at {source.data_end()}, before the horizon of {as_of} closes at "
                            f"{horizon_end}: evaluate an earlier --as-of")
        model, version = load_model(config, model_ref)
        for raw in source_chunks(source, config, "evaluation"):
            tables, _, _ = clean_tables(raw)
            spine, matrix = population_matrix(tables, as_of, config.features)
            ys.append(label(spine, tables.opportunities, config.horizon_days))
            ps.append(pd.Series(model.predict_proba(matrix) if len(spine) else []))
    return model, version, pd.concat(ys).to_numpy(), pd.concat(ps).to_numpy(dtype="float64")
