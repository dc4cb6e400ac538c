"""Training benchmark: `leadml train` end to end on 100,000 generated leads with 12 monthly cutoffs.

Wall time split by stage (features, leakage probe, booster fit, calibration, baselines, evaluation,
champion comparison, MLflow logging and registry) and the peak memory, in benchmarks/results/.
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import LEADML, arguments, generated_database, local_config, meta, publish, run_json  # noqa: E402

WHAT_HELPS = {
    "features": "fewer cutoffs or windows, or more cores: the feature build is vectorised per chunk",
    "booster_fit": "a higher learning rate (fewer rounds), max_bin 63, or more threads",
    "baselines": "a smaller row sample for the logistic regression",
    "evaluation": "fewer rows for the TreeSHAP importance (it runs at about 1,000 rows/s)",
    "mlflow_logging_and_registry": "fewer plots, or a tracking server instead of SQLite",
}


def main() -> None:
    args, work = arguments(__doc__, "train", {"--leads": {"type": int, "default": 100_000}})
    db = generated_database(work, args.leads, seed=5)
    config = local_config(work)
    started = time.perf_counter()
    trained = run_json([LEADML, "train", "--config", str(config), "--data", str(db), "--as-of", "2026-11-01", "--json"])
    wall = time.perf_counter() - started
    stages = {k.removeprefix("seconds_"): v for k, v in trained.items() if k.startswith("seconds_")}
    dominant = max(stages, key=stages.get)
    summary = {
        **meta(), "leads": args.leads, "train_rows": trained["train_rows"],
        "validation_rows": trained["validation_rows"],
        "wall_seconds": round(wall, 1), "stages_seconds": stages,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
        "dominant_stage": dominant, "what_would_help": WHAT_HELPS.get(dominant, ""),
        "roc_auc": trained["roc_auc"], "pr_auc": trained["pr_auc"], "best_iteration": trained["best_iteration"],
    }
    lines = ["# Training benchmark", "",
             f"Measured {summary['date']} on {summary['machine']} with `make bench-train`: `leadml train` on "
             f"{args.leads:,} generated leads, 12 monthly training cutoffs ({int(summary['train_rows']):,} rows), "
             "as of 2026-11-01.", "", "| stage | seconds |", "|---|---|"]
    lines += [f"| {stage} | {seconds} |" for stage, seconds in sorted(stages.items(), key=lambda s: -s[1])]
    lines += [f"| **whole command (wall)** | **{summary['wall_seconds']}** |", "",
              f"Peak memory {summary['peak_rss_mb']} MB. Held-out ROC AUC {summary['roc_auc']:.3f}, PR AUC "
              f"{summary['pr_auc']:.3f}, {int(summary['best_iteration'])} boosting rounds.", "",
              f"The dominant stage is **{dominant}**; what would make it faster: {summary['what_would_help']}."]
    publish("train", summary, "\n".join(lines))


if __name__ == "__main__":
    main()
