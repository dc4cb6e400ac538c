"""Every command runs: --help for each, and the whole loop on a tiny generated database."""

import json
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from leadml.config import FeaturesConfig
from leadml.data.clean import clean_tables
from leadml.data.sources import DuckDBSource
from leadml.features.spine import as_timestamp, build_spine, truncate
from tests.conftest import AS_OF, Trained, invoke, summary

COMMANDS = ["generate", "train", "score", "evaluate", "features", "demo", "report", "monitor", "retrain"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    result = invoke(command, "--help")
    assert result.exit_code == 0
    assert "--config" in result.output and "--json" in result.output


def test_features_list_prints_the_catalog() -> None:
    listed = json.loads(invoke("features", "--list", "--json").stdout)
    assert {"name", "family", "description"} <= set(listed[0])
    assert {item["family"] for item in listed} == {"engagement", "fit", "budget"}
    text = invoke("features", "--list").stdout
    assert "days_since_last_high_intent" in text and len(text.splitlines()) == len(listed)


def test_console_script_is_installed_and_keeps_its_output_and_exit_code(tmp_path: Path) -> None:
    """The program leaves without the interpreter's teardown (``leadml.cli.run``): what it printed, wrote and
    logged is all there, and its exit code is the command's."""
    leadml = Path(sys.executable).with_name("leadml")
    result = subprocess.run([str(leadml), "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and all(c in result.stdout for c in COMMANDS)
    refused = subprocess.run([str(leadml), "train", "--config", str(tmp_path / "missing.yaml")], capture_output=True,
                             text=True, timeout=120)
    assert refused.returncode == 1 and refused.stderr.startswith("leadml: error: config file not found")
    db = tmp_path / "leads.duckdb"
    made = subprocess.run([str(leadml), "generate", "--leads", "300", "--out", str(db), "--json"],
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr[-2000:]
    assert json.loads(made.stdout.splitlines()[-1])["out"] == str(db)
    with DuckDBSource(db) as source:
        assert source.count_leads() == 300


def test_the_console_script_lets_running_threads_finish_before_it_exits(tmp_path: Path) -> None:
    """A thread still at work when a command ends (the tracking store being created beside a training that
    stopped on a data error) finishes, as at a normal exit: ``os._exit`` alone would cut it off mid-write."""
    done = tmp_path / "done.txt"
    script = ("import sys, threading, time\n"
              "from leadml.cli import run\n"
              "def work():\n"
              "    time.sleep(1)\n"
              f"    open({str(done)!r}, 'w').write('finished')\n"
              "threading.Thread(target=work).start()\n"
              "sys.argv = ['leadml', '--help']\n"
              "run()\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert done.read_text() == "finished"


def population_at(db: Path, as_of: str) -> set[str]:
    with DuckDBSource(db) as source:
        tables, _, _ = clean_tables(source.read_all())
    return set(build_spine(truncate(tables, as_of_ts := as_timestamp(as_of)), [as_of_ts])["lead_id"])


@pytest.mark.slow
def test_train_score_evaluate_features_end_to_end(trained: Trained, tmp_path: Path) -> None:
    # `leadml train --config C --as-of AS_OF` on the tiny database: the session's training, copied here
    config_file, db, trained = trained.config, trained.db, trained.summary
    assert trained["model_version"] == "1" and Path(trained["local_model"]).is_dir()
    assert trained["roc_auc"] > 0.7

    # the registered champion loads as a plain MLflow pyfunc and gives the same probabilities
    import mlflow

    from leadml.config import load_config
    from leadml.modeling.lead_model import LeadModel
    from leadml.scoring.population import population_matrix

    mlflow.set_tracking_uri(load_config(config_file, env={}).tracking.uri)
    pyfunc = mlflow.pyfunc.load_model("models:/leadml-lead-scoring@champion")
    with DuckDBSource(db) as source:
        tables, _, _ = clean_tables(source.read_all())
    _, matrix = population_matrix(tables, as_timestamp(AS_OF), FeaturesConfig())
    sample = matrix.head(200)
    local = LeadModel.load(trained["local_model"]).predict_proba(sample)
    pd.testing.assert_series_equal(pyfunc.predict(sample).reset_index(drop=True),
                                   pd.Series(local, name="probability"))
    run = mlflow.MlflowClient().get_run(trained["run_id"])
    quality = mlflow.artifacts.load_dict(f"{run.info.artifact_uri}/data_quality.json")
    assert quality["activities: duplicate rows dropped"] > 0
    logged = json.dumps([run.data.params, run.data.tags, quality])
    assert "@" not in logged and "max_single_feature_auc" in run.data.metrics
    assert trained["promoted"] is True and trained["promotion_reason"] == "no champion yet"
    assert {"seconds_features", "seconds_booster_fit", "seconds_mlflow_logging_and_registry"} <= set(trained)
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(trained["run_id"], "plots")}
    assert {f"plots/{n}.png" for n in ("roc", "pr", "calibration", "gain", "importance",
                                        "score_distribution")} <= artifacts
    for baseline in ("logistic", "points", "constant"):
        assert f"{baseline}_roc_auc" in run.data.metrics
    assert run.data.params["data_fingerprint"] == trained["data_fingerprint"]

    # a local copy left by another store's version 1 is never used: it is fetched again from the registry
    marker = Path(trained["local_model"]) / "run.json"
    assert json.loads(marker.read_text())["run_id"] == trained["run_id"]
    marker.write_text(json.dumps({"run_id": "from-another-store"}))
    first = summary(invoke("score", "--config", str(config_file), "--data", str(db), "--as-of", AS_OF,
                           "--out", str(tmp_path / "a.csv"), "--json"))
    assert json.loads(marker.read_text())["run_id"] == trained["run_id"]
    second = summary(invoke("score", "--config", str(config_file), "--data", str(db), "--as-of", AS_OF,
                            "--out", str(tmp_path / "b.parquet"), "--json"))
    a = pd.read_csv(first["out"], dtype={"lead_id": "str"})
    b = pd.read_parquet(second["out"])
    assert list(a.columns) == ["lead_id", "probability", "score", "grade", "rank", "top_reasons", "reason_1",
                               "reason_2", "reason_3", "risk_1", "risk_2", "fit_score", "engagement_score",
                               "budget_score", "base_score", "score_change", "trend", "model_version", "as_of",
                               "scored_at", "is_stale"]
    # one row per lead of the population, none missing, none twice
    assert a["lead_id"].is_unique and set(a["lead_id"]) == population_at(db, AS_OF)
    assert first["rejected"] == 0 and first["population"] == len(a)
    # the same data, model and as-of give the same export (scored_at aside)
    texts = {c: "" for c in ("top_reasons", "reason_1", "reason_2", "reason_3", "risk_1", "risk_2")}
    pd.testing.assert_frame_equal(a.drop(columns=["scored_at", "as_of"]).fillna(texts),
                                  b.drop(columns=["scored_at", "as_of"]).fillna(texts), check_dtype=False)
    assert a["rank"].tolist() == list(range(1, len(a) + 1))
    assert a["probability"].is_monotonic_decreasing and a["score"].between(0, 100).all()
    assert set(a["grade"]) <= {"A", "B", "C", "D"} and (a["model_version"] == "leadml-lead-scoring/1").all()
    words = a[["top_reasons", "reason_1", "reason_2", "reason_3", "risk_1", "risk_2"]].fillna("")
    assert not words.apply(lambda c: c.str.contains(r"\b[a-z]+_[a-z_]+\b", regex=True)).any().any(), "raw names"
    logit = np.log(a["probability"] / (1 - a["probability"]))  # sigmoid calibration is monotone in the raw score
    raw = a[["fit_score", "engagement_score", "budget_score", "base_score"]].sum(axis=1)
    assert np.corrcoef(raw, logit)[0, 1] > 0.999

    evaluated = summary(invoke("evaluate", "--config", str(config_file), "--data", str(db), "--as-of", "2026-09-15",
                               "--json"))
    assert evaluated["outcomes_seen_in_training"] is True  # said, since the model trained as of November

    # an honest backtest: a model trained (and tuned, 2 trials) as of 1 September, evaluated on the month after
    second = summary(invoke("train", "--config", str(config_file), "--data", str(db), "--as-of", "2026-09-01",
                            "--tune", "2", "--json"))
    assert second["model_version"] == "2" and second["champion_version"] in ("1", "2")
    assert second["promoted"] == (second["champion_version"] == "2") and second["promotion_reason"]
    trials = mlflow.search_runs(experiment_names=["leadml"],
                                filter_string=f"tags.mlflow.parentRunId = '{second['run_id']}'")
    assert len(trials) == 2 and trials["metrics.validation_roc_auc"].notna().all()
    backtest = summary(invoke("evaluate", "--config", str(config_file), "--data", str(db), "--as-of", "2026-09-01",
                              "--model", "models:/leadml-lead-scoring/2", "--json"))
    assert backtest["outcomes_seen_in_training"] is False and backtest["positives"] >= 10
    assert backtest["roc_auc"] > backtest["constant_roc_auc"] + 0.2
    assert backtest["pr_auc"] > 3 * backtest["constant_pr_auc"]
    assert backtest["roc_auc_ci_low"] < backtest["roc_auc"] < backtest["roc_auc_ci_high"]
    shown = invoke("evaluate", "--config", str(config_file), "--data", str(db), "--as-of", "2026-09-01",
                   "--model", "models:/leadml-lead-scoring/2").output
    assert re.search(r"leadml\s+0\.\d{3} \[0\.\d{3}, 0\.\d{3}\]", shown) and "MLflow run " in shown
    assert f"{int(backtest['positives']):,} conversions" in shown

    # promotion by hand and rollback move the champion alias; the history is kept
    listed = summary(invoke("models", "list", "--config", str(config_file), "--json"))
    assert [v["version"] for v in listed["versions"]] == [2, 1]
    assert "challenger" in listed["versions"][0]["aliases"]
    summary(invoke("models", "promote", "1", "--config", str(config_file), "--json"))
    summary(invoke("models", "promote", "2", "--config", str(config_file), "--json"))
    assert summary(invoke("models", "rollback", "--config", str(config_file), "--json"))["champion_version"] == "1"
    result = invoke("models", "promote", "9", "--config", str(config_file))
    assert result.exit_code == 1 and "no version 9" in result.stderr

    features = summary(invoke("features", "--config", str(config_file), "--data", str(db), "--as-of", AS_OF,
                              "--out", str(tmp_path / "f.parquet"), "--json"))
    matrix = pd.read_parquet(features["out"])
    assert set(matrix["lead_id"]) == set(a["lead_id"]) and "email" not in matrix.columns


@pytest.mark.slow
def test_bad_rows_are_rejected_with_reasons_and_nothing_is_lost(trained: Trained, tmp_path: Path) -> None:
    config_file, db = trained.config, trained.db  # a champion trained on this database, as of AS_OF
    con = duckdb.connect(str(db))
    con.execute("INSERT INTO leads (lead_id, created_at) VALUES ('no-time', NULL)")
    con.execute("INSERT INTO leads SELECT * REPLACE ('Other title' AS job_title) FROM leads "
                "WHERE lead_id = (SELECT min(lead_id) FROM leads)")
    con.close()
    scored = summary(invoke("score", "--config", str(config_file), "--data", str(db), "--as-of", AS_OF,
                            "--out", str(tmp_path / "s.csv"), "--json"))
    export = pd.read_csv(scored["out"], dtype={"lead_id": "str"})
    rejects = pd.read_csv(scored["rejects"], dtype={"lead_id": "str"})
    assert dict(zip(rejects["lead_id"], rejects["reason"], strict=True)) == {
        "no-time": "missing or unparseable created_at", "L00000001": "duplicate lead_id with conflicting values"}
    assert not set(export["lead_id"]) & set(rejects["lead_id"])
    assert scored["population"] == scored["scored"] + scored["rejected"]


@pytest.mark.slow
def test_demo_runs_from_an_empty_folder(tmp_path: Path) -> None:
    from tests.conftest import write_config

    config = write_config(tmp_path)
    leadml = Path(sys.executable).with_name("leadml")
    result = subprocess.run([str(leadml), "demo", "--config", str(config), "--leads", "3000"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    for where in ("Export:", "MLflow store:", "MLflow UI:", "Local copy:", "Report:"):
        assert where in result.stdout
    report = (tmp_path / "data" / "report.html").read_text(encoding="utf-8")  # report.path, relative to the folder
    assert "Biggest movers up" in report and "Of leads graded" in report
    export = pd.read_csv(tmp_path / "scored.csv", dtype={"lead_id": "str"})
    assert export["lead_id"].is_unique and len(export) == len(population_at(tmp_path / "leads.duckdb", AS_OF))
    assert "@" not in result.stderr, "an email address reached the log"


def test_evaluate_refuses_a_horizon_the_data_does_not_cover(config_file: Path, tmp_path: Path) -> None:
    result = invoke("evaluate", "--config", str(config_file), "--data", str(tmp_path / "leads.duckdb"),
                    "--as-of", "2026-10-15")
    assert result.exit_code == 1 and "before the horizon" in result.stderr


def test_score_without_a_registered_model_says_so(config_file: Path, tmp_path: Path) -> None:
    result = invoke("score", "--config", str(config_file), "--as-of", AS_OF)
    assert result.exit_code == 1 and "not found in the registry" in result.stderr and "leadml train" in result.stderr


def test_errors_are_one_line_and_exit_non_zero(tmp_path: Path) -> None:
    result = invoke("score", "--data", str(tmp_path / "missing.duckdb"), "--config", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 1 and "config file not found" in result.stderr
    (tmp_path / "c.yaml").write_text("bogus: 1\n")
    result = invoke("train", "--config", str(tmp_path / "c.yaml"))
    assert result.exit_code == 1 and "bogus" in result.stderr
