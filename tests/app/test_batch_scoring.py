"""The nightly job: exact-once coverage, write-back to DuckDB and PostgreSQL, trends, kills."""

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from leadml.reporting.export import file_sha256
from tests.conftest import AS_OF, Trained, invoke, summary
from tests.pgserver import PASSWORD

pytestmark = pytest.mark.slow


def table(db: Path, name: str) -> pd.DataFrame:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(f"SELECT * FROM {name} ORDER BY lead_id, as_of").df()
    finally:
        con.close()


def test_write_back_is_idempotent_and_history_gives_trends(trained: Trained, tmp_path: Path) -> None:
    config, db = str(trained.config), trained.db
    first = summary(invoke("score", "--config", config, "--as-of", "2026-10-01", "--out", str(tmp_path / "oct.csv"),
                           "--write-back", "--json"))
    october = table(db, "lead_scores")
    assert len(october) == first["scored"] and october["lead_id"].is_unique
    summary(invoke("score", "--config", config, "--as-of", "2026-10-01", "--out", str(tmp_path / "oct2.csv"),
                   "--write-back", "--json"))
    again = table(db, "lead_scores")
    pd.testing.assert_frame_equal(october.drop(columns="scored_at"), again.drop(columns="scored_at"))
    assert len(table(db, "lead_score_history")) == len(october)  # a rerun replaces its own run

    november = summary(invoke("score", "--config", config, "--as-of", AS_OF, "--out", str(tmp_path / "nov.csv"),
                              "--write-back", "--json"))
    export = pd.read_csv(november["out"], dtype={"lead_id": "str"})
    history = table(db, "lead_score_history")
    assert set(history["as_of"].astype(str).str[:10]) == {"2026-10-01", "2026-11-01"}
    assert (table(db, "lead_scores")["as_of"].astype(str).str[:10] == "2026-11-01").all()
    old = pd.read_csv(first["out"], dtype={"lead_id": "str"}).set_index("lead_id")["score"]
    both = export[export["lead_id"].isin(old.index)]
    assert (both["score_change"] == both["score"] - old.reindex(both["lead_id"]).to_numpy()).all()
    assert set(both["trend"]) <= {"up", "down", "flat"} and (both["trend"] != "flat").any()
    assert (export.loc[~export["lead_id"].isin(old.index), "trend"] == "new").all()

    manifest = json.loads(Path(november["manifest"]).read_text())
    assert manifest["sha256"]["export"] == file_sha256(november["out"])
    assert manifest["population"] == manifest["scored"] + manifest["rejected"]
    assert manifest["model_version"] == "leadml-lead-scoring/1" and manifest["source_fingerprint"]


def test_postgres_end_to_end_with_write_back(trained: Trained, tmp_path: Path, postgres_server, pg_env,
                                             tiny_db: Path) -> None:
    url = postgres_server.create_database("nightly")
    config = str(trained.config)
    summary(invoke("generate", "--leads", "4000", "--seed", "7", "--out", url, "--config", config, "--json"))
    via_pg = summary(invoke("score", "--config", config, "--data", url, "--as-of", AS_OF,
                            "--out", str(tmp_path / "pg.csv"), "--write-back", "--json"))
    via_duck = summary(invoke("score", "--config", config, "--data", str(tiny_db), "--as-of", AS_OF,
                              "--out", str(tmp_path / "duck.csv"), "--json"))
    a = pd.read_csv(via_pg["out"], dtype={"lead_id": "str"}).drop(columns=["scored_at"])
    b = pd.read_csv(via_duck["out"], dtype={"lead_id": "str"}).drop(columns=["scored_at"])
    pd.testing.assert_frame_equal(a, b)
    import psycopg

    with psycopg.connect(url) as con:
        rows = con.execute("SELECT count(*), count(DISTINCT lead_id) FROM lead_scores").fetchone()
    assert rows == (via_pg["scored"], via_pg["scored"])
    summary(invoke("score", "--config", config, "--data", url, "--as-of", AS_OF, "--out", str(tmp_path / "pg2.csv"),
                   "--write-back", "--json"))
    with psycopg.connect(url) as con:
        assert con.execute("SELECT count(*) FROM lead_score_history").fetchone()[0] == via_pg["scored"]
    manifest = Path(via_pg["manifest"]).read_text()
    assert PASSWORD not in manifest and PASSWORD not in json.dumps(via_pg)


@pytest.fixture(scope="module")
def october(trained_session: Trained, tmp_path_factory: pytest.TempPathFactory) -> tuple[Trained, Path]:
    """A copy of the session's champion folder, and a work folder made once by scoring its database as of
    1 October with write-back: the previous outputs every killed run starts from (copied, never changed)."""
    trained = trained_session.copy_to(tmp_path_factory.mktemp("killed") / "trained")
    work = trained.folder.parent / "w"
    work.mkdir()
    shutil.copy(trained.db, work / "leads.duckdb")
    summary(invoke("score", "--config", trained.config, "--data", work / "leads.duckdb", "--as-of", "2026-10-01",
                   "--out", work / "scores.csv", "--write-back", "--json"))
    return trained, work


@pytest.mark.parametrize("delay", [2.0, 4.0, 6.0, 8.0])
def test_a_killed_run_leaves_the_previous_outputs_intact(october: tuple[Trained, Path], tmp_path: Path,
                                                         delay: float) -> None:
    trained, previous = october
    work = tmp_path / "w"
    shutil.copytree(previous, work, ignore=shutil.ignore_patterns(".*"))  # the database and outputs as left
    config, out = str(trained.config), work / "scores.csv"
    before_export, before_table = out.read_bytes(), table(work / "leads.duckdb", "lead_scores")

    leadml = Path(sys.executable).with_name("leadml")
    process = subprocess.Popen([str(leadml), "score", "--config", config, "--data", str(work / "leads.duckdb"),
                                "--as-of", AS_OF, "--out", str(out), "--write-back"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    finished = process.poll() is not None
    if not finished:
        process.send_signal(signal.SIGKILL)
    process.wait()

    # each output is either the previous one, untouched, or the new run complete: never a mix or a part
    after_table = table(work / "leads.duckdb", "lead_scores")
    if not after_table.equals(before_table):
        assert after_table["as_of"].nunique() == 1 and str(after_table["as_of"].iloc[0])[:10] == AS_OF
        assert after_table["lead_id"].is_unique and len(after_table) > 0
    if out.read_bytes() != before_export:
        new = pd.read_csv(out, dtype={"lead_id": "str"})
        assert (new["as_of"].str[:10] == AS_OF).all() and new["rank"].tolist() == list(range(1, len(new) + 1))
    # finished before the signal, or killed by it; a run can also end between the poll and the signal: exit 0
    assert process.returncode in (0, -signal.SIGKILL) and (not finished or process.returncode == 0)
    assert {p.name for p in work.iterdir() if not p.name.startswith(".")} <= {
        "leads.duckdb", "leads.duckdb.wal", "scores.csv", "scores.rejects.csv", "scores.manifest.json",
        "scores.drift.json"}
    rerun = summary(invoke("score", "--config", config, "--data", str(work / "leads.duckdb"), "--as-of", AS_OF,
                           "--out", str(out), "--write-back", "--json"))
    assert rerun["scored"] == len(pd.read_csv(out))
