"""Per-bucket timings: nothing measured unless LEADML_BUCKET_LOG names a folder, then one line per bucket."""

from __future__ import annotations

import os

import pyarrow as pa
import pytest

from leadml.modeling.stopwatch import Stopwatch
from leadml.spark import timing
from leadml.spark.buckets import BUCKET, TAG


@timing.timed
def double(history: pa.Table, activities: pa.Table, *, factor: int) -> pa.Table:
    return pa.table({"x": [factor] * (history.num_rows * 2)})


def bucket(number: int) -> tuple[pa.Table, pa.Table]:
    history = pa.table({TAG: ["leads", "leads", "opportunities"], BUCKET: [number] * 3})
    activities = pa.table({"lead_id": ["a"] * 5, BUCKET: [number] * 5})
    return history, activities


def test_bucket_functions_log_their_cost_only_when_asked(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(timing.ENV, raising=False)
    monkeypatch.setattr(timing, "_previous_end", [])
    assert double(*bucket(3), factor=7).num_rows == 6 and not list(tmp_path.iterdir())  # off: nothing written

    monkeypatch.setenv(timing.ENV, str(tmp_path / "log"))
    out = double(*bucket(3), factor=7)
    double(*bucket(5), factor=7)
    assert out.column("x").to_pylist() == [7] * 6  # the output is unchanged
    first, second = timing.read_log(tmp_path / "log")
    assert (first["function"], first["bucket"], first["leads"], first["activities"], first["rows"]) == (
        "double", 3, 2, 5, 6)
    assert second["bucket"] == 5 and first["gap"] is None and 0 <= second["gap"] < 60
    assert first["started"] <= first["ended"] <= second["started"] and first["seconds"] >= 0
    assert first["peak_mb"] > 0 and first["cpu_seconds"] >= 0 and first["worker"].endswith(f"-{os.getpid()}")


def test_stages_add_up_the_laps() -> None:
    stages = Stopwatch()
    stages.lap("a")
    stages.lap("b")
    stages.lap("a")
    assert list(stages.laps) == ["a", "b"] and all(s >= 0 for s in stages.laps.values())
