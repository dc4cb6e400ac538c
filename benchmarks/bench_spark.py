"""Spark engine benchmark: what one bucket costs, and that the cost stays flat as the buckets grow.

`leadml score --engine spark` (default config: exact TreeSHAP reasons) runs in local[2] on Parquet
lakes of 100k, 200k and 400k generated leads, i.e. 2, 4 and 8 buckets of data.chunk_size = 50,000
leads (``--million`` adds 1M leads, 20 buckets). Each run is a child process with
LEADML_BUCKET_LOG set, so every Python worker logs each bucket it scores (leadml.spark.timing):
the seconds from the bucket's Arrow tables in hand to its Arrow table out (pandas, clean,
features, score, reasons), the gap since the same worker's previous bucket (Spark handing over
the next bucket's Arrow batches), the leads and activities in it and the worker's peak memory.
The command's --json gives the driver's stages (model, Spark session, plan, the bucket stage,
rank and write, rejects); wall minus the command's own seconds is the process start. A sampler
reads /proc every half second for the peak memory per process kind. The sizing in docs/spark.md
is computed from these figures by ``sizing`` below. Results go to benchmarks/results/spark.*.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.bench_score import AS_OF, setup  # noqa: E402
from benchmarks.common import (  # noqa: E402
    LEADML,
    RESULTS,
    arguments,
    generated_database,
    generator_tag,
    load_average,
    meta,
    publish,
)

PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20
TICKS = os.sysconf("SC_CLK_TCK")
CORES = 2  # local[2]
HOUR = 3600.0
CHUNK = 50_000  # data.chunk_size of the default config: leads per bucket
HEADROOM = 1.5  # on the p90 bucket: skew between buckets, stragglers, a retried task
SIZES = {"10M leads": 10_000_000, "100M leads": 100_000_000}
FIXED = ("process start", "model", "session", "plan")  # paid once per run, whatever the leads

def _tree(root: int) -> dict[int, tuple[str, float, float]]:
    """Return every live process under ``root`` (itself included): pid -> (kind, RSS in MB, CPU seconds so far)."""
    stats: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stats[int(entry)] = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
    parents = {pid: int(fields[1]) for pid, fields in stats.items()}
    members, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        children = [child for child, parent in parents.items() if parent == pid]
        members.update(children)
        frontier.extend(children)
    out = {}
    for pid in members:
        try:
            rss = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_MB
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cpu = (int(stats[pid][11]) + int(stats[pid][12])) / TICKS  # utime + stime
        except (OSError, ValueError, IndexError, KeyError):
            continue
        kind = ("driver" if pid == root else "jvm" if "java" in command.split(" ")[0]
                else "python_worker" if "pyspark" in command or "python" in command else "other")
        out[pid] = (kind, rss, cpu)
    return out


def run(command: list[str], env: dict[str, str]) -> tuple[dict, float, dict[str, float], dict[str, float]]:
    """Run a command; return its last JSON line, wall seconds, and peak MB and CPU seconds per process kind and
    in total (CPU as last sampled per process: at most half a second of each process's end is missed)."""
    peaks: dict[str, float] = {}
    cpu: dict[int, tuple[str, float]] = {}
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                               env=env)
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            tree = _tree(process.pid)
            for kind in {k for k, _, _ in tree.values()}:
                peaks[kind] = max(peaks.get(kind, 0.0), max(r for k, r, _ in tree.values() if k == kind))
            peaks["total"] = max(peaks.get("total", 0.0), sum(r for _, r, _ in tree.values()))
            # the latest kind that says something: the JVM starts as the spark-class script (then execs java),
            # and an exited worker's empty command line is "other"
            cpu.update({pid: (cpu[pid][0] if kind == "other" and pid in cpu else kind, seconds)
                        for pid, (kind, _, seconds) in tree.items()})
            done.wait(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = process.communicate()
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{stderr[-3000:]}")
    seconds = time.perf_counter() - started
    kinds = {kind: round(sum(c for k, c in cpu.values() if k == kind), 1) for kind, _ in cpu.values()}
    return (json.loads(stdout.strip().splitlines()[-1]), seconds, {k: round(v, 1) for k, v in peaks.items()},
            {**kinds, "total": round(sum(c for _, c in cpu.values()), 1)})


def lake(work: Path, leads: int) -> Path:
    """Return a Parquet folder of the generated ``leads`` database (generated and exported once)."""
    folder = work / f"lake_{leads}_{generator_tag()}"
    if folder.exists():
        return folder
    db = work / f"leads_{leads}_{generator_tag()}.duckdb"
    cached = ROOT / "benchmarks" / ".data" / "score" / db.name
    if not db.exists() and cached.exists():
        shutil.copy(cached, db)  # the scoring benchmark's database: the same 1M leads
    db = generated_database(work, leads, seed=1)
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    con = duckdb.connect(str(db), read_only=True)
    try:
        for table in ("leads", "activities", "opportunities"):
            con.execute(f"COPY {table} TO '{tmp / (table + '.parquet')}' (FORMAT parquet, ROW_GROUP_SIZE 500000)")
    finally:
        con.close()
    tmp.rename(folder)
    return folder



def config_for(base: Path, work: Path, master: str) -> Path:
    """A copy of the benchmark config whose Spark session runs on ``master``."""
    config = yaml.safe_load(base.read_text())
    config["spark"] = {"master": master, "driver_memory": "2g", "shuffle_partitions": CORES}
    path = work / f"config_{master.replace('[', '').replace(']', '')}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def model_shipping(model_dir: str) -> dict:
    """What shipping the model costs: its pickled size (it travels inside every task) and the unpickling."""
    from leadml.modeling.lead_model import LeadModel

    shipped = pickle.dumps(LeadModel.load(model_dir))
    started = time.perf_counter()
    pickle.loads(shipped)
    return {"pickled_mb": round(len(shipped) / 2**20, 1), "unpickle_seconds": round(time.perf_counter() - started, 2)}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


def per_bucket(records: list[dict]) -> dict:
    """Median, p90 and max of the worker's seconds per bucket, with the bucket sizes and the gaps."""
    seconds, cpu = [r["seconds"] for r in records], [r["cpu_seconds"] for r in records]
    gaps = [r["gap"] for r in records if r["gap"] is not None]
    return {"buckets_logged": len(records), "workers": len({r["worker"] for r in records}),
            "seconds": {"median": round(statistics.median(seconds), 1), "p90": round(percentile(seconds, 0.9), 1),
                        "max": round(max(seconds), 1)},
            "cpu_seconds": {"median": round(statistics.median(cpu), 1), "p90": round(percentile(cpu, 0.9), 1),
                            "max": round(max(cpu), 1)},
            "gap_seconds_median": round(statistics.median(gaps), 1) if gaps else None,
            "leads": {"median": round(statistics.median(r["leads"] for r in records)),
                      "min": min(r["leads"] for r in records), "max": max(r["leads"] for r in records)},
            "activities_median": round(statistics.median(r["activities"] for r in records)),
            "cpu_microseconds_per_activity": round(1e6 * sum(cpu) / sum(r["activities"] for r in records), 1),
            "worker_peak_mb": max(r["peak_mb"] for r in records)}


def bench(leads: int, *, data: Path, config: Path, model: str, work: Path) -> dict:
    """Score ``data`` on Spark with the bucket log on; return the run's wall, stages, per-bucket costs and peaks."""
    out, log = work / f"spark_{leads}", work / f"buckets_{leads}"
    for folder in (out, Path(f"{out}_rejects"), log):
        shutil.rmtree(folder, ignore_errors=True)
    command = [LEADML, "score", "--config", str(config), "--data", str(data), "--as-of", AS_OF, "--model", model,
               "--out", str(out), "--json", "--engine", "spark"]
    load_before, launched = load_average(), time.time()
    result, seconds, peaks, cpu = run(command, {**os.environ, "LEADML_BUCKET_LOG": str(log)})
    from leadml.spark.timing import read_log

    records = [r for r in read_log(log) if r["function"] == "score_bucket"]
    stages = {"process start": round(seconds - result["seconds"], 1), **result["stages"]}
    fixed = round(sum(stages[s] for s in FIXED), 1)
    bucket_stage_start = launched + fixed
    return {"run": f"spark2_{leads}", "leads_generated": leads, "leads_scored": result["scored"],
            "buckets": result["buckets"], "wall_seconds": round(seconds, 1), "stages": stages,
            "fixed_seconds": fixed, "per_bucket": per_bucket(records),
            "bucket_stage": {"before_first_bucket_seconds": round(records[0]["started"] - bucket_stage_start, 1),
                             "first_to_last_bucket_seconds": round(max(r["ended"] for r in records)
                                                                   - records[0]["started"], 1)},
            "cpu_seconds": cpu, "peak_mb": peaks, "load_average": {"before": load_before, "after": load_average()}}


def marginal(results: list[dict]) -> float:
    """What one more bucket costs in CPU seconds of every process (JVM, driver, Python workers): the
    least-squares slope of the runs' total CPU seconds against their buckets (one run: total / buckets)."""
    points = [(r["buckets"], r["cpu_seconds"]["total"]) for r in results]
    if len({b for b, _ in points}) < 2:
        return points[0][1] / points[0][0]
    mean_b, mean_c = statistics.fmean(b for b, _ in points), statistics.fmean(c for _, c in points)
    return sum((b - mean_b) * (c - mean_c) for b, c in points) / sum((b - mean_b) ** 2 for b, _ in points)


def sizing(results: list[dict]) -> dict:
    """Executor cores to score 10M and 100M leads within the hour, from the measured runs.

    cores = ceil(buckets x s x HEADROOM / (3600 - fixed)). s, the per-bucket cost in core-seconds, is the
    larger of the marginal CPU seconds per bucket of the whole run (reading, shuffle, Arrow hand-over, the
    pandas pipeline, ranking, writing) and the p90 of the workers' CPU seconds per bucket, scaled to a
    bucket of exactly ``CHUNK`` leads as ``bucket_count`` makes them; fixed is the largest run's.
    """
    largest = max(results, key=lambda r: r["buckets"])
    per_bucket_cpu = marginal(results)
    worker_p90 = max(r["per_bucket"]["cpu_seconds"]["p90"] for r in results)
    cost = max(per_bucket_cpu, worker_p90) * CHUNK / (largest["leads_generated"] / largest["buckets"])
    out = {"marginal_cpu_seconds_per_bucket": round(per_bucket_cpu, 1), "worker_p90_cpu_seconds": worker_p90,
           "per_bucket_core_seconds": round(cost, 1), "headroom": HEADROOM, "fixed_seconds": largest["fixed_seconds"],
           "memory_per_core_mb": max(r["per_bucket"]["worker_peak_mb"] for r in results)}
    for name, leads in SIZES.items():
        buckets = math.ceil(leads / CHUNK)
        out[name] = {"buckets": buckets,
                     "cores": math.ceil(buckets * cost * HEADROOM / (HOUR - largest["fixed_seconds"]))}
    return out


def flatness(results: list[dict]) -> dict:
    """The per-bucket cost at the most buckets divided by that at the fewest, and the CPU each added bucket cost."""
    runs = sorted(results, key=lambda r: r["buckets"])
    few, many = runs[0]["per_bucket"], runs[-1]["per_bucket"]
    steps = [round((b["cpu_seconds"]["total"] - a["cpu_seconds"]["total"]) / (b["buckets"] - a["buckets"]), 1)
             for a, b in zip(runs, runs[1:], strict=False) if b["buckets"] > a["buckets"]]
    return {"buckets": [runs[0]["buckets"], runs[-1]["buckets"]],
            "median_cpu_ratio": round(many["cpu_seconds"]["median"] / few["cpu_seconds"]["median"], 2),
            "median_wall_ratio": round(many["seconds"]["median"] / few["seconds"]["median"], 2),
            "cpu_per_activity_ratio": round(many["cpu_microseconds_per_activity"]
                                            / few["cpu_microseconds_per_activity"], 2),
            "added_cpu_seconds_per_bucket": steps}


def main() -> None:
    args, work = arguments(__doc__, "spark", {
        "--leads": {"type": int, "nargs": "+", "default": [100_000, 200_000, 400_000]},
        "--million": {"action": "store_true", "help": "also 1,000,000 leads (20 buckets): about 20 minutes more"},
        "--keep": {"action": "store_true", "help": "keep the earlier results of runs not repeated now"}})
    config = config_for(setup(work), work, f"local[{CORES}]")
    model = str(next((work / "models").iterdir()))
    saved = RESULTS / "spark.json"
    results = json.loads(saved.read_text())["results"] if args.keep and saved.exists() else []
    results = [r for r in results if "per_bucket" in r]  # rows of the earlier benchmark's shape are dropped
    shipping = model_shipping(model)
    for leads in sorted(set(args.leads) | ({1_000_000} if args.million else set())):
        result = bench(leads, data=lake(work, leads), config=config, model=model, work=work)
        print(json.dumps(result), flush=True)
        results = sorted([r for r in results if r["run"] != result["run"]] + [result], key=lambda r: r["buckets"])
        report(results, shipping)  # after every run


def report(results: list[dict], shipping: dict) -> None:
    about = meta(explainer="treeshap (default config)", as_of=AS_OF, source="Parquet lake",
                 spark=f"local[{CORES}], driver memory 2g, {CORES} shuffle partitions, "
                       "chunk_size 50,000 leads per bucket",
                 model_shipping=shipping)
    scale = sizing(results)
    flat = flatness(results) if len(results) > 1 else None
    publish("spark", {"meta": about, "results": results, "flatness": flat, "sizing": scale},
            "\n".join(lines(results, about, flat, scale)))


def table(results: list[dict]) -> list[str]:
    out = ["| leads scored | buckets | wall s | fixed s (start + model + session + plan) | bucket stage s (before "
           "first bucket) | rank + write s | per bucket: CPU s median / p90 / max | wall s median / p90 / max | "
           "hand-over gap s | leads (min–max) | activities | CPU µs per activity | worker peak MB | workers | "
           "CPU s all processes (JVM) | peak MB JVM / all | load before → after |",
           "|" + "---|" * 17]
    for r in results:
        b, s, p, c = r["per_bucket"], r["stages"], r["peak_mb"], r["cpu_seconds"]
        out.append(
            f"| {r['leads_scored']:,} | {r['buckets']} | {r['wall_seconds']} | {r['fixed_seconds']} "
            f"({s['process start']} + {s['model']:.1f} + {s['session']:.1f} + {s['plan']:.1f}) | {s['buckets']:.1f} "
            f"({r['bucket_stage']['before_first_bucket_seconds']}) | "
            f"{s['rank and write'] + s['rejects and fingerprint']:.1f} | {b['cpu_seconds']['median']} / "
            f"{b['cpu_seconds']['p90']} / {b['cpu_seconds']['max']} | {b['seconds']['median']} / "
            f"{b['seconds']['p90']} / {b['seconds']['max']} | {b['gap_seconds_median']} | {b['leads']['median']:,} "
            f"({b['leads']['min']:,}–{b['leads']['max']:,}) | {b['activities_median']:,} | "
            f"{b['cpu_microseconds_per_activity']} | {b['worker_peak_mb']} | {b['workers']} | {c['total']} "
            f"({c.get('jvm', '-')}) | {p.get('jvm', '-')} / {p.get('total', '-')} | "
            f"{r['load_average']['before']} → {r['load_average']['after']} |")
    return out


def busy(results: list[dict]) -> str:
    loads = [v for r in results for v in r["load_average"].values()]
    if max(loads) <= CORES:
        return f"The machine was quiet: load average {min(loads)}–{max(loads)} on {CORES} cores."
    return (f"**The machine was busy:** load average {min(loads)}–{max(loads)} on {CORES} cores (other jobs). The "
            "wall seconds hold the waits for a core, most where two workers ran at once; the CPU seconds much less.")


def lines(results: list[dict], about: dict, flat: dict | None, scale: dict) -> list[str]:
    ship = about["model_shipping"]
    out = ["# Spark engine benchmark: the cost of one bucket", "",
           f"Measured {about['date']} on {about['machine']} with `make bench-spark`: `leadml score --engine spark` "
           f"as of {AS_OF} from a Parquet lake of generated leads, default config (exact TreeSHAP reasons). "
           f"Spark: {about['spark']}.", "", *table(results), "",
           "Per bucket, each Python worker logs its own cost (`LEADML_BUCKET_LOG`, `leadml.spark.timing`): from "
           "the bucket's Arrow tables in hand to its Arrow table out (pandas, clean, features, score, reasons), as "
           "wall seconds and as the CPU seconds of the worker process (all threads). On a shared machine the CPU "
           "seconds are the cost; the wall seconds also hold the waits for a core. The hand-over gap is the median "
           "time between two buckets of the same worker (Spark handing over the next bucket's Arrow batches). "
           "Bucket stage = the driver's wall for reading, the shuffle and every bucket, with the part before the "
           "first bucket started (reading and the shuffle's map side) in brackets; rank + write includes the "
           "rejects and the source fingerprint. CPU s all processes is sampled from /proc (JVM, driver, workers). "
           f"The model travels pickled inside every task: {ship['pickled_mb']} MB, unpickled in "
           f"{ship['unpickle_seconds']} s (once per task, not per bucket)."]
    if flat:
        out += ["", f"**Flat per-bucket cost:** from {flat['buckets'][0]} to {flat['buckets'][1]} buckets the "
                f"median CPU seconds per bucket change by ×{flat['median_cpu_ratio']} (wall ×"
                f"{flat['median_wall_ratio']}), the CPU per activity by ×{flat['cpu_per_activity_ratio']}; each "
                f"added bucket cost the whole run {flat['added_cpu_seconds_per_bucket']} CPU seconds (from one run "
                "to the next)."]
    out += ["", f"**Sizing** (docs/spark.md): per-bucket cost {scale['per_bucket_core_seconds']} core-seconds (the "
            f"larger of the marginal {scale['marginal_cpu_seconds_per_bucket']} CPU s per bucket of the whole run "
            f"and the workers' p90 {scale['worker_p90_cpu_seconds']} CPU s) × {scale['headroom']} headroom, fixed "
            f"{scale['fixed_seconds']} s: " + "; ".join(
                f"{name}: {scale[name]['buckets']:,} buckets → {scale[name]['cores']} executor cores within an hour"
                for name in SIZES) + f"; Python worker memory per core {scale['memory_per_core_mb']} MB.",
            "", busy(results), "", "Changed from the previous results: those timed whole runs (the `path` explainer, "
            "100k leads in 413 s and 1M in 1,282 s, the local engine beside them), whose wall is dominated by fixed "
            "costs; these log each bucket's cost in the worker and record the fixed costs apart, with the default "
            "config (exact TreeSHAP) and the faster scoring (TreeSHAP by decision pattern)."]
    return out


if __name__ == "__main__":
    main()
