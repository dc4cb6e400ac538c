"""The publish lock: one publisher per output, and what a killed run of that output left is removed."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadml.reporting.publish_lock import BusyError, exclusive


def test_the_next_run_removes_what_a_killed_run_of_the_same_output_left(tmp_path: Path) -> None:
    out = tmp_path / "scores.csv"
    left = [tmp_path / ".scores.tmp.k1l2.csv", tmp_path / ".scores.rejects.tmp.x9.csv"]
    other = tmp_path / ".leads.tmp.ab.csv"  # another output's: not this run's to remove
    for path in [*left, other]:
        path.write_text("half", encoding="utf-8")
    with exclusive(out):
        assert not any(path.exists() for path in left) and other.exists()
        with pytest.raises(BusyError, match="another leadml run is publishing"), exclusive(out):
            pass
