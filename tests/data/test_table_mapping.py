"""A multi-table CRM export mapped onto the contract by config alone, every row accounted for."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from leadml.config import Config, TablesMapping
from leadml.data.clean import DataError, clean_tables
from leadml.data.sources import open_source
from leadml.features import feature_catalog
from tests.crm_export import crm_mapping, write_crm_export


@pytest.fixture(scope="module")
def crm(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    folder = tmp_path_factory.mktemp("crm")
    return folder, write_crm_export(folder)


def _accounts(source) -> dict[str, dict]:
    return {a.source: a.as_dict() for a in source.accounts}


def test_every_row_of_every_source_table_is_accounted_for(crm) -> None:
    folder, planted = crm
    with open_source(folder, TablesMapping.model_validate(crm_mapping())) as source:
        accounts = _accounts(source)
        assert all(a.balanced for a in source.accounts)
    assert accounts["leads.csv"] == {"table": "leads", "source": "leads.csv", "read": planted["leads"],
                                     "kept": planted["leads"], "dropped": {}, "rejected": {}, "notes": {}}
    calls = accounts["calls.csv"]
    assert calls["read"] == planted["calls_read"]
    assert calls["dropped"] == {"exact duplicate of another row (id included)": 1,
                                "for a lead not in the leads table": 1, "no valid occurred_at": 1}
    assert calls["kept"] == planted["calls_read"] - 3
    sessions = accounts["web_sessions"]
    assert planted["sessions_exact_duplicates"] == 0 and sessions["dropped"] == {}
    assert sessions["read"] == sessions["kept"] == planted["sessions_read"]
    assert sessions["notes"] == {
        "activity_type 'blog' not in the map, kept as 'web_visit'": planted["sessions_blog"],
        "activity_type 'careers' not in the map, kept as 'web_visit'": planted["sessions_careers"],
        "dated before their lead's creation (kept: history before T all the same)": planted["sessions_early"]}
    deals = accounts["deals.csv"]
    assert deals["dropped"] == {"not a conversion (Stage (CRM) not in Closed Won)": planted["deals_lost"]}
    assert deals["kept"] == planted["deals_read"] - planted["deals_lost"]
    assert deals["notes"] == {"dated before their lead's creation (kept: history before T all the same)": 3}


def test_the_mapped_source_reads_like_the_contract_in_chunks(crm) -> None:
    folder, planted = crm
    with open_source(folder, TablesMapping.model_validate(crm_mapping())) as source:
        kept = {a.source: a.kept for a in source.accounts}
        chunks = [clean_tables(raw) for raw in source.chunks(400)]
        assert source.count_leads() == planted["leads"]
    tables = [c[0] for c in chunks]
    assert sum(len(t.leads) for t in tables) == planted["leads"]
    activities = pd.concat([t.activities for t in tables])
    assert len(activities) == kept["calls.csv"] + kept["web_sessions"]  # nothing merged or lost on the way
    assert set(activities["activity_type"]) == {"call_connected", "pricing_page_view", "demo_requested", "web_visit"}
    calls = activities[activities["activity_type"] == "call_connected"]
    twins = calls[calls.duplicated(["lead_id", "occurred_at", "value"], keep=False)]
    assert len(twins) >= 2 and twins["activity_id"].is_unique  # same moment, own ids: two touches
    leads = pd.concat([t.leads for t in tables]).set_index("lead_id")
    assert leads.loc["L-00000", "created_at"].tzname() == "UTC"
    assert leads["declared_budget"].between(1_000, 90_000).all()  # "22.700,00 €" read as 22700
    opportunities = pd.concat([t.opportunities for t in tables])
    assert len(opportunities) == kept["deals.csv"] and (opportunities["amount"] > 0).all()


def test_the_same_tables_map_from_a_duckdb_file(crm, tmp_path: Path) -> None:
    folder, planted = crm
    mapping = crm_mapping()
    with open_source(folder, TablesMapping.model_validate(mapping)) as source:
        expected = _accounts(source)
    database = tmp_path / "crm.duckdb"
    with duckdb.connect(str(database)) as con:
        for name in ("calls", "deals"):
            csv = folder / f"{name}.csv"
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_csv('{csv}', all_varchar=true)")
        con.execute(f"CREATE TABLE sessions AS SELECT * FROM read_csv('{folder / 'web_sessions' / '*.csv'}', "
                    "all_varchar=true)")
        leads = pd.read_csv(folder / "leads.csv", sep=";", encoding="cp1252", dtype="str")
        con.register("leads_frame", leads)
        con.execute("CREATE TABLE leads AS SELECT * FROM leads_frame")
    mapping["leads"]["file"], mapping["activities"][0]["file"] = "leads", "calls"
    mapping["activities"][1]["file"], mapping["opportunities"]["file"] = "sessions", "deals"
    with open_source(database, TablesMapping.model_validate(mapping)) as source:
        found = _accounts(source)
    assert [found[k]["kept"] for k in ("leads", "calls", "sessions", "deals")] == \
        [expected[k]["kept"] for k in ("leads.csv", "calls.csv", "web_sessions", "deals.csv")]


def test_a_wrong_column_or_date_format_is_one_line_naming_file_and_key(crm) -> None:
    folder, _ = crm
    mapping = crm_mapping()
    mapping["activities"][0]["columns"]["lead_id"] = "Lead ID"
    with pytest.raises(DataError, match=r"table calls.csv: mapped column\(s\) not found \(mapping.activities.0"
                                        r".columns.lead_id\): 'Lead ID' \(did you mean 'Lead'\?\)"):
        open_source(folder, TablesMapping.model_validate(mapping))
    mapping = crm_mapping()
    del mapping["leads"]["dates"]
    with pytest.raises(DataError, match=r"table leads.csv, column 'Created Time': 1500 of 1500 values are not dates "
                                        r"in ISO 8601 \(e.g. '.+'\): set mapping.leads.dates"):
        open_source(folder, TablesMapping.model_validate(mapping))


def test_where_selects_the_rows_of_an_activity_table_and_counts_the_rest(crm) -> None:
    folder, planted = crm
    mapping = crm_mapping()
    mapping["activities"][1]["where"] = {"page_kind": ["Pricing", "demo", "blog"]}
    with open_source(folder, TablesMapping.model_validate(mapping)) as source:
        sessions = _accounts(source)["web_sessions"]
    assert sessions["dropped"] == {"not selected (page_kind not in Pricing, demo, blog)": planted["sessions_careers"]}
    assert sessions["kept"] == planted["sessions_read"] - planted["sessions_careers"]
    assert not any("careers" in note for note in sessions["notes"])


@pytest.mark.parametrize(("activity_type", "message"), [
    ({"column": "page_kind", "map": {"webinar": "webinar_registerd"}},
     "activity_type.map.webinar: 'webinar_registerd' is not an activity type leadml counts: did you mean "
     "'webinar_registered'?"),
    ({"value": "call_conected"}, "did you mean 'call_connected'?"),
    ({"value": "call", "other": "web_visit"}, "map and other go with column, not value"),
])
def test_a_misspelt_activity_type_is_a_config_error(activity_type: dict, message: str) -> None:
    mapping = crm_mapping()
    mapping["activities"][0]["activity_type"] = activity_type
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")):
        TablesMapping.model_validate(mapping)


def test_dirty_leads_and_whole_number_ids_read_as_floats_add_up(tmp_path: Path) -> None:
    at = "2025-03-01T10:00:00Z"
    leads = pd.DataFrame({
        "Id": [1, 1, 2, 5, 5, 6, 6, 7, 8, 8, 8],
        "Created": [at, at, at, at, at, at, at, None, at, at, at],
        "Country": ["DE", "DE", "DE", "DE", "FR", " DE", "DE", "DE", "FR", "FR", "IT"],
    })
    leads.to_parquet(tmp_path / "leads.parquet")  # an integer id column, as a database export writes it
    touches = pd.DataFrame({"Lead": [1.0, 2.0, None, 5.0, 7.0, 99.0, 6.0],  # a nullable id: floats on reading
                            "At": [at] * 7, "Kind": [10.0, 10.0, 10.0, 20.0, 10.0, 10.0, None]})
    touches.to_parquet(tmp_path / "touches.parquet")
    mapping = {"layout": "tables",
               "leads": {"file": "leads.parquet", "id": "Id",
                         "columns": {"created_at": "Created", "country": "Country"}},
               "activities": [{"file": "touches.parquet", "columns": {"lead_id": "Lead", "occurred_at": "At"},
                               "activity_type": {"column": "Kind", "map": {"10": "web_visit"}}}]}
    with open_source(tmp_path, TablesMapping.model_validate(mapping)) as source:
        accounts = _accounts(source)
        tables = clean_tables(source.read_all())[0]
    assert accounts["leads.parquet"] | {"notes": {}} == {
        "table": "leads", "source": "leads.parquet", "read": 11, "kept": 3, "notes": {},
        "dropped": {"exact duplicate of another row": 3},
        "rejected": {"duplicate lead_id with conflicting values": 4, "missing or unparseable created_at": 1}}
    assert sorted(tables.leads["lead_id"]) == ["1", "2", "6"]
    touches_account = accounts["touches.parquet"]
    assert touches_account["dropped"] == {"no lead id": 1, "for a lead not in the leads table": 1,
                                          "for a lead rejected from the leads table": 2}
    assert touches_account["kept"] == 3 and sorted(tables.activities["lead_id"]) == ["1", "2", "6"]
    assert set(tables.activities["activity_type"].dropna()) == {"web_visit"}  # code 10.0 matched the map's "10"


def test_row_numbers_are_the_files_own_after_a_where(tmp_path: Path) -> None:
    (tmp_path / "leads.csv").write_text("Created,Kind\n2025-01-01,lead\n2025-01-02,contact\n2025-01-03,lead\n")
    mapping = {"layout": "tables", "leads": {"file": "leads.csv", "id": "@row", "where": {"Kind": ["lead"]},
                                             "columns": {"created_at": "Created"}}}
    with open_source(tmp_path, TablesMapping.model_validate(mapping)) as source:
        assert sorted(clean_tables(source.read_all())[0].leads["lead_id"]) == ["1", "3"]


def test_lead_feature_columns_are_checked_like_every_mapped_column(crm) -> None:
    folder, _ = crm
    mapping = crm_mapping()
    mapping["leads"]["exclude"] = {"Lead Stauts": {"reason": "set by sales after contact"}}
    with pytest.raises(DataError, match=r"mapping.leads.exclude\): 'Lead Stauts' \(did you mean 'Lead Status'\?\)"):
        open_source(folder, TablesMapping.model_validate(mapping))
    for features, message in (({"Lead Status": {"family": "fit", "type": "categorical"}}, "one role only"),
                              ({"Industry": {"family": "fit", "type": "categorical"}}, "already mapped"),
                              ({"Tier (Sales)": {"family": "fit", "type": "flag", "name": "source"}},
                               "a contract column")):
        broken = crm_mapping()
        broken["leads"]["features"] = features
        with pytest.raises(ValueError, match=message):
            TablesMapping.model_validate(broken)
    renamed = {"Tier (Sales)": {"family": "fit", "type": "categorical", "name": "seniority"}}
    clash = Config.model_validate({"mapping": {**crm_mapping(), "leads": {**crm_mapping()["leads"],
                                                                          "features": renamed}}})
    with pytest.raises(ValueError, match=r"features.Tier \(Sales\): 'seniority' is a feature leadml builds itself"):
        feature_catalog(clash.features)
    with pytest.raises(ValueError, match="name the leads table's feature columns in mapping.leads.features"):
        Config.model_validate({"features": {"lead_columns": {"Tier": {"family": "fit", "type": "categorical"}}}})


def test_docs_mapping_md_is_generated_from_the_config_schema() -> None:
    from leadml.app.mapping_reference import mapping_reference

    page = (Path(__file__).resolve().parents[2] / "docs" / "mapping.md").read_text(encoding="utf-8")
    assert page.strip() == mapping_reference().strip(), "docs/mapping.md is stale: run `make docs`"
    for key in ("mapping.leads.features.<column>.family", "mapping.activities[].activity_type.map",
                "mapping.opportunities.where", "mapping.label.positive", "mapping.dates", "mapping.csv.sep"):
        assert f"| `{key}` |" in page


@pytest.mark.parametrize(("column", "kind", "why"), [("Email", "categorical", "look like e-mail addresses"),
                                                     ("Lead ID", "categorical", "100% of its values are distinct")])
def test_personal_data_and_identifiers_are_never_lead_features(tmp_path: Path, column: str, kind: str,
                                                                why: str) -> None:
    write_crm_export(tmp_path, leads=300)
    leads = pd.read_csv(tmp_path / "leads.csv", sep=";", encoding="cp1252", dtype="str")
    leads["Lead Ref"] = leads["Lead ID"]  # the id under another name: a feature only by mistake
    leads.to_csv(tmp_path / "leads.csv", sep=";", index=False, encoding="cp1252")
    mapping = crm_mapping()
    mapping["leads"]["columns"].pop("email")
    rule = {"family": "fit", "type": kind, "name": "contact"}  # 'email' itself is refused as a contract name
    mapping["leads"]["features"] = {("Lead Ref" if column == "Lead ID" else column): rule}
    with pytest.raises(DataError, match=f"mapping.leads.features.*{why}.*never are"):
        open_source(tmp_path, TablesMapping.model_validate(mapping))


def test_values_a_lead_feature_cannot_read_are_counted(tmp_path: Path) -> None:
    write_crm_export(tmp_path, leads=300)
    leads = pd.read_csv(tmp_path / "leads.csv", sep=";", encoding="cp1252", dtype="str", keep_default_na=False)
    leads.loc[:6, "Opt-In"] = "vielleicht"  # neither yes nor no: 7 rows
    leads.to_csv(tmp_path / "leads.csv", sep=";", index=False, encoding="cp1252")
    with open_source(tmp_path, TablesMapping.model_validate(crm_mapping())) as source:
        notes = _accounts(source)["leads.csv"]["notes"]
    assert notes["Opt-In: not a yes/no value, set missing"] == 7
