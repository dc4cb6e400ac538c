"""A multi-table CRM export in the user's own shape: train, score and report through a table mapping alone."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import invoke, summary
from tests.crm_export import write_crm_config, write_crm_export

AS_OF = "2026-06-01"


@pytest.fixture(scope="module")
def crm_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, dict]:
    folder = tmp_path_factory.mktemp("crm_run")
    planted = write_crm_export(folder / "export")
    config = write_crm_config(folder, folder / "export")
    trained = summary(invoke("train", "--config", config, "--as-of", AS_OF, "--json"))
    return config, planted, trained


@pytest.mark.slow
def test_train_score_report_on_the_users_own_tables(crm_run) -> None:
    config, planted, trained = crm_run
    assert trained["model_version"] == "1" and 0.5 < trained["roc_auc"] <= 1.0
    scored = summary(invoke("score", "--config", config, "--as-of", AS_OF, "--json"))
    export = pd.read_csv(scored["out"])
    assert len(export) == scored["scored"] > 0 and export["lead_id"].str.startswith("L-").all()
    assert export["top_reasons"].notna().all() and set(export["grade"]) <= {"A", "B", "C", "D"}
    up, down = export["reason_1"].notna(), export["risk_1"].notna()  # a lead every topic pushes down has no reason
    families = export.loc[~up, ["fit_score", "engagement_score", "budget_score"]]  # up, only risks: then no
    assert (up | down).all() and up.mean() > 0.5 and (families <= 1e-9).all().all()  # family pushes it up either
    reported = summary(invoke("report", "--config", config, "--as-of", AS_OF, "--json"))
    assert reported["scored"] == scored["scored"] and Path(reported["out"]).stat().st_size > 10_000


@pytest.mark.slow
def test_the_leads_own_mapped_columns_are_features_and_no_other_column_is(crm_run, tmp_path: Path) -> None:
    config, _, _ = crm_run
    out = tmp_path / "features.parquet"
    summary(invoke("features", "--config", config, "--as-of", AS_OF, "--out", out, "--json"))
    matrix = pd.read_parquet(out)
    leads = pd.read_csv(config.parent / "export" / "leads.csv", sep=";", encoding="cp1252", dtype="str",
                        keep_default_na=False).set_index("Lead ID")
    row = leads.reindex(matrix["lead_id"])
    assert (matrix["tier_sales"].to_numpy() == row["Tier (Sales)"].to_numpy()).all()
    expected = row["Opt-In"].map({"Ja": 1.0, "Nein": 0.0}).to_numpy()
    assert ((matrix["opted_in"].to_numpy() == expected) | (pd.isna(expected) & matrix["opted_in"].isna())).all()
    assert not {"lead_status", "email", "status"} & set(matrix.columns)
    scored = summary(invoke("score", "--config", config, "--as-of", AS_OF, "--json"))
    reasons = pd.read_csv(scored["out"])["top_reasons"]
    assert reasons.str.contains(r"Tier \(Sales\): (?:Enterprise|SMB)").any()  # the mapped column in its user's words
    assert not reasons.str.contains("Contacted|Qualified|Junk|@example").any()


@pytest.mark.slow
def test_the_accounts_reach_the_manifest_and_add_up(crm_run) -> None:
    config, planted, _ = crm_run
    scored = summary(invoke("score", "--config", config, "--as-of", AS_OF, "--json"))
    quality = json.loads(Path(scored["manifest"]).read_text(encoding="utf-8"))["data_quality"]
    for source, read in (("leads from leads.csv", planted["leads"]),
                         ("activities from calls.csv", planted["calls_read"]),
                         ("activities from web_sessions", planted["sessions_read"]),
                         ("opportunities from deals.csv", planted["deals_read"])):
        assert quality[f"{source}: rows read"] == read
        dropped = sum(n for key, n in quality.items() if key.startswith(f"{source}: dropped:")
                      or key.startswith(f"{source}: rejected:"))
        assert quality[f"{source}: rows kept"] + dropped == read
    assert quality["opportunities from deals.csv: dropped: not a conversion (Stage (CRM) not in Closed Won)"] == \
        planted["deals_lost"]


def test_spark_refuses_a_table_mapping_in_one_line(tmp_path: Path) -> None:
    config = write_crm_config(tmp_path, tmp_path / "export")
    result = invoke("features", "--config", config, "--as-of", AS_OF, "--engine", "spark", "--out", tmp_path / "f")
    assert result.exit_code == 1
    assert result.stderr.strip().startswith("leadml: error: --engine spark reads the contract's tables, not "
                                            "mapping.layout: tables")


def test_map_writes_the_contract_tables_and_their_accounts(tmp_path: Path) -> None:
    from leadml.data.sources import open_source

    planted = write_crm_export(tmp_path / "export")
    config = write_crm_config(tmp_path, tmp_path / "export")
    result = summary(invoke("map", "--config", config, "--out", tmp_path / "contract", "--json"))
    accounts = json.loads(Path(result["accounts"]).read_text(encoding="utf-8"))["accounts"]
    kept = {a["source"]: a["kept"] for a in accounts}
    assert {a["source"]: a["read"] for a in accounts} == {
        "leads.csv": planted["leads"], "calls.csv": planted["calls_read"],
        "web_sessions": planted["sessions_read"], "deals.csv": planted["deals_read"]}
    with open_source(tmp_path / "contract") as source:  # the written tables read back as a plain contract source
        assert source.table_rows("leads") == kept["leads.csv"] == result["leads_rows"]
        assert source.table_rows("activities") == kept["calls.csv"] + kept["web_sessions"]
        assert source.table_rows("opportunities") == kept["deals.csv"]


def test_map_never_writes_over_the_users_own_tables(tmp_path: Path) -> None:
    write_crm_export(tmp_path / "export")
    config = write_crm_config(tmp_path, tmp_path / "export")
    for out in (tmp_path / "export", tmp_path, tmp_path / "export" / "contract"):
        result = invoke("map", "--config", config, "--out", out)
        assert result.exit_code == 1 and "would replace or sit inside the source" in result.stderr
    assert (tmp_path / "export" / "leads.csv").is_file()
