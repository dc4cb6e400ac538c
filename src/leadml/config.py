"""Typed, frozen configuration loaded from YAML; unknown keys are errors.

Secrets and locations that differ per machine come from the environment:
``LEADML_DATABASE_URL`` overrides ``data.source`` and ``LEADML_TRACKING_URI`` (or MLflow's own
``MLFLOW_TRACKING_URI``) overrides ``tracking.uri``. Nothing here runs at import time.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

DEFAULT_CONFIG = Path("configs/default.yaml")


class ConfigError(ValueError):
    """Raised when a config file is missing, malformed or has unknown keys."""


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(_Frozen):
    source: str = "data/leads.duckdb"
    chunk_size: int = Field(50_000, gt=0, description="leads per chunk when reading histories")


class GenerateConfig(_Frozen):
    leads: int = Field(20_000, gt=0)
    seed: int = 42
    end: date = date(2026, 11, 1)
    days: int = Field(730, gt=60, description="length of the generated history")
    chunk_size: int = Field(50_000, gt=0)


class CutoffsConfig(_Frozen):
    frequency: Literal["monthly", "weekly"] = "monthly"
    count: int = Field(12, ge=1, description="training cutoffs before the validation cutoff")


class TrainingConfig(_Frozen):
    cutoffs: CutoffsConfig = CutoffsConfig()
    min_positives: int = Field(100, ge=1, description="fewest conversions the training cutoffs may hold")
    seed: int = 42
    leakage_max_auc: float = Field(0.95, gt=0.5, le=1.0, description="single-feature ROC AUC that stops training")
    leakage_allow: tuple[str, ...] = ()


class ModelConfig(_Frozen):
    params: dict[str, Any] = Field(default_factory=dict)
    num_boost_round: int = Field(2000, gt=0)
    early_stopping_rounds: int = Field(100, gt=0)
    calibration: Literal["sigmoid", "isotonic"] = "sigmoid"
    class_weight: Literal["none", "sqrt_balanced", "balanced"] = "none"


class EvaluationConfig(_Frozen):
    sales_capacity: int = Field(200, gt=0, description="leads sales can work per horizon: precision at top K")


class PromotionConfig(_Frozen):
    """When a newly trained model (challenger) replaces the champion, on the same test rows."""

    metric: Literal["roc_auc", "pr_auc"] = "roc_auc"
    min_improvement: float = Field(0.0, description="challenger must beat the champion's metric by this")
    max_brier_increase: float = Field(0.0, ge=0.0, description="calibration may not get worse by more")


class FeaturesConfig(_Frozen):
    windows_days: tuple[int, ...] = (7, 30, 90)
    half_lives_days: tuple[int, ...] = (7, 30)
    max_categories: int = Field(50, gt=1, description="most frequent values kept per categorical")

    @field_validator("windows_days", "half_lives_days")
    @classmethod
    def _positive_sorted(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or any(w <= 0 for w in value):
            raise ValueError("must be a non-empty list of positive day counts")
        return tuple(sorted(set(value)))


class TrackingConfig(_Frozen):
    uri: str = "sqlite:///mlflow.db"
    artifact_root: str = "mlartifacts"
    experiment: str = "leadml"
    registered_model: str = Field("leadml-lead-scoring", pattern=r"^[A-Za-z0-9_.-]{1,100}$")


IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]{0,62}$"


class ExportConfig(_Frozen):
    path: str = "data/scored_leads.csv"
    top_reasons: int = Field(3, ge=1, le=10)
    explainer: Literal["treeshap", "path"] = Field(
        "treeshap", description="contributions behind reasons: exact TreeSHAP, or path attribution (~9x faster)")
    scores_table: str = Field("lead_scores", pattern=IDENTIFIER, description="write-back: the latest scores")
    history_table: str = Field("lead_score_history", pattern=IDENTIFIER, description="write-back: every run")


class SparkConfig(_Frozen):
    """The Spark engine (``--engine spark``). Under spark-submit the cluster's own settings win."""

    master: str = Field("local[2]", description="used only outside spark-submit")
    driver_memory: str = Field("2g", pattern=r"^\d+[kmgt]$", description="used only outside spark-submit")
    shuffle_partitions: int = Field(2, gt=0, description="spark.sql.shuffle.partitions unless already set")
    jars: tuple[str, ...] = Field(("/usr/share/java/postgresql.jar",),
                                  description="JDBC driver jars (Debian: libpostgresql-jdbc-java), local mode only")
    features_table: str = Field("lead_features", pattern=IDENTIFIER, description="JDBC sink of features")
    scores_table: str = Field("scored_leads", pattern=IDENTIFIER, description="JDBC sink of scores")


class Config(_Frozen):
    data: DataConfig = DataConfig()
    generate: GenerateConfig = GenerateConfig()
    horizon_days: int = Field(30, gt=0)
    training: TrainingConfig = TrainingConfig()
    model: ModelConfig = ModelConfig()
    features: FeaturesConfig = FeaturesConfig()
    grades: dict[str, float] = Field(default_factory=lambda: {"A": 0.30, "B": 0.15, "C": 0.05, "D": 0.0})
    evaluation: EvaluationConfig = EvaluationConfig()
    promotion: PromotionConfig = PromotionConfig()
    tracking: TrackingConfig = TrackingConfig()
    export: ExportConfig = ExportConfig()
    spark: SparkConfig = SparkConfig()
    models_dir: str = "models"

    @model_validator(mode="after")
    def _grades_descend(self) -> Config:
        floors = list(self.grades.values())
        if not floors or floors != sorted(floors, reverse=True) or floors[-1] != 0.0:
            raise ValueError("grades must map names to descending probability floors ending at 0.0")
        return self


def load_config(path: str | Path | None = None, env: dict[str, str] | None = None) -> Config:
    """Load a YAML config, reject unknown keys and apply environment overrides."""
    path = Path(path) if path is not None else DEFAULT_CONFIG
    env = dict(os.environ) if env is None else env
    if path.exists():
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    elif path == DEFAULT_CONFIG:
        raw = {}
    else:
        raise ConfigError(f"config file not found: {path}")
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from None
    return apply_env(config, env)


def apply_env(config: Config, env: dict[str, str]) -> Config:
    """Return the config with database URL and tracking URI taken from the environment."""
    source = env.get("LEADML_DATABASE_URL")
    tracking = env.get("LEADML_TRACKING_URI") or env.get("MLFLOW_TRACKING_URI")
    if source:
        config = config.model_copy(update={"data": config.data.model_copy(update={"source": source})})
    if tracking:
        config = config.model_copy(
            update={"tracking": config.tracking.model_copy(update={"uri": tracking})}
        )
    return config
