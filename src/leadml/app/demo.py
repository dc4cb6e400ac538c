"""leadml demo: generate the demo database, train and register a model, score the open leads (and the
week before, so the report has a history to compare with), export and report."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from leadml.app.generate import generate
from leadml.app.report import report
from leadml.app.score import score
from leadml.app.steps import data_end_day
from leadml.app.train import train
from leadml.config import Config
from leadml.modeling.lead_model import ModelError


def demo(config: Config, leads: int | None = None) -> dict[str, Any]:
    """Run the whole loop on a generated database of ``leads`` leads (default ``generate.leads``)."""
    data = config.data.source
    generated = generate(config, leads=leads or config.generate.leads, seed=config.generate.seed, out=data)
    as_of = data_end_day(data)
    trained = train(config, data, as_of=as_of)
    if not trained["promoted"]:  # scoring would take another champion, or none
        raise ModelError(f"the demo model (version {trained['model_version']}) did not become champion: "
                         f"{trained['promotion_reason']}")
    with tempfile.TemporaryDirectory() as tmp:  # last week's run, so the report has a history to compare
        score(config, data, as_of=as_of - pd.Timedelta(days=7), out=str(Path(tmp) / "last_week.csv"),
              model_ref=None, write_back=True)
    scored = score(config, data, as_of=as_of, out=config.export.path, model_ref=None, write_back=True)
    reported = report(config, data, as_of=as_of, export_path=config.export.path, out=config.report.path)
    return {"report": reported["out"], "data": data, "leads": generated["leads_rows"], "as_of": str(as_of),
            "model": f"models:/{trained['model_name']}@champion (version {trained['model_version']})",
            "local_model": trained["local_model"], "roc_auc": trained.get("roc_auc"),
            "pr_auc": trained.get("pr_auc"), "export": scored["out"], "rejects": scored["rejects"],
            "scored": scored["scored"], "rejected": scored["rejected"], "grades": scored["grades"],
            "tracking_uri": trained["tracking_uri"]}


def summary_text(result: dict[str, Any], config: Config) -> str:
    """Say where everything went, as `make demo` prints it."""
    return (
        f"\nDemo database: {result['data']} ({result['leads']} lead rows), scored as of {result['as_of']}\n"
        f"Model:         {result['model']}, ROC AUC {result['roc_auc']:.3f}, PR AUC "
        f"{result['pr_auc']:.3f} on the held-out cutoff\n"
        f"Local copy:    {result['local_model']}\n"
        f"Export:        {result['export']} ({result['scored']} leads; grades {result['grades']})\n"
        f"Rejects:       {result['rejects']} ({result['rejected']} leads)\n"
        f"Report:        {result['report']} (open it in a browser; compared with the run a week earlier)\n"
        f"MLflow store:  {result['tracking_uri']} (artifacts in {config.tracking.artifact_root}/)\n"
        f"MLflow UI:     make mlflow-ui   (or: mlflow ui --backend-store-uri {result['tracking_uri']})")
