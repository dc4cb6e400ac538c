"""Freshness, exit codes, outcomes of earlier runs whose horizon passed, and where scores are read back from."""

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from leadml.config import MonitoringConfig
from leadml.data.contract import LeadTables
from leadml.data.writeback import read_history, write_back
from leadml.reporting.export import read_export, write_table
from leadml.scoring.monitoring import (
    EXIT_DRIFT,
    EXIT_STALE,
    SCORE_COLUMNS,
    NewestActivity,
    combine_scores,
    data_freshness,
    exit_code,
    outcome_report,
)
from tests.conftest import invoke

T = pd.Timestamp("2026-11-01", tz="UTC")
DAY = pd.Timedelta(days=1)


@pytest.mark.parametrize("newest, stale, age", [
    (T - 0.5 * DAY, False, 0.5),
    (T - 2 * DAY, False, 2.0),  # exactly the limit is still fresh
    (T - 2 * DAY - pd.Timedelta(seconds=1), True, 2.0),
    (None, True, None),
])
def test_freshness_against_the_as_of_moment(newest, stale, age) -> None:
    freshness = data_freshness(newest, T, 2.0)
    assert freshness["is_stale"] is stale and (freshness["reason"] != "") is stale
    assert freshness["age_days"] == (None if age is None else pytest.approx(age, abs=1e-3))


def test_newest_activity_ignores_rows_after_t() -> None:
    watch = NewestActivity(T)
    for times in (["2026-10-20", "2026-11-03"], ["2026-10-28"], []):
        activities = pd.DataFrame({"occurred_at": pd.to_datetime(times, utc=True)})
        watch.add(LeadTables(pd.DataFrame(), activities, pd.DataFrame()))
    assert watch.newest == pd.Timestamp("2026-10-28", tz="UTC")


@pytest.mark.parametrize("drift, stale, fail_on_drift, fail_on_stale, code", [
    (True, True, False, False, 0),  # by default a warning never fails the job
    (True, False, True, False, EXIT_DRIFT),
    (False, True, True, False, 0),
    (False, True, False, True, EXIT_STALE),
    (True, True, True, True, EXIT_STALE),  # stale data first: drift measured on it means little
    (False, False, True, True, 0),
])
def test_exit_codes_only_when_the_config_says_so(drift, stale, fail_on_drift, fail_on_stale, code) -> None:
    limits = MonitoringConfig(fail_on_drift=fail_on_drift, fail_on_stale=fail_on_stale)
    assert exit_code(drift, stale, limits) == code
    assert {EXIT_DRIFT, EXIT_STALE}.isdisjoint({0, 1, 2})  # distinct from success, errors and usage


def history() -> pd.DataFrame:
    """Two runs a month apart and one whose horizon is still open at T."""
    rows = [  # lead, as_of, probability, grade
        ("a", "2026-09-01", 0.40, "A"), ("b", "2026-09-01", 0.20, "A"), ("c", "2026-09-01", 0.10, "B"),
        ("d", "2026-09-01", 0.01, "D"), ("e", "2026-09-01", 0.01, "D"),
        ("b", "2026-10-01", 0.30, "A"), ("d", "2026-10-01", 0.02, "D"), ("e", "2026-10-01", 0.03, "D"),
        ("e", "2026-10-15", 0.50, "A"),
    ]
    return pd.DataFrame({"lead_id": [r[0] for r in rows], "as_of": pd.to_datetime([r[1] for r in rows], utc=True),
                         "model_version": "m/1", "probability": [r[2] for r in rows], "grade": [r[3] for r in rows]})


OPPORTUNITIES = pd.DataFrame({
    "lead_id": ["a", "b", "d", "e"],
    # a inside Sep's window; b on the last moment of Oct's window (counts), not Sep's; d the moment Sep's
    # window closes (counts for Sep); e after every window
    "created_at": pd.to_datetime(["2026-09-10", "2026-10-31", "2026-10-01", "2026-11-20"], utc=True),
})


def test_outcomes_per_grade_for_runs_whose_horizon_passed() -> None:
    report = outcome_report(history(), OPPORTUNITIES, horizon_days=30, observed_until=T, grades=["A", "B", "C", "D"],
                            max_runs=12)
    september, october = report["runs"]
    assert (september["as_of"][:10], october["as_of"][:10]) == ("2026-09-01", "2026-10-01")
    assert [p["as_of"][:10] for p in report["pending"]] == ["2026-10-15"]  # closes 2026-11-14, after T
    grades = {g["grade"]: g for g in september["grades"]}
    assert set(grades) == {"A", "B", "D"}  # no C lead was scored: no row for it
    assert grades["A"] == {"grade": "A", "leads": 2, "converted": 1, "predicted": pytest.approx(0.30),
                                "realised": 0.5, "gap": pytest.approx(0.20)}
    assert (grades["B"]["converted"], grades["D"]["converted"], grades["D"]["realised"]) == (0, 1, 0.5)
    assert (september["leads"], september["converted"]) == (5, 2)
    assert {g["grade"]: g["converted"] for g in october["grades"]} == {"A": 1, "D": 0}
    assert "A leads scored on 2026-09-01 (m/1): predicted 30.0%, realised 50.0% (1 of 2)" in report["lines"]


def test_only_the_latest_runs_and_only_what_is_observed() -> None:
    report = outcome_report(history(), OPPORTUNITIES, horizon_days=30, observed_until=T, grades=["A", "B", "C", "D"],
                            max_runs=1)
    assert [r["as_of"][:10] for r in report["runs"]] == ["2026-10-01"]
    # observed until the very moment September's window closes: September is judged, October pending
    early = outcome_report(history(), OPPORTUNITIES, horizon_days=30,
                           observed_until=pd.Timestamp("2026-10-01", tz="UTC"), grades=["A", "D"], max_runs=12)
    assert [r["as_of"][:10] for r in early["runs"]] == ["2026-09-01"] and len(early["pending"]) == 2


def test_exports_read_back_undo_formula_protection(tmp_path: Path) -> None:
    frame = history().assign(lead_id=["-7", "=a", "b", "c", "d", "e", "f", "g", "h"], extra="x")
    for suffix in (".csv", ".parquet"):
        path = write_table(frame, tmp_path / f"scores{suffix}")
        back = combine_scores([read_export(path, SCORE_COLUMNS)])
        assert back["lead_id"].tolist()[:2] == ["-7", "=a"]
        pd.testing.assert_frame_equal(back, combine_scores([frame]))
    with pytest.raises(ValueError, match="grade"):
        read_export(write_table(frame.drop(columns="grade"), tmp_path / "old.csv"), SCORE_COLUMNS)


def export_rows(as_of: str, ids: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"lead_id": ids, "probability": 0.1, "score": 10, "grade": "C", "rank": range(1, len(ids) + 1),
                         "model_version": "m/1", "as_of": pd.Timestamp(as_of, tz="UTC"),
                         "scored_at": pd.Timestamp("2026-11-02", tz="UTC"), "is_stale": False})


def test_history_tables_from_an_earlier_leadml_gain_the_new_column_and_read_back(tmp_path: Path) -> None:
    db = tmp_path / "scores.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE lead_score_history (lead_id VARCHAR, probability DOUBLE, score INTEGER, grade VARCHAR, "
                "rank BIGINT, model_version VARCHAR, as_of TIMESTAMPTZ, scored_at TIMESTAMPTZ, "
                "PRIMARY KEY (lead_id, as_of, model_version))")
    con.execute("INSERT INTO lead_score_history VALUES ('old', 0.2, 20, 'B', 1, 'm/1', '2026-09-01 00:00:00+00', "
                "'2026-09-01 01:00:00+00')")
    con.close()
    assert read_history(str(db), "missing_table", T) is None
    write_back(str(db), export_rows("2026-10-01", ["x", "y"]), scores_table="lead_scores",
               history_table="lead_score_history", as_of=pd.Timestamp("2026-10-01", tz="UTC"), model_version="m/1")
    scores = combine_scores([read_history(str(db), "lead_score_history", T)])
    assert sorted(scores["lead_id"]) == ["old", "x", "y"]
    assert set(scores["as_of"].dt.strftime("%Y-%m-%d")) == {"2026-09-01", "2026-10-01"}
    assert list(read_history(str(db), "lead_score_history", pd.Timestamp("2026-09-15", tz="UTC"))["lead_id"]) == ["old"]


def test_history_reads_back_from_postgres(postgres_server, pg_env) -> None:
    url = postgres_server.create_database("monitor_history")
    assert read_history(url, "lead_score_history", T) is None
    for as_of in ("2026-09-01", "2026-10-01"):
        write_back(url, export_rows(as_of, ["x", "y", "z"]), scores_table="lead_scores",
                   history_table="lead_score_history", as_of=pd.Timestamp(as_of, tz="UTC"), model_version="m/1")
    scores = combine_scores([read_history(url, "lead_score_history", T)])
    assert len(scores) == 6 and set(scores.columns) == set(SCORE_COLUMNS)
    assert scores.groupby("as_of").size().tolist() == [3, 3]


def test_monitor_without_any_scoring_run_says_how_to_get_one(config_file: Path) -> None:
    result = invoke("monitor", "--config", str(config_file), "--as-of", "2026-11-01")
    assert result.exit_code == 1
    assert all(words in result.output for words in ("no scoring run", "--write-back", "lead_score_history"))
