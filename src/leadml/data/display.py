"""Display columns: who a lead is (name, company, owner, e-mail), for the people who act on the export.

They are read on their own, straight from the user's leads table, and joined to the export at the edge where
it is written: they never pass through cleaning, features, the model, logs, MLflow, the manifest or the drift
files, so no path exists by which they could become a feature or be logged.
"""

from __future__ import annotations

import logging

import pandas as pd

from leadml.data.clean import DataError, as_written, to_id
from leadml.data.files import find_column

log = logging.getLogger("leadml")


def display_frame(raw: pd.DataFrame, id_column: str, columns: tuple[str, ...], *, table: str) -> pd.DataFrame:
    """Return ``lead_id`` and the display ``columns`` of a leads table as text, one row per lead (its first);
    a missing column is one line naming ``export.display`` and the table."""
    out = pd.DataFrame({"lead_id": to_id(find_column(raw, id_column, table=table, key="export.display"))})
    for column in columns:
        out[column] = as_written(find_column(raw, column, table=table, key="export.display")).to_numpy()
    return out.dropna(subset=["lead_id"]).drop_duplicates("lead_id", keep="first").reset_index(drop=True)


def with_display(export: pd.DataFrame, display: pd.DataFrame | None) -> pd.DataFrame:
    """Return the export with the display columns right after ``lead_id`` (empty for leads the table lacks)."""
    if display is None or display.shape[1] <= 1:
        return export
    clash = [c for c in display.columns[1:] if c in export.columns]
    if clash:
        raise DataError(f"export.display: {clash[0]!r} is a column leadml writes itself: show another column")
    shown = display.set_index("lead_id").reindex(export["lead_id"].astype("str"))
    unmatched = int(shown.isna().all(axis=1).sum())
    if unmatched:
        log.warning("export.display: %d of %d scored leads have no row in the leads table's display columns: "
                    "their display cells are empty", unmatched, len(export))
    out = export.copy()
    for i, column in enumerate(shown.columns):
        out.insert(1 + i, column, shown[column].fillna("").astype("str").to_numpy())
    return out
