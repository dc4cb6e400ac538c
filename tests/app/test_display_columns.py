"""Display columns: who a lead is reaches the export for people to act on, and nothing else.

The names and e-mail addresses of leads go into the export (and the report), and nowhere else: not into
the model's features, the score tables written back to the database, the manifest, the drift summary, the
logs or MLflow.
"""

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from tests.conftest import AS_OF, Trained, invoke, summary, write_config

pytestmark = pytest.mark.slow

DISPLAY = ["company_name", "email"]


def leads_table(db: Path) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT CAST(lead_id AS VARCHAR) AS lead_id, company_name, email FROM leads").df()


def every_file_under(folder: Path, *, skip: tuple[Path, ...]) -> str:
    """The text of every file under ``folder`` but ``skip`` (binary files read as Latin-1, so SQLite pages count)."""
    return "".join(p.read_bytes().decode("latin-1") for p in folder.rglob("*")
                   if p.is_file() and p not in skip and p.suffix != ".duckdb")


def test_display_columns_reach_the_export_and_nothing_else(trained: Trained, tmp_path: Path) -> None:
    plain = summary(invoke("score", "--config", trained.config, "--as-of", AS_OF, "--out", tmp_path / "plain.csv",
                           "--json"))
    write_config(trained.folder, export={"path": str(trained.folder / "scored.csv"), "display": DISPLAY},
                 monitoring={"mlflow": True})
    result = invoke("score", "--config", trained.config, "--as-of", AS_OF, "--out", tmp_path / "people.csv",
                    "--write-back", "--json")
    shown = summary(result)
    export = pd.read_csv(shown["out"], dtype="str", keep_default_na=False)
    assert list(export.columns[:3]) == ["lead_id", *DISPLAY]
    leads = leads_table(trained.db).drop_duplicates("lead_id").set_index("lead_id")
    assert (export["email"] == leads["email"].reindex(export["lead_id"]).fillna("").to_numpy()).all()
    assert export["email"].str.contains("@").mean() > 0.9
    before = pd.read_csv(plain["out"], dtype="str", keep_default_na=False)
    assert export.drop(columns=[*DISPLAY, "scored_at"]).equals(before.drop(columns="scored_at")), \
        "display columns changed a score or a reason"

    with duckdb.connect(str(trained.db), read_only=True) as con:
        written_back = {c for (c,) in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name IN "
                                                  "('lead_scores', 'lead_score_history')").fetchall()}
    assert written_back and not written_back & set(DISPLAY)
    elsewhere = result.stdout + result.stderr + every_file_under(tmp_path, skip=(Path(shown["out"]),)) \
        + every_file_under(trained.folder, skip=())
    emails = set(export["email"]) - {""}
    assert emails and not [e for e in emails if e in elsewhere], "an e-mail address left the export"


def test_a_display_column_the_leads_table_lacks_is_one_line(trained: Trained, tmp_path: Path) -> None:
    write_config(trained.folder, export={"path": str(trained.folder / "scored.csv"), "display": ["owner_name"]})
    result = invoke("score", "--config", trained.config, "--as-of", AS_OF, "--out", tmp_path / "x.csv", "--write-back")
    assert result.exit_code != 0
    assert "export.display" in result.stderr and "owner_name" in result.stderr and "leads" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.csv").exists()
    with duckdb.connect(str(trained.db), read_only=True) as con:  # stopped before the score tables were written
        assert not con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'lead_scores'").fetchone()[0]


@pytest.mark.parametrize("display", [["score"], ["lead_id"], ["email", "email"]])
def test_a_display_column_leadml_writes_itself_is_refused(trained: Trained, tmp_path: Path, display: list) -> None:
    write_config(trained.folder, export={"path": str(trained.folder / "scored.csv"), "display": display})
    result = invoke("score", "--config", trained.config, "--as-of", AS_OF, "--out", tmp_path / "x.csv")
    assert result.exit_code != 0 and "export.display" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
