"""Scoring benchmark: `leadml score` end to end to Parquet with reasons, beside the raw work.

1,000,000 leads from DuckDB and 100,000 from a throwaway PostgreSQL server. For each, the real
command runs as a child process (wall time, peak memory), and in the same run run_predict.py
measures the feature build and the bare Booster.predict on the same population, so the overhead
of everything around the model is visible. Targets (issue 5): peak memory under 4 GiB at 1M leads;
end to end within 10x of feature build plus raw predict. Results go to benchmarks/results/.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import LEADML, ROOT, arguments, generated_database, local_config, meta, publish, run_json  # noqa: E402

AS_OF = "2026-11-01"


def run(command: list[str], env: dict | None = None) -> tuple[dict, float, float]:
    """Run a command; return its last JSON line, wall seconds and the peak RSS (MB) of children so far."""
    started = time.perf_counter()
    result = run_json(command, env)
    seconds = time.perf_counter() - started
    return result, seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def setup(work: Path, explainer: str) -> Path:
    """Write a config whose stores live in ``work`` and train a model on a 20,000-lead database."""
    path = local_config(work, export={"explainer": explainer})
    train_db = generated_database(work, 20_000, seed=3, stem="train")
    if not (work / "models").exists():
        run_json([LEADML, "train", "--config", str(path), "--data", str(train_db), "--as-of", AS_OF, "--json"])
    return path


def bench(name: str, data: str, config: Path, model_dir: str, work: Path, env: dict | None = None) -> dict:
    # the yardstick first: a later child's peak would otherwise hide behind an earlier larger one
    raw, _, _ = run([sys.executable, str(ROOT / "benchmarks" / "run_predict.py"), "--data", data, "--as-of", AS_OF,
                     "--model", model_dir, "--config", str(config)], env)
    scored, seconds, peak = run([LEADML, "score", "--config", str(config), "--data", data, "--as-of", AS_OF,
                                 "--out", str(work / f"{name}.parquet"), "--json"], env)
    core = raw["seconds"]["features"] + raw["seconds"]["predict"]
    return {"source": name, "leads_scored": scored["scored"], "rejected": scored["rejected"],
            "end_to_end_seconds": round(seconds, 1), "leads_per_second": round(scored["scored"] / seconds),
            "peak_rss_mb": round(peak, 1), "yardstick": raw, "features_plus_predict_seconds": round(core, 1),
            "overhead_ratio": round(seconds / core, 2), "target_ratio": 10, "target_peak_rss_mb": 4096}


def main() -> None:
    args, work = arguments(__doc__, "score", {"--duckdb-leads": {"type": int, "default": 1_000_000},
                                              "--postgres-leads": {"type": int, "default": 100_000},
                                              "--explainer": {"default": "path", "choices": ["path", "treeshap"]}})
    config = setup(work, args.explainer)
    model_dir = str(next((work / "models").iterdir()))
    results = []

    db = generated_database(work, args.duckdb_leads, seed=1)
    results.append(bench(f"duckdb_{args.duckdb_leads}", str(db), config, model_dir, work))

    if args.postgres_leads:
        from tests.pgserver import PASSWORD, PostgresServer

        server = PostgresServer()
        try:
            env = {**os.environ, "PGPASSWORD": PASSWORD}
            url = server.create_database("bench")
            run([LEADML, "generate", "--leads", str(args.postgres_leads), "--seed", "1", "--out", url, "--json"], env)
            results.append(bench(f"postgres_{args.postgres_leads}", url, config, model_dir, work, env))
        finally:
            server.stop()

    about = meta(explainer=args.explainer, as_of=AS_OF)
    lines = ["# Scoring benchmark", "", f"Measured {about['date']} on {about['machine']} with `make bench-score`; "
             f"reasons by the `{args.explainer}` explainer; as of {AS_OF}.", "",
             "| source | leads scored | end to end s | leads/s | peak MB | features s | raw predict s "
             "| predict rows/s | TreeSHAP rows/s | end to end ÷ (features + predict) (target ≤ 10) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        y = r["yardstick"]
        lines.append(f"| {r['source']} | {r['leads_scored']:,} | {r['end_to_end_seconds']} | "
                     f"{r['leads_per_second']:,} | "
                     f"{r['peak_rss_mb']} | {y['seconds']['features']} | {y['seconds']['predict']} | "
                     f"{y['predict_rows_per_second']:,} | {y['treeshap_rows_per_second']:,} | {r['overhead_ratio']} |")
    lines += ["", "End to end is the `leadml score` command as a child process: reading, cleaning, features, predict,",
              "calibration, reasons for every lead, ranking, and the atomic Parquet, rejects and manifest writes.",
              "Peak memory is the largest RSS of any child process of the benchmark up to that run."]
    publish("score", {"meta": about, "results": results}, "\n".join(lines))


if __name__ == "__main__":
    main()
