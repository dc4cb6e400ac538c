"""Normalise raw tables to the contract's types and set aside what cannot be used.

Ids become stripped strings (``"001"`` stays ``"001"``), timestamps become UTC, numbers become
floats. Exact duplicate rows are dropped and counted; a lead whose id repeats with different
values, or whose creation time is missing, is rejected with its reason instead of guessed at.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from leadml.data.contract import COLUMNS, NUMERIC_COLUMNS, REQUIRED, TIME_COLUMNS, LeadTables

# Values outside these bounds are data-entry errors, not companies: set missing and reported.
PLAUSIBLE = {"employees": (0, 5_000_000), "annual_revenue": (0, 1e13), "declared_budget": (0, 1e11),
             "value": (0, 1e7), "amount": (0, 1e12)}


class DataError(ValueError):
    """Raised when a table cannot be used at all (e.g. a required column is missing)."""


@dataclass
class CleanReport:
    """Counts of what cleaning changed or set aside, per table and reason."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, key: str, n: int) -> None:
        if n:
            self.counts[key] = self.counts.get(key, 0) + int(n)

    def merge(self, other: CleanReport) -> None:
        for key, n in other.counts.items():
            self.add(key, n)


def to_utc(values: pd.Series) -> pd.Series:
    """Parse timestamps to UTC at microsecond resolution; naive values are taken as UTC."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        parsed = values.dt.tz_convert("UTC")
    elif pd.api.types.is_datetime64_dtype(values.dtype):
        parsed = values.dt.tz_localize("UTC")
    else:
        parsed = pd.to_datetime(values.astype("str"), utc=True, errors="coerce", format="ISO8601")
    return parsed.dt.as_unit("us")


# what people write around a number: currency symbols, a leading or trailing currency code, spaces (also
# no-break), apostrophes grouping thousands, a percent sign. Other text ("12 visits", "3x") is not a number.
_NOT_NUMBER = re.compile(r"[\s$€£¥%'’]|^[A-Z]{3}(?=[\d\s.(+-])|(?<=[\d\s.)])[A-Z]{3}$")
_SCIENTIFIC = re.compile(r"[-+]?\d*\.?\d+[eE][-+]?\d+")
_DECIMAL_DOT = re.compile(r"^[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$|^[-+]?\d*\.\d{1,2}$|^[-+]?\d+\.\d{4,}$")
_DECIMAL_COMMA = re.compile(r"^[-+]?\d*,\d{1,2}$|^[-+]?\d{1,3}(?:\.\d{3})+,\d+$|^[-+]?\d+,\d{4,}$")


def parse_number_text(values: pd.Series) -> pd.Series:
    """Parse numbers written for people: "$22,700.00", "22.700,00 €", "1 234,5", "12,5", "1,200", "3e5".

    The column's convention is decided by its values' majority: more values showing a decimal comma
    ("12,5", "1.234,56") than a decimal dot or grouping commas ("1.5", "1,200") reads commas as decimals
    and dots as thousands, otherwise the reverse. Values written the minority's way, and anything else,
    become missing (for cleaning to count) rather than a number a thousand times off.
    """
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values.astype("float64")
    text = values.astype("str").str.strip()
    stripped = text.str.replace(_NOT_NUMBER, "", regex=True)
    negative = stripped.str.match(r"^\(.*\)$", na=False)  # accounting style (1,200.00)
    stripped = stripped.str.strip("()")
    stripped = stripped.where(~text.str.fullmatch(_SCIENTIFIC, na=False), text)
    comma = stripped.str.contains(_DECIMAL_COMMA, na=False)
    dot = stripped.str.contains(_DECIMAL_DOT, na=False)
    if comma.sum() > dot.sum():
        normal = stripped.where(~dot).str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        normal = stripped.where(~comma).str.replace(",", "", regex=False)
    number = pd.to_numeric(normal, errors="coerce").astype("float64")
    return number.where(~negative, -number)


TRUE_WORDS = frozenset({"yes", "y", "true", "t", "1", "1.0", "ja"})
FALSE_WORDS = frozenset({"no", "n", "false", "f", "0", "0.0", "nein"})


def not_a_feature(values: pd.Series, kind: str) -> str | None:
    """Why a column the user named as a feature must not be one, or None: e-mail addresses (personal data),
    or a categorical whose values are nearly all distinct (an id, a name, free text: nothing to learn from,
    and people's names in MLflow's logged examples)."""
    text = values.dropna().astype("str").str.strip()
    text = text[text != ""]
    if len(text) and text.str.contains("@", regex=False).mean() > 0.5:
        return "its values look like e-mail addresses"
    if kind == "categorical" and len(text) >= 50 and text.nunique() > 0.9 * len(text):
        return f"{text.nunique() / len(text):.0%} of its values are distinct (an id, a name or free text?)"
    return None


def unreadable(values: pd.Series, kind: str) -> int:
    """How many present values of a numeric or flag column are neither a number nor a yes/no word."""
    present = values.notna() & (values.astype("str").str.strip() != "")
    if kind == "numeric":
        return int((present & parse_number_text(values).isna()).sum())
    if kind == "flag":
        words = values.astype("str").str.strip().str.lower()
        return int((present & ~words.isin(TRUE_WORDS | FALSE_WORDS)).sum())
    return 0


# what spreadsheets and dataframe exports write for a missing value: never a real id
MISSING_IDS = ("", "nan", "none", "null", "<na>", "n/a")


def as_written(values: pd.Series) -> pd.Series:
    """Codes and ids as the user wrote them: a whole-number column that a reader made float (an integer
    column with a gap, from Parquet or a database) reads "123", not "123.0"."""
    if pd.api.types.is_float_dtype(values.dtype):
        finite = values.dropna()
        if (finite == finite.round()).all():
            return values.astype("Int64").astype("str").where(values.notna())
    return values


def to_id(values: pd.Series) -> pd.Series:
    """Return ids as stripped strings; empty ids and missing-value placeholders become missing."""
    ids = as_written(values).astype("str").str.strip()
    return ids.where(~ids.str.lower().isin(MISSING_IDS))


def is_in(values: pd.Series, allowed: pd.Series) -> np.ndarray:
    """``values.isin(allowed)`` for text, through Arrow's hash set: pandas 3 builds its set one Python
    scalar at a time, which took a second per chunk for 50,000 ids."""
    found = pc.is_in(pa.array(values.astype("str"), from_pandas=True),
                     value_set=pa.array(allowed.astype("str"), from_pandas=True))
    return np.asarray(found.fill_null(False), dtype=bool)


def clean_tables(raw: LeadTables) -> tuple[LeadTables, pd.DataFrame, CleanReport]:
    """Return typed tables, the rejected leads ``(lead_id, reason)`` and a report of counts."""
    report = CleanReport()
    typed = {name: _typed(name, raw.table(name), report) for name in COLUMNS}
    for column in raw.lead_columns:  # a table mapping's lead feature columns follow as text; the features type them
        typed["leads"][0][column] = raw.leads[column].astype("str").str.strip().replace("", pd.NA)
    leads, rejects = _unique_leads(typed["leads"][0], report)
    known = pd.concat([leads["lead_id"], rejects["lead_id"]], ignore_index=True)
    histories = {}
    for name in ("activities", "opportunities"):
        frame, usable = typed[name]
        unknown = usable & ~is_in(frame["lead_id"], known)
        report.add(f"{name}: rows for unknown leads", unknown.sum())
        # one filter of the history for all reasons: each is a copy of a million rows
        histories[name] = frame[usable & ~unknown & is_in(frame["lead_id"], leads["lead_id"])].reset_index(drop=True)
    return LeadTables(leads=leads, **histories, lead_columns=raw.lead_columns), rejects, report


def require_columns(columns: dict[str, Collection[str]]) -> None:
    """Fail when a table lacks a column the contract requires (sources call it before reading anything)."""
    for table, present in columns.items():
        missing = [c for c in REQUIRED[table] if c not in present]
        if missing:
            raise DataError(f"table {table}: required column(s) missing: {', '.join(missing)}")


def _typed(name: str, frame: pd.DataFrame, report: CleanReport) -> tuple[pd.DataFrame, np.ndarray]:
    """The table in the contract's types, with the rows fit to use: for histories, those with a lead id and
    a valid time that no earlier row repeats exactly (leads are sorted out by ``_unique_leads``)."""
    require_columns({name: frame.columns})
    out = pd.DataFrame(index=frame.index)
    for column in COLUMNS[name]:
        if column not in frame.columns and column != TIME_COLUMNS[name] and column not in NUMERIC_COLUMNS[name]:
            out[column] = pd.Series(np.nan, index=frame.index, dtype="str")  # absent text: all missing
            continue
        values = frame[column] if column in frame.columns else pd.Series(pd.NA, index=frame.index)
        if column == TIME_COLUMNS[name]:
            out[column] = to_utc(values)
        elif column == "lead_id":
            out[column] = to_id(values)
        elif column in NUMERIC_COLUMNS[name]:
            out[column] = _plausible_number(name, column, values, report)
        else:
            text = values.astype("str").str.strip()
            out[column] = text.where(text != "")
    if name == "leads":
        return out, np.ones(len(out), dtype=bool)
    bad = (out["lead_id"].isna() | out[TIME_COLUMNS[name]].isna()).to_numpy()
    report.add(f"{name}: rows without lead_id or a valid {TIME_COLUMNS[name]}", bad.sum())
    # a row repeating a usable row is usable itself (the same values), so repeats among all rows are those
    # among the usable ones
    duplicated = _exact_repeats(out, key=TIME_COLUMNS[name]) & ~bad
    report.add(f"{name}: duplicate rows dropped", duplicated.sum())
    return out, ~bad & ~duplicated


def _exact_repeats(frame: pd.DataFrame, key: str) -> np.ndarray:
    """``frame.duplicated()``, compared in full only among rows whose ``key`` (a time) repeats: a few
    percent of them, and one column of integers hashes several times faster than all the columns."""
    candidates = frame[key].duplicated(keep=False).to_numpy()
    repeats = np.zeros(len(frame), dtype=bool)
    if candidates.any():
        repeats[candidates] = frame[candidates].duplicated().to_numpy()
    return repeats


def _plausible_number(table: str, column: str, values: pd.Series, report: CleanReport) -> pd.Series:
    """Parse numbers ("1,200" included); unparseable, infinite or implausible values become missing."""
    if pd.api.types.is_numeric_dtype(values.dtype):
        number = values.astype("float64")
    else:
        text = values.astype("str").str.strip().str.replace(r"(?<=\d),(?=\d{3}\b)", "", regex=True)
        number = pd.to_numeric(text, errors="coerce").astype("float64")
        report.add(f"{table}.{column}: not a number, set missing", (number.isna() & values.notna()).sum())
    low, high = PLAUSIBLE[column]
    bad = ~np.isfinite(number) | (number < low) | (number > high)
    report.add(f"{table}.{column}: infinite, negative or implausible, set missing", (bad & number.notna()).sum())
    return number.where(~bad)


def _unique_leads(leads: pd.DataFrame, report: CleanReport) -> tuple[pd.DataFrame, pd.DataFrame]:
    no_id = leads["lead_id"].isna()
    report.add("leads: rows without lead_id", no_id.sum())
    leads = leads[~no_id]  # listed in the rejects (with an empty id) so that no lead goes uncounted
    exact = leads.duplicated()
    report.add("leads: duplicate rows dropped", exact.sum())
    leads = leads[~exact]
    conflicting = leads["lead_id"].duplicated(keep=False)
    no_time = leads["created_at"].isna() & ~conflicting
    rejects = pd.concat([
        pd.DataFrame({"lead_id": pd.Series([pd.NA] * int(no_id.sum()), dtype="str"), "reason": "missing lead_id"}),
        pd.DataFrame({"lead_id": leads.loc[conflicting, "lead_id"].drop_duplicates(),
                      "reason": "duplicate lead_id with conflicting values"}),
        pd.DataFrame({"lead_id": leads.loc[no_time, "lead_id"],
                      "reason": "missing or unparseable created_at"}),
    ], ignore_index=True)
    report.add("leads: rejected", len(rejects))
    kept = leads[~conflicting & ~no_time].reset_index(drop=True)
    return kept, rejects.astype({"lead_id": "str", "reason": "str"})
