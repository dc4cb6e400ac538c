"""A user's CRM tables mapped onto the contract's leads, activities and opportunities, every row accounted for.

Each mapped table is read as it is (a file or folder in ``data.source``, or a table of a DuckDB or
PostgreSQL database), its columns renamed, its dates parsed in the user's format, its activity
types mapped and its conversion rows chosen by a condition. Every row read is kept, dropped with a
reason or rejected with a reason, per source table, and the counts add up (``TableAccount``).

Rules: a row without a lead id or a parseable time cannot be placed in a history and is dropped;
a row for a lead the leads table does not hold is dropped; rows that repeat every mapped column
including their id are dropped as duplicates (distinct ids are never merged); activities and
opportunities dated before their lead's creation are kept (a touch before the CRM record, such as
an anonymous visit matched later, is still history before T) and counted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from leadml.config import (
    CORE_ACTIVITY_TYPES,
    ROW_ID,
    ActivityTable,
    CsvOptions,
    LeadsTable,
    OpportunityTable,
    SourceTable,
    TablesMapping,
)
from leadml.data.clean import DataError, as_written, clean_tables, not_a_feature, parse_number_text, to_id, unreadable
from leadml.data.contract import COLUMNS, LeadTables
from leadml.data.files import DateFormat, find_column, parse_dates, read_user_table

TableReader = Callable[[str], pd.DataFrame]  # the user's table name -> its rows as they are stored


@dataclass
class TableAccount:
    """What became of the rows of one source table: read = kept + dropped + rejected."""

    table: str  # the contract table it feeds
    source: str  # the user's file or table
    read: int = 0
    kept: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    notes: dict[str, int] = field(default_factory=dict)  # kept rows worth knowing of (unmapped types, early rows)

    def drop(self, reason: str, n: int) -> None:
        if n:
            self.dropped[reason] = self.dropped.get(reason, 0) + int(n)

    def note(self, what: str, n: int) -> None:
        if n:
            self.notes[what] = self.notes.get(what, 0) + int(n)

    @property
    def balanced(self) -> bool:
        return self.read == self.kept + sum(self.dropped.values()) + sum(self.rejected.values())

    def as_dict(self) -> dict[str, object]:
        return {"table": self.table, "source": self.source, "read": self.read, "kept": self.kept,
                "dropped": dict(self.dropped), "rejected": dict(self.rejected), "notes": dict(self.notes)}


@dataclass(frozen=True)
class MappedTables:
    """The contract's tables built from the user's, and the account of every source table."""

    tables: LeadTables
    accounts: tuple[TableAccount, ...]


def file_reader(root: Path, csv: CsvOptions) -> Callable[[SourceTable], pd.DataFrame]:
    """Read mapped tables from files in a folder: one file, or every CSV/Parquet file of a sub-folder."""

    def read(spec: SourceTable) -> pd.DataFrame:
        options = spec.csv or csv
        path = root / spec.file
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in (".csv", ".parquet", ".txt", ".tsv")) \
            if path.is_dir() else [path]
        if not files:
            raise DataError(f"table {spec.file}: the folder {path} holds no .csv or .parquet file")
        frames = [read_user_table(p, sep=options.sep, encoding=options.encoding, quote=options.quote)[0]
                  for p in files]
        return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]

    return read


def map_tables(mapping: TablesMapping, read: Callable[[SourceTable], pd.DataFrame]) -> MappedTables:
    """Build the contract's tables from the user's tables as the mapping says, accounting for every row."""
    leads, kept_ids, lead_account = _leads(mapping.leads, read(mapping.leads))
    created = leads.set_index("lead_id")["created_at"]
    created = created[~created.index.duplicated()]
    created = created[created.index.isin(kept_ids)].reindex(created.index.unique())  # rejected leads: NaT
    activities, accounts = [], [lead_account]
    for number, spec in enumerate(mapping.activities):
        frame, account = _activities(spec, read(spec), created, key=f"mapping.activities.{number}")
        activities.append(frame)
        accounts.append(account)
    if mapping.opportunities is not None:
        opportunities, account = _opportunities(mapping.opportunities, read(mapping.opportunities), created)
        accounts.append(account)
    else:
        opportunities = _empty("opportunities")
    tables = LeadTables(leads=leads, activities=pd.concat(activities, ignore_index=True) if activities
                        else _empty("activities"), opportunities=opportunities,
                        lead_columns=tuple(mapping.leads.feature_names().values()))
    return MappedTables(tables, _distinct(accounts))


def _distinct(accounts: list[TableAccount]) -> tuple[TableAccount, ...]:
    """Name each account once: a table mapped twice (split by ``where``) gets its place in the mapping."""
    seen: dict[tuple[str, str], int] = {}
    for account in accounts:
        seen[(account.table, account.source)] = seen.get((account.table, account.source), 0) + 1
    number: dict[tuple[str, str], int] = {}
    for account in accounts:
        key = (account.table, account.source)
        if seen[key] > 1:
            number[key] = number.get(key, 0) + 1
            account.source = f"{account.source} #{number[key]}"
    return tuple(accounts)


def _empty(table: str) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype="str") for c in COLUMNS[table]})


def _column(frame: pd.DataFrame, spec: SourceTable, name: str, key: str) -> pd.Series:
    return find_column(frame, name, table=spec.file, key=key)


def _dates(frame: pd.DataFrame, spec: SourceTable, column: str, key: str) -> pd.Series:
    how = DateFormat(spec.dates.get(column), spec.dayfirst)
    return parse_dates(_column(frame, spec, column, key), how, table=spec.file, column=column,
                       key=f"{key.rsplit('.', 2)[0]}.dates")


def _renamed(frame: pd.DataFrame, spec: SourceTable, table: str, key: str) -> pd.DataFrame:
    """The contract columns of one table, from the user's columns as mapped (ids as text, times in UTC)."""
    time_column = "occurred_at" if table == "activities" else "created_at"
    out = pd.DataFrame(index=frame.index)
    for contract, user in spec.columns.items():
        if contract == time_column:
            out[contract] = _dates(frame, spec, user, f"{key}.columns.{contract}")
        elif contract in ("employees", "annual_revenue", "declared_budget", "value", "amount"):
            out[contract] = parse_number_text(_column(frame, spec, user, f"{key}.columns.{contract}"))
        else:
            out[contract] = _column(frame, spec, user, f"{key}.columns.{contract}")
    return out


def _leads(spec: LeadsTable, frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Index, TableAccount]:
    """The leads table, the ids cleaning keeps, and the account; rejects (no id, no creation time, an id
    repeated with conflicting values) follow cleaning's rules, so the account matches what scoring sees."""
    account = TableAccount("leads", spec.file, read=len(frame))
    frame = _selected(frame, spec, account, key="mapping.leads")
    out = _renamed(frame, spec, "leads", "mapping.leads")
    out.insert(0, "lead_id", to_id(_column(frame, spec, spec.id, "mapping.leads.id")))
    out = out.reindex(columns=list(COLUMNS["leads"]))
    for column in spec.exclude:  # a misspelt exclusion is named, as a misspelt feature is
        _column(frame, spec, column, "mapping.leads.exclude")
    for column, name in spec.feature_names().items():  # the lead's own columns the user made features, as text
        out[name] = as_written(_column(frame, spec, column, "mapping.leads.features"))
        kind = spec.features[column].type
        why = not_a_feature(out[name], kind)
        if why:
            raise DataError(f"mapping.leads.features.{column}: {why}: not a feature (personal data and identifiers "
                            "never are); remove it from the mapping")
        account.note(f"{column}: not a {'number' if kind == 'numeric' else 'yes/no value'}, set missing",
                     unreadable(out[name], kind))
    empty = LeadTables(leads=out, activities=_empty("activities"), opportunities=_empty("opportunities"),
                       lead_columns=tuple(spec.feature_names().values()))
    kept, rejects, report = clean_tables(empty)
    account.drop("exact duplicate of another row", report.counts.get("leads: duplicate rows dropped", 0))
    conflicting = rejects["reason"].eq("duplicate lead_id with conflicting values")
    account.rejected = {reason: int(n) for reason, n in rejects.loc[~conflicting, "reason"].value_counts().items()}
    account.kept = len(kept.leads)
    # cleaning lists a conflicting id once; every row of it that is not an exact duplicate is rejected with it
    rows = account.read - sum(account.dropped.values()) - sum(account.rejected.values()) - account.kept
    if rows:
        account.rejected["duplicate lead_id with conflicting values"] = rows
    _balance(account)
    return out, pd.Index(kept.leads["lead_id"]), account


def _activity_types(frame: pd.DataFrame, spec: ActivityTable, key: str, account: TableAccount) -> pd.Series:
    """Each row's activity type, from a constant or a mapped column; unmapped values and configured types the
    features do not know (they count as "other") are noted per value."""
    mapping = spec.activity_type
    if mapping.value is not None:
        types = pd.Series(mapping.value, index=frame.index, dtype="str")
    else:
        column = _column(frame, spec, mapping.column, f"{key}.activity_type.column")
        written = as_written(column).astype("str").str.strip()
        written = written.where(written != "")
        mapped = written.str.lower().map({k.strip().lower(): v for k, v in mapping.map.items()})
        unmapped = mapped.isna() & written.notna()
        _note_unmapped(written[unmapped], mapping.other, account)
        fallback = written if mapping.other is None else written.where(written.isna(), mapping.other)
        types = mapped.where(mapped.notna(), fallback)
    configured = {mapping.value, mapping.other, *mapping.map.values()} - {None, *CORE_ACTIVITY_TYPES}
    for value, n in types[types.isin(configured)].value_counts().items():
        account.note(f"activity_type {value!r} is not a type the features count one by one: counted as other", n)
    return types


def _note_unmapped(values: pd.Series, other: str | None, account: TableAccount, most: int = 20) -> None:
    """Count unmapped type values per value: the most frequent ``most`` by name, cut to 40 characters (a
    free-text column must not spill into logs and MLflow), the rest as one count."""
    counts = values.value_counts()
    for value, n in counts.head(most).items():
        shown = value if len(value) <= 40 else value[:37] + "..."
        kept = other or (value if len(value) <= 40 else "written")
        account.note(f"activity_type {shown!r} not in the map, kept as {kept!r}", n)
    if len(counts) > most:
        account.note(f"activity_type: {len(counts) - most} more values not in the map, kept as "
                     f"{other or 'written'!r}", counts.iloc[most:].sum())


def _activities(spec: ActivityTable, frame: pd.DataFrame, created: pd.Series, *,
                key: str) -> tuple[pd.DataFrame, TableAccount]:
    account = TableAccount("activities", spec.file, read=len(frame))
    frame = _selected(frame, spec, account, key=key)
    out = _renamed(frame, spec, "activities", key)
    out["lead_id"] = to_id(out["lead_id"])
    out["activity_type"] = _activity_types(frame, spec, key, account)
    if spec.id:
        ids = to_id(_column(frame, spec, spec.id, f"{key}.id"))
        out["activity_id"] = spec.file + ":" + ids if spec.id == ROW_ID else ids
    out = out.reindex(columns=list(COLUMNS["activities"]))
    out = _placed(out, "occurred_at", account, created, row_ids=spec.id == ROW_ID)
    return out, account


def _selected(frame: pd.DataFrame, spec: SourceTable, account: TableAccount, *, key: str,
              reason: str = "not selected") -> pd.DataFrame:
    """The rows whose ``where`` columns hold one of the listed values (any case); the others dropped and counted."""
    meets = pd.Series(True, index=frame.index)
    for column, values in spec.where.items():
        wanted = {v.strip().lower() for v in values}
        written = as_written(_column(frame, spec, column, f"{key}.where.{column}"))
        ok = written.astype("str").str.strip().str.lower().isin(wanted) & written.notna()
        account.drop(f"{reason} ({column} not in {', '.join(values)})", (meets & ~ok).sum())
        meets &= ok
    return frame[meets]


def _opportunities(spec: OpportunityTable, frame: pd.DataFrame,
                   created: pd.Series) -> tuple[pd.DataFrame, TableAccount]:
    account = TableAccount("opportunities", spec.file, read=len(frame))
    frame = _selected(frame, spec, account, key="mapping.opportunities", reason="not a conversion")
    out = _renamed(frame, spec, "opportunities", "mapping.opportunities")
    out["lead_id"] = to_id(out["lead_id"])
    if spec.id:
        out["opportunity_id"] = to_id(_column(frame, spec, spec.id, "mapping.opportunities.id"))
    out = out.reindex(columns=list(COLUMNS["opportunities"]))
    return _placed(out, "created_at", account, created), account


def _placed(out: pd.DataFrame, time: str, account: TableAccount, created: pd.Series, *,
            row_ids: bool = False) -> pd.DataFrame:
    """Keep the rows that belong to a known lead's history; drop and count the others (row-number ids are
    no identity: rows that repeat every other column are duplicates all the same)."""
    no_id = out["lead_id"].isna()
    account.drop("no lead id", no_id.sum())
    no_time = ~no_id & out[time].isna()
    account.drop(f"no valid {time}", no_time.sum())
    out = out[~no_id & ~no_time]
    unknown = ~out["lead_id"].isin(created.index)
    account.drop("for a lead not in the leads table", unknown.sum())
    out = out[~unknown]
    rejected = out["lead_id"].map(created).isna()
    account.drop("for a lead rejected from the leads table", rejected.sum())
    out = out[~rejected]
    identity = [c for c in out.columns if not (row_ids and c == "activity_id")]
    duplicate = out[identity].astype("str").duplicated()
    account.drop("exact duplicate of another row" + ("" if row_ids else " (id included)"), duplicate.sum())
    out = out[~duplicate].reset_index(drop=True)
    early = out[time] < out["lead_id"].map(created)
    account.note("dated before their lead's creation (kept: history before T all the same)", early.sum())
    account.kept = len(out)
    _balance(account)
    return out


def _balance(account: TableAccount) -> None:
    if not account.balanced:  # a bug in leadml, never the user's data: say so plainly
        raise AssertionError(f"table {account.source}: {account.read} rows read but {account.kept} kept, "
                             f"{account.dropped} dropped, {account.rejected} rejected")


def accounts_counts(accounts: tuple[TableAccount, ...]) -> dict[str, int]:
    """The accounts as data-quality counts (``table from source: what``), beside cleaning's own counts."""
    counts: dict[str, int] = {}
    for account in accounts:
        where = f"{account.table} from {account.source}"
        counts[f"{where}: rows read"] = account.read
        counts[f"{where}: rows kept"] = account.kept
        for kind, reasons in (("dropped", account.dropped), ("rejected", account.rejected),
                              ("kept, note", account.notes)):
            for reason, n in reasons.items():
                counts[f"{where}: {kind}: {reason}"] = n
    return counts
