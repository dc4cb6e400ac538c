"""The robustness suite: hostile lead databases against a model trained once per session.

Every case writes a raw database (DuckDB or a real PostgreSQL server), scores it once cleanly to
have a previous export and ``lead_scores`` table, then damages it and scores again. The outcome is
either a clear one-line error (exit 1) with the previous outputs untouched, or a published run in
which every lead of the population is scored or rejected with its reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from leadml.data.demo_generator import GenerateSpec, generate_chunks
from tests.conftest import AS_OF, END, Trained, invoke, summary, write_config

Tables = dict[str, pd.DataFrame]


@pytest.fixture(scope="session")
def model_dir(trained_session: Trained) -> Path:
    """The session champion's model folder, trained once on the tiny database (scoring takes it with ``--model``
    and only reads it; a test that damages a model copies it first)."""
    return trained_session.model


@pytest.fixture(scope="session")
def base_tables() -> Tables:
    """A small clean database: 300 leads with their histories, as plain frames."""
    chunk = next(iter(generate_chunks(GenerateSpec(leads=300, seed=11, end=END, chunk_size=300))))
    return {name: chunk.table(name).copy() for name in ("leads", "activities", "opportunities")}


def write_duckdb(path: Path, tables: Tables) -> None:
    """Write frames as they are (any dtypes, any junk), replacing the three tables."""
    con = duckdb.connect(str(path))
    try:
        for name, frame in tables.items():
            con.register("frame", frame)
            con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM frame')
            con.unregister("frame")
    finally:
        con.close()


def write_postgres(url: str, tables: Tables) -> None:
    """Write frames as text columns: a CRM export that typed nothing."""
    import psycopg
    from psycopg import sql

    from tests.pgserver import PASSWORD

    with psycopg.connect(url, password=PASSWORD) as con:
        for name, frame in tables.items():
            con.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(name)))
            con.execute(sql.SQL("CREATE TABLE {} ({})").format(sql.Identifier(name), sql.SQL(", ").join(
                sql.SQL("{} text").format(sql.Identifier(c)) for c in frame.columns)))
            query = sql.SQL("COPY {} FROM STDIN").format(sql.Identifier(name))
            text = frame.astype(object).map(lambda v: None if v is None or v is pd.NA or v != v else str(v))
            with con.cursor().copy(query) as copy:
                for record in text.itertuples(index=False, name=None):
                    copy.write_row(record)
        con.commit()


@dataclass
class Outcome:
    exit_code: int
    stderr: str
    stdout: str
    export: pd.DataFrame | None
    rejects: pd.DataFrame | None
    summary: dict | None
    intact: bool  # the previous export, rejects, manifest and lead_scores are byte-for-byte unchanged


@dataclass
class Workspace:
    """A folder with a config, a database location and the outputs of a previous clean run."""

    folder: Path
    config: Path
    data: str
    model: Path
    write: Callable[[Tables], None]
    read_scores: Callable[[], pd.DataFrame]

    @property
    def out(self) -> Path:
        return self.folder / "scores.csv"

    def score(self, *extra: str, as_of: str = AS_OF, out: Path | None = None) -> dict:
        return summary(invoke(*self.args(as_of, out, *extra)))

    def args(self, as_of: str = AS_OF, out: Path | None = None, *extra: str, model: str | None = None,
             config: Path | None = None) -> list[str]:
        return ["score", "--config", str(config or self.config), "--data", self.data, "--as-of", as_of,
                "--out", str(out or self.out), "--model", str(model or self.model), "--write-back", "--json", *extra]

    def outputs(self) -> tuple:
        files = [self.out, self.out.with_name("scores.rejects.csv"), self.out.with_name("scores.manifest.json")]
        return tuple(p.read_bytes() if p.exists() else None for p in files), self.read_scores()

    def run_damaged(self, tables: Tables, *extra: str, as_of: str = AS_OF, model: str | None = None,
                    config: Path | None = None) -> Outcome:
        """Score the clean tables, then ``tables`` (with ``model`` or ``config`` if given); report what the
        second run did and left."""
        self.score(as_of=as_of)
        before_files, before_scores = self.outputs()
        self.write(tables)
        result = invoke(*self.args(as_of, None, *extra, model=model, config=config))
        after_files, after_scores = self.outputs()
        intact = before_files == after_files and before_scores.equals(after_scores)
        summary = json.loads(result.stdout.strip().splitlines()[-1]) if result.exit_code == 0 else None
        read = (lambda p: pd.read_csv(p, dtype={"lead_id": "str"}, keep_default_na=False,
                                      na_values=[""])) if summary else None
        errors = result.stderr or repr(result.exception)  # an uncaught exception leaves stderr empty
        return Outcome(result.exit_code, errors, result.stdout, read(self.out) if read else None,
                       read(self.out.with_name("scores.rejects.csv")) if read else None, summary, intact)


@pytest.fixture(params=["duckdb", "postgres"])
def workspace(request: pytest.FixtureRequest, tmp_path: Path, model_dir: Path, base_tables: Tables) -> Workspace:
    """A workspace on each real source, holding the clean base tables."""
    config = write_config(tmp_path)
    if request.param == "duckdb":
        data = str(tmp_path / "leads.duckdb")
        write = lambda tables: write_duckdb(Path(data), tables)  # noqa: E731

        def read_scores() -> pd.DataFrame:
            con = duckdb.connect(data, read_only=True)
            try:
                return con.execute("SELECT * FROM lead_scores ORDER BY lead_id").df()
            finally:
                con.close()
    else:
        import psycopg

        from tests.pgserver import PASSWORD

        server = request.getfixturevalue("postgres_server")
        request.getfixturevalue("pg_env")
        data = server.create_database(f"r{abs(hash(str(tmp_path))) % 10**9}")
        write = lambda tables: write_postgres(data, tables)  # noqa: E731

        def read_scores() -> pd.DataFrame:
            with psycopg.connect(data, password=PASSWORD) as con:
                rows = con.execute("SELECT * FROM lead_scores ORDER BY lead_id")
                return pd.DataFrame(rows.fetchall(), columns=[d.name for d in rows.description])
    write(base_tables)
    return Workspace(tmp_path, config, data, model_dir, write, read_scores)


def population(tables: Tables, as_of: str = AS_OF) -> set[str]:
    """Lead ids (as written) created at or before ``as_of`` with no opportunity before it."""
    from leadml.data.clean import clean_tables
    from leadml.data.contract import LeadTables
    from leadml.features.spine import build_spine, truncate

    clean, rejects, _ = clean_tables(LeadTables(**tables))
    moment = pd.Timestamp(as_of, tz="UTC")
    spine = build_spine(truncate(clean, moment), [moment])
    return set(spine["lead_id"])


def assert_published(outcome: Outcome) -> None:
    """The run published, and every lead of its population was scored or rejected exactly once."""
    assert outcome.exit_code == 0, outcome.stderr
    scored, rejected = set(outcome.export["lead_id"]), set(outcome.rejects["lead_id"])
    assert not scored & rejected
    assert outcome.summary["population"] == len(outcome.export) + len(outcome.rejects)
    assert outcome.export["probability"].between(0, 1).all()


def assert_refused(outcome: Outcome, *words: str) -> None:
    """The run failed with one clear line naming ``words``, and published nothing."""
    assert outcome.exit_code == 1, outcome.stdout
    lines = [line for line in outcome.stderr.strip().splitlines() if line.startswith("leadml: error:")]
    assert len(lines) == 1, outcome.stderr
    for word in words:
        assert word in lines[0], lines[0]
    assert "Traceback" not in outcome.stderr
    assert outcome.intact
