"""The export as a CRM imports it: leadml's columns under the CRM's field names, dates in the CRM's format.

The names change only at the edge where the export file is written (``for_crm``) and are undone where an
export is read back (``from_crm``), both from ``export.columns`` and ``export.date_format`` of the same config.
Everything between, and the write-back tables and Spark sinks that leadml reads itself, keep leadml's names.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from leadml.config import ExportConfig

DATE_COLUMNS = ("as_of", "scored_at")


def check_names(names: ExportConfig, columns: Sequence[str]) -> None:
    """Refuse a key of ``export.columns`` that is not one of the export's ``columns``, or a CRM name that is
    another column's own name (a header must say which column it is)."""
    for key, crm in names.columns.items():
        if key not in columns:
            near = difflib.get_close_matches(key, list(columns), n=1, cutoff=0.6)
            hint = f"did you mean {near[0]!r}?" if near else f"valid: {', '.join(columns)}"
            raise ValueError(f"export.columns.{key}: not a column of the export ({hint})")
        if crm != key and crm in columns:
            raise ValueError(f"export.columns.{key}: {crm!r} is the name of another export column: give the CRM "
                             "field a name of its own")


def crm_name(names: ExportConfig, column: str) -> str:
    """The name ``column`` has in the export file."""
    return names.columns.get(column, column)


def for_crm(frame: pd.DataFrame, names: ExportConfig, *, typed_dates: bool = False) -> pd.DataFrame:
    """Return the export as the file holds it: dates in ``export.date_format`` (unless ``typed_dates``, as
    Parquet keeps them), only the mapped columns in their order if ``export.only_mapped``, the CRM's names."""
    check_names(names, list(frame.columns))
    out = frame if typed_dates or names.date_format is None else _format_dates(frame, names.date_format)
    if names.only_mapped:
        out = out.loc[:, list(names.columns)]
    return out.rename(columns=dict(names.columns))


def _format_dates(frame: pd.DataFrame, date_format: str) -> pd.DataFrame:
    out = frame.copy()
    for column in DATE_COLUMNS:
        if column in out.columns and pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].dt.strftime(date_format)
    return out


def from_crm(frame: pd.DataFrame, names: ExportConfig, *, required: Sequence[str], name: str) -> pd.DataFrame:
    """Return an export read back under leadml's names with its dates as UTC timestamps, whether it was written
    with ``export.columns`` or before them; raise one line naming a ``required`` column neither name finds."""
    mapped = {crm: ours for ours, crm in names.columns.items() if crm in frame.columns}
    out = frame.rename(columns=mapped) if mapped else frame
    missing = [c for c in required if c not in out.columns]
    if missing:
        shown = [f"{names.columns[c]} ({c} in export.columns)" if c in names.columns else c for c in missing]
        hint = " (an export.only_mapped export must map them too)" if names.only_mapped else ""
        raise ValueError(f"{name}: column(s) missing: {', '.join(shown)}: neither leadml's name nor the one "
                         f"export.columns gives is in the file{hint}")
    return _parse_dates(out, names.date_format, name)


def _parse_dates(frame: pd.DataFrame, date_format: str | None, name: str) -> pd.DataFrame:
    """Parse text dates written in ``date_format`` (ISO 8601 too, as exports written before it) to UTC."""
    out = frame.copy()
    for column in DATE_COLUMNS:
        if column in out.columns and not pd.api.types.is_datetime64_any_dtype(out[column]):
            text = out[column].astype("str").where(out[column].notna())
            values = {v: _parse_date(v, date_format, f"{name}: column {column}") for v in text.dropna().unique()}
            out[column] = pd.to_datetime(text.map(values), utc=True).dt.as_unit("us")
    return out


def _parse_date(text: str, date_format: str | None, where: str) -> pd.Timestamp:
    try:
        parsed = datetime.strptime(text, date_format) if date_format else datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            expected = f"export.date_format {date_format!r} or ISO 8601" if date_format else "ISO 8601"
            raise ValueError(f"{where}: {text!r} is not a date in {expected}") from None
    return pd.Timestamp(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).tz_convert("UTC")


def left_out(names: ExportConfig, needed: Sequence[str]) -> list[str]:
    """The ``needed`` columns an ``export.only_mapped`` export does not hold."""
    return [c for c in needed if c not in names.columns] if names.only_mapped else []


def crm_record(names: ExportConfig) -> dict[str, Any]:
    """How the export file names and dates its columns, for the manifest."""
    return {"columns": dict(names.columns), "only_mapped": names.only_mapped,
            "date_format": names.date_format or "ISO 8601"}
