"""leadml score on a flat export: a file of current leads scored with the flat model and published like a
contract scoring run (export with reasons, sub-scores, grades and ranks; rejects; drift summary; manifest).

A flat file has no history: the population is the file, and ``as_of`` (``--as-of``, else now) only
records when the scores hold. Every row read is scored, dropped as an exact duplicate, or rejected
with its reason; the manifest's ``accounts`` add up. The label column, if the file has one, is not read.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pandas as pd

from leadml import __version__
from leadml.app.flat_steps import flat_mapping, flat_model, leads_path, read_file, reasons_catalog
from leadml.app.steps import ScoreFiles, check_export_columns, log_data_quality, publish_scores
from leadml.config import Config
from leadml.data.clean import DataError
from leadml.data.display import display_frame, with_display
from leadml.data.sources import redact_location as redact
from leadml.features.flat_export import MappedLeads, map_flat
from leadml.reasons.words import check_language, combined_reasons
from leadml.reporting.crm import crm_record
from leadml.reporting.export import file_sha256, json_safe, write_json
from leadml.reporting.publish_lock import exclusive
from leadml.scoring.flat import flat_accounts, flat_drift, score_mapped
from leadml.scoring.monitoring import exit_code
from leadml.scoring.population import ScoringResult, finalise

log = logging.getLogger("leadml")
FRESHNESS = {"newest_activity": None, "age_days": None, "max_age_days": None, "is_stale": False,
             "reason": "a flat export has no activity dates: its freshness is not judged"}


def score_flat(config: Config, data: str, *, as_of: pd.Timestamp, out: str, model_ref: str | None,
               lang: str | None = None, write_back: bool = False, engine: str = "local") -> dict[str, Any]:
    """Score the leads of the flat file ``data`` as of ``as_of``; publish the export, its rejects, the drift
    summary and the manifest beside ``out``. A second run publishing the same export at once fails."""
    if write_back:
        raise ValueError("--write-back writes scores into the source database; a flat export is a file: "
                         "load the export into your CRM instead")
    if engine != "local":
        raise ValueError("--engine spark reads the contract's tables; score a flat export with the local engine")
    check_export_columns(config)
    with exclusive(Path(out)):
        return _score(config, data, as_of=as_of, out=Path(out), model_ref=model_ref, lang=lang)


def _score(config: Config, data: str, *, as_of: pd.Timestamp, out: Path, model_ref: str | None,
           lang: str | None) -> dict[str, Any]:
    """Read, map, score, grade and publish: each step named."""
    started = time.perf_counter()
    lang = check_language(lang or config.export.lang)
    model, version = flat_model(config, model_ref)
    catalog = reasons_catalog(config, model, lang)
    mapping = flat_mapping(config)
    path = leads_path(data, mapping)
    raw = read_file(path, mapping)
    leads = map_flat(raw, mapping, table=path.name, labelled=False, training=False)
    log_data_quality(leads.report)
    if not leads.read:
        raise DataError(f"{path.name}: the file holds no lead; nothing published")
    result, probability = score_mapped(leads, model, catalog, reasons=config.export.top_reasons,
                                       explainer=config.export.explainer, combined=combined_reasons(lang))
    export = finalise(result, config.grades, version, as_of, scored_at=pd.Timestamp.now(tz="UTC").floor("s"))
    drift = flat_drift(model, leads, probability, grades=config.grades, limits=config.monitoring)
    findings = json_safe({"as_of": str(as_of), "model_version": version, "drift_warning": drift["drift_warning"],
                          "is_stale": False, "freshness": FRESHNESS, "drift": drift, "monitoring_run_id": None})
    files = ScoreFiles.beside(out)
    display = (display_frame(raw, mapping.columns["lead_id"], config.export.display, table=path.name)
               if config.export.display else None)
    publish_scores(with_display(export, display), result.rejects, findings=findings, paths=files,
                   names=config.export)
    paths = {"out": files.export, "rejects": files.rejects, "drift_summary": files.drift, "manifest": files.manifest}
    summary = _summary(config, export, result, leads=leads, findings=findings, paths=paths, lang=lang)
    write_json(summary | {"source": redact(str(path)), "source_fingerprint": file_sha256(path)[:16],
                          "leadml_version": __version__, "layout": "flat",
                          "scored_at": str(export["scored_at"].iloc[0]) if len(export) else None,
                          "seconds": {"total": round(time.perf_counter() - started, 3)},
                          "sha256": {name: file_sha256(paths[name]) for name in ("out", "rejects", "drift_summary")},
                          "data_quality": leads.report.counts, "freshness": FRESHNESS, "drift": drift,
                          "crm": crm_record(config.export), "grades": config.grades.model_dump(mode="json")},
               paths["manifest"])
    return summary


def _summary(config: Config, export: pd.DataFrame, result: ScoringResult, *, leads: MappedLeads,
             findings: dict[str, Any], paths: dict[str, Path], lang: str) -> dict[str, Any]:
    """What the command prints: where everything went, the file's accounts, leads per grade, the drift check."""
    accounts = flat_accounts(leads, result)
    return {**{name: str(path) for name, path in paths.items()}, "as_of": findings["as_of"],
            "model_version": findings["model_version"], "population": len(export) + len(result.rejects),
            "scored": len(export), "rejected": len(result.rejects), "rows_read": leads.read,
            "duplicates_dropped": leads.duplicates, "accounts": accounts,
            "written_back": False, "lang": lang,
            "grades": {g: int(n) for g, n in export["grade"].value_counts().sort_index().items()},
            "drift_warning": findings["drift_warning"], "is_stale": False, "monitoring_run_id": None,
            "exit_code": exit_code(findings["drift_warning"], False, config.monitoring)}
