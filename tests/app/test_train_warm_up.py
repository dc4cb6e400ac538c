"""``leadml train`` imports the fit's libraries and opens the tracking store on a thread while it builds the
snapshot: a data error is raised at once, without waiting for that thread, and the thread's own error is
raised once the snapshot is built."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from leadml.app import train as train_app
from leadml.config import Config, TrackingConfig
from leadml.data.clean import DataError
from leadml.features.spine import as_timestamp
from tests.conftest import AS_OF


def test_a_data_error_is_raised_while_the_warm_up_still_runs(config: Config, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    release, finished = threading.Event(), threading.Event()

    def slow_warm_up(tracking: TrackingConfig) -> None:  # a tracking store that takes its time to answer
        release.wait(60)
        finished.set()

    monkeypatch.setattr(train_app, "_warm_up", slow_warm_up)
    try:
        with pytest.raises(DataError, match="missing.duckdb"):
            train_app.train(config, str(tmp_path / "missing.duckdb"), as_of=as_timestamp(AS_OF))
        assert not finished.is_set()  # the error did not wait for the store
    finally:
        release.set()


def test_the_warm_up_error_is_raised_after_the_snapshot(config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    built = []

    def failing_warm_up(tracking: TrackingConfig) -> None:
        raise RuntimeError(f"tracking store {tracking.uri} refused the connection")

    def snapshot(*args, **kwargs) -> tuple[str, str]:
        built.append(True)
        return "snapshot", "fingerprint"

    monkeypatch.setattr(train_app, "_warm_up", failing_warm_up)
    monkeypatch.setattr(train_app, "_snapshot", snapshot)
    with pytest.raises(RuntimeError, match="refused the connection"):
        train_app.train(config, config.data.source, as_of=as_timestamp(AS_OF))
    assert built == [True]
