"""Budget features: what the lead's company can spend, with missingness kept as information."""

from __future__ import annotations

import numpy as np
import pandas as pd


def budget_features(leads: pd.DataFrame) -> pd.DataFrame:
    """Return budget features per lead row; a missing budget stays missing, never zero."""
    budget = leads["declared_budget"].astype("float64").where(leads["declared_budget"] >= 0)
    revenue = leads["annual_revenue"].astype("float64").where(leads["annual_revenue"] >= 0)
    employees = leads["employees"].astype("float64").where(leads["employees"] > 0)
    return pd.DataFrame({
        "declared_budget": budget,
        "annual_revenue": revenue,
        "revenue_per_employee": revenue / employees,
        "has_declared_budget": budget.notna().astype("float64"),
        "has_annual_revenue": revenue.notna().astype("float64"),
        "log_budget_to_revenue": np.log10(budget / revenue).where(budget.gt(0) & revenue.gt(0)),
    }, index=leads.index)
