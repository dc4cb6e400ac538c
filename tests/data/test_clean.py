import numpy as np
import pandas as pd
import pytest

from leadml.data.clean import DataError, clean_tables, to_utc
from leadml.data.contract import LeadTables


def tables(leads: dict, activities: dict | None = None, opportunities: dict | None = None) -> LeadTables:
    return LeadTables(
        leads=pd.DataFrame(leads),
        activities=pd.DataFrame(activities or {"lead_id": [], "occurred_at": [], "activity_type": []}),
        opportunities=pd.DataFrame(opportunities or {"lead_id": [], "created_at": []}),
    )


def test_ids_stay_strings_with_leading_zeros_and_whitespace() -> None:
    raw = tables({"lead_id": ["001", " 1 ", "x"], "created_at": ["2026-01-01"] * 3},
                 {"lead_id": ["001", "1"], "occurred_at": ["2026-01-02", "2026-01-02"],
                  "activity_type": ["web_visit", "web_visit"]})
    clean, rejects, _ = clean_tables(raw)
    assert list(clean.leads["lead_id"]) == ["001", "1", "x"]
    assert rejects.empty
    assert sorted(clean.activities["lead_id"]) == ["001", "1"]


def test_conflicting_duplicates_and_missing_created_at_are_rejected_with_reasons() -> None:
    raw = tables({"lead_id": ["a", "a", "b", "b", "c", "d"],
                  "created_at": ["2026-01-01", "2026-01-01", "2026-01-01", "2026-02-01", None, "garbage"]})
    clean, rejects, report = clean_tables(raw)
    assert list(clean.leads["lead_id"]) == ["a"]
    reasons = dict(zip(rejects["lead_id"], rejects["reason"], strict=True))
    assert reasons == {"b": "duplicate lead_id with conflicting values",
                       "c": "missing or unparseable created_at", "d": "missing or unparseable created_at"}
    assert report.counts["leads: duplicate rows dropped"] == 1


def test_history_rows_are_deduplicated_and_unknown_leads_reported() -> None:
    raw = tables({"lead_id": ["a"], "created_at": ["2026-01-01"]},
                 {"lead_id": ["a", "a", "ghost", "a"],
                  "occurred_at": ["2026-01-02T10:00:00Z", "2026-01-02T10:00:00Z", "2026-01-03", "not a date"],
                  "activity_type": ["web_visit"] * 4})
    clean, _, report = clean_tables(raw)
    assert len(clean.activities) == 1
    assert report.counts == {"activities: duplicate rows dropped": 1,
                             "activities: rows for unknown leads": 1,
                             "activities: rows without lead_id or a valid occurred_at": 1}


def test_required_column_missing_names_table_and_column() -> None:
    raw = tables({"lead_id": ["a"]})
    with pytest.raises(DataError, match="table leads: required column.*created_at"):
        clean_tables(raw)


@pytest.mark.parametrize("values, expected", [
    (["2026-03-29T01:30:00+01:00", "2026-03-29T03:30:00+02:00"], ["2026-03-29T00:30:00", "2026-03-29T01:30:00"]),
    (["2026-01-01 12:00:00", "2026-01-01T12:00:00Z"], ["2026-01-01T12:00:00", "2026-01-01T12:00:00"]),
])
def test_timestamps_become_utc(values: list[str], expected: list[str]) -> None:
    parsed = to_utc(pd.Series(values))
    assert str(parsed.dt.tz) == "UTC"
    assert list(parsed.dt.tz_localize(None).astype("str")) == [e.replace("T", " ") for e in expected]


def test_numbers_non_finite_and_absurd_values_are_reported() -> None:
    raw = tables({"lead_id": ["a", "b", "c", "d"], "created_at": ["2026-01-01"] * 4,
                  "employees": ["12", "lots", "-1", "1,200"], "annual_revenue": [np.inf, 5.0, 1e15, np.nan]})
    clean, _, report = clean_tables(raw)
    employees = clean.leads["employees"].tolist()
    assert employees[0] == 12 and employees[3] == 1200 and np.isnan(employees[1]) and np.isnan(employees[2])
    assert clean.leads["annual_revenue"].isna().tolist() == [True, False, True, True]
    assert report.counts["leads.employees: not a number, set missing"] == 1
    assert report.counts["leads.employees: infinite, negative or implausible, set missing"] == 1
    assert report.counts["leads.annual_revenue: infinite, negative or implausible, set missing"] == 2
