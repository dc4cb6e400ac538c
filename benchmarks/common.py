"""What the benchmarks share: the leadml command, cached generated databases, a config whose
stores live in the benchmark's folder, the machine line, and writing the results files.

Databases are cached per generator version: a changed ``data/demo_generator.py`` makes new data.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
LEADML = str(Path(sys.executable).with_name("leadml"))
RESULTS = ROOT / "benchmarks" / "results"


def arguments(description: str, work: str, options: dict[str, dict[str, Any]]) -> tuple[argparse.Namespace, Path]:
    """Parse ``--work`` (default ``benchmarks/.data/<work>``) and ``options`` (flag: add_argument keywords);
    return them with the work folder, created."""
    parser = argparse.ArgumentParser(description=description)
    for flag, keywords in options.items():
        parser.add_argument(flag, **keywords)
    parser.add_argument("--work", default=str(ROOT / "benchmarks" / ".data" / work))
    args = parser.parse_args()
    folder = Path(args.work)
    folder.mkdir(parents=True, exist_ok=True)
    return args, folder


def run_json(command: list[str], env: dict | None = None) -> dict:
    """Run a command from the repository root; return its last JSON line, or stop with its stderr."""
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env)
    if result.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def generator_tag() -> str:
    return hashlib.sha256((ROOT / "src" / "leadml" / "data" / "demo_generator.py").read_bytes()).hexdigest()[:8]


def generated_database(work: Path, leads: int, seed: int, stem: str = "leads") -> Path:
    """Return ``work/<stem>_<leads>_<tag>.duckdb``, generating it first if it is not there yet."""
    db = work / f"{stem}_{leads}_{generator_tag()}.duckdb"
    if not db.exists():
        run_json([LEADML, "generate", "--leads", str(leads), "--seed", str(seed), "--out", str(db), "--json"])
    return db


def local_config(work: Path, **sections: Any) -> Path:
    """Write the default config with its tracking store and models in ``work``, ``sections`` merged in."""
    config = yaml.safe_load((ROOT / "configs" / "default.yaml").read_text())
    config["tracking"] = {**config["tracking"], "uri": f"sqlite:///{work / 'mlflow.db'}",
                          "artifact_root": str(work / "mlartifacts")}
    config["models_dir"] = str(work / "models")
    for name, values in sections.items():
        config[name] = {**config.get(name, {}), **values}
    path = work / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def meta(**extra: Any) -> dict[str, Any]:
    """The date and machine line every result file starts with."""
    return {"date": time.strftime("%Y-%m-%d"),
            "machine": f"{platform.machine()}, Python {platform.python_version()}, {os.cpu_count()} cores", **extra}


def publish(name: str, payload: dict[str, Any], markdown: str) -> None:
    """Write ``results/<name>.json`` and ``results/<name>.md`` and print the Markdown."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=1) + "\n")
    (RESULTS / f"{name}.md").write_text(markdown.rstrip("\n") + "\n")
    print(markdown)


def load_average() -> float:
    """The 1-minute load average: on 2 cores, anything above ~1 means another job shared the machine."""
    return round(os.getloadavg()[0], 2)
