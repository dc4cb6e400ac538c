"""Render the sales-ops report as one self-contained HTML file.

Everything the page needs is inside it: CSS in a style element, charts as PNG data URIs, no
script, and a Content-Security-Policy that forbids the page to load anything from anywhere, so it
opens from an email attachment without network access. Every value that comes from data (lead
ids, reasons, reject reasons, model names) goes through ``escape``: lead fields may be hostile.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Iterable, Sequence

import pandas as pd
from matplotlib.figure import Figure

from leadml.reasons.words import number, text
from leadml.reporting import plots
from leadml.reporting.report_data import Evaluation, ReportData, evaluation_conversions, freshness_hours

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
GRADE_COLOURS = {"A": "#2E7D32", "B": "#7CB342", "C": "#F9A825", "D": "#9E9E9E"}
CSS = """
body{font-family:-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0;background:#f4f6f9;color:#1d2733}
header{background:#1F3A5F;color:#fff;padding:20px 32px}
header h1{margin:0 0 8px;font-size:24px}
.meta{display:flex;flex-wrap:wrap;gap:8px 28px;font-size:14px;opacity:.95}
.meta b{font-weight:600}
main{padding:8px 32px 32px;max-width:1200px}
section{background:#fff;border-radius:8px;padding:16px 20px;margin:16px 0;box-shadow:0 1px 3px rgba(0,0,0,.08)}
h2{font-size:18px;margin:0 0 12px;color:#1F3A5F}
h3{font-size:15px;margin:16px 0 8px}
table{border-collapse:collapse;width:100%;font-size:13px}
th{text-align:left;background:#eef2f7;padding:6px 8px;font-weight:600}
td{padding:6px 8px;border-top:1px solid #e3e8ef;vertical-align:top}
td.num,th.num{text-align:right;white-space:nowrap}
ul.reasons{margin:0;padding-left:16px}
ul.reasons li.risk{color:#9a3412}
.badge{display:inline-block;min-width:18px;text-align:center;border-radius:4px;color:#fff;font-weight:700;
padding:1px 6px}
.bar{background:#e3e8ef;border-radius:3px;height:12px;width:220px}
.bar span{display:block;height:12px;border-radius:3px}
.up{color:#2E7D32}.down{color:#b91c1c}.flat,.new{color:#555}
.charts{display:flex;flex-wrap:wrap;gap:16px}
.charts figure{margin:0;flex:1 1 420px}
.charts img{max-width:100%;height:auto;border:1px solid #e3e8ef;border-radius:4px}
figcaption{font-size:13px;color:#444;margin-bottom:4px}
.sentence{font-size:15px;margin:4px 0}
.note{font-size:13px;color:#555}
.sentence.few{color:#555}.small{font-size:12px;color:#666}.sentence.warning{color:#9a3412}
footer{font-size:12px;color:#666;padding:0 32px 24px}
"""


def escape(value: object) -> str:
    """Return ``value`` as text safe inside HTML elements and quoted attributes."""
    return html.escape("" if value is None else str(value), quote=True)


def png_data_uri(figure: Figure) -> str:
    """Return a matplotlib figure as a base64 PNG data URI."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _when(moment: pd.Timestamp | None) -> str:
    if moment is None or pd.isna(moment):
        return "–"
    return pd.Timestamp(moment).tz_convert("UTC").strftime("%Y-%m-%d %H:%M UTC")


def _badge(grade: str) -> str:
    colour = GRADE_COLOURS.get(grade, "#607D8B")
    return f'<span class="badge grade" style="background:{colour}">{escape(grade)}</span>'


def _table(headers: Sequence[tuple[str, str]], rows: Iterable[Sequence[str]], css_id: str = "") -> str:
    """Render a table; ``headers`` are (text, css class) and cells are already escaped HTML."""
    head = "".join(f'<th class="{cls}">{escape(title)}</th>' for title, cls in headers)
    body = "".join("<tr>" + "".join(f'<td class="{cls}">{cell}</td>' for (_, cls), cell in zip(headers, row,
                                                                                                strict=True))
                   + "</tr>" for row in rows)
    ident = f' id="{escape(css_id)}"' if css_id else ""
    return f"<table{ident}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _reasons(reasons: list[str], risks: list[str]) -> str:
    items = [f"<li>{escape(r)}</li>" for r in reasons] + [f'<li class="risk">{escape(r)}</li>' for r in risks]
    return f'<ul class="reasons">{"".join(items)}</ul>' if items else "–"


def _trend(trend: str, change: float, lang: str) -> str:
    key = trend if trend in ("up", "down", "flat", "new") else "flat"
    words = text(f"trend_{key}", lang)
    shown = "" if pd.isna(change) or key == "new" else f" ({number(change, '+.0f', lang)})"
    return f'<span class="{key}">{escape(words + shown)}</span>'


def _header(data: ReportData, lang: str) -> str:
    hours = freshness_hours(data.as_of, data.data_end)
    fresh = _when(data.data_end) + ("" if hours is None else
                                    " (" + text("data_age", lang, hours=number(hours, ".1f", lang)) + ")")
    items = [(text("as_of", lang), _when(data.as_of)), (text("model", lang), data.model_version),
             (text("scored_at", lang), _when(data.scored_at)), (text("data_until", lang), fresh),
             (text("leads_scored", lang), number(data.scored, ",d", lang)),
             (text("rejects", lang), number(data.rejected, ",d", lang))]
    meta = "".join(f'<span><b>{escape(k)}:</b> <span data-field="{i}">{escape(v)}</span></span>'
                   for i, (k, v) in enumerate(items))
    return f'<header><h1>{escape(text("title", lang))}</h1><div class="meta">{meta}</div></header>'


def _bound(bound: float, policy: str, lang: str) -> str:
    """A grade's rule in the policy's terms: its probability floor, its leads, or its share (– for the rest)."""
    if pd.isna(bound):
        return "–"
    return number(int(bound), ",d", lang) if policy == "capacity" else number(bound, ".0%", lang)


def _grades(data: ReportData, lang: str) -> str:
    widest = max(float(data.grades["share"].max()), 1e-9) if len(data.grades) else 1.0
    rows = [(_badge(row.grade), number(int(row.leads), ",d", lang), number(row.share, ".1%", lang),
             f'<div class="bar"><span style="width:{100 * row.share / widest:.1f}%;'
             f'background:{GRADE_COLOURS.get(row.grade, "#607D8B")}"></span></div>',
             _bound(row.bound, data.policy, lang)) for row in data.grades.itertuples(index=False)]
    table = _table([(text("grade", lang), ""), (text("leads", lang), "num"), (text("share", lang), "num"),
                    ("", ""), (text("probability_floor", lang), "num")], rows, "grade-table")
    return f'<section id="grades"><h2>{escape(text("grades", lang))}</h2>{table}</section>'


def _outcome(row: dict, days: int, lang: str) -> str:
    """One grade's outcome in a sentence; a grade on too few leads says so instead of giving a rate."""
    converted, rows = number(row["converted"], ",d", lang), number(row["rows"], ",d", lang)
    grade = escape(row["grade"])
    if not row["enough"]:
        raw = text("grade_outcome_raw", lang, converted=converted, rows=rows, days=days)
        return (f'<p class="sentence few" data-grade="{grade}">'
                f'{escape(text("grade_outcome_few", lang, grade=row["grade"]))} '
                f'<span class="small">{escape(raw)}</span></p>')
    words = text("grade_outcome", lang, grade=row["grade"], rate=number(row["rate"], ".0%", lang), days=days,
                 converted=converted, rows=rows)
    return f'<p class="sentence" data-grade="{grade}">{escape(words)}</p>'


def _outcomes(data: ReportData, evaluation: Evaluation, lang: str) -> str:
    """The grades' outcomes, the threshold below which a grade is too few to tell, and a warning in words when
    every rate rests on fewer conversions than ``evaluation.min_conversions``."""
    parts = [_outcome(row, data.horizon_days, lang) for row in data.outcomes]
    parts.append(f'<p class="note" id="grade-outcome-min">'
                 f'{escape(text("grade_outcome_min", lang, min=number(data.min_grade_leads, ",d", lang)))}</p>')
    conversions = evaluation_conversions(evaluation)
    if conversions < data.min_conversions:
        warning = text("few_conversions", lang, converted=number(conversions, ",d", lang),
                       min=number(data.min_conversions, ",d", lang))
        parts.append(f'<p class="sentence warning" id="few-conversions">{escape(warning)}</p>')
    return "".join(parts)


def _quality(data: ReportData, lang: str) -> str:
    title = f'<h2>{escape(text("model_quality", lang))}</h2>'
    evaluation = data.evaluation
    if evaluation is None:
        return f'<section id="quality">{title}<p class="note">{escape(text("no_evaluation", lang))}</p></section>'
    rows = int(evaluation.grades["rows"].sum())
    source = text("source_evaluate" if evaluation.source == "evaluate" else "source_training", lang)
    note = text("evaluation_source", lang, rows=number(rows, ",d", lang), cutoff=evaluation.cutoff, source=source)
    charts = []
    if len(evaluation.lift):
        figure = plots.lift_bars_figure(evaluation.lift, "", text("lift_x", lang), text("lift_y", lang))
        charts.append((text("lift_chart", lang), png_data_uri(figure), "lift-chart"))
    if int(evaluation.grades["rows"].sum()):
        figure = plots.grade_calibration_figure(evaluation.grades, "", text("calibration_x", lang),
                                                text("calibration_y", lang))
        charts.append((text("calibration_chart", lang), png_data_uri(figure), "calibration-chart"))
    figures = "".join(f'<figure><figcaption>{escape(caption)}</figcaption><img id="{ident}" src="{uri}" '
                      f'alt="{escape(caption)}"></figure>' for caption, uri, ident in charts)
    return (f'<section id="quality">{title}{_outcomes(data, evaluation, lang)}<p class="note">{escape(note)}</p>'
            f'<div class="charts">{figures}</div></section>')


def _lead_rows(frame: pd.DataFrame, lang: str, previous: bool = False) -> list[list[str]]:
    rows = []
    for row in frame.to_dict("records"):
        cells = [number(int(row["rank"]), ",d", lang), escape(row["lead_id"]), number(int(row["score"]), "d", lang),
                 _badge(str(row["grade"]))]
        if previous:
            cells.append(_badge(row["previous_grade"]) if row.get("previous_grade") else "–")
        cells += [_reasons(row["reasons"], row["risks"]),
                  _trend(str(row.get("trend", "")), row.get("change", row.get("score_change", float("nan"))), lang)]
        rows.append(cells)
    return rows


def _lead_headers(lang: str, previous: bool = False) -> list[tuple[str, str]]:
    headers = [(text("rank", lang), "num"), (text("lead", lang), "lead"), (text("score", lang), "num"),
               (text("grade", lang), "")]
    if previous:
        headers.append((text("previous_grade", lang), ""))
    return headers + [(text("reasons", lang), ""), (text("trend", lang), "")]


def _top(data: ReportData, lang: str) -> str:
    table = _table(_lead_headers(lang), _lead_rows(data.top, lang), "top-table")
    return f'<section id="top-leads"><h2>{escape(text("top_leads", lang))}</h2>{table}</section>'


def _changes(data: ReportData, lang: str) -> str:
    title = f'<h2>{escape(text("new_a", lang))}</h2>'
    if data.previous_as_of is None:
        return f'<section id="changes">{title}<p class="note">{escape(text("no_history", lang))}</p></section>'
    since = f'<p class="note">{escape(text("previous_run", lang, when=_when(data.previous_as_of)))}</p>'
    count = text("new_a_count", lang, count=number(len(data.new_a), ",d", lang),
                 shown=number(min(len(data.new_a), data.movers), ",d", lang))
    new = (f'<p class="sentence">{escape(count)}</p>'
           + _table(_lead_headers(lang, True), _lead_rows(data.new_a.head(data.movers), lang, True), "new-a-table")
           if len(data.new_a) else f'<p class="note">{escape(text("new_a_none", lang))}</p>')
    movers = []
    for key, frame, ident in (("movers_up", data.up, "up-table"), ("movers_down", data.down, "down-table")):
        body = (_table(_lead_headers(lang, True), _lead_rows(frame.head(data.movers), lang, True), ident) if len(frame)
                else f'<p class="note">{escape(text("movers_none", lang))}</p>')
        movers.append(f"<div><h3>{escape(text(key, lang))}</h3>{body}</div>")
    return f'<section id="changes">{title}{since}{new}{"".join(movers)}</section>'


def _rejects(data: ReportData, lang: str) -> str:
    title = f'<h2>{escape(text("rejects", lang))}</h2>'
    if data.rejects.empty:
        return f'<section id="rejects">{title}<p class="note">{escape(text("rejects_none", lang))}</p></section>'
    rows = [(escape(row.reason), number(int(row.leads), ",d", lang), escape(", ".join(map(str, row.examples))))
            for row in data.rejects.itertuples(index=False)]
    table = _table([(text("reason", lang), ""), (text("leads", lang), "num"), (text("examples", lang), "")], rows,
                   "rejects-table")
    return f'<section id="rejects">{title}{table}</section>'


def render(data: ReportData, lang: str = "en") -> str:
    """Return the whole report as one HTML document in ``lang``."""
    footer = text("footer", lang, version=data.leadml_version, days=data.horizon_days)
    return (f'<!DOCTYPE html>\n<html lang="{escape(lang)}"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(text('title', lang))} – {escape(_when(data.as_of))}</title><style>{CSS}</style></head>"
            f"<body>{_header(data, lang)}<main>{_grades(data, lang)}{_quality(data, lang)}{_top(data, lang)}"
            f"{_changes(data, lang)}{_rejects(data, lang)}</main><footer>{escape(footer)}</footer></body></html>\n")
