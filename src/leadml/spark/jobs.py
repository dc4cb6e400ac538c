"""The commands on Spark: ``features``, ``score`` and the snapshots of ``train`` with ``--engine spark``.

The driver reads nothing but counts: it plans the bucketed cogroup, lets the workers run the
pandas pipeline per bucket, and writes the result straight from the executors to the sink. Only
``train`` brings rows to the driver, since the LightGBM fit runs there.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from leadml.config import Config, GradesConfig
from leadml.data.clean import CleanReport, DataError
from leadml.data.sources import is_postgres, redact_location
from leadml.features import feature_catalog
from leadml.features.spine import as_timestamp
from leadml.modeling.grading import rank_counts, rank_ends
from leadml.modeling.snapshots import Snapshot, check_label_windows
from leadml.modeling.stopwatch import Stopwatch
from leadml.reasons.words import check_language, combined_reasons, localise
from leadml.reporting.export import matrix_schema
from leadml.spark.buckets import ROWS, bucket_count, cogrouped, spark_schema
from leadml.spark.lake import check_source, fingerprint, read_previous, read_tables, write_partition
from leadml.spark.session import spark_session
from leadml.tracking.registry import resolve_model

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

LEADML_ERROR = re.compile(r"^leadml\.[\w.]+\.(\w+Error): (.*)$", re.MULTILINE)


@contextmanager
def worker_errors() -> Iterator[None]:
    """Turn leadml's own errors raised inside a Spark worker back into a one-line DataError."""
    from pyspark.errors import PythonException

    try:
        yield
    except PythonException as exc:
        found = LEADML_ERROR.findall(str(exc))
        if not found:
            raise
        kind, message = found[-1]
        raise DataError(f"{redact_location(message)} ({kind} in a Spark worker)") from None


def _start(config: Config, data: str, stages: Stopwatch | None = None
           ) -> tuple[SparkSession, dict[str, DataFrame], int]:
    check_source(data)
    spark = spark_session(config.spark)
    if stages:
        stages.lap("session")
    tables = read_tables(spark, data)
    buckets = bucket_count(tables["leads"], config.data.chunk_size, spark.sparkContext.defaultParallelism)
    return spark, tables, buckets


def _counts(spark: SparkSession) -> Any:
    from leadml.spark.work import CountsParam

    return spark.sparkContext.accumulator({}, CountsParam())


def features(config: Config, data: str, as_of: pd.Timestamp, out: str) -> dict[str, Any]:
    """Write the feature matrix of the population at ``as_of`` into the ``as_of`` partition of ``out``."""
    from leadml.spark.work import features_bucket

    started = time.perf_counter()
    spark, tables, buckets = _start(config, data)
    schema, counts = matrix_schema(feature_catalog(config.features)), _counts(spark)
    matrix = cogrouped(tables, buckets).applyInArrow(
        partial(features_bucket, as_of=as_of, settings=config.features, schema=schema, counts=counts),
        spark_schema(schema))
    with worker_errors():
        rows = write_partition(matrix, out, config.spark.features_table, as_of)
        if not counts.value.get(ROWS) and not is_postgres(out):  # no row, no partition written: drop the old one
            rows = write_partition(matrix, out, config.spark.features_table, as_of, empty=True)
    quality = {k: v for k, v in counts.value.items() if k != ROWS}
    return {"out": redact_location(out), "as_of": str(as_of), "engine": "spark", "rows": rows,
            "features": len(schema) - 2, "buckets": buckets, "data_quality": quality,
            "seconds": round(time.perf_counter() - started, 3)}


def snapshot(config: Config, data: str, *, cutoffs: Sequence[pd.Timestamp], known_at: pd.Timestamp,
             report: CleanReport) -> tuple[Snapshot, str]:
    """Return the training snapshot built on Spark, collected to the driver for the fit, and the data digest."""
    from leadml.spark.work import snapshot_bucket, snapshot_schema

    check_label_windows(cutoffs, known_at, config.horizon_days)
    spark, tables, buckets = _start(config, data)
    schema, counts = snapshot_schema(matrix_schema(feature_catalog(config.features))), _counts(spark)
    rows = cogrouped(tables, buckets).applyInArrow(
        partial(snapshot_bucket, cutoffs=list(cutoffs), known_at=known_at, horizon_days=config.horizon_days,
                settings=config.features, schema=schema, counts=counts), spark_schema(schema))
    with worker_errors():
        collected = rows.toArrow().to_pandas()
        digest = fingerprint(tables)
    report.merge(CleanReport(dict(counts.value)))
    collected = collected.sort_values(["as_of", "lead_id"], kind="stable").reset_index(drop=True)
    names = schema.names
    return Snapshot(collected[names[:2]], collected[names[2:-1]], collected["label"]), digest


def score(config: Config, data: str, *, as_of: pd.Timestamp, out: str, model_ref: str | None,
          lang: str | None = None) -> dict[str, Any]:
    """Score the population at ``as_of`` with the registered model into the ``as_of`` partition of ``out``.

    Reasons are worded in ``lang`` (default ``export.lang``), exactly as the local engine words them.
    Rejects go to ``<out>_rejects`` (Parquet) or ``<scores_table>_rejects`` (PostgreSQL). The driver
    resolves the model in the registry and ships its checksummed files to the workers with the task,
    so executors need leadml installed but no access to the MLflow server.
    """
    from pyspark import StorageLevel

    from leadml.spark.work import SCORE_SCHEMA, score_bucket

    started, stages = time.perf_counter(), Stopwatch()
    lang = check_language(lang or config.export.lang)
    model, version = resolve_model(model_ref, config.tracking, Path(config.models_dir))
    stages.lap("model")
    spark, tables, buckets = _start(config, data, stages)
    counts = _counts(spark)
    scored_at = as_timestamp(pd.Timestamp.now(tz="UTC").floor("s"))
    previous = read_previous(spark, out, config.spark.scores_table, as_of)
    stages.lap("plan")
    rows = cogrouped(tables, buckets, previous).applyInArrow(
        partial(score_bucket, model=model, version=version, as_of=as_of, scored_at=scored_at,
                catalog=localise(feature_catalog(config.features), lang), combined=combined_reasons(lang),
                settings=config.features, reasons=config.export.top_reasons, explainer=config.export.explainer,
                grades=config.grades,
                counts=counts), spark_schema(SCORE_SCHEMA)).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        with worker_errors():
            tally = rows.groupBy("record", "grade").count().collect()  # runs the pipeline once, into the cache
        stages.lap("buckets")
        grades = {r["grade"]: r["count"] for r in tally if r["record"] == "scored"}
        rejected = sum(r["count"] for r in tally if r["record"] == "rejected")
        with ranked(rows.where("record = 'scored'").drop("record", "reason")) as scored:
            if config.grades.policy != "floors":  # a bucket cannot know the population's ranks: grade by them here
                scored = scored.withColumn("grade", rank_grade(config.grades, sum(grades.values())))
                grades = {g: n for g, n in rank_counts(config.grades, sum(grades.values())).items() if n}
            written = write_partition(scored, out, config.spark.scores_table, as_of, empty=not grades)
        stages.lap("rank and write")
        rejects = rows.where("record = 'rejected'").select("lead_id", "reason", "scored_at", "as_of")
        write_partition(rejects, _rejects(out), f"{config.spark.scores_table}_rejects", as_of, empty=not rejected)
        digest = fingerprint(tables)
    finally:
        rows.unpersist()
    stages.lap("rejects and fingerprint")
    if written != sum(grades.values()):
        raise DataError(f"the sink holds {written} scored rows as of {as_of}, not the {sum(grades.values())} scored")
    return {"out": redact_location(out), "rejects": redact_location(_rejects(out)), "as_of": str(as_of),
            "engine": "spark", "model_version": version, "population": written + rejected, "scored": written,
            "rejected": rejected, "grades": dict(sorted(grades.items())), "buckets": buckets,
            "source_fingerprint": digest, "data_quality": dict(counts.value), "stages": stages.laps,
            "seconds": round(time.perf_counter() - started, 3)}


def _rejects(out: str) -> str:
    return out if is_postgres(out) else f"{out.rstrip('/')}_rejects"


def rank_grade(policy: GradesConfig, leads: int) -> Column:
    """The grade of a rank policy (capacity or shares) as a column of ``rank``, for ``leads`` scored leads."""
    from pyspark.sql import functions as F

    names = policy.names()
    grade = F.lit(names[-1])
    for name, end in reversed(list(zip(names, rank_ends(policy, leads).tolist(), strict=False))):
        grade = F.when(F.col("rank") <= int(end), F.lit(name)).otherwise(grade)
    return grade


@contextmanager
def ranked(scored: DataFrame) -> Iterator[DataFrame]:
    """Yield the scored rows with ranks across all buckets (1 = most likely, ties by lead id).

    A distributed sort, then each row's position: the offset of its sorted partition plus its place
    in it. The sorted rows stay cached while in use, so offsets and positions come from one sort.
    """
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    ordered = (scored.orderBy(F.col("probability").desc(), F.col("lead_id").asc())
               .withColumn("_part", F.spark_partition_id())
               .withColumn("_position", F.monotonically_increasing_id())
               .persist(StorageLevel.MEMORY_AND_DISK))
    try:
        sizes = sorted(tuple(r) for r in ordered.groupBy("_part").agg(
            F.count(F.lit(1)), F.min("_position")).collect())
        shift, total = [], 0
        for part, n, first in sizes:  # rank = position - first position of the partition + rows before it + 1
            shift += [F.lit(part).cast("int"), F.lit(total - first + 1).cast("bigint")]
            total += n
        rank = F.col("_position") + F.element_at(F.create_map(*shift), F.col("_part")) if shift else F.lit(None)
        yield ordered.withColumn("rank", rank.cast("bigint")).drop("_part", "_position")
    finally:
        ordered.unpersist()
