"""leadml monitor on a flat export: earlier exports' promises judged against a labelled file of the same leads.

A flat export has no history table and no conversion dates: the outcomes are the labels of a later file
(the same columns, the label now filled in). Leads an export scored that the file does not hold are counted
as unknown, never as not converted.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from leadml.app.flat_steps import flat_mapping, read_flat
from leadml.app.monitor import log_outcomes
from leadml.app.steps import check_export_columns
from leadml.config import ROW_ID, Config
from leadml.data.clean import DataError
from leadml.features.flat_export import map_flat
from leadml.reporting.export import json_safe, read_export, write_json
from leadml.scoring.monitoring import SCORE_COLUMNS, combine_scores, labelled_outcome_report

log = logging.getLogger("leadml")


def monitor_flat(config: Config, data: str, *, exports: list[str] | None, out: str | None = None,
                 as_of_given: bool = False) -> dict[str, Any]:
    """Judge the runs of ``exports`` against the labels of the flat file ``data``: realised conversion per
    grade against the probability promised."""
    if as_of_given:
        raise ValueError("--as-of does not apply to a flat export: its labels are the outcomes already known")
    if not exports:
        raise DataError("a flat export keeps no history of scores: name the earlier exports to judge with "
                        "--exports FILE (repeat for several)")
    check_export_columns(config)
    mapping = flat_mapping(config)
    if mapping.columns["lead_id"] == ROW_ID:
        raise DataError(f"mapping.columns.lead_id is {ROW_ID!r}: an earlier export's row numbers name other leads in "
                        "a later file; monitoring needs the leads' own id column")
    raw, converted, table = read_flat(data, mapping)
    leads = map_flat(raw, mapping, converted, table=table, training=False)
    outcomes = pd.DataFrame({"lead_id": leads.lead_id, "converted": leads.labels})
    scores = combine_scores([read_export(path, SCORE_COLUMNS, names=config.export) for path in exports])
    report = labelled_outcome_report(scores, outcomes, grades=config.grades.names())
    for line in report["lines"]:
        log.info("outcomes: %s", line)
    if not report["runs"]:
        report["lines"] = [f"none of the {len(scores):,} scored leads is among the {len(outcomes):,} labelled leads "
                           f"of {table}: judge an export of the same leads"]
        log.warning("%s", report["lines"][0])
    accounts = {"rows_read": leads.read, "labelled": len(outcomes), "duplicates_dropped": leads.duplicates,
                "rejected": len(leads.rejects)}
    report = json_safe({"as_of": str(pd.Timestamp.now(tz="UTC").floor("s")), "observed_until": f"file {table}",
                        "outcomes_from": table, "accounts": accounts, **report})
    run_id = log_outcomes(config, report) if config.monitoring.mlflow else None
    if out:
        write_json({**report, "monitoring_run_id": run_id}, out)
    return {**report, "monitoring_run_id": run_id, "out": out}
