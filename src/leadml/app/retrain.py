"""leadml retrain: train a challenger, compare it with the champion on the latest fully observed cutoff,
promote by the configured rule, and record the decision with its figures (MLflow and a JSON file)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd

from leadml.app.summary import train_summary
from leadml.app.train import train
from leadml.config import Config
from leadml.features.spine import as_timestamp
from leadml.reporting.export import json_safe, write_json
from leadml.tracking.registry import champion_info
from leadml.tracking.runs import command_run, log_results, tag_run
from leadml.tracking.store import configure

log = logging.getLogger("leadml")


def retrain(config: Config, data: str, *, as_of: pd.Timestamp, out: str | None = None) -> dict[str, Any]:
    """Train a challenger as of ``as_of``, compare it with the champion on the same cutoff, promote by the
    configured rule, and record the decision (MLflow and the JSON file ``out``).

    While the champion is younger than one horizon, every cutoff whose outcomes are known by T was
    seen by the champion's own training: no fair comparison exists, so nothing is trained and the
    decision says so.
    """
    configure(config.tracking)
    before = champion_info(config.tracking.registered_model)
    trained_as_of = as_timestamp(before["trained_as_of"]) if before and before["trained_as_of"] else None
    age = (as_of - trained_as_of) / pd.Timedelta(days=1) if trained_as_of is not None else None
    record: dict[str, Any] = {"command": "retrain", "as_of": str(as_of),
                              "decided_at": str(pd.Timestamp.now(tz="UTC").floor("s")),
                              "rule": config.promotion.model_dump(), "horizon_days": config.horizon_days,
                              "champion_before": before and {**before, "age_days": age}}
    if age is not None and age < config.horizon_days:
        reason = (f"the champion (version {before['version']}) was trained as of {trained_as_of}, {age:.1f} days "
                  f"before {as_of}: every cutoff observed by then fed its training, so a fair comparison is "
                  f"possible from {trained_as_of + pd.Timedelta(days=config.horizon_days)}")
        record |= {"outcome": "skipped", "promote": False, "reason": reason, "champion_after": before["version"]}
        record["run_id"] = _record_skip(config, record, as_of=as_of)
    else:
        record |= _challenge(config, data, as_of=as_of, before=before)
    path = Path(out) if out else Path(config.models_dir) / "decisions" / f"retrain-{as_of:%Y%m%dT%H%M%SZ}.json"
    write_json(json_safe(record), path)
    log.info("retrain as of %s: %s: %s", as_of, record["outcome"], record["reason"])
    return {**record, "decision_file": str(path)}


def _record_skip(config: Config, record: dict[str, Any], *, as_of: pd.Timestamp) -> str:
    """Log a retrain that trained nothing as its own MLflow run; return the run's id."""
    with command_run(config.tracking, run_name=f"retrain skipped as of {as_of.date()}") as run_id:
        log_results({}, {}, {"command": "retrain", "retrain_outcome": "skipped", "promoted": "False",
                             "promotion_reason": record["reason"][:5000]}, {"promotion.json": json_safe(record)},
                    tables={}, figures={})
    return run_id


def _challenge(config: Config, data: str, *, as_of: pd.Timestamp, before: dict[str, str] | None) -> dict[str, Any]:
    """Train a challenger (promoted by the training run's gate) and return what the decision record says of it."""
    trained = train(config, data, as_of=as_of)
    promotion, run_id = trained["promotion"], trained["run_id"]
    outcome = "promoted" if promotion["promote"] else "kept"
    tag_run(run_id, {"command": "retrain", "retrain_outcome": outcome})
    return {"outcome": outcome, "promote": promotion["promote"], "reason": promotion["reason"],
            "test_cutoff": trained["test_cutoff"],
            "challenger": {"version": trained["model_version"], "metrics": promotion["challenger"]},
            "champion": promotion["champion"] and {"version": before and before["version"],
                                                   "age_days": promotion["champion_age_days"],
                                                   "metrics": promotion["champion"]},
            "champion_after": trained["champion_version"], "run_id": run_id, "verdict": trained["verdict"],
            "exit_code": trained["exit_code"], "summary": train_summary(trained)}
