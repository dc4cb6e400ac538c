"""What a Spark worker does with one bucket: exactly what the local engine does with one chunk.

Each function takes the bucket's two Arrow tables, rebuilds the raw contract tables and calls the
local engine's own functions (cleaning, population, features, labels, scoring, finalising). The
cleaning report's counts go back to the driver through an accumulator. With ``LEADML_BUCKET_LOG``
set, each bucket's cost is logged (``leadml.spark.timing``).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import pyarrow as pa
from pyspark.accumulators import Accumulator, AccumulatorParam

from leadml.config import FeaturesConfig, GradesConfig
from leadml.data.clean import clean_tables
from leadml.features import Feature
from leadml.modeling.lead_model import LeadModel
from leadml.modeling.snapshots import chunk_snapshot
from leadml.reasons.words import Combined
from leadml.scoring.population import EXPLAIN_COLUMNS, EXPORT_COLUMNS, finalise, population_matrix, score_chunks
from leadml.spark.buckets import ROWS, to_arrow, unpack
from leadml.spark.timing import timed

TIME = pa.timestamp("us", tz="UTC")
INTEGER_COLUMNS = ("score", "rank")
TEXT_COLUMNS = ("lead_id", "grade", "trend", "model_version")
SCORE_SCHEMA = pa.schema(
    [("record", pa.string())]
    + [(c, TIME if c in ("as_of", "scored_at") else pa.int64() if c in INTEGER_COLUMNS
        else pa.string() if c in TEXT_COLUMNS or (c in EXPLAIN_COLUMNS and not c.endswith("_score"))
        else pa.float64()) for c in EXPORT_COLUMNS]
    + [("reason", pa.string())])


class CountsParam(AccumulatorParam):
    """Adds dictionaries of counts, like ``CleanReport.merge``."""

    def zero(self, value: dict[str, int]) -> dict[str, int]:
        return {}

    def addInPlace(self, first: dict[str, int], second: dict[str, int]) -> dict[str, int]:  # noqa: N802 (Spark's)
        for key, count in second.items():
            first[key] = first.get(key, 0) + count
        return first


def snapshot_schema(matrix: pa.Schema) -> pa.Schema:
    return matrix.append(pa.field("label", pa.int8()))


@timed
def features_bucket(history: pa.Table, activities: pa.Table, *, as_of: pd.Timestamp, settings: FeaturesConfig,
                    schema: pa.Schema, counts: Accumulator) -> pa.Table:
    """Return the feature matrix of the bucket's population at ``as_of``."""
    raw, _ = unpack(history, activities)
    tables, _, report = clean_tables(raw)
    counts.add(report.counts)
    spine, matrix = population_matrix(tables, as_of, settings)
    counts.add({ROWS: len(spine)})
    return to_arrow(pd.concat([spine, matrix], axis=1), schema)


@timed
def snapshot_bucket(history: pa.Table, activities: pa.Table, *, cutoffs: Sequence[pd.Timestamp],
                    known_at: pd.Timestamp, horizon_days: int, settings: FeaturesConfig, schema: pa.Schema,
                    counts: Accumulator) -> pa.Table:
    """Return the bucket's training rows: spine, features and label at every cutoff."""
    raw, _ = unpack(history, activities)
    tables, _, report = clean_tables(raw)
    counts.add(report.counts)
    spine, matrix, labels = chunk_snapshot(tables, cutoffs, known_at, horizon_days=horizon_days, settings=settings)
    return to_arrow(pd.concat([spine, matrix, labels], axis=1), schema)


@timed
def score_bucket(history: pa.Table, activities: pa.Table, *, model: LeadModel, version: str, as_of: pd.Timestamp,
                 scored_at: pd.Timestamp, catalog: Sequence[Feature], combined: Sequence[Combined],
                 settings: FeaturesConfig, reasons: int, explainer: str, grades: GradesConfig,
                 counts: Accumulator) -> pa.Table:
    """Return the bucket's scored leads (rank within the bucket only) and its rejects, one frame.

    ``record`` says which a row is: ``scored`` rows carry the export's columns, ``rejected`` rows
    the lead id and the reason. The driver ranks the scored rows across all buckets.
    """
    raw, previous = unpack(history, activities)
    result = score_chunks([raw], model, as_of, catalog, settings=settings, reasons=reasons, explainer=explainer,
                          combined=combined)
    counts.add(result.report.counts)
    parts: list[pd.DataFrame] = []
    if len(result.scored):
        parts.append(finalise(result, grades, version, as_of, scored_at=scored_at, previous=previous)
                     .assign(record="scored"))
    if len(result.rejects):
        parts.append(result.rejects.assign(record="rejected", as_of=as_of, scored_at=scored_at,
                                           model_version=version))
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=SCORE_SCHEMA.names)
    return to_arrow(frame.reindex(columns=SCORE_SCHEMA.names), SCORE_SCHEMA)

