"""The jobs behind the commands: each wires sources, pipelines, the model and outputs together.

Every job takes a resolved ``Config`` and explicit arguments, does its I/O at the edges and
returns a plain dict (paths, counts, metrics) that the CLI prints or emits as JSON.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
from tqdm import tqdm

from leadml import __version__
from leadml.clean import CleanReport, DataError, clean_tables
from leadml.config import Config
from leadml.dataset import build_snapshot
from leadml.evaluate import classification_metrics
from leadml.export import ChunkedWriter, write_table
from leadml.features import feature_catalog
from leadml.generate import GenerateSpec, generate_chunks
from leadml.scoring import finalise, population_matrix, score_chunks
from leadml.sources import Source, write_database
from leadml.spine import as_timestamp, label, training_cutoffs
from leadml.tables import LeadTables
from leadml.tracking import log_trained_model, redact, resolve_model
from leadml.train import fit_model

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
    with Source(out) as source:
        counts = {t: source.table_rows(t) for t in ("leads", "activities", "opportunities")}
    return {"out": str(out), "seed": seed, "data_end": str(spec.end), **{f"{k}_rows": v for k, v in counts.items()}}


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                              check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def train(config: Config, data: str, as_of: str | None) -> dict[str, Any]:
    """Build snapshots at the cutoffs, fit and calibrate, log to MLflow and register the model."""
    known_at = resolve_as_of(as_of)
    cutoffs = training_cutoffs(known_at, config.horizon_days, config.training.cutoffs.count,
                               config.training.cutoffs.frequency)
    report = CleanReport()
    with Source(data) as source:
        snapshot = build_snapshot(_chunks(source, config, "features"), [c for v in cutoffs.values() for c in v],
                                  known_at, config.horizon_days, config.features, report)
    _log_report(report)
    model, metrics = fit_model(snapshot, cutoffs, config, known_at)
    params = {"as_of": known_at, "data": redact(data), "horizon_days": config.horizon_days,
              "cutoffs_train": ",".join(str(c.date()) for c in cutoffs["train"]),
              "cutoff_validation": str(cutoffs["validation"][0].date()),
              "cutoff_holdout": str(cutoffs["holdout"][0].date()), "n_features": len(model.spec.names),
              "calibration": config.model.calibration, "leakage_max_auc": config.training.leakage_max_auc,
              "leakage_allow": ",".join(config.training.leakage_allow) or "none",
              **{f"lgb_{k}": v for k, v in config.model.params.items()}}
    tags = {"leadml_version": __version__, "git_commit": _git_commit()}
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = model.save(Path(tmp) / "model")
        registered = log_trained_model(model, model_dir, snapshot.features.head(50), config.tracking, params,
                                       metrics, tags, {"data_quality.json": report.counts})
        local = Path(config.models_dir) / f"{registered['model_name']}-v{registered['model_version']}"
        shutil.rmtree(local, ignore_errors=True)
        shutil.copytree(model_dir, local)
    log.info("trained %s version %s: ROC AUC %.3f, PR AUC %.3f on the held-out cutoff",
             registered["model_name"], registered["model_version"], metrics.get("roc_auc", float("nan")),
             metrics.get("pr_auc", float("nan")))
    return {"as_of": str(known_at), **registered, "local_model": str(local),
            "tracking_uri": redact(config.tracking.uri), **metrics}


def score(config: Config, data: str, as_of: str | None, out: str, model_ref: str | None) -> dict[str, Any]:
    """Score the population at ``as_of`` and write the export and the rejects file."""
    moment = resolve_as_of(as_of)
    model, version = resolve_model(model_ref, config.tracking, Path(config.models_dir))
    catalog = feature_catalog(config.features)
    with Source(data) as source:
        result = score_chunks(_chunks(source, config, "scoring"), model, moment, catalog,
                              config.features, config.export.top_reasons)
    _log_report(result.report)
    export = finalise(result, config.grades, version, moment, pd.Timestamp.now(tz="UTC").floor("s"))
    out_path = Path(out)
    rejects_path = out_path.with_name(f"{out_path.stem}.rejects.csv")
    write_table(result.rejects, rejects_path)
    write_table(export, out_path)
    return {"out": str(out_path), "rejects": str(rejects_path), "as_of": str(moment), "model_version": version,
            "population": len(export) + len(result.rejects), "scored": len(export),
            "rejected": len(result.rejects),
            "grades": {g: int(n) for g, n in export["grade"].value_counts().sort_index().items()}}


def evaluate(config: Config, data: str, as_of: str | None, model_ref: str | None) -> dict[str, Any]:
    """Score the population at ``as_of`` and measure it against conversions in the horizon after it."""
    moment = resolve_as_of(as_of)
    ys, ps = [], []
    with Source(data) as source:
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
    return {"as_of": str(moment), "model_version": version, "horizon_days": config.horizon_days,
            "model_trained_as_of": trained_as_of, "outcomes_seen_in_training": seen, **metrics}


def features(config: Config, data: str, as_of: str | None, out: str) -> dict[str, Any]:
    """Write the feature matrix of the population at ``as_of`` (one row per lead), chunk by chunk."""
    moment = resolve_as_of(as_of)
    catalog = feature_catalog(config.features)
    schema = pa.schema([("lead_id", pa.string()), ("as_of", pa.timestamp("us", tz="UTC"))]
                       + [(f.name, pa.string() if f.kind == "categorical" else pa.float64()) for f in catalog])
    report = CleanReport()
    with Source(data) as source, ChunkedWriter(out, schema) as writer:
        for raw in _chunks(source, config, "features"):
            tables, _, chunk_report = clean_tables(raw)
            report.merge(chunk_report)
            spine, matrix = population_matrix(tables, moment, config.features)
            writer.write(pd.concat([spine, matrix], axis=1))
    _log_report(report)
    return {"out": str(out), "as_of": str(moment), "rows": writer.rows, "features": len(catalog),
            "data_quality": report.counts}


def data_end_day(data: str) -> pd.Timestamp:
    """Return the end of the last day that holds data: the natural as-of moment for a demo."""
    with Source(data) as source:
        return source.data_end().ceil("D")
