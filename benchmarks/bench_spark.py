"""Spark engine benchmark: `leadml score` with --engine spark beside the local engine, same data, same run.

Both engines read the same Parquet lake (the generated 1M-lead database exported from DuckDB) and
score it as of 2026-11-01 with the same model folder. Each command runs as a child process while
a sampler reads /proc every half second, so the peak memory is known per process: the Python
driver, the Spark JVM (in local mode it is the driver and the executors at once) and the Python
workers. A smaller database gives the second point of each engine's scaling line, and local[1]
beside local[2] shows what a second executor core buys. Results go to benchmarks/results/spark.*.
"""

from __future__ import annotations

import json
import os
import shutil
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
from benchmarks.common import LEADML, RESULTS, arguments, generated_database, generator_tag, meta, publish  # noqa: E402

PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20


def _tree(root: int) -> dict[int, tuple[str, float]]:
    """Return every live process under ``root`` (itself included): pid -> (kind, RSS in MB)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
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
        except (OSError, ValueError, IndexError):
            continue
        kind = ("driver" if pid == root else "jvm" if "java" in command.split(" ")[0]
                else "python_worker" if "pyspark" in command or "python" in command else "other")
        out[pid] = (kind, rss)
    return out


def run(command: list[str]) -> tuple[dict, float, dict[str, float]]:
    """Run a command; return its last JSON line, wall seconds and peak MB per process kind and in total."""
    peaks: dict[str, float] = {}
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            tree = _tree(process.pid)
            for kind in {k for k, _ in tree.values()}:
                peaks[kind] = max(peaks.get(kind, 0.0), max(r for k, r in tree.values() if k == kind))
            peaks["total"] = max(peaks.get("total", 0.0), sum(r for _, r in tree.values()))
            done.wait(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = process.communicate()
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{stderr[-3000:]}")
    seconds = time.perf_counter() - started
    return json.loads(stdout.strip().splitlines()[-1]), seconds, {k: round(v, 1) for k, v in peaks.items()}


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
    config["spark"] = {"master": master, "driver_memory": "2g", "shuffle_partitions": 2}
    path = work / f"config_{master.replace('[', '').replace(']', '')}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def bench(name: str, data: Path, config: Path, model: str, work: Path, engine: str) -> dict:
    out = work / f"{name}.parquet" if engine == "local" else work / name
    shutil.rmtree(out, ignore_errors=True) if out.is_dir() else out.unlink(missing_ok=True)
    command = [LEADML, "score", "--config", str(config), "--data", str(data), "--as-of", AS_OF, "--model", model,
               "--out", str(out), "--json"] + (["--engine", "spark"] if engine == "spark" else [])
    result, seconds, peaks = run(command)
    return {"run": name, "engine": engine, "leads_scored": result["scored"], "seconds": round(seconds, 1),
            "leads_per_second": round(result["scored"] / seconds), "peak_mb": peaks,
            "buckets": result.get("buckets")}


def main() -> None:
    args, work = arguments(__doc__, "spark", {
        "--leads": {"type": int, "nargs": "+", "default": [100_000, 1_000_000]},
        "--keep": {"action": "store_true", "help": "keep the earlier results of runs not repeated now"}})
    base = setup(work, "path")
    model = str(next((work / "models").iterdir()))
    two, one = config_for(base, work, "local[2]"), config_for(base, work, "local[1]")
    saved = RESULTS / "spark.json"
    results = json.loads(saved.read_text())["results"] if args.keep and saved.exists() else []
    for leads in sorted(args.leads):
        data = lake(work, leads)
        runs = [("spark2", two, "spark"), ("local", base, "local")]
        runs += [("spark1", one, "spark")] if leads <= 100_000 else []  # a second core's worth, on small data
        for name, config, engine in runs:
            load = os.getloadavg()[0]
            result = {**bench(f"{name}_{leads}", data, config, model, work, engine),
                      "load_average_before": round(load, 1)}
            print(json.dumps(result), flush=True)
            results = [r for r in results if r["run"] != result["run"]] + [result]
            report(sorted(results, key=lambda r: (r["leads_scored"], r["run"])))  # after every run


def report(results: list[dict]) -> None:
    about = meta(explainer="path", as_of=AS_OF, source="Parquet lake (same files)",
                 spark="local mode, driver memory 2g, 2 shuffle partitions, chunk_size 50,000 leads per bucket")
    lines = ["# Spark engine benchmark", "",
             f"Measured {about['date']} on {about['machine']} with `make bench-spark`: `leadml score` as of {AS_OF} "
             "from the same Parquet lake, reasons by the `path` explainer, the same model folder. "
             f"Spark: {about['spark']}.", "",
             "| run | engine | leads scored | wall s | leads/s | peak MB driver (Python) | peak MB JVM | "
             "peak MB one Python worker | peak MB all processes | load average before |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        p = r["peak_mb"]
        lines.append(f"| {r['run']} | {r['engine']} | {r['leads_scored']:,} | {r['seconds']} | "
                     f"{r['leads_per_second']:,} | {p.get('driver', '-')} | {p.get('jvm', '-')} | "
                     f"{p.get('python_worker', '-')} | {p.get('total', '-')} | {r.get('load_average_before', '-')} |")
    lines += ["", "Peak memory is sampled from /proc every 0.5 s over the command's process tree. For the local "
              "engine the driver is the whole job; for Spark in local mode the JVM is the driver and the executors "
              "at once, and the Python workers run the pandas pipeline one bucket at a time. The machine's "
              "2 cores are shared with other jobs: the load average before each run says how busy it was."]
    publish("spark", {"meta": about, "results": results}, "\n".join(lines))


if __name__ == "__main__":
    main()
