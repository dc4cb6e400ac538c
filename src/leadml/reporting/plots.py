"""Evaluation plots as matplotlib figures, for MLflow artifacts and reports.

Figures are built without pyplot, so nothing needs a display and no global state is touched.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from sklearn.metrics import precision_recall_curve, roc_curve

from leadml.modeling.evaluation import reliability_table


def _figure(title: str) -> tuple[Figure, Axes]:
    figure = Figure(figsize=(5.5, 4.2), dpi=110, layout="tight")
    axes = figure.subplots()
    axes.set_title(title)
    axes.grid(alpha=0.3)
    return figure, axes


def roc_figure(y: np.ndarray, scores: dict[str, np.ndarray], title: str = "ROC curve on the held-out cutoff"
               ) -> Figure:
    figure, axes = _figure(title)
    for name, score in scores.items():
        fpr, tpr, _ = roc_curve(y, score)
        axes.plot(fpr, tpr, label=name)
    axes.plot([0, 1], [0, 1], "k:", lw=1)
    axes.set(xlabel="false positive rate", ylabel="true positive rate")
    axes.legend(loc="lower right")
    return figure


def pr_figure(y: np.ndarray, scores: dict[str, np.ndarray], title: str = "Precision-recall on the held-out cutoff"
              ) -> Figure:
    figure, axes = _figure(title)
    for name, score in scores.items():
        precision, recall, _ = precision_recall_curve(y, score)
        axes.plot(recall, precision, label=name)
    axes.axhline(y.mean(), color="k", ls=":", lw=1, label="base rate")
    axes.set(xlabel="recall", ylabel="precision")
    axes.legend(loc="upper right")
    return figure


def calibration_figure(y: np.ndarray, before: np.ndarray, after: np.ndarray) -> Figure:
    figure, axes = _figure("Calibration: predicted against observed")
    for name, probability in (("before calibration", before), ("after calibration", after)):
        table = reliability_table(y, probability)
        axes.plot(table["predicted"], table["observed"], "o-", label=name)
    top = max(float(np.max(after)), float(y.mean()) * 3, 0.05)
    axes.plot([0, top], [0, top], "k:", lw=1)
    axes.set(xlabel="mean predicted probability", ylabel="observed conversion rate")
    axes.legend(loc="upper left")
    return figure


def gain_figure(y: np.ndarray, scores: dict[str, np.ndarray]) -> Figure:
    figure, axes = _figure("Cumulative gain: conversions found in the top leads")
    share = np.arange(1, len(y) + 1) / len(y)
    for name, score in scores.items():
        found = np.cumsum(y[np.argsort(-score, kind="stable")]) / max(y.sum(), 1)
        axes.plot(share, found, label=name)
    axes.plot([0, 1], [0, 1], "k:", lw=1, label="random")
    axes.set(xlabel="share of leads contacted (best first)", ylabel="share of conversions found")
    axes.legend(loc="lower right")
    return figure


def importance_figure(importance: pd.DataFrame, top: int = 20) -> Figure:
    """Bar chart of gain and mean |contribution| for the top features by gain."""
    data = importance.sort_values("gain", ascending=False).head(top).iloc[::-1]
    figure = Figure(figsize=(10, 6), dpi=110, layout="tight")
    left, right = figure.subplots(1, 2, sharey=True)
    left.barh(data.index, data["gain"] / data["gain"].sum())
    left.set_title("share of total gain")
    right.barh(data.index, data["mean_abs_contribution"])
    right.set_title("mean |contribution| (log-odds)")
    return figure


def score_distribution_figure(y: np.ndarray, probability: np.ndarray) -> Figure:
    figure, axes = _figure("Calibrated probability by outcome")
    bins = np.linspace(0, max(float(probability.max()), 1e-3), 40)
    axes.hist(probability[y == 0], bins=bins, alpha=0.6, density=True, label="did not convert")
    axes.hist(probability[y == 1], bins=bins, alpha=0.6, density=True, label="converted")
    axes.set(xlabel="probability", ylabel="density", yscale="log")
    axes.legend()
    return figure


def lift_bars_figure(lift: pd.DataFrame, title: str, xlabel: str, ylabel: str) -> Figure:
    """Bars of lift per tenth of leads (best first) from a ``lift_table``, with the average at 1."""
    figure, axes = _figure(title)
    axes.bar(lift["group"].astype(int), lift["lift"], color="#1F3A5F")
    axes.axhline(1.0, color="k", ls=":", lw=1)
    axes.set(xlabel=xlabel, ylabel=ylabel, xticks=list(lift["group"].astype(int)))
    return figure


def grade_calibration_figure(grades: pd.DataFrame, title: str, predicted: str, observed: str) -> Figure:
    """Bars of mean predicted probability against observed conversion rate per grade (a ``grade_table``)."""
    figure, axes = _figure(title)
    shown = grades[grades["rows"] > 0]
    x = np.arange(len(shown))
    axes.bar(x - 0.2, shown["mean_probability"], width=0.4, color="#90A4AE", label=predicted)
    axes.bar(x + 0.2, shown["conversion_rate"], width=0.4, color="#1F3A5F", label=observed)
    axes.set_xticks(x, [f"{g}\n(n={n:,})" for g, n in zip(shown["grade"], shown["rows"], strict=True)])
    axes.yaxis.set_major_formatter(lambda value, _: f"{value:.0%}")
    axes.legend(loc="upper right")
    return figure


def outcome_distribution_figure(frame: pd.DataFrame, feature: str, outcome: str = "converted") -> Figure:
    """Histogram of one numeric feature for converted and other leads (densities: the classes differ in size)."""
    figure, axes = _figure(f"{feature} by outcome")
    values = frame[feature].astype("float64")
    finite = values[np.isfinite(values)]
    upper = float(finite.quantile(0.99)) if len(finite) else 1.0
    bins = np.linspace(float(finite.min()) if len(finite) else 0.0, max(upper, 1e-9), 30)
    for flag, name in ((0, "did not convert"), (1, "converted")):
        part = values[(frame[outcome] == flag).to_numpy()].dropna().clip(upper=upper)
        axes.hist(part, bins=bins, alpha=0.6, density=True, label=f"{name} (n={len(part):,})")
    axes.set(xlabel=feature, ylabel="density")
    axes.legend()
    return figure
