"""Map a user's flat lead export onto leadml's features, cleaning and reporting every bad value.

A flat export has one row per lead: attributes, engagement already aggregated, and a conversion
flag or status. The mapping (``MappingConfig``) says which column is the lead id, which columns
are contract attributes (country, source, ...; they get the contract's fit and budget features),
which extra columns are features of which family and type, how the label is defined, and which
columns are excluded because they are only known after the outcome. Only mapped columns are read.
Pure functions: frames in, frames out; reading the file is the caller's job.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from leadml.config import MappingConfig
from leadml.data.clean import (
    PLAUSIBLE,
    CleanReport,
    DataError,
    not_a_feature,
    parse_number_text,
    to_id,
    to_utc,
)
from leadml.data.contract import LEAD_COLUMNS, NUMERIC_COLUMNS
from leadml.features.budget import budget_features
from leadml.features.fit import fit_features
from leadml.features.flat_catalog import DERIVED_FROM, creation_features, feature_name
from leadml.features.lead_columns import flag_values

CONTRACT_FEATURES = {"fit": fit_features, "budget": budget_features}


@dataclass
class MappedLeads:
    """Leads as the model sees them: features, labels and ids aligned by position."""

    lead_id: pd.Series
    features: pd.DataFrame
    labels: pd.Series
    families: dict[str, str]
    categorical: list[str]
    created_at: pd.Series | None = None
    rejects: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["lead_id", "line", "reason"]))
    report: CleanReport = field(default_factory=CleanReport)
    excluded: dict[str, str] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)
    read: int = 0  # rows of the file: kept + duplicates + rejected
    duplicates: int = 0  # exact duplicates of a kept row (every mapped column), dropped


def normalise_text(values: pd.Series, column: str, placeholders: tuple[str, ...], report: CleanReport) -> pd.Series:
    """Trim and collapse spaces, turn placeholders such as "Select" into missing; report both."""
    raw = values.astype("str")
    text = raw.str.strip().str.replace(r"\s+", " ", regex=True)
    report.add(f"{column}: leading, trailing or repeated spaces removed", (raw.notna() & (raw != text)).sum())
    placeholder = text.str.lower().isin({p.lower() for p in placeholders})
    for value, n in text[placeholder & (text != "")].value_counts().items():
        report.add(f"{column}: placeholder {value!r} set missing", n)
    return text.where(~placeholder)


def merge_spellings(text: pd.Series, column: str, report: CleanReport) -> pd.Series:
    """Spell each value as its most frequent variant ignoring case ("google" -> "Google"); report it."""
    key = text.str.lower()
    counts = pd.DataFrame({"key": key, "text": text}).dropna().value_counts().reset_index()
    counts = counts.sort_values(["count", "text"], ascending=[False, True], kind="stable")
    canonical = counts.drop_duplicates("key").set_index("key")["text"]
    merged = key.map(canonical).astype("str")
    report.add(f"{column}: values differing only in case merged", (text.notna() & (merged != text)).sum())
    return merged


def parse_numbers(text: pd.Series, column: str, report: CleanReport, *, low: float | None = None,
                  high: float | None = None) -> pd.Series:
    """Parse numbers as people write them ("1,200", "$22,700.00", "12,5"); text, infinite or out-of-range values
    become missing and are reported."""
    number = parse_number_text(text)
    stray = number.isna() & text.notna()
    if stray.any():
        lines = ", ".join(str(i + 2) for i in text.index[stray][:5]) + (", ..." if stray.sum() > 5 else "")
        report.add(f"{column}: text in a numeric column set missing (lines {lines})", stray.sum())  # header: line 1
    low_, high_ = -np.inf if low is None else low, np.inf if high is None else high
    bad = ~np.isfinite(number) | (number < low_) | (number > high_)
    allowed = ", ".join(f"{word} {bound:g}" for word, bound in (("min", low), ("max", high)) if bound is not None)
    report.add(f"{column}: infinite or out of range ({allowed or 'finite'}) set missing", (bad & number.notna()).sum())
    return number.where(~bad)


def parse_flags(text: pd.Series, column: str, report: CleanReport) -> pd.Series:
    """Yes/No, True/False, 1/0 (any case) become 1.0/0.0; anything else is missing and reported."""
    flag = flag_values(text)
    report.add(f"{column}: not a yes/no value set missing", (flag.isna() & text.notna()).sum())
    return flag


class ExtremeClipper:
    """Clip numbers far outside the bulk: beyond the 1st/99th percentile by ``fence`` times their range.

    Fitted on training rows only (scikit-learn contract), so a test fold never sets the bounds.
    """

    def __init__(self, fence: float = 3.0):
        self.fence = fence

    def fit(self, features: pd.DataFrame, numeric: list[str]) -> ExtremeClipper:
        self.bounds_: dict[str, tuple[float, float]] = {}
        for name in numeric:
            low, high = features[name].quantile([0.01, 0.99]).to_numpy(dtype="float64")
            if np.isfinite(low) and high > low:
                spread = self.fence * (high - low)
                self.bounds_[name] = (float(low - spread), float(high + spread))
        return self

    def outside(self, features: pd.DataFrame) -> dict[str, int]:
        """Return how many values of each column lie outside its bounds."""
        return {name: int(((features[name] < low) | (features[name] > high)).sum())
                for name, (low, high) in self.bounds_.items()}

    def transform(self, features: pd.DataFrame) -> pd.DataFrame:
        out = features.copy()
        for name, (low, high) in self.bounds_.items():
            out[name] = out[name].clip(low, high)
        return out


def _find_columns(raw: pd.DataFrame, wanted: list[str], table: str) -> dict[str, str]:
    """Return wanted name -> the file's column (header spaces ignored); a missing one is a clear error."""
    by_stripped = {str(c).strip(): c for c in raw.columns}
    missing = [w for w in wanted if w.strip() not in by_stripped]
    if missing:
        hints = []
        for name in missing:
            close = difflib.get_close_matches(name, list(by_stripped), n=1, cutoff=0.6)
            hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise DataError(f"table {table}: mapped column(s) not found: {', '.join(hints)}")
    return {w: by_stripped[w.strip()] for w in wanted}


def _labels(values: pd.Series | None, ids: pd.Series, mapping: MappingConfig, *, converted: pd.Series | None,
            report: CleanReport) -> tuple[pd.Series, pd.Series]:
    """Return (label 0/1, reason the row cannot be labelled or missing)."""
    rule = mapping.label
    if values is None:
        known = set(to_id(converted).dropna())
        report.add("opportunities: lead ids matching no lead", len(known - set(ids.dropna())))
        return ids.isin(known).astype("int64"), pd.Series(pd.NA, index=ids.index, dtype="str")
    lower = values.str.lower()
    positive = lower.isin({v.lower() for v in rule.positive})
    negative = lower.isin({v.lower() for v in rule.negative}) if rule.negative else ~positive & lower.notna()
    reason = pd.Series(pd.NA, index=ids.index, dtype="str")
    reason = reason.mask(~positive & ~negative, f"label {rule.column!r}: value in neither positive nor negative")
    reason = reason.mask(lower.isna(), f"label {rule.column!r}: missing")
    return positive.astype("int64"), reason


def map_flat(raw: pd.DataFrame, mapping: MappingConfig, converted: pd.Series | None = None, *,
             include_excluded: bool = False, table: str = "leads", labelled: bool = True,
             training: bool = True) -> MappedLeads:
    """Return the features, labels and rejects of a flat export, with a report of every cleaning step.

    ``converted`` holds the lead ids of the opportunities file when the label is defined by one.
    With ``include_excluded`` the excluded columns become features too: only to measure the leak.
    ``training=False``: for a trained model, no excluded column is read and single-valued features stay;
    ``labelled=False``: current leads, no label read. Every row is kept, a ``duplicate`` or a reject.
    """
    if training and not labelled:
        raise ValueError("training needs labelled leads")
    report = CleanReport()
    frame, used, ignored = _select_columns(raw, mapping, table, include_excluded=include_excluded,
                                           labelled=labelled, training=training)
    duplicated = frame[list(dict.fromkeys(used))].duplicated()  # on the honest columns: both runs keep the same rows
    report.add(f"{table}: duplicate rows dropped", duplicated.sum())
    frame = frame[~duplicated]
    lines = pd.Series(frame.index.to_numpy() + 2, index=frame.index)  # a CSV's line: the header is line 1
    text = {c: normalise_text(frame[c], c, mapping.missing_values, report) for c in frame.columns
            if not pd.api.types.is_numeric_dtype(frame[c].dtype)}
    values = {c: text.get(c, frame[c].astype("str")) for c in frame.columns}  # numbers from Parquet stay parseable

    ids = to_id(frame[mapping.columns["lead_id"]])
    created = to_utc(frame[mapping.columns["created_at"]]) if "created_at" in mapping.columns else None
    if labelled:
        labels, reason = _labels(values[mapping.label.column] if mapping.label.column else None, ids, mapping,
                                 converted=converted, report=report)
    else:
        labels, reason = pd.Series(np.nan, index=ids.index), pd.Series(pd.NA, index=ids.index, dtype="str")
    reason = _row_problems(reason, ids, created)
    matrix, families, categorical = _all_features(values, mapping, report, include_excluded=include_excluded,
                                                  created=created, table=table)
    keep = reason.isna()
    for why, n in reason[~keep].value_counts().items():
        report.add(f"{table}: rows rejected: {why}", n)
    constant = [c for c in matrix.columns if matrix.loc[keep, c].nunique(dropna=False) <= 1] if training else []
    for name in constant:
        report.add(f"{name}: one value only, not a feature", 1)
    matrix = matrix.drop(columns=constant)[keep].reset_index(drop=True)
    return MappedLeads(
        lead_id=ids[keep].reset_index(drop=True), features=matrix,
        labels=labels[keep].reset_index(drop=True),
        families={n: families[n] for n in matrix.columns}, categorical=[c for c in categorical if c in matrix],
        created_at=None if created is None else created[keep].reset_index(drop=True),
        rejects=pd.DataFrame({"lead_id": ids[~keep], "line": lines[~keep], "reason": reason[~keep]}).reset_index(
            drop=True),
        report=report, excluded={name: rule.reason for name, rule in mapping.exclude.items()}, ignored=ignored,
        read=len(raw), duplicates=int(duplicated.sum()))


def _row_problems(reason: pd.Series, ids: pd.Series, created: pd.Series | None) -> pd.Series:
    """Add why a row cannot be used to the label's reasons: no id, an id repeated with other values, no date."""
    reason = reason.mask(ids.isna(), "lead id missing")
    conflicting = ids.duplicated(keep=False) & ids.notna()
    reason = reason.mask(conflicting, "lead id repeated with different values")
    if created is not None:
        reason = reason.mask(created.isna() & reason.isna(), "created_at missing or not a date")
    return reason


def _all_features(values: dict[str, pd.Series], mapping: MappingConfig, report: CleanReport, *,
                  include_excluded: bool, created: pd.Series | None, table: str
                  ) -> tuple[pd.DataFrame, dict[str, str], list[str]]:
    """The contract's fit and budget features, the mapped extra columns, and the creation moment's features."""
    contract = _contract_features(values, mapping, report)
    extra = _extra_features(values, mapping, report, include_excluded=include_excluded)
    parts = [contract, extra] + ([creation_features(created)] if created is not None else [])
    matrix = pd.concat([part[0] for part in parts], axis=1)
    clash = matrix.columns[matrix.columns.duplicated()].tolist()
    if clash:
        raise DataError(f"table {table}: feature name(s) {', '.join(clash)} used twice: set features.<column>.name")
    families = {name: family for part in parts for name, family in part[1].items()}
    return matrix, families, [name for part in parts for name in part[2]]


def _select_columns(raw: pd.DataFrame, mapping: MappingConfig, table: str, *, include_excluded: bool,
                    labelled: bool = True, training: bool = True) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Return the mapped columns under their mapped names (the excluded ones too with ``include_excluded``),
    the names of the honest ones, and the file's columns the mapping ignores."""
    label_column = [mapping.label.column] if mapping.label.column and labelled else []
    used = [*mapping.columns.values(), *label_column, *mapping.features]
    found = _find_columns(raw, [*used, *(mapping.exclude if training else ())], table)  # a misspelt exclusion too
    ignored = [str(c) for c in raw.columns if c not in found.values()]
    read = [*used, *(mapping.exclude if include_excluded else [])]
    frame = raw[[found[c] for c in dict.fromkeys(read)]].copy()
    frame.columns = list(dict.fromkeys(read))
    return frame, used, ignored


def _typed(values: pd.Series, kind: str, column: str, report: CleanReport, *, low: float | None = None,
           high: float | None = None) -> pd.Series:
    if kind == "numeric":
        return parse_numbers(values, column, report, low=low, high=high)
    if kind == "flag":
        return parse_flags(values, column, report)
    return merge_spellings(values, column, report)


def _extra_features(values: dict[str, pd.Series], mapping: MappingConfig, report: CleanReport, *,
                    include_excluded: bool) -> tuple[pd.DataFrame, dict[str, str], list[str]]:
    """The mapped extra columns as features; with ``include_excluded`` the excluded ones too (only to measure
    the leak)."""
    columns, families, categorical = {}, {}, []
    for column, rule in mapping.features.items():
        why = not_a_feature(values[column], rule.type)
        if why:
            raise DataError(f"mapping.features.{column}: {why}: not a feature (personal data and identifiers never "
                            "are); remove it from the mapping")
        name = rule.name or feature_name(column)
        columns[name] = _typed(values[column], rule.type, column, report, low=rule.min, high=rule.max)
        families[name] = rule.family
        if rule.type == "categorical":
            categorical.append(name)
    for column, rule in mapping.exclude.items() if include_excluded else ():
        name = feature_name(column)
        columns[name] = _typed(values[column], rule.type, column, report)
        families[name] = "excluded"
        if rule.type == "categorical":
            categorical.append(name)
    index = next(iter(values.values())).index
    return pd.DataFrame(columns, index=index), families, categorical


def _contract_features(values: dict[str, pd.Series], mapping: MappingConfig, report: CleanReport
                       ) -> tuple[pd.DataFrame, dict[str, str], list[str]]:
    """Build the contract's fit and budget features from the mapped attribute columns."""
    index = next(iter(values.values())).index
    leads = pd.DataFrame(index=index)
    for column in LEAD_COLUMNS:
        user = mapping.columns.get(column)
        if column in ("lead_id", "created_at"):
            continue
        if user is None:
            leads[column] = pd.Series(np.nan if column in NUMERIC_COLUMNS["leads"] else pd.NA, index=index)
        elif column in NUMERIC_COLUMNS["leads"]:
            low, high = PLAUSIBLE[column]
            leads[column] = parse_numbers(values[user], user, report, low=low, high=high)
        else:
            leads[column] = merge_spellings(values[user], user, report)
    frames, families, categorical = [], {}, []
    for family, build in CONTRACT_FEATURES.items():
        frame = build(leads)
        frame = frame[[n for n in frame.columns if all(c in mapping.columns for c in DERIVED_FROM[n])]]
        frames.append(frame)
        families |= {name: family for name in frame.columns}
        categorical += [name for name in frame.columns if not pd.api.types.is_numeric_dtype(frame[name].dtype)]
    if "country" in mapping.columns:
        unknown = leads["country"].notna() & pd.concat(frames, axis=1)["country"].isna()
        report.add(f"{mapping.columns['country']}: not a known country, set missing", unknown.sum())
    return pd.concat(frames, axis=1), families, categorical
