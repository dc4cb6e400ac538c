"""The spine: one ``(lead_id, as_of)`` row per lead in the population at each cutoff.

Training and scoring both start here, so features are built by one code path for both. The
population at T (data contract): leads created at or before T with no opportunity at or before T.
Labels look only at the window (T, T + horizon].
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from leadml.data.contract import LeadTables, first_opportunity


def as_timestamp(value: str | pd.Timestamp) -> pd.Timestamp:
    """Parse an as-of moment; a date means its midnight, a naive time means UTC."""
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.as_unit("us")


def build_spine(tables: LeadTables, cutoffs: Sequence[pd.Timestamp]) -> pd.DataFrame:
    """Return the population at every cutoff as rows ``(lead_id, as_of)``, sorted."""
    leads = tables.leads[["lead_id", "created_at"]]
    created = leads["created_at"].reset_index(drop=True)
    converted = first_opportunity(tables.opportunities).reindex(leads["lead_id"]).reset_index(drop=True)
    frames = []
    for cutoff in map(as_timestamp, cutoffs):  # one vectorised pass per cutoff date, not per row
        open_at_cutoff = (created <= cutoff) & ~(converted <= cutoff)
        ids = leads["lead_id"].to_numpy()[open_at_cutoff.to_numpy()]
        frames.append(pd.DataFrame({"lead_id": ids, "as_of": cutoff}))
    spine = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["lead_id", "as_of"])
    spine["lead_id"] = spine["lead_id"].astype("str")
    spine["as_of"] = pd.to_datetime(spine["as_of"], utc=True).dt.as_unit("us")
    return spine.sort_values(["as_of", "lead_id"], kind="stable").reset_index(drop=True)


def label(spine: pd.DataFrame, opportunities: pd.DataFrame, horizon_days: int) -> pd.Series:
    """Return 1 where the lead's first opportunity falls in (as_of, as_of + horizon], else 0."""
    converted = first_opportunity(opportunities).reindex(spine["lead_id"]).reset_index(drop=True)
    as_of = spine["as_of"].reset_index(drop=True)
    inside = (converted > as_of) & (converted <= as_of + pd.Timedelta(days=horizon_days))
    return pd.Series(inside.to_numpy(dtype="int8"), index=spine.index, name="label")


def truncate(tables: LeadTables, as_of: pd.Timestamp) -> LeadTables:
    """Return only what was known at ``as_of``: every row with a timestamp after it is dropped."""
    return LeadTables(
        leads=tables.leads[tables.leads["created_at"] <= as_of],
        activities=tables.activities[tables.activities["occurred_at"] <= as_of],
        opportunities=tables.opportunities[tables.opportunities["created_at"] <= as_of],
        lead_columns=tables.lead_columns,
    )


def training_cutoffs(as_of: pd.Timestamp, horizon_days: int, count: int, frequency: str) -> dict[str, list]:
    """Return time-ordered cutoffs for training, validation and the held-out test.

    The held-out cutoff is the last whose label window ends by ``as_of``; validation sits one
    horizon before it and the training cutoffs one horizon before that, so no label window of an
    earlier split reaches into a later one.
    """
    horizon = pd.Timedelta(days=horizon_days)
    holdout = (as_of - horizon).floor("D")
    validation = holdout - horizon
    last_train = validation - horizon
    step = pd.DateOffset(months=1) if frequency == "monthly" else pd.DateOffset(weeks=1)
    train = sorted(last_train - i * step for i in range(count))
    return {"train": [as_timestamp(t) for t in train], "validation": [as_timestamp(validation)],
            "holdout": [as_timestamp(holdout)]}
