import pandas as pd

from leadml.data.contract import ACTIVITY_COLUMNS, LEAD_COLUMNS, OPPORTUNITY_COLUMNS
from leadml.data.demo_generator import GenerateSpec, generate_chunks

END = pd.Timestamp("2026-11-01", tz="UTC")


def _concat(spec: GenerateSpec):
    chunks = list(generate_chunks(spec))
    return {name: pd.concat([c.table(name) for c in chunks], ignore_index=True)
            for name in ("leads", "activities", "opportunities")}


def test_same_seed_same_data_other_seed_other_data() -> None:
    spec = GenerateSpec(leads=1500, seed=11, end=END, chunk_size=500)
    first, again = _concat(spec), _concat(spec)
    for name in first:
        pd.testing.assert_frame_equal(first[name], again[name])
    other = _concat(GenerateSpec(leads=1500, seed=12, end=END, chunk_size=500))
    assert not first["activities"].equals(other["activities"])


def test_follows_the_contract_and_is_realistic(tiny_tables) -> None:
    leads, acts, opps = tiny_tables.leads, tiny_tables.activities, tiny_tables.opportunities
    assert set(LEAD_COLUMNS) <= set(leads.columns)
    assert set(ACTIVITY_COLUMNS) - {"activity_id"} <= set(acts.columns)  # the id is optional
    assert set(OPPORTUNITY_COLUMNS) <= set(opps.columns)
    assert str(leads["created_at"].dt.tz) == "UTC" and leads["lead_id"].dtype == "str"
    span = (leads["created_at"].max() - leads["created_at"].min()) / pd.Timedelta(days=1)
    assert 600 < span <= 730
    converted = opps["lead_id"].nunique() / leads["lead_id"].nunique()
    assert 0.05 <= converted <= 0.15
    assert acts["occurred_at"].max() < END and opps["created_at"].max() < END


def test_data_is_messy_like_a_crm(tiny_tables) -> None:
    leads, acts = tiny_tables.leads, tiny_tables.activities
    assert leads.duplicated().any(), "some leads are written twice"
    assert acts.duplicated().any(), "some activities are written twice"
    assert (~leads["lead_id"].isin(acts["lead_id"])).any(), "some leads have no activity"
    assert leads["declared_budget"].isna().mean() > 0.3
    titles = leads["job_title"].dropna()
    assert titles.str.contains("Geschäftsführer|Leiter", regex=True).any()
    assert (titles != titles.str.strip()).any() or titles.str.islower().any()


def test_buyers_engage_more_before_converting(tiny_tables) -> None:
    acts, opps = tiny_tables.activities, tiny_tables.opportunities
    demo = acts[acts["activity_type"].isin(["demo_requested", "pricing_page_view", "meeting_booked"])]
    buyers = set(opps["lead_id"])
    rate_buyers = demo["lead_id"].isin(buyers).sum() / len(buyers)
    others = tiny_tables.leads["lead_id"].nunique() - len(buyers)
    rate_others = (~demo["lead_id"].isin(buyers)).sum() / others
    assert rate_buyers > 3 * rate_others
