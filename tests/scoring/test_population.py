"""Scoring chunk by chunk, each chunk explained in a second thread beside the next one's features: the
scores and reasons do not depend on how the population is cut, and a failure in that thread stops the run."""

import dataclasses
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

from leadml.config import load_config
from leadml.data.sources import open_source
from leadml.features import feature_catalog
from leadml.modeling.lead_model import LeadModel, ModelError
from leadml.modeling.stopwatch import Stopwatch
from leadml.reasons.attribution import explain
from leadml.reasons.words import combined_reasons
from leadml.scoring import population
from leadml.scoring.population import CoverageError, rank_order, score_chunks
from tests.conftest import AS_OF


def scored(trained_session, chunk_size: int, model: LeadModel | Future[LeadModel],
           clock: Stopwatch | None = None) -> pd.DataFrame:
    config = load_config(trained_session.config, env={})
    with open_source(trained_session.db) as source:
        result = score_chunks(source.chunks(chunk_size), model, pd.Timestamp(AS_OF, tz="UTC"),
                              feature_catalog(config.features), settings=config.features, reasons=3,
                              combined=combined_reasons("en"), clock=clock)
    return result.scored.sort_values("lead_id", ignore_index=True)


def test_scores_and_reasons_do_not_depend_on_the_chunks(trained_session) -> None:
    whole = scored(trained_session, 100_000, LeadModel.load(trained_session.model))
    clock = Stopwatch()
    model = LeadModel.load(trained_session.model)  # one model for all chunks: patterns kept from chunk to chunk
    cut = scored(trained_session, 700, model, clock)
    assert len(whole) > 1000
    pd.testing.assert_frame_equal(cut, whole, check_exact=False, rtol=1e-9)
    assert {"read", "clean", "features", "prepare", "waiting", "predict", "explainer", "reasons"} <= set(clock.laps)


def test_a_failure_in_the_explaining_thread_stops_scoring(trained_session, monkeypatch) -> None:
    model = LeadModel.load(trained_session.model)
    calls = []

    def failing(design, method="treeshap", lap=lambda _: None, threads=0):
        calls.append(len(design.values))
        if len(calls) == 2:
            raise RuntimeError("explainer broke")
        return LeadModel.score(model, design, method, lap, threads=threads)

    monkeypatch.setattr(model, "score", failing)
    with pytest.raises(RuntimeError, match="explainer broke"):
        scored(trained_session, 700, model)
    assert len(calls) >= 2


def test_reasons_are_worded_on_the_reading_thread_and_the_model_runs_on_the_second(trained_session,
                                                                                   monkeypatch) -> None:
    """The second thread is the busier one (predict and TreeSHAP): the reasons' words are left to the reading
    thread, which waits for it otherwise."""
    model = LeadModel.load(trained_session.model)
    threads: dict[str, set[str]] = {"score": set(), "explain": set()}

    def scoring(design, method="treeshap", lap=lambda _: None, **kwargs):
        threads["score"].add(threading.current_thread().name)
        return LeadModel.score(model, design, method, lap, **kwargs)

    def explaining(*args, **kwargs):
        threads["explain"].add(threading.current_thread().name)
        return explain(*args, **kwargs)

    monkeypatch.setattr(model, "score", scoring)
    monkeypatch.setattr(population, "explain", explaining)
    scored(trained_session, 700, model)
    assert threads["explain"] == {threading.main_thread().name}
    assert threads["score"] and all(name.startswith("leadml-explain") for name in threads["score"])


def test_a_model_still_loading_is_waited_for_and_a_failed_load_stops_scoring(trained_session) -> None:
    """``leadml score`` loads its model on a thread while the first chunk is read and built."""
    def slow_load() -> LeadModel:
        time.sleep(1.0)  # still loading when the first chunk is ready
        return LeadModel.load(trained_session.model)

    with ThreadPoolExecutor(1) as loader:
        later = scored(trained_session, 700, loader.submit(slow_load))
    pd.testing.assert_frame_equal(later, scored(trained_session, 100_000, LeadModel.load(trained_session.model)),
                                  check_exact=False, rtol=1e-9)
    failed: Future[LeadModel] = Future()
    failed.set_exception(ModelError("no model is registered as champion"))
    with pytest.raises(ModelError, match="no model is registered as champion"):
        scored(trained_session, 700, failed)


def test_a_lead_that_cleaning_loses_stops_scoring(trained_session, monkeypatch) -> None:
    clean = population.clean_tables

    def losing_one(raw):
        tables, rejects, report = clean(raw)
        return dataclasses.replace(tables, leads=tables.leads.iloc[1:]), rejects, report

    monkeypatch.setattr(population, "clean_tables", losing_one)
    with pytest.raises(CoverageError, match="^1 lead"):
        scored(trained_session, 100_000, LeadModel.load(trained_session.model))


def test_ranks_break_ties_by_lead_id_in_code_point_order() -> None:
    probability = np.array([0.5, 0.5, 0.9, 0.5, 0.5])
    ids = pd.Series(["b", "é", "z", "a", "B"], dtype="str")  # "B" < "a" < "b" < "é" by code point
    assert rank_order(probability, ids).tolist() == [4, 5, 1, 3, 2]
