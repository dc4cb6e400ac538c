import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import yaml

from leadml.config import ConfigError, ExportConfig, load_config
from leadml.reporting.export import (
    ChunkedWriter,
    neutralise_formulas,
    read_export,
    read_scores,
    write_export,
    write_table,
)
from leadml.reporting.report_data import REQUIRED

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


# The export as a CRM imports it (export.columns, only_mapped, date_format) and read back by leadml

SALESFORCE = {"lead_id": "Id", "score": "Lead_Score__c", "grade": "Lead_Grade__c", "top_reasons": "Score_Reasons__c",
              "as_of": "Score_Date__c"}
SCORES = ("lead_id", "as_of", "model_version", "probability", "grade")  # what `leadml monitor` reads


def scored_export(n: int = 4, display: tuple[str, ...] = ()) -> pd.DataFrame:
    """An export as scoring publishes it: EXPORT_COLUMNS ranked, display columns after lead_id."""
    from leadml.scoring.population import EXPORT_COLUMNS

    probability = np.linspace(0.4, 0.01, n)
    frame = pd.DataFrame({column: pd.Series([""] * n, dtype="str") for column in EXPORT_COLUMNS})
    frame = frame.assign(lead_id=[f"00Q{i:05d}" for i in range(n)], probability=probability,
                         score=np.round(probability * 100).astype(int), grade=(["A", "B", "C", "D"] * n)[:n],
                         rank=range(1, n + 1), top_reasons="↑ Requested a demo; ↓ No visit in 30 days",
                         score_change=np.nan, trend="new", model_version="leadml/3",
                         as_of=pd.Timestamp("2026-11-01", tz="UTC"),
                         scored_at=pd.Timestamp("2026-11-01 06:30:05", tz="UTC"), is_stale=False)
    for i, column in enumerate(display):
        frame.insert(1 + i, column, [f"{column} {k}" for k in range(n)])
    return frame


def test_a_mapped_csv_has_the_crm_header_and_date_format(tmp_path: Path) -> None:
    names = ExportConfig(columns=SALESFORCE | {"scored_at": "Scored_At__c"}, date_format="%d.%m.%Y %H:%M")
    export = scored_export()
    path = write_export(export, tmp_path / "crm.csv", names)
    header = path.read_text(encoding="utf-8").splitlines()[0]
    expected = [SALESFORCE.get(c, c) for c in export.columns]
    assert header.split(",") == [("Scored_At__c" if c == "scored_at" else c) for c in expected]
    written = pd.read_csv(path, dtype="str")
    assert set(written["Score_Date__c"]) == {"01.11.2026 00:00"}
    assert set(written["Scored_At__c"]) == {"01.11.2026 06:30"}
    assert written["Id"].tolist() == export["lead_id"].tolist()


def test_only_mapped_writes_just_the_mapped_columns_in_the_mappings_order(tmp_path: Path) -> None:
    columns = {"lead_id": "Id", "company_name": "Company", "as_of": "Score_Date__c", "grade": "Lead_Grade__c"}
    names = ExportConfig(columns=columns, only_mapped=True, date_format="%Y-%m-%d", display=("company_name",))
    path = write_export(scored_export(display=("company_name",)), tmp_path / "crm.csv", names)
    assert path.read_text(encoding="utf-8").splitlines()[:2] == ["Id,Company,Score_Date__c,Lead_Grade__c",
                                                                 "00Q00000,company_name 0,2026-11-01,A"]


def test_parquet_keeps_typed_dates_under_the_crm_names(tmp_path: Path) -> None:
    names = ExportConfig(columns=SALESFORCE, date_format="%d/%m/%Y")
    back = pd.read_parquet(write_export(scored_export(), tmp_path / "crm.parquet", names))
    assert isinstance(back["Score_Date__c"].dtype, pd.DatetimeTZDtype) and "lead_id" not in back


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx"])
@pytest.mark.parametrize("date_format", [None, "%m/%d/%Y", "%Y-%m-%dT%H:%M:%S.000Z"])
def test_readers_undo_the_mapping_and_the_date_format(tmp_path: Path, suffix: str, date_format: str | None) -> None:
    columns = SALESFORCE | {"probability": "P__c", "rank": "Rank__c", "model_version": "Model__c"}
    names = ExportConfig(columns=columns, only_mapped=True, date_format=date_format)
    export = scored_export(5)
    back = read_scores(write_export(export, tmp_path / f"crm{suffix}", names), names, REQUIRED)
    assert list(back.columns) == list(columns)
    assert back["lead_id"].tolist() == export["lead_id"].tolist()  # leading zeros kept: ids stay text
    assert back["probability"].tolist() == pytest.approx(export["probability"].tolist())
    assert (pd.to_datetime(back["as_of"], utc=True) == pd.Timestamp("2026-11-01", tz="UTC")).all()
    if suffix != ".xlsx":
        scores = read_export(tmp_path / f"crm{suffix}", SCORES, names=names)
        assert list(scores.columns) == list(SCORES) and isinstance(scores["as_of"].dtype, pd.DatetimeTZDtype)


def test_an_export_written_before_the_mapping_still_reads(tmp_path: Path) -> None:
    path = write_table(scored_export(), tmp_path / "old.csv")
    names = ExportConfig(columns=SALESFORCE, date_format="%d/%m/%Y")
    assert read_export(path, SCORES, names=names)["as_of"].iloc[0] == pd.Timestamp("2026-11-01", tz="UTC")


def test_a_reader_that_finds_neither_name_says_which_column_and_names_export_columns(tmp_path: Path) -> None:
    names = ExportConfig(columns=SALESFORCE, only_mapped=True)
    path = write_export(scored_export(), tmp_path / "crm.csv", names)
    with pytest.raises(ValueError, match=r"crm.csv: column\(s\) missing: model_version, probability: .*export.columns"
                       r".*only_mapped") as caught:
        read_export(path, SCORES, names=names)
    assert "\n" not in str(caught.value)
    other = ExportConfig(columns=SALESFORCE | {"grade": "Grade__c"})
    with pytest.raises(ValueError, match=r"Grade__c \(grade in export.columns\)"):
        read_export(path, SCORES, names=other)


@pytest.mark.parametrize(("columns", "match"), [
    ({"scoer": "Lead_Score__c"}, r"^export.columns.scoer: not a column of the export \(did you mean 'score'\?\)$"),
    ({"owner_email": "Owner"}, r"^export.columns.owner_email: not a column of the export \(valid: lead_id, "
                               r"company_name, probability, .*is_stale\)$"),
    ({"probability": "score"}, r"^export.columns.probability: 'score' is the name of another export column"),
])
def test_bad_keys_are_one_line_errors_naming_the_key(tmp_path: Path, columns: dict, match: str) -> None:
    from leadml.app.steps import check_export_columns
    from leadml.config import Config

    names = ExportConfig(columns=columns, display=("company_name",))
    with pytest.raises(ValueError, match=match):  # at write time, against the export's own columns
        write_export(scored_export(display=("company_name",)), tmp_path / "crm.csv", names)
    with pytest.raises(ValueError, match=match):  # before anything is read, against EXPORT_COLUMNS and display
        check_export_columns(Config(export=names))
    assert not (tmp_path / "crm.csv").exists()


@pytest.mark.parametrize(("export", "match"), [
    ({"columns": {"score": "Lead_Score__c", "rank": "lead_score__c"}}, r"export.columns.rank: 'lead_score__c' is "
                                                                       r"already the name of score"),
    ({"columns": {"score": " "}}, "export.columns.score: give the CRM's field name"),
    ({"columns": {"score": 7}}, "export.columns.score: Input should be a valid string"),
    ({"columns": {"score": "Lead_Score__c"}, "only_mapped": True}, "export.only_mapped: map lead_id"),
    ({"date_format": "%Q-%m"}, "export.date_format: '%Q-%m' is not a strftime format"),
    ({"date_format": "%H:%M"}, "export.date_format: '%H:%M' must give the year, month and day"),
    ({"colums": {}}, r"export.colums: unknown key \(did you mean 'columns'\?\)"),
])
def test_bad_crm_settings_are_config_errors(tmp_path: Path, export: dict, match: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"export": export}, sort_keys=False), encoding="utf-8")
    with pytest.raises(ConfigError, match=match) as caught:
        load_config(path, env={})
    assert "\n" not in str(caught.value)


def test_xlsx_for_the_crm_keeps_its_header_in_view_filters_and_colours_the_renamed_grade(tmp_path: Path) -> None:
    import openpyxl

    names = ExportConfig(columns=SALESFORCE, only_mapped=True, date_format="%Y-%m-%d")
    sheet = openpyxl.load_workbook(write_export(scored_export(6), tmp_path / "crm.xlsx", names)).active
    assert [cell.value for cell in sheet[1]] == list(SALESFORCE.values())
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:E7"
    rules = {str(rng.sqref): [rule.formula for rule in rng.rules] for rng in sheet.conditional_formatting}
    assert rules == {"C2:C7": [['"A"'], ['"B"'], ['"C"'], ['"D"']]}  # Lead_Grade__c is the third column
    assert sheet["E2"].value == "2026-11-01"
    widths = {column: sheet.column_dimensions[column].width for column in "ABCDE"}
    assert widths["D"] > widths["C"] >= len("Lead_Grade__c") and max(widths.values()) <= 61


def test_the_crm_import_document_shows_the_header_its_configs_write(tmp_path: Path) -> None:
    """docs/crm-import.md cannot go stale: each config snippet loads, and writes the header line shown after it."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "crm-import.md").read_text(encoding="utf-8")
    examples = re.findall(r"```yaml\n(.*?)```.*?```text\n(.*?)\n```", text, flags=re.DOTALL)
    assert len(examples) == 2
    for i, (snippet, header) in enumerate(examples):
        (tmp_path / f"{i}.yaml").write_text(snippet, encoding="utf-8")
        names = load_config(tmp_path / f"{i}.yaml", env={}).export
        export = scored_export(display=names.display)
        path = write_export(export, tmp_path / f"{i}.csv", names)
        assert path.read_text(encoding="utf-8").splitlines()[0] == header
        assert read_scores(path, names, REQUIRED)["lead_id"].tolist() == export["lead_id"].tolist()


READ_BACK = SALESFORCE | {"probability": "Score_Probability__c", "rank": "Score_Rank__c",
                          "model_version": "Score_Model__c"}  # what `leadml report` and `leadml monitor` need


def flat_config(folder: Path, export: dict) -> Path:
    """A flat-export config writing only under ``folder``: report and monitor run on it without a model."""
    from tests.flat_export import mapping_section

    config = {"data": {"source": str(folder)}, "monitoring": {"mlflow": False}, "export": export,
              "tracking": {"uri": f"sqlite:///{folder / 'mlflow.db'}", "artifact_root": str(folder / "mlartifacts")},
              "mapping": mapping_section()}
    path = folder / f"config{len(export)}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def published(folder: Path, export: pd.DataFrame, name: str, settings: dict) -> Path:
    return write_export(export, folder / name, ExportConfig(**settings))


def test_leadml_report_reads_a_mapped_export_and_its_previous_one(tmp_path: Path) -> None:
    from tests.conftest import invoke, summary

    mapped = {"columns": READ_BACK, "only_mapped": True, "date_format": "%m/%d/%Y"}
    now = scored_export(8).assign(model_version="local")  # no registered version: the report asks no MLflow
    before = now.assign(as_of=pd.Timestamp("2026-10-25", tz="UTC"), score=now["score"][::-1].to_numpy(),
                        grade=now["grade"][::-1].to_numpy())
    results = []
    for settings in (mapped, {}):
        config = flat_config(tmp_path, settings)
        name = "crm" if settings else "plain"
        args = ["--export", published(tmp_path, now, f"{name}.csv", settings),
                "--previous", published(tmp_path, before, f"{name}_before.csv", settings)]
        result = summary(invoke("report", "--config", config, *args, "--out", tmp_path / f"{name}.html", "--json"))
        results.append({k: v for k, v in result.items() if k != "out"})
    assert results[0] == results[1] and results[0]["scored"] == 8 and results[0]["movers_up"] > 0
    assert results[0]["as_of"].startswith("2026-11-01") and results[0]["previous_as_of"].startswith("2026-10-25")


def test_flat_monitor_reads_a_mapped_export(tmp_path: Path) -> None:
    from tests.conftest import invoke, summary
    from tests.flat_export import flat_export

    labelled = flat_export(n=300, seed=11)[0]
    labelled.to_csv(tmp_path / "labelled.csv", index=False)
    ids = labelled["Lead ID"].dropna().drop_duplicates(keep=False).head(60).tolist()
    export = scored_export(60).assign(lead_id=ids)
    mapped = {"columns": READ_BACK, "only_mapped": True, "date_format": "%d.%m.%Y"}
    runs = []
    for settings in (mapped, {}):
        path = published(tmp_path, export, "crm.csv" if settings else "plain.csv", settings)
        result = summary(invoke("monitor", "--config", flat_config(tmp_path, settings), "--data",
                                tmp_path / "labelled.csv", "--exports", path, "--json"))
        runs.append(result["runs"])
    assert runs[0] == runs[1] and len(runs[0]) == 1 and runs[0][0]["leads"] > 40
    assert runs[0][0]["as_of"].startswith("2026-11-01") and runs[0][0]["model_version"] == "leadml/3"

    missing = invoke("monitor", "--config", flat_config(tmp_path, mapped | {"columns": SALESFORCE}), "--data",
                     tmp_path / "labelled.csv", "--exports", tmp_path / "crm.csv")
    assert missing.exit_code == 1 and len(missing.output.strip().splitlines()) == 1
    assert "crm.csv: column(s) missing: model_version, probability" in missing.output


def test_an_only_mapped_export_that_leadml_cannot_read_back_is_warned_of(tmp_path: Path,
                                                                         caplog: pytest.LogCaptureFixture) -> None:
    from leadml.app.steps import ScoreFiles, publish_scores

    findings = {"freshness": {"is_stale": False, "reason": ""}, "drift": {"reasons": []}}
    for columns, warned in ((SALESFORCE, True), (READ_BACK, False)):
        caplog.clear()
        publish_scores(scored_export(), pd.DataFrame({"lead_id": [], "reason": []}), findings=findings,
                       paths=ScoreFiles.beside(tmp_path / "crm.csv"),
                       names=ExportConfig(columns=columns, only_mapped=True))
        assert ("leaves out rank, probability, model_version, which `leadml report`" in caplog.text) is warned


def test_ids_and_display_values_read_back_as_written_under_either_name(tmp_path: Path) -> None:
    """An export written before (or without) the CRM mapping keeps ids like 00123 and postcodes like 01067 as
    text, and the writer's formula quote comes off again."""
    frame = pd.DataFrame({"lead_id": ["00123", "00456"], "postcode": ["01067", "80331"], "phone": ["+49 30 1", "2"],
                          "score": [40, 20]})
    write_table(frame, tmp_path / "old.csv")
    back = read_scores(tmp_path / "old.csv", ExportConfig(columns={"lead_id": "Id"}), ["lead_id", "score"])
    assert back["lead_id"].tolist() == ["00123", "00456"] and back["postcode"].tolist() == ["01067", "80331"]
    assert back["phone"].tolist() == ["+49 30 1", "2"] and back["score"].tolist() == [40, 20]
