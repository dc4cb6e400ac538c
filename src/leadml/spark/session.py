"""The Spark session: small and local by default, the cluster's own under spark-submit."""

from __future__ import annotations

import logging
import os
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from leadml.config import SparkConfig
from leadml.spark import require_pyspark

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)
PANDAS_WARNING = "PySpark does not yet fully support pandas"


def spark_session(settings: SparkConfig) -> SparkSession:
    """Return the active Spark session, creating one from ``settings`` when none exists.

    Under spark-submit (or any running gateway) master, memory and jars come from the cluster's
    configuration and are never overridden; only the settings leadml relies on are applied.
    """
    require_pyspark()
    from pyspark.sql import SparkSession

    # PySpark 4.3 supports pandas 3 but still warns on every worker; the parity tests are the check
    warnings.filterwarnings("ignore", message=PANDAS_WARNING, category=FutureWarning)

    builder = SparkSession.builder.appName("leadml")
    if "PYSPARK_GATEWAY_PORT" not in os.environ:  # not under spark-submit: a local session of our own
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers import the same leadml
        os.environ.setdefault("PYTHONWARNINGS", f"ignore:{PANDAS_WARNING}:FutureWarning")  # ... in the workers
        jars = [jar for jar in settings.jars if Path(jar).is_file()]
        for missing in sorted(set(settings.jars) - set(jars)):
            log.warning("spark: JDBC jar %s not found; PostgreSQL sources and sinks will fail", missing)
        builder = (builder.master(settings.master)
                   .config("spark.driver.memory", settings.driver_memory)
                   .config("spark.sql.shuffle.partitions", str(settings.shuffle_partitions))
                   .config("spark.ui.enabled", "false")
                   .config("spark.ui.showConsoleProgress", "false"))
        if jars:
            builder = builder.config("spark.jars", ",".join(jars))
    spark = builder.getOrCreate()
    # leadml's times are UTC end to end: the session must not shift them into a local zone
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    # standard Parquet timestamps (UTC-adjusted microseconds), not the legacy INT96 other readers misread
    spark.conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    return spark
