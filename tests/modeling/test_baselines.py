"""The logistic baseline: the integer codes and np.median it uses give the model of one-hot text and
SimpleImputer's median, the plain scikit-learn pipeline in single precision, to the last digits."""

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from leadml.modeling.baselines import NEWTON_MAX_COLUMNS, LogisticBaseline, _signed_log


def leads(rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "touches": np.where(rng.random(rows) < 0.1, np.nan, rng.poisson(3, rows)).astype("float64"),
        "budget": rng.lognormal(10, 1, rows),
        "never_known": np.full(rows, np.nan),
        "region": pd.Series(rng.choice(["north", "south", "east", "rare"], rows, p=[.5, .3, .195, .005]), dtype="str"),
        "source": pd.Series(rng.choice(["web", "event", None], rows), dtype="str"),
    })
    y = (rng.random(rows) < 0.05 + 0.02 * frame["touches"].fillna(0).clip(0, 8)).astype(int)
    return frame, y


def text_pipeline(frame: pd.DataFrame, y: np.ndarray, categorical: list[str]):
    """The baseline as plain scikit-learn: text categories, SimpleImputer's median, numbers in single precision."""
    numeric = [c for c in frame.columns if c not in categorical]
    pipeline = make_pipeline(ColumnTransformer([
        ("numeric", make_pipeline(SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
                                  FunctionTransformer(_signed_log), StandardScaler()), numeric),
        ("categorical", make_pipeline(SimpleImputer(strategy="constant", fill_value="missing"),
                                      OneHotEncoder(handle_unknown="ignore", min_frequency=20, dtype=np.float32)),
         categorical)]),
        LogisticRegression(solver="newton-cholesky", max_iter=2000, C=0.5))
    types = {c: "object" if c in categorical else "float32" for c in frame.columns}
    return pipeline.fit(frame.astype(types), y), lambda f: f.astype(types)


def test_the_baseline_is_the_plain_pipeline_on_text() -> None:
    categorical = ["region", "source"]
    train, y = leads(4000, 0)
    test, _ = leads(1000, 1)
    test.loc[:9, "region"] = "unseen"  # unknown at fit: ignored by both
    baseline = LogisticBaseline(categorical, seed=0).fit(train, y)
    order = np.random.default_rng(0).permutation(len(train))  # the baseline's row order (seed 0)
    reference, as_text = text_pipeline(train.iloc[order], y[order], categorical)
    np.testing.assert_allclose(baseline.decision(test), reference.decision_function(as_text(test)), rtol=0, atol=1e-9)


def test_the_signed_log_is_the_sign_times_log1p_of_the_magnitude() -> None:
    x = np.array([[-1e9, -2.5, -0.0, 0.0], [1e-300, 0.5, 3.0, 1e12]])
    np.testing.assert_array_equal(_signed_log(x), np.sign(x) * np.log1p(np.abs(x)))
    assert x[0, 1] == -2.5  # its input unchanged


def test_many_categories_make_a_sparse_design_and_still_fit() -> None:
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({f"c{i}": pd.Series(rng.choice([f"v{j}" for j in range(40)], 3000), dtype="str")
                          for i in range(6)} | {"x": rng.normal(size=3000)})
    y = (rng.random(3000) < 0.2).astype(int)
    baseline = LogisticBaseline([f"c{i}" for i in range(6)], seed=0).fit(frame, y)
    assert baseline.decision(frame).shape == (3000,)
    assert baseline.pipeline_[-1].solver == "newton-cholesky"


def test_a_design_too_wide_for_newton_cholesky_keeps_lbfgs() -> None:
    rng = np.random.default_rng(3)
    values = [f"v{j}" for j in range(NEWTON_MAX_COLUMNS + 50)]  # every value frequent enough for a column
    frame = pd.DataFrame({"c": pd.Series(np.repeat(values, 25), dtype="str"), "x": rng.normal(size=25 * len(values))})
    y = (rng.random(len(frame)) < 0.3).astype(int)
    wide = LogisticBaseline(["c"], seed=0).fit(frame, y)
    assert wide.pipeline_[-1].solver == "lbfgs"
    narrow = LogisticBaseline(["c"], seed=0).fit(frame.assign(c="one"), y)
    assert narrow.pipeline_[-1].solver == "newton-cholesky"
