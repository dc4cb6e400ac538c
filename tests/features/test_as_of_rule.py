"""Property: rows after T never change a feature or the population at T."""

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadml.config import FeaturesConfig
from leadml.data.contract import LeadTables
from leadml.features import build_features
from leadml.features.engagement import CORE_TYPES
from leadml.features.spine import as_timestamp, build_spine, truncate

BASE = as_timestamp("2026-01-01")
TYPES = (*CORE_TYPES[:8], "something_new")


def _db(n_leads: int, n_acts: int, n_opps: int, lo: float, hi: float | None, seed: int) -> LeadTables:
    """A random database with timestamps in [lo, hi] days after BASE, or, without hi, just after lo."""
    rng = np.random.default_rng(seed)
    ids = [f"{i:03d}" for i in range(n_leads)]
    def times(n):
        days = rng.uniform(lo, hi, n) if hi is not None else lo + 1e-5 + rng.exponential(1.0, n)
        return BASE + pd.to_timedelta(np.round(days * 86400), unit="s")
    leads = pd.DataFrame({"lead_id": pd.array(ids, dtype="str"), "created_at": times(n_leads),
                          "source": pd.array(rng.choice(["webinar", "event", None], n_leads), dtype="str"),
                          "country": "DE", "industry": "software", "job_title": "Head of Sales",
                          "email": "x@gmail.com", "employees": rng.integers(1, 500, n_leads).astype(float),
                          "annual_revenue": np.nan, "declared_budget": 1000.0})
    acts = pd.DataFrame({"lead_id": pd.array(rng.choice(ids, n_acts), dtype="str"), "occurred_at": times(n_acts),
                         "activity_type": pd.array(rng.choice(TYPES, n_acts), dtype="str"),
                         "channel": "web", "value": 1.0})
    opps = pd.DataFrame({"opportunity_id": "o", "lead_id": pd.array(rng.choice(ids, n_opps), dtype="str"),
                         "created_at": times(n_opps), "amount": 1.0})
    return LeadTables(leads, acts, opps)


def _concat(a: LeadTables, b: LeadTables) -> LeadTables:
    return LeadTables(*(pd.concat([a.table(n), b.table(n)], ignore_index=True)
                        for n in ("leads", "activities", "opportunities")))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31), cut=st.floats(5, 200), n_leads=st.integers(1, 25),
       n_acts=st.integers(0, 120), n_opps=st.integers(0, 8), windows=st.sampled_from([(7, 30, 90), (1, 14)]),
       half_lives=st.sampled_from([(7, 30), (2,)]))
def test_rows_after_T_change_nothing_at_T(seed, cut, n_leads, n_acts, n_opps, windows, half_lives) -> None:
    settings = FeaturesConfig(windows_days=windows, half_lives_days=half_lives)
    T = BASE + pd.Timedelta(days=cut)
    past = _db(n_leads, n_acts, n_opps, 0, cut, seed)
    future_rows = _db(n_leads, n_acts, n_opps, cut, None, seed + 1)  # mostly within a day after T
    # the future holds new activities and opportunities of the same leads, and brand-new leads
    future = LeadTables(future_rows.leads.assign(lead_id=lambda f: "new" + f["lead_id"]),
                        future_rows.activities, future_rows.opportunities)
    grown = _concat(past, future)

    spine_past, spine_grown = build_spine(past, [T]), build_spine(grown, [T])
    pd.testing.assert_frame_equal(spine_past, spine_grown)
    features_past = build_features(spine_past, past, settings)
    features_grown = build_features(spine_grown, grown, settings)
    pd.testing.assert_frame_equal(features_past, features_grown)
    # truncating the grown database at T gives the same features again
    known = truncate(grown, T)
    pd.testing.assert_frame_equal(build_features(build_spine(known, [T]), known, settings), features_past)
