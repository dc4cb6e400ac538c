"""Activities of many leads on one sorted int64 axis, for window queries without joins.

Each activity gets the key ``lead_slot * SPAN + seconds``. After one sort, a spine row (lead, T)
finds the end of its lead's history at T with ``searchsorted``, and any window (T - w, T] is a
pair of indexes; sums over a window are differences of prefix sums. Only positions at or before
T are ever inside a window, which is what keeps every feature point-in-time correct.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ORIGIN = pd.Timestamp("1900-01-01", tz="UTC")
SPAN = np.int64(1) << 36  # seconds per lead slot: about 2,000 years
DAY = 86400


def seconds_since_origin(times: pd.Series, round_up: bool = False) -> np.ndarray:
    """Whole seconds since 1900 as int64, by Timedelta arithmetic (never raw nanoseconds).

    Activities round up and as-of moments round down, so a touch a fraction of a second after T
    never lands at or before T.
    """
    delta = times - ORIGIN
    seconds = (-((-delta) // pd.Timedelta(seconds=1)) if round_up else delta // pd.Timedelta(seconds=1))
    return np.clip(seconds.to_numpy(dtype="int64"), 0, SPAN - 1)


class Timeline:
    """Sorted activities of many leads with prefix-sum window queries for spine rows."""

    def __init__(self, lead_slot: np.ndarray, seconds: np.ndarray):
        keys = lead_slot.astype("int64") * SPAN + seconds
        self.order = np.argsort(keys, kind="stable")
        self.keys = keys[self.order]
        self.lead = lead_slot[self.order]
        self.seconds = seconds[self.order]

    def __len__(self) -> int:
        return len(self.keys)

    def sorted(self, values: np.ndarray) -> np.ndarray:
        """Return per-activity values (in input order) in timeline order."""
        return np.asarray(values)[self.order]

    def end(self, row_lead: np.ndarray, row_sec: np.ndarray) -> np.ndarray:
        """Index just after each row's last activity at or before its as-of second."""
        return np.searchsorted(self.keys, row_lead.astype("int64") * SPAN + row_sec, side="right")

    def start(self, row_lead: np.ndarray) -> np.ndarray:
        """Index of each row's lead's first activity (equal to ``end`` when it has none)."""
        return np.searchsorted(self.keys, row_lead.astype("int64") * SPAN, side="left")

    def since(self, row_lead: np.ndarray, row_sec: np.ndarray, days: float) -> np.ndarray:
        """Index of each row's first activity after ``as_of - days`` (window start)."""
        return np.searchsorted(self.keys, row_lead.astype("int64") * SPAN + row_sec - int(days * DAY),
                               side="right")


def prefix(values: np.ndarray) -> np.ndarray:
    """Prefix sums with a leading zero: ``prefix(v)[j] - prefix(v)[i]`` sums ``v[i:j]``."""
    return np.concatenate([[0], np.cumsum(values, dtype="float64")])
