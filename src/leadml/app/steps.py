"""The steps several commands share: reading a source chunk by chunk with progress, the data-quality
log, the model to score with, registering and promoting a trained model, publishing scores, and the
code's provenance."""

from __future__ import annotations

import logging
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm import tqdm

from leadml.config import Config, ExportConfig, TablesMapping
from leadml.data.clean import CleanReport
from leadml.data.contract import LeadTables
from leadml.data.sources import Source, open_source
from leadml.data.table_mapping import accounts_counts
from leadml.features.spine import as_timestamp
from leadml.modeling.lead_model import LeadModel
from leadml.modeling.promotion import Decision
from leadml.modeling.promotion import without_lift as refuse_without_lift
from leadml.modeling.verdict import Verdict
from leadml.reporting.crm import check_names, left_out
from leadml.reporting.export import write_export, write_json, write_table
from leadml.reporting.report_data import REQUIRED
from leadml.scoring.population import EXPORT_COLUMNS

log = logging.getLogger("leadml")


def progress(chunks: Iterator[LeadTables], total: int, what: str) -> Iterator[LeadTables]:
    """Show a progress bar on a terminal; plain log lines otherwise."""
    if sys.stderr.isatty():
        yield from tqdm(chunks, total=total, desc=what, unit="chunk")
        return
    for i, chunk in enumerate(chunks, start=1):
        log.info("%s: chunk %d of %d", what, i, total)
        yield chunk


def source_chunks(source: Source, config: Config, what: str) -> Iterator[LeadTables]:
    """Read the source in chunks of ``data.chunk_size`` leads, reporting progress as ``what``."""
    total = max(1, -(-source.count_leads() // config.data.chunk_size))
    return progress(source.chunks(config.data.chunk_size), total, what)


def log_data_quality(report: CleanReport) -> None:
    """Log what cleaning changed, one warning per kind of fix."""
    for key, count in sorted(report.counts.items()):
        log.warning("data: %s: %d", key, count)


def open_data(config: Config, data: str) -> Source:
    """Open the data the config describes: the contract's tables, or the user's own tables mapped onto them
    (``mapping.layout: tables``); a flat export has its own commands' path."""
    return open_source(data, config.mapping if isinstance(config.mapping, TablesMapping) else None)


def spark_reads_contract(config: Config) -> None:
    """Refuse a table mapping on Spark, which reads the contract's tables from a lake or database."""
    if isinstance(config.mapping, TablesMapping):
        raise ValueError("--engine spark reads the contract's tables, not mapping.layout: tables: write them with "
                         "`leadml map --out DIR` and point --data at DIR, or use the local engine")


def writes_beside_mapped_tables(config: Config) -> None:
    """Refuse a write-back whose score tables would replace one of the user's own mapped tables."""
    if not isinstance(config.mapping, TablesMapping):
        return
    mapped = {config.mapping.leads.file, *(t.file for t in config.mapping.activities)}
    mapped |= {config.mapping.opportunities.file} if config.mapping.opportunities else set()
    clash = sorted(mapped & {config.export.scores_table, config.export.history_table})
    if clash:
        raise ValueError(f"--write-back would replace your table {clash[0]}: set export.scores_table and "
                         "export.history_table to names of their own")


def source_accounts(source: Source, report: CleanReport) -> None:
    """Add a mapped source's accounts (rows read, kept, dropped, rejected per source table) to ``report``."""
    for key, n in accounts_counts(source.accounts).items():
        report.counts[key] = n


def data_end_day(data: str) -> pd.Timestamp:
    """Return the end of the last day that holds data (UTC): the natural as-of moment for a demo."""
    with open_source(data) as source:
        return as_timestamp(source.data_end().ceil("D"))


def load_model(config: Config, model_ref: str | None) -> tuple[LeadModel, str]:
    """Return the model ``model_ref`` names (default the champion) and its version."""
    from leadml.tracking.registry import resolve_model  # MLflow loads with a model: scoring reads data meanwhile

    return resolve_model(model_ref, config.tracking, Path(config.models_dir))


def without_lift(decision: Decision, verdict: Verdict, config: Config) -> Decision:
    """``decision``, refused when the verdict finds no lift (naming the version that stays champion)."""
    from leadml.tracking.registry import champion_version

    return refuse_without_lift(decision, verdict, config.promotion,
                               champion=champion_version(config.tracking.registered_model))


def register_and_promote(model: LeadModel, *, example: pd.DataFrame, decision: Decision, verdict: Verdict,
                         config: Config, run_id: str) -> tuple[dict[str, str], Path]:
    """Register the model of the active run as the next version tagged with its verdict, keep a local copy
    under ``models_dir``, and make it champion when ``decision`` says so. Return what the registry recorded
    and the copy's folder."""
    from leadml.tracking.registry import promote, register_model, save_local_copy

    with tempfile.TemporaryDirectory() as tmp:
        model_dir = model.save(Path(tmp) / "model")
        registered = register_model(model, model_dir, example, config.tracking, challenger=decision.lift,
                                    tags={"verdict": verdict.sentence})
        local = Path(config.models_dir) / f"{registered['model_name']}-v{registered['model_version']}"
        save_local_copy(model_dir, local, run_id)
    if decision.promote:
        promote(registered["model_name"], registered["model_version"], decision.reason)
    return registered, local


def log_promotion(decision: Decision, metrics: dict[str, float] | None = None,
                  documents: dict[str, object] | None = None) -> None:
    """Tag the active run with the promotion decision and its reason."""
    from leadml.tracking.runs import log_results

    log_results({}, metrics or {}, {"promoted": str(decision.promote), "promotion_reason": decision.reason[:5000]},
                documents or {}, tables={}, figures={})


def git_commit() -> str:
    """Return the commit of the code that runs, or ``unknown`` outside a git checkout."""
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                              check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


@dataclass(frozen=True)
class ScoreFiles:
    """The files a scoring run publishes: the export and, beside it, its rejects, drift summary and manifest."""

    export: Path
    rejects: Path
    drift: Path
    manifest: Path

    @classmethod
    def beside(cls, out: Path) -> ScoreFiles:
        return cls(out, out.with_name(f"{out.stem}.rejects.csv"), out.with_name(f"{out.stem}.drift.json"),
                   out.with_name(f"{out.stem}.manifest.json"))


def check_export_columns(config: Config) -> None:
    """Refuse a key of ``export.columns`` that names no column of the export, and a display column that is one of
    leadml's own, before any lead is scored."""
    taken = [c for c in config.export.display if c in EXPORT_COLUMNS]
    if taken:
        raise ValueError(f"export.display: {taken[0]!r} is a column leadml writes itself: show another column")
    check_names(config.export, [EXPORT_COLUMNS[0], *config.export.display, *EXPORT_COLUMNS[1:]])


def publish_scores(export: pd.DataFrame, rejects: pd.DataFrame, *, findings: dict[str, Any],
                   paths: ScoreFiles, names: ExportConfig) -> None:
    """Write the rejects, the export as the CRM imports it (``export.columns``) and the drift summary (each
    atomically), then warn of what the checks found."""
    write_table(rejects, paths.rejects)
    write_export(export, paths.export, names)
    if left_out(names, REQUIRED):
        log.warning("export.only_mapped: the export leaves out %s, which `leadml report` and `leadml monitor "
                    "--exports` read back: map them in export.columns to keep those working",
                    ", ".join(left_out(names, REQUIRED)))
    write_json(findings, paths.drift)
    freshness, drift = findings["freshness"], findings["drift"]
    for line in drift["reasons"] + ([freshness["reason"]] if freshness["is_stale"] else []):
        log.warning("monitoring: %s", line)
