"""Whole lead histories per bucket: how Spark hands the tables to the pandas pipeline.

Every row is assigned ``bucket = hash(lead_id) mod n`` on the id as cleaning will see it (text,
surrounding whitespace stripped, like ``clean.to_id`` and ``sources.Source.read_bucket``), so a lead
and all of its activities and opportunities land in the same bucket whatever the source. The small
tables (leads, opportunities and earlier scores) travel as one tagged frame, the activities as the
other side of a cogroup, and each bucket arrives in a worker as two Arrow tables.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from leadml.data.contract import COLUMNS, LeadTables

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame
    from pyspark.sql.pandas.group_ops import PandasCogroupedOps

ROWS = "rows written"  # counted beside the cleaning report's counts, and kept out of it
TAG = "_table"
BUCKET = "_bucket"
PREVIOUS_COLUMNS = ("lead_id", "score")
SPARK_TYPES = {pa.string(): "string", pa.large_string(): "string", pa.float64(): "double", pa.int64(): "bigint",
               pa.int8(): "tinyint", pa.timestamp("us", tz="UTC"): "timestamp"}


def bucket_of(lead_id: Column, buckets: int) -> Column:
    """Return the bucket of each row's lead: a hash of the stripped text id, modulo ``buckets``."""
    from pyspark.sql import functions as F

    stripped = F.regexp_replace(lead_id.cast("string"), r"^\s+|\s+$", "")
    return F.pmod(F.xxhash64(stripped), F.lit(buckets))


def bucket_count(leads: DataFrame, chunk_size: int, minimum: int) -> int:
    """Return how many buckets hold about ``chunk_size`` leads each, and at least ``minimum``."""
    return max(minimum, math.ceil(leads.select("lead_id").distinct().count() / chunk_size))


def _prefixed(name: str, column: str) -> str:
    return f"{name}__{column}"


def cogrouped(tables: dict[str, DataFrame], buckets: int, previous: DataFrame | None = None) -> PandasCogroupedOps:
    """Group the tables by bucket: (leads, opportunities, previous scores) beside the activities."""
    from pyspark.sql import functions as F

    small = {"leads": tables["leads"], "opportunities": tables["opportunities"]}
    if previous is not None:
        small["previous"] = previous.select(*PREVIOUS_COLUMNS)
    tagged = [frame.select(F.lit(name).alias(TAG), bucket_of(F.col("lead_id"), buckets).alias(BUCKET),
                           *(F.col(c).alias(_prefixed(name, c)) for c in frame.columns))
              for name, frame in small.items()]
    history = tagged[0]
    for frame in tagged[1:]:
        history = history.unionByName(frame, allowMissingColumns=True)
    activities = tables["activities"].withColumn(BUCKET, bucket_of(F.col("lead_id"), buckets))
    return history.groupBy(BUCKET).cogroup(activities.groupBy(BUCKET))


def _table(history: pa.Table, name: str, columns: tuple[str, ...]) -> pd.DataFrame:
    """Return one table's rows of the tagged frame, with its own column names."""
    rows = history.filter(pc.equal(history[TAG], name)) if history.num_rows else history
    present = [c for c in columns if _prefixed(name, c) in rows.column_names]
    return rows.select([_prefixed(name, c) for c in present]).rename_columns(present).to_pandas()


def unpack(history: pa.Table, activities: pa.Table) -> tuple[LeadTables, pd.DataFrame]:
    """Return one bucket as raw contract tables, as a Source chunk would, and its earlier scores."""
    raw = LeadTables(leads=_table(history, "leads", COLUMNS["leads"]),
                     activities=activities.drop_columns([BUCKET]).to_pandas(),
                     opportunities=_table(history, "opportunities", COLUMNS["opportunities"]))
    previous = _table(history, "previous", PREVIOUS_COLUMNS)
    if previous.columns.tolist() != list(PREVIOUS_COLUMNS):
        previous = pd.DataFrame({"lead_id": pd.Series([], dtype="str"), "score": pd.Series([], dtype="float64")})
    return raw, previous


def to_arrow(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    """Return ``frame`` as an Arrow table of exactly ``schema`` (the columns Spark was promised)."""
    if frame.empty:
        return schema.empty_table()
    return pa.Table.from_pandas(frame[schema.names], schema=schema, preserve_index=False)


def spark_schema(schema: pa.Schema) -> str:
    """Return the Spark DDL of an Arrow schema of the types leadml writes."""
    return ", ".join(f"`{field.name}` {SPARK_TYPES[field.type]}" for field in schema)
