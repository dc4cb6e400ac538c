"""leadml train: snapshots at the training cutoffs, the fit against baselines, the MLflow run, the
registry, and promotion to champion when the challenger beats the current one on the same test rows."""

from __future__ import annotations

import importlib
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, replace
from typing import TYPE_CHECKING, Any

import pandas as pd

from leadml import __version__
from leadml.app.steps import (
    git_commit,
    load_model,
    log_data_quality,
    log_promotion,
    open_data,
    register_and_promote,
    source_accounts,
    source_chunks,
    spark_reads_contract,
    without_lift,
)
from leadml.config import Config, TrackingConfig
from leadml.data.clean import CleanReport
from leadml.data.sources import redact_location as redact
from leadml.features.spine import as_timestamp, training_cutoffs
from leadml.modeling.evaluation import classification_metrics
from leadml.modeling.lead_model import ModelError
from leadml.modeling.leakage import dominance_warnings
from leadml.modeling.promotion import Decision, decide
from leadml.modeling.snapshots import Snapshot, build_snapshot
from leadml.modeling.verdict import EXIT_NO_LIFT, Verdict, lift_verdict

if TYPE_CHECKING:
    from leadml.modeling.training import TrainingResult

log = logging.getLogger("leadml")
FIT_AND_LOG_MODULES = ("leadml.modeling.training", "leadml.reporting.plots", "leadml.tracking.runs",
                       "leadml.tracking.registry")  # LightGBM, scikit-learn, matplotlib, MLflow


def train(config: Config, data: str, *, as_of: pd.Timestamp, tune_trials: int = 0,
          engine: str = "local") -> dict[str, Any]:
    """Build snapshots at the cutoffs before ``as_of``, fit, calibrate and evaluate against baselines; log
    the run to MLflow, register the model as challenger and promote it to champion if it passes the gate.

    With ``engine="spark"`` the snapshots are built on Spark; the fit stays here, on the driver.
    """
    cutoffs = training_cutoffs(as_of, config.horizon_days, config.training.cutoffs.count,
                               config.training.cutoffs.frequency)
    report = CleanReport()
    started = time.perf_counter()
    snapshot, fingerprint = _snapshot_beside_warm_up(config, data, cutoffs=cutoffs, as_of=as_of, report=report,
                                                     engine=engine)
    features_seconds = round(time.perf_counter() - started, 3)
    from leadml.modeling.training import fit_model
    from leadml.tracking.registry import champion_version
    from leadml.tracking.runs import command_run, log_results, log_trial

    with command_run(config.tracking) as run_id:
        result = fit_model(snapshot, cutoffs, config, as_of, tune_trials=tune_trials, on_trial=log_trial)
        started = time.perf_counter()
        champion = _champion_on(result, config)
        result.metrics |= {"seconds_features": features_seconds,
                           "seconds_champion_comparison": round(time.perf_counter() - started, 3)}
        started = time.perf_counter()
        log_results(_train_params(config, data, as_of=as_of, cutoffs=cutoffs, result=result,
                                  fingerprint=fingerprint, tune_trials=tune_trials),
                    result.metrics, {"leadml_version": __version__, "git_commit": git_commit()},
                    {"data_quality.json": report.counts, "cutoffs.json": {k: [str(c) for c in v]
                                                                          for k, v in cutoffs.items()},
                     **({"mapping.json": config.mapping.model_dump()} if config.mapping is not None else {})},
                    tables={**result.tables, "slices": result.slices, "importance": result.importance},
                    figures=_figures(result), dataset=snapshot.features.head(100_000))
        verdict = lift_verdict(result.metrics, ("logistic", "points"),
                               min_conversions=config.evaluation.min_conversions)
        effects = result.tables["feature_dominance"]
        verdict = replace(verdict, warnings=(*verdict.warnings,
                                             *dominance_warnings(effects, config.training.dominance_share)))
        decision = _decision(result, champion, verdict, config)
        registered, local = register_and_promote(result.model, example=snapshot.features.head(50),
                                                 decision=decision, verdict=verdict, config=config, run_id=run_id)
        seconds = round(time.perf_counter() - started, 3)
        result.metrics["seconds_mlflow_logging_and_registry"] = seconds
        log_promotion(decision, {"seconds_mlflow_logging_and_registry": seconds}, {"promotion.json": asdict(decision)})
    for warning in verdict.warnings:
        log.warning("%s", warning)
    log.info("trained %s version %s: %s; %s: %s", registered["model_name"], registered["model_version"],
             verdict.sentence, "champion" if decision.promote else "not champion", decision.reason)
    return {"as_of": str(as_of), **registered, "run_id": run_id, "local_model": str(local),
            "tracking_uri": redact(config.tracking.uri), "experiment": config.tracking.experiment,
            "promoted": decision.promote, "promotion_reason": decision.reason,
            "champion_version": champion_version(registered["model_name"]), "verdict": verdict.as_dict(),
            "exit_code": 0 if decision.lift else EXIT_NO_LIFT, "data_fingerprint": fingerprint,
            "promotion": asdict(decision), "test_cutoff": str(cutoffs["holdout"][0]),
            "feature_dominance": effects.to_dict("records"), **result.metrics}


def _snapshot_beside_warm_up(config: Config, data: str, *, cutoffs: dict[str, list[pd.Timestamp]],
                             as_of: pd.Timestamp, report: CleanReport, engine: str) -> tuple[Snapshot, str]:
    """The snapshot and the data's fingerprint (see ``_snapshot``), built while ``_warm_up`` runs on a thread."""
    pool = ThreadPoolExecutor(1, thread_name_prefix="leadml-warm-up")
    warmed = pool.submit(_warm_up, config.tracking)
    try:
        built = _snapshot(config, data, cutoffs=cutoffs, as_of=as_of, report=report, engine=engine)
    finally:
        pool.shutdown(wait=False)  # a data error is told at once, not once the tracking store has answered
    log_data_quality(report)
    warmed.result()
    return built


def _warm_up(tracking: TrackingConfig) -> None:
    """Import the libraries of the fit and the run, and open the tracking store, beside the snapshot: about 4 s
    in turn, they delayed the fit by about 3 s on a thread (100,000 leads, 2 cores the snapshot mostly keeps busy)."""
    for module in FIT_AND_LOG_MODULES:
        importlib.import_module(module)
    from leadml.tracking.store import configure

    configure(tracking)


def _decision(result: TrainingResult, champion: dict[str, Any], verdict: Verdict, config: Config) -> Decision:
    """The promotion decision: no lift, no champion; else the champion gate on the same test rows."""
    decision = champion["decision"] if "decision" in champion else decide(
        _gate_metrics(result.metrics), champion.get("metrics"), config.promotion, champion.get("age_days"))
    return without_lift(decision, verdict, config)


def _snapshot(config: Config, data: str, *, cutoffs: dict[str, list[pd.Timestamp]], as_of: pd.Timestamp,
              report: CleanReport, engine: str) -> tuple[Snapshot, str]:
    """Build the training snapshot at every cutoff (locally or on Spark) and fingerprint the data."""
    every_cutoff = [c for v in cutoffs.values() for c in v]
    if engine == "spark":
        spark_reads_contract(config)
        from leadml.spark.jobs import snapshot as spark_snapshot

        return spark_snapshot(config, data, cutoffs=every_cutoff, known_at=as_of, report=report)
    with open_data(config, data) as source:
        source_accounts(source, report)
        fingerprint = source.fingerprint()
        snapshot = build_snapshot(source_chunks(source, config, "features"), every_cutoff, as_of,
                                  horizon_days=config.horizon_days, settings=config.features, report=report)
    return snapshot, fingerprint


def _gate_metrics(metrics: dict[str, float]) -> dict[str, float]:
    return {k: metrics[k] for k in ("roc_auc", "pr_auc", "brier") if k in metrics}


def _champion_on(result: TrainingResult, config: Config) -> dict[str, Any]:
    """Score the current champion on the challenger's test rows, for the promotion gate."""
    from leadml.tracking.registry import champion_version

    version = champion_version(config.tracking.registered_model)
    if version is None:
        return {}
    try:
        model, _ = load_model(config, None)
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


def _train_params(config: Config, data: str, *, as_of: pd.Timestamp, cutoffs: dict, result: TrainingResult,
                  fingerprint: str, tune_trials: int) -> dict[str, Any]:
    """The run's parameters: the whole config (locations redacted), the data, the cutoffs and the features."""
    settings = json.loads(config.model_dump_json(exclude={"mapping": True, "features": {"lead_columns"}}))  # a
    # mapping's keys (and the lead columns it makes features) are the user's column
    flat = pd.json_normalize(settings, sep=".").iloc[0].to_dict()     # names, which MLflow may refuse: mapping.json
    flat["data.source"] = redact(str(flat.get("data.source", "")))
    flat["tracking.uri"] = redact(str(flat.get("tracking.uri", "")))
    return {**{f"config.{k}": v for k, v in flat.items()}, "as_of": as_of, "data": redact(data),
            "data_fingerprint": fingerprint, "cutoffs_train": ",".join(str(c.date()) for c in cutoffs["train"]),
            "cutoff_validation": str(cutoffs["validation"][0].date()),
            "cutoff_holdout": str(cutoffs["holdout"][0].date()), "n_features": len(result.model.spec.names),
            "features": ",".join(result.model.spec.names), "tune_trials": tune_trials,
            **{f"tuned.{k}": v for k, v in result.model.info.get("tuned_params", {}).items()}}


def _figures(result: TrainingResult) -> dict[str, Any]:
    """The run's plots: ROC, precision-recall, calibration, gain, importance and the score distribution."""
    from leadml.reporting import plots

    y = result.test.labels.to_numpy()
    ranked = {name: p for name, p in result.probabilities.items() if name != "constant"}
    return {"roc": plots.roc_figure(y, ranked), "pr": plots.pr_figure(y, ranked),
            "calibration": plots.calibration_figure(y, result.uncalibrated, result.probabilities["model"]),
            "gain": plots.gain_figure(y, ranked), "importance": plots.importance_figure(result.importance),
            "score_distribution": plots.score_distribution_figure(y, result.probabilities["model"])}
