"""Reading users' files: separators, encodings, row-number ids, dates and numbers written for people."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from leadml.data.clean import DataError, parse_number_text
from leadml.data.files import (
    DateFormat,
    find_column,
    missing_column_message,
    parse_dates,
    read_user_table,
)


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize(("sep", "name"), [(";", "semicolon"), ("\t", "tab"), ("|", "pipe"), (",", "comma")])
def test_the_separator_is_sniffed(tmp_path: Path, sep: str, name: str) -> None:
    text = sep.join(["Lead ID", "Amount", "Note"]) + "\n" + sep.join(["a1", "7", '"x, y"']) + "\n" \
        + sep.join(["a2", "3", "z"]) + "\n"
    frame, dialect = read_user_table(_write(tmp_path / f"{name}.csv", text))
    assert dialect.sep == sep
    assert list(frame.columns) == ["Lead ID", "Amount", "Note"]
    assert frame["Lead ID"].tolist() == ["a1", "a2"]


def test_two_separators_that_both_fit_are_not_guessed(tmp_path: Path) -> None:
    path = _write(tmp_path / "both.csv", "a;b,c\n1;2,3\n4;5,6\n")
    with pytest.raises(DataError, match=r"both.csv: both ',' and ';' split every line evenly: set mapping.csv.sep"):
        read_user_table(path)
    frame, _ = read_user_table(path, sep=";")
    assert frame["b,c"].tolist() == ["2,3", "5,6"]


def test_windows_1252_text_is_read_and_a_bom_is_dropped(tmp_path: Path) -> None:
    frame, dialect = read_user_table(_write(tmp_path / "win.csv", "Name;Stadt\nJürgen;Köln\n", "cp1252"))
    assert dialect.encoding == "cp1252"
    assert frame["Stadt"].tolist() == ["Köln"]
    frame, dialect = read_user_table(_write(tmp_path / "bom.csv", "\ufeffId,City\n1,Zürich\n"))
    assert list(frame.columns) == ["Id", "City"] and frame["City"].tolist() == ["Zürich"]


def test_row_numbers_stand_in_for_a_missing_id_column() -> None:
    frame = pd.DataFrame({"Email": ["a@x", "b@x", "c@x"]})
    assert find_column(frame, "@row", table="t.csv", key="mapping.leads.id").tolist() == ["1", "2", "3"]


def test_a_missing_column_names_the_key_the_nearest_name_and_an_unsplit_header() -> None:
    message = missing_column_message(["Lead Id", "Created"], ["Lead ID"], table="leads.csv", key="mapping.leads.id")
    assert message.startswith("table leads.csv: mapped column(s) not found (mapping.leads.id): 'Lead ID' "
                              "(did you mean 'Lead Id'?)")
    unsplit = missing_column_message(["Lead ID;Created;Source"], ["Lead ID"], table="leads.csv", key="k")
    assert "the header was read as one column" in unsplit and "set mapping.csv.sep" in unsplit


def test_dates_in_the_users_format_day_first_and_iso() -> None:
    at = pd.Timestamp("2021-04-15 00:03:00", tz="UTC")
    text = pd.Series(["15 Apr, 2021 00:03:00", None, ""])
    parsed = parse_dates(text, DateFormat("%d %b, %Y %H:%M:%S"), table="t", column="c", key="k")
    assert parsed.iloc[0] == at and parsed.iloc[1:].isna().all()
    dayfirst = parse_dates(pd.Series(["15/04/2021 00:03", "01/02/2021"]), DateFormat(dayfirst=True),
                           table="t", column="c", key="k")
    assert dayfirst.tolist() == [at, pd.Timestamp("2021-02-01", tz="UTC")]
    iso = parse_dates(pd.Series(["2021-04-15T02:03:00+02:00"]), DateFormat(), table="t", column="c", key="k")
    assert iso.iloc[0] == at and str(iso.dtype) == "datetime64[us, UTC]"


def test_a_date_column_that_mostly_fails_stops_with_examples_and_the_setting() -> None:
    text = pd.Series(["15 Apr, 2021 00:03:00", "16 Apr, 2021 10:00:00", "2021-04-17", "17 Apr, 2021 09:00:00"])
    with pytest.raises(DataError) as failure:
        parse_dates(text, DateFormat(), table="Leads.csv", column="Created Time", key="mapping.leads.dates")
    message = str(failure.value)
    assert "\n" not in message
    assert message.startswith("table Leads.csv, column 'Created Time': 3 of 4 values are not dates in ISO 8601 "
                              "(e.g. '15 Apr, 2021 00:03:00', '16 Apr, 2021 10:00:00', '17 Apr, 2021 09:00:00')")
    assert "set mapping.leads.dates" in message and "dayfirst: true" in message


def test_a_few_bad_dates_become_missing_for_cleaning_to_count() -> None:
    parsed = parse_dates(pd.Series(["2021-04-15", "2021-04-16", "soon"]), DateFormat(), table="t", column="c", key="k")
    assert parsed.isna().tolist() == [False, False, True]


@pytest.mark.parametrize(("values", "expected"), [
    (["$22,700.00", "1,200", "(1,200.00)", "3e5", "EUR", "22 EUR", "12%", None, "-", "1 234"],
     [22700.0, 1200.0, -1200.0, 300000.0, np.nan, 22.0, 12.0, np.nan, np.nan, 1234.0]),
    (["22.700,00 €", "12,5", "1.234,56", "7"], [22700.0, 12.5, 1234.56, 7.0]),
    (["CHF 1'200.50", "12 visits", "3x", "abc", "USD (5.00)"], [1200.5, np.nan, np.nan, np.nan, -5.0]),
    (["$22,700.00", "$1,200.50", "(1,200.00)", "12,5"], [22700.0, 1200.5, -1200.0, np.nan]),  # the majority decides
    (["12,5", "7,25", "1.234,56", "22,700.00"], [12.5, 7.25, 1234.56, np.nan]),
])
def test_numbers_written_for_people_parse(values: list, expected: list) -> None:
    np.testing.assert_array_equal(parse_number_text(pd.Series(values, dtype="str")).to_numpy(), np.array(expected))
