"""Cases 1-6 of the robustness tally: broken tables, keys, types, times, categories and references.

Each case damages the clean base tables, writes them to DuckDB and to PostgreSQL (text columns, as a
CRM export that typed nothing), and scores. See docs/robustness.md for the tally.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.robustness.conftest import AS_OF, Tables, Workspace, assert_published, assert_refused, population

pytestmark = pytest.mark.slow
T = pd.Timestamp(AS_OF, tz="UTC")


def damaged(base: Tables, **changes: pd.DataFrame) -> Tables:
    return {name: changes.get(name, frame.copy()) for name, frame in base.items()}


def per_lead(leads: pd.DataFrame, values: list) -> list:
    """One of ``values`` per lead id, so that the duplicate rows of a lead stay identical."""
    codes = leads["lead_id"].rank(method="dense").astype("int64")
    return [values[code % len(values)] for code in codes]


def open_lead(base: Tables, n: int = 0) -> str:
    """The id of the n-th lead of the clean population at T."""
    return sorted(population(base))[n]


# 1. Tables ----------------------------------------------------------------------------------------

def test_empty_leads_table_is_refused(workspace: Workspace, base_tables: Tables) -> None:
    outcome = workspace.run_damaged(damaged(base_tables, leads=base_tables["leads"].head(0)))
    assert_refused(outcome, "population", "empty")


def test_empty_population_at_t_is_refused(workspace: Workspace, base_tables: Tables) -> None:
    leads = base_tables["leads"].assign(created_at=pd.Timestamp("2030-01-01", tz="UTC"))
    assert_refused(workspace.run_damaged(damaged(base_tables, leads=leads)), "population", "empty")


def test_one_lead_is_scored(workspace: Workspace, base_tables: Tables) -> None:
    lead = open_lead(base_tables)
    tables = {name: frame[frame["lead_id"] == lead] for name, frame in base_tables.items()}
    outcome = workspace.run_damaged(tables)
    assert_published(outcome)
    assert outcome.export["lead_id"].tolist() == [lead]


def test_no_activities_at_all_scores_every_lead(workspace: Workspace, base_tables: Tables) -> None:
    outcome = workspace.run_damaged(damaged(base_tables, activities=base_tables["activities"].head(0)))
    assert_published(outcome)
    assert set(outcome.export["lead_id"]) == population(base_tables)


@pytest.mark.parametrize("table, column", [("leads", "created_at"), ("leads", "lead_id"),
                                           ("activities", "occurred_at"), ("opportunities", "lead_id")])
def test_a_missing_required_column_is_refused(workspace: Workspace, base_tables: Tables, table: str,
                                              column: str) -> None:
    tables = damaged(base_tables, **{table: base_tables[table].drop(columns=column)})
    assert_refused(workspace.run_damaged(tables), f"table {table}", column)


def test_extra_columns_are_ignored_and_personal_data_goes_nowhere(workspace: Workspace, base_tables: Tables
                                                                  ) -> None:
    leads = base_tables["leads"].assign(first_name="Zebediah", notes="called twice, wants =HYPERLINK pricing",
                                        status="Closed-Won-Zz9")
    clean = workspace.run_damaged(base_tables)
    outcome = workspace.run_damaged(damaged(base_tables, leads=leads))
    assert_published(outcome)
    columns = ["lead_id", "probability", "reason_1", "risk_1"]
    assert outcome.export[columns].equals(clean.export[columns]), "extra columns changed the scores"
    everything = outcome.stdout + outcome.stderr + workspace.out.read_text() + "".join(
        p.read_text(errors="replace") for p in workspace.folder.glob("scores*"))
    emails = base_tables["leads"]["email"].dropna()  # read for the domain type only, never written anywhere
    assert len(emails) and not [e for e in emails if e in everything]
    for secret in ("Zebediah", "called twice", "Closed-Won-Zz9"):
        assert secret not in everything


def test_columns_in_another_order_score_the_same(workspace: Workspace, base_tables: Tables) -> None:
    clean = workspace.run_damaged(base_tables)
    reordered = {name: frame[frame.columns[::-1]] for name, frame in base_tables.items()}
    outcome = workspace.run_damaged(reordered)
    assert_published(outcome)
    assert np.allclose(outcome.export["probability"], clean.export["probability"], rtol=0, atol=1e-12)


# 2. Keys ------------------------------------------------------------------------------------------

def test_identical_duplicate_leads_are_scored_once(workspace: Workspace, base_tables: Tables) -> None:
    leads = pd.concat([base_tables["leads"], base_tables["leads"].head(20)], ignore_index=True)
    outcome = workspace.run_damaged(damaged(base_tables, leads=leads))
    assert_published(outcome)
    assert outcome.export["lead_id"].is_unique and set(outcome.export["lead_id"]) == population(base_tables)


def test_conflicting_duplicate_leads_are_rejected_with_the_reason(workspace: Workspace, base_tables: Tables
                                                                   ) -> None:
    lead = open_lead(base_tables)
    twin = base_tables["leads"][base_tables["leads"]["lead_id"] == lead].assign(industry="Somewhere else")
    outcome = workspace.run_damaged(damaged(base_tables, leads=pd.concat([base_tables["leads"], twin])))
    assert_published(outcome)
    reasons = dict(zip(outcome.rejects["lead_id"], outcome.rejects["reason"], strict=True))
    assert reasons == {lead: "duplicate lead_id with conflicting values"}
    assert lead not in set(outcome.export["lead_id"])


@pytest.mark.parametrize("bad_id", [None, "", "   "])
def test_leads_without_an_id_are_listed_in_the_rejects(workspace: Workspace, base_tables: Tables,
                                                       bad_id: str | None) -> None:
    leads = base_tables["leads"].astype({"lead_id": "object"})
    leads.loc[leads.index[:3], "lead_id"] = bad_id
    outcome = workspace.run_damaged(damaged(base_tables, leads=leads))
    assert_published(outcome)
    missing = outcome.rejects[outcome.rejects["reason"].str.contains("missing lead_id")]
    assert len(missing) == 3 and outcome.rejects["lead_id"].isna().sum() == 3


def test_ids_are_strings_end_to_end(workspace: Workspace, base_tables: Tables) -> None:
    old = [open_lead(base_tables, i) for i in range(4)]
    new = {old[0]: "001", old[1]: "1", old[2]: "  Лид-🙂 ", old[3]: "مرحبا-7"}
    tables = {name: frame.assign(lead_id=frame["lead_id"].replace(new)) for name, frame in base_tables.items()}
    outcome = workspace.run_damaged(tables)
    assert_published(outcome)
    assert {"001", "1", "Лид-🙂", "مرحبا-7"} <= set(outcome.export["lead_id"])
    assert {"001", "1", "Лид-🙂", "مرحبا-7"}.isdisjoint(set(outcome.rejects["lead_id"].dropna()))
    assert {"001", "1"} <= set(workspace.read_scores()["lead_id"])


# 3. Types -----------------------------------------------------------------------------------------

def test_numbers_as_text_absurd_values_and_yes_no_are_cleaned(workspace: Workspace, base_tables: Tables) -> None:
    leads = base_tables["leads"].astype({"employees": "object", "annual_revenue": "object",
                                         "declared_budget": "object"})
    values = ["1,200", "1.2k", "-1", "1e15", "inf", "yes", None, "  42 "]
    for column in ("employees", "annual_revenue", "declared_budget"):
        leads[column] = per_lead(leads, values)
    outcome = workspace.run_damaged(damaged(base_tables, leads=leads))
    assert_published(outcome)
    assert set(outcome.export["lead_id"]) == population(base_tables)
    manifest = (workspace.folder / "scores.manifest.json").read_text()
    assert "leads.employees: not a number, set missing" in manifest
    assert "leads.annual_revenue: infinite, negative or implausible, set missing" in manifest


def test_string_dtypes_where_the_model_saw_categories_score_the_same(tmp_path, model_dir, base_tables) -> None:
    from leadml.config import FeaturesConfig
    from leadml.data.contract import LeadTables
    from leadml.modeling.lead_model import LeadModel
    from leadml.scoring.population import population_matrix

    model = LeadModel.load(model_dir)
    _, matrix = population_matrix(LeadTables(**base_tables), T, FeaturesConfig())
    as_text = matrix.astype({name: "string" for name in model.spec.categories})
    as_object = matrix.astype({name: "object" for name in model.spec.categories})
    expected = model.predict_proba(matrix)
    assert np.array_equal(model.predict_proba(as_text), expected)
    assert np.array_equal(model.predict_proba(as_object), expected)
    assert np.array_equal(model.predict_proba(matrix[matrix.columns[::-1]]), expected)


# 4. Time ------------------------------------------------------------------------------------------

def test_mixed_zones_unparseable_and_extreme_times(workspace: Workspace, base_tables: Tables) -> None:
    leads = base_tables["leads"].copy()
    stamps = leads["created_at"]
    formats = [lambda t: t.strftime("%Y-%m-%d %H:%M:%S"),                      # naive: taken as UTC
               lambda t: t.isoformat(),                                         # UTC
               lambda t: t.tz_convert("America/New_York").isoformat(),          # offset
               lambda t: t.tz_convert("Europe/Berlin").strftime("%Y-%m-%dT%H:%M:%S%z")]
    leads["created_at"] = [formats[i % 4](t) for i, t in enumerate(stamps)]
    bad = sorted(population(base_tables))[:2]
    leads.loc[leads["lead_id"] == bad[0], "created_at"] = "last tuesday"
    leads.loc[leads["lead_id"] == bad[1], "created_at"] = "2026-02-30T10:00:00"
    activities = base_tables["activities"].astype({"occurred_at": "object"})
    activities["occurred_at"] = activities["occurred_at"].map(lambda t: t.isoformat())
    activities.loc[activities.index[:5], "occurred_at"] = ["1900-01-01T00:00:00Z", "2999-01-01T00:00:00Z",
                                                           "not a time", "", "2026-03-29T02:30:00+02:00"]
    outcome = workspace.run_damaged(damaged(base_tables, leads=leads, activities=activities))
    assert_published(outcome)
    reasons = dict(zip(outcome.rejects["lead_id"], outcome.rejects["reason"], strict=True))
    assert reasons == {bad[0]: "missing or unparseable created_at", bad[1]: "missing or unparseable created_at"}
    assert set(outcome.export["lead_id"]) == population(base_tables) - set(bad)


def test_created_after_t_is_not_scored_and_an_opportunity_at_t_is_known(workspace: Workspace,
                                                                         base_tables: Tables) -> None:
    late, converted = open_lead(base_tables, 0), open_lead(base_tables, 1)
    leads = base_tables["leads"].copy()
    leads.loc[leads["lead_id"] == late, "created_at"] = T + pd.Timedelta(microseconds=1)
    opportunity = pd.DataFrame({"opportunity_id": ["o-at-t"], "lead_id": [converted], "created_at": [T],
                                "amount": [1000.0]})
    opportunities = pd.concat([base_tables["opportunities"], opportunity], ignore_index=True)
    outcome = workspace.run_damaged(damaged(base_tables, leads=leads, opportunities=opportunities))
    assert_published(outcome)
    assert late not in set(outcome.export["lead_id"]) and converted not in set(outcome.export["lead_id"])
    assert len(outcome.export) == len(population(base_tables)) - 2


def test_activities_before_the_lead_was_created_do_not_break_scoring(workspace: Workspace,
                                                                     base_tables: Tables) -> None:
    activities = base_tables["activities"].copy()
    activities["occurred_at"] = activities["occurred_at"] - pd.Timedelta(days=3650)
    outcome = workspace.run_damaged(damaged(base_tables, activities=activities))
    assert_published(outcome)
    assert set(outcome.export["lead_id"]) == population(base_tables)


# 5. Categories ------------------------------------------------------------------------------------

def test_unseen_variant_placeholder_and_high_cardinality_categories(workspace: Workspace,
                                                                    base_tables: Tables) -> None:
    leads = base_tables["leads"].copy()
    leads["industry"] = per_lead(leads, ["  SOFTWARE ", "software", "Never Seen Industry", "nan", "None", "Select"])
    leads["source"] = per_lead(leads, ["Select", "WEBINAR ", "carrier pigeon"])
    leads["job_title"] = "Chief Unique Officer " + leads["lead_id"]
    outcome = workspace.run_damaged(damaged(base_tables, leads=leads))
    assert_published(outcome)
    assert set(outcome.export["lead_id"]) == population(base_tables)
    assert outcome.export["probability"].notna().all()


def test_category_spellings_agree(model_dir, base_tables: Tables) -> None:
    from leadml.config import FeaturesConfig
    from leadml.data.contract import LeadTables
    from leadml.modeling.lead_model import LeadModel
    from leadml.scoring.population import population_matrix

    model = LeadModel.load(model_dir)
    base = LeadTables(**base_tables)
    variant = LeadTables(**damaged(base_tables, leads=base_tables["leads"].assign(
        industry=base_tables["leads"]["industry"].str.upper() + "  ")))
    _, clean = population_matrix(base, T, FeaturesConfig())
    _, noisy = population_matrix(variant, T, FeaturesConfig())
    assert np.array_equal(model.predict_proba(clean), model.predict_proba(noisy))


# 6. References ------------------------------------------------------------------------------------

def test_histories_of_unknown_leads_are_dropped_and_counted(workspace: Workspace, base_tables: Tables) -> None:
    ghost_activities = base_tables["activities"].head(7).assign(lead_id="ghost")
    ghost_opportunity = base_tables["opportunities"].head(1).assign(lead_id="ghost", opportunity_id="og")
    outcome = workspace.run_damaged(damaged(
        base_tables, activities=pd.concat([base_tables["activities"], ghost_activities]),
        opportunities=pd.concat([base_tables["opportunities"], ghost_opportunity])))
    assert_published(outcome)
    manifest = (workspace.folder / "scores.manifest.json").read_text()
    assert '"activities: rows for unknown leads": 7' in manifest
    assert '"opportunities: rows for unknown leads": 1' in manifest
    assert "ghost" not in set(outcome.export["lead_id"]) | set(outcome.rejects["lead_id"].dropna())


def test_the_first_opportunity_counts_even_before_the_lead_existed(workspace: Workspace,
                                                                   base_tables: Tables) -> None:
    early, later = open_lead(base_tables, 0), open_lead(base_tables, 1)
    created = base_tables["leads"].set_index("lead_id")["created_at"]
    extra = pd.DataFrame({"opportunity_id": ["before-lead", "after-t-1", "after-t-2"],
                          "lead_id": [early, later, later],
                          "created_at": [created[early] - pd.Timedelta(days=5), T + pd.Timedelta(days=1),
                                         T + pd.Timedelta(days=9)],
                          "amount": [1.0, 2.0, 3.0]})
    outcome = workspace.run_damaged(damaged(
        base_tables, opportunities=pd.concat([base_tables["opportunities"], extra], ignore_index=True)))
    assert_published(outcome)
    assert early not in set(outcome.export["lead_id"])   # converted (before it existed): not open at T
    assert later in set(outcome.export["lead_id"])        # its opportunities come after T: still open
