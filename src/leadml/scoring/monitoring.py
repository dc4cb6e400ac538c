"""Keeping scores honest over time: data freshness, what earlier scores promised against what happened.

Pure functions: the jobs read the history and the source and hand frames in. A scoring run's
promise is its calibrated probability; once the horizon after its as-of moment has passed, the
realised conversion per grade says whether the promise held ("A leads scored on 1 Oct: predicted
31%, realised 27%").
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from leadml.config import MonitoringConfig
from leadml.data.clean import to_utc
from leadml.data.contract import LeadTables
from leadml.features.spine import label
from leadml.modeling.evaluation import classification_metrics

EXIT_DRIFT = 3  # documented in docs/monitoring.md: the run published everything, and drift is marked
EXIT_STALE = 4  # ... and the source had no recent activity
SCORE_COLUMNS = ("lead_id", "as_of", "model_version", "probability", "grade")


class NewestActivity:
    """Tracks the newest activity at or before T over the chunks of a scoring run."""

    def __init__(self, as_of: pd.Timestamp):
        self.as_of = as_of
        self.newest: pd.Timestamp | None = None

    def add(self, tables: LeadTables) -> None:
        times = tables.activities["occurred_at"]
        times = times[times <= self.as_of]
        if len(times) and (self.newest is None or times.max() > self.newest):
            self.newest = times.max()


def data_freshness(newest_activity: pd.Timestamp | None, as_of: pd.Timestamp, max_age_days: float
                   ) -> dict[str, Any]:
    """Say how old the newest activity is at T; older than ``max_age_days`` (or none at all) is stale."""
    age = (as_of - newest_activity) / pd.Timedelta(days=1) if newest_activity is not None else None
    stale = age is None or age > max_age_days
    reason = ("no activity at or before the as-of moment" if age is None else
              f"newest activity {newest_activity} is {age:.1f} days before {as_of}, more than {max_age_days}"
              if stale else "")
    return {"newest_activity": None if newest_activity is None else str(newest_activity),
            "age_days": None if age is None else round(age, 3), "max_age_days": max_age_days,
            "is_stale": stale, "reason": reason}


def exit_code(drift_warning: bool, is_stale: bool, limits: MonitoringConfig) -> int:
    """Return the documented exit code of a scoring run that published everything: 0, 3 or 4."""
    if is_stale and limits.fail_on_stale:
        return EXIT_STALE
    if drift_warning and limits.fail_on_drift:
        return EXIT_DRIFT
    return 0


def outcome_report(scores: pd.DataFrame, opportunities: pd.DataFrame, *, horizon_days: int,
                   observed_until: pd.Timestamp, grades: list[str], max_runs: int) -> dict[str, Any]:
    """Compare earlier runs' predictions with realised conversions, per run and grade.

    ``scores`` holds one row per lead and run (``SCORE_COLUMNS``); a run is one ``(as_of,
    model_version)``. Only runs whose horizon closed by ``observed_until`` are judged (the latest
    ``max_runs`` of them); the others are listed as pending. A lead converts when its first
    opportunity falls in (as_of, as_of + horizon], as in training.
    """
    horizon = pd.Timedelta(days=horizon_days)
    runs = scores.groupby(["as_of", "model_version"], sort=True)
    matured = [key for key in runs.groups if key[0] + horizon <= observed_until][-max_runs:]
    pending = [{"as_of": str(a), "model_version": v, "horizon_end": str(a + horizon)}
               for a, v in runs.groups if a + horizon > observed_until]
    judged = [_run_outcome(runs.get_group(key), opportunities, horizon_days, grades) for key in matured]
    lines = [f"{g['grade']} leads scored on {run['as_of'][:10]} ({run['model_version']}): predicted "
             f"{g['predicted']:.1%}, realised {g['realised']:.1%} ({g['converted']} of {g['leads']})"
             for run in judged for g in run["grades"]]
    return {"observed_until": str(observed_until), "horizon_days": horizon_days, "runs": judged,
            "pending": pending, "lines": lines}


def _run_outcome(run: pd.DataFrame, opportunities: pd.DataFrame, horizon_days: int, grades: list[str]
                 ) -> dict[str, Any]:
    spine = run[["lead_id", "as_of"]].reset_index(drop=True)
    y = label(spine, opportunities, horizon_days).to_numpy()
    as_of = run["as_of"].iloc[0]
    return {"as_of": str(as_of), "model_version": str(run["model_version"].iloc[0]),
            "horizon_end": str(as_of + pd.Timedelta(days=horizon_days)), **judged(run, y, grades)}


def judged(run: pd.DataFrame, y: Any, grades: list[str]) -> dict[str, Any]:
    """One run's promise against its outcomes ``y`` (aligned with the run's rows): overall and per grade."""
    p = run["probability"].to_numpy(dtype="float64")
    grade = run["grade"].astype("str").to_numpy()
    metrics = classification_metrics(y, p)
    by_grade = [{"grade": g, "leads": int(mask.sum()), "converted": int(y[mask].sum()),
                 "predicted": float(p[mask].mean()), "realised": float(y[mask].mean()),
                 "gap": float(y[mask].mean() - p[mask].mean())}
                for g in grades if (mask := grade == g).any()]
    return {"leads": int(len(y)), "converted": int(y.sum()), "predicted": float(p.mean()), "realised": float(y.mean()),
            "roc_auc": metrics.get("roc_auc"), "pr_auc": metrics.get("pr_auc"), "brier": metrics.get("brier"),
            "ece": metrics.get("ece"), "grades": by_grade}


def labelled_outcome_report(scores: pd.DataFrame, outcomes: pd.DataFrame, *, grades: list[str]) -> dict[str, Any]:
    """Judge earlier runs against outcomes known per lead (``outcomes``: lead_id, converted), as a flat export
    labels them: no horizon to wait for. Leads a run scored that the outcomes do not hold are counted as
    unknown, never as not converted."""
    known = outcomes.drop_duplicates("lead_id").set_index("lead_id")["converted"]
    judged_runs = []
    for (as_of, version), run in scores.groupby(["as_of", "model_version"], sort=True):
        found = run[run["lead_id"].isin(known.index)]
        if len(found):
            y = known.loc[found["lead_id"]].to_numpy(dtype="int64")
            judged_runs.append({"as_of": str(as_of), "model_version": str(version), **judged(found, y, grades),
                                "unknown_outcome": int(len(run) - len(found))})
    lines = [f"{g['grade']} leads scored on {run['as_of'][:10]} ({run['model_version']}): predicted "
             f"{g['predicted']:.1%}, realised {g['realised']:.1%} ({g['converted']} of {g['leads']})"
             for run in judged_runs for g in run["grades"]]
    return {"runs": judged_runs, "pending": [], "lines": lines}


def combine_scores(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Stack score rows from the history table and earlier exports; one row per lead and run."""
    frames = [f.loc[:, list(SCORE_COLUMNS)] for f in frames if len(f)]
    if not frames:
        return pd.DataFrame({c: pd.Series([], dtype="float64" if c == "probability" else "str")
                             for c in SCORE_COLUMNS}).astype({"as_of": "datetime64[us, UTC]"})
    scores = pd.concat(frames, ignore_index=True)
    scores["lead_id"] = scores["lead_id"].astype("str")
    scores["model_version"] = scores["model_version"].astype("str")
    scores["as_of"] = to_utc(scores["as_of"])
    return scores.drop_duplicates(["lead_id", "as_of", "model_version"], keep="last").reset_index(drop=True)
