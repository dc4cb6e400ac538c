"""A flat export end to end: trained once per module on the synthetic export, then a file of current leads
(no label column) scored with reasons, sub-scores, grades, ranks, rejects and manifest; the report on that
export, evaluate on a labelled file, the mapped feature matrix. (X Education is trained, scored and reported
once, in tests/modeling/test_flat.py.)"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import yaml

from leadml.config import load_config
from leadml.features.flat_export import map_flat
from leadml.modeling.lead_model import LeadModel
from leadml.reporting.export import read_table
from tests.conftest import OVERRIDES, invoke, summary
from tests.flat_export import flat_export, write_export, write_flat_config

AS_OF = "2026-03-01"
SUB_SCORES = ["fit_score", "engagement_score", "budget_score", "base_score"]


@dataclass(frozen=True)
class Flat:
    """A folder with the synthetic export, its config, a trained champion and a file of current leads."""

    folder: Path
    trained: dict

    @property
    def config(self) -> Path:
        return self.folder / "flat.yaml"

    @property
    def current(self) -> Path:
        return self.folder / "current.csv"


@pytest.fixture(scope="module")
def flat(tmp_path_factory: pytest.TempPathFactory) -> Flat:
    folder = tmp_path_factory.mktemp("flat-scoring")
    write_export(folder, flat_export()[0])
    for name in OVERRIDES:  # an earlier test's mlflow.set_tracking_uri would send the run elsewhere
        os.environ.pop(name, None)
    trained = summary(invoke("train", "--config", write_flat_config(folder), "--json"))
    current, _ = flat_export(n=600, seed=11)  # other leads than the training export's, the same quirks
    current.drop(columns=["Outcome"]).to_csv(folder / "current.csv", index=False)
    current.to_csv(folder / "current_with_label.csv", index=False)
    return Flat(folder, trained)


@pytest.fixture(scope="module")
def scored(flat: Flat) -> dict:
    return summary(invoke("score", "--config", flat.config, "--data", flat.current, "--as-of", AS_OF,
                          "--out", flat.folder / "out" / "scores.csv", "--json"))


@pytest.mark.slow
def test_a_file_of_current_leads_is_scored_and_every_row_accounted_for(flat: Flat, scored: dict) -> None:
    _, truth = flat_export(n=600, seed=11)
    export = read_table(scored["out"])
    rejects = read_table(scored["rejects"])
    read = truth.rows + 3  # three exact duplicate rows are planted
    assert scored["accounts"] == {"rows read": read, "scored": len(export), "dropped: exact duplicates": 3,
                                  "rejected": len(rejects)}
    assert len(export) + len(rejects) + 3 == read and len(export) == truth.rows - 3
    assert rejects["reason"].value_counts().to_dict() == {"lead id repeated with different values": 2,
                                                          "lead id missing": 1}
    repeated = rejects.loc[rejects["reason"] == "lead id repeated with different values", "lead_id"]
    assert repeated.nunique() == 1 and not export["lead_id"].isin(repeated).any()
    assert {"lead_id", "line", "reason"} <= set(rejects.columns)

    assert export["lead_id"].is_unique and export["rank"].tolist() == list(range(1, len(export) + 1))
    assert export["probability"].is_monotonic_decreasing and export["grade"].isin(["A", "B", "C", "D"]).all()
    assert (export["top_reasons"].str.len() > 0).all() and (export["reason_1"].str.len() > 0).mean() > 0.9
    assert export["top_reasons"].str.contains(r"Visits: \d|Role: |Minutes On Site: ").any()
    assert (pd.to_datetime(export["as_of"], utc=True) == pd.Timestamp(AS_OF, tz="UTC")).all()
    assert (export["model_version"] == "flat-test/1").all() and (export["trend"] == "new").all()

    manifest = json.loads(Path(scored["manifest"]).read_text(encoding="utf-8"))
    assert manifest["accounts"] == scored["accounts"] and manifest["layout"] == "flat"
    assert manifest["as_of"].startswith(AS_OF) and set(manifest["sha256"]) == {"out", "rejects", "drift_summary"}
    assert manifest["drift"]["available"] is True  # the model carries its out-of-fold training profile
    assert Path(scored["drift_summary"]).is_file()


@pytest.mark.slow
def test_sub_scores_add_up_to_the_raw_score_and_the_label_is_never_read(flat: Flat, scored: dict,
                                                                         tmp_path: Path) -> None:
    export = read_table(scored["out"]).set_index("lead_id")
    config = load_config(flat.config, env={})
    leads = map_flat(pd.read_csv(flat.current, dtype="str"), config.mapping, labelled=False, training=False)
    raw = pd.Series(LeadModel.load(flat.trained["local_model"]).raw_score(leads.features), index=leads.lead_id)
    total = export[SUB_SCORES].astype("float64").sum(axis=1).reindex(raw.index)
    assert (total - raw).abs().max() < 1e-9

    with_label = summary(invoke("score", "--config", flat.config, "--data", flat.folder / "current_with_label.csv",
                                "--as-of", AS_OF, "--out", tmp_path / "scores.csv", "--json"))
    again = read_table(with_label["out"]).set_index("lead_id")
    pd.testing.assert_series_equal(again["probability"].sort_index(), export["probability"].sort_index())


@pytest.mark.slow
def test_reasons_in_german(flat: Flat, tmp_path: Path) -> None:
    result = summary(invoke("score", "--config", flat.config, "--data", flat.current, "--lang", "de",
                            "--out", tmp_path / "scores.csv", "--json"))
    reasons = " ".join(read_table(result["out"])["top_reasons"])
    assert "Kam über" in reasons and "Came in through" not in reasons and result["lang"] == "de"


def test_display_columns_of_a_flat_file_reach_its_export_only(flat: Flat, tmp_path: Path) -> None:
    settings = yaml.safe_load(flat.config.read_text(encoding="utf-8"))
    config = tmp_path / "display.yaml"
    config.write_text(yaml.safe_dump({**settings, "export": {"display": ["E-mail"]}}), encoding="utf-8")
    result = invoke("score", "--config", config, "--data", flat.current, "--out", tmp_path / "s.csv", "--json")
    export = read_table(summary(result)["out"])
    current = pd.read_csv(flat.current, dtype="str", keep_default_na=False).drop_duplicates("Lead ID")
    assert list(export.columns[:2]) == ["lead_id", "E-mail"]
    by_id = current.set_index("Lead ID")["E-mail"]
    assert (export["E-mail"].astype("str") == by_id.reindex(export["lead_id"]).to_numpy()).all()
    elsewhere = result.stdout + result.stderr + "".join(
        p.read_text(encoding="utf-8") for p in tmp_path.glob("s.*") if p.name != "s.csv")
    assert "@example.com" not in elsewhere


@pytest.mark.slow
def test_the_report_renders_from_the_export(flat: Flat, scored: dict) -> None:
    out = flat.folder / "out" / "report.html"
    result = summary(invoke("report", "--config", flat.config, "--export", scored["out"], "--out", out, "--json"))
    assert result["scored"] == scored["scored"] and result["rejected"] == scored["rejected"]
    assert result["data_end"] is None  # a flat export has no activity dates
    page = out.read_text(encoding="utf-8")
    assert "Lead scoring report" in page and "lead id repeated with different values" in page


@pytest.mark.slow
def test_evaluate_on_a_labelled_file(flat: Flat) -> None:
    labelled, truth = flat_export(n=800, seed=21)
    labelled.to_csv(flat.folder / "labelled.csv", index=False)
    result = summary(invoke("evaluate", "--config", flat.config, "--data", flat.folder / "labelled.csv", "--json"))
    assert result["roc_auc"] > 0.7 and result["constant_roc_auc"] == 0.5
    assert result["outcomes_seen_in_training"] is False and result["model_version"] == "flat-test/1"
    assert result["rows_read"] == result["evaluated"] + result["duplicates_dropped"] + result["rejected"]
    assert result["evaluated"] == truth.rows - sum(truth.rejected.values())
    on_training = summary(invoke("evaluate", "--config", flat.config, "--json"))  # the export it trained on
    assert on_training["outcomes_seen_in_training"] is True


@pytest.mark.slow
def test_features_writes_the_mapped_matrix(flat: Flat, scored: dict) -> None:
    out = flat.folder / "out" / "features.parquet"
    result = summary(invoke("features", "--config", flat.config, "--data", flat.current, "--out", out, "--json"))
    matrix = pd.read_parquet(out)
    assert len(matrix) == result["rows"] == scored["scored"] and matrix["lead_id"].is_unique
    assert {"lead_id", "country", "region", "lead_source", "role", "visits", "minutes_on_site", "newsletter",
            "paper_mail"} == set(matrix.columns)
    listed = invoke("features", "--config", flat.config, "--list")
    assert listed.exit_code == 0 and "minutes_on_site" in listed.stdout


@pytest.mark.slow
def test_monitor_judges_an_earlier_export_against_the_labels_of_a_later_file(flat: Flat, scored: dict) -> None:
    labelled = flat.folder / "current_with_label.csv"
    result = summary(invoke("monitor", "--config", flat.config, "--data", labelled, "--exports", scored["out"],
                            "--json"))
    export = read_table(scored["out"])
    truth = pd.read_csv(labelled, dtype="str").drop_duplicates().set_index("Lead ID")["Outcome"]
    truth = truth[~truth.index.duplicated(keep=False)]  # an id repeated with other values is rejected
    known = export[export["lead_id"].isin(truth[truth.isin(["Won", "Lost"])].index)]
    [run] = result["runs"]
    assert run["leads"] == len(known) and run["unknown_outcome"] == len(export) - len(known)
    assert run["converted"] == int((truth.reindex(known["lead_id"]) == "Won").sum())
    by_grade = {g["grade"]: g for g in run["grades"]}
    for grade, rows in known.groupby("grade"):
        realised = (truth.reindex(rows["lead_id"]) == "Won").mean()
        assert by_grade[grade]["leads"] == len(rows) and by_grade[grade]["realised"] == pytest.approx(realised)
    assert run["roc_auc"] > 0.7 and result["accounts"]["rows_read"] == len(pd.read_csv(labelled))
    missing = invoke("monitor", "--config", flat.config, "--data", labelled)
    assert missing.exit_code == 1 and "--exports" in missing.output and len(missing.output.strip().splitlines()) == 1


@pytest.mark.parametrize("command, args", [("retrain", []), ("score", ["--write-back"]),
                                           ("features", ["--as-of", AS_OF])])
def test_what_a_flat_export_cannot_do_is_one_line(tmp_path: Path, command: str, args: list[str]) -> None:
    write_export(tmp_path, flat_export(n=300)[0])
    result = invoke(command, "--config", write_flat_config(tmp_path), *args)
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1
    assert "flat export" in result.output
