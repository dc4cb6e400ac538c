"""Batch scoring: the population at T, scored chunk by chunk, with reasons, grades and ranks.

Every lead of the population ends up exactly once either in the scored rows or in the rejects
with its reason; ``score_chunks`` checks that for every chunk before anything is published.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from leadml.config import FeaturesConfig, GradesConfig
from leadml.data.clean import CleanReport, clean_tables, is_in, to_id
from leadml.data.contract import LeadTables
from leadml.features import Feature, build_features
from leadml.features.spine import build_spine, truncate
from leadml.modeling.grading import assign_grades
from leadml.modeling.lead_model import Design, LeadModel
from leadml.modeling.stopwatch import Stopwatch
from leadml.reasons.attribution import explain
from leadml.reasons.words import Combined

# a core is left to the next chunk's features: on 2 cores, predicting on both took 68.5 s for 1M leads, on one 60.7 s
PREDICT_THREADS = max(1, (os.cpu_count() or 2) - 1)
CHUNKS_AHEAD = 2  # chunks handed to the second thread, not yet collected: one slow chunk stalls neither thread
EXPLAIN_COLUMNS = ("top_reasons", "reason_1", "reason_2", "reason_3", "risk_1", "risk_2", "fit_score",
                   "engagement_score", "budget_score", "base_score")
EXPORT_COLUMNS = ("lead_id", "probability", "score", "grade", "rank", *EXPLAIN_COLUMNS, "score_change", "trend",
                  "model_version", "as_of", "scored_at", "is_stale")


class CoverageError(RuntimeError):
    """Raised when scored plus rejected leads do not add up to the population."""


@dataclass
class ScoringResult:
    scored: pd.DataFrame
    rejects: pd.DataFrame
    report: CleanReport = field(default_factory=CleanReport)


def population_matrix(tables: LeadTables, as_of: pd.Timestamp, settings: FeaturesConfig
                      ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the spine of the population at ``as_of`` and its feature matrix."""
    known = truncate(tables, as_of)
    spine = build_spine(known, [as_of])
    return spine, build_features(spine, known, settings)


def score_chunks(chunks: Iterable[LeadTables], model: LeadModel | Future[LeadModel], as_of: pd.Timestamp,
                 catalog: Sequence[Feature], *, settings: FeaturesConfig, reasons: int,
                 explainer: str = "treeshap", combined: Sequence[Combined] = (),
                 observe: Callable[[LeadTables], None] | None = None, count: Callable[[Design], None] | None = None,
                 clock: Stopwatch | None = None) -> ScoringResult:
    """Score the population at ``as_of`` chunk by chunk; return scored rows and rejects.

    A chunk is predicted and explained in a second thread while this one reads, cleans and builds the
    features of the next: LightGBM's and the explainer's compiled work runs on the other core, and at most
    ``CHUNKS_AHEAD`` chunks are handed over and not yet collected. This thread words the reasons of a chunk
    it collects: on 1M leads the second thread's stages took 34 s beside this one's 25 s with the reasons
    there, 29 s beside 30 s with them here, and the run 39-40 s, then 35 s.
    ``model`` may be a future of a model still loading: the second thread waits for it (lap ``model_wait``)
    while this one reads the first chunk. ``observe`` sees each chunk's cleaned tables on this thread,
    ``count`` the model's input of its population on the second (both for monitoring). ``clock`` takes this
    thread's stages as laps (read, clean, features, ``waiting`` for the second thread, reasons) and has the
    second thread's (``prepare`` for the model's input, predict, explainer) added: those overlap the others,
    so all the stages add up to more than the wall time.
    """
    clock = clock or Stopwatch()
    scored, rejected, report = [], [], CleanReport()
    phrases: dict[tuple[str, object], str] = {}  # the words said so far: values repeat from chunk to chunk

    def collect(done: Future[Predicted]) -> None:
        predicted = done.result()
        clock.lap("waiting")
        clock.add(predicted.laps)
        scored.append(predicted.worded(catalog, reasons=reasons, combined=combined, phrases=phrases))
        clock.lap("reasons")

    with ThreadPoolExecutor(1, thread_name_prefix="leadml-explain") as beside:
        pending: deque[Future[Predicted]] = deque()
        for raw in chunks:
            clock.lap("read")
            tables, all_rejects, chunk_report = clean_tables(raw)
            report.merge(chunk_report)
            clock.lap("clean")
            spine, matrix = population_matrix(tables, as_of, settings)
            clock.lap("features")
            ids = to_id(raw.leads["lead_id"])  # the raw ids as cleaning reads them, for both checks
            _check_coverage(ids, tables, all_rejects, spine, as_of=as_of)
            rejected.append(_in_population(all_rejects, raw.leads, ids, as_of))
            if observe is not None:
                observe(tables)
            if len(spine):
                while len(pending) >= CHUNKS_AHEAD:
                    collect(pending.popleft())
                pending.append(beside.submit(_predicted, spine["lead_id"], matrix, model, explainer=explainer,
                                             count=count))
        while pending:
            collect(pending.popleft())
    scored_frame = pd.concat(scored, ignore_index=True) if scored else pd.DataFrame(
        {"lead_id": pd.Series([], dtype="str"), "probability": pd.Series([], dtype="float64"),
         **{c: pd.Series([], dtype="str" if not c.endswith("_score") else "float64") for c in EXPLAIN_COLUMNS}})
    reject_frame = (pd.concat(rejected, ignore_index=True) if rejected
                    else pd.DataFrame({"lead_id": pd.Series([], dtype="str"), "reason": []}))
    if scored_frame["lead_id"].duplicated().any() or scored_frame["lead_id"].isin(reject_frame["lead_id"]).any():
        raise CoverageError("a lead was scored twice or both scored and rejected")
    return ScoringResult(scored_frame, reject_frame.reset_index(drop=True), report)


@dataclass
class Predicted:
    """One chunk's probabilities and contributions, from the second thread, and the seconds its stages took."""

    lead_ids: pd.Series
    matrix: pd.DataFrame
    probability: np.ndarray
    contributions: pd.DataFrame
    laps: dict[str, float]

    def worded(self, catalog: Sequence[Feature], *, reasons: int, combined: Sequence[Combined],
               phrases: dict[tuple[str, object], str]) -> pd.DataFrame:
        """The chunk's scored rows: lead id, probability, reasons and family scores."""
        explained = explain(self.contributions, self.matrix, catalog, reasons, combined=combined, phrases=phrases)
        return pd.concat([pd.DataFrame({"lead_id": self.lead_ids, "probability": self.probability}),
                          explained[list(EXPLAIN_COLUMNS)]], axis=1)


def _predicted(lead_ids: pd.Series, matrix: pd.DataFrame, model: LeadModel | Future[LeadModel], *, explainer: str,
               count: Callable[[Design], None] | None) -> Predicted:
    """One chunk's probabilities and contributions (see ``score_chunks``)."""
    clock = Stopwatch()
    model = model.result() if isinstance(model, Future) else model
    clock.lap("model_wait")
    design = model.design(matrix)  # one input for predict, the explainer and the drift counts
    clock.lap("prepare")
    if count is not None:
        count(design)
        clock.lap("monitoring_checks")
    probability, contributions = model.score(design, explainer, clock.lap, threads=PREDICT_THREADS)
    return Predicted(lead_ids, matrix, probability, contributions, clock.laps)


def _in_population(rejects: pd.DataFrame, raw_leads: pd.DataFrame, ids: pd.Series, as_of: pd.Timestamp
                   ) -> pd.DataFrame:
    """Keep rejected leads that may belong to the population: created at or before T, or unknown. ``ids`` are
    the raw leads' ids as cleaning reads them (``to_id``).

    Rows without an id are always kept: nothing else could account for them."""
    if rejects.empty:
        return rejects
    created = pd.to_datetime(raw_leads["created_at"].astype("str"), utc=True, errors="coerce", format="ISO8601")
    maybe = ids[(created.isna() | (created <= as_of)).to_numpy()]
    return rejects[is_in(rejects["lead_id"], maybe) | rejects["lead_id"].isna().to_numpy()]


def _check_coverage(ids: pd.Series, tables: LeadTables, all_rejects: pd.DataFrame, spine: pd.DataFrame, *,
                    as_of: pd.Timestamp) -> None:
    """Fail unless every lead id of the chunk (``ids``, as cleaning reads them) was kept or rejected by
    cleaning, and scored at most once."""
    ids = ids.dropna()
    lost = ids[~is_in(ids, pd.concat([tables.leads["lead_id"], all_rejects["lead_id"]]))].nunique()
    if lost or spine["lead_id"].duplicated().any():
        raise CoverageError(f"{lost} lead(s) neither scored nor rejected as of {as_of}")


def finalise(result: ScoringResult, grades: GradesConfig, model_version: str, as_of: pd.Timestamp, *,
             scored_at: pd.Timestamp, previous: pd.DataFrame | None = None, is_stale: bool = False
             ) -> pd.DataFrame:
    """Add score, grade, rank, trend against ``previous`` scores and run columns; order rows by rank.

    ``previous`` holds each lead's last earlier score (``lead_id``, ``score``), from the history table.
    ``is_stale`` marks every row when the source had no recent activity (see ``monitor.data_freshness``).
    """
    scored = result.scored
    probability = scored["probability"].to_numpy(dtype="float64")
    score = np.clip(np.rint(probability * 100), 0, 100).astype("int64")
    before = (previous.set_index("lead_id")["score"] if previous is not None and len(previous)
              else pd.Series(dtype="float64")).reindex(scored["lead_id"]).to_numpy(dtype="float64")
    change = score - before
    ranks = rank_order(probability, scored["lead_id"])
    export = pd.DataFrame({
        "lead_id": scored["lead_id"].astype("str"),
        "probability": probability,
        "score": score,
        "grade": pd.array(assign_grades(probability, grades, ranks), dtype="str"),
        "rank": ranks,
        **{column: scored[column].array for column in EXPLAIN_COLUMNS},  # as they are: no copy through objects
        "score_change": change,
        "trend": pd.array(np.select([np.isnan(before), change > 0, change < 0], ["new", "up", "down"], "flat"),
                          dtype="str"),
        "model_version": model_version,
        "as_of": as_of,
        "scored_at": scored_at,
        "is_stale": np.full(len(scored), bool(is_stale)),
    })
    order = np.empty(len(ranks), dtype="int64")
    order[ranks - 1] = np.arange(len(ranks))  # the ranks are 1..n: each row's place is known
    return _rows_taken(export[list(EXPORT_COLUMNS)], order)


def rank_order(probability: np.ndarray, lead_ids: pd.Series) -> np.ndarray:
    """Return ranks (1 = most likely), ties broken by lead id so reruns rank identically (Arrow sorts text by
    its UTF-8 bytes, which is code point order)."""
    keys = pa.table({"probability": probability, "lead_id": pa.array(lead_ids.astype("str"), from_pandas=True)})
    order = pc.sort_indices(keys, sort_keys=[("probability", "descending"), ("lead_id", "ascending")]).to_numpy()
    ranks = np.empty(len(order), dtype="int64")
    ranks[order] = np.arange(1, len(order) + 1)
    return ranks


def _rows_taken(frame: pd.DataFrame, order: np.ndarray) -> pd.DataFrame:
    """``frame.take(order)`` with a fresh index, column by column on two threads: taking a million rows of text
    is Arrow's work, which releases the GIL, and nothing else runs while the scores are ranked."""
    arrays = [frame[name].array for name in frame.columns]  # looked up here: only the takes run in the threads
    with ThreadPoolExecutor(2, thread_name_prefix="leadml-take") as pool:
        columns = list(pool.map(lambda array: array.take(order), arrays))
    return pd.DataFrame(dict(zip(frame.columns, columns, strict=True)), copy=False)
