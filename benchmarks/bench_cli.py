"""Command-line benchmark: `leadml --help` and `leadml COMMAND --help` for every command, as a user types them.

Each runs as its own process three times; the median wall time is reported beside a bare `python -c pass`
measured in the same run (the interpreter's own start). Target (issue 18): every help under 1 second.
Results go to benchmarks/results/.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import LEADML, arguments, load_average, meta, publish  # noqa: E402

COMMANDS = [[], ["generate"], ["train"], ["score"], ["report"], ["evaluate"], ["monitor"], ["retrain"],
            ["features"], ["map"], ["demo"], ["models"], ["models", "list"], ["models", "promote"],
            ["models", "rollback"]]


def median_seconds(command: list[str], repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return round(statistics.median(times), 3)


def main() -> None:
    arguments(__doc__, "cli", {})
    load_before = load_average()
    python = median_seconds([sys.executable, "-c", "pass"])
    results = [{"command": " ".join(["leadml", *c, "--help"]), "seconds": median_seconds([LEADML, *c, "--help"])}
               for c in COMMANDS]
    about = meta(python_start_seconds=python, load_before=load_before, load_after=load_average())
    lines = ["# Command-line benchmark", "",
             f"Measured {about['date']} on {about['machine']} with `make bench-cli`: the median of three runs of each "
             f"command as its own process. A bare `python -c pass` took {python} s in the same run. Load average "
             f"{about['load_before']} before, {about['load_after']} after.", "",
             "| command | seconds (target < 1) |", "|---|---|"]
    lines += [f"| `{r['command']}` | {r['seconds']} |" for r in results]
    lines += ["", f"Slowest: {max(r['seconds'] for r in results)} s. No help imports MLflow, LightGBM, matplotlib or "
              "PySpark: tests/test_architecture.py::test_every_commands_help_loads_no_heavy_library."]
    publish("cli", {"meta": about, "results": results}, "\n".join(lines))


if __name__ == "__main__":
    main()
