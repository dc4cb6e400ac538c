"""What a flat export's features are called and how a reason says them.

The feature catalog (``leadml.features.catalog``) words the contract's features; a flat export's own
columns are worded from the column's name and the lead's value ("Lead Origin: API", "Total Visits: 5"),
so its reasons come from the same explainer as every other model's. With a mapped creation date a
lead also gets the month and weekday it was created: known at creation, honest at any moment after it.
"""

from __future__ import annotations

import re

import pandas as pd

from leadml.config import FeaturesConfig, MappedFeature, MappingConfig
from leadml.features.catalog import Feature, feature_catalog

MAPPED_FROM = "the flat export's column "  # how ``computed`` begins for a mapped column: its words come from the name
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
            template="Created in {value}", missing="Creation month unknown", computed="month name of created_at"),
    Feature("created_weekday", "engagement", "Weekday the lead was created (UTC)", "categorical",
            template="Created on a {value}", missing="Creation weekday unknown", computed="day name of created_at"),
)


def feature_name(column: str) -> str:
    """Return a column name as a snake_case identifier ("Total Time Spent" -> "total_time_spent")."""
    name = re.sub(r"[^0-9a-zA-Z]+", "_", column).strip("_").lower()
    return name if name and not name[0].isdigit() else f"f_{name}"


def column_words(column: str) -> str:
    """Return a column's name as words for people ("TotalVisits" -> "Total Visits", "page_views" -> "page views")."""
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", column)
    return re.sub(r"[_\s]+", " ", spaced).strip() or column


def mapped_feature(column: str, rule: MappedFeature) -> Feature:
    """A mapped column as a catalog feature: its reason says the column's name and the lead's value."""
    words = column_words(column)
    literal = words.replace("{", "{{").replace("}", "}}")  # a brace in a column name is text, not a placeholder
    common = {"name": rule.name or feature_name(column), "family": rule.family, "description": words,
              "missing": f"{words}: unknown", "computed": f"{MAPPED_FROM}{column!r} ({rule.type})"}
    if rule.type == "flag":
        return Feature(**common, binary=(f"{words}: no", f"{words}: yes"))
    if rule.type == "numeric":  # up to ten digits: the value as the file wrote it, with thousands separated
        return Feature(**common, template=f"{literal}: {{value:,.10g}}")
    return Feature(**common, kind="categorical", template=f"{literal}: {{value}}")


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
