"""The jobs behind the commands: each wires sources, pipelines, the model and outputs together.

Every job takes a resolved ``Config`` and explicit arguments, does its I/O at the edges and
returns a plain dict (paths, counts, metrics) that the CLI prints or emits as JSON.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm import tqdm

from leadml import __version__
from leadml.config import Config
from leadml.data.clean import CleanReport, DataError, clean_tables
from leadml.data.contract import LeadTables
from leadml.data.demo_generator import GenerateSpec, generate_chunks
from leadml.data.sources import Source, open_source, write_database
from leadml.data.sources import redact_location as redact
from leadml.data.writeback import previous_scores, read_history
from leadml.data.writeback import write_back as write_back_scores
from leadml.features import feature_catalog
from leadml.features.spine import as_timestamp, label, training_cutoffs
from leadml.modeling.evaluation import classification_metrics, grade_table, lift_table, reliability_table
from leadml.modeling.lead_model import ModelError
from leadml.modeling.promotion import Decision, decide
from leadml.modeling.snapshots import build_snapshot
from leadml.modeling.training import Stopwatch, TrainingResult, fit_model
from leadml.reasons.words import check_language, combined_reasons, localise
from leadml.reporting import plots
from leadml.reporting.export import (
    ChunkedWriter,
    file_sha256,
    json_safe,
    matrix_schema,
    read_export,
    read_table,
    write_json,
    write_table,
    write_text,
)
from leadml.reporting.publish_lock import exclusive
from leadml.reporting.report_data import build_report, check_export
from leadml.reporting.report_html import render as render_report
from leadml.scoring.drift import DriftCounter, drift_report, no_profile_report
from leadml.scoring.monitoring import (
    SCORE_COLUMNS,
    NewestActivity,
    combine_scores,
    data_freshness,
    exit_code,
    outcome_report,
)
from leadml.scoring.population import finalise, population_matrix, score_chunks
from leadml.tracking.registry import (
    champion_info,
    champion_version,
    list_versions,
    promote,
    register_model,
    resolve_model,
    rollback,
    save_local_copy,
)
from leadml.tracking.runs import (
    TrackingError,
    command_run,
    latest_evaluation,
    log_monitoring,
    log_results,
    log_trial,
    tag_run,
)
from leadml.tracking.store import configure

log = logging.getLogger("leadml")


def resolve_as_of(as_of: str | None) -> pd.Timestamp:
    """Return the as-of moment: the given date or timestamp in UTC, or now."""
    return as_timestamp(as_of) if as_of else as_timestamp(pd.Timestamp.now(tz="UTC"))


def _progress(chunks: Iterator[LeadTables], total: int, what: str) -> Iterator[LeadTables]:
    """Show a progress bar on a terminal; plain log lines otherwise."""
    if sys.stderr.isatty():
        yield from tqdm(chunks, total=total, desc=what, unit="chunk")
        return
    for i, chunk in enumerate(chunks, start=1):
        log.info("%s: chunk %d of %d", what, i, total)
        yield chunk


def _chunks(source: Source, config: Config, what: str) -> Iterator[LeadTables]:
    total = max(1, -(-source.count_leads() // config.data.chunk_size))
    return _progress(source.chunks(config.data.chunk_size), total, what)


def _log_report(report: CleanReport) -> None:
    for key, count in sorted(report.counts.items()):
        log.warning("data: %s: %d", key, count)


def generate(config: Config, leads: int, seed: int, out: str, fmt: str = "parquet") -> dict[str, Any]:
    spec = GenerateSpec(leads=leads, seed=seed, end=as_timestamp(str(config.generate.end)),
                        days=config.generate.days, chunk_size=config.generate.chunk_size)
    write_database(generate_chunks(spec), out, fmt)
    with open_source(out) as source:
        counts = {t: source.table_rows(t) for t in ("leads", "activities", "opportunities")}
    return {"out": str(out), "seed": seed, "data_end": str(spec.end), **{f"{k}_rows": v for k, v in counts.items()}}


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                              check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def train(config: Config, data: str, as_of: str | None, tune_trials: int = 0, engine: str = "local") -> dict[str, Any]:
    """Build snapshots at the cutoffs, fit, calibrate and evaluate against baselines; log the run to
    MLflow, register the model as challenger and promote it to champion if it passes the gate.

    With ``engine="spark"`` the snapshots are built on Spark; the fit stays here, on the driver.
    """
    known_at = resolve_as_of(as_of)
    cutoffs = training_cutoffs(known_at, config.horizon_days, config.training.cutoffs.count,
                               config.training.cutoffs.frequency)
    report = CleanReport()
    started = time.perf_counter()
    every_cutoff = [c for v in cutoffs.values() for c in v]
    if engine == "spark":
        from leadml.spark.jobs import snapshot as spark_snapshot

        snapshot, fingerprint = spark_snapshot(config, data, every_cutoff, known_at, report)
    else:
        with open_source(data) as source:
            fingerprint = source.fingerprint()
            snapshot = build_snapshot(_chunks(source, config, "features"), every_cutoff, known_at,
                                      config.horizon_days, config.features, report)
    _log_report(report)
    features_seconds = round(time.perf_counter() - started, 3)
    with command_run(config.tracking) as run_id:
        result = fit_model(snapshot, cutoffs, config, known_at, tune_trials, log_trial)
        started = time.perf_counter()
        champion = _champion_on(result, config)
        result.metrics |= {"seconds_features": features_seconds,
                           "seconds_champion_comparison": round(time.perf_counter() - started, 3)}
        started = time.perf_counter()
        log_results(_train_params(config, data, known_at, cutoffs, result, fingerprint, tune_trials),
                    result.metrics, {"leadml_version": __version__, "git_commit": _git_commit()},
                    {"data_quality.json": report.counts, "cutoffs.json": {k: [str(c) for c in v]
                                                                          for k, v in cutoffs.items()}},
                    {**result.tables, "slices": result.slices, "importance": result.importance},
                    _figures(result), dataset=snapshot.features.head(100_000))
        with tempfile.TemporaryDirectory() as tmp:
            model_dir = result.model.save(Path(tmp) / "model")
            registered = register_model(result.model, model_dir, snapshot.features.head(50), config.tracking)
            local = Path(config.models_dir) / f"{registered['model_name']}-v{registered['model_version']}"
            save_local_copy(model_dir, local, run_id)
        decision = champion["decision"] if "decision" in champion else decide(
            _gate_metrics(result.metrics), champion.get("metrics"), config.promotion, champion.get("age_days"))
        if decision.promote:
            promote(registered["model_name"], registered["model_version"], decision.reason)
        result.metrics["seconds_mlflow_logging_and_registry"] = round(time.perf_counter() - started, 3)
        log_results({}, {"seconds_mlflow_logging_and_registry": result.metrics["seconds_mlflow_logging_and_registry"]},
                    {"promoted": str(decision.promote), "promotion_reason": decision.reason[:5000]},
                    {"promotion.json": asdict(decision)}, {}, {})
    log.info("trained %s version %s: ROC AUC %.3f, PR AUC %.3f on the held-out cutoff; %s: %s",
             registered["model_name"], registered["model_version"], result.metrics.get("roc_auc", float("nan")),
             result.metrics.get("pr_auc", float("nan")), "champion" if decision.promote else "challenger",
             decision.reason)
    return {"as_of": str(known_at), **registered, "run_id": run_id, "local_model": str(local),
            "tracking_uri": redact(config.tracking.uri), "promoted": decision.promote,
            "promotion_reason": decision.reason, "champion_version": champion_version(registered["model_name"]),
            "data_fingerprint": fingerprint, "promotion": asdict(decision),
            "test_cutoff": str(cutoffs["holdout"][0]), **result.metrics}


def train_flat(config: Config, data: str, as_of: str | None, tune_trials: int = 0) -> dict[str, Any]:
    """Train on a flat export (``mapping.layout: flat``): cross-validated, beside baselines and the leak."""
    from leadml.app.train_flat import train_flat as run

    if as_of:
        raise ValueError("--as-of does not apply to a flat export: it has no history to cut at a moment "
                         "(map a creation date to created_at and the folds split by time)")
    if tune_trials:
        raise ValueError("--tune is not available for flat exports yet: set model.params in the config")
    return run(config, data)


def _gate_metrics(metrics: dict[str, float]) -> dict[str, float]:
    return {k: metrics[k] for k in ("roc_auc", "pr_auc", "brier") if k in metrics}


def _champion_on(result: TrainingResult, config: Config) -> dict[str, Any]:
    """Score the current champion on the challenger's test rows, for the promotion gate."""
    version = champion_version(config.tracking.registered_model)
    if version is None:
        return {}
    try:
        model, _ = resolve_model(None, config.tracking, Path(config.models_dir))
        probability = model.predict_proba(result.test.features)
    except ModelError as exc:
        reason = (f"the champion (version {version}) cannot be scored on this feature set ({exc}); "
                  "compare them and promote by hand with `leadml models promote`")
        return {"decision": Decision(False, reason, _gate_metrics(result.metrics), None)}
    holdout = result.test.spine["as_of"].min()
    champion_as_of = model.info.get("trained_as_of")
    if champion_as_of and as_timestamp(champion_as_of) > holdout:
        reason = (f"the champion (version {version}) was trained as of {champion_as_of}, after the test cutoff "
                  f"{holdout}: it saw those outcomes, so the comparison would favour it; backtest both with "
                  "`leadml evaluate` and promote by hand")
        return {"decision": Decision(False, reason, _gate_metrics(result.metrics), None)}
    metrics = classification_metrics(result.test.labels.to_numpy(), probability)
    result.metrics |= {f"champion_{k}": v for k, v in _gate_metrics(metrics).items()}
    age = None
    if champion_as_of:
        age = (as_timestamp(result.model.info["trained_as_of"]) - as_timestamp(champion_as_of)) / pd.Timedelta(days=1)
    return {"metrics": _gate_metrics(metrics), "age_days": age}


def _train_params(config: Config, data: str, known_at: pd.Timestamp, cutoffs: dict, result: TrainingResult,
                  fingerprint: str, tune_trials: int) -> dict[str, Any]:
    flat = pd.json_normalize(json.loads(config.model_dump_json()), sep=".").iloc[0].to_dict()
    flat["data.source"] = redact(str(flat.get("data.source", "")))
    flat["tracking.uri"] = redact(str(flat.get("tracking.uri", "")))
    return {**{f"config.{k}": v for k, v in flat.items()}, "as_of": known_at, "data": redact(data),
            "data_fingerprint": fingerprint, "cutoffs_train": ",".join(str(c.date()) for c in cutoffs["train"]),
            "cutoff_validation": str(cutoffs["validation"][0].date()),
            "cutoff_holdout": str(cutoffs["holdout"][0].date()), "n_features": len(result.model.spec.names),
            "features": ",".join(result.model.spec.names), "tune_trials": tune_trials,
            **{f"tuned.{k}": v for k, v in result.model.info.get("tuned_params", {}).items()}}


def _figures(result: TrainingResult) -> dict[str, Any]:
    y = result.test.labels.to_numpy()
    ranked = {name: p for name, p in result.probabilities.items() if name != "constant"}
    return {"roc": plots.roc_figure(y, ranked), "pr": plots.pr_figure(y, ranked),
            "calibration": plots.calibration_figure(y, result.uncalibrated, result.probabilities["model"]),
            "gain": plots.gain_figure(y, ranked), "importance": plots.importance_figure(result.importance),
            "score_distribution": plots.score_distribution_figure(y, result.probabilities["model"])}


def score(config: Config, data: str, as_of: str | None, out: str, model_ref: str | None,
          write_back: bool = False, lang: str | None = None, engine: str = "local") -> dict[str, Any]:
    """Score the population at ``as_of``; publish the export, its rejects, the drift summary and a
    manifest atomically, and with ``write_back`` the score tables of the source database in one transaction.

    The population is compared with the model's training profile and the source's freshness is
    checked; both go to the manifest, the drift summary and an MLflow monitoring run. Reasons are
    written in ``lang`` (default ``export.lang``); column names never change. A second run publishing
    the same export at the same time fails at once (``lock.BusyError``).

    With ``engine="spark"`` the same pipeline runs per bucket on Spark and ``out`` is its sink.
    """
    if engine == "spark":
        if write_back:
            raise ValueError("--write-back belongs to the local engine: with --engine spark give the database "
                             "as the sink, --out postgresql://...")
        from leadml.spark.jobs import score as spark_score

        return spark_score(config, data, resolve_as_of(as_of), out, model_ref, lang)
    with exclusive(Path(out)):
        return _score(config, data, as_of, out, model_ref, write_back, lang)


def _score(config: Config, data: str, as_of: str | None, out: str, model_ref: str | None,
           write_back: bool, lang: str | None) -> dict[str, Any]:
    started = time.perf_counter()
    moment = resolve_as_of(as_of)
    lang = check_language(lang or config.export.lang)
    model, version = resolve_model(model_ref, config.tracking, Path(config.models_dir))
    catalog = localise(feature_catalog(config.features), lang)
    model.spec.require({f.name for f in catalog})  # before any data is read: the config may build other features
    counter = DriftCounter(model.profile) if model.profile else None
    newest = NewestActivity(moment)
    checking = Stopwatch()

    def observe(tables: LeadTables, matrix: pd.DataFrame) -> None:
        checking.lap("other")
        newest.add(tables)
        if counter is not None:
            counter.add(matrix)
        checking.lap("monitoring_checks")

    with open_source(data) as source:
        fingerprint = source.fingerprint()
        result = score_chunks(_chunks(source, config, "scoring"), model, moment, catalog,
                              config.features, config.export.top_reasons, config.export.explainer,
                              combined_reasons(lang), observe)
    _log_report(result.report)
    if result.scored.empty and result.rejects.empty:  # publishing nothing would wipe yesterday's scores
        raise DataError(f"table leads: the population at {moment} is empty (no lead created at or before it "
                        "without an earlier opportunity); nothing published")
    freshness = data_freshness(newest.newest, moment, config.monitoring.max_data_age_days)
    previous = previous_scores(data, config.export.history_table, moment)
    export = finalise(result, config.grades, version, moment, pd.Timestamp.now(tz="UTC").floor("s"), previous,
                      freshness["is_stale"])
    checking.lap("other")
    drift = (drift_report(model.profile, counter, export["probability"].to_numpy(), config.grades, config.monitoring)
             if counter is not None else no_profile_report())
    checking.lap("monitoring_checks")
    scored_seconds = time.perf_counter() - started
    out_path = Path(out)
    rejects_path = out_path.with_name(f"{out_path.stem}.rejects.csv")
    manifest_path = out_path.with_name(f"{out_path.stem}.manifest.json")
    drift_path = out_path.with_name(f"{out_path.stem}.drift.json")
    checks = json_safe({"as_of": str(moment), "model_version": version, "drift_warning": drift["drift_warning"],
                        "is_stale": freshness["is_stale"], "freshness": freshness, "drift": drift})
    checking.lap("other")
    try:  # the checks are in the manifest and drift summary anyway; a tracking store that fails must not stop
        monitoring_run = _log_scoring_checks(config, checks) if config.monitoring.mlflow else None
    except (TrackingError, OSError) as exc:
        log.warning("monitoring: the MLflow run could not be logged: %s", " ".join(str(exc).split())[:300])
        monitoring_run = None
    checking.lap("monitoring_mlflow")
    if write_back:  # first: if the database refuses, no file of this run is published either
        write_back_scores(data, export, config.export.scores_table, config.export.history_table, moment, version)
    write_table(result.rejects, rejects_path)
    write_table(export, out_path)
    write_json({**checks, "monitoring_run_id": monitoring_run}, drift_path)
    for line in drift["reasons"] + ([freshness["reason"]] if freshness["is_stale"] else []):
        log.warning("monitoring: %s", line)
    summary = {"out": str(out_path), "rejects": str(rejects_path), "manifest": str(manifest_path),
               "drift_summary": str(drift_path), "as_of": str(moment), "model_version": version,
               "population": len(export) + len(result.rejects), "scored": len(export), "rejected": len(result.rejects),
               "written_back": write_back, "lang": lang,
               "grades": {g: int(n) for g, n in export["grade"].value_counts().sort_index().items()},
               "drift_warning": drift["drift_warning"], "is_stale": freshness["is_stale"],
               "monitoring_run_id": monitoring_run,
               "exit_code": exit_code(drift["drift_warning"], freshness["is_stale"], config.monitoring)}
    manifest = {**summary, "source": redact(data), "source_fingerprint": fingerprint,
                "leadml_version": __version__, "scored_at": str(export["scored_at"].iloc[0]) if len(export) else None,
                "seconds": {"scoring": round(scored_seconds, 3), "total": round(time.perf_counter() - started, 3),
                            **{k: v for k, v in checking.laps.items() if k != "other"}},
                "sha256": {"export": file_sha256(out_path), "rejects": file_sha256(rejects_path),
                           "drift_summary": file_sha256(drift_path)},
                "data_quality": result.report.counts, "freshness": checks["freshness"], "drift": checks["drift"]}
    write_json(manifest, manifest_path)
    return summary


def _log_scoring_checks(config: Config, checks: dict[str, Any]) -> str:
    """Log a scoring run's drift and freshness as an MLflow monitoring run linked to the model version."""
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
    moment = checks["as_of"]
    tags = {"command": "score", "as_of": moment, "drift_warning": str(drift["drift_warning"]),
            "is_stale": str(freshness["is_stale"]), "leadml_version": __version__}
    return log_monitoring(config.tracking, f"monitor score {checks['model_version']} as of {moment[:10]}", tags,
                          metrics, {"drift.json": checks}, checks["model_version"])


def evaluate(config: Config, data: str, as_of: str | None, model_ref: str | None) -> dict[str, Any]:
    """Score the population at ``as_of`` and measure it against conversions in the horizon after it."""
    moment = resolve_as_of(as_of)
    ys, ps = [], []
    with open_source(data) as source:
        horizon_end = moment + pd.Timedelta(days=config.horizon_days)
        if source.data_end() < horizon_end:
            raise DataError(f"the data ends at {source.data_end()}, before the horizon of {moment} closes at "
                            f"{horizon_end}: evaluate an earlier --as-of")
        model, version = resolve_model(model_ref, config.tracking, Path(config.models_dir))
        for raw in _chunks(source, config, "evaluation"):
            tables, _, _ = clean_tables(raw)
            spine, matrix = population_matrix(tables, moment, config.features)
            ys.append(label(spine, tables.opportunities, config.horizon_days))
            ps.append(pd.Series(model.predict_proba(matrix) if len(spine) else []))
    y, p = pd.concat(ys).to_numpy(), pd.concat(ps).to_numpy(dtype="float64")
    metrics = classification_metrics(y, p)
    metrics |= classification_metrics(y, pd.Series(y.mean(), index=range(len(y))).to_numpy(), prefix="constant_")
    trained_as_of = model.info.get("trained_as_of")
    seen = bool(trained_as_of) and moment < as_timestamp(trained_as_of)
    if seen:
        log.warning("the model was trained as of %s, after %s: its training saw outcomes of this period, so "
                    "these figures are optimistic; evaluate a model trained before --as-of for a backtest",
                    trained_as_of, moment)
    result = {"as_of": str(moment), "model_version": version, "horizon_days": config.horizon_days,
              "model_trained_as_of": trained_as_of, "outcomes_seen_in_training": seen, **metrics}
    tables = {"grade_outcomes": grade_table(y, p, config.grades), "lift": lift_table(y, p),
              "reliability": reliability_table(y, p)}
    with command_run(config.tracking, run_name=f"evaluate {version} as of {moment.date()}") as run_id:
        log_results({"command": "evaluate", "as_of": moment, "model_version": version, "data": redact(data),
                     "horizon_days": config.horizon_days}, metrics,
                    {"command": "evaluate", "outcomes_seen_in_training": str(seen), "leadml_version": __version__,
                     "model_version": version}, {}, tables, {})
    return {**result, "run_id": run_id}


def features(config: Config, data: str, as_of: str | None, out: str, engine: str = "local") -> dict[str, Any]:
    """Write the feature matrix of the population at ``as_of`` (one row per lead), chunk by chunk
    (or, with ``engine="spark"``, bucket by bucket on Spark into the ``as_of`` partition of ``out``)."""
    moment = resolve_as_of(as_of)
    if engine == "spark":
        from leadml.spark.jobs import features as spark_features

        return spark_features(config, data, moment, out)
    catalog = feature_catalog(config.features)
    schema = matrix_schema(catalog)
    report = CleanReport()
    with open_source(data) as source, ChunkedWriter(out, schema) as writer:
        for raw in _chunks(source, config, "features"):
            tables, _, chunk_report = clean_tables(raw)
            report.merge(chunk_report)
            spine, matrix = population_matrix(tables, moment, config.features)
            writer.write(pd.concat([spine, matrix], axis=1))
    _log_report(report)
    return {"out": str(out), "as_of": str(moment), "rows": writer.rows, "features": len(catalog),
            "data_quality": report.counts}


def report(config: Config, data: str, as_of: str | None, export_path: str, out: str, lang: str | None = None,
           previous_path: str | None = None) -> dict[str, Any]:
    """Write the sales-ops HTML report of the export at ``export_path``: grades, top leads, changes
    since the previous run (history table of ``data``, or the export at ``previous_path``), the
    model's last evaluation, rejects, model version and data freshness."""
    lang = check_language(lang or config.export.lang)
    export = check_export(read_table(export_path), str(export_path))
    if export.empty:
        raise DataError(f"{export_path}: the export holds no scored lead")
    moment = resolve_as_of(as_of) if as_of else export["as_of"].iloc[0]
    if export["as_of"].iloc[0] != moment:
        raise DataError(f"{export_path} holds scores as of {export['as_of'].iloc[0]}, not {moment}: "
                        f"run `leadml score --as-of {moment.isoformat()}` first")
    stem = Path(export_path)
    rejects_file = stem.with_name(f"{stem.stem}.rejects.csv")
    rejects = read_table(rejects_file) if rejects_file.exists() else pd.DataFrame({"lead_id": [], "reason": []})
    manifest_file = stem.with_name(f"{stem.stem}.manifest.json")
    manifest = json.loads(manifest_file.read_text(encoding="utf-8")) if manifest_file.exists() else {}
    if manifest.get("lang", "en") != lang:
        log.warning("the export's reasons are in %r, the report's headings in %r: score with --lang %s for one "
                    "language", manifest.get("lang", "en"), lang, lang)
    with open_source(data) as source:
        data_end = source.data_end()
    if previous_path:
        previous = check_export(read_table(previous_path), str(previous_path))
        if len(previous) and previous["as_of"].iloc[0] >= moment:
            raise DataError(f"{previous_path} holds scores as of {previous['as_of'].iloc[0]}, not before {moment}")
    else:
        previous = previous_scores(data, config.export.history_table, moment)
    version = str(export["model_version"].iloc[0])
    evaluation = latest_evaluation(version, config.tracking)
    content = build_report(export, config.grades, previous[["lead_id", "score", "grade", "as_of"]], rejects,
                           evaluation, horizon_days=config.horizon_days, data_end=data_end,
                           leadml_version=__version__, top=config.report.top_leads, movers=config.report.movers)
    write_text(render_report(content, lang), out)
    return {"out": str(out), "as_of": str(moment), "model_version": content.model_version, "lang": lang,
            "scored": content.scored, "rejected": content.rejected, "new_a": len(content.new_a),
            "movers_up": len(content.up), "movers_down": len(content.down),
            "previous_as_of": None if content.previous_as_of is None else str(content.previous_as_of),
            "evaluation": None if evaluation is None else {"source": evaluation.source, "run_id": evaluation.run_id,
                                                           "cutoff": evaluation.cutoff},
            "data_end": str(data_end)}


def monitor(config: Config, data: str, as_of: str | None, exports: list[str] | None = None,
            out: str | None = None) -> dict[str, Any]:
    """Judge earlier scoring runs whose horizon has passed by ``as_of``: realised conversion per grade
    against the probability promised. Runs come from the history table (``score --write-back``) and
    from earlier exports."""
    moment = resolve_as_of(as_of)
    history = read_history(data, config.export.history_table, moment)
    scores = combine_scores([history if history is not None else pd.DataFrame(),
                             *(read_export(path, SCORE_COLUMNS) for path in exports or [])])
    scores = scores[scores["as_of"] <= moment]
    if scores.empty:
        raise DataError(f"no scoring run as of {moment} or earlier found in table {config.export.history_table} of "
                        f"{redact(data)} or in the given exports: score with --write-back, or pass --exports FILE")
    ids = set(scores["lead_id"])
    with open_source(data) as source:
        observed_until = min(moment, source.data_end())
        opportunities = []
        for raw in _chunks(source, config, "outcomes"):
            found = clean_tables(raw)[0].opportunities
            opportunities.append(found[found["lead_id"].isin(ids) & (found["created_at"] <= moment)])
    report = outcome_report(scores, pd.concat(opportunities, ignore_index=True), config.horizon_days,
                            observed_until, list(config.grades), config.monitoring.outcome_runs)
    for line in report["lines"]:
        log.info("outcomes: %s", line)
    if not report["runs"]:
        log.warning("no scoring run has passed its horizon by %s yet: %d pending", observed_until,
                    len(report["pending"]))
    report = json_safe({"as_of": str(moment), **report})
    run_id = _log_outcomes(config, report) if config.monitoring.mlflow else None
    if out:
        write_json({**report, "monitoring_run_id": run_id}, out)
    return {**report, "monitoring_run_id": run_id, "out": out}


def _log_outcomes(config: Config, report: dict[str, Any]) -> str:
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
                          {"outcomes.json": report}, versions[0] if len(versions) == 1 else None, series)


def retrain(config: Config, data: str, as_of: str | None, out: str | None = None) -> dict[str, Any]:
    """Train a challenger, compare it with the champion on the latest fully observed cutoff, promote by
    the configured rule, and record the decision with its figures (MLflow and a JSON file).

    While the champion is younger than one horizon, every cutoff whose outcomes are known by T was
    seen by the champion's own training: no fair comparison exists, so nothing is trained and the
    decision says so.
    """
    moment = resolve_as_of(as_of)
    configure(config.tracking)
    before = champion_info(config.tracking.registered_model)
    trained_as_of = as_timestamp(before["trained_as_of"]) if before and before["trained_as_of"] else None
    age = (moment - trained_as_of) / pd.Timedelta(days=1) if trained_as_of is not None else None
    record: dict[str, Any] = {"command": "retrain", "as_of": str(moment),
                              "decided_at": str(pd.Timestamp.now(tz="UTC").floor("s")),
                              "rule": config.promotion.model_dump(), "horizon_days": config.horizon_days,
                              "champion_before": before and {**before, "age_days": age}}
    if age is not None and age < config.horizon_days:
        reason = (f"the champion (version {before['version']}) was trained as of {trained_as_of}, {age:.1f} days "
                  f"before {moment}: every cutoff observed by then fed its training, so a fair comparison is "
                  f"possible from {trained_as_of + pd.Timedelta(days=config.horizon_days)}")
        record |= {"outcome": "skipped", "promote": False, "reason": reason, "champion_after": before["version"]}
        with command_run(config.tracking, run_name=f"retrain skipped as of {moment.date()}") as run_id:
            log_results({}, {}, {"command": "retrain", "retrain_outcome": "skipped", "promoted": "False",
                                 "promotion_reason": reason[:5000]}, {"promotion.json": json_safe(record)}, {}, {})
    else:
        trained = train(config, data, as_of)
        promotion, run_id = trained["promotion"], trained["run_id"]
        record |= {"outcome": "promoted" if promotion["promote"] else "kept", "promote": promotion["promote"],
                   "reason": promotion["reason"], "test_cutoff": trained["test_cutoff"],
                   "challenger": {"version": trained["model_version"], "metrics": promotion["challenger"]},
                   "champion": promotion["champion"] and {"version": before and before["version"],
                                                          "age_days": promotion["champion_age_days"],
                                                          "metrics": promotion["champion"]},
                   "champion_after": trained["champion_version"]}
        tag_run(run_id, {"command": "retrain", "retrain_outcome": record["outcome"]})
    record["run_id"] = run_id
    path = Path(out) if out else Path(config.models_dir) / "decisions" / f"retrain-{moment:%Y%m%dT%H%M%SZ}.json"
    write_json(json_safe(record), path)
    log.info("retrain as of %s: %s: %s", moment, record["outcome"], record["reason"])
    return {**record, "decision_file": str(path)}


def models_list(config: Config) -> dict[str, Any]:
    configure(config.tracking)
    return {"model_name": config.tracking.registered_model,
            "versions": list_versions(config.tracking.registered_model)}


def models_promote(config: Config, version: str) -> dict[str, Any]:
    configure(config.tracking)
    name = config.tracking.registered_model
    promote(name, version, "promoted by hand")
    return {"model_name": name, "champion_version": version}


def models_rollback(config: Config) -> dict[str, Any]:
    configure(config.tracking)
    name = config.tracking.registered_model
    previous, current = rollback(name)
    return {"model_name": name, "rolled_back_from": previous, "champion_version": current}


def data_end_day(data: str) -> pd.Timestamp:
    """Return the end of the last day that holds data: the natural as-of moment for a demo."""
    with open_source(data) as source:
        return source.data_end().ceil("D")
