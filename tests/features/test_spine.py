import pandas as pd
import pytest

from leadml.data.contract import LeadTables
from leadml.features.spine import as_timestamp, build_spine, label, training_cutoffs, truncate

T = as_timestamp("2026-06-01")
H = 30


def world() -> LeadTables:
    leads = pd.DataFrame({"lead_id": ["new", "old", "future", "won_before", "won_at_T", "won_inside",
                                      "won_at_edge", "won_after"],
                          "created_at": pd.to_datetime(["2026-05-31", "2025-01-01", "2026-06-01 00:00:01",
                                                        "2026-01-01", "2026-01-01", "2026-01-01",
                                                        "2026-01-01", "2026-01-01"], utc=True, format="ISO8601")})
    opportunities = pd.DataFrame({
        "lead_id": ["won_before", "won_at_T", "won_inside", "won_inside", "won_at_edge", "won_after"],
        "created_at": [T - pd.Timedelta(days=3), T, T + pd.Timedelta(days=5), T + pd.Timedelta(days=2),
                       T + pd.Timedelta(days=H), T + pd.Timedelta(days=H, seconds=1)]})
    empty = pd.DataFrame({"lead_id": pd.Series([], dtype="str"),
                          "occurred_at": pd.Series([], dtype="datetime64[us, UTC]"),
                          "activity_type": pd.Series([], dtype="str")})
    return LeadTables(leads, empty, opportunities)


def test_population_follows_the_contract() -> None:
    spine = build_spine(world(), [T])
    # created at or before T, and no opportunity at or before T (an opportunity exactly at T converts)
    assert sorted(spine["lead_id"]) == ["new", "old", "won_after", "won_at_edge", "won_inside"]
    assert (spine["as_of"] == T).all()


def test_label_window_is_open_at_T_and_closed_at_T_plus_horizon() -> None:
    tables = world()
    spine = build_spine(tables, [T])
    labels = dict(zip(spine["lead_id"], label(spine, tables.opportunities, H), strict=True))
    assert labels == {"new": 0, "old": 0, "won_inside": 1, "won_at_edge": 1, "won_after": 0}


def test_first_opportunity_counts() -> None:
    tables = world()
    spine = build_spine(tables, [T + pd.Timedelta(days=3)])
    assert "won_inside" not in set(spine["lead_id"])  # its first opportunity was on day 2


def test_truncate_drops_everything_after_T() -> None:
    known = truncate(world(), T)
    assert known.leads["created_at"].max() <= T and known.opportunities["created_at"].max() <= T
    assert "future" not in set(known.leads["lead_id"])


def test_training_cutoffs_are_ordered_and_label_windows_never_overlap_a_later_split() -> None:
    as_of = as_timestamp("2026-11-01")
    cuts = training_cutoffs(as_of, 30, 12, "monthly")
    horizon = pd.Timedelta(days=30)
    assert len(cuts["train"]) == 12 and cuts["train"] == sorted(cuts["train"])
    assert max(cuts["train"]) + horizon <= cuts["validation"][0]
    assert cuts["validation"][0] + horizon <= cuts["holdout"][0]
    assert cuts["holdout"][0] + horizon <= as_of


@pytest.mark.parametrize("value, expected", [
    ("2026-03-01", "2026-03-01 00:00:00+00:00"),
    ("2026-03-01T10:00:00+02:00", "2026-03-01 08:00:00+00:00"),
    ("2026-03-01T10:00:00", "2026-03-01 10:00:00+00:00"),
])
def test_as_of_parsing(value: str, expected: str) -> None:
    assert str(as_timestamp(value)) == expected
