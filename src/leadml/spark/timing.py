"""What a bucket costs: per-bucket timings in the Python workers (the driver's stages use
``leadml.modeling.training.Stopwatch``).

Per bucket, switched on by the environment variable ``LEADML_BUCKET_LOG`` (a folder the workers can
write to; on a cluster pass it with ``--conf spark.executorEnv.LEADML_BUCKET_LOG=...``): every
bucket function appends one JSON line to ``<folder>/<host>-<pid>.jsonl`` with

- ``bucket``, ``leads`` (lead rows in), ``activities`` (activity rows in) and ``rows`` (rows out);
- ``started`` and ``ended`` (epoch seconds) and ``seconds``: from the bucket's Arrow tables in hand
  to its Arrow table out, i.e. to pandas, clean, features, score, reasons and back to Arrow;
  ``cpu_seconds``: the CPU time the worker process (all its threads) spent on it meanwhile, which
  other jobs on a busy machine do not inflate as they do the wall seconds;
- ``worker``: ``<host>-<pid>`` of the Python worker;
- ``gap``: seconds since the same worker process finished its previous bucket (``None`` for its
  first): Spark handing over the next bucket's Arrow batches and taking back the previous output,
  plus any wait for the shuffle;
- ``peak_mb``: the worker process's peak resident memory so far.

Unset (the default), nothing is measured or written and the output is unchanged.
"""

from __future__ import annotations

import functools
import json
import os
import resource
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from leadml.spark.buckets import BUCKET, TAG

ENV = "LEADML_BUCKET_LOG"
_previous_end: list[float] = []  # this worker process's last bucket end, if any


def _bucket(history: pa.Table, activities: pa.Table) -> int | None:
    for table in (history, activities):
        if table.num_rows and BUCKET in table.column_names:
            return int(table[BUCKET][0].as_py())
    return None


def _leads(history: pa.Table) -> int:
    if not history.num_rows or TAG not in history.column_names:
        return 0
    return int(pc.sum(pc.equal(history[TAG], "leads")).as_py() or 0)


def timed(function: Callable[..., pa.Table]) -> Callable[..., pa.Table]:
    """Wrap a bucket function ``(history, activities, **settings) -> Arrow`` to log its cost per bucket."""

    @functools.wraps(function)
    def wrapper(history: pa.Table, activities: pa.Table, **settings: object) -> pa.Table:
        folder = os.environ.get(ENV)
        if not folder:
            return function(history, activities, **settings)
        started, clock, cpu = time.time(), time.perf_counter(), time.process_time()
        out = function(history, activities, **settings)
        seconds, cpu, ended = time.perf_counter() - clock, time.process_time() - cpu, time.time()
        worker = f"{socket.gethostname()}-{os.getpid()}"
        record = {"function": function.__name__, "worker": worker, "bucket": _bucket(history, activities),
                  "leads": _leads(history), "activities": activities.num_rows, "rows": out.num_rows,
                  "started": round(started, 3), "ended": round(ended, 3), "seconds": round(seconds, 3),
                  "cpu_seconds": round(cpu, 3),
                  "gap": round(started - _previous_end[-1], 3) if _previous_end else None,
                  "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
        _previous_end[:] = [ended]
        Path(folder).mkdir(parents=True, exist_ok=True)
        with open(Path(folder) / f"{worker}.jsonl", "a") as log:
            log.write(json.dumps(record) + "\n")
        return out

    return wrapper


def read_log(folder: str | Path) -> list[dict]:
    """Return every bucket record written under ``folder``, in start order."""
    records = [json.loads(line) for path in sorted(Path(folder).glob("*.jsonl"))
               for line in path.read_text().splitlines() if line.strip()]
    return sorted(records, key=lambda r: r["started"])
