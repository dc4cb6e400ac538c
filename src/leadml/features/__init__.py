"""Feature pipelines: engagement, fit and budget features for every row of a spine.

Pure functions: frames in, a frame out, no I/O and no global config. Training and scoring call
the same ``build_features``, so the features a model was trained on are the ones it is scored on.
"""

from __future__ import annotations

import pandas as pd

from leadml.config import FeaturesConfig
from leadml.data.contract import LeadTables
from leadml.features.budget import budget_features
from leadml.features.catalog import Feature, feature_catalog
from leadml.features.engagement import engagement_features
from leadml.features.fit import fit_features
from leadml.features.lead_columns import lead_column_features

__all__ = ["Feature", "build_features", "feature_catalog"]


def build_features(spine: pd.DataFrame, tables: LeadTables, settings: FeaturesConfig) -> pd.DataFrame:
    """Return the feature matrix for ``spine`` rows ``(lead_id, as_of)``, in catalog order.

    Every value at row (lead, T) depends only on the lead's attributes and on activities at or
    before T; the caller must have dropped leads created after T (the spine does).
    """
    leads = tables.leads.drop_duplicates("lead_id").set_index("lead_id")
    rows = leads.reindex(spine["lead_id"])
    rows.index = spine.index
    engagement = engagement_features(spine, tables.activities, settings.windows_days, settings.half_lives_days)
    engagement["lead_age_days"] = (spine["as_of"] - rows["created_at"]) / pd.Timedelta(days=1)
    matrix = pd.concat([engagement, _per_lead(spine, leads), lead_column_features(rows, settings.lead_columns)],
                       axis=1)
    return matrix[[feature.name for feature in feature_catalog(settings)]]


def _per_lead(spine: pd.DataFrame, leads: pd.DataFrame) -> pd.DataFrame:
    """Fit and budget features, computed once per lead and repeated for its rows: value by value
    functions of the lead's attributes, so a lead at six cutoffs needs its title parsed once, not six times.
    (Mapped lead columns are not: a number column's decimal convention is decided over all its rows.)"""
    ids = pd.unique(spine["lead_id"])
    once = leads.reindex(ids)
    per_lead = pd.concat([fit_features(once), budget_features(once)], axis=1)
    rows = per_lead.take(pd.Index(ids).get_indexer(spine["lead_id"]))
    rows.index = spine.index
    return rows
