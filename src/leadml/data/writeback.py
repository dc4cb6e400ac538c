"""Scores written back into the lead database, DuckDB or PostgreSQL, in one transaction.

``lead_scores`` holds the latest run (one row per lead, keyed by lead_id, as_of and
model_version); ``lead_score_history`` keeps every run, so trends can be shown. A rerun of the
same as_of and model replaces its own rows: the tables end up identical. Table names come from
the config as validated identifiers and are always quoted; values are always bound or copied.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from leadml.data.clean import DataError
from leadml.data.sources import is_postgres, redact_location

KEY = ("lead_id", "as_of", "model_version")
TYPES = {"lead_id": "VARCHAR", "probability": "DOUBLE", "score": "INTEGER", "grade": "VARCHAR", "rank": "BIGINT",
         "score_change": "DOUBLE", "as_of": "TIMESTAMPTZ", "scored_at": "TIMESTAMPTZ", "fit_score": "DOUBLE",
         "engagement_score": "DOUBLE", "budget_score": "DOUBLE", "base_score": "DOUBLE", "is_stale": "BOOLEAN"}


def _columns(export: pd.DataFrame) -> list[tuple[str, str]]:
    return [(c, TYPES.get(c, "VARCHAR")) for c in export.columns]


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def previous_scores(location: str, history_table: str, as_of: pd.Timestamp) -> pd.DataFrame:
    """Return each lead's latest earlier score (``lead_id``, ``score``, ``grade``, ``as_of``) from the
    history table: for trends, and for the report's new A leads and movers."""
    query = ("SELECT lead_id, score, grade, as_of FROM (SELECT lead_id, score, grade, as_of, row_number() OVER "
             "(PARTITION BY lead_id ORDER BY as_of DESC, scored_at DESC) AS n FROM {table} WHERE as_of < {param}) "
             "ranked WHERE n = 1")
    found = _query_history(location, history_table, query, as_of)
    return found if found is not None else pd.DataFrame(
        {"lead_id": pd.Series([], dtype="str"), "score": pd.Series([], dtype="float64"),
         "grade": pd.Series([], dtype="str"), "as_of": pd.Series([], dtype="datetime64[us, UTC]")})


def read_history(location: str, history_table: str, until: pd.Timestamp) -> pd.DataFrame | None:
    """Return the runs in the history table with as_of at or before ``until``; None when there is no table.

    Columns: lead_id, as_of, model_version, probability, grade (what ``leadml monitor`` judges).
    """
    query = "SELECT lead_id, as_of, model_version, probability, grade FROM {table} WHERE as_of <= {param}"
    return _query_history(location, history_table, query, until)


def _query_history(location: str, history_table: str, query: str, moment: pd.Timestamp) -> pd.DataFrame | None:
    """Run ``query`` ({table} and {param} placeholders) on the history table; None where there is no such table."""
    if is_postgres(location):
        from psycopg import sql

        from leadml.data.postgres import connect

        with connect(location) as con:
            exists = con.execute("SELECT to_regclass(%s)", [sql.Identifier(history_table).as_string(con)]).fetchone()[0]
            if exists is None:
                return None
            cursor = con.execute(sql.SQL(query.format(table="{}", param="%s")).format(
                sql.Identifier(history_table)), [moment.to_pydatetime()])
            return pd.DataFrame(cursor.fetchall(), columns=[d.name for d in cursor.description])
    if not str(location).endswith(".duckdb"):
        return None
    con = duckdb.connect(str(location), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        found = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [history_table]).fetchone()[0]
        if not found:
            return None
        return con.execute(query.format(table=_q(history_table), param="?"), [moment.to_pydatetime()]).df()
    finally:
        con.close()


def write_back(location: str, export: pd.DataFrame, *, scores_table: str, history_table: str,
               as_of: pd.Timestamp, model_version: str) -> None:
    """Replace ``scores_table`` with this run and upsert it into ``history_table``, atomically."""
    run = [as_of.to_pydatetime(), model_version]
    if is_postgres(location):
        _write_postgres(location, export, scores_table=scores_table, history_table=history_table, run=run)
    elif str(location).endswith(".duckdb"):
        _write_duckdb(location, export, scores_table=scores_table, history_table=history_table, run=run)
    else:
        raise DataError(f"--write-back needs a DuckDB file or a PostgreSQL database, not {redact_location(location)}")


def _write_duckdb(path: str, export: pd.DataFrame, *, scores_table: str, history_table: str, run: list) -> None:
    definition = ", ".join(f"{_q(c)} {t}" for c, t in _columns(export))
    key = ", ".join(_q(c) for c in KEY)
    names = ", ".join(_q(c) for c in export.columns)  # by name: never by position
    con = duckdb.connect(str(path))
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.register("staged", export)
        con.execute("BEGIN TRANSACTION")
        try:
            for table in (scores_table, history_table):
                con.execute(f"CREATE TABLE IF NOT EXISTS {_q(table)} ({definition}, PRIMARY KEY ({key}))")
                for column, kind in _columns(export):  # tables made by an earlier leadml gain new columns
                    con.execute(f"ALTER TABLE {_q(table)} ADD COLUMN IF NOT EXISTS {_q(column)} {kind}")
            con.execute(f"DELETE FROM {_q(scores_table)}")
            con.execute(f"INSERT INTO {_q(scores_table)} ({names}) SELECT {names} FROM staged")
            con.execute(f"DELETE FROM {_q(history_table)} WHERE as_of = ? AND model_version = ?", run)
            con.execute(f"INSERT INTO {_q(history_table)} ({names}) SELECT {names} FROM staged")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        con.close()


def _write_postgres(url: str, export: pd.DataFrame, *, scores_table: str, history_table: str, run: list) -> None:
    from psycopg import sql

    from leadml.data.postgres import connect, copy_frame

    pg_types = {"VARCHAR": "text", "DOUBLE": "double precision", "INTEGER": "integer", "BIGINT": "bigint",
                "TIMESTAMPTZ": "timestamptz", "BOOLEAN": "boolean"}
    definition = sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(pg_types[t]))
                                    for c, t in _columns(export))
    key = sql.SQL(", ").join(sql.Identifier(c) for c in KEY)
    names = sql.SQL(", ").join(sql.Identifier(c) for c in export.columns)  # by name: never by position
    with connect(url) as con:  # one transaction: committed on leaving the block, rolled back on error
        for table in (scores_table, history_table):
            con.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} ({}, PRIMARY KEY ({}))").format(
                sql.Identifier(table), definition, key))
            for column, kind in _columns(export):  # tables made by an earlier leadml gain new columns
                con.execute(sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}").format(
                    sql.Identifier(table), sql.Identifier(column), sql.SQL(pg_types[kind])))
        con.execute(sql.SQL("CREATE TEMP TABLE staged (LIKE {}) ON COMMIT DROP").format(sql.Identifier(scores_table)))
        copy_frame(con, "staged", export)
        con.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(scores_table)))
        con.execute(sql.SQL("INSERT INTO {} ({}) SELECT {} FROM staged").format(
            sql.Identifier(scores_table), names, names))
        con.execute(sql.SQL("DELETE FROM {} WHERE as_of = %s AND model_version = %s").format(
            sql.Identifier(history_table)), run)
        con.execute(sql.SQL("INSERT INTO {} ({}) SELECT {} FROM staged").format(
            sql.Identifier(history_table), names, names))
