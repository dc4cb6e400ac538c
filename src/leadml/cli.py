"""The command line: thin wrappers that load config, call a job, report and exit with a code.

Exit code 0 means the job did all of its work; 1 means bad input or config (the reason is one
line on stderr); 2 is a usage error. With ``--json`` the last line on stdout is one JSON object.
``score`` published everything but exits 3 (drift) or 4 (stale source) when ``monitoring`` in the
config asks for it (docs/monitoring.md).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from leadml.app import jobs
from leadml.config import Config, ConfigError, load_config

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="leadml: score leads by their probability of becoming a sales opportunity.")

ConfigOpt = Annotated[Path, typer.Option("--config", help="YAML config file.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object as the last line.")]
DataOpt = Annotated[str | None, typer.Option("--data", help="Folder of CSV/Parquet files or a .duckdb file.")]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="ISO date or timestamp (UTC); default now.")]
ModelOpt = Annotated[str | None, typer.Option(
    "--model", help="models:/NAME@ALIAS, models:/NAME/VERSION or a model folder; default the champion.")]
LangOpt = Annotated[str | None, typer.Option(
    "--lang", help="Language of reasons and headings: en or de (default export.lang); column names stay English.")]
DEFAULT_CONFIG = Path("configs/default.yaml")


class Engine(StrEnum):
    """Where the pipeline runs."""

    local = "local"
    spark = "spark"


EngineOpt = Annotated[Engine, typer.Option(
    "--engine", help="local: pandas, chunk by chunk; spark: the same pandas code per bucket on Spark "
    "(Parquet folder or PostgreSQL in, partitioned Parquet or PostgreSQL out; needs the spark extra).")]


def _run(job: Any, json_out: bool, render: Any = None) -> dict[str, Any]:
    """Run a job, print and return its result, and turn known failures into a one-line error and exit 1."""
    import duckdb
    import psycopg

    from leadml.data.clean import DataError
    from leadml.modeling.lead_model import ModelError
    from leadml.modeling.leakage import LeakageError
    from leadml.modeling.training import InsufficientDataError
    from leadml.reporting.publish_lock import BusyError
    from leadml.scoring.population import CoverageError

    try:
        result = job()
    except (ConfigError, DataError, LeakageError, ModelError, CoverageError, InsufficientDataError, BusyError,
            ValueError, OSError, duckdb.Error, psycopg.Error) as exc:
        typer.echo(f"leadml: error: {_one_line(exc)}", err=True)
        raise typer.Exit(1) from None
    if render is not None:
        render(result)
    if json_out:
        typer.echo(json.dumps(result, default=str))
    elif render is None:
        for key, value in result.items():
            typer.echo(f"{key}: {value}")
    return result


def _one_line(exc: BaseException) -> str:
    """The error as one line, with any credential removed (a driver may quote the connection)."""
    from leadml.data.sources import redact_location

    text = " ".join(str(exc).split()) or type(exc).__name__
    secret = os.environ.get("PGPASSWORD")
    return redact_location(text.replace(secret, "***") if secret else text)


def _config(path: Path) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        typer.echo(f"leadml: error: {exc}", err=True)
        raise typer.Exit(1) from None


def _contract_data(cfg: Config, command: str) -> None:
    """Stop commands that need the contract's tables when the config maps a flat export."""
    if cfg.mapping is not None:
        typer.echo(f"leadml: error: {command} needs the contract's leads/activities/opportunities tables; this "
                   "config maps a flat export (mapping.layout: flat), which `leadml train` cross-validates",
                   err=True)
        raise typer.Exit(1)


@app.command()
def generate(
    leads: Annotated[int, typer.Option("--leads", min=1, help="Number of leads.")] = 20_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed; the same seed gives the same data.")] = 42,
    out: Annotated[str, typer.Option("--out", help="A .duckdb file or a folder.")] = "data/leads.duckdb",
    fmt: Annotated[str, typer.Option("--format", help="Folder format: parquet or csv.")] = "parquet",
    config: ConfigOpt = DEFAULT_CONFIG, json_out: JsonOpt = False,
) -> None:
    """Write a realistic demo lead database (leads, activities, opportunities)."""
    cfg = _config(config)
    _run(lambda: jobs.generate(cfg, leads, seed, out, fmt), json_out)


@app.command()
def train(data: DataOpt = None, as_of: AsOfOpt = None,
          tune: Annotated[int, typer.Option("--tune", min=0, help="Optuna trials before the final fit.")] = 0,
          engine: EngineOpt = Engine.local, config: ConfigOpt = DEFAULT_CONFIG, json_out: JsonOpt = False) -> None:
    """Train as if today were --as-of; log to MLflow; register; promote to champion if it beats it.

    With a flat export (config mapping.layout: flat): cross-validate beside baselines and the leak."""
    cfg = _config(config)
    if cfg.mapping is not None:
        _run(lambda: jobs.train_flat(cfg, data or cfg.data.source, as_of, tune), json_out,
             lambda result: None if json_out else typer.echo(result["report"]))
        return
    _run(lambda: jobs.train(cfg, data or cfg.data.source, as_of, tune, engine.value), json_out)


@app.command()
def score(data: DataOpt = None, as_of: AsOfOpt = None,
          out: Annotated[str | None, typer.Option("--out", help="Export file: .csv, .parquet or .xlsx.")] = None,
          model: ModelOpt = None,
          write_back: Annotated[bool, typer.Option(
              "--write-back", help="Also write the scores into the source database (one transaction).")] = False,
          lang: LangOpt = None, engine: EngineOpt = Engine.local, config: ConfigOpt = DEFAULT_CONFIG,
          json_out: JsonOpt = False) -> None:
    """Score the population at --as-of; write the export, a rejects file and a manifest."""
    cfg = _config(config)
    _contract_data(cfg, "score")
    result = _run(lambda: jobs.score(cfg, data or cfg.data.source, as_of, out or cfg.export.path, model,
                                     write_back, lang, engine.value), json_out)
    if result.get("exit_code"):  # everything is published; the code tells a scheduler to look (docs/monitoring.md)
        raise typer.Exit(result["exit_code"])


@app.command()
def report(data: DataOpt = None, as_of: AsOfOpt = None,
           export: Annotated[str | None, typer.Option(
               "--export", help="The export of `leadml score` to report on (default export.path).")] = None,
           out: Annotated[str | None, typer.Option("--out", help="HTML file to write (default report.path).")] = None,
           previous: Annotated[str | None, typer.Option(
               "--previous", help="An earlier export to compare with, instead of the source's score history.")] = None,
           lang: LangOpt = None, config: ConfigOpt = DEFAULT_CONFIG, json_out: JsonOpt = False) -> None:
    """Write one self-contained HTML report for sales managers from the export of --as-of."""
    cfg = _config(config)
    _run(lambda: jobs.report(cfg, data or cfg.data.source, as_of, export or cfg.export.path, out or cfg.report.path,
                             lang, previous), json_out)


@app.command()
def evaluate(data: DataOpt = None, as_of: AsOfOpt = None, model: ModelOpt = None,
             config: ConfigOpt = DEFAULT_CONFIG, json_out: JsonOpt = False) -> None:
    """Score the population at --as-of and report how well it predicted the conversions after it."""
    cfg = _config(config)
    _contract_data(cfg, "evaluate")
    _run(lambda: jobs.evaluate(cfg, data or cfg.data.source, as_of, model), json_out)


@app.command()
def monitor(data: DataOpt = None, as_of: AsOfOpt = None,
            exports: Annotated[list[str] | None, typer.Option(
                "--exports", help="An earlier export (.csv/.parquet) to judge too; repeat for several.")] = None,
            out: Annotated[str | None, typer.Option("--out", help="Write the outcome report here (.json).")] = None,
            config: ConfigOpt = DEFAULT_CONFIG, json_out: JsonOpt = False) -> None:
    """Judge earlier scoring runs whose horizon has passed: realised conversion per grade vs the promise."""
    cfg = _config(config)

    def render(result: dict[str, Any]) -> None:
        if json_out:
            return
        for line in result["lines"] or [f"no scoring run has passed its horizon by {result['observed_until']}"]:
            typer.echo(line)
        for run in result["pending"]:
            typer.echo(f"pending: run as of {run['as_of'][:10]} ({run['model_version']}) until {run['horizon_end']}")

    _run(lambda: jobs.monitor(cfg, data or cfg.data.source, as_of, exports, out), json_out, render)


@app.command()
def retrain(data: DataOpt = None, as_of: AsOfOpt = None,
            out: Annotated[str | None, typer.Option(
                "--out", help="Decision record (.json); default MODELS_DIR/decisions/retrain-<as-of>.json.")] = None,
            config: ConfigOpt = DEFAULT_CONFIG, json_out: JsonOpt = False) -> None:
    """Train a challenger, compare it with the champion on the same cutoff, promote by the configured rule."""
    cfg = _config(config)

    def render(result: dict[str, Any]) -> None:
        if not json_out:
            typer.echo(f"{result['outcome']}: {result['reason']}\ndecision: {result['decision_file']}")

    _run(lambda: jobs.retrain(cfg, data or cfg.data.source, as_of, out), json_out, render)


@app.command()
def features(data: DataOpt = None, as_of: AsOfOpt = None,
             out: Annotated[str, typer.Option("--out", help="Matrix file: .parquet or .csv.")] = "features.parquet",
             list_: Annotated[bool, typer.Option("--list", help="Print the feature catalog instead.")] = False,
             markdown: Annotated[bool, typer.Option("--markdown", help="With --list: as Markdown.")] = False,
             engine: EngineOpt = Engine.local, config: ConfigOpt = DEFAULT_CONFIG, json_out: JsonOpt = False) -> None:
    """Write the feature matrix of the population at --as-of (one row per lead), or list the catalog."""
    cfg = _config(config)
    _contract_data(cfg, "features")
    if list_:
        from leadml.features.catalog import catalog_markdown, feature_catalog

        catalog = feature_catalog(cfg.features)
        if markdown:
            typer.echo(catalog_markdown(cfg.features))
        elif json_out:
            typer.echo(json.dumps([{"name": f.name, "family": f.family, "description": f.description,
                                    "type": f.kind, "computed": f.computed} for f in catalog]))
        else:
            for f in catalog:
                typer.echo(f"{f.name:34} {f.family:10} {f.description}")
        return
    _run(lambda: jobs.features(cfg, data or cfg.data.source, as_of, out, engine.value), json_out)


@app.command()
def demo(leads: Annotated[int | None, typer.Option("--leads", min=1, help="Number of demo leads.")] = None,
         config: ConfigOpt = DEFAULT_CONFIG, json_out: JsonOpt = False) -> None:
    """Generate the demo database, train and register a model, score the open leads, export."""
    cfg = _config(config)

    def job() -> dict[str, Any]:
        data = cfg.data.source
        generated = jobs.generate(cfg, leads or cfg.generate.leads, cfg.generate.seed, data)
        as_of = str(jobs.data_end_day(data))
        trained = jobs.train(cfg, data, as_of)
        with tempfile.TemporaryDirectory() as tmp:  # last week's run, so the report has a history to compare
            week_before = str(pd.Timestamp(as_of) - pd.Timedelta(days=7))
            jobs.score(cfg, data, week_before, str(Path(tmp) / "last_week.csv"), None, write_back=True)
        scored = jobs.score(cfg, data, as_of, cfg.export.path, None, write_back=True)
        reported = jobs.report(cfg, data, as_of, cfg.export.path, cfg.report.path)
        return {"report": reported["out"], "data": data, "leads": generated["leads_rows"], "as_of": as_of,
                "model": f"models:/{trained['model_name']}@champion (version {trained['model_version']})",
                "local_model": trained["local_model"], "roc_auc": trained.get("roc_auc"),
                "pr_auc": trained.get("pr_auc"), "export": scored["out"], "rejects": scored["rejects"],
                "scored": scored["scored"], "rejected": scored["rejected"], "grades": scored["grades"],
                "tracking_uri": trained["tracking_uri"]}

    def render(result: dict[str, Any]) -> None:
        typer.echo(
            f"\nDemo database: {result['data']} ({result['leads']} lead rows), scored as of {result['as_of']}\n"
            f"Model:         {result['model']}, ROC AUC {result['roc_auc']:.3f}, PR AUC "
            f"{result['pr_auc']:.3f} on the held-out cutoff\n"
            f"Local copy:    {result['local_model']}\n"
            f"Export:        {result['export']} ({result['scored']} leads; grades {result['grades']})\n"
            f"Rejects:       {result['rejects']} ({result['rejected']} leads)\n"
            f"Report:        {result['report']} (open it in a browser; compared with the run a week earlier)\n"
            f"MLflow store:  {result['tracking_uri']} (artifacts in {cfg.tracking.artifact_root}/)\n"
            f"MLflow UI:     make mlflow-ui   (or: mlflow ui --backend-store-uri {result['tracking_uri']})")

    _run(job, json_out, render)


models_app = typer.Typer(no_args_is_help=True, help="List, promote and roll back registered models.")
app.add_typer(models_app, name="models")


@models_app.command("list")
def models_list(config: ConfigOpt = DEFAULT_CONFIG, json_out: JsonOpt = False) -> None:
    """List registered versions with their aliases and held-out metrics."""
    cfg = _config(config)

    def render(result: dict[str, Any]) -> None:
        if json_out:
            return
        for row in result["versions"]:
            aliases = ",".join(row["aliases"]) or "-"
            typer.echo(f"v{row['version']:<4} {aliases:22} roc_auc={row['roc_auc'] or float('nan'):.4f} "
                       f"pr_auc={row['pr_auc'] or float('nan'):.4f} trained_as_of={row['trained_as_of']} "
                       f"created={row['created']}")

    _run(lambda: jobs.models_list(cfg), json_out, render)


@models_app.command("promote")
def models_promote(version: Annotated[str, typer.Argument(help="Version to make champion.")],
                   config: ConfigOpt = DEFAULT_CONFIG, json_out: JsonOpt = False) -> None:
    """Point the champion alias at VERSION (by hand, past the gate)."""
    cfg = _config(config)
    _run(lambda: jobs.models_promote(cfg, version), json_out)


@models_app.command("rollback")
def models_rollback(config: ConfigOpt = DEFAULT_CONFIG, json_out: JsonOpt = False) -> None:
    """Point the champion alias back at the previous champion."""
    cfg = _config(config)
    _run(lambda: jobs.models_rollback(cfg), json_out)


class _NoForeignTracebacks(logging.Filter):
    """Keep a library's log message but drop the traceback it attaches.

    MLflow logs a caught database error with its whole traceback before leadml handles the error
    and says what happened in one line; the nightly job's log should read as those lines.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("leadml"):
            record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    for noisy in ("mlflow", "alembic", "urllib3", "git", "py4j"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    for handler in logging.getLogger().handlers + logging.getLogger("mlflow").handlers:  # mlflow does not propagate
        handler.addFilter(_NoForeignTracebacks())
    app()


if __name__ == "__main__":
    main()
