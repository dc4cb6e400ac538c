"""The export a CRM imports, from a real scoring run: the CRM's header and date format, the manifest's record
of both, and `leadml report` and `leadml monitor --exports` reading the file back with the same config."""

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import Trained, invoke, summary, write_config

pytestmark = pytest.mark.slow

COLUMNS = {"lead_id": "Id", "score": "Lead_Score__c", "grade": "Lead_Grade__c", "top_reasons": "Score_Reasons__c",
           "probability": "Score_Probability__c", "rank": "Score_Rank__c", "model_version": "Score_Model__c",
           "as_of": "Score_Date__c"}


def test_a_scoring_run_publishes_the_crm_file_and_leadml_reads_it_back(trained: Trained, tmp_path: Path) -> None:
    config = yaml.safe_load(write_config(trained.folder).read_text(encoding="utf-8"))
    config["export"] |= {"columns": COLUMNS, "only_mapped": True, "date_format": "%Y-%m-%d"}
    trained.config.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")  # the file's order
    scored = summary(invoke("score", "--config", trained.config, "--as-of", "2026-10-01", "--out",
                            tmp_path / "crm.csv", "--json"))
    text = Path(scored["out"]).read_text(encoding="utf-8")
    assert text.splitlines()[0] == ",".join(COLUMNS.values())
    rows = pd.read_csv(scored["out"], dtype="str", keep_default_na=False)
    assert len(rows) == scored["scored"] and rows["Id"].is_unique
    assert set(rows["Score_Date__c"]) == {"2026-10-01"} and set(rows["Lead_Grade__c"]) <= {"A", "B", "C", "D"}
    manifest = json.loads(Path(scored["manifest"]).read_text(encoding="utf-8"))
    assert manifest["crm"] == {"columns": COLUMNS, "only_mapped": True, "date_format": "%Y-%m-%d"}
    assert "lead_id" in pd.read_csv(scored["rejects"], nrows=0).columns  # the rejects keep leadml's names

    report = summary(invoke("report", "--config", trained.config, "--as-of", "2026-10-01", "--export", scored["out"],
                            "--out", tmp_path / "report.html", "--json"))
    assert report["scored"] == scored["scored"] and report["model_version"] == scored["model_version"]
    judged = summary(invoke("monitor", "--config", trained.config, "--as-of", "2026-11-01", "--exports",
                            scored["out"], "--json"))
    [run] = judged["runs"]
    assert run["as_of"].startswith("2026-10-01") and run["leads"] == scored["scored"]
