"""Monitoring benchmark: what the drift and freshness checks and `leadml monitor` cost beside scoring.

On a generated database (100,000 leads by default) scored by a model trained on 20,000 leads (the
scoring benchmark's setup), `leadml score --write-back` runs as of 1 October; its manifest times
the checks (counting every feature into the profile's bins, the report) and the MLflow monitoring
run separately from the scoring. Then `leadml monitor` judges that run as of 1 November. Targets:
the checks take at most 5% of the scoring time; monitor at most the time of the scoring run.
Results go to benchmarks/results/monitoring.{json,md}.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_score import run, setup  # noqa: E402
from benchmarks.common import LEADML, arguments, generated_database, meta, publish  # noqa: E402

SCORED_AS_OF, JUDGED_AS_OF = "2026-10-01", "2026-11-01"


def main() -> None:
    args, work = arguments(__doc__, "score", {"--leads": {"type": int, "default": 100_000}})
    config = setup(work, "path")
    db = generated_database(work, args.leads, seed=1, stem="monitor")
    scored, score_wall, _ = run([LEADML, "score", "--config", str(config), "--data", str(db), "--as-of",
                                    SCORED_AS_OF, "--out", str(work / "monitored.parquet"), "--write-back", "--json"])
    seconds = json.loads(Path(scored["manifest"]).read_text())["seconds"]
    judged, monitor_wall, _ = run([LEADML, "monitor", "--config", str(config), "--data", str(db), "--as-of",
                                   JUDGED_AS_OF, "--json"])
    result = {"leads_scored": scored["scored"], "score_wall_seconds": round(score_wall, 1), "score_seconds": seconds,
              "checks_share_of_scoring": round(seconds["monitoring_checks"] / seconds["scoring"], 4),
              "mlflow_seconds": seconds["monitoring_mlflow"], "drift_warning": scored["drift_warning"],
              "monitor_wall_seconds": round(monitor_wall, 1),
              "monitor_over_score": round(monitor_wall / score_wall, 2), "runs_judged": len(judged["runs"]),
              "targets": {"checks_share_of_scoring": 0.05, "monitor_over_score": 1.0}}
    about = meta(leads=args.leads)
    lines = ["# Monitoring benchmark", "",
             f"Measured {about['date']} on {about['machine']} with `make bench-monitoring`; {args.leads:,} generated "
             f"leads, scored as of {SCORED_AS_OF} with write-back, judged as of {JUDGED_AS_OF}.", "",
             "| leads scored | scoring s | drift + freshness checks s | checks ÷ scoring (target ≤ 0.05) "
             "| MLflow monitoring run s | `leadml monitor` s | monitor ÷ score end to end (target ≤ 1) |",
             "|---|---|---|---|---|---|---|",
             f"| {result['leads_scored']:,} | {seconds['scoring']} | {seconds['monitoring_checks']} | "
             f"{result['checks_share_of_scoring']} | {seconds['monitoring_mlflow']} | {result['monitor_wall_seconds']} "
             f"| {result['monitor_over_score']} |", "",
             "Scoring is the manifest's `seconds.scoring` (reading, cleaning, features, predict, reasons, grades);",
             "the checks are counted inside it. `leadml monitor` reads the history table and every chunk's",
             "opportunities, and logs one MLflow run."]
    publish("monitoring", {"meta": about, "result": result}, "\n".join(lines))


if __name__ == "__main__":
    main()
