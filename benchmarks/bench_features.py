"""Feature benchmark: leadml's whole catalog against the DuckDB reference, same data, same run.

For each database size: generate it (cached), run ../shared/bench/reference_features.py and
benchmarks/run_features.py as separate processes on the same cutoffs, each writing Parquet, and
record wall time, activities per second and peak memory. Results go to benchmarks/results/.
Targets (issue 3): leadml within 3x the reference's wall time, and under 4 GiB at 1M leads.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import RESULTS, ROOT, arguments, generated_database, meta, publish, run_json  # noqa: E402

REFERENCE = ROOT.parent / "shared" / "bench" / "reference_features.py"
CUTOFFS = "2026-04-01,2026-05-01,2026-06-01,2026-07-01,2026-08-01,2026-09-01"


def bench(leads: int, work: Path) -> dict:
    db = generated_database(work, leads, seed=1)
    reference = run_json([sys.executable, str(REFERENCE), "--data", str(db), "--cutoffs", CUTOFFS,
                          "--threads", "2", "--out", str(work / f"reference_{leads}.parquet")])
    ours = run_json([sys.executable, str(ROOT / "benchmarks" / "run_features.py"), "--data", str(db),
                     "--cutoffs", CUTOFFS, "--out", str(work / f"leadml_{leads}.parquet")])
    ours["activities_per_second"] = round(ours["activities"] / ours["seconds"])
    return {"leads": leads, "cutoffs": CUTOFFS.split(","), "reference": reference, "leadml": ours,
            "time_ratio": round(ours["seconds"] / reference["seconds"], 2),
            "target_time_ratio": 3.0, "target_peak_rss_mb": 4096}


def markdown(results: list[dict], about: dict) -> str:
    lines = ["# Feature benchmark", "", f"Measured {about['date']} on {about['machine']} with `make bench-features`.",
             f"Cutoffs: {', '.join(results[0]['cutoffs'])} (horizon 30 days). Both sides write Parquet.", "",
             "| leads | activities | rows (reference / leadml) | reference s | reference MB | leadml s | leadml MB "
             "| leadml columns | activities/s | time ratio (target ≤ 3) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        ref, ours = r["reference"], r["leadml"]
        lines.append(f"| {r['leads']:,} | {ours['activities']:,} | {ref['rows']:,} / {ours['rows']:,} | "
                     f"{ref['seconds']} | "
                     f"{ref['peak_rss_mb']} | {ours['seconds']} | {ours['peak_rss_mb']} | {ours['feature_columns']} | "
                     f"{ours['activities_per_second']:,} | {r['time_ratio']} |")
    lines += ["", "The reference computes 95 columns (window counts per activity type, recency, raw attributes);",
              "leadml computes its whole catalog, including decayed counts, active days, rates and parsed titles,",
              "and cleans the data on the way (types, duplicates, implausible values). The generated data holds",
              "0.3% duplicated lead rows: the reference counts them twice, leadml once, hence the row counts.",
              "Peak memory is the process's maximum RSS; leadml streams 50,000 leads at a time."]
    return "\n".join(lines) + "\n"


def main() -> None:
    args, work = arguments(__doc__, "", {
        "--render-only": {"action": "store_true", "help": "rewrite the Markdown from the JSON"},
        "--leads": {"default": "100000,1000000"}})
    if not REFERENCE.exists():
        raise SystemExit(f"the reference {REFERENCE} is missing: the benchmark needs ../shared")
    if args.render_only:
        saved = json.loads((RESULTS / "features.json").read_text())
        publish("features", saved, markdown(saved["results"], saved["meta"]))
        return
    results = [bench(int(n), work) for n in args.leads.split(",")]
    about = meta()
    publish("features", {"meta": about, "results": results}, markdown(results, about))


if __name__ == "__main__":
    main()
