"""A multi-table CRM export in shapes leadml did not choose, written by the tests.

Leads in a ``;``-separated Windows-1252 file with text-month dates and decimal-comma budgets;
calls with their own ids and day-first dates; web sessions without ids whose page kinds need a
map (and hold kinds nobody mapped); deals whose stage decides the conversion, some dated before
their lead. Every quirk is planted a known number of times, so the accounts can be checked exactly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

START = pd.Timestamp("2025-01-01", tz="UTC")
PAGE_KINDS = ("pricing", "demo", "blog", "careers")


def write_crm_export(folder: Path, leads: int = 1500, seed: int = 11) -> dict[str, int]:
    """Write leads.csv, calls.csv, web_sessions/ (two files) and deals.csv; return the planted counts."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    created = START + pd.to_timedelta(rng.integers(0, 540, leads), unit="D") + pd.to_timedelta(
        rng.integers(0, 86_400, leads), unit="s")
    warmth = rng.random(leads)
    ids = [f"L-{i:05d}" for i in range(leads)]
    _write_leads(folder, ids, created, warmth, rng)
    calls = _write_calls(folder, ids, created, warmth, rng)
    sessions = _write_sessions(folder, ids, created, warmth, rng)
    deals = _write_deals(folder, ids, created, warmth, rng)
    return {"leads": leads, **calls, **sessions, **deals}


def _write_leads(folder: Path, ids: list[str], created: pd.DatetimeIndex, warmth: np.ndarray,
                 rng: np.random.Generator) -> None:
    n = len(ids)
    frame = pd.DataFrame({
        "Lead ID": ids,
        "Created Time": created.strftime("%d %b, %Y %H:%M:%S"),  # 15 Apr, 2021 00:03:00
        "Lead Source": rng.choice(["Web Form", "Referral", "Événement", "Paid Search"], n),
        "Industry": rng.choice(["Software", "Retail", "Banking"], n),
        "Budget (EUR)": [f"{b:,.2f} €".replace(",", "X").replace(".", ",").replace("X", ".") for b in
                         rng.integers(1_000, 90_000, n)],  # 22.700,00 €
        "Tier (Sales)": np.where(warmth + rng.normal(0, 0.2, n) > 0.6, "Enterprise", "SMB"),  # a lead feature
        "Opt-In": rng.choice(["Ja", "Nein", ""], n),  # a German yes/no flag, sometimes empty
        "Lead Status": rng.choice(["Contacted", "Qualified", "Junk"], n),  # written by sales: never read
        "Email": [f"person{i}@example.com" for i in range(n)],
    })
    frame.to_csv(folder / "leads.csv", sep=";", index=False, encoding="cp1252")


def _write_calls(folder: Path, ids: list[str], created: pd.DatetimeIndex, warmth: np.ndarray,
                 rng: np.random.Generator) -> dict[str, int]:
    rows = []
    for lead, start, warm in zip(ids, created, warmth, strict=True):
        for _ in range(rng.poisson(3 * warm)):
            at = start + pd.Timedelta(seconds=int(rng.integers(0, 200 * 86_400)))
            rows.append({"Lead": lead, "Call Start": at.strftime("%d/%m/%Y %H:%M"),
                         "Duration (s)": int(rng.integers(5, 900))})
    frame = pd.DataFrame(rows)
    # two calls at the same minute with the same duration but their own ids: distinct touches, never merged
    twin = frame.iloc[[0]].copy()
    frame = pd.concat([frame, twin], ignore_index=True)
    frame.insert(0, "Call ID", [f"C{i}" for i in range(len(frame))])
    frame = pd.concat([frame, frame.iloc[[1]]], ignore_index=True)  # one exact duplicate, id included
    frame.loc[len(frame)] = ["C-x", "L-99999", "01/02/2025 10:00", 60]  # an unknown lead
    frame.loc[len(frame)] = ["C-y", ids[0], "", 60]  # no time
    frame.to_csv(folder / "calls.csv", index=False)
    return {"calls_read": len(frame), "calls_duplicate": 1, "calls_unknown_lead": 1, "calls_no_time": 1}


def _write_sessions(folder: Path, ids: list[str], created: pd.DatetimeIndex, warmth: np.ndarray,
                    rng: np.random.Generator) -> dict[str, int]:
    rows = []
    for lead, start, warm in zip(ids, created, warmth, strict=True):
        for _ in range(rng.poisson(6 * warm + 1)):
            at = start + pd.Timedelta(seconds=int(rng.integers(-5 * 86_400, 200 * 86_400)))
            kind = rng.choice(PAGE_KINDS, p=[0.2 * warm + 0.05, 0.1 * warm, 0.6 - 0.3 * warm, 0.35])
            rows.append({"lead": lead, "started": at.isoformat(), "page_kind": kind})
    frame = pd.DataFrame(rows)
    early = int(sum(pd.Timestamp(r["started"]) < created[ids.index(r["lead"])] for r in rows))
    half = len(frame) // 2
    (folder / "web_sessions").mkdir(exist_ok=True)
    frame.iloc[:half].to_csv(folder / "web_sessions" / "part-1.csv", index=False)
    frame.iloc[half:].to_csv(folder / "web_sessions" / "part-2.csv", index=False)
    counts = frame["page_kind"].value_counts()
    return {"sessions_read": len(frame), "sessions_careers": int(counts.get("careers", 0)),
            "sessions_blog": int(counts.get("blog", 0)), "sessions_early": early,
            "sessions_exact_duplicates": int(frame.duplicated().sum())}


# "Stage (CRM)": MLflow refuses such a name as a parameter key, so the mapping must not become run parameters
def _write_deals(folder: Path, ids: list[str], created: pd.DatetimeIndex, warmth: np.ndarray,
                 rng: np.random.Generator) -> dict[str, int]:
    rows = []
    for lead, start, warm in zip(ids, created, warmth, strict=True):
        if rng.random() < 0.45 * warm ** 2:
            at = start + pd.Timedelta(days=int(rng.integers(5, 150)))
            stage = rng.choice(["Closed Won", "closed won "])
            rows.append({"Deal Id": f"D{len(rows)}", "Lead ID": lead, "Stage (CRM)": stage,
                         "Won On": at.strftime("%Y-%m-%d"), "Amount": f"${rng.integers(1, 90) * 1000:,.2f}"})
        elif rng.random() < 0.1:
            rows.append({"Deal Id": f"D{len(rows)}", "Lead ID": lead, "Stage (CRM)": "Closed Lost",
                         "Won On": "", "Amount": "$0.00"})
    frame = pd.DataFrame(rows)
    lost = int((frame["Stage (CRM)"] == "Closed Lost").sum())
    won = frame.index[frame["Stage (CRM)"] != "Closed Lost"][:3]
    for i in won:  # dated before their lead: kept and counted
        before = created[ids.index(frame.loc[i, "Lead ID"])] - pd.Timedelta(days=2)
        frame.loc[i, "Won On"] = before.strftime("%Y-%m-%d")
    frame.to_csv(folder / "deals.csv", index=False)
    return {"deals_read": len(frame), "deals_lost": lost, "deals_early": len(won)}


def crm_mapping() -> dict:
    """The table mapping of the export above, as a user writes it in the config."""
    return {
        "layout": "tables",
        "leads": {"file": "leads.csv", "id": "Lead ID",
                  "columns": {"created_at": "Created Time", "source": "Lead Source", "industry": "Industry",
                              "declared_budget": "Budget (EUR)", "email": "Email"},
                  "dates": {"Created Time": "%d %b, %Y %H:%M:%S"},
                  "features": {"Tier (Sales)": {"family": "fit", "type": "categorical"},  # not an MLflow name
                               "Opt-In": {"family": "engagement", "type": "flag", "name": "opted_in"}},
                  "exclude": {"Lead Status": {"reason": "set by sales after contact"}}},
        "activities": [
            {"file": "calls.csv", "id": "Call ID", "dayfirst": True,
             "columns": {"lead_id": "Lead", "occurred_at": "Call Start", "value": "Duration (s)"},
             "activity_type": {"value": "call_connected"}},
            {"file": "web_sessions", "columns": {"lead_id": "lead", "occurred_at": "started"},
             "activity_type": {"column": "page_kind", "map": {"pricing": "pricing_page_view",
                                                              "demo": "demo_requested"}, "other": "web_visit"}},
        ],
        "opportunities": {"file": "deals.csv", "id": "Deal Id", "where": {"Stage (CRM)": ["Closed Won"]},
                          "columns": {"lead_id": "Lead ID", "created_at": "Won On", "amount": "Amount"}},
    }


def write_crm_config(folder: Path, data: Path, **overrides: object) -> Path:
    """A config for the export in ``data`` whose every output lives under ``folder``."""
    config = {
        "data": {"source": str(data), "chunk_size": 800},
        "horizon_days": 30,
        "training": {"min_positives": 20, "cutoffs": {"count": 8}},
        "model": {"num_boost_round": 200, "early_stopping_rounds": 30, "params": {"learning_rate": 0.1}},
        "tracking": {"uri": f"sqlite:///{folder / 'mlflow.db'}", "artifact_root": str(folder / "mlartifacts"),
                     "experiment": "crm", "registered_model": "crm"},
        "export": {"path": str(folder / "scored.csv")},
        "report": {"path": str(folder / "report.html")},
        "monitoring": {"mlflow": False},
        "models_dir": str(folder / "models"),
        "mapping": crm_mapping(),
        **overrides,
    }
    path = folder / "crm.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path
