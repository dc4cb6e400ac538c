"""Grade policies: floors give a grade a chance, capacity gives A exactly the N best leads, shares the best x%."""

import numpy as np
import pandas as pd
import pytest

from leadml.config import GradesConfig
from leadml.modeling.grading import assign_grades, grade_table, rank_counts
from tests.conftest import AS_OF, Trained, invoke, summary, write_config

CAPACITY = GradesConfig(policy="capacity", capacity={"A": 25, "B": 50, "C": 100, "D": None})


def test_capacity_gives_exactly_n_leads_to_each_grade_even_among_ties() -> None:
    probability = np.round(np.random.default_rng(1).uniform(0, 0.05, 1000), 2)  # a few values, many ties
    grades = pd.Series(assign_grades(probability, CAPACITY)).value_counts()
    assert grades.to_dict() == {"A": 25, "B": 50, "C": 100, "D": 825}
    best = assign_grades(probability, CAPACITY) == "A"
    assert probability[best].min() >= probability[~best].max()


def test_capacity_larger_than_the_population_leaves_the_lower_grades_empty() -> None:
    assert list(assign_grades(np.array([0.3, 0.1, 0.2]), CAPACITY)) == ["A", "A", "A"]
    assert rank_counts(CAPACITY, 60) == {"A": 25, "B": 35, "C": 0, "D": 0}


def test_shares_follow_the_population_and_add_up() -> None:
    shares = GradesConfig(policy="shares", shares={"A": 0.05, "B": 0.15, "C": 0.30, "D": None})
    probability = np.random.default_rng(2).uniform(size=1001)
    counts = pd.Series(assign_grades(probability, shares)).value_counts().to_dict()
    assert counts == {"A": 50, "B": 150, "C": 301, "D": 500}  # 500.5 rounds half up


def test_ranks_break_ties_the_way_the_export_ranks() -> None:
    probability = np.array([0.5, 0.5, 0.5, 0.1])
    ranks = np.array([3, 1, 2, 4])
    one = GradesConfig(policy="capacity", capacity={"A": 1, "B": None})
    assert list(assign_grades(probability, one, ranks)) == ["B", "A", "B", "B"]


def test_floors_are_the_default_and_a_low_base_rate_puts_every_lead_in_the_last_grade() -> None:
    probability = np.full(500, 0.01)
    assert set(assign_grades(probability, GradesConfig())) == {"D"}
    table = grade_table(np.zeros(500), probability, CAPACITY)
    assert table["rows"].tolist() == [25, 50, 100, 325] and table["bound"].iloc[0] == 25


def test_scoring_by_capacity_gives_exactly_n_a_leads(trained: Trained, tmp_path) -> None:
    write_config(trained.folder, grades={"policy": "capacity", "capacity": {"A": 37, "B": 100, "C": None}})
    scored = summary(invoke("score", "--config", trained.config, "--as-of", AS_OF, "--out", tmp_path / "s.csv",
                            "--json"))
    export = pd.read_csv(scored["out"], dtype={"lead_id": "str"})
    assert scored["grades"]["A"] == 37 and (export["grade"] == "A").sum() == 37
    assert set(export.loc[export["rank"] <= 37, "grade"]) == {"A"}
    assert set(export.loc[export["rank"] > 137, "grade"]) == {"C"}
    write_config(trained.folder)  # the config changed back: the report still says how these scores were graded
    page = tmp_path / "report.html"
    summary(invoke("report", "--config", trained.config, "--export", scored["out"], "--out", page, "--json"))
    assert "Grades by sales capacity" in page.read_text(encoding="utf-8")


@pytest.mark.parametrize("policy", ["capacity", "shares"])
def test_a_rank_policy_needs_the_rest_as_its_last_grade(policy: str) -> None:
    with pytest.raises(ValueError, match=f"grades.{policy}"):
        GradesConfig(policy=policy, **{policy: {"A": 1, "B": 2}})
