"""Read and write the lead database: a folder of CSV/Parquet files or a DuckDB file.

Reading goes through an in-process DuckDB connection whatever the source, so that leads can be
streamed in chunks (a hash bucket of lead ids with their whole histories) and memory stays bounded
by the chunk size, not the database size. Writes go to a temporary name and are renamed into place.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from leadml.config import SourceTable, TablesMapping
from leadml.data.clean import DataError, require_columns
from leadml.data.contract import COLUMNS, LeadTables
from leadml.data.display import display_frame
from leadml.data.files import missing_column_message
from leadml.data.table_mapping import MappedTables, TableAccount, file_reader, map_tables

TABLES = tuple(COLUMNS)


def redact_location(location: str) -> str:
    """Drop credentials (user:password@, password=...) from a location before it is shown anywhere."""
    location = re.sub(r"//[^/@]*@", "//***@", str(location))
    return re.sub(r"(?i)(password|pwd)=[^&\s]*", r"\1=***", location)


def _utc_connection() -> duckdb.DuckDBPyConnection:
    """An in-process DuckDB connection whose timestamps are UTC."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class Source(Protocol):
    """An open lead database, whatever holds it (DuckDB, CSV/Parquet files, PostgreSQL); a context manager.

    Every reader streams whole lead histories in hash buckets, so memory follows the chunk size.
    """

    location: str
    accounts: tuple[TableAccount, ...]  # per source table of a mapped source: rows read, kept, dropped, rejected

    def __enter__(self) -> Source: ...

    def __exit__(self, *exc: object) -> None: ...

    def close(self) -> None: ...

    def table_rows(self, table: str) -> int:
        """Rows of one contract table as stored."""
        ...

    def fingerprint(self) -> str:
        """A short hash of what the source holds, for the run's records."""
        ...

    def count_leads(self) -> int: ...

    def data_end(self) -> pd.Timestamp:
        """The newest timestamp of any table: how fresh the source is."""
        ...

    def chunks(self, chunk_size: int) -> Iterator[LeadTables]: ...

    def read_bucket(self, bucket: int, buckets: int) -> LeadTables: ...

    def read_all(self) -> LeadTables: ...

    def read_columns(self, table: str, columns: tuple[str, ...], key: str) -> pd.DataFrame: ...


class DuckDBSource:
    """A DuckDB file or a folder of CSV/Parquet files, read through an in-process DuckDB connection."""

    accounts: tuple[TableAccount, ...] = ()
    _extra: tuple[str, ...] = ()  # the lead feature columns of a table mapping, read beside the contract's
    _padded: bool | None = None  # whether a lead id may need its whitespace stripped (None: not looked yet)
    _registered = False  # tables registered from memory, which only this connection sees

    def __init__(self, location: str | os.PathLike[str]):
        self.location = str(location)
        self._con = _utc_connection()
        self._columns = {table: self._attach(table) for table in TABLES}
        require_columns(self._columns)

    @classmethod
    def of_mapped(cls, mapped: MappedTables, location: str) -> DuckDBSource:
        """Serve tables mapped from a user's own (held in memory) through the same bucketed reads."""
        source = cls.__new__(cls)
        source.location, source.accounts, source._registered = location, mapped.accounts, True
        source._con = _utc_connection()
        for table in TABLES:
            source._con.register(f"mapped_{table}", mapped.tables.table(table))
            source._con.execute(f"CREATE VIEW {_quote('src_' + table)} AS SELECT * FROM {_quote('mapped_' + table)}")
        source._columns = {table: list(mapped.tables.table(table).columns) for table in TABLES}
        source._extra = tuple(c for c in source._columns["leads"] if c not in COLUMNS["leads"])
        return source

    def __enter__(self) -> DuckDBSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._con.close()

    def _attach(self, table: str) -> list[str]:
        """Create a view ``src_<table>`` over the stored table and return its column names."""
        path = Path(self.location)
        if self.location.endswith(".duckdb"):
            if not path.exists():
                raise DataError(f"database file not found: {path}")
            if table == TABLES[0]:
                self._con.execute(f"ATTACH {_literal(str(path))} AS db (READ_ONLY)")
            relation = f"db.main.{_quote(table)}"
            found = self._con.execute(
                "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'db' AND table_name = ?",
                [table]).fetchone()[0]
            if not found:
                raise DataError(f"table {table}: not found in {path}")
        elif path.is_dir():
            relation = self._file_relation(path, table)
        else:
            raise DataError(f"source not found or not supported: {redact_location(self.location)}")
        self._con.execute(f"CREATE VIEW {_quote('src_' + table)} AS SELECT * FROM {relation}")
        return [row[0] for row in self._con.execute(f"DESCRIBE {_quote('src_' + table)}").fetchall()]

    @staticmethod
    def _file_relation(folder: Path, table: str) -> str:
        for candidate in (folder / f"{table}.parquet", folder / table):
            if candidate.is_file() or (candidate.is_dir() and any(candidate.glob("*.parquet"))):
                pattern = str(candidate / "*.parquet") if candidate.is_dir() else str(candidate)
                return f"read_parquet({_literal(pattern)})"
        csv = folder / f"{table}.csv"
        if csv.is_file():
            # all text: cleaning decides the types, so a stray value never fails the whole read
            return f"read_csv({_literal(str(csv))}, header = true, all_varchar = true)"
        raise DataError(f"table {table}: no {table}.parquet or {table}.csv in {folder}")

    def _select(self, table: str) -> str:
        present = [c for c in COLUMNS[table] if c in self._columns[table]]
        present += list(self._extra if table == "leads" else ())
        # ids are text end to end: an integer id column with a NULL must not turn 1 into "1.0"
        return ", ".join("CAST(lead_id AS VARCHAR) AS lead_id" if c == "lead_id" else _quote(c) for c in present)

    def table_rows(self, table: str) -> int:
        return int(self._con.execute(f"SELECT count(*) FROM {_quote('src_' + table)}").fetchone()[0])

    def read_columns(self, table: str, columns: tuple[str, ...], key: str) -> pd.DataFrame:
        """Every row of ``columns`` of a stored table, as stored; a column it lacks is one line naming ``key``."""
        if any(c not in self._columns[table] for c in columns):
            raise DataError(missing_column_message(self._columns[table], list(columns), table=table, key=key))
        # the lead id as _select reads it, so a display row meets its export row
        names = ", ".join("CAST(lead_id AS VARCHAR) AS lead_id" if c == "lead_id" else _quote(c) for c in columns)
        return self._con.execute(f"SELECT {names} FROM {_quote('src_' + table)}").df()

    def fingerprint(self) -> str:
        """Return a digest of every row of the three tables: equal digests, equal data."""
        parts = [self._con.execute(f"SELECT count(*), sum(hash(t)) FROM {_quote('src_' + table)} t").fetchone()
                 for table in TABLES]
        return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]

    def count_leads(self) -> int:
        return int(self._con.execute("SELECT count(DISTINCT lead_id) FROM src_leads").fetchone()[0])

    def data_end(self) -> pd.Timestamp:
        """Return the newest timestamp anywhere in the source: where its history stops."""
        newest = self._con.execute(
            "SELECT max(t) FROM (SELECT max(TRY_CAST(created_at AS TIMESTAMPTZ)) t FROM src_leads "
            "UNION ALL SELECT max(TRY_CAST(occurred_at AS TIMESTAMPTZ)) FROM src_activities "
            "UNION ALL SELECT max(TRY_CAST(created_at AS TIMESTAMPTZ)) FROM src_opportunities)"
        ).fetchone()[0]
        if newest is None:
            raise DataError("table leads: no timestamps found, the source is empty")
        return pd.Timestamp(newest).tz_convert("UTC")

    def chunks(self, chunk_size: int) -> Iterator[LeadTables]:
        """Yield hash buckets of about ``chunk_size`` leads, each with its whole history.

        The next bucket is read on a second connection while the caller works on this one: DuckDB and Arrow
        release the GIL, so reading (a quarter of each bucket's time at a million leads) hides behind the
        caller's work. Tables registered from memory (a mapping's) are seen by this connection only.
        """
        buckets = max(1, math.ceil(self.count_leads() / chunk_size))
        if buckets == 1 or self._registered:
            for bucket in range(buckets):
                yield self.read_bucket(bucket, buckets)
            return
        self._padded_ids()  # looked up here, so the reading thread never uses this connection
        reader = self._con.cursor()
        reader.execute("SET TimeZone = 'UTC'")
        pool = ThreadPoolExecutor(1, thread_name_prefix="leadml-read")
        try:
            pending = pool.submit(self._read_bucket, reader, 0, buckets)
            for bucket in range(buckets):
                chunk = pending.result()
                if bucket + 1 < buckets:
                    pending = pool.submit(self._read_bucket, reader, bucket + 1, buckets)
                yield chunk
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            reader.close()

    def read_bucket(self, bucket: int, buckets: int) -> LeadTables:
        return self._read_bucket(self._con, bucket, buckets)

    def _read_bucket(self, con: duckdb.DuckDBPyConnection, bucket: int, buckets: int) -> LeadTables:
        # the same whitespace stripping as clean.to_id, so a lead and its history share a bucket
        # a NULL id hashes as '' so it lands in a bucket (and in the rejects) instead of in none
        stripped = "regexp_replace(CAST(lead_id AS VARCHAR), '^\\s+|\\s+$', '', 'g')"
        if buckets > 1 and not self._padded_ids():
            stripped = "CAST(lead_id AS VARCHAR)"  # nothing to strip: the same hash, without a regex per row
        where = f"hash(coalesce({stripped}, '')) % {int(buckets)} = {int(bucket)}"
        frames = {table: _frame(con, f"SELECT {self._select(table)} FROM {_quote('src_' + table)} WHERE {where}")
                  for table in TABLES}
        return LeadTables(**frames, lead_columns=self._extra)

    def _padded_ids(self) -> bool:
        """Whether any stored lead id may begin or end with whitespace (the characters the regex ``\\s`` strips;
        a false alarm only costs speed). Reading a bucket strips every id with a regex, which took two thirds
        of each bucket's read of a million leads; one pass, once, tells whether that is needed at all."""
        if self._padded is None:
            codes = "(9, 10, 12, 13, 32)"  # tab, line feed, form feed, carriage return, space
            self._padded = any(self._con.execute(
                f"SELECT coalesce(bool_or(ascii(id) IN {codes} OR ascii(reverse(id)) IN {codes}), false) "
                f"FROM (SELECT CAST(lead_id AS VARCHAR) AS id FROM {_quote('src_' + table)})").fetchall()[0][0]
                for table in TABLES)
        return self._padded

    def read_all(self) -> LeadTables:
        return self.read_bucket(0, 1)


def _frame(con: duckdb.DuckDBPyConnection, query: str) -> pd.DataFrame:
    """The query's rows as DuckDB's ``df()`` gives them, with text, float and UTC timestamp columns
    converted by Arrow instead: the same pandas columns, several times faster (a million activities:
    0.9 s against 2.6 s); other columns keep DuckDB's own conversion (nullable integers, decimals)."""
    complete = getattr(con, "complete", None)  # DuckDB 2: a count read with fetchone() leaves its
    if complete:  # result open, and sql() refuses to run beside it
        complete()
    table = con.sql(query).to_arrow_table()
    by_arrow = [f.name for f in table.schema if _arrow_converts_alike(f.type)]
    if not by_arrow or not table.num_rows:  # df() of no rows: object columns, as before
        return con.from_arrow(table).df()
    others = table.drop_columns(by_arrow)
    frame = con.from_arrow(others).df() if others.num_columns else pd.DataFrame(index=range(table.num_rows))
    for name in by_arrow:
        frame[name] = table.column(name).to_pandas()
    return frame[table.column_names]


def _arrow_converts_alike(kind: pa.DataType) -> bool:
    """Whether Arrow's pandas conversion of a column gives what DuckDB's ``df()`` gives: text (``str``),
    doubles and UTC timestamps (microseconds), but not integers (``df()`` keeps them nullable)."""
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        return True
    return pa.types.is_float64(kind) or (pa.types.is_timestamp(kind) and kind.unit == "us" and kind.tz == "UTC")


def is_postgres(location: str | os.PathLike[str]) -> bool:
    return str(location).startswith(("postgresql://", "postgres://"))


def open_source(location: str | os.PathLike[str], mapping: TablesMapping | None = None) -> Source:
    """Open a DuckDB file, a folder of CSV/Parquet files or a PostgreSQL URL for reading; with a table
    mapping, the user's own tables in it, mapped onto the contract (``table_mapping``)."""
    if mapping is not None:
        return DuckDBSource.of_mapped(read_mapped(str(location), mapping), redact_location(str(location)))
    if is_postgres(location):
        from leadml.data.postgres import PostgresSource

        return PostgresSource(str(location))
    return DuckDBSource(location)


def read_mapped(location: str, mapping: TablesMapping) -> MappedTables:
    """Read and map the user's tables from a folder of files, a DuckDB file or a PostgreSQL database."""
    return map_tables(mapping, lambda spec: read_user_table_of(location, mapping, spec))


def read_user_table_of(location: str, mapping: TablesMapping, spec: SourceTable) -> pd.DataFrame:
    """One of the user's tables as stored, from a folder of files, a DuckDB file or a PostgreSQL database."""
    if is_postgres(location):
        from leadml.data.postgres import read_whole_table

        return read_whole_table(location, spec.file)
    path = Path(location)
    if path.is_dir():
        return file_reader(path, mapping.csv)(spec)
    if path.suffix == ".duckdb" and path.is_file():
        with duckdb.connect(str(path), read_only=True) as con:
            return _duckdb_table(con, path, spec.file)
    raise DataError(f"data.source {redact_location(location)}: a mapped source is a folder of files, "
                    "a .duckdb file or a postgresql:// URL")


def read_display(location: str, columns: tuple[str, ...], mapping: TablesMapping | None) -> pd.DataFrame:
    """The leads' display columns (``export.display``) by lead id, read from the user's own leads table."""
    if mapping is not None:
        spec = mapping.leads
        return display_frame(read_user_table_of(location, mapping, spec), str(spec.id), columns, table=spec.file)
    with open_source(location) as source:
        raw = source.read_columns("leads", ("lead_id", *columns), "export.display")
    return display_frame(raw, "lead_id", columns, table="leads")


def _duckdb_table(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> pd.DataFrame:
    found = [row[0] for row in con.execute("SELECT table_name FROM duckdb_tables() "
                                           "UNION ALL SELECT view_name FROM duckdb_views() WHERE NOT internal"
                                           ).fetchall()]
    if table not in found:
        raise DataError(f"table {table}: not found in {path} (it holds {', '.join(found) or 'no table'})")
    return con.execute(f"SELECT * FROM {_quote(table)}").df()


def write_database(chunks: Iterable[LeadTables], out: str | os.PathLike[str], fmt: str = "parquet") -> None:
    """Write tables chunk by chunk to a DuckDB file, a folder or PostgreSQL, replacing ``out`` atomically."""
    if is_postgres(out):
        from leadml.data.postgres import write_database as write_postgres

        write_postgres(chunks, str(out))
        return
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".duckdb":
        fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
        os.close(fd)
        os.unlink(tmp_name)
        try:
            _write_duckdb(chunks, Path(tmp_name))
            os.replace(tmp_name, out)
        finally:
            Path(tmp_name).unlink(missing_ok=True)
        return
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        _write_folder(chunks, tmp_dir, fmt)
        if out.exists():
            old = out.with_name(f".{out.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            out.rename(old)
            tmp_dir.rename(out)
            shutil.rmtree(old)
        else:
            tmp_dir.rename(out)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


def _write_duckdb(chunks: Iterable[LeadTables], path: Path) -> None:
    con = duckdb.connect(str(path))
    try:
        con.execute("SET TimeZone = 'UTC'")
        for i, chunk in enumerate(chunks):
            for table in TABLES:
                con.register("chunk", chunk.table(table))
                if i == 0:
                    con.execute(f"CREATE TABLE {_quote(table)} AS SELECT * FROM chunk")
                else:
                    con.execute(f"INSERT INTO {_quote(table)} SELECT * FROM chunk")
                con.unregister("chunk")
        con.execute("CHECKPOINT")
    finally:
        con.close()


def _write_folder(chunks: Iterable[LeadTables], folder: Path, fmt: str) -> None:
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"unknown folder format {fmt!r}: use parquet or csv")
    writers: dict[str, pq.ParquetWriter] = {}
    try:
        for chunk in chunks:
            for table in TABLES:
                frame = chunk.table(table)
                if fmt == "csv":
                    path = folder / f"{table}.csv"
                    frame.to_csv(path, mode="a", header=not path.exists(), index=False,
                                 date_format="%Y-%m-%dT%H:%M:%S%z")
                    continue
                batch = pa.Table.from_pandas(frame, preserve_index=False)
                if table not in writers:
                    writers[table] = pq.ParquetWriter(folder / f"{table}.parquet", batch.schema)
                writers[table].write_table(batch.cast(writers[table].schema))
    finally:
        for writer in writers.values():
            writer.close()


def source_errors() -> tuple[type[Exception], ...]:
    """Return the errors of the database drivers (DuckDB, PostgreSQL) that a user's source or sink can raise."""
    import psycopg

    return (duckdb.Error, psycopg.Error)
