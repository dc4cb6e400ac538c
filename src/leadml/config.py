"""Typed, frozen configuration loaded from YAML; unknown keys are errors.

Secrets and locations that differ per machine come from the environment:
``LEADML_DATABASE_URL`` overrides ``data.source`` and ``LEADML_TRACKING_URI`` (or MLflow's own
``MLFLOW_TRACKING_URI``) overrides ``tracking.uri``. Nothing here runs at import time.
"""

from __future__ import annotations

import difflib
import os
import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

DEFAULT_CONFIG = Path("configs/default.yaml")
# The contract's lead columns: the only ones ever read from a leads table, and the names a mapping may
# target. Declared here, where mappings are validated; leadml.data.contract takes them from here.
LEAD_COLUMNS = ("lead_id", "created_at", "source", "country", "industry", "job_title", "email",
                "employees", "annual_revenue", "declared_budget")

# The activity types the engagement features count one by one (any other type counts as "other"):
# the targets a mapping may give an activity table's rows.
CORE_ACTIVITY_TYPES = (
    "email_sent", "email_open", "email_click", "email_reply", "email_bounce", "unsubscribe",
    "newsletter_signup", "web_visit", "pricing_page_view", "content_download", "form_submitted",
    "webinar_registered", "webinar_attended", "event_attended", "free_trial_started", "product_login",
    "demo_requested", "meeting_booked", "meeting_held", "call_connected",
)


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
    dominance_columns: int = Field(3, ge=0, description="the most important features refitted without, one by one, "
                                                        "to see whether one carries the model (0: skip)")
    dominance_share: float = Field(0.25, gt=0.0, le=1.0, description="warn when dropping one feature takes this "
                                                                      "share of the model's lift over chance")


class ModelConfig(_Frozen):
    params: dict[str, Any] = Field(default_factory=dict)
    num_boost_round: int = Field(2000, gt=0)
    early_stopping_rounds: int = Field(100, gt=0)
    calibration: Literal["sigmoid", "isotonic"] = "sigmoid"
    class_weight: Literal["none", "sqrt_balanced", "balanced"] = "sqrt_balanced"


class EvaluationConfig(_Frozen):
    """How figures are measured and when they are too few to trust."""

    sales_capacity: int = Field(200, gt=0, description="leads sales can work per horizon: precision at top K")
    min_conversions: int = Field(120, ge=1, description="fewer conversions among the test leads: the figures are "
                                                       "flagged as resting on too few (Salesforce asks for 120)")
    min_grade_leads: int = Field(30, ge=1, description="a grade with fewer scored leads than this: too few to tell")
    bootstrap_resamples: int = Field(500, ge=50, description="resamples behind every 95% interval")


class PromotionConfig(_Frozen):
    """When a newly trained model (challenger) replaces the champion, on the same test rows."""

    metric: Literal["roc_auc", "pr_auc"] = "roc_auc"
    min_improvement: float = Field(0.0, description="challenger must beat the champion's metric by this")
    max_brier_increase: float = Field(0.0, ge=0.0, description="calibration may not get worse by more")
    max_champion_age_days: int | None = Field(
        90, gt=0, description="a champion trained longer ago than this gives way to a challenger that is close")
    stale_champion_min_ratio: float = Field(
        0.95, gt=0.0, le=1.0, description="... close: reaching this share of the old champion's metric")
    require_lift: bool = Field(True, description="a model whose ROC AUC interval reaches 0.5, or that is worse than "
                                                 "the best simple baseline beyond its interval, never becomes champion")


class MonitoringConfig(_Frozen):
    """What each scoring run checks against the model's training profile, and what it does about it."""

    psi_warning: float = Field(0.25, gt=0.0, description="a feature's PSI above this marks drift")
    score_psi_warning: float = Field(0.25, gt=0.0, description="the score distribution's PSI above this marks drift")
    grade_share_change: float = Field(0.05, gt=0.0, le=1.0, description="a grade's share moving more marks drift")
    base_rate_ratio: float = Field(1.5, gt=1.0, description="mean probability vs expected base rate, either way")
    min_rows: int = Field(500, ge=1, description="fewer scored leads than this: drift is reported, never warned")
    max_data_age_days: float = Field(2.0, gt=0.0, description="no activity in this many days before T: stale")
    fail_on_drift: bool = Field(False, description="exit 3 after publishing when drift is marked")
    fail_on_stale: bool = Field(False, description="exit 4 after publishing when the source is stale")
    mlflow: bool = Field(True, description="log each scoring run's checks as an MLflow monitoring run")
    outcome_runs: int = Field(12, ge=1, description="leadml monitor: the latest scoring runs whose horizon passed")


IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]{0,62}$"


ValueType = Literal["numeric", "categorical", "flag"]


class MappedFeature(_Frozen):
    """An extra column of the user's data that becomes a feature: its family and value type."""

    family: Literal["fit", "engagement", "budget"] = Field(description="the sub-score it adds to")
    type: ValueType = Field(description="numeric (as people write numbers), categorical, or flag (yes/no words)")
    name: str | None = Field(None, pattern=IDENTIFIER, description="feature name; default: the column in snake_case")
    min: float | None = Field(None, description="smaller values are implausible: set missing and reported")
    max: float | None = Field(None, description="larger values are implausible: set missing and reported")


class ExcludedColumn(_Frozen):
    """A column known only after the outcome: never a feature; the reason is logged with every run."""

    reason: str = Field(min_length=3, description="why it is known only after the outcome (logged with every run)")
    type: ValueType = Field("categorical", description="how it enters the comparison run that shows the leak")


class FeaturesConfig(_Frozen):
    windows_days: tuple[int, ...] = (7, 30, 90)
    half_lives_days: tuple[int, ...] = (7, 30)
    max_categories: int = Field(50, gt=1, description="most frequent values kept per categorical")
    lead_columns: dict[str, MappedFeature] = Field(
        default_factory=dict, description="the leads table's own columns that are features; set by "
                                          "mapping.leads.features of a table mapping, never by hand")

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




class GradesConfig(_Frozen):
    """How probabilities become grades, best grade first: by probability floors (a grade means a chance), by the
    capacity of the sales team (A = the N best leads it can work per horizon) or by shares of the population."""

    policy: Literal["floors", "capacity", "shares"] = Field(
        "floors", description="floors: a probability per grade; capacity: the N best leads; shares: the best x%")
    floors: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_FLOORS),
                                     description="grade -> lowest probability, best first, the last 0.0")
    capacity: dict[str, int | None] = Field(default_factory=lambda: dict(DEFAULT_CAPACITY),
                                            description="grade -> leads, best first, the last null (the rest)")
    shares: dict[str, float | None] = Field(default_factory=lambda: dict(DEFAULT_SHARES),
                                            description="grade -> share of leads, best first, the last null (the rest)")

    @model_validator(mode="before")
    @classmethod
    def _floors_alone(cls, data: Any) -> Any:
        """``grades: {A: 0.2, ..., D: 0.0}`` (grade -> floor, as before policies existed) means floors."""
        if isinstance(data, dict) and data and all(isinstance(v, int | float) for v in data.values()):
            return {"policy": "floors", "floors": data}
        return data

    @model_validator(mode="after")
    def _bounds_fit(self) -> GradesConfig:
        floors = list(self.floors.values())
        if not floors or floors != sorted(floors, reverse=True) or floors[-1] != 0.0:
            raise ValueError("grades.floors: map grades to descending probability floors ending at 0.0")
        for key, ceiling in (("capacity", None), ("shares", 1.0)):
            bounds = list(getattr(self, key).values())
            if len(bounds) < 2 or bounds[-1] is not None or any(b is None or b <= 0 for b in bounds[:-1]):
                raise ValueError(f"grades.{key}: map grades, best first, to positive numbers; the last grade to null "
                                 "(the rest)")
            if ceiling is not None and sum(bounds[:-1]) > ceiling:
                raise ValueError(f"grades.{key}: the shares add up to more than 1")
        return self

    def names(self) -> list[str]:
        """The grades of the policy in use, best first."""
        return list(self.bounds())

    def bounds(self) -> dict[str, float | int | None]:
        """The policy in use: grade -> floor, leads or share."""
        return dict(getattr(self, self.policy))


DEFAULT_FLOORS = {"A": 0.20, "B": 0.08, "C": 0.02, "D": 0.0}
DEFAULT_CAPACITY = {"A": 200, "B": 400, "C": 800, "D": None}
DEFAULT_SHARES = {"A": 0.05, "B": 0.15, "C": 0.30, "D": None}


class ExportConfig(_Frozen):
    path: str = "data/scored_leads.csv"
    top_reasons: int = Field(3, ge=1, le=10)
    explainer: Literal["treeshap", "path"] = Field(
        "treeshap", description="contributions behind reasons: exact TreeSHAP (computed once per decision pattern of "
        "each tree), or path attribution (cheaper, not TreeSHAP)")
    scores_table: str = Field("lead_scores", pattern=IDENTIFIER, description="write-back: the latest scores")
    history_table: str = Field("lead_score_history", pattern=IDENTIFIER, description="write-back: every run")
    lang: Literal["en", "de"] = Field("en", description="language of reasons and of the report; columns stay English")
    display: tuple[str, ...] = Field((), description="columns of the leads table (the user's names) the export and "
                                                     "the report carry for people: never features, logs or MLflow")

    @field_validator("display")
    @classmethod
    def _display_is_more_than_the_id(cls, columns: tuple[str, ...]) -> tuple[str, ...]:
        """The lead id is in the export already; a column named twice would be written twice."""
        if "lead_id" in columns or len(set(columns)) < len(columns):
            raise ValueError("name each column once, and not lead_id: the export carries it already")
        return columns
    columns: dict[str, str] = Field(
        default_factory=dict, description="export column -> the CRM's field name (lead_id: Id, score: Lead_Score__c): "
        "the export file's header; readers map it back; write-back tables and Spark sinks keep leadml's names")
    only_mapped: bool = Field(False, description="write only the columns export.columns maps, in its order: the file "
                                                 "a CRM import takes as it is")
    date_format: str | None = Field(None, description="strftime of as_of and scored_at in CSV and Excel exports "
                                                      "(e.g. '%Y-%m-%d'); default ISO 8601; Parquet keeps timestamps")

    @model_validator(mode="after")
    def _crm_columns(self) -> ExportConfig:
        """Refuse a header a CRM import would choke on, and a date format leadml could not read back."""
        seen: dict[str, str] = {}
        for key, name in self.columns.items():
            if not name.strip() or name != name.strip() or not name.isprintable():
                raise ValueError(f"export.columns.{key}: give the CRM's field name, without surrounding spaces")
            if name.casefold() in seen:
                raise ValueError(f"export.columns.{key}: {name!r} is already the name of {seen[name.casefold()]}: "
                                 "CRM field names must be unique")
            seen[name.casefold()] = key
        if self.only_mapped and "lead_id" not in self.columns:
            raise ValueError("export.only_mapped: map lead_id in export.columns (e.g. lead_id: Id): the CRM matches "
                             "each row to its record by it")
        if self.date_format is not None:
            self._readable_date_format(self.date_format)
        return self

    @staticmethod
    def _readable_date_format(text: str) -> None:
        """Refuse a strftime format that fails, or whose dates cannot be parsed back to the same day."""
        from datetime import UTC, datetime

        probe = datetime(2031, 12, 28, 13, 45, 56, tzinfo=UTC)
        try:
            back = datetime.strptime(probe.strftime(text), text)
        except ValueError as exc:
            raise ValueError(f"export.date_format: {text!r} is not a strftime format leadml can read back ({exc})"
                             ) from None
        if back.date() != probe.date():
            raise ValueError(f"export.date_format: {text!r} must give the year, month and day (e.g. '%Y-%m-%d')")


class ReportConfig(_Frozen):
    """The sales-ops HTML report (``leadml report``)."""

    path: str = "data/report.html"
    top_leads: int = Field(25, ge=1, le=1000, description="best-ranked leads listed with their reasons")
    movers: int = Field(10, ge=1, le=1000, description="new A leads and movers up and down listed")
    outcome: dict[Literal["en", "de"], str] = Field(
        default_factory=lambda: {"en": "became opportunities", "de": "wurden zur Verkaufschance"},
        description="what the label means, per language, as in \"of leads graded A, 38% became opportunities\"")

    @field_validator("outcome")
    @classmethod
    def _outcome_said(cls, words: dict[str, str]) -> dict[str, str]:
        if not words or not all(w.strip() for w in words.values()):
            raise ValueError("give the outcome's words, e.g. {en: closed a deal, de: führten zu einem Abschluss}")
        return words


class LabelMapping(_Frozen):
    """The outcome: a flag or status column with the values that mean converted, or an opportunities file."""

    column: str | None = Field(None, description="the user's column holding the outcome")
    positive: tuple[str, ...] = Field((), description="values of the column that mean converted (any case)")
    negative: tuple[str, ...] = Field((), description="if given, values in neither list are rejected")
    opportunities: str | None = Field(None, description="file in data.source: a lead converted if it is listed")
    lead_id: str | None = Field(None, description="the lead id column of that file; default: the leads' one")

    @model_validator(mode="after")
    def _one_definition(self) -> LabelMapping:
        if (self.column is None) == (self.opportunities is None):
            raise ValueError("define the label by exactly one of column (with positive values) or opportunities")
        if self.column is not None and not self.positive:
            raise ValueError("label.positive: list the values of the label column that mean converted")
        return self


ROW_ID = "@row"


class CsvOptions(_Frozen):
    """How delimited text files are written; ``auto`` is sniffed where unambiguous (else a one-line error)."""

    sep: str = Field("auto", description="auto, or the separator: ',', ';', tab, '|'")
    encoding: str = Field("auto", description="auto (UTF-8, else Windows-1252), or a Python codec name")
    quote: str = Field('"', min_length=1, max_length=1, description="the character that quotes a field")


class MappingConfig(_Frozen):
    """How a user's export maps onto the contract. ``flat``: one row per lead, engagement pre-aggregated,
    no history; evaluated by cross-validation (by creation time when created_at is mapped)."""

    layout: Literal["flat"] = Field(description="flat: one row per lead")
    leads: str | None = Field(None, description="file in data.source; none when data.source is the file")
    csv: CsvOptions = Field(default_factory=lambda: CsvOptions(), description="how the files are written")
    columns: dict[str, str] = Field(default_factory=dict, description="contract column -> the user's column; "
                                    "lead_id may be '@row': the row number")
    dates: dict[str, str] = Field(default_factory=dict, description="the user's date column -> strftime format")
    dayfirst: bool = Field(False, description="dates without a format are day-first (31/12/2024)")
    label: LabelMapping
    features: dict[str, MappedFeature] = Field(default_factory=dict, description="the user's column -> feature")
    exclude: dict[str, ExcludedColumn] = Field(default_factory=dict, description="the user's column -> why")
    missing_values: tuple[str, ...] = Field(("", "select", "unknown", "n/a", "na", "null", "none", "nan", "-", "?"),
                                            description="placeholders that mean missing (any case)")
    cv_folds: int = Field(5, ge=2, le=20, description="folds of the cross-validation")
    outlier_fence: float = Field(3.0, gt=0, description="clip beyond the 1st/99th percentile by this many ranges")
    compare_excluded: bool = Field(True, description="also cross-validate with the excluded columns, to show the leak")

    @field_validator("columns")
    @classmethod
    def _contract_columns(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(LEAD_COLUMNS))
        if unknown:
            raise ValueError(f"not contract lead columns: {', '.join(unknown)} (use {', '.join(LEAD_COLUMNS)})")
        return value

    @model_validator(mode="after")
    def _each_column_once(self) -> MappingConfig:
        if "lead_id" not in self.columns:
            raise ValueError(f"columns.lead_id: name the column that identifies a lead, or {ROW_ID!r}")
        if self.columns["lead_id"] == ROW_ID and self.label.opportunities:
            raise ValueError(f"label.opportunities: its leads cannot be found by row number ({ROW_ID!r} in "
                             "columns.lead_id): map the leads' id column, or define the label by a column")
        undated = sorted(set(self.dates) - {self.columns.get("created_at")})
        if undated:
            raise ValueError(f"dates: {undated[0]!r} is not the mapped date column (columns.created_at)")
        uses: dict[str, list[str]] = {}
        for role, names in (("columns", self.columns.values()), ("features", self.features),
                            ("exclude", self.exclude), ("label", [self.label.column] if self.label.column else [])):
            for name in names:
                uses.setdefault(name, []).append(role)
        twice = {name: roles for name, roles in uses.items() if len(roles) > 1}
        if twice:
            raise ValueError("a column has one role only: " + "; ".join(f"{n!r} in {', '.join(r)}"
                                                                          for n, r in twice.items()))
        return self



class SourceTable(_Frozen):
    """One of the user's tables mapped onto a contract table: where it is, its id and its columns."""

    file: str = Field(min_length=1, description="a file or folder in data.source, or a table of a database")
    csv: CsvOptions | None = Field(None, description="this file's own CSV settings; default mapping.csv")
    id: str | None = Field(None, description=f"the column that identifies a row, or {ROW_ID!r}: the row number")
    columns: dict[str, str] = Field(default_factory=dict, description="contract column -> the user's column")
    dates: dict[str, str] = Field(default_factory=dict, description="the user's date column -> strftime format")
    dayfirst: bool = Field(False, description="dates without a format are day-first (31/12/2024)")
    where: dict[str, tuple[str, ...]] = Field(
        default_factory=dict, description="the user's column -> the values of the rows to use (any case); "
                                          "the other rows are dropped and counted")

    def _check_columns(self, allowed: tuple[str, ...], required: tuple[str, ...], id_name: str) -> None:
        unknown = sorted(set(self.columns) - set(allowed))
        if unknown:
            raise ValueError(f"columns: not contract columns of this table: {', '.join(unknown)} "
                             f"(use {', '.join(allowed)}; the id goes in id)")
        missing = [c for c in required if c not in self.columns and not (c == id_name and self.id)]
        if missing:
            raise ValueError(f"columns.{missing[0]}: name the user's column for {missing[0]}")
        if id_name in self.columns and self.id:
            raise ValueError(f"give the id once: id or columns.{id_name}")


class LeadsTable(SourceTable):
    """The user's leads: one row per lead. The id is the lead id. Its own columns become features only when
    named in ``features`` (known when the lead was created, as the user declares); ``exclude`` records why the
    others that look useful are not (logged with every run)."""

    features: dict[str, MappedFeature] = Field(default_factory=dict, description="the user's column -> feature")
    exclude: dict[str, ExcludedColumn] = Field(default_factory=dict, description="the user's column -> why not")

    @model_validator(mode="after")
    def _contract(self) -> LeadsTable:
        self._check_columns(tuple(c for c in LEAD_COLUMNS if c != "lead_id"), ("created_at",), "lead_id")
        if not self.id:
            raise ValueError(f"id: name the lead id column, or {ROW_ID!r} for the row number")
        mapped = {self.id, *self.columns.values()}
        for key, names in (("features", self.features), ("exclude", self.exclude)):
            twice = sorted(mapped.intersection(names))
            if twice:
                raise ValueError(f"{key}: {twice[0]!r} is already mapped as the id or a contract column")
        both = sorted(set(self.features) & set(self.exclude))
        if both:
            raise ValueError(f"features and exclude both name {both[0]!r}: a column has one role only")
        for column, name in self.feature_names().items():
            if name in LEAD_COLUMNS:
                raise ValueError(f"features.{column}: the name {name!r} is a contract column: "
                                 f"set features.{column}.name")
        return self

    def feature_names(self) -> dict[str, str]:
        """The user's column -> the name of its feature (and of its column in the mapped leads table)."""
        return {column: rule.name or snake_case(column) for column, rule in self.features.items()}


class ActivityTypeMapping(_Frozen):
    """The activity type of a table's rows: one constant value, or a column with values mapped."""

    value: str | None = Field(None, description="every row is this type (e.g. call_connected)")
    column: str | None = Field(None, description="the user's column holding the type")
    map: dict[str, str] = Field(default_factory=dict, description="the user's value -> contract type (any case)")
    other: str | None = Field(None, description="type for values not in map; default: kept as written")

    @model_validator(mode="after")
    def _one_definition(self) -> ActivityTypeMapping:
        if (self.value is None) == (self.column is None):
            raise ValueError("activity_type: give exactly one of value (a constant) or column (with map)")
        if self.value is not None and (self.map or self.other):
            raise ValueError("activity_type: map and other go with column, not value")
        targets = [("value", self.value), ("other", self.other), *((f"map.{k}", v) for k, v in self.map.items())]
        for key, target in targets:
            near = difflib.get_close_matches(target or "", CORE_ACTIVITY_TYPES, n=1, cutoff=0.75)
            if target is not None and target not in CORE_ACTIVITY_TYPES and near:  # a typo counts as "other"
                raise ValueError(f"activity_type.{key}: {target!r} is not an activity type leadml counts: did you "
                                 f"mean {near[0]!r}? (a type of your own, counted as other, needs another spelling)")
        return self


class ActivityTable(SourceTable):
    """One of the user's activity tables (calls, meetings, web sessions, e-mail touches, ...)."""

    activity_type: ActivityTypeMapping

    @model_validator(mode="after")
    def _contract(self) -> ActivityTable:
        self._check_columns(("lead_id", "occurred_at", "channel", "value"), ("lead_id", "occurred_at"), "activity_id")
        return self


class OpportunityTable(SourceTable):
    """The conversion: the rows of a table that meet a condition (``where``), at the moment of a time column."""

    @model_validator(mode="after")
    def _contract(self) -> OpportunityTable:
        self._check_columns(("lead_id", "created_at", "amount"), ("lead_id", "created_at"), "opportunity_id")
        return self


class TablesMapping(_Frozen):
    """How a user's CRM tables map onto the contract's leads, activities and opportunities."""

    layout: Literal["tables"] = Field(description="tables: the user's own tables, each mapped")
    csv: CsvOptions = CsvOptions()
    leads: LeadsTable
    activities: tuple[ActivityTable, ...] = Field((), description="one or more tables, each mapped on its own")
    opportunities: OpportunityTable | None = Field(None, description="none: no lead has converted yet")


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
    grades: GradesConfig = GradesConfig()
    evaluation: EvaluationConfig = EvaluationConfig()
    promotion: PromotionConfig = PromotionConfig()
    monitoring: MonitoringConfig = MonitoringConfig()
    tracking: TrackingConfig = TrackingConfig()
    export: ExportConfig = ExportConfig()
    report: ReportConfig = ReportConfig()
    spark: SparkConfig = SparkConfig()
    models_dir: str = "models"
    mapping: Annotated[MappingConfig | TablesMapping, Field(discriminator="layout")] | None = None

    @model_validator(mode="before")
    @classmethod
    def _lead_columns_from_mapping(cls, data: Any) -> Any:
        """A table mapping's lead features reach the feature settings, which every pipeline reads."""
        mapping = data.get("mapping") if isinstance(data, dict) else None
        leads = mapping.get("leads") if isinstance(mapping, dict) and mapping.get("layout") == "tables" else None
        columns = leads.get("features") if isinstance(leads, dict) else None
        features = data.get("features") if isinstance(data, dict) else None
        if isinstance(features, dict) and "lead_columns" in features:
            raise ValueError("features.lead_columns: name the leads table's feature columns in mapping.leads.features")
        if columns and isinstance(columns, dict):
            data = {**data, "features": {**(features or {}), "lead_columns": columns}}
        return data


def snake_case(column: str) -> str:
    """Return a column name as a snake_case identifier ("Total Time Spent" -> "total_time_spent")."""
    name = re.sub(r"[^0-9a-zA-Z]+", "_", column).strip("_").lower()
    return name if name and not name[0].isdigit() else f"f_{name}"


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
        problems = "; ".join(_problem(err) for err in exc.errors())
        raise ConfigError(f"{path}: {problems}") from None
    return apply_env(config, env)


def _problem(error: Any) -> str:
    """One config problem: the key, pydantic's message, and for an unknown key the nearest valid name."""
    tags = {_layout_of(m) for m in _models_in(Config.model_fields["mapping"].annotation)}
    loc = error["loc"]
    key = ".".join(str(p) for i, p in enumerate(loc) if not (i and loc[i - 1] == "mapping" and p in tags))
    if error["type"] != "extra_forbidden":
        return f"{key}: {error['msg']}"
    names = _field_names(error["loc"][:-1])
    near = difflib.get_close_matches(str(error["loc"][-1]), names, n=1, cutoff=0.5)
    hint = f" (did you mean {near[0]!r}?)" if near else (f" (valid: {', '.join(names)})" if names else "")
    return f"{key}: unknown key{hint}"


def _field_names(loc: tuple[Any, ...]) -> list[str]:
    """The keys valid at ``loc`` of the config (list indexes and union tags followed), or none if unknown."""
    candidates: list[Any] = [Config]
    for part in loc:
        found: list[Any] = []
        for model in candidates:
            if isinstance(part, int) or part not in getattr(model, "model_fields", {}):
                continue
            found += _models_in(model.model_fields[part].annotation)
        tagged = [m for m in candidates if isinstance(part, str) and _layout_of(m) == part]
        candidates = found or tagged or [m for m in candidates if isinstance(part, int)]
    return sorted({name for model in candidates for name in getattr(model, "model_fields", {})})


def _models_in(annotation: Any) -> list[Any]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models_in(arg)]


def _layout_of(model: Any) -> str | None:
    field = getattr(model, "model_fields", {}).get("layout")
    return get_args(field.annotation)[0] if field is not None and get_args(field.annotation) else None


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
