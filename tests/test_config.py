from pathlib import Path

import pytest

from leadml.config import Config, ConfigError, load_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_default_config_file_loads() -> None:
    config = load_config(Path(__file__).resolve().parents[1] / "configs" / "default.yaml", env={})
    assert config.horizon_days == 30
    assert config.tracking.uri.startswith("sqlite:///")
    assert config.grades.names() == ["A", "B", "C", "D"]


def test_the_default_grades_are_the_same_in_code_and_in_the_default_config() -> None:
    """A config without ``grades`` must grade as configs/default.yaml shows (it once got 30/15/5% against 20/8/2%)."""
    from_file = load_config(Path(__file__).resolve().parents[1] / "configs" / "default.yaml", env={})
    assert from_file.grades == Config().grades
    assert from_file.export == Config().export and from_file.report == Config().report


@pytest.mark.parametrize("text, match", [
    ("grades: {policy: capacity, capacity: {A: 100, B: 50}}\n", "grades.capacity: .*null"),
    ("grades: {policy: shares, shares: {A: 0.6, B: 0.5, C: null}}\n", "more than 1"),
    ("grades: {policy: deciles}\n", "grades.policy"),
])
def test_bad_grade_policies_are_errors_naming_the_key(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        load_config(write(tmp_path, text), env={})


@pytest.mark.parametrize("text, match", [
    ("horizon_days: 30\nsurprise: 1\n", "surprise"),
    ("model:\n  calibrate: sigmoid\n", "calibrate"),
    ("grades: {A: 0.1, B: 0.3, D: 0.0}\n", "descending"),
    ("horizon_days: -5\n", "horizon_days"),
    ("- a list\n", "mapping"),
])
def test_bad_configs_are_errors(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        load_config(write(tmp_path, text), env={})


def test_missing_named_config_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml", env={})


def test_environment_overrides_source_and_tracking(tmp_path: Path) -> None:
    path = write(tmp_path, "data: {source: from_file.duckdb}\ntracking: {uri: 'sqlite:///file.db'}\n")
    config = load_config(path, env={"LEADML_DATABASE_URL": "env.duckdb", "LEADML_TRACKING_URI": "sqlite:///env.db"})
    assert config.data.source == "env.duckdb"
    assert config.tracking.uri == "sqlite:///env.db"
    assert load_config(path, env={}).data.source == "from_file.duckdb"


def test_config_is_frozen(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "horizon_days: 14\n"), env={})
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen-instance error
        config.horizon_days = 3
