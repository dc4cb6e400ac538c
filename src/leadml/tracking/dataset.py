"""The training snapshot as the run's MLflow dataset input: name, digest, schema and size, computed by column.

MLflow derives a ``PandasDataset``'s schema and digest value by value in Python: on 100,000 rows of
about 170 features that took 13 s of a training run. The same schema and digest come from a few
vectorised passes: a typed column's type from a sample holding its first missing and first present value
(an object or category column is read whole, as MLflow does), whether a column is required (never
missing) from the whole frame. The rows themselves never leave:
MLflow stores only this description.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd
from mlflow.data.code_dataset_source import CodeDatasetSource
from mlflow.data.digest_utils import MAX_ROWS, get_normalized_md5_digest
from mlflow.data.pandas_dataset import PandasDataset
from mlflow.tracking.context import registry
from mlflow.types import ColSpec, Schema
from mlflow.types.utils import _infer_schema  # what PandasDataset.schema calls

SAMPLE_ROWS = 1_000


class SnapshotDataset(PandasDataset):
    """A ``PandasDataset`` whose schema is inferred by column (the result equals MLflow's own inference)."""

    @cached_property
    def schema(self) -> Schema | None:
        by_value = [c for c in self.df.columns if _typed_by_values(self.df[c])]
        rest = self.df.drop(columns=by_value)
        try:  # as PandasDataset.schema: a frame MLflow cannot describe has no schema
            parts = [_infer_schema(self.df[[c]]) for c in by_value]
            if len(rest.columns):
                parts.append(_infer_schema(schema_sample(rest)))
        except Exception:
            return None
        types = {c.name: c.type for part in parts for c in part.inputs}
        required = self.df.notna().all()
        return Schema([ColSpec(type=types[c], name=c, required=bool(required[c])) for c in self.df.columns])


def snapshot_dataset(frame: pd.DataFrame, name: str) -> SnapshotDataset:
    """Describe ``frame`` for ``mlflow.log_input``, its source the code that runs, as ``mlflow.data.from_pandas``."""
    return SnapshotDataset(df=frame, source=CodeDatasetSource(tags=registry.resolve_tags()), name=name,
                           digest=pandas_digest(frame))


def schema_sample(frame: pd.DataFrame, rows: int = SAMPLE_ROWS) -> pd.DataFrame:
    """The first ``rows`` rows and, per column, its first missing and first present row: every type a column
    holds that the inference reads."""
    if frame.empty:
        return frame
    missing = frame.isna().to_numpy()
    firsts = [np.argmax(missing, axis=0)[missing.any(axis=0)], np.argmax(~missing, axis=0)[(~missing).any(axis=0)]]
    picked = np.unique(np.concatenate([np.arange(min(rows, len(frame))), *firsts]))
    return frame.iloc[picked]


def pandas_digest(frame: pd.DataFrame) -> str:
    """MLflow's digest of a frame (``compute_pandas_digest``): the hash of the first rows of its text and number
    columns, its length and its column names; the text columns found by dtype, not value by value."""
    head = frame.head(MAX_ROWS)
    text = head.columns[[_all_text(frame[c]) for c in frame.columns]]
    kept = text.union(head.select_dtypes(include=[np.number]).columns)
    return get_normalized_md5_digest([pd.util.hash_pandas_object(head[kept]).values, np.int64(len(frame))]
                                     + [str(c).encode() for c in frame.columns])


def _typed_by_values(column: pd.Series) -> bool:
    """Whether MLflow reads a column's type from its values (object, category), not from its dtype alone."""
    return column.dtype == object or isinstance(column.dtype, pd.CategoricalDtype)


def _all_text(column: pd.Series) -> bool:
    """Whether every value is a ``str`` (MLflow's test): a text dtype without missing values; other object
    columns are read value by value, as MLflow does."""
    if isinstance(column.dtype, pd.StringDtype):
        return bool(column.notna().all())
    if _typed_by_values(column):
        return bool(column.map(type).eq(str).all())
    return False
