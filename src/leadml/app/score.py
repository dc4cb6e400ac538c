"""leadml score: the population at T scored with the model, checked for drift and freshness, and
published at once (export, rejects, drift summary, manifest; with ``write_back`` the source's score tables)."""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from leadml import __version__
from leadml.app.steps import (
    ScoreFiles,
    check_export_columns,
    load_model,
    log_data_quality,
    open_data,
    publish_scores,
    source_accounts,
    source_chunks,
    spark_reads_contract,
    writes_beside_mapped_tables,
)
from leadml.config import Config, TablesMapping
from leadml.data.clean import DataError
from leadml.data.contract import LeadTables
from leadml.data.display import with_display
from leadml.data.sources import read_display
from leadml.data.sources import redact_location as redact
from leadml.data.writeback import previous_scores
from leadml.data.writeback import write_back as write_back_scores
from leadml.features import Feature, feature_catalog
from leadml.modeling.lead_model import Design, LeadModel
from leadml.modeling.stopwatch import Stopwatch
from leadml.reasons.words import check_language, combined_reasons, localise
from leadml.reporting.crm import crm_record
from leadml.reporting.export import file_sha256, json_safe, write_json
from leadml.reporting.publish_lock import exclusive
from leadml.scoring.drift import DriftCounter, drift_report, no_profile_report
from leadml.scoring.monitoring import NewestActivity, data_freshness, exit_code
from leadml.scoring.population import ScoringResult, finalise, score_chunks

log = logging.getLogger("leadml")


def score(config: Config, data: str, *, as_of: pd.Timestamp, out: str, model_ref: str | None,
          write_back: bool = False, lang: str | None = None, engine: str = "local") -> dict[str, Any]:
    """Score the population at ``as_of``; publish the export, its rejects, the drift summary and a
    manifest atomically, and with ``write_back`` the score tables of the source database in one transaction.

    The population is compared with the model's training profile and the source's freshness is
    checked; both go to the manifest, the drift summary and an MLflow monitoring run. Reasons are
    written in ``lang`` (default ``export.lang``); column names never change. A second run publishing
    the same export at the same time fails at once (``publish_lock.BusyError``).

    With ``engine="spark"`` the same pipeline runs per bucket on Spark and ``out`` is its sink.
    """
    if engine == "spark":
        spark_reads_contract(config)
        if config.export.display:
            raise ValueError("export.display belongs to the local engine's export: with --engine spark, join the "
                             "scores to the leads table in the sink by lead_id")
        if write_back:
            raise ValueError("--write-back belongs to the local engine: with --engine spark give the database "
                             "as the sink, --out postgresql://...")
        from leadml.spark.jobs import score as spark_score

        return spark_score(config, data, as_of=as_of, out=out, model_ref=model_ref, lang=lang)
    if write_back:
        writes_beside_mapped_tables(config)
    check_export_columns(config)
    with exclusive(Path(out)):
        return _score(config, data, as_of=as_of, out=Path(out), model_ref=model_ref, write_back=write_back, lang=lang)


def _score(config: Config, data: str, *, as_of: pd.Timestamp, out: Path, model_ref: str | None,
           write_back: bool, lang: str | None) -> dict[str, Any]:
    """Score, check, publish: each step named, in the order the run's timings and safety depend on."""
    started = time.perf_counter()
    lang = check_language(lang or config.export.lang)
    catalog = localise(feature_catalog(config.features), lang)
    with ThreadPoolExecutor(1, thread_name_prefix="leadml-model") as loader:  # LightGBM and MLflow load (~4 s)
        resolved = loader.submit(_model_for, config, model_ref, catalog)  # while the first chunk is read and built
        loading: Future[LeadModel] = loader.submit(lambda: resolved.result()[0])
        checks = _Checks(loading, as_of)
        result, fingerprint = _score_population(config, data, model=loading, as_of=as_of, catalog=catalog,
                                                lang=lang, checks=checks)
    checks.stopwatch.lap("other")
    model, version = resolved.result()
    export, freshness = _grade(config, data, result, version=version, as_of=as_of, newest=checks.newest.newest)
    checks.stopwatch.lap("grades_and_ranks")
    shown = _for_people(config, data, export)  # before anything is recorded: a bad display column stops the run
    drift = checks.drift(model, export, config)
    scored_seconds = time.perf_counter() - started
    paths = ScoreFiles.beside(out)
    findings = json_safe({"as_of": str(as_of), "model_version": version, "drift_warning": drift["drift_warning"],
                          "is_stale": freshness["is_stale"], "freshness": freshness, "drift": drift})
    checks.stopwatch.lap("other")
    monitoring_run = _monitoring_run(config, findings)
    checks.stopwatch.lap("monitoring_mlflow")
    if write_back:  # first: if the database refuses, no file of this run is published either
        write_back_scores(data, export, scores_table=config.export.scores_table,
                          history_table=config.export.history_table, as_of=as_of, model_version=version)
    checks.stopwatch.lap("write_back")
    publish_scores(shown, result.rejects,
                   findings={**findings, "monitoring_run_id": monitoring_run}, paths=paths, names=config.export)
    checks.stopwatch.lap("write")
    summary = _summary(config, export, result, paths=paths, findings=findings, monitoring_run=monitoring_run,
                       write_back=write_back, lang=lang)
    write_json(_manifest(summary, export, result, data=data, fingerprint=fingerprint, findings=findings,
                         paths=paths, seconds={"scoring": round(scored_seconds, 3),
                                               "total": round(time.perf_counter() - started, 3),
                                               **{k: v for k, v in checks.stopwatch.laps.items() if k != "other"}})
               | {"crm": crm_record(config.export), "grades": config.grades.model_dump(mode="json")}, paths.manifest)
    return summary


class _Checks:
    """What a scoring run watches beside scoring: the newest activity, the features' drift counts, and
    the time both take (``monitoring_checks``) against everything else (``other``)."""

    def __init__(self, model: Future[LeadModel], as_of: pd.Timestamp):
        self.model = model
        self.newest = NewestActivity(as_of)
        self.stopwatch = Stopwatch()

    @cached_property
    def counter(self) -> DriftCounter | None:
        """The drift counts against the model's training profile (asked for once the model has loaded)."""
        profile = self.model.result().profile
        return DriftCounter(profile) if profile else None

    def observe(self, tables: LeadTables) -> None:
        """Take one chunk's newest activity (on the reading thread)."""
        self.stopwatch.lap("other")
        self.newest.add(tables)
        self.stopwatch.lap("monitoring_checks")

    def count(self, design: Design) -> None:
        """Count one chunk's model input into the drift bins (on the scoring thread, where the input is)."""
        if self.counter is not None:
            self.counter.add_design(design, self.model.result().spec.names)

    def drift(self, model: LeadModel, export: pd.DataFrame, config: Config) -> dict[str, Any]:
        """Compare the scored population with the model's training profile."""
        self.stopwatch.lap("other")
        drift = (drift_report(model.profile, self.counter, export["probability"].to_numpy(), grades=config.grades,
                              limits=config.monitoring) if self.counter is not None else no_profile_report())
        self.stopwatch.lap("monitoring_checks")
        return drift


def _model_for(config: Config, model_ref: str | None, catalog: tuple[Feature, ...]) -> tuple[LeadModel, str]:
    """The model to score with and its version, refused if it needs features the config does not build."""
    model, version = load_model(config, model_ref)
    model.spec.require({f.name for f in catalog})
    return model, version


def _score_population(config: Config, data: str, *, model: Future[LeadModel], as_of: pd.Timestamp,
                      catalog: tuple[Feature, ...], lang: str, checks: _Checks) -> tuple[ScoringResult, str]:
    """Score the population at ``as_of`` chunk by chunk; return the scored rows and rejects, and the data's digest."""
    with open_data(config, data) as source:
        fingerprint = source.fingerprint()
        result = score_chunks(source_chunks(source, config, "scoring"), model, as_of, catalog,
                              settings=config.features, reasons=config.export.top_reasons,
                              explainer=config.export.explainer, combined=combined_reasons(lang),
                              observe=checks.observe, count=checks.count, clock=checks.stopwatch)
        source_accounts(source, result.report)
    log_data_quality(result.report)
    if result.scored.empty and result.rejects.empty:  # publishing nothing would wipe yesterday's scores
        raise DataError(f"table leads: the population at {as_of} is empty (no lead created at or before it "
                        "without an earlier opportunity); nothing published")
    return result, fingerprint


def _grade(config: Config, data: str, result: ScoringResult, *, version: str, as_of: pd.Timestamp,
           newest: pd.Timestamp | None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Judge the source's freshness, then grade, rank and compare the scores with the previous run's."""
    freshness = data_freshness(newest, as_of, config.monitoring.max_data_age_days)
    previous = previous_scores(data, config.export.history_table, as_of)
    export = finalise(result, config.grades, version, as_of, scored_at=pd.Timestamp.now(tz="UTC").floor("s"),
                      previous=previous, is_stale=freshness["is_stale"])
    return export, freshness


def _for_people(config: Config, data: str, export: pd.DataFrame) -> pd.DataFrame:
    """The export with its display columns (``export.display``), read from the leads table only now: they
    never reach the score tables of ``--write-back``, the checks or MLflow."""
    if not config.export.display:
        return export
    mapping = config.mapping if isinstance(config.mapping, TablesMapping) else None
    return with_display(export, read_display(data, config.export.display, mapping))


def _monitoring_run(config: Config, findings: dict[str, Any]) -> str | None:
    """Log the checks as an MLflow monitoring run, if configured; a store that fails must not stop scoring
    (the checks are in the manifest and the drift summary anyway)."""
    from leadml.tracking.runs import TrackingError

    try:
        return _log_scoring_checks(config, findings) if config.monitoring.mlflow else None
    except (TrackingError, OSError) as exc:
        log.warning("monitoring: the MLflow run could not be logged: %s", " ".join(str(exc).split())[:300])
        return None


def _log_scoring_checks(config: Config, checks: dict[str, Any]) -> str:
    """Log a scoring run's drift and freshness as an MLflow monitoring run linked to the model version."""
    from leadml.tracking.runs import log_monitoring

    drift, freshness = checks["drift"], checks["freshness"]
    metrics = {"drift_warning": float(drift["drift_warning"]), "is_stale": float(freshness["is_stale"]),
               "data_age_days": freshness["age_days"]}
    if drift["available"]:
        metrics |= {"psi_score": drift["score_psi"], "psi_max_feature": drift["max_feature_psi"],
                    "features_over_threshold": len(drift["features_over_threshold"]),
                    "rows": drift["rows"], "base_rate_expected": drift["base_rate"]["expected"],
                    "mean_probability": drift["base_rate"]["mean_probability"],
                    **{f"psi/{name}": value for name, value in drift["feature_psi"].items()},
                    **{f"grade_share/{g}": v["now"] for g, v in drift["grades"].items() if isinstance(v, dict)}}
    as_of = checks["as_of"]
    tags = {"command": "score", "as_of": as_of, "drift_warning": str(drift["drift_warning"]),
            "is_stale": str(freshness["is_stale"]), "leadml_version": __version__}
    return log_monitoring(config.tracking, f"monitor score {checks['model_version']} as of {as_of[:10]}", tags,
                          metrics, documents={"drift.json": checks}, model_version=checks["model_version"])


def _summary(config: Config, export: pd.DataFrame, result: ScoringResult, *, paths: ScoreFiles,
             findings: dict[str, Any], monitoring_run: str | None, write_back: bool, lang: str) -> dict[str, Any]:
    """What the command prints: where everything went, how many leads per grade, what the checks found."""
    return {"out": str(paths.export), "rejects": str(paths.rejects), "manifest": str(paths.manifest),
            "drift_summary": str(paths.drift), "as_of": findings["as_of"], "model_version": findings["model_version"],
            "population": len(export) + len(result.rejects), "scored": len(export), "rejected": len(result.rejects),
            "written_back": write_back, "lang": lang,
            "grades": {g: int(n) for g, n in export["grade"].value_counts().sort_index().items()},
            "drift_warning": findings["drift_warning"], "is_stale": findings["is_stale"],
            "monitoring_run_id": monitoring_run,
            "exit_code": exit_code(findings["drift_warning"], findings["is_stale"], config.monitoring)}


def _manifest(summary: dict[str, Any], export: pd.DataFrame, result: ScoringResult, *, data: str, fingerprint: str,
              findings: dict[str, Any], paths: ScoreFiles, seconds: dict[str, float]) -> dict[str, Any]:
    """The run's record beside the export: the summary, the source, timings, checksums, data quality and checks."""
    return {**summary, "source": redact(data), "source_fingerprint": fingerprint, "leadml_version": __version__,
            "scored_at": str(export["scored_at"].iloc[0]) if len(export) else None, "seconds": seconds,
            "sha256": {"export": file_sha256(paths.export), "rejects": file_sha256(paths.rejects),
                       "drift_summary": file_sha256(paths.drift)},
            "data_quality": result.report.counts, "freshness": findings["freshness"], "drift": findings["drift"]}
