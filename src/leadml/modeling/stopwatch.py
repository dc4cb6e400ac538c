"""Wall time per stage: training, scoring and Spark runs report where their time went."""

from __future__ import annotations

import time


class Stopwatch:
    """Wall time per stage, for the run's metrics and the training benchmark."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.laps[stage] = round(self.laps.get(stage, 0.0) + now - self._last, 3)
        self._last = now

    def add(self, laps: dict[str, float]) -> None:
        """Add stages timed by another stopwatch (another thread's work), without taking a lap here."""
        for stage, seconds in laps.items():
            self.laps[stage] = round(self.laps.get(stage, 0.0) + seconds, 3)
