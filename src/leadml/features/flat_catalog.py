"""What a flat export's features are called and how a reason says them.

The feature catalog (``leadml.features.catalog``) words the contract's features; a flat export's own
columns are worded from the column's name and the lead's value ("Lead Origin: API", "Total Visits: 5"),
so its reasons come from the same explainer as every other model's. With a mapped creation date a
lead also gets the month and weekday it was created: known at creation, honest at any moment after it.
"""

from __future__ import annotations

import pandas as pd

from leadml.config import FeaturesConfig, MappingConfig
from leadml.features.catalog import MAPPED_FROM, Feature, feature_catalog, feature_name, mapped_feature

__all__ = ["MAPPED_FROM", "feature_name", "flat_catalog", "creation_features"]

CREATION_FEATURES = ("created_month", "created_weekday")  # only with a mapped created_at
# The contract columns each fit or budget feature is computed from: it exists only if they are all mapped.
DERIVED_FROM = {
    "seniority": ("job_title",), "job_function": ("job_title",), "is_decision_maker": ("job_title",),
    "industry": ("industry",), "company_size_band": ("employees",), "employees": ("employees",),
    "country": ("country",), "region": ("country",), "lead_source": ("source",), "email_domain": ("email",),
    "declared_budget": ("declared_budget",), "budget_band": ("declared_budget",),
    "has_declared_budget": ("declared_budget",), "annual_revenue": ("annual_revenue",),
    "has_annual_revenue": ("annual_revenue",), "revenue_per_employee": ("annual_revenue", "employees"),
    "log_budget_to_revenue": ("declared_budget", "annual_revenue"),
}
CREATION_CATALOG = (
    Feature("created_month", "engagement", "Month the lead was created (UTC)", "categorical",
            template="Became a lead in {value}", missing="Creation date not given",
            computed="month name of created_at"),
    Feature("created_weekday", "engagement", "Weekday the lead was created (UTC)", "categorical",
            template="Became a lead on a {value}", missing="Creation date not given",
            computed="day name of created_at"),
)


def flat_catalog(mapping: MappingConfig, settings: FeaturesConfig) -> tuple[Feature, ...]:
    """Return every feature a flat mapping builds: the contract's fit and budget features of the mapped contract
    columns, the mapped columns, and the creation moment's features when ``created_at`` is mapped."""
    known = {feature.name: feature for feature in feature_catalog(settings)}
    contract = [known[name] for name, needs in DERIVED_FROM.items() if all(c in mapping.columns for c in needs)]
    extra = [mapped_feature(column, rule) for column, rule in mapping.features.items()]
    return (*contract, *extra, *(CREATION_CATALOG if "created_at" in mapping.columns else ()))


def creation_features(created: pd.Series) -> tuple[pd.DataFrame, dict[str, str], list[str]]:
    """The month and weekday a lead was created (UTC): known at creation, so honest at any moment after it."""
    frame = pd.DataFrame({"created_month": pd.array(created.dt.month_name(), dtype="str"),
                          "created_weekday": pd.array(created.dt.day_name(), dtype="str")}, index=created.index)
    return frame, dict.fromkeys(CREATION_FEATURES, "engagement"), list(CREATION_FEATURES)
