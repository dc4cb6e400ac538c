"""No lift, no champion, end to end: conversions handed to random leads (when they happen is kept, who
converts is not) train a model that is registered without any alias, says "no lift" with its interval and
sample, exits 5, and leaves the champion where it was."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from tests.conftest import AS_OF, Trained, invoke, summary


def _conversions_to_random_leads(db) -> None:
    """Give every opportunity to a random lead created before it: the signal is gone, the base rate is not."""
    with duckdb.connect(str(db)) as con:
        leads = con.execute("SELECT lead_id, created_at FROM leads ORDER BY created_at").df()
        opportunities = con.execute("SELECT * FROM opportunities").df()
        rng = np.random.default_rng(0)
        before = np.searchsorted(leads["created_at"].to_numpy(), opportunities["created_at"].to_numpy())
        opportunities["lead_id"] = leads["lead_id"].to_numpy()[[rng.integers(0, max(1, n)) for n in before]]
        con.execute("DELETE FROM opportunities")
        con.register("shuffled", opportunities)
        con.execute("INSERT INTO opportunities SELECT * FROM shuffled")


def test_a_model_without_lift_is_registered_but_never_champion(trained: Trained) -> None:
    _conversions_to_random_leads(trained.db)
    shown = invoke("train", "--config", trained.config, "--as-of", AS_OF)
    assert shown.exit_code == 5, shown.output
    verdict = next(line for line in shown.output.splitlines() if line.startswith("verdict: "))
    assert verdict.startswith("verdict: no lift: ROC AUC 0.") and " test leads (" in verdict
    assert "promotion: not champion: no lift" in shown.output and "the champion stays version 1" in shown.output
    assert "MLflow run " in shown.output and "leadml (LightGBM)" in shown.output

    versions = {v["version"]: v for v in summary(invoke("models", "list", "--config", trained.config,
                                                        "--json"))["versions"]}
    assert versions[1]["aliases"] == ["champion"] or set(versions[1]["aliases"]) == {"champion", "challenger"}
    assert versions[2]["aliases"] == [] and versions[2]["verdict"].startswith("no lift: ROC AUC")
    lines = pd.Series(shown.output.splitlines())
    assert not lines.str.match(r"^\w+: [-\d.e]+$").any()  # the summary table, not raw key: value lines
