from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from leadml.config import FeaturesConfig, load_config
from leadml.data.clean import clean_tables
from leadml.data.contract import LeadTables
from leadml.features import build_features, feature_catalog
from leadml.features.budget import budget_features
from leadml.features.catalog import catalog_markdown
from leadml.features.engagement import CORE_TYPES, HIGH_INTENT
from leadml.features.fit import email_domain_class, parse_function, parse_seniority, size_band
from leadml.features.geography import normalise_countries
from leadml.features.spine import as_timestamp, build_spine

WINDOWS = (7, 30, 90)
SETTINGS = FeaturesConfig(windows_days=WINDOWS)


def brute_force(lead_id: str, as_of: pd.Timestamp, acts: pd.DataFrame) -> dict[str, float]:
    """Engagement features for one row, computed the slow and obvious way."""
    mine = acts[(acts["lead_id"] == lead_id) & (acts["occurred_at"] <= as_of)]
    kinds = mine["activity_type"].where(mine["activity_type"].isin(CORE_TYPES), "other")
    age = (as_of - mine["occurred_at"]) / pd.Timedelta(days=1)
    out = {}
    for kind in (*CORE_TYPES, "other"):
        for w in WINDOWS:
            out[f"n_{kind}_{w}d"] = float(((kinds == kind) & (age < w)).sum())
        out[f"n_{kind}_all"] = float((kinds == kind).sum())
    for w in WINDOWS:
        out[f"n_touches_{w}d"] = float((age < w).sum())
    out["n_touches_all"] = float(len(mine))
    out["days_since_last_touch"] = age.min() if len(mine) else np.nan
    out["days_since_first_touch"] = age.max() if len(mine) else np.nan
    high = age[mine["activity_type"].isin(HIGH_INTENT)]
    out["days_since_last_high_intent"] = high.min() if len(high) else np.nan
    trials = age[mine["activity_type"] == "free_trial_started"]
    out["days_since_trial_start"] = trials.min() if len(trials) else np.nan
    for h in SETTINGS.half_lives_days:
        weight = 2.0 ** (-age / h)
        for kind in (*CORE_TYPES, "other"):
            out[f"decayed_{kind}_{h}d"] = float(weight[kinds == kind].sum())
        out[f"decayed_high_intent_{h}d"] = float(weight[mine["activity_type"].isin(HIGH_INTENT)].sum())
    recent, before = (age < 14).sum(), ((age >= 14) & (age < 28)).sum()
    out["velocity_14d"], out["velocity_ratio_14d"] = float(recent - before), (recent + 1) / (before + 1)
    days = mine["occurred_at"].dt.floor("D")
    out["active_days_30d"] = float(days[age < 30].nunique())
    out["active_days_all"] = float(days.nunique())
    out["distinct_channels"] = float(mine["channel"].dropna().nunique())
    minutes = mine["value"].where(mine["activity_type"] == "product_login").fillna(0)
    out["product_minutes_30d"], out["product_minutes_all"] = float(minutes[age < 30].sum()), float(minutes.sum())
    opens, sent = out["n_email_open_all"], out["n_email_sent_all"]
    out["email_click_rate"] = out["n_email_click_all"] / opens if opens else np.nan
    out["email_reply_rate"] = out["n_email_reply_all"] / sent if sent else np.nan
    registered = out["n_webinar_registered_all"]
    out["webinar_attendance_rate"] = min(1, out["n_webinar_attended_all"] / registered) if registered else np.nan
    out["is_silent_60d"] = float(not len(mine) or age.min() > 60)
    return out


def test_engagement_matches_a_brute_force_count_at_several_cutoffs(tiny_tables) -> None:
    tables, _, _ = clean_tables(tiny_tables)
    cutoffs = [as_timestamp(t) for t in ("2025-06-01", "2026-01-15T12:00:00", "2026-10-01")]
    spine = build_spine(tables, cutoffs)
    matrix = build_features(spine, tables, SETTINGS)
    sample = spine.sample(60, random_state=1)
    for i, row in sample.iterrows():
        expected = brute_force(row["lead_id"], row["as_of"], tables.activities)
        got = matrix.loc[i, list(expected)].astype(float)
        np.testing.assert_allclose(got.to_numpy(), np.array(list(expected.values()), dtype=float),
                                   rtol=1e-9, atol=1e-9, err_msg=f"{row['lead_id']} at {row['as_of']}: "
                                   + str([k for k, g, e in zip(expected, got, expected.values(), strict=True)
                                          if not np.isclose(g, e, equal_nan=True)]))


def test_an_activity_exactly_at_T_counts_and_one_a_moment_later_does_not() -> None:
    T = as_timestamp("2026-05-01")
    leads = pd.DataFrame({"lead_id": ["a"], "created_at": [T - pd.Timedelta(days=10)], "source": "event",
                          "country": "de", "industry": "Software", "job_title": "CEO", "email": "a@acme.com",
                          "employees": 10.0, "annual_revenue": 1e6, "declared_budget": np.nan})
    acts = pd.DataFrame({"lead_id": ["a", "a", "a"],
                         "occurred_at": [T, T + pd.Timedelta(seconds=1), T + pd.Timedelta(milliseconds=300)],
                         "activity_type": ["demo_requested"] * 3, "channel": "web", "value": np.nan})
    opps = pd.DataFrame({"lead_id": pd.Series([], dtype="str"),
                         "created_at": pd.Series([], dtype="datetime64[us, UTC]")})
    tables = LeadTables(leads, acts, opps)
    matrix = build_features(build_spine(tables, [T]), tables, SETTINGS)
    assert matrix.loc[0, "n_demo_requested_7d"] == 1
    assert matrix.loc[0, "days_since_last_high_intent"] == 0
    assert matrix.loc[0, "lead_age_days"] == 10
    assert matrix.loc[0, "country"] == "DE" and matrix.loc[0, "industry"] == "software"
    assert matrix.loc[0, "email_domain"] == "business" and np.isnan(matrix.loc[0, "declared_budget"])


@pytest.mark.parametrize("title, level", [
    ("CEO", "c_level"), ("Chief Marketing Officer", "c_level"), ("Geschäftsführer", "c_level"),
    ("Geschaeftsfuehrerin", "c_level"), ("Managing Director", "c_level"), ("VP Sales", "vp"),
    ("Vice-President, Finance", "vp"), ("Director of IT", "director"), ("Dir. Marketing", "director"),
    ("Head of Marketing", "head"), ("Leiter Marketing", "head"), ("Bereichsleiter Vertrieb", "head"),
    ("Sr. Marketing Manager", "manager"), ("Teamleiter Personal", "manager"), ("marketing mgr", "manager"),
    ("Data Analyst", "individual"), ("Sachbearbeiter Finanzen", "individual"), ("Student", "student"),
    ("Werkstudent Marketing", "student"), ("Marketing Intern", "student"), ("", "unknown"), (None, "unknown"),
    ("  HEAD OF SALES ", "head"), ("Mr", "unknown"),
])
def test_seniority_from_messy_titles(title, level) -> None:
    assert parse_seniority(title) == level


def test_email_becomes_only_a_domain_class() -> None:
    kinds = email_domain_class(pd.Series(["Anna@GMAIL.com", "ben@acme.io", None, "broken"]))
    assert kinds.tolist()[:2] == ["freemail", "business"] and kinds.isna().tolist()[2:] == [True, True]


def test_catalog_declares_every_column_once_and_no_personal_data(tiny_tables) -> None:
    catalog = feature_catalog(SETTINGS)
    names = [f.name for f in catalog]
    assert len(names) == len(set(names))
    assert {f.family for f in catalog} == {"engagement", "fit", "budget"}
    tables, _, _ = clean_tables(tiny_tables)
    matrix = build_features(build_spine(tables, [as_timestamp("2026-06-01")]), tables, SETTINGS)
    assert list(matrix.columns) == names
    for personal in ("email", "company_name", "job_title", "lead_id"):
        assert personal not in matrix.columns
    emails = set(tiny_tables.leads["email"].dropna())
    assert not any(matrix[c].astype("str").isin(emails).any() for c in matrix.columns)


@pytest.mark.parametrize("title, function", [
    ("VP Marketing", "marketing"), ("Leiter Vertrieb", "sales"), ("Account Executive", "sales"),
    ("Software Developer", "it"), ("CTO", "it"), ("Head of Finance", "finance"), ("Controller", "finance"),
    ("Director of Operations", "operations"), ("HR Manager", "hr"), ("Geschäftsführer", "general_management"),
    ("Student", "unknown"), (None, "unknown"),
])
def test_function_from_messy_titles(title, function) -> None:
    assert parse_function(title) == function


@pytest.mark.parametrize("raw, code, region", [
    ("DE", "DE", "dach"), ("de ", "DE", "dach"), ("Germany", "DE", "dach"), ("Deutschland", "DE", "dach"),
    ("Schweiz", "CH", "dach"), ("USA", "US", "north_america"), ("United Kingdom", "GB", "europe"),
    ("UK", "GB", "europe"), ("BRA", "BR", "latin_america"), ("Japan", "JP", "asia_pacific"),
    ("South Africa", "ZA", "middle_east_africa"), ("Atlantis", None, None), ("", None, None),
])
def test_countries_become_codes_and_regions(raw, code, region) -> None:
    codes, regions = normalise_countries(pd.Series([raw], dtype="str"))
    assert (codes.iloc[0] if pd.notna(codes.iloc[0]) else None) == code
    assert (regions.iloc[0] if pd.notna(regions.iloc[0]) else None) == region


def test_size_and_budget_bands() -> None:
    bands = size_band(pd.Series([1, 10, 11, 250, 5001, np.nan]))
    assert bands.tolist()[:5] == ["1-10", "1-10", "11-50", "201-1000", "5000+"] and pd.isna(bands.iloc[5])
    leads = pd.DataFrame({"declared_budget": [0.0, 4999, 20_000, 1e6, np.nan, -5],
                          "annual_revenue": [1e6] * 6, "employees": [10.0] * 6})
    out = budget_features(leads)
    assert out["budget_band"].tolist()[:4] == ["under_5k", "under_5k", "5k-20k", "200k+"]
    assert out["budget_band"].isna().tolist()[4:] == [True, True]
    assert out["has_declared_budget"].tolist() == [1, 1, 1, 1, 0, 0]


def test_docs_features_md_is_generated_from_the_catalog() -> None:
    root = Path(__file__).resolve().parents[2]
    expected = catalog_markdown(load_config(root / "configs" / "default.yaml", env={}).features)
    actual = (root / "docs" / "features.md").read_text(encoding="utf-8")
    assert actual.strip() == expected.strip(), "docs/features.md is stale: run `make docs`"
    for feature in feature_catalog(load_config(root / "configs" / "default.yaml", env={}).features):
        assert f"`{feature.name}`" in actual and feature.description and feature.computed


def test_unknown_activity_types_count_as_other() -> None:
    T = as_timestamp("2026-05-01")
    leads = pd.DataFrame({"lead_id": ["a"], "created_at": [T - pd.Timedelta(days=3)], "source": "event",
                          "country": None, "industry": None, "job_title": None, "email": None,
                          "employees": np.nan, "annual_revenue": np.nan, "declared_budget": np.nan})
    acts = pd.DataFrame({"lead_id": ["a"] * 3, "occurred_at": [T - pd.Timedelta(days=1)] * 3,
                         "activity_type": ["chat_started", "podcast_listened", "web_visit"], "channel": None,
                         "value": np.nan})
    opps = pd.DataFrame({"lead_id": pd.Series([], dtype="str"),
                         "created_at": pd.Series([], dtype="datetime64[us, UTC]")})
    tables = LeadTables(leads, acts, opps)
    matrix = build_features(build_spine(tables, [T]), tables, SETTINGS)
    assert matrix.loc[0, "n_other_7d"] == 2 and matrix.loc[0, "n_web_visit_7d"] == 1
    assert matrix.loc[0, "n_touches_all"] == 3 and matrix.loc[0, "distinct_channels"] == 0
    assert matrix.loc[0, ["country", "region", "industry", "email_domain"]].isna().all()


def test_features_do_not_depend_on_which_leads_share_a_chunk(tiny_tables) -> None:
    """A lead's features are bit-identical whatever other leads its chunk (or Spark bucket) holds."""
    acts = tiny_tables.activities.assign(value=tiny_tables.activities["value"] * 1.37 + 0.013)  # fractional
    tables, _, _ = clean_tables(LeadTables(tiny_tables.leads, acts, tiny_tables.opportunities))
    cutoffs = [as_timestamp("2026-01-15T12:00:00"), as_timestamp("2026-10-01")]
    whole_spine = build_spine(tables, cutoffs)
    whole = pd.concat([whole_spine, build_features(whole_spine, tables, SETTINGS)], axis=1)
    parts = []
    ids = tables.leads["lead_id"].to_numpy()
    for members in (ids[::3], np.setdiff1d(ids, ids[::3])[::-1]):  # uneven split, reversed order
        part = LeadTables(*(t[t["lead_id"].isin(members)].iloc[::-1] for t in
                            (tables.leads, tables.activities, tables.opportunities)))
        spine = build_spine(part, cutoffs)
        parts.append(pd.concat([spine, build_features(spine, part, SETTINGS)], axis=1))
    split = pd.concat(parts).sort_values(["as_of", "lead_id"]).reset_index(drop=True)
    assert split["product_minutes_all"].mod(1).gt(0).any()  # the sums are of fractional minutes
    pd.testing.assert_frame_equal(split, whole.sort_values(["as_of", "lead_id"]).reset_index(drop=True),
                                  check_exact=True)
