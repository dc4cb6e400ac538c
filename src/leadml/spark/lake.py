"""Spark's edges: the contract tables from Parquet or PostgreSQL, results to Parquet or PostgreSQL.

Sources are a folder (or object-store prefix) holding ``leads``, ``activities`` and
``opportunities`` as Parquet, or a ``postgresql://`` URL read over JDBC in parallel, one query per
hash bucket of lead ids. Sinks are written per as-of moment: a Parquet dataset partitioned by
``as_of`` with dynamic partition overwrite, or a PostgreSQL table whose rows of that as-of moment
are swapped in one transaction. Either way a rerun replaces exactly its own as-of and nothing else.
Passwords come from the URL or ``PGPASSWORD`` and never reach a message.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import pandas as pd

from leadml.data.clean import DataError, require_columns
from leadml.data.contract import COLUMNS, NUMERIC_COLUMNS
from leadml.data.postgres import LEAD_HASH, jdbc, swap_staging
from leadml.data.sources import is_postgres, redact_location

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

AS_OF = "as_of"


def read_tables(spark: SparkSession, location: str) -> dict[str, DataFrame]:
    """Return the three contract tables with only the contract's columns, ids as text (``check_source`` first)."""
    if is_postgres(location):
        frames = {table: _jdbc_table(spark, location, table) for table in COLUMNS}
    else:
        frames = {table: _parquet_table(spark, str(location).rstrip("/"), table) for table in COLUMNS}
    return {table: _contract(table, frame) for table, frame in frames.items()}


def check_source(location: str) -> None:
    """Refuse, before Spark starts, a source the Spark engine cannot read."""
    if str(location).endswith(".duckdb"):
        raise DataError(f"{location}: the Spark engine reads a folder of Parquet files or a PostgreSQL database, "
                        "not a DuckDB file (export its tables with DuckDB: COPY leads TO 'FOLDER/leads.parquet')")


def _parquet_table(spark: SparkSession, folder: str, table: str) -> DataFrame:
    from pyspark.errors import AnalysisException

    for candidate in (f"{folder}/{table}.parquet", f"{folder}/{table}"):
        try:
            return spark.read.parquet(candidate)
        except AnalysisException:
            continue
    raise DataError(f"table {table}: no {table}.parquet (file or folder) or {table}/ folder of Parquet in {folder}")


def _jdbc_table(spark: SparkSession, url: str, table: str) -> DataFrame:
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import AnalysisException

    address, properties = jdbc(url)
    partitions = max(1, spark.sparkContext.defaultParallelism)
    predicates = [f"mod({LEAD_HASH}, {partitions}) = {i}" for i in range(partitions)]
    try:
        return spark.read.option("fetchsize", "10000").jdbc(address, f'"{table}"', predicates=predicates,
                                                             properties=properties)
    except (AnalysisException, Py4JJavaError) as exc:
        raise DataError(f"table {table}: cannot be read from {redact_location(url)}: {_first_line(exc)}") from None


def _first_line(exc: Exception) -> str:
    text = str(getattr(exc, "java_exception", exc)).strip()
    return redact_location(text.splitlines()[0] if text else type(exc).__name__)


def _contract(table: str, frame: DataFrame) -> DataFrame:
    """Keep the contract's columns; ids as text (as ``Source`` reads them) and stored numbers as doubles."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import NumericType

    require_columns({table: frame.columns})
    types = {field.name: field.dataType for field in frame.schema.fields}
    columns = []
    for column in (c for c in COLUMNS[table] if c in frame.columns):
        if column == "lead_id":
            columns.append(F.col(column).cast("string").alias(column))
        elif column in NUMERIC_COLUMNS[table] and isinstance(types[column], NumericType):
            columns.append(F.col(column).cast("double").alias(column))
        else:
            columns.append(F.col(column))
    return frame.select(*columns)


def fingerprint(tables: dict[str, DataFrame]) -> str:
    """Return a digest of every row of the tables read: equal digests, equal data (per engine)."""
    import hashlib

    from pyspark.sql import functions as F

    parts = [tables[t].select(F.count(F.lit(1)), F.sum(F.xxhash64(*tables[t].columns).cast("decimal(20,0)"))).first()
             for t in COLUMNS]
    return hashlib.sha256(repr([tuple(p) for p in parts]).encode()).hexdigest()[:16]


def read_previous(spark: SparkSession, location: str, table: str, as_of: pd.Timestamp) -> DataFrame | None:
    """Return each lead's last score before ``as_of`` from an earlier run's sink, or None on a first run."""
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import AnalysisException
    from pyspark.sql import functions as F

    try:
        if is_postgres(location):
            address, properties = jdbc(location)
            frame = spark.read.jdbc(address, f'"{table}"', properties=properties)
        else:
            frame = spark.read.parquet(location)
        earlier = frame.where(F.col(AS_OF) < F.lit(as_of.to_pydatetime()))
        return earlier.groupBy("lead_id").agg(
            F.max_by("score", F.struct(AS_OF, "scored_at")).cast("double").alias("score"))
    except (AnalysisException, Py4JJavaError):
        return None


def write_partition(frame: DataFrame, location: str, table: str, as_of: pd.Timestamp, *, empty: bool = False) -> int:
    """Write ``frame`` (all rows of one ``as_of``) so that it replaces that as-of's earlier rows; return rows.

    ``empty`` says the frame holds no row: dynamic overwrite only replaces partitions that receive
    rows, so the earlier partition of ``as_of`` is removed instead.
    """
    if is_postgres(location):
        return _swap_jdbc(frame, location, table, as_of)
    from pyspark.sql import functions as F

    if empty:
        _drop_partition(frame.sparkSession, location, as_of)
        return 0
    from pyspark.errors import AnalysisException

    (frame.write.mode("overwrite").option("partitionOverwriteMode", "dynamic").partitionBy(AS_OF)
     .parquet(location))
    try:
        return frame.sparkSession.read.parquet(location).where(F.col(AS_OF) == F.lit(as_of.to_pydatetime())).count()
    except AnalysisException:  # no row written and no earlier partition: nothing there to read
        return 0


def _drop_partition(spark: SparkSession, location: str, as_of: pd.Timestamp) -> None:
    """Delete the ``as_of=...`` folder of ``as_of`` under ``location``, on any Hadoop file system."""
    from urllib.parse import unquote

    jvm = spark.sparkContext._jvm
    root = jvm.org.apache.hadoop.fs.Path(location)
    fs = root.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    if not fs.exists(root):
        return
    for status in fs.listStatus(root):
        name = status.getPath().getName()
        if status.isDirectory() and name.startswith(f"{AS_OF}="):
            value = pd.Timestamp(unquote(name.split("=", 1)[1]))
            if (value.tz_localize("UTC") if value.tzinfo is None else value) == as_of:
                fs.delete(status.getPath(), True)


def _swap_jdbc(frame: DataFrame, url: str, table: str, as_of: pd.Timestamp) -> int:
    """Load into a staging table in parallel, then swap the as-of's rows in one transaction."""
    address, properties = jdbc(url)
    staging = f"{table[:40]}__staging_{uuid.uuid4().hex[:8]}"
    frame.write.jdbc(address, f'"{staging}"', mode="overwrite", properties=properties)
    return swap_staging(url, staging=staging, table=table, key=AS_OF, value=as_of, columns=list(frame.columns))
