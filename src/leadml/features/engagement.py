"""Engagement features: what a lead did, measured over windows that end at its as-of moment.

Vectorised over the whole spine with a ``Timeline`` (sorted activities, prefix sums and
``searchsorted``): no join of spine rows to activities and no Python loop per lead or row.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

try:  # pandas' grouped-cumsum kernel; _running_sums falls back to groupby().cumsum() without it
    from pandas._libs.groupby import group_cumsum as _group_cumsum
except ImportError:  # pragma: no cover
    _group_cumsum = None

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
    lead_ids = pd.Index(pd.unique(spine["lead_id"])).sort_values()  # a sorted spine then searches in order
    slot = positions_in(activities["lead_id"], lead_ids)  # activities of leads outside the spine: -1, dropped
    keep = slot >= 0
    timeline = Timeline(slot[keep], seconds_since_origin(activities["occurred_at"], round_up=True)[keep])
    row_lead = positions_in(spine["lead_id"], lead_ids)
    row_sec = seconds_since_origin(spine["as_of"])
    types = activity_types()
    code = timeline.sorted(_type_codes(activities["activity_type"])[keep])
    high_intent = np.isin(code, [types.index(t) for t in HIGH_INTENT])
    end, start = timeline.end(row_lead, row_sec), timeline.start(row_lead)
    lower = {window: np.maximum(timeline.since(row_lead, row_sec, window), start) for window in windows}
    lower[None] = start

    columns = _window_counts(timeline, code, lower, end)
    for window, lo in lower.items():
        columns[f"n_touches_{window_name(window)}"] = (end - lo).astype("float64")
    columns.update(_decayed_counts(timeline, code, high_intent, row_sec=row_sec, half_lives=half_lives,
                                   row_lead=row_lead, start=start, end=end))

    everything = np.ones(len(timeline), dtype=bool)
    recent = (end - np.maximum(timeline.since(row_lead, row_sec, VELOCITY_DAYS), start)).astype("float64")
    before = (end - np.maximum(timeline.since(row_lead, row_sec, 2 * VELOCITY_DAYS), start)) - recent
    columns["velocity_14d"] = recent - before
    columns["velocity_ratio_14d"] = (recent + 1) / (before + 1)
    columns["active_days_30d"] = _active_days(timeline, lower.get(30, timeline.since(row_lead, row_sec, 30)), end)
    columns["active_days_all"] = _active_days(timeline, start, end)
    channel = timeline.sorted(pd.factorize(activities["channel"])[0][keep])
    columns["distinct_channels"] = _distinct_channels(timeline, channel, start, end)
    columns["days_since_last_touch"] = _days_since(timeline, everything, row_sec, start=start, end=end)
    first_sec = timeline.seconds[np.minimum(start, len(timeline) - 1)] if len(timeline) else row_sec
    columns["days_since_first_touch"] = np.where(end > start, (row_sec - first_sec) / DAY, np.nan)
    columns["days_since_last_high_intent"] = _days_since(timeline, high_intent, row_sec, start=start, end=end)
    trials = code == types.index("free_trial_started")
    columns["days_since_trial_start"] = _days_since(timeline, trials, row_sec, start=start, end=end)
    value = timeline.sorted(activities["value"].to_numpy(dtype="float64", na_value=np.nan)[keep])
    minutes = _running_sums(timeline.lead, np.where(code == types.index("product_login"), np.nan_to_num(value), 0.0))
    last_30d = np.maximum(timeline.since(row_lead, row_sec, 30), start)
    columns["product_minutes_30d"] = _lead_sum(minutes, last_30d, start=start, end=end)
    columns["product_minutes_all"] = _lead_sum(minutes, start, start=start, end=end)
    _add_rates_and_flags(columns)
    return pd.DataFrame(columns, index=spine.index)


def positions_in(values: pd.Series, index: pd.Index) -> np.ndarray:
    """``index.get_indexer(values)``, -1 where absent, looking up each distinct value once (ids repeat a lot)."""
    codes, uniques = pd.factorize(values)
    return np.append(index.get_indexer(uniques), -1)[codes]


def _type_codes(values: pd.Series) -> np.ndarray:
    """Each activity's position in activity_types(); other and missing types are 'other'."""
    types = activity_types()
    codes, uniques = pd.factorize(values)
    table = [types.index(u) if u in CORE_TYPES else types.index(OTHER) for u in uniques]
    return np.asarray([*table, types.index(OTHER)], dtype="int8")[codes]


def _window_counts(timeline: Timeline, code: np.ndarray, lower: dict[int | None, np.ndarray],
                   end: np.ndarray) -> dict[str, np.ndarray]:
    """Counts per activity type (``code`` indexes activity_types()) and window, from one table of running
    counts per type (types x positions, int32): a row's count is two lookups, not a pass per column."""
    types = activity_types()
    running = np.zeros((len(types), len(timeline) + 1), dtype="int32")
    running[code, np.arange(1, len(timeline) + 1)] = 1
    np.cumsum(running, axis=1, out=running)
    at_end = running[:, end]
    columns: dict[str, np.ndarray] = {}
    below = {window: running[:, lo] for window, lo in lower.items()}
    for type_code, activity_type in enumerate(types):
        for window in lower:
            columns[f"n_{activity_type}_{window_name(window)}"] = (
                at_end[type_code] - below[window][type_code]).astype("float64")
    return columns


def _decayed_counts(timeline: Timeline, code: np.ndarray, high_intent: np.ndarray, *, row_sec: np.ndarray,
                    half_lives: Sequence[int], row_lead: np.ndarray, start: np.ndarray,
                    end: np.ndarray) -> dict[str, np.ndarray]:
    """Decayed counts per activity type and of high-intent touches: each row's factor times its lead's
    running sum of weights at its as_of, zero for leads without such a touch.

    A type's running sums are taken over the whole histories of the leads with a touch of that type (other
    types count as zeros, as they always did), so a rare type costs a pass over a few leads, not over all.
    """
    types = activity_types()
    columns: dict[str, np.ndarray] = {}
    at, touched = np.maximum(end - 1, 0), end > start
    runs = _LeadRuns(timeline, leads=max(int(row_lead.max(initial=-1)), int(timeline.lead.max(initial=-1))) + 1)
    selections = [code == type_code for type_code in range(len(types))] + [high_intent]
    subsets = [runs.of_leads_with(selected) for selected in selections]
    for half_life, (weights, factor) in _decay_weights(timeline, row_sec, half_lives, start=start, end=end).items():
        for name, selected, (positions, offset) in zip((*types, "high_intent"), selections, subsets, strict=True):
            if not len(timeline):
                columns[f"decayed_{name}_{half_life}d"] = np.zeros(len(end))
                continue
            running = _running_sums(timeline.lead[positions], np.where(selected[positions], weights[positions], 0.0))
            inside = touched & (offset[row_lead] >= 0)
            where = np.where(inside, offset[row_lead] + at - runs.first[row_lead], 0)
            columns[f"decayed_{name}_{half_life}d"] = np.where(inside, factor * running[where] if len(running)
                                                               else 0.0, 0.0)
    return columns


class _LeadRuns:
    """Each lead's run of positions in the timeline (sorted by lead), to take whole histories of some leads."""

    def __init__(self, timeline: Timeline, leads: int):
        self.lead, self.leads = timeline.lead, leads
        self.first = np.searchsorted(timeline.lead, np.arange(self.leads), side="left")
        self.length = np.bincount(timeline.lead, minlength=self.leads)

    def of_leads_with(self, selected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions of every lead with a selected position, in timeline order, and each lead's offset
        among them (-1: a lead without one)."""
        chosen = np.flatnonzero(np.bincount(self.lead[selected], minlength=self.leads) > 0)
        length = self.length[chosen]
        offset = np.full(self.leads, -1, dtype=np.int64)
        offset[chosen] = np.cumsum(length) - length
        positions = np.arange(length.sum()) + np.repeat(self.first[chosen] - offset[chosen], length)
        return positions, offset


def _running_sums(lead: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Running sums of ``values`` restarting at every ``lead`` (sorted group codes), by pandas' grouped
    (compensated) cumsum.

    Not a global prefix sum: that would lose a small lead's sum next to huge ones, and make a lead's
    features depend on which other leads share its chunk (or Spark bucket). Lead slots already are group
    codes, so pandas' kernel is called directly when it can be: the grouped cumsum's own bookkeeping took
    three quarters of its time, 46 times per chunk; the sums are the same.
    """
    if _group_cumsum is not None:
        out = np.empty((len(values), 1))
        try:
            _group_cumsum(out, np.asarray(values, dtype="float64").reshape(-1, 1), np.asarray(lead, dtype=np.intp),
                          int(lead.max(initial=-1)) + 1, False, True)
            return out[:, 0]
        except (TypeError, ValueError):  # another pandas' kernel: take the public way
            pass
    return pd.Series(values).groupby(lead, sort=False).cumsum().to_numpy()


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


def _lead_sum(running: np.ndarray, lo: np.ndarray, *, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Sum over positions [lo, end) of each row's own lead, from the lead's ``_running_sums``."""
    if not len(running):
        return np.zeros(len(lo))
    running = np.concatenate([[0.0], running])
    below = np.where(lo > start, running[lo], 0.0)
    return np.where(end > lo, running[end] - below, 0.0)


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
    """Distinct channels a lead was reached through, up to each row's as_of (``channel``: codes, -1 missing)."""
    pair = timeline.lead.astype("int64") * (int(channel.max(initial=-1)) + 2) + channel + 1
    first_use = ~pd.Series(pair).duplicated().to_numpy() & (channel >= 0)
    sums = prefix(first_use)
    return sums[end] - sums[start]
