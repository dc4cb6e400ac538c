"""leadml monitor: judge earlier scoring runs whose horizon has passed, realised conversion per grade
against the probability promised."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from leadml import __version__
from leadml.app.steps import check_export_columns, open_data, source_chunks
from leadml.config import Config
from leadml.data.clean import DataError, clean_tables
from leadml.data.sources import redact_location as redact
from leadml.data.writeback import read_history
from leadml.features.spine import as_timestamp
from leadml.reporting.export import json_safe, read_export, write_json
from leadml.scoring.monitoring import SCORE_COLUMNS, combine_scores, outcome_report
from leadml.tracking.runs import log_monitoring

log = logging.getLogger("leadml")


def monitor(config: Config, data: str, *, as_of: pd.Timestamp, exports: list[str] | None = None,
            out: str | None = None) -> dict[str, Any]:
    """Judge earlier scoring runs whose horizon has passed by ``as_of``: realised conversion per grade
    against the probability promised. Runs come from the history table (``score --write-back``) and
    from earlier exports."""
    scores = _scores(config, data, as_of=as_of, exports=exports)
    ids = set(scores["lead_id"])
    with open_data(config, data) as source:
        observed_until = min(as_of, source.data_end())
        opportunities = []
        for raw in source_chunks(source, config, "outcomes"):
            found = clean_tables(raw)[0].opportunities
            opportunities.append(found[found["lead_id"].isin(ids) & (found["created_at"] <= as_of)])
    report = outcome_report(scores, pd.concat(opportunities, ignore_index=True), horizon_days=config.horizon_days,
                            observed_until=observed_until, grades=config.grades.names(),
                            max_runs=config.monitoring.outcome_runs)
    for line in report["lines"]:
        log.info("outcomes: %s", line)
    if not report["runs"]:
        log.warning("no scoring run has passed its horizon by %s yet: %d pending", observed_until,
                    len(report["pending"]))
    report = json_safe({"as_of": str(as_of), **report})
    run_id = log_outcomes(config, report) if config.monitoring.mlflow else None
    if out:
        write_json({**report, "monitoring_run_id": run_id}, out)
    return {**report, "monitoring_run_id": run_id, "out": out}


def _scores(config: Config, data: str, *, as_of: pd.Timestamp, exports: list[str] | None) -> pd.DataFrame:
    """The scores of every run at or before ``as_of``: the source's history table and the given exports."""
    check_export_columns(config)
    history = read_history(data, config.export.history_table, as_of)
    scores = combine_scores([history if history is not None else pd.DataFrame(),
                             *(read_export(path, SCORE_COLUMNS, names=config.export) for path in exports or [])])
    scores = scores[scores["as_of"] <= as_of]
    if scores.empty:
        raise DataError(f"no scoring run as of {as_of} or earlier found in table {config.export.history_table} of "
                        f"{redact(data)} or in the given exports: score with --write-back, or pass --exports FILE")
    return scores


def log_outcomes(config: Config, report: dict[str, Any]) -> str:
    """Log realised against predicted conversion as an MLflow run: one point per judged scoring run."""
    series = []
    for run in report["runs"]:
        point = {k: run[k] for k in ("predicted", "realised", "roc_auc", "brier", "ece", "leads")}
        for grade in run["grades"]:
            point |= {f"{key}/{grade['grade']}": grade[key] for key in ("predicted", "realised", "gap")}
        series.append((int(as_timestamp(run["as_of"]).timestamp() * 1000), point))
    versions = sorted({run["model_version"] for run in report["runs"]})
    tags = {"command": "monitor", "as_of": report["as_of"], "model_versions": ",".join(versions),
            "leadml_version": __version__}
    return log_monitoring(config.tracking, f"monitor outcomes as of {report['as_of'][:10]}", tags,
                          {"runs_judged": len(report["runs"]), "runs_pending": len(report["pending"])},
                          documents={"outcomes.json": report},
                          model_version=versions[0] if len(versions) == 1 else None, series=series)
