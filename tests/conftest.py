"""Shared fixtures: small generated lead databases, a config that writes only under tmp, the command line
run in-process (``invoke``), and one champion trained per session that tests copy rather than retrain."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

if os.environ.get("PYTEST_XDIST_WORKER"):  # a core per worker, set before LightGBM's OpenMP reads it: two workers
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # of two threads each spin-wait (X Education: 57 s, not 36)

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import Result
from typer.testing import CliRunner

from leadml.config import load_config
from leadml.data.contract import LeadTables
from leadml.data.demo_generator import GenerateSpec, generate_chunks
from leadml.data.sources import write_database

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SHARED_ENV = "LEADML_SHARED_DIR"  # where ../shared is elsewhere (e.g. a git worktree): the folder itself
END = pd.Timestamp("2026-11-01", tz="UTC")
AS_OF = "2026-11-01"  # the moment the session's champion is trained as of


OVERRIDES = ("MLFLOW_TRACKING_URI", "LEADML_TRACKING_URI", "LEADML_DATABASE_URL")


def _forget_overrides() -> None:
    for name in OVERRIDES:
        os.environ.pop(name, None)


@pytest.fixture(autouse=True, scope="session")
def _no_outside_tracking_in_session() -> None:
    """Session and module fixtures never write to a store named by the caller's environment."""
    _forget_overrides()


@pytest.fixture(autouse=True)
def _no_outside_tracking():
    """Tests never write to a tracking server or database named by the caller's environment, nor by an
    earlier test: ``mlflow.set_tracking_uri`` leaves its URI in ``MLFLOW_TRACKING_URI``, which the next
    fixture's config would take as an override, so it is forgotten after every test too."""
    _forget_overrides()
    yield
    _forget_overrides()


# The files that take longest (measured: `--durations`), longest first. Under `pytest -n 2 --dist loadfile
# --no-loadscope-reorder` (the Makefile's) files go to whichever worker is free in collection order, so a long
# file collected last keeps one worker busy while the other idles: started first, the long files run beside the
# many short ones. (xdist's default order, by the number of tests in a file, knows nothing of their time.)
LONGEST_FIRST = ("spark/test_spark.py", "app/test_monitoring_cli.py", "modeling/test_flat.py", "app/test_cli.py",
                 "app/test_notebooks.py", "modeling/test_train.py", "reporting/test_report_browser.py",
                 "app/test_no_lift.py", "robustness/test_operations.py", "app/test_batch_scoring.py",
                 "robustness/test_bad_data.py", "robustness/test_fuzz.py", "app/test_flat_scoring.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Collect the longest files first (a stable sort: the order within a file stays)."""
    def place(item: pytest.Item) -> int:
        path = item.nodeid.split("::", 1)[0].removeprefix("tests/")
        return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=place)


def invoke(*args: str | Path) -> Result:
    """Run ``leadml ARGS...`` in this process (typer's CliRunner, stderr apart) and return the result unchecked."""
    from leadml.cli import app

    return CliRunner().invoke(app, [str(arg) for arg in args])


def summary(result: Result, code: int = 0) -> dict:
    """The JSON summary that a ``--json`` command printed last, once its exit code is ``code``."""
    assert result.exit_code == code, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


def write_config(folder: Path, **overrides: object) -> Path:
    """Write a test config whose every output lives under ``folder``.

    Scoring runs log no MLflow monitoring run here (``monitoring: {mlflow: false}``): a test that checks
    that run gives ``monitoring={"mlflow": True}``.
    """
    config = {
        "data": {"source": str(folder / "leads.duckdb"), "chunk_size": 1500},
        "generate": {"leads": 4000, "seed": 7, "end": str(END.date()), "days": 730, "chunk_size": 2000},
        "training": {"min_positives": 20, "cutoffs": {"count": 12}},
        "model": {"num_boost_round": 400, "early_stopping_rounds": 40, "params": {"learning_rate": 0.05}},
        "tracking": {"uri": f"sqlite:///{folder / 'mlflow.db'}", "artifact_root": str(folder / "mlartifacts")},
        "export": {"path": str(folder / "scored.csv")},
        "models_dir": str(folder / "models"),
        "monitoring": {"mlflow": False},
    }
    for key, value in overrides.items():
        config[key] = value
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def postgres_server():
    """A throwaway PostgreSQL server; skipped where the server is not installed, except in CI."""
    from tests.pgserver import PostgresServer, binaries

    if binaries() is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed: .ci/run must install it")
        pytest.skip("PostgreSQL server binaries not installed (apt-get install postgresql)")
    server = PostgresServer()
    yield server
    server.stop()


@pytest.fixture
def pg_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials for the test server come from the environment, as in production."""
    from tests.pgserver import PASSWORD

    monkeypatch.setenv("PGPASSWORD", PASSWORD)


def shared_dir() -> Path:
    """The shared folder beside the repository (``../shared``), or the one ``LEADML_SHARED_DIR`` names."""
    return Path(os.environ.get(SHARED_ENV) or SHARED)


@pytest.fixture(scope="session")
def x_education_dir() -> Path:
    """The public X Education lead file, read in place: its license is unknown, it is never copied here."""
    folder = shared_dir() / "data" / "x_education"
    if not (folder / "Leads.csv").is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{folder / 'Leads.csv'} is missing: CI must provide ../shared/data/x_education")
        pytest.skip(f"X Education data not found at {folder} (set {SHARED_ENV} to the folder holding data/)")
    return folder


@pytest.fixture(scope="session")
def tiny_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated 4,000-lead DuckDB database over two years."""
    path = tmp_path_factory.mktemp("db") / "leads.duckdb"
    write_database(generate_chunks(GenerateSpec(leads=4000, seed=7, end=END, chunk_size=2000)), path)
    return path


@pytest.fixture(scope="session")
def tiny_tables() -> LeadTables:
    """A small generated database held in memory (600 leads)."""
    chunks = list(generate_chunks(GenerateSpec(leads=600, seed=3, end=END, chunk_size=600)))
    return chunks[0]


@pytest.fixture
def config_file(tmp_path: Path, tiny_db: Path) -> Path:
    path = write_config(tmp_path)
    (tmp_path / "leads.duckdb").write_bytes(tiny_db.read_bytes())
    return path


@pytest.fixture
def config(config_file: Path):
    return load_config(config_file, env={})


@dataclass(frozen=True)
class Trained:
    """A folder holding a config, the tiny database, an MLflow store with a registered champion and the
    champion's local copy, with what ``leadml train --json`` printed when it was trained."""

    folder: Path
    summary: dict

    @property
    def config(self) -> Path:
        return self.folder / "config.yaml"

    @property
    def db(self) -> Path:
        return self.folder / "leads.duckdb"

    @property
    def model(self) -> Path:
        """The champion's local model folder (``--model`` takes it)."""
        return Path(self.summary["local_model"])

    def copy_to(self, target: Path) -> Trained:
        """The same folder under ``target``, pointing to itself: its config, the MLflow store's artifact
        locations and the summary's paths name ``target``, so whatever a test writes stays there."""
        shutil.copytree(self.folder, target)
        write_config(target)
        old, new = str(self.folder), str(target)
        con = sqlite3.connect(target / "mlflow.db")
        try:
            tables = [row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            for table in tables:
                for column in [row[1] for row in con.execute(f'PRAGMA table_info("{table}")')]:
                    con.execute(f'UPDATE "{table}" SET "{column}" = replace("{column}", ?, ?) '
                                f'WHERE typeof("{column}") = \'text\' AND instr("{column}", ?) > 0', (old, new, old))
            con.commit()
        finally:
            con.close()
        return Trained(target, json.loads(json.dumps(self.summary).replace(json.dumps(old)[1:-1],
                                                                            json.dumps(new)[1:-1])))


@pytest.fixture(scope="session")
def trained_session(tmp_path_factory: pytest.TempPathFactory, tiny_db: Path) -> Trained:
    """The champion trained once per session on the tiny database with ``write_config``'s settings, as of
    ``AS_OF``. Read it, never write to it: a test that scores, writes back or trains takes ``trained``.

    Under pytest-xdist the workers of one run share it: the first to get here trains under a lock in their
    common temporary folder, the others wait for it and read the same folder.
    """
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the run's folder, above each worker's own
    folder, done = root / "trained-session", root / "trained-session.json"
    with open(root / "trained-session.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            shutil.copy(tiny_db, folder / "leads.duckdb")
            _forget_overrides()  # an earlier test's mlflow.set_tracking_uri would send the run elsewhere
            trained = summary(invoke("train", "--config", write_config(folder), "--as-of", AS_OF, "--json"))
            done.write_text(json.dumps(trained), encoding="utf-8")
    return Trained(folder, json.loads(done.read_text(encoding="utf-8")))


@pytest.fixture
def trained(trained_session: Trained, tmp_path: Path) -> Trained:
    """This test's own copy of the session's trained folder (database, MLflow store, models): a copy, not
    a retraining."""
    return trained_session.copy_to(tmp_path / "trained")


def lightgbm_matrix(prepared: pd.DataFrame) -> np.ndarray:
    """The float matrix LightGBM makes of a prepared frame (category codes, NaN for missing): what the
    explainer is given in the tests, and what ``LeadModel.design`` must equal."""
    return np.column_stack([
        np.where(column.cat.codes < 0, np.nan, column.cat.codes).astype("float64")
        if isinstance(column.dtype, pd.CategoricalDtype) else column.to_numpy(dtype="float64", na_value=np.nan)
        for _, column in prepared.items()])
