"""leadml generate: write the demo lead database (leads, activities, opportunities)."""

from __future__ import annotations

from typing import Any

from leadml.config import Config
from leadml.data.demo_generator import GenerateSpec, generate_chunks
from leadml.data.sources import open_source, write_database
from leadml.features.spine import as_timestamp


def generate(config: Config, *, leads: int, seed: int, out: str, fmt: str = "parquet") -> dict[str, Any]:
    """Generate ``leads`` demo leads with their histories from ``seed`` and write them to ``out``."""
    spec = GenerateSpec(leads=leads, seed=seed, end=as_timestamp(str(config.generate.end)),
                        days=config.generate.days, chunk_size=config.generate.chunk_size)
    write_database(generate_chunks(spec), out, fmt)
    with open_source(out) as source:
        counts = {t: source.table_rows(t) for t in ("leads", "activities", "opportunities")}
    return {"out": str(out), "seed": seed, "data_end": str(spec.end), **{f"{k}_rows": v for k, v in counts.items()}}
