"""The training snapshot's dataset input: the same name, digest, schema and profile as MLflow's own inference."""

import warnings

import mlflow
import numpy as np
import pandas as pd
import pytest

from leadml.tracking.dataset import pandas_digest, schema_sample, snapshot_dataset


def frame(rows: int = 3_000) -> pd.DataFrame:
    """Numbers, text, object and category columns; some missing only far past the first rows."""
    rng = np.random.default_rng(0)
    out = pd.DataFrame({
        "count": rng.poisson(2, rows).astype("float64"),
        "late_gap": np.where(np.arange(rows) == rows - 7, np.nan, 1.0),
        "whole": rng.integers(0, 5, rows),
        "region": pd.Series(rng.choice(["north", "south"], rows), dtype="str"),
        "source": pd.Series(rng.choice(["web", "event"], rows), dtype="str"),
        "mixed": pd.Series(rng.choice(["a", "b"], rows), dtype="object"),
        "band": pd.Categorical(rng.choice(["s", "m", "l"], rows)),
        "always_missing": np.full(rows, np.nan),
    })
    out.loc[rows - 3, "source"] = None  # text missing once, late: optional, and not a digest text column
    out.loc[rows - 5, "mixed"] = 3  # an object column that is not all text
    return out


@pytest.mark.parametrize(("rows", "describable"), [(3_000, True), (12_000, True), (3_000, False)])
def test_dataset_matches_mlflow(rows: int, describable: bool) -> None:
    data = frame(rows).drop(columns=["mixed"] if describable else [])  # MLflow gives a str-and-int column no schema
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = mlflow.data.from_pandas(data, name="snap").to_dict()
        got = snapshot_dataset(data, "snap").to_dict()
    assert got == expected
    assert (got["schema"] is not None) == describable
    if describable:
        assert '"name": "late_gap", "required": false' in got["schema"]
        assert '"name": "count", "required": true' in got["schema"]


def test_digest_changes_with_the_rows() -> None:
    data = frame()
    changed = data.copy()
    changed.loc[0, "count"] += 1
    assert pandas_digest(data) != pandas_digest(changed)


def test_schema_sample_keeps_a_missing_and_a_present_value_of_every_column() -> None:
    data = frame()
    sample = schema_sample(data, rows=10)
    assert sample["late_gap"].isna().any() and sample["source"].isna().any()
    assert len(sample) < 20
