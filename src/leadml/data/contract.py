"""The three tables of the data contract and the columns leadml reads from each."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from leadml.config import LEAD_COLUMNS

# Only these columns are ever read: anything else a source holds (a status written at export time,
# free text, personal data) can never become a feature by accident. LEAD_COLUMNS lives in config,
# which validates mappings onto them.
ACTIVITY_COLUMNS = ("lead_id", "occurred_at", "activity_type", "channel", "value", "activity_id")
OPPORTUNITY_COLUMNS = ("opportunity_id", "lead_id", "created_at", "amount")

REQUIRED = {
    "leads": ("lead_id", "created_at"),
    "activities": ("lead_id", "occurred_at", "activity_type"),
    "opportunities": ("lead_id", "created_at"),
}
COLUMNS = {"leads": LEAD_COLUMNS, "activities": ACTIVITY_COLUMNS, "opportunities": OPPORTUNITY_COLUMNS}
TIME_COLUMNS = {"leads": "created_at", "activities": "occurred_at", "opportunities": "created_at"}
NUMERIC_COLUMNS = {"leads": ("employees", "annual_revenue", "declared_budget"),
                   "activities": ("value",), "opportunities": ("amount",)}


@dataclass(frozen=True)
class LeadTables:
    """Leads with their whole histories: the unit every pipeline stage works on."""

    leads: pd.DataFrame
    activities: pd.DataFrame
    opportunities: pd.DataFrame
    lead_columns: tuple[str, ...] = ()  # the leads' own columns a table mapping made features; cleaning keeps them

    def table(self, name: str) -> pd.DataFrame:
        return getattr(self, name)


def first_opportunity(opportunities: pd.DataFrame) -> pd.Series:
    """Return each lead's conversion moment: the creation time of its FIRST opportunity."""
    return opportunities.groupby("lead_id", sort=False)["created_at"].min()
