"""The leads table's own columns that a table mapping makes features (``mapping.leads.features``).

They are attributes of the lead as the user's table holds them; the user declares them known when the lead
was created (a column set later belongs in ``exclude``). Numbers are parsed as people write them, flags
from yes/no words, categories as written.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from leadml.config import MappedFeature, snake_case
from leadml.data.clean import FALSE_WORDS, TRUE_WORDS, parse_number_text


def flag_values(text: pd.Series) -> pd.Series:
    """1.0 for yes words, 0.0 for no words, missing for anything else (counted when the table is mapped)."""
    lower = text.astype("str").str.strip().str.lower()
    return pd.Series(np.select([lower.isin(TRUE_WORDS), lower.isin(FALSE_WORDS)], [1.0, 0.0], np.nan),
                     index=text.index)


def typed_column(values: pd.Series, rule: MappedFeature) -> pd.Series:
    """One mapped column as its feature: numbers bounded by ``min``/``max`` (outside: missing), flags, text."""
    if rule.type == "numeric":
        number = parse_number_text(values)
        low = -np.inf if rule.min is None else rule.min
        high = np.inf if rule.max is None else rule.max
        return number.where(np.isfinite(number) & number.between(low, high))
    if rule.type == "flag":
        return flag_values(values)
    return values.astype("str").str.strip().replace("", pd.NA)


def lead_column_features(rows: pd.DataFrame, columns: dict[str, MappedFeature]) -> pd.DataFrame:
    """The features of the leads table's mapped columns for rows of leads (the mapped leads table names each
    column by its feature)."""
    names = {rule.name or snake_case(column): rule for column, rule in columns.items()}
    return pd.DataFrame({name: typed_column(rows[name], rule) for name, rule in names.items()}, index=rows.index)
