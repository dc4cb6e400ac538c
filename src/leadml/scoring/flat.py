"""Scoring a flat export: the mapped leads of a file scored with reasons, every row of the file accounted for.

A flat export has no history: the population is the file itself. Each row read ends up scored, dropped
as an exact duplicate of a scored row, or rejected with its reason (no id, an id repeated with other
values, no creation date); ``flat_accounts`` says how many of each and fails when they do not add up.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from leadml.config import GradesConfig, MonitoringConfig
from leadml.features import Feature
from leadml.features.flat_export import MappedLeads
from leadml.modeling.lead_model import LeadModel
from leadml.reasons.attribution import explain
from leadml.reasons.words import Combined
from leadml.scoring.drift import DriftCounter, drift_report, no_profile_report
from leadml.scoring.population import EXPLAIN_COLUMNS, CoverageError, ScoringResult

REJECT_COLUMNS = ("lead_id", "line", "reason")


def model_catalog(model: LeadModel, catalog: Sequence[Feature]) -> tuple[Feature, ...]:
    """The catalog's features the model uses, in its order; refused before scoring if the model needs others."""
    by_name = {feature.name: feature for feature in catalog}
    model.spec.require(by_name)
    return tuple(by_name[name] for name in model.spec.names)


def score_mapped(leads: MappedLeads, model: LeadModel, catalog: Sequence[Feature], *, reasons: int,
                 explainer: str = "treeshap", combined: Sequence[Combined] = ()) -> tuple[ScoringResult, np.ndarray]:
    """Score the mapped leads with reasons and sub-scores; return them with the rejects, and the probabilities."""
    columns = {c: pd.Series([], dtype="float64" if c.endswith("_score") else "str") for c in EXPLAIN_COLUMNS}
    scored = pd.DataFrame({"lead_id": pd.Series([], dtype="str"), "probability": pd.Series([], dtype="float64"),
                           **columns})
    probability = np.zeros(0)
    if len(leads.lead_id):
        probability, contributions = model.score(leads.features, explainer)
        explained = explain(contributions, leads.features, catalog, reasons, combined=combined)
        scored = pd.concat([pd.DataFrame({"lead_id": leads.lead_id.astype("str"), "probability": probability}),
                            explained[list(EXPLAIN_COLUMNS)]], axis=1)
    rejects = leads.rejects.loc[:, list(REJECT_COLUMNS)].reset_index(drop=True)
    result = ScoringResult(scored, rejects, leads.report)
    flat_accounts(leads, result)
    return result, probability


def flat_accounts(leads: MappedLeads, result: ScoringResult) -> dict[str, int]:
    """Return the file's rows read, scored, dropped as exact duplicates and rejected; fail unless they add up
    and every scored lead is scored once and not also rejected."""
    accounts = {"rows read": leads.read, "scored": len(result.scored), "dropped: exact duplicates": leads.duplicates,
                "rejected": len(result.rejects)}
    ids = result.scored["lead_id"]
    if (leads.read != len(result.scored) + leads.duplicates + len(result.rejects) or ids.duplicated().any()
            or ids.isin(result.rejects["lead_id"].dropna()).any()):
        raise CoverageError(f"rows do not add up: {accounts}, or a lead was scored twice or scored and rejected")
    return accounts


def flat_drift(model: LeadModel, leads: MappedLeads, probability: np.ndarray, *, grades: GradesConfig,
               limits: MonitoringConfig) -> dict[str, Any]:
    """Compare the scored file with the model's training profile (its out-of-fold population), if it has one."""
    if not model.profile:
        return no_profile_report()
    counter = DriftCounter(model.profile)
    counter.add(leads.features)
    return drift_report(model.profile, counter, probability, grades=grades, limits=limits)
