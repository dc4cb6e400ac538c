"""The lead database in PostgreSQL: streamed reads by hash bucket of lead id, and bulk loads.

Credentials come from the environment (``PGPASSWORD``, ``~/.pgpass``) or the URL, and never reach
a log line or an error message: every message names the URL with its password redacted.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Iterable, Iterator

import pandas as pd
import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from leadml.data.clean import DataError, require_columns
from leadml.data.contract import COLUMNS, TIME_COLUMNS, LeadTables
from leadml.data.files import missing_column_message

TABLES = tuple(COLUMNS)
NUMERIC = {"employees", "annual_revenue", "declared_budget", "value", "amount"}
PG_NUMBERS = {"smallint", "integer", "bigint", "numeric", "real", "double precision"}


def connect(url: str, **kwargs: object) -> psycopg.Connection:
    """Connect, turning failures into a DataError that names the redacted URL, not the password."""
    try:
        return psycopg.connect(url, **kwargs)
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"cannot connect to the database {safe_url(url)}: {reason}") from None


def safe_url(url: str) -> str:
    """Return ``postgresql://user@host:port/db`` with any password removed."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    user, host, port, db = (info.get(k, "") for k in ("user", "host", "port", "dbname"))
    return f"postgresql://{user}@{host}:{port or 5432}/{db}"


# A lead's bucket hash: the stripped text id, an absent id as '' (so id-less rows land in a bucket and
# reach the rejects). The Spark engine's JDBC reads split the tables by the same expression.
LEAD_HASH = "hashtext(coalesce(regexp_replace(lead_id::text, '^\\s+|\\s+$', '', 'g'), ''))::bigint + 2147483648"

def read_whole_table(url: str, table: str) -> pd.DataFrame:
    """Read one of the user's tables as it is stored (a mapped source maps it onto the contract)."""
    with connect(url) as con:
        cursor = con.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(*table.split(".", 1))))  # schema.t
        return pd.DataFrame(cursor.fetchall(), columns=[c.name for c in cursor.description])


class PostgresSource:
    """An open PostgreSQL lead database (a ``sources.Source``), read in hash buckets of whole lead histories."""

    accounts: tuple = ()

    def __init__(self, url: str):
        self.location = safe_url(url)
        self._con = connect(url, autocommit=True)
        rows = self._con.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = ANY(%s)", [list(TABLES)]).fetchall()
        self._columns = {table: [c for t, c, _ in rows if t == table] for table in TABLES}
        self._types = {(t, c): kind for t, c, kind in rows}
        for table, columns in self._columns.items():
            if not columns:
                raise DataError(f"table {table}: not found in {self.location}")
        require_columns(self._columns)

    def __enter__(self) -> PostgresSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._con.close()

    def _select(self, table: str) -> sql.Composed:
        parts = []
        for column in COLUMNS[table]:
            if column not in self._columns[table]:
                continue
            ident = sql.Identifier(column)
            # a text column ("1,200", "n/a") is read as text and parsed by cleaning, never cast here
            typed = self._types[(table, column)] in PG_NUMBERS
            cast = "float8" if column in NUMERIC and typed else "text" if column == "lead_id" else None
            parts.append(sql.SQL("{}::" + cast + " AS {}").format(ident, ident) if cast else ident)
        return sql.SQL(", ").join(parts)

    def table_rows(self, table: str) -> int:
        return int(self._con.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()[0])

    def read_columns(self, table: str, columns: tuple[str, ...], key: str) -> pd.DataFrame:
        """Every row of ``columns`` of a table, as stored; a column it lacks is one line naming ``key``."""
        if any(c not in self._columns[table] for c in columns):
            raise DataError(missing_column_message(self._columns[table], list(columns), table=table, key=key))
        selected = [sql.SQL("{}::text AS {}").format(sql.Identifier(c), sql.Identifier(c)) if c == "lead_id"
                    else sql.Identifier(c) for c in columns]  # the lead id as buckets read it
        query = sql.SQL("SELECT {} FROM {}").format(sql.SQL(", ").join(selected), sql.Identifier(table))
        cursor = self._con.execute(query)
        return pd.DataFrame(cursor.fetchall(), columns=[c.name for c in cursor.description])

    def count_leads(self) -> int:
        return int(self._con.execute("SELECT count(DISTINCT lead_id) FROM leads").fetchone()[0])

    def data_end(self) -> pd.Timestamp:
        newest = [self._con.execute(sql.SQL("SELECT max({}) FROM {}").format(
            sql.Identifier(TIME_COLUMNS[t]), sql.Identifier(t))).fetchone()[0] for t in TABLES]
        # text columns: the largest ISO string, parsed like cleaning parses it (unparseable: ignored)
        parsed = pd.to_datetime(pd.Series([str(t) for t in newest if t is not None], dtype="str"), utc=True,
                                errors="coerce", format="ISO8601").dropna()
        if parsed.empty:
            raise DataError("table leads: no timestamps found, the source is empty")
        return parsed.max()

    def fingerprint(self) -> str:
        parts = [self._con.execute(sql.SQL("SELECT count(*), sum(hashtext(t::text)) FROM {} t").format(
            sql.Identifier(table))).fetchone() for table in TABLES]
        return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]

    def chunks(self, chunk_size: int) -> Iterator[LeadTables]:
        buckets = max(1, math.ceil(self.count_leads() / chunk_size))
        for bucket in range(buckets):
            yield self.read_bucket(bucket, buckets)

    def read_bucket(self, bucket: int, buckets: int) -> LeadTables:
        frames = {}
        for table in TABLES:
            query = sql.SQL("SELECT {} FROM {} WHERE mod(" + LEAD_HASH + ", %s) = %s").format(
                self._select(table), sql.Identifier(table))
            with self._con.cursor() as cursor:
                cursor.execute(query, [buckets, bucket])
                names = [d.name for d in cursor.description]
                frames[table] = pd.DataFrame(cursor.fetchall(), columns=names)
        return LeadTables(**frames)

    def read_all(self) -> LeadTables:
        return self.read_bucket(0, 1)


PG_TYPES = {"lead_id": "text", "opportunity_id": "text", "created_at": "timestamptz", "occurred_at": "timestamptz",
            "employees": "bigint", "annual_revenue": "double precision", "declared_budget": "double precision",
            "value": "double precision", "amount": "double precision"}


def write_database(chunks: Iterable[LeadTables], url: str) -> None:
    """Load tables chunk by chunk into PostgreSQL, replacing them in one transaction."""
    with connect(url) as con:
        for i, chunk in enumerate(chunks):
            for table in TABLES:
                frame = chunk.table(table)
                if i == 0:
                    con.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))
                    con.execute(sql.SQL("CREATE TABLE {} ({})").format(sql.Identifier(table), sql.SQL(", ").join(
                        sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(PG_TYPES.get(c, "text")))
                        for c in frame.columns)))
                copy_frame(con, table, frame)
        con.commit()


def copy_frame(con: psycopg.Connection, table: str, frame: pd.DataFrame) -> None:
    """COPY a frame into an existing table (values are never spliced into SQL text)."""
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in frame.columns)
    query = sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(table), columns)
    records = frame.astype(object).where(frame.notna(), None).itertuples(index=False, name=None)
    with con.cursor() as cursor, cursor.copy(query) as copy:
        for record in records:
            copy.write_row(record)


def jdbc(url: str) -> tuple[str, dict[str, str]]:
    """Return the JDBC URL and connection properties of a ``postgresql://`` URL."""
    info = conninfo_to_dict(url)
    host = str(info.get("host") or "localhost")
    if host.startswith("/"):
        raise DataError(f"{safe_url(url)}: the Spark engine connects over TCP; give a host name, not a socket")
    properties = {"driver": "org.postgresql.Driver", "user": str(info.get("user") or os.environ.get("PGUSER", ""))}
    password = info.get("password") or os.environ.get("PGPASSWORD")
    if password:
        properties["password"] = str(password)
    if info.get("sslmode"):
        properties["sslmode"] = str(info["sslmode"])
    return f"jdbc:postgresql://{host}:{info.get('port') or 5432}/{info.get('dbname') or ''}", properties


def swap_staging(url: str, *, staging: str, table: str, key: str, value: pd.Timestamp, columns: list[str]) -> int:
    """Replace the rows of ``table`` whose ``key`` is ``value`` with the staging table's, in one transaction,
    and drop the staging table whatever happens (the Spark engine loads it over JDBC first)."""
    names = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    try:
        with connect(url) as con:  # one transaction: committed on a clean exit, rolled back otherwise
            times = [row[0] for row in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
                "AND table_name = %s AND data_type = 'timestamp without time zone'", [staging]).fetchall()]
            for column in times:  # zone-less timestamps (UTC, as Spark's session writes them) become timestamptz
                con.execute(sql.SQL("ALTER TABLE {t} ALTER COLUMN {c} TYPE timestamptz USING {c} AT TIME ZONE 'UTC'")
                            .format(t=sql.Identifier(staging), c=sql.Identifier(column)))
            con.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (LIKE {})").format(
                sql.Identifier(table), sql.Identifier(staging)))
            con.execute(sql.SQL("DELETE FROM {} WHERE {} = %s").format(sql.Identifier(table), sql.Identifier(key)),
                        [value.to_pydatetime()])
            rows = con.execute(sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {}").format(
                sql.Identifier(table), names, names, sql.Identifier(staging))).rowcount
            con.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(staging)))
    finally:
        with connect(url, autocommit=True) as con:
            con.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(staging)))
    return int(rows)
