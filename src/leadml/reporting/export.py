"""Write tables for people and programs: CSV, Parquet or Excel by suffix, always atomically.

A file is written under a temporary name in the target folder and renamed into place, so a job
killed at any moment leaves the previous file intact and never a partial file under the final name.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from leadml.config import ExportConfig
from leadml.features.catalog import Feature
from leadml.reporting.crm import crm_name, for_crm, from_crm

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
SUFFIXES = (".csv", ".parquet", ".xlsx")
NUMBER_COLUMNS = ("probability", "score", "score_change", "rank", "fit_score", "engagement_score", "budget_score",
                  "base_score")  # an export's columns read back as numbers; the rest stay text but the flag is_stale
# RFC 4180 line ends: the csv writer then quotes any cell holding a bare CR, which "\n" alone would not,
# and a lead id like "\rCR" would split its row in two
CSV_LINE_END = "\r\n"
GRADE_COLOURS = {"A": "#C6EFCE", "B": "#E2EFDA", "C": "#FFEB9C", "D": "#F2F2F2"}


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that a spreadsheet would run as a formula with a quote (CWE-1236)."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_string_dtype(out[column]) or out[column].dtype == object:
            text = out[column].astype("str")
            risky = text.str.startswith(FORMULA_STARTS, na=False)
            out[column] = text.where(~risky, "'" + text)
    return out


def _temporary_beside(path: Path, suffixes: tuple[str, ...]) -> str:
    if path.suffix not in suffixes:
        raise ValueError(f"cannot write {path}: use one of {', '.join(suffixes)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.tmp.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    return tmp


def _publish(tmp: str, path: Path) -> None:
    """Make the temporary file readable like any new file and rename it over ``path``."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes private files; an export is meant to be read
    os.replace(tmp, path)


def write_table(frame: pd.DataFrame, path: str | os.PathLike[str], *, grade_column: str = "grade") -> Path:
    """Write ``frame`` to ``path`` by its suffix, via a temporary file and an atomic rename; in Excel the
    cells of ``grade_column`` are coloured by grade."""
    path = Path(path)
    tmp = _temporary_beside(path, SUFFIXES)
    try:
        if path.suffix == ".csv":
            neutralise_formulas(frame).to_csv(tmp, index=False, encoding="utf-8", lineterminator=CSV_LINE_END)
        elif path.suffix == ".parquet":
            frame.to_parquet(tmp, index=False)
        else:
            _write_xlsx(neutralise_formulas(frame), tmp, grade_column=grade_column)
        _publish(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def write_export(export: pd.DataFrame, path: str | os.PathLike[str], names: ExportConfig) -> Path:
    """Write the scored-lead export as the CRM imports it (``export.columns``, ``only_mapped``, ``date_format``)."""
    path = Path(path)
    crm = for_crm(export, names, typed_dates=path.suffix == ".parquet")
    return write_table(crm, path, grade_column=crm_name(names, "grade"))


def write_json(document: dict, path: str | os.PathLike[str]) -> Path:
    """Write a JSON document atomically (temporary file, then rename)."""
    path = Path(path)
    tmp = _temporary_beside(path, (".json",))
    try:
        Path(tmp).write_text(json.dumps(document, indent=1, default=str) + "\n", encoding="utf-8")
        _publish(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def write_text(content: str, path: str | os.PathLike[str], suffixes: tuple[str, ...] = (".html",)) -> Path:
    """Write a text document (UTF-8) atomically (temporary file, then rename)."""
    path = Path(path)
    tmp = _temporary_beside(path, suffixes)
    try:
        Path(tmp).write_text(content, encoding="utf-8")
        _publish(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def read_table(path: str | os.PathLike[str], *, names: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Read a table that ``write_table`` wrote (by suffix); ids and text stay text. ``names`` gives the file's
    names of leadml's columns (an export written with ``export.columns``)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} not found")
    numbers = {name for c in NUMBER_COLUMNS for name in (c, (names or {}).get(c, c))}
    inferred = numbers | {(names or {}).get("is_stale", "is_stale")}
    if path.suffix == ".csv":  # ids, display columns (postcodes, phone numbers) and reasons stay text as written
        header = pd.read_csv(path, nrows=0).columns
        return pd.read_csv(path, dtype={c: "str" for c in header if c not in inferred}, keep_default_na=False,
                           na_values={c: [""] for c in header if c in numbers})
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    if path.suffix == ".xlsx":
        header = pd.read_excel(path, nrows=0).columns
        return pd.read_excel(path, dtype={c: "str" for c in header if c not in inferred})
    raise ValueError(f"cannot read {path}: use one of {', '.join(SUFFIXES)}")


def read_scores(path: str | os.PathLike[str], names: ExportConfig, required: Sequence[str]) -> pd.DataFrame:
    """Read an export under leadml's names, whether written with this config's ``export.columns`` or without."""
    frame = from_crm(read_table(path, names=names.columns), names, required=required, name=str(path))
    for column in frame.columns:  # undo the formula neutralisation of the writer
        if pd.api.types.is_string_dtype(frame[column]):
            quoted = frame[column].str.startswith(tuple("'" + s for s in FORMULA_STARTS), na=False)
            frame[column] = frame[column].where(~quoted, frame[column].str.slice(1))
    return frame


def read_export(path: str | os.PathLike[str], columns: tuple[str, ...], *,
                names: ExportConfig | None = None) -> pd.DataFrame:
    """Read ``columns`` of an earlier export (``.csv`` or ``.parquet``), undoing formula neutralisation and
    the CRM's names and dates of ``names``."""
    path = Path(path)
    if path.suffix not in (".csv", ".parquet"):
        raise ValueError(f"cannot read the export {path}: use a .csv or .parquet export")
    return read_scores(path, names or ExportConfig(), columns).loc[:, list(columns)]


def file_sha256(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class ChunkedWriter:
    """Append frames to one ``.parquet`` or ``.csv`` file; publish it atomically on a clean exit.

    Memory holds one chunk at a time. The Parquet schema is given up front, so a chunk where a
    column happens to be all missing cannot change its type.
    """

    def __init__(self, path: str | os.PathLike[str], schema: pa.Schema):
        self.path = Path(path)
        self.schema = schema
        self.rows = 0
        self._header_written = False
        self._tmp = _temporary_beside(self.path, (".parquet", ".csv"))
        self._parquet = pq.ParquetWriter(self._tmp, schema) if self.path.suffix == ".parquet" else None

    def write(self, frame: pd.DataFrame) -> None:
        if self._parquet is not None:
            self._parquet.write_table(pa.Table.from_pandas(frame, schema=self.schema, preserve_index=False))
        else:
            neutralise_formulas(frame).to_csv(self._tmp, mode="a", header=not self._header_written, index=False,
                                              lineterminator=CSV_LINE_END)
            self._header_written = True
        self.rows += len(frame)

    def __enter__(self) -> ChunkedWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        try:
            if self._parquet is not None:
                self._parquet.close()
            if kind is None:
                _publish(self._tmp, self.path)
        finally:
            Path(self._tmp).unlink(missing_ok=True)


def matrix_schema(catalog: Sequence[Feature]) -> pa.Schema:
    """Return the schema of a feature matrix file: spine keys, then each feature as text or float."""
    return pa.schema([("lead_id", pa.string()), ("as_of", pa.timestamp("us", tz="UTC"))]
                     + [(f.name, pa.string() if f.kind == "categorical" else pa.float64()) for f in catalog])


def _write_xlsx(frame: pd.DataFrame, path: str, *, grade_column: str) -> None:
    """One sheet for people: a header that stays in view and filters, widths that fit, grades in colour."""
    options = {"strings_to_formulas": False, "strings_to_urls": False}
    frame = frame.copy()
    for column in frame.columns:  # Excel has no time zones: write UTC times as ISO text
        if isinstance(frame[column].dtype, pd.DatetimeTZDtype):
            frame[column] = frame[column].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    frame = frame.copy()
    for column in frame.columns:  # Excel cells hold at most 32,767 characters
        if pd.api.types.is_string_dtype(frame[column]):
            frame[column] = frame[column].str.slice(0, 32_000)
    with pd.ExcelWriter(path, engine="xlsxwriter", engine_kwargs={"options": options}) as writer:
        frame.to_excel(writer, index=False, sheet_name="leads")
        book, sheet = writer.book, writer.sheets["leads"]
        header = book.add_format({"bold": True, "bg_color": "#1F3A5F", "font_color": "#FFFFFF", "border": 1})
        for i, column in enumerate(frame.columns):
            sheet.write(0, i, column, header)
            sheet.set_column(i, i, _width(frame[column], str(column)))
        sheet.freeze_panes(1, 0)
        if len(frame.columns):
            sheet.autofilter(0, 0, len(frame), len(frame.columns) - 1)
        if grade_column in frame.columns and len(frame):
            column = frame.columns.get_loc(grade_column)
            for grade, colour in GRADE_COLOURS.items():
                sheet.conditional_format(1, column, len(frame), column, {
                    "type": "cell", "criteria": "==", "value": f'"{grade}"',
                    "format": book.add_format({"bg_color": colour})})


def _width(values: pd.Series, header: str) -> int:
    """A column as wide as its header with the filter button, or its longest value in the first rows (at most 60)."""
    longest = values.head(1000).astype("str").str.len().max() if len(values) else 0
    return min(60, max(len(header) + 4, (0 if pd.isna(longest) else int(longest)) + 2, 8))


def json_safe(value: Any) -> Any:
    """Return ``value`` with NaN and infinities as None: JSON has no NaN, and browsers refuse it."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, float | np.floating) and not np.isfinite(value):
        return None
    return value
