"""The mapping of a flat export onto leadml: every quirk cleaned and counted, leaks kept out, clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from leadml.app.train_flat import read_flat
from leadml.config import Config, ConfigError, load_config
from leadml.data.clean import DataError
from leadml.features import feature_catalog
from leadml.features.flat_export import DERIVED_FROM, ExtremeClipper, feature_name, map_flat, merge_spellings
from tests.flat_export import flat_export, mapping_section, write_export, write_flat_config

ROOT = Path(__file__).resolve().parents[2]


def _mapping(**overrides: object):
    return Config.model_validate({"mapping": mapping_section(**overrides)}).mapping


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory):
    frame, truth = flat_export()
    folder = tmp_path_factory.mktemp("flat")
    write_export(folder, frame)
    raw, _, table = read_flat(str(folder), _mapping())
    return raw, truth, table


def test_every_planted_quirk_is_cleaned_and_counted(export) -> None:
    raw, truth, table = export
    leads = map_flat(raw, _mapping(), table=table)
    counts = leads.report.counts
    for key, n in truth.counts.items():
        if key.startswith("visits: extreme"):
            continue  # clipping is learned per training fold: see the clipper test
        found = {k: v for k, v in counts.items() if k.startswith(key)}
        assert list(found.values()) == [n], (key, found)
    stray = next(k for k in counts if k.startswith("Visits: text in a numeric column"))
    assert all(str(line) in stray for line in truth.stray_lines[:5])
    assert leads.rejects["reason"].value_counts().to_dict() == truth.rejected
    expected_rows = truth.rows - sum(truth.rejected.values())
    assert len(leads.labels) == len(leads.features) == len(leads.lead_id) == expected_rows
    assert leads.lead_id.is_unique and leads.lead_id.notna().all()


def test_values_are_typed_and_spellings_merged(export) -> None:
    raw, _, table = export
    features = map_flat(raw, _mapping(), table=table).features
    assert set(features["lead_source"].dropna()) == {"google", "direct_traffic", "referral", "webinar"}
    assert set(features["country"].dropna()) == {"DE", "FR", "IN", "US"}
    assert features["newsletter"].dropna().isin([0.0, 1.0]).all()
    assert features["visits"].min() >= 0 and features["visits"].max() == 100_000  # clipped later, per fold
    assert features["minutes_on_site"].between(1000, 3000).sum() >= 30  # "1,234" parsed as a number
    assert "role" in features and features["role"].isna().sum() == 25


def test_merge_spellings_keeps_the_most_frequent_variant() -> None:
    from leadml.data.clean import CleanReport

    report = CleanReport()
    values = pd.Series(["Google", "google", "Google", "GOOGLE", "Bing", None], dtype="str")
    merged = merge_spellings(values, "source", report)
    assert merged.tolist()[:5] == ["Google"] * 4 + ["Bing"] and pd.isna(merged.iloc[5])
    assert report.counts == {"source: values differing only in case merged": 2}


def test_excluded_columns_are_never_features_unless_asked_to_show_the_leak(export) -> None:
    raw, _, table = export
    honest = map_flat(raw, _mapping(), table=table)
    leaky = map_flat(raw, _mapping(), include_excluded=True, table=table)
    assert "sales_status" not in honest.features and "sales_status" in leaky.features
    assert honest.excluded == {"Sales Status": "written by sales after the outcome"}
    assert leaky.families["sales_status"] == "excluded"
    assert leaky.lead_id.equals(honest.lead_id) and leaky.labels.equals(honest.labels)


def test_unmapped_columns_are_never_read_and_personal_data_never_reported(export) -> None:
    raw, _, table = export
    leads = map_flat(raw, _mapping(), table=table)
    assert leads.ignored == ["E-mail", "Created"]
    assert not any("mail" in name for name in leads.features.columns)
    assert not any("@" in key for key in leads.report.counts)
    with_email = map_flat(raw, _mapping(columns={"lead_id": "Lead ID", "email": "E-mail"}), table=table)
    assert "email_domain" not in with_email.features  # example.com for everyone: one value, not a feature
    assert not with_email.features.astype("str").apply(lambda c: c.str.contains("@", na=False)).any().any()


def test_the_label_can_come_from_an_opportunities_file(tmp_path: Path) -> None:
    frame, _ = flat_export(n=300, seed=2)
    frame = frame.drop_duplicates("Lead ID", keep=False).dropna(subset=["Lead ID"])
    write_export(tmp_path, frame)
    won = frame.loc[frame["Outcome"] == "Won", ["Lead ID"]].rename(columns={"Lead ID": "lead"})
    pd.concat([won, pd.DataFrame({"lead": ["L99999"]})]).to_csv(tmp_path / "deals.csv", index=False)
    mapping = _mapping(label={"opportunities": "deals.csv", "lead_id": "lead"})
    raw, converted, table = read_flat(str(tmp_path), mapping)
    leads = map_flat(raw, mapping, converted, table=table)
    expected = leads.lead_id.isin(set(won["lead"])).astype("int64")
    assert leads.labels.equals(expected) and leads.labels.sum() == len(won)
    assert leads.report.counts["opportunities: lead ids matching no lead"] == 1
    assert "Outcome" in leads.ignored


def test_a_status_column_with_a_value_list_defines_the_label(export) -> None:
    raw, _, table = export
    leads = map_flat(raw, _mapping(label={"column": "Outcome", "positive": ["WON", "open"]}), table=table)
    assert not leads.rejects["reason"].str.contains("Outcome").any()
    outcome = raw.set_index("Lead ID").loc[leads.lead_id, "Outcome"]
    outcome = outcome[~outcome.index.duplicated()]
    assert leads.labels.to_numpy().tolist() == outcome.isin(["Won", "Open"]).astype(int).tolist()


def test_a_missing_mapped_column_names_the_table_and_suggests_a_name(export) -> None:
    raw, _, _ = export
    mapping = _mapping(features={"Visit": {"family": "engagement", "type": "numeric"}})
    with pytest.raises(DataError, match=r"table export\.csv: mapped column\(s\) not found: 'Visit' \(did you mean "
                                        r"'Visits'\?\)"):
        map_flat(raw, mapping, table="export.csv")
    with pytest.raises(DataError, match="'Sales State'"):
        map_flat(raw, _mapping(exclude={"Sales State": {"reason": "typo"}}), table="export.csv")


@pytest.mark.parametrize("mapping, match", [
    ({"columns": {"lead_id": "Lead ID", "phone": "Tel"}}, "not contract lead columns: phone"),
    ({"columns": {"source": "Signup Channel"}}, "columns.lead_id"),
    ({"label": {"column": "Outcome"}}, "label.positive"),
    ({"label": {"column": "Outcome", "positive": ["won"], "opportunities": "deals.csv"}}, "exactly one"),
    ({"exclude": {"Role": {"reason": "typed by sales"}}}, "'Role' in features, exclude"),
    ({"features": {"Visits": {"family": "intent", "type": "numeric"}}}, "family"),
    ({"layout": "nested"}, "layout"),
])
def test_bad_mappings_are_config_errors(tmp_path: Path, mapping: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        load_config(write_flat_config(tmp_path, **mapping), env={})


def test_feature_names_are_identifiers() -> None:
    assert feature_name("Total Time Spent on Website") == "total_time_spent_on_website"
    assert feature_name(" Do Not Email ") == "do_not_email"
    assert feature_name("2nd Visit") == "f_2nd_visit"


def test_a_feature_name_used_twice_is_an_error(export) -> None:
    raw, _, table = export
    mapping = _mapping(features={"Role": {"family": "fit", "type": "categorical", "name": "country"}})
    with pytest.raises(DataError, match="country used twice"):
        map_flat(raw, mapping, table=table)


def test_the_clipper_learns_its_bounds_on_training_rows_only() -> None:
    train = pd.DataFrame({"visits": np.arange(100, dtype="float64"), "flag": np.zeros(100)})
    clipper = ExtremeClipper(fence=1.0).fit(train, ["visits", "flag"])
    low, high = clipper.bounds_["visits"]
    assert "flag" not in clipper.bounds_  # no spread: nothing to clip
    test = pd.DataFrame({"visits": [5.0, 1e6, -1e6, np.nan], "flag": [0.0, 1.0, 0.0, 0.0]})
    assert clipper.outside(test) == {"visits": 2}
    clipped = clipper.transform(test)
    assert clipped["visits"].tolist()[:3] == [5.0, high, low] and np.isnan(clipped["visits"].iloc[3])
    assert test["visits"].iloc[1] == 1e6  # the input is left alone


def test_every_contract_fit_and_budget_feature_says_what_it_is_computed_from() -> None:
    names = {f.name for f in feature_catalog(Config().features) if f.family in ("fit", "budget")}
    assert set(DERIVED_FROM) == names


def test_parquet_with_real_number_types_maps_like_text(tmp_path: Path, export) -> None:
    raw, _, table = export
    typed = raw.copy()
    typed["Minutes On Site"] = pd.to_numeric(typed["Minutes On Site"].str.replace(",", ""), errors="coerce")
    typed.to_parquet(tmp_path / "export.parquet")
    mapping = _mapping(leads="export.parquet")
    from_parquet = map_flat(read_flat(str(tmp_path), mapping)[0], mapping, table=table)
    from_csv = map_flat(raw, _mapping(), table=table)
    pd.testing.assert_series_equal(from_parquet.features["minutes_on_site"], from_csv.features["minutes_on_site"])


def test_the_x_education_config_loads_and_excludes_the_sales_columns() -> None:
    config = load_config(ROOT / "configs" / "x_education.yaml", env={})
    assert config.mapping is not None and config.mapping.layout == "flat"
    assert {"Tags", "Lead Quality", "Lead Profile", "Last Notable Activity", "Asymmetrique Activity Index",
            "Asymmetrique Profile Index", "Asymmetrique Activity Score", "Asymmetrique Profile Score"} <= set(
        config.mapping.exclude)
    assert all(len(rule.reason) > 20 for rule in config.mapping.exclude.values())


def _european(raw: pd.DataFrame) -> pd.DataFrame:
    """The same export as a German spreadsheet writes it: no id column, decimal commas and currency text,
    text-month dates."""
    frame = raw.drop(columns=["Lead ID"]).copy()
    minutes = pd.to_numeric(frame["Minutes On Site"].str.replace(",", ""), errors="coerce")
    frame["Minutes On Site"] = minutes.map(lambda v: "" if pd.isna(v) else f"{v:,.1f} €".replace(",", "_")
                                           .replace(".", ",").replace("_", "."))
    frame["Created"] = pd.to_datetime(frame["Created"]).dt.strftime("%d %b, %Y %H:%M:%S")
    return frame


def test_a_semicolon_file_with_decimal_commas_text_dates_and_no_id_maps_like_the_plain_one(tmp_path: Path,
                                                                                            export) -> None:
    raw, _, table = export
    (tmp_path / "export.csv").write_bytes(_european(raw).to_csv(index=False, sep=";").encode("cp1252"))
    mapping = _mapping(columns={"lead_id": "@row", "source": "Signup Channel", "country": "Nation",
                                "created_at": "Created"}, dates={"Created": "%d %b, %Y %H:%M:%S"})
    european = map_flat(read_flat(str(tmp_path), mapping)[0], mapping, table=table)
    plain_mapping = _mapping(columns={"lead_id": "Lead ID", "source": "Signup Channel", "country": "Nation",
                                      "created_at": "Created"})
    plain = map_flat(raw, plain_mapping, table=table)
    assert european.read == plain.read and european.lead_id.iloc[0] == "1"  # the first data row
    assert european.features["minutes_on_site"].notna().sum() >= len(raw) - 10  # "1.234,0 €" parsed
    shared = [c for c in plain.features.columns if c != "minutes_on_site"]
    kept = european.lead_id.astype(int) - 1  # plain keeps other rows (its planted id conflicts): compare by row
    plain_rows = plain.features.set_index(raw.index[raw["Lead ID"].isin(plain.lead_id)
                                                    & ~raw.duplicated()][:len(plain.lead_id)])
    common = kept[kept.isin(plain_rows.index)]
    pd.testing.assert_frame_equal(european.features.loc[common.index, shared].reset_index(drop=True),
                                  plain_rows.loc[common, shared].reset_index(drop=True), check_dtype=False)
    assert (european.created_at.dt.date.to_numpy() == pd.to_datetime(raw["Created"]).iloc[kept].dt.date
            .to_numpy()).all()


def test_dates_that_do_not_parse_stop_with_the_setting_to_use(tmp_path: Path, export) -> None:
    raw, _, _ = export
    _european(raw).to_csv(tmp_path / "export.csv", index=False, sep=";")
    mapping = _mapping(columns={"lead_id": "@row", "created_at": "Created"})
    with pytest.raises(DataError, match=r"export.csv, column 'Created'.*e\.g\. '.*'.*mapping\.dates"):
        read_flat(str(tmp_path), mapping)
    with pytest.raises(ValueError, match="dates: 'Nation' is not the mapped date column"):
        _mapping(columns={"lead_id": "Lead ID", "created_at": "Created"}, dates={"Nation": "%Y"})
