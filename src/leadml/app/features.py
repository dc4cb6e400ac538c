"""leadml features: the feature matrix of the population at T, or the catalog of every feature."""

from __future__ import annotations

from typing import Any

import pandas as pd

from leadml.app.steps import log_data_quality, open_data, source_accounts, source_chunks, spark_reads_contract
from leadml.config import Config
from leadml.data.clean import CleanReport, clean_tables
from leadml.features import feature_catalog
from leadml.features.catalog import catalog_markdown
from leadml.reporting.export import ChunkedWriter, matrix_schema
from leadml.scoring.population import population_matrix


def features(config: Config, data: str, *, as_of: pd.Timestamp, out: str, engine: str = "local") -> dict[str, Any]:
    """Write the feature matrix of the population at ``as_of`` (one row per lead), chunk by chunk
    (or, with ``engine="spark"``, bucket by bucket on Spark into the ``as_of`` partition of ``out``)."""
    if engine == "spark":
        spark_reads_contract(config)
        from leadml.spark.jobs import features as spark_features

        return spark_features(config, data, as_of, out)
    catalog = feature_catalog(config.features)
    schema = matrix_schema(catalog)
    report = CleanReport()
    with open_data(config, data) as source, ChunkedWriter(out, schema) as writer:
        source_accounts(source, report)
        for raw in source_chunks(source, config, "features"):
            tables, _, chunk_report = clean_tables(raw)
            report.merge(chunk_report)
            spine, matrix = population_matrix(tables, as_of, config.features)
            writer.write(pd.concat([spine, matrix], axis=1))
    log_data_quality(report)
    return {"out": str(out), "as_of": str(as_of), "rows": writer.rows, "features": len(catalog),
            "data_quality": report.counts}


def catalog_rows(config: Config) -> list[dict[str, str]]:
    """Return every feature the config builds: name, family, description, type and how it is computed."""
    return [{"name": f.name, "family": f.family, "description": f.description, "type": f.kind,
             "computed": f.computed} for f in feature_catalog(config.features)]


def catalog_table(config: Config) -> str:
    """Return the catalog as a Markdown table (docs/features.md)."""
    return catalog_markdown(config.features)
