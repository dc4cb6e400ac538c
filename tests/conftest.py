"""Shared fixtures: small generated lead databases and a config that writes only under tmp."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
import yaml

from leadml.config import load_config
from leadml.data.contract import LeadTables
from leadml.data.demo_generator import GenerateSpec, generate_chunks
from leadml.data.sources import write_database

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SHARED_ENV = "LEADML_SHARED_DIR"  # where ../shared is elsewhere (e.g. a git worktree): the folder itself
END = pd.Timestamp("2026-11-01", tz="UTC")


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


def write_config(folder: Path, **overrides: object) -> Path:
    """Write a test config whose every output lives under ``folder``."""
    config = {
        "data": {"source": str(folder / "leads.duckdb"), "chunk_size": 1500},
        "generate": {"leads": 4000, "seed": 7, "end": str(END.date()), "days": 730, "chunk_size": 2000},
        "training": {"min_positives": 20, "cutoffs": {"count": 12}},
        "model": {"num_boost_round": 400, "early_stopping_rounds": 40, "params": {"learning_rate": 0.05}},
        "tracking": {"uri": f"sqlite:///{folder / 'mlflow.db'}", "artifact_root": str(folder / "mlartifacts")},
        "export": {"path": str(folder / "scored.csv")},
        "models_dir": str(folder / "models"),
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
