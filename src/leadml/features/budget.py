"""Budget features: what the lead's company can spend, with missingness kept as information."""

from __future__ import annotations

import numpy as np
import pandas as pd

BUDGET_BANDS = ((5_000, "under_5k"), (20_000, "5k-20k"), (50_000, "20k-50k"), (200_000, "50k-200k"),
                (float("inf"), "200k+"))


def budget_features(leads: pd.DataFrame) -> pd.DataFrame:
    """Return budget features per lead row; a missing budget stays missing, never zero."""
    budget = leads["declared_budget"].astype("float64").where(leads["declared_budget"] >= 0)
    revenue = leads["annual_revenue"].astype("float64").where(leads["annual_revenue"] >= 0)
    employees = leads["employees"].astype("float64").where(leads["employees"] > 0)
    return pd.DataFrame({
        "declared_budget": budget,
        "annual_revenue": revenue,
        "revenue_per_employee": revenue / employees,
        "budget_band": _band(budget),
        "has_declared_budget": budget.notna().astype("float64"),
        "has_annual_revenue": revenue.notna().astype("float64"),
        "log_budget_to_revenue": np.log10((budget / revenue).where(budget.gt(0) & revenue.gt(0))),
    }, index=leads.index)


def _band(budget: pd.Series) -> pd.Series:
    bands = pd.cut(budget, bins=[-0.1] + [edge for edge, _ in BUDGET_BANDS],
                   labels=[name for _, name in BUDGET_BANDS])
    return bands.astype("str").where(bands.notna())
