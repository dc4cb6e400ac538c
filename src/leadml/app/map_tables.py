"""leadml map: write the contract's tables as a table mapping builds them from the user's own, for a look
(or for the Spark engine, which reads the contract's tables), with the account of every source table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from leadml.app.steps import open_data
from leadml.config import Config, TablesMapping
from leadml.data.sources import redact_location, write_database
from leadml.reporting.export import write_json


def map_tables(config: Config, data: str, *, out: str, fmt: str = "parquet") -> dict[str, Any]:
    """Map ``data`` with ``mapping`` (layout: tables) and write leads, activities and opportunities to ``out``
    (a folder of Parquet or CSV files, or a .duckdb file), the accounts beside them as JSON."""
    if not isinstance(config.mapping, TablesMapping):
        raise ValueError("leadml map needs mapping.layout: tables in the config: it writes the contract's tables "
                         "that such a mapping builds from your own")
    with open_data(config, data) as source:
        tables = source.read_all()
        accounts = [account.as_dict() for account in source.accounts]
    write_database([tables], out, fmt)
    target = Path(out)
    accounts_file = target / "accounts.json" if target.is_dir() else target.with_suffix(".accounts.json")
    write_json({"source": redact_location(data), "accounts": accounts}, accounts_file)
    return {"out": str(out), "accounts": str(accounts_file),
            **{f"{name}_rows": len(tables.table(name)) for name in ("leads", "activities", "opportunities")},
            "sources": {f"{a['table']} from {a['source']}": {k: a[k] for k in ("read", "kept")} | {
                "dropped": sum(a["dropped"].values()), "rejected": sum(a["rejected"].values())} for a in accounts}}
