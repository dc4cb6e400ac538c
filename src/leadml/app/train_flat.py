"""Train on a flat lead export: map, clean, cross-validate against baselines, show the leak, log, register.

The job behind ``leadml train`` when the config has ``mapping: {layout: flat}``. It reads the file
(the only I/O besides MLflow), maps it with ``mapping.map_flat``, cross-validates the model and its
baselines on the same folds, repeats that with the excluded columns put back in a nested run so the
leak is visible side by side, fits the final model on every row and registers it.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from leadml import __version__
from leadml.app.flat_steps import flat_mapping, read_flat
from leadml.app.steps import log_promotion, register_and_promote, without_lift
from leadml.config import Config
from leadml.data.clean import DataError
from leadml.data.sources import redact_location as redact
from leadml.features.flat_export import ExtremeClipper, MappedLeads, feature_name, map_flat
from leadml.modeling.cross_validation import (
    CrossValidation,
    Folds,
    cross_validate,
    fit_final,
    fold_scheme_gap,
    make_folds,
    refit_without,
    stratified_beside,
)
from leadml.modeling.evaluation import classification_metrics, margin_intervals, with_intervals
from leadml.modeling.lead_model import LeadModel
from leadml.modeling.leakage import check_leakage, column_effects, dominance_warnings, single_feature_auc
from leadml.modeling.profile import training_profile
from leadml.modeling.promotion import Decision, decide
from leadml.modeling.training import InsufficientDataError
from leadml.modeling.verdict import EXIT_NO_LIFT, Verdict, lift_verdict
from leadml.reporting import plots
from leadml.reporting.export import file_sha256
from leadml.tracking.registry import champion_run, champion_version
from leadml.tracking.runs import command_run, log_results, log_text, nested_run

log = logging.getLogger("leadml")
FLAT_BASELINES = ("logistic", "lightgbm_defaults")
SCORER_NAMES = {"model": "leadml (LightGBM, early-stopped)", "logistic": "logistic regression, one-hot",
                "lightgbm_defaults": "LightGBM, library defaults", "constant": "base rate"}


def _cv_signature(leads: MappedLeads, folds: Folds) -> str:
    """A digest of the rows and their fold: equal digests, comparable cross-validated figures."""
    fold_of = np.zeros(len(leads.labels), dtype="int64")
    for number, fold in enumerate(folds.folds, start=1):
        fold_of[fold.test] = number
    text = "\n".join(f"{i}\t{y}\t{f}" for i, y, f in zip(leads.lead_id, leads.labels, fold_of, strict=True))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _probe(leads: MappedLeads, folds: Folds) -> pd.Series:
    """Each feature's own ROC AUC on the first fold's test rows, target rates learned on its training rows."""
    fold = folds.folds[0]
    x, y = leads.features, leads.labels
    return single_feature_auc(x.iloc[fold.train], y.iloc[fold.train], x.iloc[fold.test], y.iloc[fold.test],
                              categorical=leads.categorical)


def _gate(metrics: dict[str, float], signature: str, config: Config) -> Decision:
    """Promote when there is no champion, or when it was cross-validated on the same rows and folds and loses."""
    mine = {k: metrics[k] for k in ("roc_auc", "pr_auc", "brier")}
    champion = champion_run(config.tracking.registered_model)
    if champion is None:
        return decide(mine, None, config.promotion)
    params, theirs = champion
    if params.get("cv_signature") != signature or not all(k in theirs for k in mine):
        return Decision(False, "the champion was not cross-validated on the same rows and folds, so the figures "
                        "do not compare; promote by hand with `leadml models promote`", mine, None)
    return decide(mine, {k: theirs[k] for k in mine}, config.promotion)


def _comparison(honest: dict[str, float], leaky: dict[str, float] | None) -> pd.DataFrame:
    rows = []
    for scorer, label in SCORER_NAMES.items():
        prefix = "" if scorer == "model" else f"{scorer}_"
        row = {"scorer": label, "roc_auc": honest[f"{prefix}roc_auc"], "roc_auc_std": honest[f"{prefix}roc_auc_std"],
               "pr_auc": honest[f"{prefix}pr_auc"], "pr_auc_std": honest[f"{prefix}pr_auc_std"]}
        if leaky is not None:
            row |= {"with_excluded_roc_auc": leaky[f"{prefix}roc_auc"],
                    "with_excluded_pr_auc": leaky[f"{prefix}pr_auc"]}
        rows.append(row)
    return pd.DataFrame(rows)


def report_markdown(leads: MappedLeads, folds: Folds, table: pd.DataFrame, leaky_probe: pd.Series | None) -> str:
    """Return the human report: how it was evaluated, the side-by-side figures, exclusions and cleaning."""
    lines = [f"# Cross-validated on {len(leads.labels):,} leads ({int(leads.labels.sum()):,} conversions)", "",
             f"Evaluation: {folds.describe()}", "", "Mean over folds (± standard deviation across folds):", ""]
    leaky = "with_excluded_roc_auc" in table
    header = "| scorer | ROC AUC | PR AUC |" + (" ROC AUC with excluded columns | PR AUC with excluded columns |"
                                               if leaky else "")
    lines += [header, "|---" * (5 if leaky else 3) + "|"]
    for row in table.itertuples():
        cells = [row.scorer, f"{row.roc_auc:.3f} ± {row.roc_auc_std:.3f}", f"{row.pr_auc:.3f} ± {row.pr_auc_std:.3f}"]
        if leaky:
            cells += [f"{row.with_excluded_roc_auc:.3f}", f"{row.with_excluded_pr_auc:.3f}"]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Excluded columns (known only after the outcome; never features of the model):", ""]
    for column, reason in leads.excluded.items():
        alone = ""
        if leaky_probe is not None and pd.notna(leaky_probe.get(column)):
            alone = f" Alone it reaches ROC AUC {leaky_probe[column]:.3f}."
        lines.append(f"- `{column}`: {reason}.{alone}")
    if leads.ignored:
        lines += ["", "Not mapped, never read: " + ", ".join(f"`{c}`" for c in leads.ignored)]
    lines += ["", "Data quality (what cleaning changed):", ""]
    lines += [f"- {key}: {n:,}" for key, n in leads.report.counts.items()] or ["- nothing"]
    return "\n".join(lines) + "\n"


@dataclass
class FlatEvaluation:
    """Everything measured on a flat export: the honest run, the leaky comparison and the final model."""

    leads: MappedLeads
    folds: Folds
    honest: CrossValidation
    metrics: dict[str, float]
    probe: pd.Series
    model: LeadModel
    comparison: pd.DataFrame
    report: str
    effects: pd.DataFrame  # the most important features' own ROC AUC and drop-column effect
    leaky: CrossValidation | None = None
    leaky_metrics: dict[str, float] | None = None
    leaky_probe: pd.Series | None = None


def _leaky_run(config: Config, raw: pd.DataFrame, converted: pd.Series | None, *, table: str, honest: MappedLeads,
               folds: Folds) -> tuple[CrossValidation, dict[str, float], pd.Series] | None:
    """Cross-validate again with the excluded columns as features, on the same rows and folds."""
    mapping = config.mapping
    if not mapping.compare_excluded or not mapping.exclude:
        return None
    leaky = map_flat(raw, mapping, converted, include_excluded=True, table=table)
    if not leaky.lead_id.equals(honest.lead_id):
        raise DataError(f"table {table}: the excluded columns changed which rows are kept; cannot compare")
    result = cross_validate(leaky, folds, config, mapping.outlier_fence)
    probe = _probe(leaky, folds)
    alone = pd.Series({c: probe.get(feature_name(c), float("nan")) for c in mapping.exclude}, dtype="float64")
    return result, result.summary(), alone


def evaluate_flat(config: Config, raw: pd.DataFrame, converted: pd.Series | None, table: str) -> FlatEvaluation:
    """Map and clean the export, cross-validate model and baselines, measure the leak, fit the final model."""
    mapping = config.mapping
    leads = map_flat(raw, mapping, converted, table=table)
    if int(leads.labels.sum()) < config.training.min_positives:
        raise InsufficientDataError(f"table {table}: {int(leads.labels.sum())} conversions; at least "
                                    f"{config.training.min_positives} are needed (training.min_positives)")
    folds = make_folds(leads, mapping.cv_folds, config.training.seed)
    probe = _probe(leads, folds)
    check_leakage(probe, config.training.leakage_max_auc, config.training.leakage_allow)
    honest = cross_validate(leads, folds, config, mapping.outlier_fence)
    signature = _cv_signature(leads, folds)
    model = fit_final(leads, honest, config, fence=mapping.outlier_fence,
                      info={"layout": "flat", "evaluation": folds.kind, "cv_signature": signature})
    y, tested = leads.labels.to_numpy(), ~np.isnan(honest.scores["model"])
    calibrated = model.calibrator.predict(honest.scores["model"][tested])
    model.profile = training_profile(leads.features.iloc[np.flatnonzero(tested)], model.spec, calibrated, y[tested],
                                     grades=config.grades)  # the out-of-fold population, for drift when scoring
    metrics = honest.summary() | pooled_intervals(honest, y, tested, config, calibrated=calibrated)
    metrics |= {"brier": metrics["oof_brier"], "leads": float(len(y)), "conversions": float(y.sum()),
                "rejected_rows": float(len(leads.rejects)), "n_features": float(leads.features.shape[1]),
                "max_single_feature_auc": float(probe.max()), "num_boost_round": float(model.info["num_boost_round"])}
    effects = _dominance(leads, honest, model, folds=folds, probe=probe, config=config, full_auc=metrics["roc_auc"])
    if folds.kind == "time":  # the figure beside the one stratified folds give: a gap says the scheme matters
        metrics |= stratified_beside(leads, folds, config, fence=mapping.outlier_fence)
    numeric = [c for c in leads.features if c not in leads.categorical]
    clipper = ExtremeClipper(mapping.outlier_fence).fit(leads.features, numeric)
    for name, n in clipper.outside(leads.features).items():
        low, high = clipper.bounds_[name]
        leads.report.add(f"{name}: extreme values, clipped to [{low:g}, {high:g}] (bounds are learned on each "
                         "training fold)", n)
    leaky = _leaky_run(config, raw, converted, table=table, honest=leads, folds=folds)
    comparison = _comparison(metrics, leaky[1] if leaky else None)
    report = report_markdown(leads, folds, comparison, leaky[2] if leaky else None)
    return FlatEvaluation(leads, folds, honest, metrics, probe, model, comparison, report, effects,
                          *(leaky if leaky else (None, None, None)))


def _dominance(leads: MappedLeads, honest: CrossValidation, model: LeadModel, *, folds: Folds, probe: pd.Series,
               config: Config, full_auc: float) -> pd.DataFrame:
    """The most important features' own ROC AUC and drop-column effect (``training.dominance_columns``)."""
    gain = pd.Series(model.booster.feature_importance("gain"), index=model.spec.names)
    top = gain.sort_values(ascending=False).index[: config.training.dominance_columns].tolist()
    without = refit_without(leads, folds, honest, config, fence=config.mapping.outlier_fence, columns=top)
    return column_effects(probe, full_auc, without)


def pooled_intervals(honest: CrossValidation, y: np.ndarray, tested: np.ndarray, config: Config, *,
                     calibrated: np.ndarray) -> dict[str, float]:
    """Over every tested lead, pooled: the model's (``calibrated``) top-decile lift and its ROC AUC, PR AUC and
    lift intervals, and its paired margins over the baselines (``oof_`` figures, for the verdict)."""
    resamples, seed = config.evaluation.bootstrap_resamples, config.training.seed
    y = y[tested]
    metrics = with_intervals(classification_metrics(y, calibrated, prefix="oof_"), y, calibrated, prefix="oof_",
                             resamples=resamples, seed=seed)
    baselines = {name: honest.scores[name][tested] for name in FLAT_BASELINES}  # decision values: ranks only
    for name, scores in baselines.items():
        metrics[f"oof_{name}_roc_auc"] = float(roc_auc_score(y, scores))
    for (name, metric), (low, high) in margin_intervals(y, calibrated, baselines, resamples=resamples,
                                                         seed=seed).items():
        if metric == "roc_auc":
            key = f"oof_margin_roc_auc_vs_{name}"
            metrics |= {key: metrics["oof_roc_auc"] - metrics[f"oof_{name}_roc_auc"], f"{key}_ci_low": low,
                        f"{key}_ci_high": high}
    return metrics


def flat_verdict(metrics: dict[str, float], config: Config, effects: pd.DataFrame) -> Verdict:
    """The verdict on the pooled out-of-fold figures, warning of any feature that carries the model."""
    pooled = {k[len("oof_"):]: v for k, v in metrics.items() if k.startswith("oof_")}
    verdict = lift_verdict(pooled, FLAT_BASELINES, min_conversions=config.evaluation.min_conversions,
                           what="leads out of fold")
    gap = fold_scheme_gap(metrics, config.mapping.cv_folds)
    return replace(verdict, warnings=(*verdict.warnings, *dominance_warnings(effects, config.training.dominance_share),
                                      *([gap] if gap else [])))


def _figures(evaluation: FlatEvaluation) -> dict[str, Any]:
    y = evaluation.leads.labels.to_numpy()
    tested = ~np.isnan(evaluation.honest.scores["model"])
    ranked = {SCORER_NAMES[k]: v[tested] for k, v in evaluation.honest.scores.items() if k != "constant"}
    figures = {"roc": plots.roc_figure(y[tested], ranked, "ROC curve, out of fold"),
               "pr": plots.pr_figure(y[tested], ranked, "Precision-recall, out of fold"),
               "gain": plots.gain_figure(y[tested], ranked)}
    if evaluation.leaky is not None:
        both = {"leadml, honest": evaluation.honest.scores["model"][tested],
                "leadml with the excluded columns": evaluation.leaky.scores["model"][tested]}
        figures["leak_roc"] = plots.roc_figure(y[tested], both, "The leak: ROC out of fold, with and without")
    model, features = evaluation.model, evaluation.leads.features
    contributions = model.contributions(features.head(20_000)).drop(columns="base")
    importance = pd.DataFrame({"gain": model.booster.feature_importance("gain"),
                               "mean_abs_contribution": contributions.abs().mean().to_numpy()},
                              index=model.spec.names)
    figures["importance"] = plots.importance_figure(importance)
    return figures


def train_flat(config: Config, data: str, *, as_of_given: bool = False, tune_trials: int = 0) -> dict[str, Any]:
    """Evaluate the flat export, log the honest run and the leaky comparison to MLflow, register the model.

    A flat export has no history to cut at a moment and no tuning yet: ``--as-of`` and ``--tune`` are refused.
    """
    if as_of_given:
        raise ValueError("--as-of does not apply to a flat export: it has no history to cut at a moment "
                         "(map a creation date to created_at and the folds split by time)")
    if tune_trials:
        raise ValueError("--tune is not available for flat exports yet: set model.params in the config")
    mapping = flat_mapping(config)
    raw, converted, table = read_flat(data, mapping)
    evaluation = evaluate_flat(config, raw, converted, table)
    leads, metrics = evaluation.leads, evaluation.metrics
    for key, n in leads.report.counts.items():
        log.warning("data: %s: %d", key, n)
    fingerprint = file_sha256(Path(data) / mapping.leads if Path(data).is_dir() else Path(data))[:16]
    signature = evaluation.model.info["cv_signature"]
    evaluation.model.info["data_fingerprint"] = fingerprint  # `leadml evaluate` tells a file the model trained on
    with command_run(config.tracking, run_name=f"{table}: flat cross-validation") as run_id:
        _log_evaluation(config, evaluation, data=data, fingerprint=fingerprint, table=table)
        verdict = flat_verdict(metrics, config, evaluation.effects)
        decision = without_lift(_gate(metrics, signature, config), verdict, config)
        registered, local = register_and_promote(evaluation.model, example=leads.features.head(50),
                                                 decision=decision, verdict=verdict, config=config, run_id=run_id)
        log_promotion(decision)
    log.info("cross-validated %s: ROC AUC %.3f, PR AUC %.3f (logistic %.3f, LightGBM defaults %.3f); %s", table,
             metrics["roc_auc"], metrics["pr_auc"], metrics["logistic_roc_auc"], metrics["lightgbm_defaults_roc_auc"],
             verdict.sentence)
    for warning in verdict.warnings:
        log.warning("%s", warning)
    result = {"layout": "flat", "evaluation": evaluation.folds.describe(), "as_of_semantics": False, **registered,
              "run_id": run_id, "local_model": str(local), "tracking_uri": redact(config.tracking.uri),
              "promoted": decision.promote, "promotion_reason": decision.reason,
              "champion_version": champion_version(registered["model_name"]), "data_fingerprint": fingerprint,
              "verdict": verdict.as_dict(), "exit_code": 0 if decision.lift else EXIT_NO_LIFT,
              "feature_dominance": evaluation.effects.to_dict("records"),
              "experiment": config.tracking.experiment,
              "excluded_columns": list(mapping.exclude), "data_quality": leads.report.counts, **metrics}
    if evaluation.leaky_metrics is not None:
        result |= {f"with_excluded_{k}": v for k, v in evaluation.leaky_metrics.items() if not k.startswith("margin")}
    return result | {"report": evaluation.report}


def _log_evaluation(config: Config, evaluation: FlatEvaluation, *, data: str, fingerprint: str, table: str) -> None:
    """Log the honest cross-validation to the active run, and the leaky comparison as a nested run."""
    leads, mapping, signature = evaluation.leads, config.mapping, evaluation.model.info["cv_signature"]
    params = {"layout": "flat", "data": redact(data), "data_fingerprint": fingerprint, "cv_signature": signature,
              "evaluation": evaluation.folds.describe(), "cv_folds": len(evaluation.folds.folds),
              "fold_kind": evaluation.folds.kind, "features": ",".join(leads.features.columns),
              "excluded_columns": ",".join(mapping.exclude), "seed": config.training.seed,
              **{f"model.params.{k}": v for k, v in config.model.params.items()}}
    log_results(params, evaluation.metrics, {"leadml_version": __version__, "as_of_semantics": "false",
                                             "leaky": "false"},
                {"data_quality.json": leads.report.counts, "exclusions.json": leads.excluded,
                 "ignored_columns.json": {"ignored": leads.ignored}},
                tables={"comparison": evaluation.comparison.set_index("scorer"),
                        "fold_metrics": evaluation.honest.fold_metrics,
                        "single_feature_auc": evaluation.probe.rename("roc_auc").to_frame(), "rejects": leads.rejects,
                        "feature_dominance": evaluation.effects.set_index("feature")},
                figures=_figures(evaluation), dataset=leads.features, dataset_name="flat leads")
    log_text(evaluation.report, "report.md")
    if evaluation.leaky is not None:
        with nested_run(f"{table}: with the excluded columns (leaky, not for use)"):
            log_results({"layout": "flat", "cv_signature": signature, "included_columns": ",".join(mapping.exclude)},
                        evaluation.leaky_metrics, {"leaky": "true", "as_of_semantics": "false"}, {},
                        tables={"fold_metrics": evaluation.leaky.fold_metrics,
                                "single_feature_auc": evaluation.leaky_probe.rename("roc_auc").to_frame()},
                        figures={})
