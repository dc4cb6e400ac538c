"""Case 11: random small lead databases with random defects; the invariants hold for every one."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import invoke, write_config
from tests.robustness.conftest import AS_OF, Tables, population, write_duckdb

pytestmark = pytest.mark.slow
SECRET = "fuzz-person@private.example"


def _set(tables: Tables, table: str, column: str, picks: list[int], value: object) -> None:
    frame = tables[table].astype({column: "object"})
    if len(frame):
        frame.loc[frame.index[[p % len(frame) for p in picks]], column] = value
    tables[table] = frame


def _rename(tables: Tables, picks: list[int], new: str) -> None:
    old = tables["leads"]["lead_id"].iloc[picks[0] % len(tables["leads"])]
    for name, frame in tables.items():
        tables[name] = frame.assign(lead_id=frame["lead_id"].astype("object").replace({old: new}))


def _append(tables: Tables, table: str, rows: pd.DataFrame) -> None:
    tables[table] = pd.concat([tables[table], rows], ignore_index=True)


DEFECTS = {
    "no id": lambda t, p: _set(t, "leads", "lead_id", p, None),
    "conflicting duplicate": lambda t, p: _append(t, "leads", t["leads"].iloc[[p[0] % len(t["leads"])]].assign(
        industry="Other")),
    "text numbers": lambda t, p: _set(t, "leads", "employees", list(range(len(t["leads"]))),
                                      ["1,200", "1.2k", "-1", "inf", "1e15"][p[0] % 5]),
    "bad timestamps": lambda t, p: _set(t, "leads", "created_at", p, "not a time"),
    "future leads": lambda t, p: _set(t, "leads", "created_at", p, "2031-01-01T00:00:00+05:00"),
    "unknown leads": lambda t, p: _append(t, "activities", t["activities"].head(5).assign(lead_id="nobody")),
    "hostile ids": lambda t, p: _rename(t, p, "=1+1 Лид 🙂"),
    "no activities": lambda t, p: t.__setitem__("activities", t["activities"].head(0)),
    "placeholders": lambda t, p: _set(t, "leads", "industry", list(range(len(t["leads"]))),
                                      ["Select", "nan", " NONE ", "x"][p[0] % 4]),
}


@st.composite
def damaged_tables(draw: st.DrawFn, base: Tables) -> tuple[Tables, list[str]]:
    ids = sorted(base["leads"]["lead_id"])
    chosen = set(draw(st.lists(st.sampled_from(ids), min_size=1, max_size=25, unique=True)))
    tables = {n: f[f["lead_id"].isin(chosen)].reset_index(drop=True).astype(
        {"created_at": "object"} if n == "leads" else {}) for n, f in base.items()}
    tables["leads"]["email"] = SECRET
    names = draw(st.lists(st.sampled_from(sorted(DEFECTS)), max_size=4, unique=True))
    for name in names:
        picks = draw(st.lists(st.integers(0, 1000), min_size=1, max_size=3))
        DEFECTS[name](tables, picks)
    return tables, names


@pytest.fixture(scope="module")
def fuzz_base(base_tables: Tables) -> Tables:
    return base_tables


def test_random_defects_keep_the_invariants(model_dir: Path, fuzz_base: Tables) -> None:
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(damaged_tables(fuzz_base))
    def check(case: tuple[Tables, list[str]]) -> None:
        tables, defects = case
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            config = write_config(folder)
            write_duckdb(folder / "leads.duckdb", tables)
            out = folder / "scores.csv"
            result = invoke("score", "--config", str(config), "--data", str(folder / "leads.duckdb"),
                            "--as-of", AS_OF, "--out", str(out), "--model", str(model_dir),
                            "--write-back", "--json")
            texts = result.output + "".join(p.read_text(errors="replace") for p in folder.glob("scores*"))
            assert SECRET not in texts and "private.example" not in texts, defects
            expected = population(tables)
            if result.exit_code != 0:  # honest: only a clear error, only for an empty population
                errors = [line for line in result.stderr.splitlines() if line.startswith("leadml: error:")]
                assert result.exit_code == 1 and len(errors) == 1, (defects, result.output)
                assert not expected and not out.exists(), defects
                return
            summary = json.loads(result.stdout.strip().splitlines()[-1])
            export = pd.read_csv(out, dtype={"lead_id": "str"}, keep_default_na=False, na_values=[""])
            rejects = pd.read_csv(summary["rejects"], dtype={"lead_id": "str"}, keep_default_na=False,
                                  na_values=[""])
            assert summary["population"] == len(export) + len(rejects) > 0, defects
            plain = export["lead_id"].where(~export["lead_id"].str.startswith("'"), export["lead_id"].str[1:])
            assert set(plain) == expected and plain.is_unique, defects
            assert not set(plain) & set(rejects["lead_id"].dropna()), defects
            probability = export["probability"].to_numpy(dtype="float64")
            assert np.isfinite(probability).all() and ((probability >= 0) & (probability <= 1)).all(), defects

    check()
