"""Reading a user's files without making them think: separator, encoding and quote sniffed, row-number
ids and dates in the user's format (numbers written for people are parsed by ``clean.parse_number_text``).

Everything is read as text first (cleaning decides the types), so nothing is silently coerced by a
reader's guess. Where a guess would be ambiguous the reader says so in one line, naming the file and
the setting that decides it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from leadml.data.clean import DataError

ROW_ID = "@row"  # wherever an id column is named: use the row number (1 = the first data row)
SEPARATORS = (",", ";", "\t", "|")
ENCODINGS = ("utf-8-sig", "cp1252")  # cp1252 decodes what Excel on Windows writes; latin-1 would accept anything
SNIFF_BYTES = 256 * 1024


@dataclass(frozen=True)
class CsvDialect:
    """How a delimited text file is written: what ``auto`` settings resolved to, for the run's records."""

    sep: str
    encoding: str
    quote: str = '"'


def detect_encoding(path: Path, encoding: str = "auto") -> str:
    """Return ``encoding``, or with ``auto`` UTF-8 (with or without BOM) when the file decodes as it, else cp1252."""
    if encoding != "auto":
        return encoding
    sample = path.read_bytes()
    for candidate in ENCODINGS:
        try:
            sample.decode(candidate)
            return candidate
        except UnicodeDecodeError:
            continue
    raise DataError(f"{path.name}: neither UTF-8 nor Windows-1252 text: set mapping.csv.encoding (e.g. latin-1)")


def detect_separator(path: Path, text: str, sep: str = "auto") -> str:
    """Return ``sep``, or with ``auto`` the one separator that splits every sampled line into the same
    number of fields (quotes respected); refuse to guess between two that both do."""
    if sep != "auto":
        return "\t" if sep in ("\\t", "tab") else sep
    lines = [line for line in text.splitlines()[:200] if line.strip()]
    if len(lines) > 1 and not text.endswith("\n") and len(text) >= SNIFF_BYTES:
        lines = lines[:-1]  # the sample may end inside a line
    fits = []
    for candidate in SEPARATORS:
        widths = {len(row) for row in csv.reader(lines, delimiter=candidate)}
        if len(widths) == 1 and widths.pop() > 1:
            fits.append(candidate)
    if len(fits) == 1:
        return fits[0]
    named = {",": "','", ";": "';'", "\t": "tab", "|": "'|'"}
    if not fits:
        if len(lines) == 1 or not any(c in text for c in SEPARATORS):
            return ","  # one column (or one line): any separator reads it the same
        raise DataError(f"{path.name}: no separator splits every line into the same number of fields "
                        f"({', '.join(named.values())} tried): set mapping.csv.sep")
    raise DataError(f"{path.name}: both {' and '.join(named[c] for c in fits)} split every line evenly: "
                    "set mapping.csv.sep to the one the file uses")


def read_text_table(path: Path, *, sep: str = "auto", encoding: str = "auto",
                    quote: str = '"') -> tuple[pd.DataFrame, CsvDialect]:
    """Read a delimited text file as text columns (empty cells missing) and say how it was written."""
    encoding = detect_encoding(path, encoding)
    with path.open("r", encoding=encoding, newline="") as handle:
        sample = handle.read(SNIFF_BYTES)
    dialect = CsvDialect(detect_separator(path, sample, sep), encoding, quote)
    try:
        frame = pd.read_csv(path, sep=dialect.sep, quotechar=dialect.quote, encoding=dialect.encoding, dtype="str",
                            keep_default_na=False, na_values=[""], skipinitialspace=False)
    except (ValueError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path.name}: cannot be read with separator {dialect.sep!r} and encoding "
                        f"{dialect.encoding}: {' '.join(str(exc).split())[:200]} (set mapping.csv)") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame, dialect


def read_user_table(path: Path, *, sep: str = "auto", encoding: str = "auto",
                    quote: str = '"') -> tuple[pd.DataFrame, CsvDialect | None]:
    """Read a user's CSV/TXT/TSV or Parquet file; text files entirely as text."""
    if not path.is_file():
        raise DataError(f"file not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        try:
            return pd.read_parquet(path), None
        except (ValueError, OSError) as exc:
            raise DataError(f"{path.name}: cannot be read as Parquet: {' '.join(str(exc).split())[:200]}") from None
    if suffix in (".csv", ".txt", ".tsv"):
        return read_text_table(path, sep="\t" if suffix == ".tsv" and sep == "auto" else sep,
                               encoding=encoding, quote=quote)
    raise DataError(f"{path.name}: use a .csv, .txt, .tsv or .parquet file")


def row_numbers(frame: pd.DataFrame) -> pd.Series:
    """Ids for a file without an id column: the row number in the file as text, 1 for the first data row
    (from the frame's index as read, so rows selected out before do not shift the numbers)."""
    numbers = np.arange(len(frame)) if not pd.api.types.is_integer_dtype(frame.index.dtype) else frame.index
    return pd.Series(np.asarray(numbers) + 1, index=frame.index).astype("str")


def find_column(frame: pd.DataFrame, column: str, *, table: str, key: str) -> pd.Series:
    """Return one named column (or the row numbers for ``@row``); a missing one is an error naming the
    file, the config key, the nearest column names, and the separator when the header looks unsplit."""
    if column == ROW_ID:
        return row_numbers(frame)
    if column in frame.columns:
        return frame[column]
    raise DataError(missing_column_message(list(frame.columns), [column], table=table, key=key))


def missing_column_message(present: list[str], wanted: list[str], *, table: str, key: str) -> str:
    """One line for mapped columns a file lacks: which, the nearest names, and a hint when the whole
    header came in as one column (the wrong separator)."""
    import difflib

    absent = [c for c in wanted if c not in present]
    hints = []
    for name in absent:
        near = difflib.get_close_matches(name, present, n=1, cutoff=0.6)
        hints.append(f"{name!r}" + (f" (did you mean {near[0]!r}?)" if near else ""))
    message = f"table {table}: mapped column(s) not found ({key}): {', '.join(hints)}"
    if len(present) == 1 and any(c in present[0] for c in SEPARATORS):
        message += f"; the header was read as one column {present[0][:60]!r}: set mapping.csv.sep"
    elif len(present) <= 12:
        message += f"; the file has {', '.join(map(repr, present))}"
    return message


@dataclass(frozen=True)
class DateFormat:
    """How a date column is written: a strftime format, day-first, or ISO 8601 (the default)."""

    format: str | None = None
    dayfirst: bool = False

    def setting(self) -> str:
        return self.format or ("dayfirst" if self.dayfirst else "ISO 8601")


def parse_dates(values: pd.Series, how: DateFormat, *, table: str, column: str, key: str,
                most: float = 0.5) -> pd.Series:
    """Parse a date column to UTC (naive values taken as UTC). Values that do not parse become missing
    for cleaning to count; when most of the non-empty values fail, stop with one line naming the file,
    the column, three example values and the setting to use."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC").dt.as_unit("us")
    if pd.api.types.is_datetime64_dtype(values.dtype):
        return values.dt.tz_localize("UTC").dt.as_unit("us")
    text = values.astype("str").str.strip()
    text = text.where(values.notna() & (text != ""))
    parsed = _to_datetime(text, how)
    failed = parsed.isna() & text.notna()
    present = int(text.notna().sum())
    if present and failed.sum() > most * present:
        examples = ", ".join(repr(v) for v in text[failed].drop_duplicates().head(3))
        raise DataError(f"table {table}, column {column!r}: {int(failed.sum())} of {present} values are not dates "
                        f"in {how.setting()} (e.g. {examples}): set {key} to their strftime format, e.g. "
                        f"{{{column}: \"%d %b, %Y %H:%M:%S\"}}, or dayfirst: true for 31/12/2024")
    return parsed.dt.as_unit("us")


def _to_datetime(text: pd.Series, how: DateFormat) -> pd.Series:
    if how.format:
        return pd.to_datetime(text, format=how.format, errors="coerce", utc=True)
    if how.dayfirst:
        return pd.to_datetime(text, format="mixed", dayfirst=True, errors="coerce", utc=True)
    return pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
