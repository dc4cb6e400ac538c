"""What train, evaluate and retrain print at the end: a short table a data scientist reads at a glance
(the model beside its baselines, 95% intervals, the sample, the verdict) and where the MLflow run is.
``--json`` keeps every figure; this is only the reading of it."""

from __future__ import annotations

import math
from typing import Any

from leadml.modeling.verdict import BASELINE_NAMES, interval

COLUMNS = (("ROC AUC", "roc_auc", 3), ("PR AUC", "pr_auc", 3), ("top-10% lift", "lift_top10", 2))


def figures_table(result: dict[str, Any], scorers: dict[str, str]) -> list[str]:
    """Rows of scorer name and ROC AUC, PR AUC and top-decile lift (with intervals where measured)."""
    width = max(len(name) for name in scorers.values())
    lines = [f"  {'':<{width}}  " + "  ".join(f"{title:<22}" for title, _, _ in COLUMNS).rstrip()]
    for prefix, name in scorers.items():
        cells = []
        for _, key, digits in COLUMNS:
            value = result.get(f"{prefix}{key}", math.nan)
            cells.append("-" if value is None or math.isnan(value) else interval(
                {k[len(prefix):]: v for k, v in result.items() if k.startswith(f"{prefix}{key}")}, key, digits))
        lines.append(f"  {name:<{width}}  " + "  ".join(f"{cell:<22}" for cell in cells).rstrip())
    return lines


def _run_line(result: dict[str, Any]) -> str:
    where = f" in experiment {result['experiment']}" if result.get("experiment") else ""
    return f"MLflow run {result.get('run_id')}{where} ({result.get('tracking_uri', 'the configured store')})"


def train_summary(result: dict[str, Any]) -> str:
    """The end of ``leadml train`` on the contract's tables."""
    scorers = {"": "leadml (LightGBM)", **{f"{b}_": BASELINE_NAMES[b] for b in ("logistic", "points")},
               "constant_": "base rate"}
    verdict = result["verdict"]
    champion = result.get("champion_version")
    lines = [f"{result['model_name']} version {result['model_version']}, trained as of {result['as_of'][:10]}; "
             f"tested on the held-out cutoff {result['test_cutoff'][:10]}",
             *figures_table(result, scorers),
             f"  sample: {int(result['rows']):,} test leads, {int(result['positives']):,} conversions "
             f"(base rate {result['base_rate']:.2%}); 95% bootstrap intervals",
             *dominance_lines(result.get("feature_dominance", []), quick=True),
             f"verdict: {verdict['sentence']}",
             *(f"warning: {w}" for w in verdict["warnings"]),
             f"promotion: {'champion' if result['promoted'] else 'not champion'}: {result['promotion_reason']}"
             + ("" if result["promoted"] or not champion else f" (champion: version {champion})"),
             _run_line(result)]
    return "\n".join(lines)


def evaluate_summary(result: dict[str, Any]) -> str:
    """The end of ``leadml evaluate``: the model's figures on the outcomes after --as-of."""
    lines = [f"model version {result['model_version']} evaluated "
             + (f"as of {result['as_of'][:10]} over {result['horizon_days']} days" if "as_of" in result
                else f"on {result.get('data')}"),
             *figures_table(result, {"": "leadml", "constant_": "base rate"}),
             f"  sample: {int(result['rows']):,} leads, {int(result['positives']):,} conversions; "
             "95% bootstrap intervals",
             *(f"warning: {w}" for w in result.get("warnings", [])),
             _run_line(result)]
    return "\n".join(lines)


def flat_summary(result: dict[str, Any]) -> str:
    """The end of ``leadml train`` on a flat export: the cross-validation report, then the pooled out-of-fold
    figures with their intervals, the verdict and where the run is."""
    pooled = {k[len("oof_"):]: v for k, v in result.items() if k.startswith("oof_")}
    verdict = result["verdict"]
    lines = [result["report"].rstrip(), "",
             f"{result['model_name']} version {result['model_version']}: out of fold, pooled over "
             f"{int(pooled['rows']):,} leads ({int(pooled['positives']):,} conversions), 95% bootstrap intervals",
             *figures_table(pooled, {"": "leadml (LightGBM)"}),
             *dominance_lines(result.get("feature_dominance", [])),
             *([f"fold schemes: time-ordered ROC AUC {result['roc_auc']:.3f} ± {result['roc_auc_std']:.3f}, "
                f"stratified {result['stratified_roc_auc']:.3f} ± {result['stratified_roc_auc_std']:.3f} "
                "(mean ± spread over folds)"] if "stratified_roc_auc" in result else []),
             f"verdict: {verdict['sentence']}",
             *(f"warning: {w}" for w in verdict["warnings"]),
             f"promotion: {'champion' if result['promoted'] else 'not champion'}: {result['promotion_reason']}",
             _run_line(result)]
    return "\n".join(lines)


def dominance_lines(effects: list[dict[str, Any]], *, quick: bool = False) -> list[str]:
    """The most important features refitted without, one line each (``quick``: a quick model's figures)."""
    if not effects:
        return []
    lines = [f"the most important features, {'a quick model' if quick else 'the model'} refitted without each"
             + (" (test ROC AUC):" if quick else " (ROC AUC, mean over folds):")]
    for row in effects:
        lines.append(f"  {row['feature']}: alone ROC AUC {row['own_roc_auc']:.3f}; without it "
                     f"{row['roc_auc_without']:.3f} (from {row['model_roc_auc']:.3f}: {row['share_of_lift']:.0%} "
                     "of the lift over chance)")
    return lines

