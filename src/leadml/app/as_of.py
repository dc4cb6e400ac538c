"""The as-of moment of a command, parsed once where it enters: the command line."""

from __future__ import annotations

import pandas as pd

from leadml.features.spine import as_timestamp


def parse_as_of(text: str | None) -> pd.Timestamp | None:
    """Parse ``--as-of`` into a UTC timestamp (a date means its midnight, a naive time means UTC); None if not given."""
    return as_timestamp(text) if text else None


def as_of_or_now(text: str | None) -> pd.Timestamp:
    """Parse ``--as-of``, or take the current moment when it is not given."""
    moment = parse_as_of(text)
    return as_timestamp(pd.Timestamp.now(tz="UTC")) if moment is None else moment
