"""The command line: thin wrappers that load config, parse the options, call one app function, report
and exit with a code.

Exit code 0 means the command did all of its work; 1 means bad input or config (the reason is one
line on stderr); 2 is a usage error. With ``--json`` the last line on stdout is one JSON object.
``score`` published everything but exits 3 (drift) or 4 (stale source) when ``monitoring`` in the
config asks for it (docs/monitoring.md). ``train`` (and ``retrain``) exit 5 when the model was registered
but has no lift: its ROC AUC interval reaches 0.5 or it is worse than the best simple baseline.
"""

from __future__ import annotations

import json
import logging
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

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


def _run(call: Any, json_out: bool, render: Any = None) -> dict[str, Any]:
    """Call an app function, print and return its result, and turn the errors a user can cause into a one-line
    error and exit 1. Every app module is imported inside its command, so that ``--help`` loads none of them."""
    from leadml.app.errors import one_line, user_errors

    _quiet_again()
    try:
        result = call()
    except Exception as exc:
        if not isinstance(exc, user_errors()):
            raise
        typer.echo(f"leadml: error: {one_line(exc)}", err=True)
        raise typer.Exit(1) from None
    if render is not None:
        render(result)
    if json_out:
        typer.echo(json.dumps(result, default=str))
    elif render is None:
        for key, value in result.items():
            typer.echo(f"{key}: {value}")
    return result


def _config(path: Path) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        typer.echo(f"leadml: error: {exc}", err=True)
        raise typer.Exit(1) from None


def _flat(cfg: Config) -> bool:
    """Whether the config maps a flat export (one row per lead, no history) rather than tables."""
    return cfg.mapping is not None and cfg.mapping.layout == "flat"


def _contract_data(cfg: Config, command: str, why: str) -> None:
    """Stop commands that need the contract's tables when the config maps a flat export."""
    if _flat(cfg):
        typer.echo(f"leadml: error: {command} needs the contract's leads/activities/opportunities tables ({why}); "
                   "this config maps a flat export (mapping.layout: flat): use train, score, evaluate --data, "
                   "features, monitor and report", err=True)
        raise typer.Exit(1)


@app.command()
def generate(
    *,
    leads: Annotated[int, typer.Option("--leads", min=1, help="Number of leads.")] = 20_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed; the same seed gives the same data.")] = 42,
    out: Annotated[str, typer.Option("--out", help="A .duckdb file or a folder.")] = "data/leads.duckdb",
    fmt: Annotated[str, typer.Option("--format", help="Folder format: parquet or csv.")] = "parquet",
    config: ConfigOpt = DEFAULT_CONFIG, json_out: JsonOpt = False,
) -> None:
    """Write a realistic demo lead database (leads, activities, opportunities)."""
    from leadml.app.generate import generate as run

    cfg = _config(config)
    _run(lambda: run(cfg, leads=leads, seed=seed, out=out, fmt=fmt), json_out)


@app.command()
def train(*, data: DataOpt = None, as_of: AsOfOpt = None,
          tune: Annotated[int, typer.Option("--tune", min=0, help="Optuna trials before the final fit.")] = 0,
          engine: EngineOpt = Engine.local, config: ConfigOpt = DEFAULT_CONFIG, json_out: JsonOpt = False) -> None:
    """Train as if today were --as-of; log to MLflow; register; promote to champion if it beats it.

    With a flat export (config mapping.layout: flat): cross-validate beside baselines and the leak."""
    cfg = _config(config)
    if _flat(cfg):  # a flat export has no history to cut at a moment: --as-of is refused, not parsed
        from leadml.app.summary import flat_summary
        from leadml.app.train_flat import train_flat

        result = _run(lambda: train_flat(cfg, data or cfg.data.source, as_of_given=bool(as_of), tune_trials=tune),
                      json_out, lambda result: None if json_out else typer.echo(flat_summary(result)))
        if result.get("exit_code"):  # registered, not champion: no lift (README "Exit codes")
            raise typer.Exit(result["exit_code"])
        return
    from leadml.app.as_of import as_of_or_now
    from leadml.app.summary import train_summary
    from leadml.app.train import train as run

    result = _run(lambda: run(cfg, data or cfg.data.source, as_of=as_of_or_now(as_of), tune_trials=tune,
                              engine=engine.value), json_out,
                  lambda result: None if json_out else typer.echo(train_summary(result)))
    if result.get("exit_code"):  # registered, not champion: no lift (README "Exit codes")
        raise typer.Exit(result["exit_code"])


@app.command()
def score(*, data: DataOpt = None, as_of: AsOfOpt = None,
          out: Annotated[str | None, typer.Option("--out", help="Export file: .csv, .parquet or .xlsx.")] = None,
          model: ModelOpt = None,
          write_back: Annotated[bool, typer.Option(
              "--write-back", help="Also write the scores into the source database (one transaction).")] = False,
          lang: LangOpt = None, engine: EngineOpt = Engine.local, config: ConfigOpt = DEFAULT_CONFIG,
          json_out: JsonOpt = False) -> None:
    """Score the population at --as-of; write the export, a rejects file and a manifest."""
    from leadml.app.as_of import as_of_or_now

    cfg = _config(config)
    if _flat(cfg):  # a file of current leads, scored as of --as-of (else now), which the export records
        from leadml.app.score_flat import score_flat as run
    else:
        from leadml.app.score import score as run
    result = _run(lambda: run(cfg, data or cfg.data.source, as_of=as_of_or_now(as_of), out=out or cfg.export.path,
                              model_ref=model, write_back=write_back, lang=lang, engine=engine.value), json_out)
    if result.get("exit_code"):  # everything is published; the code tells a scheduler to look (docs/monitoring.md)
        raise typer.Exit(result["exit_code"])


@app.command()
def report(*, data: DataOpt = None, as_of: AsOfOpt = None,
           export: Annotated[str | None, typer.Option(
               "--export", help="The export of `leadml score` to report on (default export.path).")] = None,
           out: Annotated[str | None, typer.Option("--out", help="HTML file to write (default report.path).")] = None,
           previous: Annotated[str | None, typer.Option(
               "--previous", help="An earlier export to compare with, instead of the source's score history.")] = None,
           lang: LangOpt = None, config: ConfigOpt = DEFAULT_CONFIG, json_out: JsonOpt = False) -> None:
    """Write one self-contained HTML report for sales managers from the export of --as-of."""
    from leadml.app.as_of import parse_as_of
    from leadml.app.report import report as run

    cfg = _config(config)
    _run(lambda: run(cfg, data or cfg.data.source, as_of=parse_as_of(as_of), export_path=export or cfg.export.path,
                     out=out or cfg.report.path, lang=lang, previous_path=previous), json_out)


@app.command()
def evaluate(*, data: DataOpt = None, as_of: AsOfOpt = None, model: ModelOpt = None,
             config: ConfigOpt = DEFAULT_CONFIG, json_out: JsonOpt = False) -> None:
    """Score the population at --as-of and report how well it predicted the conversions after it."""
    from leadml.app.as_of import as_of_or_now
    from leadml.app.evaluate import evaluate as run
    from leadml.app.summary import evaluate_summary

    cfg = _config(config)

    def render(result: dict[str, Any]) -> None:
        if not json_out:
            typer.echo(evaluate_summary(result))

    if _flat(cfg):  # a labelled file: the model's figures against its labels
        from leadml.app.evaluate_flat import evaluate_flat_file

        _run(lambda: evaluate_flat_file(cfg, data or cfg.data.source, model_ref=model, as_of_given=bool(as_of)),
             json_out, render)
        return
    _run(lambda: run(cfg, data or cfg.data.source, as_of=as_of_or_now(as_of), model_ref=model), json_out, render)


@app.command()
def monitor(*, data: DataOpt = None, as_of: AsOfOpt = None,
            exports: Annotated[list[str] | None, typer.Option(
                "--exports", help="An earlier export (.csv/.parquet) to judge too; repeat for several.")] = None,
            out: Annotated[str | None, typer.Option("--out", help="Write the outcome report here (.json).")] = None,
            config: ConfigOpt = DEFAULT_CONFIG, json_out: JsonOpt = False) -> None:
    """Judge earlier scoring runs whose horizon has passed: realised conversion per grade vs the promise.

    With a flat export: the runs of --exports judged against the labels of the file --data."""
    from leadml.app.as_of import as_of_or_now
    from leadml.app.monitor import monitor as run

    cfg = _config(config)

    def render(result: dict[str, Any]) -> None:
        if json_out:
            return
        for line in result["lines"] or [f"no scoring run has passed its horizon by {result['observed_until']}"]:
            typer.echo(line)
        for waiting in result["pending"]:
            typer.echo(f"pending: run as of {waiting['as_of'][:10]} ({waiting['model_version']}) until "
                       f"{waiting['horizon_end']}")

    if _flat(cfg):  # the labels of a later file judge the earlier exports: no history, no horizon
        from leadml.app.monitor_flat import monitor_flat

        _run(lambda: monitor_flat(cfg, data or cfg.data.source, exports=exports, out=out, as_of_given=bool(as_of)),
             json_out, render)
        return
    _run(lambda: run(cfg, data or cfg.data.source, as_of=as_of_or_now(as_of), exports=exports, out=out), json_out,
         render)


@app.command()
def retrain(*, data: DataOpt = None, as_of: AsOfOpt = None,
            out: Annotated[str | None, typer.Option(
                "--out", help="Decision record (.json); default MODELS_DIR/decisions/retrain-<as-of>.json.")] = None,
            config: ConfigOpt = DEFAULT_CONFIG, json_out: JsonOpt = False) -> None:
    """Train a challenger, compare it with the champion on the same cutoff, promote by the configured rule."""
    from leadml.app.as_of import as_of_or_now
    from leadml.app.retrain import retrain as run

    cfg = _config(config)
    _contract_data(cfg, "retrain", "it compares a challenger with the champion at one cutoff; `leadml train` "
                   "cross-validates a flat export and promotes by the same rule")

    def render(result: dict[str, Any]) -> None:
        if not json_out:
            typer.echo((result["summary"] + "\n" if "summary" in result else "")
                       + f"retrain: {result['outcome']}: {result['reason']}\ndecision: {result['decision_file']}")

    result = _run(lambda: run(cfg, data or cfg.data.source, as_of=as_of_or_now(as_of), out=out), json_out, render)
    if result.get("exit_code"):  # the challenger was registered without lift (README "Exit codes")
        raise typer.Exit(result["exit_code"])


@app.command()
def features(*, data: DataOpt = None, as_of: AsOfOpt = None,
             out: Annotated[str, typer.Option("--out", help="Matrix file: .parquet or .csv.")] = "features.parquet",
             list_: Annotated[bool, typer.Option("--list", help="Print the feature catalog instead.")] = False,
             markdown: Annotated[bool, typer.Option("--markdown", help="With --list: as Markdown.")] = False,
             engine: EngineOpt = Engine.local, config: ConfigOpt = DEFAULT_CONFIG, json_out: JsonOpt = False) -> None:
    """Write the feature matrix of the population at --as-of (one row per lead), or list the catalog."""
    from leadml.app.as_of import as_of_or_now

    cfg = _config(config)
    if _flat(cfg):  # the mapped features of a file, no moment to cut at
        from leadml.app import features_flat as feature_matrix
    else:
        from leadml.app import features as feature_matrix
    if list_:
        if markdown:
            typer.echo(feature_matrix.catalog_table(cfg))
        elif json_out:
            typer.echo(json.dumps(feature_matrix.catalog_rows(cfg)))
        else:
            for f in feature_matrix.catalog_rows(cfg):
                typer.echo(f"{f['name']:34} {f['family']:10} {f['description']}")
        return
    if _flat(cfg):
        _run(lambda: feature_matrix.features(cfg, data or cfg.data.source, out=out, as_of_given=bool(as_of),
                                             engine=engine.value), json_out)
        return
    _run(lambda: feature_matrix.features(cfg, data or cfg.data.source, as_of=as_of_or_now(as_of), out=out,
                                         engine=engine.value), json_out)


@app.command("map")
def map_(*, data: DataOpt = None,
         out: Annotated[str | None, typer.Option("--out", help="A folder (Parquet or CSV files) or a .duckdb file.")]
         = None,
         fmt: Annotated[str, typer.Option("--format", help="Folder format: parquet or csv.")] = "parquet",
         reference: Annotated[bool, typer.Option("--reference", help="Print every mapping key (Markdown).")] = False,
         config: ConfigOpt = DEFAULT_CONFIG, json_out: JsonOpt = False) -> None:
    """Write the contract's tables that mapping.layout: tables builds from your own, with every row's account."""
    if reference:
        from leadml.app.mapping_reference import mapping_reference

        typer.echo(mapping_reference())
        return
    from leadml.app.map_tables import map_tables

    if out is None:
        typer.echo("leadml: error: name the folder or .duckdb file to write with --out", err=True)
        raise typer.Exit(1)
    cfg = _config(config)
    _run(lambda: map_tables(cfg, data or cfg.data.source, out=out, fmt=fmt), json_out)


@app.command()
def demo(*, leads: Annotated[int | None, typer.Option("--leads", min=1, help="Number of demo leads.")] = None,
         config: ConfigOpt = DEFAULT_CONFIG, json_out: JsonOpt = False) -> None:
    """Generate the demo database, train and register a model, score the open leads, export."""
    from leadml.app.demo import demo as run
    from leadml.app.demo import summary_text

    cfg = _config(config)
    _run(lambda: run(cfg, leads), json_out, lambda result: typer.echo(summary_text(result, cfg)))


models_app = typer.Typer(no_args_is_help=True, help="List, promote and roll back registered models.")
app.add_typer(models_app, name="models")


@models_app.command("list")
def models_list(config: ConfigOpt = DEFAULT_CONFIG, json_out: JsonOpt = False) -> None:
    """List registered versions with their aliases and held-out metrics."""
    from leadml.app.models import list_models

    cfg = _config(config)

    def render(result: dict[str, Any]) -> None:
        if json_out:
            return
        for row in result["versions"]:
            aliases = ",".join(row["aliases"]) or "-"
            typer.echo(f"v{row['version']:<4} {aliases:22} roc_auc={row['roc_auc'] or float('nan'):.4f} "
                       f"pr_auc={row['pr_auc'] or float('nan'):.4f} trained_as_of={row['trained_as_of']} "
                       f"created={row['created']}")

    _run(lambda: list_models(cfg), json_out, render)


@models_app.command("promote")
def models_promote(version: Annotated[str, typer.Argument(help="Version to make champion.")],
                   config: ConfigOpt = DEFAULT_CONFIG, json_out: JsonOpt = False) -> None:
    """Point the champion alias at VERSION (by hand, past the gate)."""
    from leadml.app.models import promote_version

    cfg = _config(config)
    _run(lambda: promote_version(cfg, version), json_out)


@models_app.command("rollback")
def models_rollback(config: ConfigOpt = DEFAULT_CONFIG, json_out: JsonOpt = False) -> None:
    """Point the champion alias back at the previous champion."""
    from leadml.app.models import roll_back

    cfg = _config(config)
    _run(lambda: roll_back(cfg), json_out)


class _NoForeignTracebacks(logging.Filter):
    """Keep a library's log message but drop the traceback it attaches.

    MLflow logs a caught database error with its whole traceback before leadml handles the error
    and says what happened in one line; the nightly job's log should read as those lines.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("leadml"):
            record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


def _quiet_libraries() -> None:
    """Keep other libraries' log lines to warnings, without the tracebacks they attach."""
    for noisy in ("mlflow", "alembic", "urllib3", "git", "py4j"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    for handler in logging.getLogger().handlers + logging.getLogger("mlflow").handlers:  # mlflow does not propagate
        if not any(isinstance(f, _NoForeignTracebacks) for f in handler.filters):
            handler.addFilter(_NoForeignTracebacks())


def _quiet_again() -> None:
    """Apply ``main``'s logging choices again once a command has imported its app module: MLflow replaces
    its logger's level and handler when it is first imported, and the app modules import it lazily."""
    if any(isinstance(f, _NoForeignTracebacks) for h in logging.getLogger().handlers for f in h.filters):
        _quiet_libraries()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    _quiet_libraries()
    app()


def run() -> None:
    """The ``leadml`` program: ``main``, then exit without the interpreter's teardown, which frees every
    module and object one by one (2 s after training on 100,000 leads) where the system frees the process
    at once. The output is flushed first; then, as the interpreter would, threads still at work finish (a
    training that stopped on a data error may be creating the tracking store beside it) and exit handlers run
    (logging flushes, temporary folders go). An unexpected error leaves the normal way, with its traceback."""
    import atexit
    import os
    import threading

    try:
        main()
        code: object = 0
    except SystemExit as stop:
        code = stop.code
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)  # as the interpreter shows a SystemExit that carries a message
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    threading._shutdown()  # the interpreter's first step at exit: thread pools told to stop, every thread joined
    atexit._run_exitfuncs()
    os._exit(code or 0)


if __name__ == "__main__":
    main()
