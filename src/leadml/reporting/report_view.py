"""What the report page says, as plain view data for its template: numbers written in the language, sentences
in words, charts as PNG data URIs.

The template (``templates/report.html.j2``) only lays this out, so a designer can change the page without
touching Python; it escapes every value, so lead fields may be hostile here.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from leadml.reasons.words import TEXT, number, percent, text
from leadml.reporting import plots
from leadml.reporting.report_data import Evaluation, ReportData, freshness_hours

GRADE_COLOURS = {"A": "#2E7D32", "B": "#7CB342", "C": "#F9A825", "D": "#9E9E9E"}
OTHER_COLOUR = "#607D8B"
BOUND_HEADERS = {"floors": "probability_floor", "capacity": "capacity_leads", "shares": "target_share"}


def page_view(data: ReportData, lang: str) -> dict[str, Any]:
    """Return everything the template shows, in ``lang``."""
    outcome = outcome_words(data.outcome, lang)
    return {"lang": lang, "words": {key: text(key, lang) for key, (en, _) in TEXT.items() if "{" not in en},
            "as_of": when(data.as_of), "header": header_view(data, lang), "warnings": warnings_view(data, lang),
            "grades": grades_view(data, lang), "quality": quality_view(data, lang, outcome),
            "top": lead_table(data.top, data.display, lang, ident="top-table"),
            "changes": changes_view(data, lang), "rejects": rejects_view(data, lang),
            "footer": text("footer", lang, version=data.leadml_version, days=data.horizon_days, outcome=outcome)}


def outcome_words(outcome: dict[str, str], lang: str) -> str:
    """What a conversion is, in ``lang``, else in the first language given."""
    return outcome.get(lang) or next(iter(outcome.values()), "")


def when(moment: pd.Timestamp | None) -> str:
    """A moment as the page writes it, in UTC; a dash when unknown."""
    if moment is None or pd.isna(moment):
        return "–"
    return pd.Timestamp(moment).tz_convert("UTC").strftime("%Y-%m-%d %H:%M UTC")


def png_data_uri(figure: Figure) -> str:
    """Return a matplotlib figure as a base64 PNG data URI."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def header_view(data: ReportData, lang: str) -> list[dict[str, str]]:
    """The facts under the title: moment, model, when scored, how fresh the data, how many leads and rejects."""
    hours = freshness_hours(data.as_of, data.data_end)
    fresh = when(data.data_end) + ("" if hours is None else
                                   " (" + text("data_age", lang, hours=number(hours, ".1f", lang)) + ")")
    items = [("as_of", when(data.as_of)), ("model", data.model_version), ("scored_at", when(data.scored_at)),
             ("data_until", fresh), ("leads_scored", number(data.scored, ",d", lang)),
             ("rejects", number(data.rejected, ",d", lang))]
    return [{"label": text(key, lang), "value": value} for key, value in items]


def listing(items: list[str], lang: str) -> str:
    """Say a list as a sentence does: "A", "A and B", "A, B and C"."""
    if len(items) < 2:
        return "".join(items)
    return f"{', '.join(items[:-1])} {text('and', lang)} {items[-1]}"


def warning_words(warning: dict[str, Any], lang: str) -> str:
    """One warning of ``page_warnings`` in words, with what to do about it."""
    key = warning["key"]
    if key == "stale":
        if warning.get("age_days") is None:
            return text("warning_stale_none", lang)
        return text("warning_stale", lang, age=number(float(warning["age_days"]), ",.1f", lang),
                    max=number(float(warning["max_days"]), "g", lang))
    if key == "drift":
        features = [str(f) for f in warning.get("features") or []]
        if not features:
            return text("warning_drift_other", lang)
        return text("warning_drift", lang, count=number(len(features), ",d", lang))
    if key == "few_conversions":
        return text("few_conversions", lang, converted=number(int(warning["converted"]), ",d", lang),
                    min=number(int(warning["min"]), ",d", lang))
    if key == "small_grades":
        grades = [str(g) for g in warning["grades"]]
        return text("warning_small_grade" if len(grades) == 1 else "warning_small_grades", lang,
                    grades=listing(grades, lang), min=number(int(warning["min"]), ",d", lang))
    if key == "inversion":
        return text("warning_inversion", lang, better=warning["better"], worse=warning["worse"],
                    better_rate=number(warning["better_rate"], ".0%", lang),
                    worse_rate=number(warning["worse_rate"], ".0%", lang))
    if key == "one_grade":
        return text("warning_one_grade", lang, grade=warning["grade"], leads=number(int(warning["leads"]), ",d", lang))
    raise KeyError(f"no words for the report warning {key!r}")


def warnings_view(data: ReportData, lang: str) -> list[dict[str, str]]:
    """The warnings for the top of the page; the few-conversions one keeps its element id."""
    return [{"key": w["key"], "words": warning_words(w, lang),
             "id": "few-conversions" if w["key"] == "few_conversions" else ""} for w in data.warnings]


def share(value: float, lang: str) -> str:
    """A share or probability as a percentage with the decimals a small one needs (0% stays 0%)."""
    return number(0.0, ".0%", lang) if value == 0 else percent(value, lang)


def bound_words(bound: float, policy: str, lang: str) -> str:
    """A grade's rule in the policy's terms: its probability floor, its leads, or its share (– for the rest)."""
    if pd.isna(bound):
        return "–"
    return number(int(bound), ",d", lang) if policy == "capacity" else share(float(bound), lang)


def policy_sentence(grades: pd.DataFrame, policy: str, lang: str) -> str:
    """Say how the grades were made: "Grades by sales capacity: A = the 200 best leads, B = the next 400, ...";
    under floors the last grade is "below" the floor above it."""
    names, bounds = [str(g) for g in grades["grade"]], [float(b) for b in grades["bound"]]
    parts = []
    for i, (grade, bound) in enumerate(zip(names, bounds, strict=True)):
        if policy == "floors" and i and i == len(names) - 1:
            parts.append(text("floor_below", lang, grade=grade, bound=share(bounds[i - 1], lang)))
        elif policy == "floors":
            parts.append(text("floor_from", lang, grade=grade, bound=share(bound, lang)))
        elif pd.isna(bound):
            parts.append(text("bound_rest", lang, grade=grade))
        else:
            key = f"{policy}_first" if i == 0 else "bound_next"
            parts.append(text(key, lang, grade=grade, bound=bound_words(bound, policy, lang)))
    return text(f"policy_{policy}", lang, bounds=", ".join(parts))


def grades_view(data: ReportData, lang: str) -> dict[str, Any]:
    """The grade table: leads and share per grade with a bar, and each grade's rule under the policy."""
    widest = max(float(data.grades["share"].max()), 1e-9) if len(data.grades) else 1.0
    rows = [{"grade": str(row.grade), "colour": GRADE_COLOURS.get(str(row.grade), OTHER_COLOUR),
             "leads": number(int(row.leads), ",d", lang), "share": number(row.share, ".1%", lang),
             "width": f"{100 * row.share / widest:.1f}", "bound": bound_words(row.bound, data.policy, lang)}
            for row in data.grades.itertuples(index=False)]
    return {"policy": data.policy, "sentence": policy_sentence(data.grades, data.policy, lang),
            "bound_header": text(BOUND_HEADERS[data.policy], lang), "rows": rows}


def outcome_view(row: dict[str, Any], days: int, outcome: str, lang: str) -> dict[str, Any]:
    """One grade's outcome in a sentence; a grade on too few leads says so and gives its counts apart."""
    converted, rows = number(row["converted"], ",d", lang), number(row["rows"], ",d", lang)
    if not row["enough"]:
        return {"grade": str(row["grade"]), "few": True, "inverted": False,
                "sentence": text("grade_outcome_few", lang, grade=row["grade"]),
                "raw": text("grade_outcome_raw", lang, converted=converted, rows=rows, days=days, outcome=outcome)}
    sentence = text("grade_outcome", lang, grade=row["grade"], rate=number(row["rate"], ".0%", lang), days=days,
                    converted=converted, rows=rows, outcome=outcome)
    return {"grade": str(row["grade"]), "few": False, "inverted": bool(row.get("inverted")), "sentence": sentence,
            "raw": ""}


def charts_view(evaluation: Evaluation, lang: str) -> list[dict[str, str]]:
    """The lift and calibration charts of the evaluation, as data URIs with their captions."""
    charts = []
    if len(evaluation.lift):
        figure = plots.lift_bars_figure(evaluation.lift, "", text("lift_x", lang), text("lift_y", lang))
        charts.append({"caption": text("lift_chart", lang), "uri": png_data_uri(figure), "id": "lift-chart"})
    if int(evaluation.grades["rows"].sum()):
        figure = plots.grade_calibration_figure(evaluation.grades, "", text("calibration_x", lang),
                                                text("calibration_y", lang))
        charts.append({"caption": text("calibration_chart", lang), "uri": png_data_uri(figure),
                       "id": "calibration-chart"})
    return charts


def quality_view(data: ReportData, lang: str, outcome: str) -> dict[str, Any] | None:
    """How good the grades were on held-out leads; None when the model has no evaluation."""
    evaluation = data.evaluation
    if evaluation is None:
        return None
    source = text("source_evaluate" if evaluation.source == "evaluate" else "source_training", lang)
    return {"outcomes": [outcome_view(row, data.horizon_days, outcome, lang) for row in data.outcomes],
            "min_note": text("grade_outcome_min", lang, min=number(data.min_grade_leads, ",d", lang)),
            "note": text("evaluation_source", lang, rows=number(int(evaluation.grades["rows"].sum()), ",d", lang),
                         cutoff=evaluation.cutoff, source=source),
            "charts": charts_view(evaluation, lang)}


def column_title(name: str) -> str:
    """A display column's name as a heading: "company_name" -> "Company name"."""
    words = name.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def shown(value: object) -> str:
    """A display value as text; empty when missing."""
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def lead_row(row: dict[str, Any], display: tuple[str, ...], lang: str, previous: bool) -> dict[str, Any]:
    """One lead of a lead table: rank, id, display columns, score, grade, reasons and risks, trend."""
    key = row.get("trend") if row.get("trend") in ("up", "down", "flat", "new") else "flat"
    change = row.get("change", row.get("score_change", float("nan")))
    trend = text(f"trend_{key}", lang) + ("" if pd.isna(change) or key == "new" else
                                          f" ({number(change, '+.0f', lang)})")
    before = str(row.get("previous_grade") or "") if previous else ""
    return {"rank": number(int(row["rank"]), ",d", lang), "lead_id": str(row["lead_id"]),
            "display": [shown(row.get(column)) for column in display], "score": number(int(row["score"]), "d", lang),
            "grade": str(row["grade"]), "colour": GRADE_COLOURS.get(str(row["grade"]), OTHER_COLOUR),
            "previous": {"grade": before, "colour": GRADE_COLOURS.get(before, OTHER_COLOUR)} if before else None,
            "reasons": list(row["reasons"]), "risks": list(row["risks"]), "trend": {"key": key, "words": trend}}


def lead_table(frame: pd.DataFrame, display: tuple[str, ...], lang: str, *, ident: str,
               previous: bool = False) -> dict[str, Any]:
    """A table of leads, with the grade before when ``previous``, and the display columns after the lead id."""
    return {"id": ident, "previous": previous, "display": [column_title(c) for c in display],
            "rows": [lead_row(row, display, lang, previous) for row in frame.to_dict("records")]}


def changes_view(data: ReportData, lang: str) -> dict[str, Any] | None:
    """New best-grade leads and the biggest movers since the previous run; None without a previous run."""
    if data.previous_as_of is None:
        return None
    count = text("new_a_count", lang, count=number(len(data.new_a), ",d", lang),
                 shown=number(min(len(data.new_a), data.movers), ",d", lang))
    movers = [{"title": text(key, lang),
               "table": lead_table(frame.head(data.movers), data.display, lang, ident=ident, previous=True)
               if len(frame) else None}
              for key, frame, ident in (("movers_up", data.up, "up-table"), ("movers_down", data.down, "down-table"))]
    return {"since": text("previous_run", lang, when=when(data.previous_as_of)),
            "count": count if len(data.new_a) else "",
            "new": lead_table(data.new_a.head(data.movers), data.display, lang, ident="new-a-table", previous=True)
            if len(data.new_a) else None, "movers": movers}


def rejects_view(data: ReportData, lang: str) -> list[dict[str, str]]:
    """Leads per reject reason with a few example ids."""
    return [{"reason": str(row.reason), "leads": number(int(row.leads), ",d", lang),
             "examples": ", ".join(map(str, row.examples))} for row in data.rejects.itertuples(index=False)]
