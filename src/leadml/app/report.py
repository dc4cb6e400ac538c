"""leadml report: one self-contained HTML page for sales managers from the export of a scoring run."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pandas as pd

from leadml import __version__
from leadml.app.steps import check_export_columns, open_data
from leadml.config import Config, GradesConfig, MappingConfig
from leadml.data.clean import DataError
from leadml.data.writeback import previous_scores
from leadml.reasons.words import check_language
from leadml.reporting.export import read_scores, read_table, write_text
from leadml.reporting.report_data import REQUIRED, build_report, check_export
from leadml.reporting.report_html import render as render_report
from leadml.tracking.runs import latest_evaluation

log = logging.getLogger("leadml")


def report(config: Config, data: str, *, as_of: pd.Timestamp | None, export_path: str, out: str,
           lang: str | None = None, previous_path: str | None = None) -> dict[str, Any]:
    """Write the sales-ops HTML report of the export at ``export_path`` (scored at ``as_of``; None: whatever
    moment the export holds): grades, top leads, changes since the previous run (history table of ``data``,
    or the export at ``previous_path``), the model's last evaluation, rejects, model version and data freshness."""
    lang = check_language(lang or config.export.lang)
    check_export_columns(config)
    export = check_export(read_scores(export_path, config.export, REQUIRED), str(export_path))
    if export.empty:
        raise DataError(f"{export_path}: the export holds no scored lead")
    as_of = export["as_of"].iloc[0] if as_of is None else as_of
    if export["as_of"].iloc[0] != as_of:
        raise DataError(f"{export_path} holds scores as of {export['as_of'].iloc[0]}, not {as_of}: "
                        f"run `leadml score --as-of {as_of.isoformat()}` first")
    rejects, manifest = _beside(Path(export_path))
    if manifest.get("lang", "en") != lang:
        log.warning("the export's reasons are in %r, the report's headings in %r: score with --lang %s for one "
                    "language", manifest.get("lang", "en"), lang, lang)
    data_end = _data_end(config, data)
    previous = _previous(config, data, as_of=as_of, previous_path=previous_path)
    version = str(export["model_version"].iloc[0])
    evaluation = latest_evaluation(version, config.tracking)
    grades = GradesConfig.model_validate(manifest["grades"]) if "grades" in manifest else config.grades  # as scored
    content = build_report(export, grades, previous[["lead_id", "score", "grade", "as_of"]], rejects,
                           evaluation=evaluation, horizon_days=config.horizon_days, data_end=data_end,
                           min_grade_leads=config.evaluation.min_grade_leads,
                           min_conversions=config.evaluation.min_conversions,
                           leadml_version=__version__, top=config.report.top_leads, movers=config.report.movers,
                           display=config.export.display, findings=manifest, outcome=config.report.outcome)
    write_text(render_report(content, lang), out)
    return {"out": str(out), "as_of": str(as_of), "model_version": content.model_version, "lang": lang,
            "scored": content.scored, "rejected": content.rejected, "new_a": len(content.new_a),
            "movers_up": len(content.up), "movers_down": len(content.down),
            "previous_as_of": None if content.previous_as_of is None else str(content.previous_as_of),
            "evaluation": None if evaluation is None else {"source": evaluation.source, "run_id": evaluation.run_id,
                                                           "cutoff": evaluation.cutoff},
            "data_end": None if data_end is None else str(data_end)}


def _data_end(config: Config, data: str) -> pd.Timestamp | None:
    """The newest moment in the source; None for a flat export, which has no activity dates."""
    if isinstance(config.mapping, MappingConfig):
        return None
    with open_data(config, data) as source:
        return source.data_end()


def _beside(export_path: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Return the rejects and the manifest published beside the export (empty when absent)."""
    rejects_file = export_path.with_name(f"{export_path.stem}.rejects.csv")
    rejects = read_table(rejects_file) if rejects_file.exists() else pd.DataFrame({"lead_id": [], "reason": []})
    manifest_file = export_path.with_name(f"{export_path.stem}.manifest.json")
    manifest = json.loads(manifest_file.read_text(encoding="utf-8")) if manifest_file.exists() else {}
    return rejects, manifest


def _previous(config: Config, data: str, *, as_of: pd.Timestamp, previous_path: str | None) -> pd.DataFrame:
    """The scores to compare with: the export at ``previous_path``, or the latest run before ``as_of`` in the
    source's history table."""
    if previous_path:
        previous = check_export(read_scores(previous_path, config.export, REQUIRED), str(previous_path))
        if len(previous) and previous["as_of"].iloc[0] >= as_of:
            raise DataError(f"{previous_path} holds scores as of {previous['as_of'].iloc[0]}, not before {as_of}")
        return previous
    return previous_scores(data, config.export.history_table, as_of)
