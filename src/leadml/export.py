"""Write tables for people and programs: CSV, Parquet or Excel by suffix, always atomically.

A file is written under a temporary name in the target folder and renamed into place, so a job
killed at any moment leaves the previous file intact and never a partial file under the final name.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
SUFFIXES = (".csv", ".parquet", ".xlsx")


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that a spreadsheet would run as a formula with a quote (CWE-1236)."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_string_dtype(out[column]) or out[column].dtype == object:
            text = out[column].astype("str")
            risky = text.str.startswith(FORMULA_STARTS, na=False)
            out[column] = text.where(~risky, "'" + text)
    return out


def write_table(frame: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``frame`` to ``path`` by its suffix, via a temporary file and an atomic rename."""
    path = Path(path)
    if path.suffix not in SUFFIXES:
        raise ValueError(f"cannot write {path}: use one of {', '.join(SUFFIXES)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.tmp.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        if path.suffix == ".csv":
            neutralise_formulas(frame).to_csv(tmp, index=False, encoding="utf-8")
        elif path.suffix == ".parquet":
            frame.to_parquet(tmp, index=False)
        else:
            _write_xlsx(neutralise_formulas(frame), tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes private files; an export is meant to be read
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def _write_xlsx(frame: pd.DataFrame, path: str) -> None:
    options = {"strings_to_formulas": False, "strings_to_urls": False}
    frame = frame.copy()
    for column in frame.columns:  # Excel has no time zones: write UTC times as ISO text
        if isinstance(frame[column].dtype, pd.DatetimeTZDtype):
            frame[column] = frame[column].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    with pd.ExcelWriter(path, engine="xlsxwriter", engine_kwargs={"options": options}) as writer:
        frame.to_excel(writer, index=False, sheet_name="leads")
        sheet = writer.sheets["leads"]
        sheet.freeze_panes(1, 0)
        for i, column in enumerate(frame.columns):
            width = min(60, max(len(str(column)), int(frame[column].astype("str").str.len().max() or 0)) + 2)
            sheet.set_column(i, i, width)
