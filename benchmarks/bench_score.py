"""Scoring benchmark: `leadml score` end to end to Parquet with reasons, beside the raw work.

1,000,000 leads from DuckDB and 100,000 from a throwaway PostgreSQL server, with the default config (exact
TreeSHAP reasons). For each, the real command runs as a child process (wall time, peak memory, and its
stages from the run's manifest: read, clean, features, predict, explainer, reasons, grades, write), and in
the same run run_predict.py measures the feature build and the bare Booster.predict on the same population,
so the cost of everything around the model is visible. Targets (issue 18): under 2 minutes and 4 GiB at 1M
leads, end to end at most 1.5x the feature build plus raw predict.

Then the faithfulness of the ``path`` explainer, the cheaper alternative: on a sample of the population,
how often its strongest reason (the first of ``top_reasons``) is the one exact TreeSHAP gives.
Results go to benchmarks/results/.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import (  # noqa: E402
    LEADML,
    ROOT,
    arguments,
    generated_database,
    load_average,
    local_config,
    meta,
    publish,
    run_json,
)

AS_OF = "2026-11-01"


def run(command: list[str], env: dict | None = None) -> tuple[dict, float, float]:
    """Run a command; return its last JSON line, wall seconds and the peak RSS (MB) of children so far."""
    started = time.perf_counter()
    result = run_json(command, env)
    seconds = time.perf_counter() - started
    return result, seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def setup(work: Path) -> Path:
    """Write the default config with its stores in ``work``; train a model on a 20,000-lead database."""
    path = local_config(work)
    train_db = generated_database(work, 20_000, seed=3, stem="train")
    if not (work / "models").exists():
        run_json([LEADML, "train", "--config", str(path), "--data", str(train_db), "--as-of", AS_OF, "--json"])
    return path


def bench(name: str, data: str, config: Path, model_dir: str, work: Path, env: dict | None = None) -> dict:
    # the yardstick first: a later child's peak would otherwise hide behind an earlier larger one
    load_before = load_average()
    raw, _, _ = run([sys.executable, str(ROOT / "benchmarks" / "run_predict.py"), "--data", data, "--as-of", AS_OF,
                     "--model", model_dir, "--config", str(config)], env)
    scored, seconds, peak = run([LEADML, "score", "--config", str(config), "--data", data, "--as-of", AS_OF,
                                 "--out", str(work / f"{name}.parquet"), "--json"], env)
    stages = json.loads(Path(scored["manifest"]).read_text())["seconds"]
    core = sum(raw["seconds"][stage] for stage in ("read", "clean", "features", "predict"))
    return {"source": name, "leads_scored": scored["scored"], "rejected": scored["rejected"],
            "end_to_end_seconds": round(seconds, 1), "leads_per_second": round(scored["scored"] / seconds),
            "peak_rss_mb": round(peak, 1), "yardstick": raw, "stages": stages,
            "features_plus_predict_seconds": round(core, 1), "overhead_ratio": round(seconds / core, 2),
            "target_ratio": 1.5, "target_seconds_at_1m": 120, "target_peak_rss_mb": 4096,
            "load_average": {"before": load_before, "after": load_average()}}


def path_agreement(data: str, config: Path, model_dir: str, sample: int) -> dict:
    """How often the ``path`` explainer's strongest reason is exact TreeSHAP's, on the first ``sample`` leads."""
    from leadml.config import load_config
    from leadml.data.clean import clean_tables
    from leadml.data.sources import open_source
    from leadml.features import feature_catalog
    from leadml.features.spine import as_timestamp
    from leadml.modeling.lead_model import LeadModel
    from leadml.reasons.attribution import explain
    from leadml.reasons.words import combined_reasons, localise
    from leadml.scoring.population import population_matrix

    settings = load_config(config, env={})
    model = LeadModel.load(model_dir)
    catalog = localise(feature_catalog(settings.features), "en")
    with open_source(data) as source:
        tables, _, _ = clean_tables(next(iter(source.chunks(sample))))
    _, matrix = population_matrix(tables, as_timestamp(AS_OF), settings.features)
    tops = {}
    for method in ("treeshap", "path"):
        started = time.perf_counter()
        contributions = model.contributions(matrix, method)
        seconds = time.perf_counter() - started
        said = explain(contributions, matrix, catalog, 3, combined=combined_reasons("en"))["top_reasons"]
        tops[method] = (said.str.split("; ").str[0], round(len(matrix) / seconds))
    agree = float((tops["path"][0] == tops["treeshap"][0]).mean())
    return {"leads": len(matrix), "top_reason_agreement": round(agree, 4), "target": 0.95,
            "treeshap_rows_per_second": tops["treeshap"][1], "path_rows_per_second": tops["path"][1]}


def main() -> None:
    args, work = arguments(__doc__, "score", {"--duckdb-leads": {"type": int, "default": 1_000_000},
                                              "--postgres-leads": {"type": int, "default": 100_000},
                                              "--agreement-sample": {"type": int, "default": 20_000}})
    config = setup(work)
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

    agreement = path_agreement(str(db), config, model_dir, args.agreement_sample)
    trees = sum(1 for line in (Path(model_dir) / "booster.txt").read_text().splitlines() if line.startswith("Tree="))
    about = meta(as_of=AS_OF, trees=trees)
    publish("score", {"meta": about, "results": results, "path_agreement": agreement},
            markdown(results, agreement, about))


def markdown(results: list[dict], agreement: dict, about: dict) -> str:
    lines = ["# Scoring benchmark", "", f"Measured {about['date']} on {about['machine']} with `make bench-score`: the "
             f"default config (reasons by exact TreeSHAP), a model of {about['trees']} trees, as of {AS_OF}.", "",
             "| source | leads scored | end to end s | leads/s | peak MB | yardstick: read + clean + features + raw "
             "predict s | end to end ÷ yardstick (target ≤ 1.5) | load before / after |",
             "|---|---|---|---|---|---|---|---|"]
    for r in results:
        load = r["load_average"]
        lines.append(f"| {r['source']} | {r['leads_scored']:,} | {r['end_to_end_seconds']} | "
                     f"{r['leads_per_second']:,} | {r['peak_rss_mb']} | {r['features_plus_predict_seconds']} | "
                     f"{r['overhead_ratio']} | {load['before']} / {load['after']} |")
    stages = [s for s in results[0]["stages"] if s not in ("scoring", "total")]
    lines += ["", "Stages of the `leadml score` run (seconds, from its manifest; the rest of the wall time is "
              "starting Python, importing, and resolving the model in MLflow):", "",
              "| source | " + " | ".join(stages) + " | total |", "|---" * (len(stages) + 2) + "|"]
    for r in results:
        lines.append(f"| {r['source']} | " + " | ".join(str(r["stages"].get(s, "")) for s in stages)
                     + f" | {r['stages']['total']} |")
    lines += ["", f"**Faithfulness of the `path` explainer.** On {agreement['leads']:,} leads its strongest reason is "
              f"exact TreeSHAP's for {agreement['top_reason_agreement']:.1%} of them (target 95%); exact TreeSHAP ran "
              f"at {agreement['treeshap_rows_per_second']:,} rows/s and `path` at "
              f"{agreement['path_rows_per_second']:,} rows/s on that sample. The default `treeshap` is exact: it "
              "equals LightGBM's `pred_contrib` on every row (tests/modeling/test_shap_patterns.py), computed once "
              "per decision pattern of each tree.", "",
              "End to end is the `leadml score` command as a child process: reading, cleaning, features, predict,",
              "calibration, reasons for every lead, drift checks, ranking, the MLflow monitoring run, and the atomic",
              "Parquet, rejects and manifest writes. Peak memory is the largest RSS of any child process so far."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
