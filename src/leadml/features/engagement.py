"""Engagement features: what a lead did, measured over windows that end at its as-of moment.

Vectorised over the whole spine with a ``Timeline`` (sorted activities, prefix sums and
``searchsorted``): no join of spine rows to activities and no Python loop per lead or row.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from leadml.config import CORE_ACTIVITY_TYPES
from leadml.features.timeline import DAY, Timeline, prefix, seconds_since_origin

CORE_TYPES = CORE_ACTIVITY_TYPES  # declared in config, where mappings onto them are checked
OTHER = "other"
HIGH_INTENT = ("pricing_page_view", "demo_requested", "meeting_booked", "meeting_held", "free_trial_started")
VELOCITY_DAYS = 14
SILENCE_DAYS = 60
MAX_HALF_LIVES = 1000.0  # decay weights are relative to a lead's first touch; 2**1000 still fits a float


def activity_types() -> tuple[str, ...]:
    """Return the activity types that get their own counts; any other type counts as 'other'."""
    return (*CORE_TYPES, OTHER)


def window_name(window: int | None) -> str:
    return "all" if window is None else f"{window}d"


def engagement_features(spine: pd.DataFrame, activities: pd.DataFrame, windows: Sequence[int],
                        half_lives: Sequence[int]) -> pd.DataFrame:
    """Return counts, decayed counts, recency, rhythm and response features per spine row."""
    lead_ids = pd.Index(pd.unique(spine["lead_id"]))
    acts = activities[activities["lead_id"].isin(lead_ids)]
    timeline = Timeline(lead_ids.get_indexer(acts["lead_id"]), seconds_since_origin(acts["occurred_at"], round_up=True))
    row_lead = lead_ids.get_indexer(spine["lead_id"])
    row_sec = seconds_since_origin(spine["as_of"])
    types = activity_types()
    code = timeline.sorted(pd.Categorical(acts["activity_type"].where(acts["activity_type"].isin(CORE_TYPES), OTHER),
                                          categories=types).codes)
    high_intent = np.isin(code, [types.index(t) for t in HIGH_INTENT])
    end, start = timeline.end(row_lead, row_sec), timeline.start(row_lead)
    lower = {window: np.maximum(timeline.since(row_lead, row_sec, window), start) for window in windows}
    lower[None] = start

    columns = _window_counts(timeline, code, lower, end)
    for half_life, (weights, factor) in _decay_weights(timeline, row_sec, half_lives, start=start, end=end).items():
        for type_code, activity_type in enumerate(types):
            columns[f"decayed_{activity_type}_{half_life}d"] = _decayed(
                timeline, weights * (code == type_code), factor, start=start, end=end)
        columns[f"decayed_high_intent_{half_life}d"] = _decayed(timeline, weights * high_intent, factor,
                                                                start=start, end=end)

    everything = np.ones(len(timeline), dtype=bool)
    recent = _count(everything, np.maximum(timeline.since(row_lead, row_sec, VELOCITY_DAYS), start), end)
    before = _count(everything, np.maximum(timeline.since(row_lead, row_sec, 2 * VELOCITY_DAYS), start), end) - recent
    columns["velocity_14d"] = recent - before
    columns["velocity_ratio_14d"] = (recent + 1) / (before + 1)
    columns["active_days_30d"] = _active_days(timeline, lower.get(30, timeline.since(row_lead, row_sec, 30)), end)
    columns["active_days_all"] = _active_days(timeline, start, end)
    columns["distinct_channels"] = _distinct_channels(timeline, timeline.sorted(acts["channel"].to_numpy()),
                                                      start, end)
    columns["days_since_last_touch"] = _days_since(timeline, everything, row_sec, start=start, end=end)
    first_sec = timeline.seconds[np.minimum(start, len(timeline) - 1)] if len(timeline) else row_sec
    columns["days_since_first_touch"] = np.where(end > start, (row_sec - first_sec) / DAY, np.nan)
    columns["days_since_last_high_intent"] = _days_since(timeline, high_intent, row_sec, start=start, end=end)
    trials = code == types.index("free_trial_started")
    columns["days_since_trial_start"] = _days_since(timeline, trials, row_sec, start=start, end=end)
    value = timeline.sorted(acts["value"].to_numpy(dtype="float64", na_value=np.nan))
    minutes = np.where(code == types.index("product_login"), np.nan_to_num(value), 0.0)
    last_30d = np.maximum(timeline.since(row_lead, row_sec, 30), start)
    columns["product_minutes_30d"] = _lead_sum(timeline, minutes, last_30d, start=start, end=end)
    columns["product_minutes_all"] = _lead_sum(timeline, minutes, start, start=start, end=end)
    _add_rates_and_flags(columns)
    return pd.DataFrame(columns, index=spine.index)


def _count(mask: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Number of positions selected by ``mask`` among [lo, hi) of each row."""
    sums = prefix(mask)
    return sums[hi] - sums[lo]


def _window_counts(timeline: Timeline, code: np.ndarray, lower: dict[int | None, np.ndarray],
                   end: np.ndarray) -> dict[str, np.ndarray]:
    """Counts per activity type (``code`` indexes activity_types()) and of all touches, per window."""
    columns: dict[str, np.ndarray] = {}
    for type_code, activity_type in enumerate(activity_types()):
        is_type = code == type_code
        for window, lo in lower.items():
            columns[f"n_{activity_type}_{window_name(window)}"] = _count(is_type, lo, end)
    everything = np.ones(len(timeline), dtype=bool)
    for window, lo in lower.items():
        columns[f"n_touches_{window_name(window)}"] = _count(everything, lo, end)
    return columns


def _add_rates_and_flags(columns: dict[str, np.ndarray]) -> None:
    """Add the response rates and the silence, unsubscribe and bounce flags, from counts and recency."""
    last_touch = columns["days_since_last_touch"]
    columns["email_click_rate"] = _rate(columns["n_email_click_all"], columns["n_email_open_all"])
    columns["email_reply_rate"] = _rate(columns["n_email_reply_all"], columns["n_email_sent_all"])
    columns["webinar_attendance_rate"] = np.minimum(
        _rate(columns["n_webinar_attended_all"], columns["n_webinar_registered_all"]), 1.0)
    columns["is_silent_60d"] = np.where(np.isnan(last_touch) | (last_touch > SILENCE_DAYS), 1.0, 0.0)
    columns["has_unsubscribed"] = (columns["n_unsubscribe_all"] > 0).astype("float64")
    columns["has_bounced"] = (columns["n_email_bounce_all"] > 0).astype("float64")


def _rate(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / denominator, np.nan)


def _days_since(timeline: Timeline, mask: np.ndarray, row_sec: np.ndarray, *, start: np.ndarray,
                end: np.ndarray) -> np.ndarray:
    """Days from each row's as_of back to its lead's last activity selected by ``mask``."""
    # index of the last selected activity at or before each position, -1 where there is none
    last_selected = np.maximum.accumulate(np.where(mask, np.arange(len(timeline)), -1)) if len(timeline) else None
    if last_selected is None:
        return np.full(len(row_sec), np.nan)
    at = last_selected[np.maximum(end - 1, 0)]
    found = (end > start) & (at >= start)
    return np.where(found, (row_sec - timeline.seconds[np.maximum(at, 0)]) / DAY, np.nan)


def _lead_sum(timeline: Timeline, values: np.ndarray, lo: np.ndarray, *, start: np.ndarray,
              end: np.ndarray) -> np.ndarray:
    """Sum of fractional ``values`` over positions [lo, end) of each row's own lead.

    Running sums restart at every lead, so a lead's sum never depends on which other leads share
    its chunk (or Spark bucket): features stay bit-identical however the leads are grouped.
    """
    if not len(timeline):
        return np.zeros(len(lo))
    running = np.concatenate([[0.0], pd.Series(values).groupby(timeline.lead, sort=False).cumsum().to_numpy()])
    below = np.where(lo > start, running[lo], 0.0)
    return np.where(end > lo, running[end] - below, 0.0)


def _decayed(timeline: Timeline, weights: np.ndarray, factor: np.ndarray, *, start: np.ndarray,
             end: np.ndarray) -> np.ndarray:
    """Decayed count per row: its factor times the lead's running sum of weights at its as_of."""
    if not len(timeline):
        return np.zeros(len(start))
    # running sums per lead: a global prefix sum would lose a small lead's sum next to huge ones
    running = pd.Series(weights).groupby(timeline.lead, sort=False).cumsum().to_numpy()
    return np.where(end > start, factor * running[np.maximum(end - 1, 0)], 0.0)


def _decay_weights(timeline: Timeline, row_sec: np.ndarray, half_lives: Sequence[int], *, start: np.ndarray,
                   end: np.ndarray) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Per half-life: activity weights 2**((t - first)/h) and each row's factor 2**(-(T - first)/h).

    The decayed count sum(2**(-(T - t)/h)) is then factor * (the lead's running sum of weights at T);
    weights relative to each lead's first touch stay finite for histories up to 1,000 half-lives.
    """
    first_of_lead = timeline.seconds[timeline.start(timeline.lead)] if len(timeline) else np.zeros(0)
    row_first = timeline.seconds[np.minimum(start, len(timeline) - 1)] if len(timeline) else np.zeros(len(row_sec))
    out = {}
    for half_life in half_lives:
        span = half_life * DAY
        weights = np.exp2(np.minimum((timeline.seconds - first_of_lead) / span, MAX_HALF_LIVES))
        factor = np.where(end > start, np.exp2(-np.minimum((row_sec - row_first) / span, MAX_HALF_LIVES)), 0.0)
        out[half_life] = (weights, factor)
    return out


def _active_days(timeline: Timeline, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Distinct calendar days (UTC) with any activity among positions [lo, hi)."""
    if not len(timeline):
        return np.zeros(len(lo))
    day = timeline.seconds // DAY
    new_day = np.ones(len(timeline), dtype=bool)
    new_day[1:] = (timeline.lead[1:] != timeline.lead[:-1]) | (day[1:] != day[:-1])
    sums = prefix(new_day)
    # the first day inside the window counts even when an earlier touch that day lies outside it
    carried = (lo < hi) & ~new_day[np.minimum(lo, len(timeline) - 1)]
    return sums[hi] - sums[lo] + carried


def _distinct_channels(timeline: Timeline, channel: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Distinct channels a lead was reached through, up to each row's as_of."""
    pairs = pd.DataFrame({"lead": timeline.lead, "channel": channel})
    first_use = (~pairs.duplicated() & pairs["channel"].notna()).to_numpy()
    sums = prefix(first_use)
    return sums[end] - sums[start]
