"""Monitoring end to end: each scoring run checked for drift and freshness, earlier runs judged once their
horizon passed, and scheduled retraining that records why it promoted or not."""

import json
import shutil
from pathlib import Path

import duckdb
import mlflow
import pandas as pd
import pytest
import yaml

from leadml.reporting.export import file_sha256
from leadml.scoring.monitoring import EXIT_DRIFT, EXIT_STALE
from tests.conftest import invoke, summary, write_config

pytestmark = pytest.mark.slow
TRAINED_AS_OF = "2026-09-01"


def variant(folder: Path, name: str, **sections: dict) -> str:
    """A copy of the folder's config with some sections replaced."""
    config = yaml.safe_load((folder / "config.yaml").read_text()) | sections
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, tiny_db: Path) -> Path:
    """A folder with a config, a copy of the tiny database and a champion trained as of 1 September (not the
    session's champion: these checks were made against a model trained before the runs they judge). Its
    scoring runs log their MLflow monitoring runs, which the tests read."""
    folder = tmp_path_factory.mktemp("monitoring")
    write_config(folder, monitoring={"mlflow": True})
    shutil.copy(tiny_db, folder / "leads.duckdb")
    with pytest.MonkeyPatch.context() as env:  # mlflow.set_tracking_uri of earlier tests leaves its URI in the
        env.delenv("MLFLOW_TRACKING_URI", raising=False)  # environment, which would override this config's store
        summary(invoke("train", "--config", str(folder / "config.yaml"), "--as-of", TRAINED_AS_OF, "--json"))
    return folder


def test_scoring_runs_are_checked_and_judged_once_their_horizon_passed(trained: Path, tmp_path: Path) -> None:
    config, db = str(trained / "config.yaml"), trained / "leads.duckdb"
    runs = {as_of: summary(invoke("score", "--config", config, "--as-of", as_of, "--out",
                                  str(tmp_path / f"{as_of}.csv"), "--write-back", "--json"))
            for as_of in ("2026-09-01", "2026-10-01")}
    for as_of, run in runs.items():
        # the population a month later is the same funnel: no drift, fresh data
        assert run["drift_warning"] is False and run["is_stale"] is False and run["exit_code"] == 0
        manifest = json.loads(Path(run["manifest"]).read_text())
        drift = manifest["drift"]
        assert drift["available"] and drift["rows"] == run["scored"] and drift["features_over_threshold"] == []
        assert len(drift["feature_psi"]) > 100 and max(drift["feature_psi"].values()) < 0.25
        assert manifest["freshness"]["age_days"] < 1 and manifest["sha256"]["drift_summary"] == file_sha256(
            run["drift_summary"])
        written = json.loads(Path(run["drift_summary"]).read_text())
        assert written["drift"] == drift and written["as_of"].startswith(as_of)
        assert not pd.read_csv(run["out"])["is_stale"].any()

        # the MLflow monitoring run: tagged with the model version, its metrics linked to the logged model
        client = mlflow.MlflowClient()
        logged = client.get_run(run["monitoring_run_id"])
        assert logged.data.tags["model_version"] == "leadml-lead-scoring/1"
        assert logged.data.metrics["psi/lead_source"] == pytest.approx(drift["feature_psi"]["lead_source"])
        model_id = client.get_model_version("leadml-lead-scoring", "1").source.removeprefix("models:/")
        assert run["monitoring_run_id"] in {m.run_id for m in mlflow.get_logged_model(model_id).metrics
                                            if m.key == "psi_score"}

    judged = summary(invoke("monitor", "--config", config, "--as-of", "2026-11-01", "--out",
                            str(tmp_path / "outcomes.json"), "--json"))
    assert [r["as_of"][:10] for r in judged["runs"]] == ["2026-09-01", "2026-10-01"] and judged["pending"] == []
    assert json.loads((tmp_path / "outcomes.json").read_text())["runs"] == judged["runs"]
    # realised conversion per grade, recomputed straight from the database
    con = duckdb.connect(str(db), read_only=True)
    expected = con.execute("""
        SELECT strftime(h.as_of AT TIME ZONE 'UTC', '%Y-%m-%d') AS day, h.grade, count(*) AS leads,
               count(o.lead_id) AS converted, avg(h.probability) AS predicted
        FROM lead_score_history h
        LEFT JOIN (SELECT trim(lead_id) AS lead_id, min(created_at) AS first FROM opportunities GROUP BY 1) o
          ON o.lead_id = h.lead_id AND o.first > h.as_of AND o.first <= h.as_of + INTERVAL 30 DAY
        GROUP BY 1, 2 ORDER BY 1, 2""").df()
    con.close()
    got = pd.DataFrame([{"day": r["as_of"][:10], **g} for r in judged["runs"] for g in r["grades"]])
    assert got["converted"].sum() > 0
    pd.testing.assert_frame_equal(got[["day", "grade", "leads", "converted", "predicted"]], expected,
                                  check_dtype=False)
    assert any(line.startswith("A leads scored on 2026-09-01") for line in judged["lines"])
    points = mlflow.MlflowClient().get_metric_history(judged["monitoring_run_id"], "realised")
    assert [p.value for p in sorted(points, key=lambda p: p.step)] == [r["realised"] for r in judged["runs"]]

    # a run whose horizon is still open is pending, and an earlier export counts like the history
    later = summary(invoke("score", "--config", config, "--as-of", "2026-10-20", "--out",
                           str(tmp_path / "late.parquet"), "--json"))
    both = summary(invoke("monitor", "--config", config, "--as-of", "2026-11-01", "--exports", later["out"], "--json"))
    assert [p["as_of"][:10] for p in both["pending"]] == ["2026-10-20"] and len(both["runs"]) == 2


def test_a_drifted_population_is_published_marked_and_exits_3(trained: Path, tmp_path: Path) -> None:
    db = tmp_path / "drifted.duckdb"
    shutil.copy(trained / "leads.duckdb", db)
    con = duckdb.connect(str(db))  # half the leads now come from outbound, companies are ten times bigger
    con.execute("UPDATE leads SET source = 'outbound' WHERE hash(lead_id) % 2 = 0")
    con.execute("UPDATE leads SET employees = employees * 10, annual_revenue = annual_revenue * 10")
    con.close()
    strict = variant(trained, "strict", monitoring={"fail_on_drift": True})
    out = tmp_path / "drifted.csv"
    run = summary(invoke("score", "--config", strict, "--data", str(db), "--as-of", "2026-09-01", "--out", str(out),
                         "--json"), code=EXIT_DRIFT)
    assert run["drift_warning"] is True and run["exit_code"] == EXIT_DRIFT
    assert len(pd.read_csv(out)) == run["scored"] > 0  # everything was published all the same
    manifest = json.loads(Path(run["manifest"]).read_text())
    assert manifest["drift_warning"] is True
    assert {"lead_source", "employees", "annual_revenue"} <= set(manifest["drift"]["features_over_threshold"])
    assert any("lead_source" in reason for reason in manifest["drift"]["reasons"])
    # the same run under the default config only warns
    assert summary(invoke("score", "--config", str(trained / "config.yaml"), "--data", str(db), "--as-of", "2026-09-01",
                          "--out", str(tmp_path / "again.csv"), "--json"))["drift_warning"] is True


def test_a_stale_source_flags_every_row_and_exits_4_when_asked(trained: Path, tmp_path: Path) -> None:
    strict = variant(trained, "stale", monitoring={"fail_on_stale": True, "max_data_age_days": 2})
    run = summary(invoke("score", "--config", strict, "--as-of", "2026-11-05", "--out", str(tmp_path / "late.csv"),
                         "--json"), code=EXIT_STALE)
    export = pd.read_csv(run["out"])
    assert run["is_stale"] is True and len(export) == run["scored"] > 0 and export["is_stale"].all()
    freshness = json.loads(Path(run["manifest"]).read_text())["freshness"]
    assert freshness["is_stale"] and 4 < freshness["age_days"] < 5 and "more than 2" in freshness["reason"]


def test_retrain_waits_for_a_fair_comparison_then_records_its_decision(trained: Path, tmp_path: Path) -> None:
    config = str(trained / "config.yaml")
    early = summary(invoke("retrain", "--config", config, "--as-of", "2026-09-20", "--out",
                           str(tmp_path / "early.json"), "--json"))
    assert early["outcome"] == "skipped" and early["champion_after"] == "1"
    assert "fair comparison is possible from 2026-10-01" in early["reason"]
    assert json.loads((tmp_path / "early.json").read_text())["reason"] == early["reason"]

    # a rule no challenger can meet: the decision is recorded with the figures both models reached
    demanding = variant(trained, "demanding", promotion={"min_improvement": 1.0, "max_champion_age_days": None})
    kept = summary(invoke("retrain", "--config", demanding, "--as-of", "2026-11-01", "--json"))
    record = json.loads(Path(kept["decision_file"]).read_text())
    assert record["outcome"] == "kept" and record["promote"] is False and record["champion_after"] == "1"
    assert record["challenger"]["version"] == "2" and record["champion"]["version"] == "1"
    assert record["champion"]["age_days"] == 61.0 and record["test_cutoff"].startswith("2026-10-02")
    figures = f"roc_auc {record['challenger']['metrics']['roc_auc']:.4f} vs champion " \
              f"{record['champion']['metrics']['roc_auc']:.4f}"
    assert "does not beat the champion by 1.0" in record["reason"] and figures in record["reason"]
    run = mlflow.MlflowClient().get_run(record["run_id"])
    assert run.data.tags["command"] == "retrain" and run.data.tags["retrain_outcome"] == "kept"
    assert run.data.tags["promotion_reason"] == record["reason"]
    logged = mlflow.artifacts.load_dict(f"{run.info.artifact_uri}/promotion.json")
    assert logged["promote"] is False and logged["champion"] == record["champion"]["metrics"]
    assert summary(invoke("models", "list", "--config", config, "--json"))["versions"][0]["aliases"] == ["challenger"]
