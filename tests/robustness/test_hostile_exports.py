"""Case 7: form fields that attack spreadsheets arrive as inert text in CSV and XLSX."""

from __future__ import annotations

import csv

import openpyxl
import pandas as pd
import pytest

from tests.robustness.conftest import Tables, Workspace, assert_published, population

pytestmark = pytest.mark.slow

HOSTILE = ["=HYPERLINK(\"http://evil.example\",\"click\")", "+1-555-0100", "@SUM(1)", "\tTAB", "\rCR", "====",
           "-2+3", "x" * 40_000, "line\nbreak", 'say "hi", ok', "emoji 🚀🔥",
           "\u202eright-to-left \u05e9\u05dc\u05d5\u05dd"]


@pytest.fixture
def hostile_tables(base_tables: Tables) -> Tables:
    open_ids = sorted(population(base_tables))[: len(HOSTILE)]
    rename = dict(zip(open_ids, HOSTILE, strict=True))
    tables = {name: frame.assign(lead_id=frame["lead_id"].replace(rename)) for name, frame in base_tables.items()}
    tables["leads"]["industry"] = [HOSTILE[i % len(HOSTILE)] for i in range(len(tables["leads"]))]
    return tables


def inert(cell: str) -> bool:
    return not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


@pytest.mark.parametrize("workspace", ["duckdb"], indirect=True)
def test_hostile_cells_are_inert_in_csv_and_xlsx(workspace: Workspace, hostile_tables: Tables) -> None:
    outcome = workspace.run_damaged(hostile_tables)
    assert_published(outcome)
    with open(workspace.out, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    cells = [cell for row in rows[1:] for cell in row]
    assert all(inert(cell) for cell in cells if cell and not _is_number(cell))
    ids = [row[0] for row in rows[1:]]
    for value in (v.strip() for v in HOSTILE):  # ids are stripped; each survives as text, prefixed with '
        assert value in ids or "'" + value in ids, value[:30]       # when a spreadsheet would run it

    xlsx = workspace.folder / "scores.xlsx"
    workspace.score(out=xlsx)
    sheet = openpyxl.load_workbook(xlsx).active
    values = [cell for row in sheet.iter_rows(min_row=2) for cell in row]
    assert not [c.coordinate for c in values if c.data_type == "f" or c.hyperlink is not None]
    texts = [c.value for c in values if isinstance(c.value, str)]
    assert all(inert(t) for t in texts)
    assert max(len(t) for t in texts) <= 32_767
    assert "emoji 🚀🔥" in texts and 'say "hi", ok' in texts and "line\nbreak" in texts


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def test_the_export_reads_back_exactly(tmp_path) -> None:
    from leadml.reporting.export import write_table

    frame = pd.DataFrame({"lead_id": HOSTILE, "probability": [0.5] * len(HOSTILE)})
    write_table(frame, tmp_path / "x.csv")
    back = pd.read_csv(tmp_path / "x.csv", dtype={"lead_id": "str"}, keep_default_na=False)
    restored = back["lead_id"].where(~back["lead_id"].str.startswith("'"), back["lead_id"].str[1:])
    assert restored.tolist() == HOSTILE
