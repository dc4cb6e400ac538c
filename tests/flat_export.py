"""A synthetic flat CRM export with the quirks of real ones, and the truth about every quirk it holds.

One row per lead: ids, a signup channel spelt in several cases and with stray spaces, a country with
"Select" and "unknown" placeholders, a role, visits with stray text, negative and extreme values,
minutes with thousands separators, yes/no flags in several spellings plus junk, a constant column, an
email (personal data, never mapped as a feature), a creation date, a sales status written after the
outcome (the leak) and the outcome as a status column. Exact duplicates, a repeated id with other
values, a missing id and an undecided outcome are planted too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

CHANNELS = ("Google", "Direct Traffic", "Referral", "Webinar")
ROLES = ("Student", "Working Professional", "Manager", "Unemployed")


@dataclass
class Truth:
    """How many of each quirk the file holds, by the report key that must count it."""

    rows: int
    counts: dict[str, int] = field(default_factory=dict)
    stray_lines: list[int] = field(default_factory=list)
    rejected: dict[str, int] = field(default_factory=dict)


def flat_export(n: int = 2000, seed: int = 5) -> tuple[pd.DataFrame, Truth]:
    """Return the export as text (as read from a CSV) and the truth about its quirks."""
    rng = np.random.default_rng(seed)
    channel = rng.choice(CHANNELS, n, p=[0.4, 0.3, 0.2, 0.1])
    role = rng.choice(ROLES, n, p=[0.3, 0.3, 0.2, 0.2])
    visits = rng.poisson(4, n).astype("float64")
    minutes = rng.gamma(2.0, 400.0, n).round()
    newsletter = rng.random(n) < 0.3
    # thresholds and interactions, as buying behaviour has them (a linear logit would favour logistic regression)
    logit = (-0.6 + 1.8 * (visits >= 5) - 1.2 * (visits <= 1) + 1.0 * (minutes > 1200)
             + np.select([role == "Manager", role == "Student"], [1.4, -1.2], 0)
             + np.select([channel == "Referral", channel == "Webinar"], [1.6, 1.0], 0) * (minutes > 500)
             + 0.5 * newsletter * (role != "Student"))
    converted = rng.random(n) < 1 / (1 + np.exp(-(logit - 1.0)))
    frame = pd.DataFrame({
        "Lead ID": [f"L{i:05d}" for i in range(n)],
        "Signup Channel": channel.astype(object),
        "Nation": rng.choice(["Germany", "France", "India", "United States"], n).astype(object),
        "Role": role.astype(object),
        "Visits": visits.astype(int).astype(str).astype(object),
        "Minutes On Site": minutes.astype(int).astype(str).astype(object),
        "Newsletter": np.where(newsletter, "Yes", "No").astype(object),
        "Paper Mail": "No",
        "E-mail": [f"person{i}@example.com" for i in range(n)],
        "Created": (pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")).strftime(
            "%Y-%m-%d").astype(object),
        "Sales Status": np.where(converted, rng.choice(["Closed won", "Contract sent"], n),
                                 rng.choice(["Ringing", "Lost to competitor", "Not interested"], n)).astype(object),
        "Outcome": np.where(converted, "Won", "Lost").astype(object),
    })
    truth = Truth(rows=n)
    counts = truth.counts

    def plant(column: str, rows: np.ndarray, value: object) -> None:
        frame.loc[rows, column] = value

    rows = iter(rng.permutation(np.arange(10, n - 10)))  # distinct rows for every planted quirk
    take = lambda k: np.array([next(rows) for _ in range(k)])  # noqa: E731

    lower = take(12)
    plant("Signup Channel", lower, [v.lower() for v in frame.loc[lower, "Signup Channel"]])
    padded = take(9)
    plant("Signup Channel", padded, [f" {v}  " for v in frame.loc[padded, "Signup Channel"]])
    counts["Signup Channel: values differing only in case merged"] = 12
    counts["Signup Channel: leading, trailing or repeated spaces removed"] = 9
    plant("Nation", take(40), "Select")
    plant("Nation", take(7), "unknown")
    counts["Nation: placeholder 'Select' set missing"] = 40
    counts["Nation: placeholder 'unknown' set missing"] = 7
    plant("Nation", take(3), "Atlantis")
    counts["Nation: not a known country, set missing"] = 3
    plant("Role", take(25), "Select")
    counts["Role: placeholder 'Select' set missing"] = 25
    stray = np.sort(take(6))
    plant("Visits", stray, ["12 visits", "abc", "n.a.", "3x", "--", "five"])
    counts["Visits: text in a numeric column set missing"] = 6
    truth.stray_lines = [int(r) + 2 for r in stray]
    plant("Visits", take(4), "-3")
    counts["Visits: infinite or out of range (min 0) set missing"] = 4
    plant("Visits", take(3), "100000")
    counts["visits: extreme values"] = 3
    thousands = take(30)
    plant("Minutes On Site", thousands, [f"{int(v):,}" for v in rng.integers(1000, 3000, 30)])
    plant("Newsletter", take(15), "yes")
    plant("Newsletter", take(5), "Y")
    plant("Newsletter", take(4), "maybe")
    counts["Newsletter: not a yes/no value set missing"] = 4
    counts["paper_mail: one value only, not a feature"] = 1

    undecided = take(5)
    plant("Outcome", undecided, "Open")
    truth.rejected["label 'Outcome': value in neither positive nor negative"] = 5
    plant("Lead ID", take(1), None)
    truth.rejected["lead id missing"] = 1
    first, second = take(2)
    frame.loc[second, "Lead ID"] = frame.loc[first, "Lead ID"]
    frame.loc[second, "Role"] = "Manager" if frame.loc[first, "Role"] != "Manager" else "Student"
    truth.rejected["lead id repeated with different values"] = 2
    duplicates = frame.iloc[[0, 1, 2]]
    frame = pd.concat([frame, duplicates], ignore_index=True)
    counts["export.csv: duplicate rows dropped"] = 3
    return frame, truth


def mapping_section(**overrides: object) -> dict:
    """The mapping of the synthetic export onto leadml."""
    section = {
        "layout": "flat",
        "leads": "export.csv",
        "columns": {"lead_id": "Lead ID", "source": "Signup Channel", "country": "Nation"},
        "label": {"column": "Outcome", "positive": ["won"], "negative": ["lost"]},
        "features": {
            "Role": {"family": "fit", "type": "categorical"},
            "Visits": {"family": "engagement", "type": "numeric", "min": 0},
            "Minutes On Site": {"family": "engagement", "type": "numeric", "min": 0},
            "Newsletter": {"family": "engagement", "type": "flag"},
            "Paper Mail": {"family": "engagement", "type": "flag"},
        },
        "exclude": {"Sales Status": {"reason": "written by sales after the outcome"}},
        "cv_folds": 4,
    }
    section.update(overrides)
    return section


def write_export(folder: Path, frame: pd.DataFrame) -> Path:
    """Write the export as a CSV with Windows line endings and a byte-order mark, as spreadsheets do."""
    path = folder / "export.csv"
    path.write_bytes(b"\xef\xbb\xbf" + frame.to_csv(index=False, lineterminator="\r\n").encode("utf-8"))
    return path


def write_flat_config(folder: Path, **mapping: object) -> Path:
    """Write a config for the synthetic export whose every output lives under ``folder``."""
    config = {
        "data": {"source": str(folder)},
        "training": {"min_positives": 50, "seed": 3},
        "model": {"num_boost_round": 300, "early_stopping_rounds": 20, "params": {"learning_rate": 0.1}},
        "tracking": {"uri": f"sqlite:///{folder / 'mlflow.db'}", "artifact_root": str(folder / "mlartifacts"),
                     "experiment": "flat-test", "registered_model": "flat-test"},
        "models_dir": str(folder / "models"),
        "mapping": mapping_section(**mapping),
    }
    path = folder / "flat.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path
