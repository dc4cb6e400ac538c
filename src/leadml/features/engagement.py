"""Engagement features: what a lead did, counted over windows that end at its as-of moment.

Vectorised over the whole spine without joining every spine row to every activity: activities
are sorted by (lead, time) into one int64 key, each spine row finds its own window with
``searchsorted``, and per-type counts are differences of cumulative sums. Only rows at or before
``as_of`` are ever inside a window, which is what makes the features point-in-time correct.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

CORE_TYPES = (
    "email_sent", "email_open", "email_click", "email_reply", "email_bounce", "unsubscribe",
    "newsletter_signup", "web_visit", "pricing_page_view", "content_download", "form_submitted",
    "webinar_registered", "webinar_attended", "event_attended", "free_trial_started", "product_login",
    "demo_requested", "meeting_booked", "meeting_held", "call_connected",
)
OTHER = "other"
HIGH_INTENT = ("pricing_page_view", "demo_requested", "meeting_booked", "meeting_held", "free_trial_started")

_ORIGIN = pd.Timestamp("1900-01-01", tz="UTC")
_SPAN = np.int64(1) << 36  # seconds per lead slot in the sort key: ~2,000 years


def activity_types() -> tuple[str, ...]:
    """Return the activity types that get their own counts; any other type counts as 'other'."""
    return (*CORE_TYPES, OTHER)


def window_name(window: int | None) -> str:
    return "all" if window is None else f"{window}d"


def _seconds(times: pd.Series) -> np.ndarray:
    """Seconds since 1900 as int64, by Timedelta arithmetic (never raw nanoseconds)."""
    seconds = ((times - _ORIGIN) // pd.Timedelta(seconds=1)).to_numpy(dtype="int64")
    return np.clip(seconds, 0, _SPAN - 1)


class _Timeline:
    """Activities of many leads laid out on one sorted int64 axis: lead slot, then time."""

    def __init__(self, lead_code: np.ndarray, seconds: np.ndarray):
        keys = lead_code.astype("int64") * _SPAN + seconds
        self.order = np.argsort(keys, kind="stable")
        self.keys = keys[self.order]
        self.seconds = seconds[self.order]

    def position(self, lead_code: np.ndarray, seconds: np.ndarray) -> np.ndarray:
        """Index after the last activity of each lead at or before ``seconds``."""
        return np.searchsorted(self.keys, lead_code.astype("int64") * _SPAN + seconds, side="right")


def engagement_features(spine: pd.DataFrame, activities: pd.DataFrame,
                        windows: Sequence[int]) -> pd.DataFrame:
    """Return counts per activity type and window, totals and recency for each spine row."""
    lead_ids = pd.Index(pd.unique(spine["lead_id"]))
    acts = activities[activities["lead_id"].isin(lead_ids)]
    act_lead = lead_ids.get_indexer(acts["lead_id"])
    row_lead = lead_ids.get_indexer(spine["lead_id"])
    row_sec = _seconds(spine["as_of"])
    timeline = _Timeline(act_lead, _seconds(acts["occurred_at"]))
    types = activity_types()
    type_code = pd.Categorical(acts["activity_type"].where(acts["activity_type"].isin(CORE_TYPES), OTHER),
                               categories=types).codes[timeline.order]

    hi = timeline.position(row_lead, row_sec)
    lead_start = timeline.position(row_lead, np.full(len(row_lead), -1, dtype="int64"))
    bounds = {None: lead_start}
    for window in windows:
        bounds[window] = np.maximum(timeline.position(row_lead, row_sec - window * 86400), lead_start)

    columns: dict[str, np.ndarray] = {}
    for code, activity_type in enumerate(types):
        cumulative = np.concatenate([[0], np.cumsum(type_code == code, dtype="int64")])
        for window, lo in bounds.items():
            columns[f"n_{activity_type}_{window_name(window)}"] = (cumulative[hi] - cumulative[lo]).astype(
                "float64")
    for window, lo in bounds.items():
        columns[f"n_touches_{window_name(window)}"] = (hi - lo).astype("float64")

    act_sec = _seconds(acts["occurred_at"])
    high_intent = acts["activity_type"].isin(HIGH_INTENT).to_numpy()
    columns["days_since_last_touch"] = _days_since(timeline, row_lead, row_sec, last=True)
    columns["days_since_first_touch"] = _days_since(timeline, row_lead, row_sec, last=False)
    columns["days_since_last_high_intent"] = _days_since(
        _Timeline(act_lead[high_intent], act_sec[high_intent]), row_lead, row_sec, last=True)
    return pd.DataFrame(columns, index=spine.index)


def _days_since(timeline: _Timeline, row_lead: np.ndarray, row_sec: np.ndarray, last: bool) -> np.ndarray:
    """Days from each row's as_of back to the lead's last (or first) activity on the timeline."""
    if not len(timeline.seconds):
        return np.full(len(row_lead), np.nan)
    hi = timeline.position(row_lead, row_sec)
    start = timeline.position(row_lead, np.full(len(row_lead), -1, dtype="int64"))
    at = timeline.seconds[np.maximum(hi - 1, 0)] if last else timeline.seconds[np.minimum(start, hi - 1)]
    return np.where(hi > start, (row_sec - at) / 86400, np.nan)
