"""leadml features on a flat export: the mapped feature matrix of a file (one row per lead), or the catalog of
the features the mapping builds."""

from __future__ import annotations

from typing import Any

import pandas as pd

from leadml.app.flat_steps import flat_mapping, leads_path, read_file
from leadml.app.steps import log_data_quality
from leadml.config import Config
from leadml.data.clean import DataError
from leadml.features.flat_catalog import flat_catalog
from leadml.features.flat_export import map_flat
from leadml.reporting.export import write_table


def features(config: Config, data: str, *, out: str, as_of_given: bool = False, engine: str = "local"
             ) -> dict[str, Any]:
    """Write ``lead_id`` and every mapped feature of the leads of ``data`` to ``out`` (.parquet, .csv or .xlsx);
    the rejected rows are counted, the label is not read."""
    if as_of_given:
        raise ValueError("--as-of does not apply to a flat export: it has no history to cut at a moment")
    if engine != "local":
        raise ValueError("--engine spark reads the contract's tables; map a flat export with the local engine")
    mapping = flat_mapping(config)
    path = leads_path(data, mapping)
    leads = map_flat(read_file(path, mapping), mapping, table=path.name, labelled=False, training=False)
    log_data_quality(leads.report)
    if not len(leads.lead_id):
        raise DataError(f"{path.name}: no lead could be mapped ({len(leads.rejects)} rejected); nothing written")
    write_table(pd.concat([leads.lead_id.rename("lead_id"), leads.features], axis=1), out)
    return {"out": str(out), "layout": "flat", "rows": len(leads.lead_id), "features": leads.features.shape[1],
            "rows_read": leads.read, "duplicates_dropped": leads.duplicates, "rejected": len(leads.rejects),
            "data_quality": leads.report.counts}


def catalog_rows(config: Config) -> list[dict[str, str]]:
    """Return every feature the flat mapping builds: name, family, description, type and where it comes from."""
    return [{"name": f.name, "family": f.family, "description": f.description, "type": f.kind,
             "computed": f.computed} for f in flat_catalog(flat_mapping(config), config.features)]


def catalog_table(config: Config) -> str:
    """Return the flat mapping's features as a Markdown table."""
    lines = ["| name | family | type | meaning | computed as |", "|---|---|---|---|---|"]
    lines += [f"| `{r['name']}` | {r['family']} | {r['type']} | {r['description']} | "
              f"{r['computed'].replace('|', '/')} |" for r in catalog_rows(config)]
    return "\n".join(lines)
