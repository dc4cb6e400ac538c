"""What the sales-ops report says, as plain data: grades, top leads, changes, quality, rejects.

Pure functions over frames that the job reads at the edges (the export, its rejects and manifest,
each lead's previous score from the history, and the model's logged evaluation tables); the
HTML is rendered from the result by ``report_html``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from leadml.config import GradesConfig
from leadml.modeling.evaluation import Evaluation

REQUIRED = ("lead_id", "score", "grade", "rank", "probability", "model_version", "as_of")
REASON_COLUMNS = ("reason_1", "reason_2", "reason_3")
RISK_COLUMNS = ("risk_1", "risk_2")


@dataclass
class ReportData:
    as_of: pd.Timestamp
    scored_at: pd.Timestamp | None
    model_version: str
    horizon_days: int
    data_end: pd.Timestamp | None
    scored: int
    grades: pd.DataFrame
    top: pd.DataFrame
    new_a: pd.DataFrame
    up: pd.DataFrame
    down: pd.DataFrame
    previous_as_of: pd.Timestamp | None
    rejects: pd.DataFrame
    rejected: int
    evaluation: Evaluation | None
    outcomes: list[dict[str, Any]]  # per grade of the evaluation, see ``grade_outcomes``
    min_grade_leads: int  # evaluation.min_grade_leads: a grade measured on fewer leads is too few to tell
    min_conversions: int  # evaluation.min_conversions: rates resting on fewer conversions are said to be rough
    leadml_version: str
    movers: int = 10  # rows listed of new A leads and of each mover table
    policy: str = "floors"  # grades.policy; ``grades["bound"]`` is each grade's floor, leads or share under it
    display: tuple[str, ...] = ()  # export.display columns the lead tables show after the lead id
    warnings: list[dict[str, Any]] = field(default_factory=list)  # see ``page_warnings``: {"key": ..., values}
    outcome: dict[str, str] = field(default_factory=lambda: {"en": "became opportunities",
                                                             "de": "wurden zur Verkaufschance"})


def check_export(export: pd.DataFrame, name: str) -> pd.DataFrame:
    """Return the export with typed columns; raise a ValueError naming missing columns."""
    missing = [c for c in REQUIRED if c not in export.columns]
    if missing:
        raise ValueError(f"{name}: not a leadml export, columns missing: {', '.join(missing)}")
    out = export.copy()
    out["lead_id"] = out["lead_id"].astype("str")
    out["score"] = pd.to_numeric(out["score"], errors="coerce")
    out["rank"] = pd.to_numeric(out["rank"], errors="coerce")
    out["as_of"] = pd.to_datetime(out["as_of"], utc=True, format="ISO8601")
    for column in (*REASON_COLUMNS, *RISK_COLUMNS, "trend", "grade"):
        if column in out.columns:
            out[column] = out[column].astype("str").where(out[column].notna(), "")
    return out.sort_values("rank", kind="stable").reset_index(drop=True)


def grade_counts(export: pd.DataFrame, grades: GradesConfig) -> pd.DataFrame:
    """Return leads and share per grade, best grade first, including grades no lead reached, with each grade's
    ``bound`` under the policy (floor, leads or share; missing for the rest)."""
    bounds = grades.bounds()
    counts = export["grade"].value_counts().reindex(list(bounds), fill_value=0)
    total = max(len(export), 1)
    return pd.DataFrame({"grade": list(bounds), "bound": [np.nan if b is None else float(b) for b in bounds.values()],
                         "leads": counts.to_numpy(), "share": counts.to_numpy() / total})


def reasons_of(frame: pd.DataFrame, columns: tuple[str, ...]) -> list[list[str]]:
    """Return the non-empty reasons of each row, in column order."""
    present = [c for c in columns if c in frame.columns]
    return [[text for text in row if text] for row in frame[present].to_numpy(dtype=object).tolist()] \
        if present else [[] for _ in range(len(frame))]


def top_leads(export: pd.DataFrame, count: int) -> pd.DataFrame:
    """Return the ``count`` best-ranked leads with their reasons, risks and trend."""
    top = export.head(count).copy()
    top["reasons"] = reasons_of(top, REASON_COLUMNS)
    top["risks"] = reasons_of(top, RISK_COLUMNS)
    return top


def changes(export: pd.DataFrame, previous: pd.DataFrame, best_grade: str
            ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Return (new best-grade leads by rank, movers up and movers down, biggest first) against ``previous``.

    ``previous`` holds each lead's latest earlier score and grade (``lead_id``, ``score``, ``grade``).
    A lead is new in the best grade when it has it now and had another grade, or no score, before.
    """
    before = previous.drop_duplicates("lead_id", keep="first").set_index("lead_id")
    merged = export.copy()
    merged["previous_score"] = before["score"].reindex(merged["lead_id"]).to_numpy(dtype="float64")
    merged["previous_grade"] = before["grade"].astype("str").reindex(merged["lead_id"]).fillna("").to_numpy()
    merged["change"] = merged["score"] - merged["previous_score"]
    merged["reasons"] = reasons_of(merged, REASON_COLUMNS)
    merged["risks"] = reasons_of(merged, RISK_COLUMNS)
    new = merged[(merged["grade"] == best_grade) & (merged["previous_grade"] != best_grade)]
    known = merged[merged["previous_score"].notna()]
    up = known[known["change"] > 0].sort_values(["change", "rank"], ascending=[False, True], kind="stable")
    down = known[known["change"] < 0].sort_values(["change", "rank"], ascending=[True, True], kind="stable")
    return new, up, down


def rejects_summary(rejects: pd.DataFrame, examples: int = 3) -> pd.DataFrame:
    """Return leads per reject reason, most frequent first, with a few example lead ids."""
    if rejects.empty:
        return pd.DataFrame({"reason": [], "leads": [], "examples": []})
    grouped = rejects.astype({"lead_id": "str", "reason": "str"}).groupby("reason", sort=False)["lead_id"]
    out = pd.DataFrame({"leads": grouped.size(), "examples": grouped.agg(lambda ids: list(ids[:examples]))})
    return out.reset_index().sort_values(["leads", "reason"], ascending=[False, True], kind="stable")


def freshness_hours(as_of: pd.Timestamp, data_end: pd.Timestamp | None) -> float | None:
    """Hours between the newest row of the source and the as-of moment (None when it reaches past it)."""
    if data_end is None or data_end >= as_of:
        return None
    return float((as_of - data_end) / pd.Timedelta(hours=1))


def build_report(export: pd.DataFrame, grades: GradesConfig, previous: pd.DataFrame, rejects: pd.DataFrame, *,
                 evaluation: Evaluation | None, horizon_days: int, data_end: pd.Timestamp | None,
                 min_grade_leads: int, min_conversions: int, leadml_version: str, top: int = 25,
                 movers: int = 10, display: tuple[str, ...] = (), findings: dict[str, Any] | None = None,
                 outcome: dict[str, str] | None = None) -> ReportData:
    """Gather everything the report shows from a checked export and what surrounds it; ``min_grade_leads`` and
    ``min_conversions`` are the configuration's ``evaluation`` thresholds below which figures are too few;
    ``findings`` are the scoring run's checks from its manifest (``freshness``, ``drift``)."""
    as_of = export["as_of"].iloc[0] if len(export) else pd.NaT
    scored_at = pd.to_datetime(export["scored_at"].iloc[0], utc=True) if len(export) and "scored_at" in export \
        else None
    new_a, up, down = changes(export, previous, grades.names()[0])
    previous_as_of = (pd.to_datetime(previous["as_of"], utc=True).max()
                      if len(previous) and "as_of" in previous else None)
    versions = export["model_version"].astype("str").unique()
    counts = grade_counts(export, grades)
    outcomes = [] if evaluation is None else grade_outcomes(evaluation, min_grade_leads)
    warnings = page_warnings(findings or {}, counts, outcomes, policy=grades.policy, min_grade_leads=min_grade_leads,
                             conversions=None if evaluation is None else evaluation_conversions(evaluation),
                             min_conversions=min_conversions)
    return ReportData(
        as_of=as_of, scored_at=scored_at, model_version=", ".join(versions) if len(versions) else "",
        horizon_days=horizon_days, data_end=data_end, scored=len(export), grades=counts,
        top=top_leads(export, top), new_a=new_a, up=up, down=down,
        previous_as_of=None if previous_as_of is None or pd.isna(previous_as_of) else previous_as_of,
        rejects=rejects_summary(rejects), rejected=len(rejects), evaluation=evaluation, outcomes=outcomes,
        min_grade_leads=min_grade_leads, min_conversions=min_conversions, leadml_version=leadml_version,
        movers=movers, policy=grades.policy, display=tuple(c for c in display if c in export.columns),
        warnings=warnings, **({"outcome": dict(outcome)} if outcome else {}))


def page_warnings(findings: dict[str, Any], counts: pd.DataFrame, outcomes: list[dict[str, Any]], *, policy: str,
                  min_grade_leads: int, conversions: int | None, min_conversions: int) -> list[dict[str, Any]]:
    """What the top of the page must warn of, each as ``{"key": ..., values}`` for the words: a stale source,
    marked drift, rates on too few conversions or leads, a grade converting worse than the one below it, and
    every lead in one grade under probability floors."""
    warnings: list[dict[str, Any]] = []
    freshness, drift = findings.get("freshness") or {}, findings.get("drift") or {}
    if freshness.get("is_stale"):
        warnings.append({"key": "stale", "age_days": freshness.get("age_days"),
                         "max_days": freshness.get("max_age_days")})
    if drift.get("drift_warning"):
        warnings.append({"key": "drift", "features": list(drift.get("features_over_threshold") or []),
                         "reasons": len(drift.get("reasons") or [])})
    if conversions is not None and conversions < min_conversions:
        warnings.append({"key": "few_conversions", "converted": conversions, "min": min_conversions})
    small = [row["grade"] for row in outcomes if not row["enough"]]
    if small:
        warnings.append({"key": "small_grades", "grades": small, "min": min_grade_leads})
    warnings += [{"key": "inversion", **pair} for pair in inversions(outcomes)]
    full = counts[counts["leads"] == counts["leads"].sum()] if counts["leads"].sum() else counts.iloc[:0]
    if policy == "floors" and len(full) and len(counts) > 1:
        warnings.append({"key": "one_grade", "grade": str(full["grade"].iloc[0]), "leads": int(full["leads"].iloc[0])})
    return warnings


def inversions(outcomes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each grade that converted worse than the next grade below it, where both rest on enough leads and the gap
    is beyond chance (a one-sided two-proportion z-test at 2.5%: 3 of 30 against 4 of 30 is noise); the grade's
    outcome row is marked ``inverted``."""
    found = []
    for better, worse in zip(outcomes, outcomes[1:], strict=False):
        if better["enough"] and worse["enough"] and _worse_beyond_chance(better, worse):
            better["inverted"] = True
            found.append({"better": better["grade"], "worse": worse["grade"], "better_rate": better["rate"],
                          "worse_rate": worse["rate"]})
    return found


def _worse_beyond_chance(better: dict[str, Any], worse: dict[str, Any], z: float = 1.96) -> bool:
    """Whether ``better`` converted at a lower rate than ``worse`` by more than chance explains."""
    leads = better["rows"] + worse["rows"]
    pooled = (better["converted"] + worse["converted"]) / leads if leads else 0.0
    spread = np.sqrt(pooled * (1 - pooled) * (1 / max(better["rows"], 1) + 1 / max(worse["rows"], 1)))
    return bool(spread > 0 and (worse["rate"] - better["rate"]) / spread > z)


def grade_outcomes(evaluation: Evaluation, min_leads: int) -> list[dict[str, Any]]:
    """Per grade with leads: the figures for "of leads graded A, 38% became opportunities", and whether the
    grade holds at least ``min_leads`` leads (``enough``); below that its rate is too few to tell."""
    rows = []
    for row in evaluation.grades.itertuples(index=False):
        if row.rows > 0 and not np.isnan(row.conversion_rate):
            rows.append({"grade": row.grade, "rate": float(row.conversion_rate), "converted": int(row.converted),
                         "rows": int(row.rows), "enough": int(row.rows) >= min_leads, "inverted": False})
    return rows


def evaluation_conversions(evaluation: Evaluation) -> int:
    """The conversions among the evaluated leads: the sample every rate of the quality section rests on."""
    return int(evaluation.grades["converted"].sum())
