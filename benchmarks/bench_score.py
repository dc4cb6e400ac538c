"""Scoring benchmark: `leadml score` end to end to Parquet with reasons, beside the raw work.

1,000,000 leads from DuckDB and 100,000 from a throwaway PostgreSQL server. For each, the real
command runs as a child process (wall time, peak memory), and in the same run run_predict.py
measures the feature build and the bare Booster.predict on the same population, so the overhead
of everything around the model is visible. Targets (issue 5): peak memory under 4 GiB at 1M leads;
end to end within 10x of feature build plus raw predict. Results go to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
LEADML = str(Path(sys.executable).with_name("leadml"))
AS_OF = "2026-11-01"


def run(command: list[str], env: dict | None = None) -> tuple[dict, float, float]:
    """Run a command; return its last JSON line, wall seconds and the peak RSS (MB) of children so far."""
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env)
    if result.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{result.stderr[-3000:]}")
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return json.loads(result.stdout.strip().splitlines()[-1]), seconds, peak


def generator_tag() -> str:
    return hashlib.sha256((ROOT / "src" / "leadml" / "generate.py").read_bytes()).hexdigest()[:8]


def setup(work: Path, explainer: str) -> Path:
    """Write a config whose stores live in ``work`` and train a model on a 20,000-lead database."""
    config = yaml.safe_load((ROOT / "configs" / "default.yaml").read_text())
    config["tracking"] = {**config["tracking"], "uri": f"sqlite:///{work / 'mlflow.db'}",
                          "artifact_root": str(work / "mlartifacts")}
    config["models_dir"] = str(work / "models")
    config["export"]["explainer"] = explainer
    path = work / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    train_db = work / f"train_{generator_tag()}.duckdb"
    if not train_db.exists():
        run([LEADML, "generate", "--leads", "20000", "--seed", "3", "--out", str(train_db), "--json"])
    if not (work / "models").exists():
        run([LEADML, "train", "--config", str(path), "--data", str(train_db), "--as-of", AS_OF, "--json"])
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
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duckdb-leads", type=int, default=1_000_000)
    parser.add_argument("--postgres-leads", type=int, default=100_000)
    parser.add_argument("--explainer", default="path", choices=["path", "treeshap"])
    parser.add_argument("--work", default=str(ROOT / "benchmarks" / ".data" / "score"))
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    config = setup(work, args.explainer)
    model_dir = str(next((work / "models").iterdir()))
    results = []

    db = work / f"leads_{args.duckdb_leads}_{generator_tag()}.duckdb"
    if not db.exists():
        run([LEADML, "generate", "--leads", str(args.duckdb_leads), "--seed", "1", "--out", str(db), "--json"])
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

    meta = {"date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, Python {platform.python_version()}, "
            f"{os.cpu_count()} cores", "explainer": args.explainer, "as_of": AS_OF}
    out = ROOT / "benchmarks" / "results"
    (out / "score.json").write_text(json.dumps({"meta": meta, "results": results}, indent=1) + "\n")
    lines = ["# Scoring benchmark", "", f"Measured {meta['date']} on {meta['machine']} with `make bench-score`; "
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
    (out / "score.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
