"""Feature build (reading, cleaning, features) and raw Booster.predict on the population at T, chunk by
chunk: the yardstick that the end-to-end scoring job is compared with. Prints one JSON line."""

from __future__ import annotations

import argparse
import json
import time

from leadml.config import load_config
from leadml.data.clean import clean_tables
from leadml.data.sources import open_source
from leadml.features.spine import as_timestamp
from leadml.modeling.lead_model import LeadModel
from leadml.scoring.population import population_matrix


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--as-of", required=True)
    parser.add_argument("--model", required=True, help="a local model folder")
    parser.add_argument("--config", default="configs/default.yaml")
    args = parser.parse_args()
    config = load_config(args.config, env={})
    model = LeadModel.load(args.model)
    seconds = {"read": 0.0, "clean": 0.0, "features": 0.0, "predict": 0.0, "treeshap_sample": 0.0}
    rows = sample_rows = 0
    with open_source(args.data) as source:
        chunks = iter(source.chunks(config.data.chunk_size))
        while True:
            started = time.perf_counter()
            raw = next(chunks, None)
            seconds["read"] += time.perf_counter() - started
            if raw is None:
                break
            started = time.perf_counter()
            tables, _, _ = clean_tables(raw)
            seconds["clean"] += time.perf_counter() - started
            started = time.perf_counter()
            _, matrix = population_matrix(tables, as_timestamp(args.as_of), config.features)
            seconds["features"] += time.perf_counter() - started
            prepared = model.spec.prepare(matrix)
            started = time.perf_counter()
            model.booster.predict(prepared, raw_score=True)
            seconds["predict"] += time.perf_counter() - started
            rows += len(matrix)
            if sample_rows < 5000:
                started = time.perf_counter()
                model.contributions(matrix.head(2000), "treeshap")
                seconds["treeshap_sample"] += time.perf_counter() - started
                sample_rows += min(2000, len(matrix))
    print(json.dumps({"rows": rows, "seconds": {k: round(v, 3) for k, v in seconds.items()},
                      "predict_rows_per_second": round(rows / seconds["predict"]),
                      "treeshap_rows_per_second": round(sample_rows / seconds["treeshap_sample"])}))


if __name__ == "__main__":
    main()
