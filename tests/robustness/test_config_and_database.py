"""Case 8: hostile names and values, credentials, and a database that goes away mid-run."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import invoke, write_config
from tests.pgserver import PASSWORD, USER
from tests.robustness.conftest import AS_OF, Tables, Workspace, assert_published, population, write_postgres

pytestmark = pytest.mark.slow
EVIL = '"; DROP TABLE leads; --'


@pytest.mark.parametrize("key", ["scores_table", "history_table"])
def test_table_names_with_quotes_or_semicolons_are_rejected(tmp_path: Path, key: str) -> None:
    config = write_config(tmp_path, export={"path": str(tmp_path / "s.csv"), key: f"lead_scores{EVIL}"})
    result = invoke("score", "--config", str(config), "--as-of", AS_OF)
    assert result.exit_code == 1 and key in result.stderr and "Traceback" not in result.stderr


def test_hostile_column_names_and_ids_are_bound_never_spliced(workspace: Workspace, base_tables: Tables) -> None:
    lead = sorted(population(base_tables))[0]
    evil_id = f"x'{EVIL}"
    tables = {name: frame.assign(lead_id=frame["lead_id"].replace({lead: evil_id})) for name, frame in
              base_tables.items()}
    tables["leads"][EVIL] = "payload"
    outcome = workspace.run_damaged(tables)
    assert_published(outcome)
    assert evil_id in set(outcome.export["lead_id"]) and evil_id in set(workspace.read_scores()["lead_id"])
    workspace.score()  # the leads table is still there and whole
    assert workspace.score()["population"] == len(population(base_tables))


@pytest.fixture
def pg_with_password_url(postgres_server, tmp_path: Path, base_tables: Tables) -> str:
    plain = postgres_server.create_database("secretive")
    write_postgres(plain, base_tables)
    return plain.replace(f"{USER}@", f"{USER}:{PASSWORD}@")


def test_a_password_in_the_url_reaches_no_output(pg_with_password_url: str, model_dir: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PGPASSWORD", raising=False)
    config = write_config(tmp_path, monitoring={"mlflow": True})  # its MLflow store is among the outputs searched
    outputs = []
    for command in (["score", "--out", str(tmp_path / "s.csv"), "--write-back"], ["evaluate"]):
        as_of = AS_OF if command[0] == "score" else "2026-09-01"
        result = invoke(*command, "--config", str(config), "--data", pg_with_password_url,
                        "--as-of", as_of, "--model", str(model_dir), "--json")
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    wrong = pg_with_password_url.replace(PASSWORD, PASSWORD + "-wrong")
    result = invoke("score", "--config", str(config), "--data", wrong, "--as-of", AS_OF,
                    "--out", str(tmp_path / "w.csv"), "--model", str(model_dir))
    assert result.exit_code == 1 and "password authentication failed" in result.stderr
    outputs.append(result.output)
    stored = [p.read_bytes().decode("utf-8", "replace") for p in tmp_path.rglob("*") if p.is_file()]
    assert len(stored) >= 4  # export, rejects, manifest, the MLflow store ...
    for text in outputs + stored:
        assert PASSWORD not in text


def test_a_database_that_goes_away_mid_run_publishes_nothing(postgres_server, pg_env, tiny_db: Path,
                                                            model_dir: Path, tmp_path: Path) -> None:
    import psycopg

    from leadml.data.sources import DuckDBSource, write_database

    url = postgres_server.create_database("vanishing")
    with DuckDBSource(tiny_db) as source:
        write_database(source.chunks(1500), url)
    config = yaml.safe_load(write_config(tmp_path).read_text())
    config["data"]["chunk_size"] = 500  # many reads, so the kill lands in the middle of them
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    out = tmp_path / "scores.csv"
    out.write_text("previous export\n")
    leadml = Path(sys.executable).with_name("leadml")
    process = subprocess.Popen([str(leadml), "score", "--config", str(tmp_path / "config.yaml"), "--data", url,
                                "--as-of", AS_OF, "--out", str(out), "--model", str(model_dir), "--write-back"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed = 0
    with psycopg.connect(postgres_server.url(), password=PASSWORD, autocommit=True) as admin:
        while process.poll() is None:
            killed += admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                    "WHERE datname = 'vanishing' AND pid <> pg_backend_pid()").fetchone()[0]
            time.sleep(0.05)
    stdout, stderr = process.communicate()
    assert killed >= 1
    assert process.returncode == 1, stderr[-2000:]
    errors = [line for line in stderr.splitlines() if line.startswith("leadml: error:")]
    assert len(errors) == 1 and "Traceback" not in stderr and PASSWORD not in stderr
    assert out.read_text() == "previous export\n"
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == ["config.yaml", "scores.csv"]
    with psycopg.connect(url, password=PASSWORD) as con:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables "
                                            "WHERE table_schema = current_schema()")}
    assert "lead_scores" not in tables
