from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from leadml.reporting.export import ChunkedWriter, neutralise_formulas, write_table

HOSTILE = ["=HYPERLINK(\"http://x\")", "+1-555", "-2", "@SUM(1)", "\tcmd", "\rcmd", "plain", None]


def test_formula_cells_are_neutralised() -> None:
    out = neutralise_formulas(pd.DataFrame({"text": pd.array(HOSTILE, dtype="str"), "number": range(8)}))
    assert out["text"].tolist()[:6] == ["'" + v for v in HOSTILE[:6]]
    assert out["text"].iloc[6] == "plain" and pd.isna(out["text"].iloc[7])
    assert out["number"].tolist() == list(range(8))


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx"])
def test_tables_round_trip_by_suffix(tmp_path: Path, suffix: str) -> None:
    frame = pd.DataFrame({"lead_id": ["001", "b"], "probability": [0.5, 0.25],
                          "as_of": pd.Timestamp("2026-01-01", tz="UTC")})
    path = write_table(frame, tmp_path / f"out{suffix}")
    if suffix == ".csv":
        back = pd.read_csv(path, dtype={"lead_id": "str"})
    elif suffix == ".parquet":
        back = pd.read_parquet(path)
    else:
        back = pd.read_excel(path, dtype={"lead_id": "str"})
    assert back["lead_id"].tolist() == ["001", "b"] and back["probability"].tolist() == [0.5, 0.25]


def test_failed_write_keeps_the_previous_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = write_table(pd.DataFrame({"a": [1]}), tmp_path / "out.parquet")
    before = path.read_bytes()
    with pytest.raises(Exception):  # noqa: B017 - whatever pyarrow raises for an unwritable column
        write_table(pd.DataFrame({"a": [object()]}), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.parquet"]


def test_unknown_suffix_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="use one of"):
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "out.json")


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_chunked_writer_appends_and_publishes_only_on_success(tmp_path: Path, suffix: str) -> None:
    schema = pa.schema([("lead_id", pa.string()), ("industry", pa.string()), ("x", pa.float64())])
    path = tmp_path / f"m{suffix}"
    with ChunkedWriter(path, schema) as writer:
        writer.write(pd.DataFrame({"lead_id": pd.Series([], dtype="str"), "industry": pd.Series([], dtype="str"),
                                   "x": pd.Series([], dtype="float64")}))  # an empty chunk first
        writer.write(pd.DataFrame({"lead_id": ["a"], "industry": [None], "x": [1.0]}))  # all-missing text column
        writer.write(pd.DataFrame({"lead_id": ["b", "c"], "industry": ["=cmd", "retail"], "x": [2.0, None]}))
    back = pd.read_parquet(path) if suffix == ".parquet" else pd.read_csv(path)
    assert back["lead_id"].tolist() == ["a", "b", "c"] and writer.rows == 3
    assert back["industry"].tolist()[1] == ("=cmd" if suffix == ".parquet" else "'=cmd")

    with pytest.raises(RuntimeError), ChunkedWriter(path, schema) as writer:
        writer.write(pd.DataFrame({"lead_id": ["z"], "industry": ["x"], "x": [0.0]}))
        raise RuntimeError("killed")
    again = pd.read_parquet(path) if suffix == ".parquet" else pd.read_csv(path)
    assert again["lead_id"].tolist() == ["a", "b", "c"]
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_xlsx_is_formatted_for_people_and_inert(tmp_path: Path) -> None:
    import openpyxl

    frame = pd.DataFrame({"lead_id": ["1", "2"], "grade": ["A", "D"],
                          "top_reasons": ['=HYPERLINK("http://x")', "x" * 40_000],
                          "score_change": [np.nan, np.nan]})  # all missing on a first run
    sheet = openpyxl.load_workbook(write_table(frame, tmp_path / "s.xlsx")).active
    assert sheet.freeze_panes == "A2" and sheet["A1"].font.b
    assert sheet["C2"].data_type == "s" and sheet["C2"].value.startswith("'=")
    assert len(sheet["C3"].value) <= 32_767
    assert len(sheet.conditional_formatting) >= 1
