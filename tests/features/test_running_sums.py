"""The engagement features' running sums per lead are pandas' grouped cumsum, bit for bit."""

import numpy as np
import pandas as pd

from leadml.features.engagement import _running_sums


def test_running_sums_are_pandas_grouped_cumsum_bit_for_bit() -> None:
    rng = np.random.default_rng(7)
    lead = np.sort(rng.integers(0, 300, 20_000))
    values = np.where(rng.random(20_000) < 0.3, np.exp2(rng.uniform(0, 60, 20_000)), 0.0)  # zeros between, as per type
    expected = pd.Series(values).groupby(lead, sort=False).cumsum().to_numpy()
    assert np.array_equal(_running_sums(lead, values), expected)
    assert np.array_equal(_running_sums(np.full(4, 1000), values[:4]), np.cumsum(values[:4]))  # one sparse code
    assert _running_sums(np.zeros(0, dtype=np.intp), np.zeros(0)).shape == (0,)
