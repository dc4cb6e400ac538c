"""What the tree count buys: models of fewer, larger steps against the default, on the same snapshot.

One training snapshot of 100,000 generated leads (the training config's 12 monthly cutoffs, validation and
held-out cutoffs) is built once; then a booster is fitted per setting with the default's early stopping on
the validation cutoff. For each: the number of trees, the fit's seconds, ROC AUC and PR AUC on the test half
of the held-out cutoff with a paired bootstrap interval of the difference to the default (same leads), and
what the trees cost to use: raw predict, exact TreeSHAP by decision pattern (leadml's ``treeshap``) and
LightGBM's own ``pred_contrib``, in rows per second on the held-out rows. Results go to benchmarks/results/.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from sklearn.metrics import average_precision_score, roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import RESULTS, ROOT, arguments, generated_database, load_average, meta, publish  # noqa: E402
from leadml.config import load_config  # noqa: E402
from leadml.data.clean import CleanReport  # noqa: E402
from leadml.data.sources import open_source  # noqa: E402
from leadml.features import feature_catalog  # noqa: E402
from leadml.features.spine import as_timestamp, training_cutoffs  # noqa: E402
from leadml.modeling.evaluation import margin_intervals  # noqa: E402
from leadml.modeling.lead_model import FeatureSpec  # noqa: E402
from leadml.modeling.shap_patterns import copies, exact_contributions, lightgbm_matrix, tree_splits  # noqa: E402
from leadml.modeling.snapshots import build_snapshot  # noqa: E402
from leadml.modeling.training import _fit_booster, _split, booster_params  # noqa: E402

AS_OF = as_timestamp("2026-11-01")
SETTINGS = {  # name: LightGBM parameters over the config's; the first is the one the others are compared with
    "learning rate 0.02, 15 leaves (the default before issue 18)": {"learning_rate": 0.02},
    "learning rate 0.05, 15 leaves (the default)": {"learning_rate": 0.05},
    "learning rate 0.1, 15 leaves": {"learning_rate": 0.1},
    "learning rate 0.1, 31 leaves": {"learning_rate": 0.1, "num_leaves": 31},
    "learning rate 0.2, 31 leaves": {"learning_rate": 0.2, "num_leaves": 31},
}


def rows_per_second(work, rows: int, repeats: int = 1) -> int:
    started = time.perf_counter()
    for _ in range(repeats):
        work()
    return round(rows * repeats / (time.perf_counter() - started))


def measure(name: str, overrides: dict, context: dict) -> dict:
    config, spec, train, valid, test, sample = (context[k] for k in ("config", "spec", "train", "valid", "test",
                                                                     "sample"))
    started = time.perf_counter()
    booster = _fit_booster(booster_params(config, train.labels, overrides), spec, train, valid,
                           categorical=context["categorical"], config=config)
    fit_seconds = time.perf_counter() - started
    raw = booster.predict(spec.prepare(test.features), raw_score=True)
    prepared = spec.prepare(sample)
    matrix, splits, boosters = lightgbm_matrix(prepared), tree_splits(booster), copies(booster, 2)
    small = prepared.head(2_000)
    return {"setting": name, "params": overrides, "trees": len(splits), "fit_seconds": round(fit_seconds, 1),
            "roc_auc": roc_auc_score(test.labels, raw), "pr_auc": average_precision_score(test.labels, raw),
            "raw": raw,
            "predict_rows_per_second": rows_per_second(lambda: booster.predict(prepared, raw_score=True),
                                                       len(prepared), 3),
            "treeshap_rows_per_second": rows_per_second(lambda: exact_contributions(boosters, matrix, splits),
                                                        len(prepared)),
            "pred_contrib_rows_per_second": rows_per_second(lambda: booster.predict(small, pred_contrib=True),
                                                            len(small))}


def main() -> None:
    args, work = arguments(__doc__, "score", {"--leads": {"type": int, "default": 100_000},
                                              "--render-only": {"action": "store_true",
                                                                "help": "rewrite the Markdown from the JSON"}})
    if args.render_only:
        saved = json.loads((RESULTS / "trees.json").read_text())
        publish("trees", saved, markdown(saved["results"], saved["meta"]))
        return
    config = load_config(ROOT / "configs" / "default.yaml", env={})
    db = generated_database(work, args.leads, seed=1)
    cutoffs = training_cutoffs(AS_OF, config.horizon_days, config.training.cutoffs.count,
                               config.training.cutoffs.frequency)
    started = time.perf_counter()
    with open_source(str(db)) as source:
        snapshot = build_snapshot(source.chunks(config.data.chunk_size), [c for v in cutoffs.values() for c in v],
                                  AS_OF, horizon_days=config.horizon_days, settings=config.features,
                                  report=CleanReport())
    snapshot_seconds = time.perf_counter() - started
    train, valid, holdout, _, test = _split(snapshot, cutoffs, config)
    catalog = feature_catalog(config.features)
    categorical = [f.name for f in catalog if f.kind == "categorical"]
    spec = FeatureSpec.learn(train.features, {f.name: f.family for f in catalog}, categorical,
                             config.features.max_categories)
    context = {"config": config, "spec": spec, "train": train, "valid": valid, "test": test,
               "sample": holdout.features.head(50_000), "categorical": categorical}
    load_before = load_average()
    results = [measure(name, overrides, context) for name, overrides in SETTINGS.items()]
    default = results[0]  # the most trees: what fewer trees are measured against
    y = test.labels.to_numpy()
    for r in results:
        intervals = margin_intervals(y, r["raw"], {"default": default["raw"]}, resamples=500)
        r["roc_auc_minus_default"] = [round(v, 4) for v in intervals[("default", "roc_auc")]]
        r["pr_auc_minus_default"] = [round(v, 4) for v in intervals[("default", "pr_auc")]]
        r["roc_auc"], r["pr_auc"] = round(r["roc_auc"], 4), round(r["pr_auc"], 4)
    for r in results:
        del r["raw"]
    about = meta(leads=args.leads, as_of=str(AS_OF.date()), train_rows=len(train.labels),
                 test_rows=len(y), test_conversions=int(y.sum()), sample_rows=len(context["sample"]),
                 snapshot_seconds=round(snapshot_seconds, 1), load_before=load_before, load_after=load_average())
    publish("trees", {"meta": about, "results": results}, markdown(results, about))


def markdown(results: list[dict], about: dict) -> str:
    lines = ["# What the tree count buys", "",
             f"Measured {about['date']} on {about['machine']} with `make bench-trees`: {about['leads']:,} generated "
             f"leads, {about['train_rows']:,} training rows (12 monthly cutoffs), early stopping on the validation "
             f"cutoff; ROC AUC and PR AUC on the test half of the held-out cutoff ({about['test_rows']:,} leads, "
             f"{about['test_conversions']} conversions), with the 95% paired bootstrap interval of the difference to "
             f"the first setting on the same leads. Speeds on {about['sample_rows']:,} held-out rows (pred_contrib on "
             f"2,000). Load average {about['load_before']} before, {about['load_after']} after, on 2 cores.", "",
             "| setting | trees | fit s | ROC AUC | Δ ROC AUC vs the first [95% CI] | PR AUC | Δ PR AUC [95% CI] "
             "| predict rows/s | exact TreeSHAP (patterns) rows/s | pred_contrib rows/s |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        lo, hi = r["roc_auc_minus_default"]
        plo, phi = r["pr_auc_minus_default"]
        lines.append(f"| {r['setting']} | {r['trees']} | {r['fit_seconds']} | {r['roc_auc']:.4f} "
                     f"| [{lo:+.4f}, {hi:+.4f}] "
                     f"| {r['pr_auc']:.4f} | [{plo:+.4f}, {phi:+.4f}] | {r['predict_rows_per_second']:,} | "
                     f"{r['treeshap_rows_per_second']:,} | {r['pred_contrib_rows_per_second']:,} |")
    lines += ["", "A setting whose two intervals hold 0 ranks as well as the first on these leads: "
              + (", ".join(f"{r['setting']} ({r['trees']} trees)" for r in results[1:] if as_good(r)) or "none") + ".",
              "Fit seconds are wall time on a shared machine (see the load average); the speeds are rows per "
              "second of one call each, as scoring makes them."]
    return "\n".join(lines) + "\n"


def as_good(result: dict) -> bool:
    """Both paired intervals of the difference to the first setting hold 0."""
    return all(low <= 0 <= high for low, high in (result["roc_auc_minus_default"], result["pr_auc_minus_default"]))


if __name__ == "__main__":
    main()
