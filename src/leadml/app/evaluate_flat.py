"""leadml evaluate on a flat export: the flat model scored on a labelled file and measured against its labels.

The file has the columns of the training export, label included. Its figures are honest only for leads
the model never trained on: a file identical to the training export is flagged (its figures optimistic).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from leadml import __version__
from leadml.app.flat_steps import flat_mapping, flat_model, leads_path, read_flat
from leadml.config import Config
from leadml.data.clean import DataError
from leadml.data.sources import redact_location as redact
from leadml.features.flat_export import map_flat
from leadml.modeling.evaluation import (
    lift_table,
    outcome_figures,
    reliability_table,
)
from leadml.modeling.grading import grade_table
from leadml.modeling.verdict import sample_warnings
from leadml.reporting.export import file_sha256
from leadml.tracking.runs import command_run, log_results

log = logging.getLogger("leadml")


def evaluate_flat_file(config: Config, data: str, *, model_ref: str | None, as_of_given: bool = False
                       ) -> dict[str, Any]:
    """Score the labelled flat file ``data`` with the model and measure it against the file's labels; log the
    figures and the grade, lift and reliability tables to MLflow (the report shows the grade table)."""
    if as_of_given:
        raise ValueError("--as-of does not apply to a flat export: its labels are the outcomes already known")
    mapping = flat_mapping(config)
    model, version = flat_model(config, model_ref)
    raw, converted, table = read_flat(data, mapping)
    leads = map_flat(raw, mapping, converted, table=table, training=False)
    y = leads.labels.to_numpy(dtype="int64")
    if len(np.unique(y)) < 2:
        raise DataError(f"table {table}: {len(y)} labelled leads with {int(y.sum())} conversions; evaluating needs "
                        "converted and not converted leads")
    p = model.predict_proba(leads.features)
    metrics = outcome_figures(y, p, resamples=config.evaluation.bootstrap_resamples, seed=config.training.seed)
    warnings = sample_warnings(metrics, config.evaluation.min_conversions, what=f"labelled leads of {table}")
    for warning in warnings:
        log.warning("%s", warning)
    seen = model.info.get("data_fingerprint") == file_sha256(leads_path(data, mapping))[:16]
    if seen:
        log.warning("%s is the file model %s was trained on: these figures are optimistic; evaluate leads it never "
                    "saw, or read the cross-validated figures of `leadml train`", table, version)
    accounts = {"rows_read": leads.read, "evaluated": len(y), "duplicates_dropped": leads.duplicates,
                "rejected": len(leads.rejects)}
    tables = {"grade_outcomes": grade_table(y, p, config.grades), "lift": lift_table(y, p),
              "reliability": reliability_table(y, p), "rejects": leads.rejects}
    with command_run(config.tracking, run_name=f"evaluate {version} on {table}") as run_id:
        log_results({"command": "evaluate", "layout": "flat", "as_of": f"file {table}", "model_version": version,
                     "data": redact(data)}, metrics,
                    {"command": "evaluate", "outcomes_seen_in_training": str(seen), "leadml_version": __version__,
                     "model_version": version}, {"data_quality.json": leads.report.counts}, tables=tables, figures={})
    return {"layout": "flat", "data": redact(data), "model_version": version, "outcomes_seen_in_training": seen,
            "warnings": warnings, "tracking_uri": redact(config.tracking.uri), "experiment": config.tracking.experiment,
            **accounts, **metrics, "data_quality": leads.report.counts, "run_id": run_id}
