"""The demo generator's hidden state and its oracle: the true probability of converting within the horizon."""

import duckdb
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from leadml.data.clean import clean_tables
from leadml.data.contract import COLUMNS, LeadTables
from leadml.data.demo_generator import (
    GenerateSpec,
    HiddenState,
    generate_chunks,
    generate_with_hidden,
)
from leadml.data.demo_oracle import oracle_probability
from leadml.data.sources import open_source, write_database
from leadml.features.spine import build_spine, label

END = pd.Timestamp("2026-11-01", tz="UTC")
SPEC = GenerateSpec(leads=6000, seed=3, end=END, chunk_size=3000)
CUTOFFS = pd.date_range("2026-04-01", "2026-10-01", freq="MS", tz="UTC")
HIGH_INTENT = ["demo_requested", "meeting_booked", "pricing_page_view"]


@pytest.fixture(scope="module")
def world() -> tuple[LeadTables, HiddenState]:
    pairs = list(generate_with_hidden(SPEC))
    tables = LeadTables(*(pd.concat([t.table(name) for t, _ in pairs], ignore_index=True)
                          for name in ("leads", "activities", "opportunities")))
    return clean_tables(tables)[0], HiddenState.concat(h for _, h in pairs)


@pytest.fixture(scope="module")
def scored(world) -> pd.DataFrame:
    """The population at each cutoff with its realised label, the oracle and a simple heuristic."""
    tables, hidden = world
    frames = []
    for cutoff in CUTOFFS:
        spine = build_spine(tables, [cutoff])
        recent = tables.activities[tables.activities["activity_type"].isin(HIGH_INTENT)
                                   & (tables.activities["occurred_at"] <= cutoff)
                                   & (tables.activities["occurred_at"] > cutoff - pd.Timedelta(days=30))]
        frames.append(spine.assign(
            label=label(spine, tables.opportunities, 30).to_numpy(),
            oracle=oracle_probability(hidden, cutoff, 30).reindex(spine["lead_id"]).to_numpy(),
            heuristic=recent.groupby("lead_id").size().reindex(spine["lead_id"], fill_value=0).to_numpy()))
    return pd.concat(frames, ignore_index=True)


def test_the_oracle_is_a_probability_not_the_label(scored, world) -> None:
    oracle = scored["oracle"]
    assert oracle.notna().all() and oracle.between(0, 1).all()
    converted = oracle[scored["label"] == 1]
    assert converted.lt(0.5).mean() > 0.2, "many conversions were not foreseeable: the oracle is no label"
    hidden = world[1]
    before_creation = hidden.leads["created_at"] > CUTOFFS[0]
    assert oracle_probability(hidden, CUTOFFS[0], 30)[before_creation.to_numpy()].isna().all()


def test_the_oracle_ranks_well_above_chance_and_a_heuristic_and_is_calibrated(scored) -> None:
    y, oracle = scored["label"].to_numpy(), scored["oracle"].to_numpy()
    assert y.sum() >= 150
    oracle_auc, heuristic_auc = roc_auc_score(y, oracle), roc_auc_score(y, scored["heuristic"])
    assert oracle_auc > 0.85
    assert oracle_auc > heuristic_auc + 0.05, (oracle_auc, heuristic_auc)
    # the expected number of conversions matches the realised one within four standard deviations
    assert abs(oracle.sum() - y.sum()) < 4 * np.sqrt((oracle * (1 - oracle)).sum())


def test_the_hidden_state_never_reaches_the_contract_tables(tmp_path) -> None:
    small = GenerateSpec(leads=1500, seed=4, end=END, chunk_size=500)
    pairs = list(generate_with_hidden(small))
    for (with_hidden, _), plain in zip(pairs, generate_chunks(small), strict=True):  # the very same draws
        for name in COLUMNS:
            pd.testing.assert_frame_equal(with_hidden.table(name), plain.table(name))
    secret = set(pairs[0][1].leads.columns) - {"lead_id", "created_at"}
    assert secret == {"logit", "interest", "burst_share"}
    out = tmp_path / "demo.duckdb"
    write_database((t for t, _ in pairs), out, "duckdb")
    with duckdb.connect(str(out), read_only=True) as con:
        stored = {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert stored == set(COLUMNS), "the database holds the contract's tables and nothing else"
    with open_source(out) as source:
        read = source.read_all()
    for name, columns in COLUMNS.items():
        assert set(read.table(name).columns) <= set(columns)
        assert not secret & set(pairs[0][0].table(name).columns)
