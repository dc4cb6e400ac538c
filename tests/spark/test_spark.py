"""The Spark engine in local mode: the same features, snapshots and scores as the local engine.

One messy demo-like lake (Parquet: a file per table, activities as a folder of two files) with ids
padded by whitespace, a lead id repeated with conflicting values, activities of an unknown lead
and fractional product minutes. Every comparison is against the local engine on the same data.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from leadml.config import load_config
from leadml.data.clean import CleanReport
from leadml.data.demo_generator import GenerateSpec, generate_chunks
from leadml.data.sources import open_source, write_database
from leadml.features.spine import as_timestamp, training_cutoffs
from leadml.modeling.snapshots import build_snapshot
from tests.conftest import END, invoke, summary, write_config

try:
    import pyspark  # noqa: F401
except ImportError:
    if os.environ.get("CI"):
        raise RuntimeError("PySpark is not installed: CI installs the dev extra, which holds leadml[spark]") from None
    pytest.skip("PySpark not installed: pip install -e '.[spark]' to run the Spark engine's tests",
                allow_module_level=True)
if shutil.which("java") is None:
    if os.environ.get("CI"):
        raise RuntimeError("Java is not installed: Spark 4 needs Java 17+")
    pytest.skip("Java not found: Spark 4 needs Java 17+", allow_module_level=True)

pytestmark = [pytest.mark.spark, pytest.mark.slow]
AS_OF = "2026-11-01"
EARLIER = "2026-10-01"
JDBC_JAR = Path("/usr/share/java/postgresql.jar")


def messy_lake(folder: Path) -> Path:
    """Write a 4,000-lead generated database as Parquet, with the dirt cleaning must handle."""
    chunks = list(generate_chunks(GenerateSpec(leads=4000, seed=11, end=END, chunk_size=4000)))
    leads, acts, opps = (pd.concat([c.table(t) for c in chunks], ignore_index=True)
                         for t in ("leads", "activities", "opportunities"))
    acts = acts.assign(value=acts["value"] * 1.37 + 0.013)  # fractional minutes: sums must not depend on buckets
    padded = acts.index[::97]
    acts.loc[padded, "lead_id"] = " " + acts.loc[padded, "lead_id"] + "  "  # stripped by cleaning: same lead
    stranger = acts.head(5).assign(lead_id="NOT-A-LEAD")
    conflicting = leads.head(1).assign(source="conflicting source")  # the same id twice, different values
    leads = pd.concat([leads, conflicting], ignore_index=True)
    acts = pd.concat([acts, stranger], ignore_index=True)
    lake = folder / "lake"
    (lake / "activities").mkdir(parents=True)
    pq.write_table(pa.Table.from_pandas(leads, preserve_index=False), lake / "leads.parquet")
    pq.write_table(pa.Table.from_pandas(opps, preserve_index=False), lake / "opportunities.parquet")
    half = len(acts) // 2
    for i, part in enumerate((acts.iloc[:half], acts.iloc[half:])):
        pq.write_table(pa.Table.from_pandas(part, preserve_index=False), lake / "activities" / f"part-{i}.parquet")
    return lake


def partition(folder: Path, as_of: str) -> pd.DataFrame:
    """Read the ``as_of`` partition of a Parquet sink written by Spark."""
    (path,) = glob.glob(str(folder / f"as_of={as_of} 00%3A00%3A00"))
    return pd.read_parquet(path)


CAPACITY = {"policy": "capacity", "capacity": {"A": 40, "B": 90, "C": None}}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the messy lake, a config, and a model trained with ``train --engine spark``."""
    folder = tmp_path_factory.mktemp("spark")
    lake = messy_lake(folder)
    write_config(folder, data={"source": str(lake), "chunk_size": 1500}, spark={"driver_memory": "1g"},
                 grades=CAPACITY)  # a bucket cannot know the population's ranks: Spark must grade after ranking
    with pytest.MonkeyPatch.context() as env:  # module fixtures run before the autouse guard of each test, and
        for name in ("MLFLOW_TRACKING_URI", "LEADML_TRACKING_URI", "LEADML_DATABASE_URL"):  # mlflow.set_tracking_uri
            env.delenv(name, raising=False)  # leaves its URI in os.environ for whatever runs next
        trained = summary(invoke("train", "--config", str(folder / "config.yaml"), "--as-of", AS_OF, "--engine",
                                 "spark", "--json"))
    assert trained["model_version"] == "1" and trained["promoted"]  # the champion that `score` resolves
    assert trained["roc_auc"] > 0.8  # the snapshot built on Spark learns
    yield folder
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()


def test_spark_snapshot_equals_the_local_snapshot(world: Path) -> None:
    from leadml.spark.jobs import snapshot

    config = load_config(world / "config.yaml", env={})
    known_at = as_timestamp(AS_OF)
    cutoffs = [c for v in training_cutoffs(known_at, 30, 12, "monthly").values() for c in v]
    local_report, spark_report = CleanReport(), CleanReport()
    with open_source(config.data.source) as source:
        local = build_snapshot(source.chunks(config.data.chunk_size), cutoffs, known_at, horizon_days=30,
                               settings=config.features, report=local_report)
    on_spark, digest = snapshot(config, config.data.source, cutoffs=cutoffs, known_at=known_at, report=spark_report)
    order = local.spine.sort_values(["as_of", "lead_id"], kind="stable").index
    pd.testing.assert_frame_equal(on_spark.spine, local.spine.loc[order].reset_index(drop=True))
    pd.testing.assert_frame_equal(on_spark.features, local.features.loc[order].reset_index(drop=True),
                                  check_exact=True)
    pd.testing.assert_series_equal(on_spark.labels, local.labels.loc[order].reset_index(drop=True))
    assert on_spark.labels.sum() > 50 and len(on_spark.spine) > 20_000
    assert spark_report.counts == local_report.counts and local_report.counts["leads: rejected"] == 1
    assert local_report.counts["activities: rows for unknown leads"] == 5 and len(digest) == 16


def test_spark_features_equal_local_features_and_a_rerun_replaces_its_partition(world: Path, tmp_path: Path) -> None:
    config = str(world / "config.yaml")
    local = summary(invoke("features", "--config", config, "--as-of", AS_OF, "--out", str(tmp_path / "local.parquet"),
                           "--json"))
    sink = tmp_path / "features"
    first = summary(invoke("features", "--config", config, "--as-of", AS_OF, "--out", str(sink), "--engine", "spark",
                           "--json"))
    assert first["rows"] == local["rows"] > 3000 and first["data_quality"] == local["data_quality"]
    expected = pd.read_parquet(tmp_path / "local.parquet").drop(columns="as_of")
    got = partition(sink, AS_OF)
    assert got.columns.tolist() == expected.columns.tolist()  # the partition column lives in the path
    pd.testing.assert_frame_equal(got.sort_values("lead_id").reset_index(drop=True),
                                  expected.sort_values("lead_id").reset_index(drop=True), check_exact=True)
    assert got.loc[got["lead_id"] == "L00000001"].empty  # its id repeats with conflicting values: rejected

    summary(invoke("features", "--config", config, "--as-of", EARLIER, "--out", str(sink), "--engine", "spark",
                   "--json"))
    earlier_files = sorted(glob.glob(str(sink / f"as_of={EARLIER}*" / "*.parquet")))
    again = summary(invoke("features", "--config", config, "--as-of", AS_OF, "--out", str(sink), "--engine", "spark",
                           "--json"))
    assert again["rows"] == first["rows"]
    assert len(partition(sink, AS_OF)) == first["rows"]  # replaced, not appended
    assert sorted(glob.glob(str(sink / f"as_of={EARLIER}*" / "*.parquet"))) == earlier_files  # left alone
    assert 0 < len(partition(sink, EARLIER)) < first["rows"]

    stale = sink / "as_of=2024-06-01 00%3A00%3A00"  # as if an earlier run had found leads at that moment
    shutil.copytree(glob.glob(str(sink / f"as_of={EARLIER}*"))[0], stale)
    empty = summary(invoke("features", "--config", config, "--as-of", "2024-06-01", "--out", str(sink), "--engine",
                           "spark", "--json"))
    assert empty["rows"] == 0 and not stale.exists()  # no lead yet: the rerun leaves an empty partition
    assert len(partition(sink, AS_OF)) == first["rows"]


def test_spark_scores_equal_local_scores_and_reruns_replace_their_partition(world: Path, tmp_path: Path) -> None:
    config = str(world / "config.yaml")  # both engines score with the champion from the registry
    local = summary(invoke("score", "--config", config, "--as-of", AS_OF,
                           "--out", str(tmp_path / "local.parquet"), "--json"))
    sink = tmp_path / "scores"
    on_spark = summary(invoke("score", "--config", config, "--as-of", AS_OF, "--out", str(sink),
                              "--engine", "spark", "--json"))
    assert (on_spark["population"], on_spark["scored"], on_spark["rejected"], on_spark["grades"]) == (
        local["population"], local["scored"], local["rejected"], local["grades"])
    assert on_spark["grades"]["A"] == CAPACITY["capacity"]["A"]
    assert list(on_spark["stages"]) == ["model", "session", "plan", "buckets", "rank and write",
                                        "rejects and fingerprint"]  # the driver's stopwatch (bench_spark)
    expected = pd.read_parquet(tmp_path / "local.parquet").sort_values("lead_id").reset_index(drop=True)
    got = partition(sink, AS_OF).sort_values("lead_id").reset_index(drop=True)
    assert got["lead_id"].tolist() == expected["lead_id"].tolist()
    np.testing.assert_allclose(got["probability"], expected["probability"], rtol=0, atol=1e-9)
    for column in ("rank", "score", "grade", "top_reasons", "reason_1", "risk_1", "model_version"):
        assert got[column].tolist() == expected[column].tolist(), column
    np.testing.assert_allclose(got["engagement_score"], expected["engagement_score"], atol=1e-9)
    assert sorted(got["rank"]) == list(range(1, len(got) + 1))
    assert set(got["model_version"]) == {"leadml-lead-scoring/1"} and str(got["scored_at"].dt.tz) == "UTC"
    rejects = partition(Path(f"{sink}_rejects"), AS_OF)
    local_rejects = pd.read_csv(tmp_path / "local.rejects.csv", dtype=str)
    assert rejects[["lead_id", "reason"]].values.tolist() == local_rejects.values.tolist() == [
        ["L00000001", "duplicate lead_id with conflicting values"]]

    summary(invoke("score", "--config", config, "--as-of", EARLIER, "--out", str(sink), "--engine", "spark", "--lang",
                   "de", "--json"))
    summary(invoke("score", "--config", config, "--as-of", EARLIER, "--out", str(tmp_path / "de.parquet"), "--lang",
                   "de", "--json"))
    german = pd.read_parquet(tmp_path / "de.parquet").sort_values("lead_id")["top_reasons"].tolist()
    assert partition(sink, EARLIER).sort_values("lead_id")["top_reasons"].tolist() == german  # worded alike
    assert sum("Tag" in reasons for reasons in german) > len(german) / 2  # and in German
    rerun = summary(invoke("score", "--config", config, "--as-of", AS_OF, "--out", str(sink),
                           "--engine", "spark", "--json"))
    assert rerun["scored"] == on_spark["scored"]
    again = partition(sink, AS_OF)
    assert len(again) == on_spark["scored"] and again["lead_id"].is_unique  # replaced, not appended
    october = partition(sink, EARLIER).set_index("lead_id")["score"]
    both = again[again["lead_id"].isin(october.index)]
    assert (both["score_change"] == both["score"] - october.reindex(both["lead_id"]).to_numpy()).all()
    assert set(both["trend"]) <= {"up", "down", "flat"} and (again.loc[~again["lead_id"].isin(october.index),
                                                                       "trend"] == "new").all()


@pytest.fixture
def jdbc_jar() -> None:
    if not JDBC_JAR.is_file():
        if os.environ.get("CI"):
            pytest.fail("the PostgreSQL JDBC driver is not installed: .ci/run must install libpostgresql-jdbc-java")
        pytest.skip("PostgreSQL JDBC driver not installed (apt-get install libpostgresql-jdbc-java)")


def test_postgres_source_and_sink_over_jdbc(world: Path, tmp_path: Path, postgres_server, pg_env, jdbc_jar) -> None:
    url = postgres_server.create_database("spark_lake")
    write_database(generate_chunks(GenerateSpec(leads=1500, seed=5, end=END, chunk_size=1500)), url)
    import psycopg

    from tests.pgserver import PASSWORD

    with psycopg.connect(url, password=PASSWORD) as con:  # id-less rows: both engines must count them
        con.execute("INSERT INTO leads (lead_id, created_at) VALUES (NULL, '2026-01-05'), ('  ', '2026-01-06')")
    config = str(world / "config.yaml")
    local = summary(invoke("features", "--config", config, "--data", url, "--as-of", AS_OF,
                           "--out", str(tmp_path / "local.parquet"), "--json"))
    first = summary(invoke("features", "--config", config, "--data", url, "--as-of", AS_OF, "--out", url, "--engine",
                           "spark", "--json"))
    assert first["rows"] == local["rows"] > 1000 and "s3cret" not in json.dumps(first)
    assert first["data_quality"] == local["data_quality"]
    assert first["data_quality"]["leads: rows without lead_id"] == 2

    with psycopg.connect(url, password=PASSWORD) as con:
        got = pd.DataFrame(con.execute("SELECT * FROM lead_features").fetchall(),
                           columns=[d.name for d in con.execute("SELECT * FROM lead_features LIMIT 0").description])
    expected = pd.read_parquet(tmp_path / "local.parquet")
    got = got[expected.columns].sort_values("lead_id").reset_index(drop=True)
    expected = expected.sort_values("lead_id").reset_index(drop=True)
    assert (got["as_of"] == expected["as_of"]).all()
    numeric = [c for c in expected.columns if expected[c].dtype == "float64"]
    np.testing.assert_array_equal(got[numeric].to_numpy(dtype="float64"), expected[numeric].to_numpy())
    for column in set(expected.columns) - set(numeric) - {"as_of"}:
        assert got[column].fillna("-").tolist() == expected[column].fillna("-").tolist(), column

    summary(invoke("features", "--config", config, "--data", url, "--as-of", EARLIER, "--out", url, "--engine",
                   "spark", "--json"))
    summary(invoke("features", "--config", config, "--data", url, "--as-of", AS_OF, "--out", url, "--engine", "spark",
                   "--json"))
    with psycopg.connect(url, password=PASSWORD) as con:
        per_as_of = dict(con.execute("SELECT as_of::date::text, count(*) FROM lead_features GROUP BY 1").fetchall())
        leftovers = con.execute("SELECT count(*) FROM pg_tables WHERE tablename LIKE '%staging%'").fetchone()[0]
    assert per_as_of[AS_OF] == first["rows"] and 0 < per_as_of[EARLIER] < first["rows"] and leftovers == 0


def test_spark_engine_refuses_what_it_cannot_do(world: Path, tmp_path: Path, tiny_db: Path) -> None:
    config = str(world / "config.yaml")
    result = invoke("score", "--config", config, "--engine", "spark", "--write-back", "--out", str(tmp_path / "s"))
    assert result.exit_code == 1 and "--write-back belongs to the local engine" in result.output
    result = invoke("features", "--config", config, "--engine", "spark", "--data", str(tiny_db),
                    "--out", str(tmp_path / "f"))
    assert result.exit_code == 1 and "not a DuckDB file" in result.output
    empty = tmp_path / "empty"
    empty.mkdir()
    result = invoke("features", "--config", config, "--engine", "spark", "--data", str(empty),
                    "--out", str(tmp_path / "f"))
    assert result.exit_code == 1 and "table leads: no leads.parquet" in result.output
