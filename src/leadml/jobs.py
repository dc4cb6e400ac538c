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
from mlflow.exceptions import MlflowException
from tqdm import tqdm

from leadml import __version__, plots
from leadml.clean import CleanReport, DataError, clean_tables
from leadml.config import Config
from leadml.dataset import build_snapshot
from leadml.evaluate import classification_metrics
from leadml.export import ChunkedWriter, file_sha256, matrix_schema, write_json, write_table
from leadml.features import feature_catalog
from leadml.generate import GenerateSpec, generate_chunks
from leadml.model import ModelError
from leadml.promotion import Decision, decide
from leadml.scoring import finalise, population_matrix, score_chunks
from leadml.sources import Source, open_source, write_database
from leadml.spine import as_timestamp, label, training_cutoffs
from leadml.tables import LeadTables
from leadml.tracking import (
    champion_version,
    command_run,
    configure,
    list_versions,
    log_results,
    log_trial,
    promote,
    redact,
    register_model,
    resolve_model,
    rollback,
    save_local_copy,
)
from leadml.train import TrainingResult, fit_model
from leadml.writeback import previous_scores
from leadml.writeback import write_back as write_back_scores

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
            _gate_metrics(result.metrics), champion.get("metrics"), config.promotion)
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
            "data_fingerprint": fingerprint, **result.metrics}


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
    return {"metrics": _gate_metrics(metrics)}


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
          write_back: bool = False, engine: str = "local") -> dict[str, Any]:
    """Score the population at ``as_of``; publish the export, its rejects and a manifest atomically,
    and with ``write_back`` the score tables of the source database in one transaction.

    With ``engine="spark"`` the same pipeline runs per bucket on Spark and ``out`` is its sink.
    """
    if engine == "spark":
        if write_back:
            raise ValueError("--write-back belongs to the local engine: with --engine spark give the database "
                             "as the sink, --out postgresql://...")
        from leadml.spark.jobs import score as spark_score

        return spark_score(config, data, resolve_as_of(as_of), out, model_ref)
    started = time.perf_counter()
    moment = resolve_as_of(as_of)
    model, version = resolve_model(model_ref, config.tracking, Path(config.models_dir))
    catalog = feature_catalog(config.features)
    with open_source(data) as source:
        fingerprint = source.fingerprint()
        result = score_chunks(_chunks(source, config, "scoring"), model, moment, catalog,
                              config.features, config.export.top_reasons, config.export.explainer)
    _log_report(result.report)
    previous = previous_scores(data, config.export.history_table, moment)
    export = finalise(result, config.grades, version, moment, pd.Timestamp.now(tz="UTC").floor("s"), previous)
    scored_seconds = time.perf_counter() - started
    out_path = Path(out)
    rejects_path = out_path.with_name(f"{out_path.stem}.rejects.csv")
    manifest_path = out_path.with_name(f"{out_path.stem}.manifest.json")
    if write_back:  # first: if the database refuses, no file of this run is published either
        write_back_scores(data, export, config.export.scores_table, config.export.history_table, moment, version)
    write_table(result.rejects, rejects_path)
    write_table(export, out_path)
    summary = {"out": str(out_path), "rejects": str(rejects_path), "manifest": str(manifest_path),
               "as_of": str(moment), "model_version": version, "population": len(export) + len(result.rejects),
               "scored": len(export), "rejected": len(result.rejects), "written_back": write_back,
               "grades": {g: int(n) for g, n in export["grade"].value_counts().sort_index().items()}}
    manifest = {**summary, "source": redact(data), "source_fingerprint": fingerprint,
                "leadml_version": __version__, "scored_at": str(export["scored_at"].iloc[0]) if len(export) else None,
                "seconds": {"scoring": round(scored_seconds, 3), "total": round(time.perf_counter() - started, 3)},
                "sha256": {"export": file_sha256(out_path), "rejects": file_sha256(rejects_path)},
                "data_quality": result.report.counts}
    write_json(manifest, manifest_path)
    return summary


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
    with command_run(config.tracking, run_name=f"evaluate {version} as of {moment.date()}") as run_id:
        log_results({"command": "evaluate", "as_of": moment, "model_version": version, "data": redact(data),
                     "horizon_days": config.horizon_days}, metrics,
                    {"command": "evaluate", "outcomes_seen_in_training": str(seen), "leadml_version": __version__},
                    {}, {}, {})
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


def models_list(config: Config) -> dict[str, Any]:
    configure(config.tracking)
    return {"model_name": config.tracking.registered_model,
            "versions": list_versions(config.tracking.registered_model)}


def models_promote(config: Config, version: str) -> dict[str, Any]:
    configure(config.tracking)
    name = config.tracking.registered_model
    try:
        promote(name, version, "promoted by hand")
    except MlflowException:
        raise ModelError(f"model {name} has no version {version}") from None
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
