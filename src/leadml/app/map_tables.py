"""leadml map: write the contract's tables as a table mapping builds them from the user's own, for a look
(or for the Spark engine, which reads the contract's tables), with the account of every source table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from leadml.app.steps import open_data
from leadml.config import Config, TablesMapping
from leadml.data.sources import is_postgres, redact_location, write_database
from leadml.reporting.export import write_json


def map_tables(config: Config, data: str, *, out: str, fmt: str = "parquet") -> dict[str, Any]:
    """Map ``data`` with ``mapping`` (layout: tables) and write leads, activities and opportunities to ``out``
    (a folder of Parquet or CSV files, or a .duckdb file), the accounts beside them as JSON."""
    if not isinstance(config.mapping, TablesMapping):
        raise ValueError("leadml map needs mapping.layout: tables in the config: it writes the contract's tables "
                         "that such a mapping builds from your own")
    _refuse_overwriting(data, out)
    with open_data(config, data) as source:
        tables = source.read_all()
        accounts = [account.as_dict() for account in source.accounts]
    write_database([tables], out, fmt)
    accounts_file = _accounts_file(out)
    if accounts_file is not None:
        write_json({"source": redact_location(data), "accounts": accounts}, accounts_file)
    return {"out": redact_location(out), "accounts": accounts_file and str(accounts_file),
            **{f"{name}_rows": len(tables.table(name)) for name in ("leads", "activities", "opportunities")},
            "sources": {f"{a['table']} from {a['source']}": {k: a[k] for k in ("read", "kept")} | {
                "dropped": sum(a["dropped"].values()), "rejected": sum(a["rejected"].values())} for a in accounts}}


def _refuse_overwriting(data: str, out: str) -> None:
    """Never write the contract's tables over the user's own: ``--out`` must lie outside ``--data``."""
    if is_postgres(out) or is_postgres(data):
        if redact_location(out).split("?")[0] == redact_location(data).split("?")[0]:
            raise ValueError(f"--out {redact_location(out)} is the source database itself: write the contract's "
                             "tables to another database, a folder or a .duckdb file")
        return
    source, target = Path(data).resolve(), Path(out).resolve()
    if target == source or source.is_relative_to(target) or target.is_relative_to(source):
        raise ValueError(f"--out {out} would replace or sit inside the source {data}: give a folder or "
                         ".duckdb file outside it")


def _accounts_file(out: str) -> Path | None:
    """Where the accounts go: into the folder, beside a .duckdb file, nowhere for a database URL."""
    if is_postgres(out):
        return None
    target = Path(out)
    return target / "accounts.json" if target.is_dir() else target.with_suffix(".accounts.json")
