"""PostgreSQL as a source, against a real throwaway server: the same results as DuckDB."""

from pathlib import Path

import pandas as pd
import pytest

from leadml.data.clean import DataError, clean_tables
from leadml.data.postgres import safe_url
from leadml.data.sources import DuckDBSource, open_source, write_database
from tests.pgserver import PASSWORD


@pytest.fixture(scope="module")
def pg_db(postgres_server, tiny_db: Path) -> str:
    import os

    os.environ["PGPASSWORD"] = PASSWORD
    url = postgres_server.create_database("tiny")
    with DuckDBSource(tiny_db) as source:
        write_database(source.chunks(1500), url)
    return url


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def test_postgres_reads_the_same_clean_tables_as_duckdb(pg_db: str, tiny_db: Path, pg_env) -> None:
    with open_source(pg_db) as pg, DuckDBSource(tiny_db) as duck:
        assert pg.count_leads() == duck.count_leads() and pg.data_end() == duck.data_end()
        from_pg, _, _ = clean_tables(pg.read_all())
        from_duck, _, _ = clean_tables(duck.read_all())
        chunks = list(pg.chunks(900))
    for name in ("leads", "activities", "opportunities"):
        pd.testing.assert_frame_equal(_sorted(from_pg.table(name)), _sorted(from_duck.table(name)), check_dtype=False)
    assert sum(len(set(c.leads["lead_id"])) for c in chunks) == from_pg.leads["lead_id"].nunique()


def test_bad_credentials_are_a_clear_error_without_the_password(pg_db: str, monkeypatch) -> None:
    monkeypatch.setenv("PGPASSWORD", "wrong")
    with pytest.raises(DataError, match="cannot connect to the database postgresql://leadml@127.0.0.1") as info:
        open_source(pg_db)
    assert "wrong" not in str(info.value) and PASSWORD not in str(info.value)
    with_password = pg_db.replace("leadml@", f"leadml:{PASSWORD}@")
    assert PASSWORD not in safe_url(with_password)
