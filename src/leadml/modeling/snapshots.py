"""Training snapshots: the population at each cutoff with its features and label.

Each chunk of leads is cleaned, truncated to what was known at the training as-of moment, and
turned into spine rows for every cutoff at once, two chunks at a time. Chunks hold whole lead
histories, so features and labels built per chunk equal those built on the whole database. The
snapshot's rows are ordered by cutoff, so each split of the cutoffs is a view, not a copy.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import pandas as pd

from leadml.config import FeaturesConfig
from leadml.data.clean import CleanReport, clean_tables
from leadml.data.contract import LeadTables
from leadml.features import build_features
from leadml.features.spine import build_spine, label, truncate

SNAPSHOT_THREADS = 2  # chunks built at once; each holds its leads' features at every cutoff
T, R = TypeVar("T"), TypeVar("R")


@dataclass
class Snapshot:
    """Spine rows ``(lead_id, as_of)``, their features and labels, aligned by position."""

    spine: pd.DataFrame
    features: pd.DataFrame
    labels: pd.Series

    def rows(self, mask: np.ndarray) -> Snapshot:
        """Return the rows where ``mask`` is true, re-indexed from zero."""
        return Snapshot(self.spine[mask].reset_index(drop=True), self.features[mask].reset_index(drop=True),
                        self.labels[mask].reset_index(drop=True))

    def at(self, cutoffs: Sequence[pd.Timestamp]) -> Snapshot:
        """Return the rows of the given cutoffs: a view when they are consecutive rows, as ``build_snapshot``
        orders them, since copying the 600,000 rows of the training cutoffs costs seconds."""
        mask = self.spine["as_of"].isin(list(cutoffs)).to_numpy()
        rows = np.flatnonzero(mask)
        if len(rows) and rows[-1] - rows[0] + 1 == len(rows):
            return Snapshot(*(part.iloc[rows[0]: rows[-1] + 1].reset_index(drop=True)
                              for part in (self.spine, self.features, self.labels)))
        return self.rows(mask)


def build_snapshot(chunks: Iterable[LeadTables], cutoffs: Sequence[pd.Timestamp], known_at: pd.Timestamp, *,
                   horizon_days: int, settings: FeaturesConfig, report: CleanReport) -> Snapshot:
    """Return features and labels at every cutoff using only rows at or before ``known_at``, ordered by cutoff
    (then chunk, then lead): the rows of consecutive cutoffs are consecutive rows (see ``Snapshot.at``)."""
    check_label_windows(cutoffs, known_at, horizon_days)

    def cleaned_snapshot(raw: LeadTables) -> tuple[CleanReport, tuple[pd.DataFrame, pd.DataFrame, pd.Series]]:
        tables, _, chunk_report = clean_tables(raw)
        return chunk_report, chunk_snapshot(tables, cutoffs, known_at, horizon_days=horizon_days, settings=settings)

    parts = []
    for chunk_report, part in in_threads(cleaned_snapshot, chunks):
        report.merge(chunk_report)
        parts.append(part)
    pieces = _cutoff_runs([spine for spine, _, _ in parts]) or [(chunk, 0, 0) for chunk in range(len(parts))]
    return Snapshot(*(pd.concat([parts[chunk][k].iloc[start:stop] for chunk, start, stop in pieces],
                                ignore_index=True) for k in range(3)))


def in_threads(work: Callable[[T], R], items: Iterable[T], workers: int = SNAPSHOT_THREADS) -> Iterator[R]:
    """``work`` of each item, in order, on ``workers`` threads with at most ``workers`` items in flight (memory
    holds that many chunks). Cleaning and features are mostly pandas and numpy, which release the GIL: two
    chunks of 50,000 leads at 14 cutoffs build in 7.6 s instead of 13.2 s on two cores."""
    with ThreadPoolExecutor(workers, thread_name_prefix="leadml-snapshot") as pool:
        pending: deque[Future[R]] = deque()
        for item in items:
            pending.append(pool.submit(work, item))
            if len(pending) >= workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _cutoff_runs(spines: list[pd.DataFrame]) -> list[tuple[int, int, int]]:
    """The runs of rows of one cutoff in each chunk's spine (sorted by ``as_of``) as (chunk, start, stop),
    ordered by cutoff, then chunk."""
    runs = []
    for chunk, spine in enumerate(spines):
        as_of = spine["as_of"].to_numpy(dtype="datetime64[us]")  # UTC instants, not Timestamp objects
        starts = np.flatnonzero(np.r_[True, as_of[1:] != as_of[:-1]]) if len(as_of) else np.array([], dtype=int)
        stops = np.r_[starts[1:], len(as_of)]
        runs += [(as_of[start], chunk, int(start), int(stop)) for start, stop in zip(starts, stops, strict=True)]
    return [run[1:] for run in sorted(runs, key=lambda run: run[:2])]


def check_label_windows(cutoffs: Sequence[pd.Timestamp], known_at: pd.Timestamp, horizon_days: int) -> None:
    """Refuse cutoffs whose label window is still open at ``known_at``: their labels would be unknown."""
    latest = max(cutoffs) + pd.Timedelta(days=horizon_days)
    if latest > known_at:
        raise ValueError(f"cutoff {max(cutoffs)} has its label window open until {latest}, "
                         f"after the as-of moment {known_at}")


def chunk_snapshot(tables: LeadTables, cutoffs: Sequence[pd.Timestamp], known_at: pd.Timestamp, *,
                   horizon_days: int, settings: FeaturesConfig) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """Return the spine, features and labels of one chunk of cleaned whole lead histories."""
    tables = truncate(tables, known_at)
    spine = build_spine(tables, cutoffs)
    return spine, build_features(spine, tables, settings), label(spine, tables.opportunities, horizon_days)
