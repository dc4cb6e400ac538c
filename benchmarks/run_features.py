"""Build the whole feature catalog and labels for many cutoffs and write them to Parquet in chunks.

Run as its own process by bench_features.py so that its peak memory is its own. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import pandas as pd
import pyarrow as pa

from leadml.config import load_config
from leadml.data.clean import clean_tables
from leadml.data.sources import open_source
from leadml.features import build_features, feature_catalog
from leadml.features.spine import as_timestamp, build_spine, label, truncate
from leadml.reporting.export import ChunkedWriter


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--cutoffs", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--config", default="configs/default.yaml")
    parser.add_argument("--horizon-days", type=int, default=30)
    args = parser.parse_args()
    started = time.perf_counter()
    config = load_config(args.config, env={})
    cutoffs = [as_timestamp(c) for c in args.cutoffs.split(",")]
    known_at = max(cutoffs) + pd.Timedelta(days=args.horizon_days)
    catalog = feature_catalog(config.features)
    schema = pa.schema([("lead_id", pa.string()), ("as_of", pa.timestamp("us", tz="UTC")), ("label", pa.int8())]
                       + [(f.name, pa.string() if f.kind == "categorical" else pa.float64()) for f in catalog])
    activities = 0
    with open_source(args.data) as source, ChunkedWriter(args.out, schema) as writer:
        for raw in source.chunks(config.data.chunk_size):
            activities += len(raw.activities)
            tables, _, _ = clean_tables(raw)
            tables = truncate(tables, known_at)
            spine = build_spine(tables, cutoffs)
            matrix = build_features(spine, tables, config.features)
            labels = label(spine, tables.opportunities, args.horizon_days)
            writer.write(pd.concat([spine, labels, matrix], axis=1))
    print(json.dumps({
        "tool": "leadml", "rows": writer.rows, "feature_columns": len(catalog), "activities": activities,
        "seconds": round(time.perf_counter() - started, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "chunk_size": config.data.chunk_size,
    }))


if __name__ == "__main__":
    main()
