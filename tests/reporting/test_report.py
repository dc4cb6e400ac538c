"""The report's content: counts, changes, escaping of hostile values, no outside references."""

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from leadml.config import GradesConfig
from leadml.modeling.evaluation import lift_table
from leadml.modeling.grading import grade_table
from leadml.reporting.export import read_table, write_table
from leadml.reporting.report_data import (
    Evaluation,
    ReportData,
    build_report,
    changes,
    check_export,
    inversions,
    page_warnings,
    rejects_summary,
)
from leadml.reporting.report_html import render
from leadml.scoring.population import EXPLAIN_COLUMNS, ScoringResult, finalise

GRADES = GradesConfig(floors={"A": 0.30, "B": 0.15, "C": 0.05, "D": 0.0})
AS_OF = pd.Timestamp("2026-11-01", tz="UTC")
HOSTILE_ID = '<script>document.title="pwned"</script>'
SAFE_TAGS = {"html", "head", "meta", "title", "style", "body", "header", "h1", "div", "span", "b", "main", "section",
             "h2", "h3", "table", "thead", "tbody", "tr", "th", "td", "ul", "li", "p", "figure", "figcaption", "img",
             "footer"}
LIMITS = {"min_grade_leads": 30, "min_conversions": 120}  # the configuration's defaults (evaluation.*)
HOSTILE_DISPLAY = ('<script>alert("display")</script>', "<img src=x onerror=alert(1)>")
HOSTILE_REASON = '"><img src=x onerror="document.title=1">Industry: =HYPERLINK("http://evil.invalid")'


def export_frame(seed: int, n: int = 300, as_of: pd.Timestamp = AS_OF, previous: pd.DataFrame | None = None
                 ) -> pd.DataFrame:
    """An export built by the scoring code itself from random probabilities, with hostile text."""
    rng = np.random.default_rng(seed)
    ids = [f"L{i:04d}" for i in range(n - 1)] + [HOSTILE_ID]
    scored = pd.DataFrame({"lead_id": ids, "probability": rng.beta(0.6, 4, n)})
    for column in EXPLAIN_COLUMNS:
        scored[column] = 0.0 if column.endswith("_score") else ""
    scored["reason_1"] = [HOSTILE_REASON if i % 7 == 0 else f"{i % 4} demo requests in the last 7 days"
                          for i in range(n)]
    scored["risk_1"] = "No activity for 64 days"
    return finalise(ScoringResult(scored, pd.DataFrame({"lead_id": [], "reason": []})), GRADES, "leadml/3", as_of,
                    scored_at=as_of + pd.Timedelta(hours=2), previous=previous)


def evaluation(seed: int = 0) -> Evaluation:
    rng = np.random.default_rng(seed)
    probability = rng.beta(0.6, 4, 2000)
    y = (rng.random(2000) < probability).astype(int)
    return Evaluation("training", "run", "2026-09-02", grade_table(y, probability, GRADES), lift_table(y, probability))


@pytest.fixture
def roundtrip(tmp_path: Path) -> pd.DataFrame:
    """Last week's and this week's exports, written and read back as the job does."""
    before = export_frame(1, as_of=AS_OF - pd.Timedelta(days=7))
    now = export_frame(2, previous=before)
    write_table(now, tmp_path / "scored.csv")
    return check_export(read_table(tmp_path / "scored.csv"), "scored.csv"), before


def test_grade_counts_new_a_and_movers_follow_the_exports(roundtrip) -> None:
    now, before = roundtrip
    previous = before[["lead_id", "score", "grade", "as_of"]]
    data = build_report(now, GRADES, previous, pd.DataFrame({"lead_id": [], "reason": []}), evaluation=None,
                        horizon_days=30,
                        data_end=AS_OF - pd.Timedelta(hours=3), leadml_version="x", **LIMITS, top=10, movers=500)
    assert data.grades["leads"].tolist() == [int((now["grade"] == g).sum()) for g in GRADES.names()]
    assert data.grades["share"].sum() == pytest.approx(1.0)
    was = before.set_index("lead_id")
    expected_new = {lead for lead, grade in zip(now["lead_id"], now["grade"], strict=True)
                    if grade == "A" and was.loc[lead, "grade"] != "A"}
    assert set(data.new_a["lead_id"]) == expected_new and expected_new
    change = now.set_index("lead_id")["score"] - was["score"]
    assert data.up["change"].tolist() == sorted(change[change > 0], reverse=True)
    assert data.down["change"].tolist() == sorted(change[change < 0])
    assert data.top["rank"].tolist() == list(range(1, 11))
    assert data.previous_as_of == AS_OF - pd.Timedelta(days=7)
    html = render(data, "en")
    assert f"{len(expected_new)} leads are new in grade A; the {min(len(expected_new), 500)} best-ranked" in html
    assert html.count("<tr>", html.index('id="up-table"'), html.index('id="down-table"')) == len(data.up) + 1
    data.movers = 2  # the tables list the first few, the sentence counts them all
    html = render(data, "en")
    assert html.count("<tr>", html.index('id="up-table"'), html.index('id="down-table"')) == 3
    assert f"{len(expected_new)} leads are new in grade A; the 2 best-ranked are listed." in html


def test_a_lead_without_earlier_score_is_new_in_a() -> None:
    now = export_frame(3)
    new, up, down = changes(now, pd.DataFrame({"lead_id": [], "score": [], "grade": []}), "A")
    assert set(new["lead_id"]) == set(now.loc[now["grade"] == "A", "lead_id"]) and up.empty and down.empty


def test_every_value_is_escaped_and_nothing_is_loaded_from_outside(roundtrip) -> None:
    now, before = roundtrip
    now = now.assign(company_name=[HOSTILE_DISPLAY[i % 2] for i in range(len(now))])  # a display column, hostile too
    rejects = pd.DataFrame({"lead_id": [HOSTILE_ID, "L1", "L2"], "reason": ["<i>created_at</i> missing"] * 2
                            + ["duplicate lead_id"]})
    html = render(build_report(now, GRADES, before, rejects, evaluation=evaluation(), horizon_days=30, data_end=None,
                               leadml_version="x", **LIMITS, top=len(now), display=("company_name",)), "en")
    tags = set(re.findall(r"<([a-zA-Z][a-zA-Z0-9]*)", html))
    assert tags <= SAFE_TAGS, tags - SAFE_TAGS  # no script, no injected img or b
    assert not re.search(r"<[^>]*\son\w+\s*=", html)  # no event handler attribute on any tag
    assert html.count("&lt;script&gt;document.title=&#34;pwned&#34;&lt;/script&gt;") >= 2  # top table, rejects
    assert "&#34;&gt;&lt;img src=x onerror=&#34;document.title=1&#34;&gt;" in html
    top = html[html.index('id="top-table"'):html.index('id="changes"')]
    for value in ("&lt;script&gt;alert(&#34;display&#34;)&lt;/script&gt;", "&lt;img src=x onerror=alert(1)&gt;"):
        assert top.count(f'<td class="display">{value}</td>') == len(now) // 2
    inside_tags = " ".join(re.findall(r"<[^>]*>", html))  # escaped text holds no "<": only real tags
    references = re.findall(r"""(?:src|href|action|srcset)\s*=\s*["']?([^"'\s>]*)""", inside_tags, flags=re.I)
    assert references and all(ref.startswith("data:image/png;base64,") for ref in references)
    assert not re.search(r"https?://|url\(|@import|<link|<iframe|<object|<embed", html.replace(
        "HYPERLINK(&#34;http://evil.invalid", ""), flags=re.I)
    assert "Content-Security-Policy" in html and "default-src 'none'" in html


def test_quality_sentences_come_from_the_grade_table(roundtrip) -> None:
    now, before = roundtrip
    measured = evaluation()
    html = render(build_report(now, GRADES, before, pd.DataFrame({"lead_id": [], "reason": []}),
                               evaluation=measured, horizon_days=30, data_end=None, leadml_version="x", **LIMITS), "en")
    a = measured.grades.set_index("grade").loc["A"]
    assert (f"Of leads graded A, {a['conversion_rate']:.0%} became opportunities within 30 days "
            f"({int(a['converted'])} of {int(a['rows']):,}).") in html
    assert html.count('src="data:image/png;base64,') == 2
    assert "of 100 earlier leads scored 30, about 30 became opportunities within 30 days" in html


def small_a_evaluation() -> Evaluation:
    """A backtest whose grade A holds 17 leads (2 converted) beside large grades B, C and D (152 conversions)."""
    parts = [(17, 0.5, 2), (400, 0.2, 80), (600, 0.1, 60), (1000, 0.01, 10)]  # leads, probability, converted
    probability = np.concatenate([np.full(n, p) for n, p, _ in parts])
    y = np.concatenate([np.arange(n) < converted for n, _, converted in parts]).astype(int)
    return Evaluation("evaluate", "run", "2026-09-02", grade_table(y, probability, GRADES), lift_table(y, probability))


def outcome_sentences(html: str) -> dict[str, str]:
    """The quality section's sentence of each grade, by grade."""
    return dict(re.findall(r'<p class="sentence[^"]*" data-grade="([^"]+)">(.*?)</p>', html))


@pytest.mark.parametrize(("min_grade_leads", "small_a"), [(30, True), (18, True), (17, False)])
def test_a_grade_on_fewer_leads_than_the_setting_is_too_few_to_tell(min_grade_leads: int, small_a: bool) -> None:
    now = check_export(export_frame(7), "x")
    data = build_report(now, GRADES, pd.DataFrame({"lead_id": [], "score": [], "grade": []}),
                        pd.DataFrame({"lead_id": [], "reason": []}), evaluation=small_a_evaluation(),
                        horizon_days=30, data_end=None, leadml_version="x", min_grade_leads=min_grade_leads,
                        min_conversions=120)
    html = render(data, "en")
    sentences = outcome_sentences(html)
    assert set(sentences) == set(GRADES.names())
    assert ("too few to tell" in sentences["A"]) is small_a
    assert ("12%" in sentences["A"]) is not small_a  # 2 of 17: no rate beside "too few to tell"
    assert "2 of 17" in sentences["A"]
    for grade, rate in (("B", "20%"), ("C", "10%"), ("D", "1%")):  # 400, 600 and 1,000 leads: rates as measured
        assert "too few to tell" not in sentences[grade] and f"graded {grade}, {rate} became" in sentences[grade]
    assert (f"A grade measured on fewer than {min_grade_leads} leads says “too few to tell” "
            "(setting evaluation.min_grade_leads).") in html
    assert "evaluation.min_conversions" not in html  # 152 conversions: enough


def test_rates_on_fewer_conversions_than_the_setting_say_so() -> None:
    now = check_export(export_frame(8), "x")
    data = build_report(now, GRADES, pd.DataFrame({"lead_id": [], "score": [], "grade": []}),
                        pd.DataFrame({"lead_id": [], "reason": []}), evaluation=small_a_evaluation(),
                        horizon_days=30, data_end=None, leadml_version="x", min_grade_leads=30, min_conversions=200)
    assert ("Every rate here rests on only 152 conversions, fewer than 200 (setting evaluation.min_conversions)"
            in render(data, "en"))
    german = render(data, "de")
    assert "Jede Rate hier beruht auf nur 152 Konversionen" in german
    assert "Von den Leads der Klasse A: zu wenige für eine Aussage" in german


def test_german_report_translates_headings_not_grades_or_ids(roundtrip) -> None:
    now, before = roundtrip
    measured = evaluation()
    html = render(build_report(now, GRADES, before, rejects_summary(pd.DataFrame({"lead_id": [], "reason": []})),
                               evaluation=measured, horizon_days=30, data_end=None, leadml_version="x", **LIMITS), "de")
    a = measured.grades.set_index("grade").loc["A"]
    rate = f"{a['conversion_rate']:.0%}".replace("%", "\u00a0%")
    assert "Lead-Scoring-Bericht" in html and "Neue A-Leads seit dem letzten Lauf" in html and 'lang="de"' in html
    assert (f"Von den Leads der Klasse A: {rate} wurden zur Verkaufschance (innerhalb von 30 Tagen; "
            f"{int(a['converted'])} von {int(a['rows']):,})".replace(",", ".")) in html
    assert "Top leads" not in html and ">A</span>" in html and f">{now['lead_id'].iloc[0]}<" in html


def test_report_without_history_or_evaluation_says_so() -> None:
    now = check_export(export_frame(4), "x")
    html = render(build_report(now, GRADES, pd.DataFrame({"lead_id": [], "score": [], "grade": []}),
                               pd.DataFrame({"lead_id": [], "reason": []}), evaluation=None, horizon_days=30,
                               data_end=None, leadml_version="x", **LIMITS), "en")
    assert "No earlier run to compare with" in html and "No evaluation of this model" in html
    assert "Every lead of the population was scored." in html


def test_an_export_missing_columns_is_refused() -> None:
    with pytest.raises(ValueError, match="scored.csv: not a leadml export, columns missing: grade"):
        check_export(export_frame(5).drop(columns="grade"), "scored.csv")


@pytest.mark.parametrize(("data_end", "shown"), [
    (AS_OF - pd.Timedelta(hours=27), "2026-10-30 21:00 UTC (27.0 hours before the as-of moment)"),
    (AS_OF + pd.Timedelta(days=3), "2026-11-04 00:00 UTC</span>"),  # data past T: nothing is stale
])
def test_header_says_how_old_the_data_is(data_end: pd.Timestamp, shown: str) -> None:
    now = check_export(export_frame(6), "x")
    html = render(build_report(now, GRADES, pd.DataFrame({"lead_id": [], "score": [], "grade": []}),
                               pd.DataFrame({"lead_id": [], "reason": []}), evaluation=None,
                               horizon_days=30, data_end=data_end, leadml_version="x", **LIMITS), "en")
    assert shown in html and "leadml/3" in html


def page_data(seed: int = 9, *, grades: GradesConfig = GRADES, measured: Evaluation | None = None,
              **options: object) -> ReportData:
    """The report of one export with no history, built as the job builds it."""
    now = check_export(export_frame(seed), "x")
    if "display" in options:
        now = now.assign(company_name=[f"Company {i}" for i in range(len(now))], email="x@example.test")
    return build_report(now, grades, pd.DataFrame({"lead_id": [], "score": [], "grade": []}),
                        pd.DataFrame({"lead_id": [], "reason": []}), evaluation=measured, horizon_days=30,
                        data_end=None, leadml_version="x", **{**LIMITS, **options})


def warning_items(html: str) -> dict[str, str]:
    """The items of the warnings box, by key."""
    box = re.search(r'<section id="warnings">(.*?)</section>', html, flags=re.S)
    return dict(re.findall(r'<li data-warning="([^"]+)"[^>]*>(.*?)</li>', box.group(1))) if box else {}


NBSP = "\u00a0"


@pytest.mark.parametrize(("warning", "english", "german"), [
    ({"key": "stale", "age_days": 3.42, "max_days": 2.0},
     ["The newest activity is 3.4 days old", "more than the 2 allowed", "monitoring.max_data_age_days",
      "check the nightly load, then score again"],
     ["Die neueste Aktivität ist zum Stichtag 3,4 Tage alt", "den nächtlichen Ladelauf prüfen, dann neu bewerten"]),
    ({"key": "stale", "age_days": None, "max_days": 2.0},
     ["No activity at all before the as-of moment", "check the nightly load"],
     ["Vor dem Stichtag gibt es keine Aktivität", "Ladelauf prüfen"]),
    ({"key": "drift", "features": ["industry", "country", "lead_source", "budget_band"], "reasons": 4},
     ["differ from those the model learned from in 4 of the facts it weighs (the drift summary beside the export "
      "names them)", "check the column mapping and the source; if the change is real, retrain"],
     ["in 4 der Merkmale, die es abwägt", "ist die Änderung echt, neu trainieren"]),
    ({"key": "drift", "features": [], "reasons": 1},
     ["The leads scored differ from those the model learned from: check the column mapping"],
     ["unterscheiden sich von denen, aus denen das Modell gelernt hat: Spaltenzuordnung"]),
    ({"key": "few_conversions", "converted": 52, "min": 120},
     ["rests on only 52 conversions, fewer than 120", "read them as a rough guide"],
     ["beruht auf nur 52 Konversionen, weniger als 120", "nur als grobe Richtung lesen"]),
    ({"key": "small_grades", "grades": ["A", "B"], "min": 30},
     ["Grades A and B were measured on fewer than 30 leads each", "evaluation.min_grade_leads", "too few to tell",
      "do not judge them by their rates yet"],
     ["Die Klassen A und B wurden an jeweils weniger als 30 Leads gemessen", "zu wenige für eine Aussage"]),
    ({"key": "small_grades", "grades": ["A"], "min": 1000},
     ["Grade A was measured on fewer than 1,000 leads"], ["Klasse A wurde an weniger als 1.000 Leads gemessen"]),
    ({"key": "inversion", "better": "A", "worse": "B", "better_rate": 0.12, "worse_rate": 0.23},
     ["Grade A converted worse than grade B (12% vs 23%): the grades do not rank these leads well",
      "retrain, or check the setting grades.policy"],
     [f"Klasse A hat schlechter konvertiert als Klasse B (12{NBSP}% gegenüber 23{NBSP}%)",
      "neu trainieren oder die Einstellung grades.policy prüfen"]),
    ({"key": "one_grade", "grade": "D", "leads": 7278},
     ["All 7,278 leads are in grade D: the probability floors do not fit this source",
      "set grades.policy to capacity or shares"],
     ["Alle 7.278 Leads sind in Klasse D", "grades.policy auf capacity oder shares setzen"]),
])
def test_each_warning_is_at_the_top_in_words_with_what_to_do(warning: dict, english: list[str],
                                                              german: list[str]) -> None:
    data = page_data()
    data.warnings = [warning]
    for lang, phrases in (("en", english), ("de", german)):
        html = render(data, lang)
        assert html.index('<section id="warnings">') < html.index('<section id="grades">')
        items = warning_items(html)
        assert list(items) == [warning["key"]]
        for phrase in phrases:
            assert phrase in items[warning["key"]], (lang, phrase)


def test_no_warning_no_box_and_few_conversions_keeps_its_id() -> None:
    html = render(page_data(measured=evaluation()), "en")  # 2,000 evaluated leads, plenty of conversions
    assert 'id="warnings"' not in html and 'id="few-conversions"' not in html
    html = render(page_data(measured=small_a_evaluation(), min_conversions=200), "en")
    few = re.search(r'<li data-warning="few_conversions" id="few-conversions">([^<]*)</li>', html)
    assert few and "only 152 conversions, fewer than 200" in few.group(1)
    assert few.start() < html.index('id="quality"')  # at the top, no longer in the quality section
    assert list(warning_items(html)) == ["few_conversions", "small_grades"]  # grade A: 17 leads


def test_the_scoring_runs_findings_become_warnings() -> None:
    findings = {"freshness": {"is_stale": True, "age_days": 5.0, "max_age_days": 2.0},
                "drift": {"drift_warning": True, "features_over_threshold": ["industry"], "reasons": ["psi"]}}
    items = warning_items(render(page_data(findings=findings), "en"))
    assert list(items) == ["stale", "drift"]
    assert "5.0 days old" in items["stale"] and "in 1 of the facts it weighs" in items["drift"]
    assert "industry" not in items["drift"]  # a feature's internal name is no word for sales


def top_headers(html: str) -> list[str]:
    table = re.search(r'<table id="top-table"><thead><tr>(.*?)</tr></thead>', html, flags=re.S).group(1)
    return re.findall(r"<th[^>]*>(.*?)</th>", table)


def test_display_columns_follow_the_lead_id_only_when_set() -> None:
    shown = render(page_data(display=("company_name", "email")), "en")
    assert top_headers(shown)[:4] == ["Rank", "Lead", "Company name", "Email"]
    first = re.search(r'<table id="top-table">.*?<tbody>\s*<tr>(.*?)</tr>', shown, flags=re.S).group(1)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", first)
    assert re.fullmatch(r"Company \d+", cells[2]) and cells[3] == "x@example.test"
    plain = render(page_data(), "en")
    assert top_headers(plain) == ["Rank", "Lead", "Score", "Grade", "Why", "Trend"]
    assert 'class="display"' not in plain


def test_the_legend_says_how_to_read_reasons_and_risks_without_colour() -> None:
    html = render(page_data(), "en")
    legend = re.search(r'<p class="legend" id="legend">(.*?)</p>', html)
    assert legend and legend.group(1) == "↑ pushes the score up (why) · ↓ holds it back (against)"
    assert html.index('id="legend"') < html.index('id="top-table"')
    assert re.search(r'<li class="reason"><span class="mark"[^>]*>↑</span> \d demo requests', html)
    assert re.search(r'<li class="risk"><span class="mark"[^>]*>↓</span> No activity for 64 days', html)
    assert "↑ hebt den Score (warum)" in render(page_data(), "de")


@pytest.mark.parametrize(("policy", "english", "german", "header"), [
    ("floors", "Grades by probability: A from 30%, B from 15%, C from 5%, D below 5% (setting grades.policy).",
     f"Klassen nach Wahrscheinlichkeit: A ab 30{NBSP}%, B ab 15{NBSP}%, C ab 5{NBSP}%, D unter 5{NBSP}%",
     "Probability from"),
    ("capacity", "Grades by sales capacity: A = the 200 best leads, B = the next 400, C = the next 800, D = the rest "
     "(setting grades.policy).", "Klassen nach Kapazität des Vertriebs: A = die 200 besten Leads, B = die nächsten "
     "400, C = die nächsten 800, D = der Rest (Einstellung grades.policy).", "Capacity (leads)"),
    ("shares", "Grades by share: A = the best 5%, B = the next 15%, C = the next 30%, D = the rest "
     "(setting grades.policy).", f"Klassen nach Anteil: A = die besten 5{NBSP}%, B = die nächsten 15{NBSP}%",
     "Target share"),
])
def test_the_grade_table_says_which_policy_made_the_grades(policy: str, english: str, german: str,
                                                           header: str) -> None:
    grades = GradesConfig(policy=policy, floors=GRADES.floors)
    data = page_data(grades=grades)
    html = render(data, "en")
    sentence = re.search(r'<p class="note" id="grade-policy" data-policy="(\w+)">(.*?)</p>', html)
    assert sentence.group(1) == policy and sentence.group(2) == english
    assert sentence.start() < html.index('id="grade-table"')
    table = html[html.index('id="grade-table"'):html.index("</table>", html.index('id="grade-table"'))]
    assert f'<th class="num">{header}</th>' in table
    last_bound = re.findall(r'<td class="num">([^<]*)</td></tr>', table)[-1]
    assert last_bound == ("0%" if policy == "floors" else "–")  # the last grade is the rest
    assert german in render(data, "de")


def inverted_evaluation() -> Evaluation:
    """A backtest whose grade A (100 leads, 10% converted) did worse than grade B (400 leads, 20%)."""
    parts = [(100, 0.5, 10), (400, 0.2, 80), (600, 0.1, 30), (1000, 0.01, 10)]  # leads, probability, converted
    probability = np.concatenate([np.full(n, p) for n, p, _ in parts])
    y = np.concatenate([np.arange(n) < converted for n, _, converted in parts]).astype(int)
    return Evaluation("evaluate", "run", "2026-09-02", grade_table(y, probability, GRADES), lift_table(y, probability))


def test_an_inverted_grade_is_flagged_in_the_quality_section_and_at_the_top() -> None:
    html = render(page_data(measured=inverted_evaluation()), "en")
    flagged = re.findall(r'<p class="sentence inverted" data-grade="([^"]+)">(.*?)</p>', html)
    assert [grade for grade, _ in flagged] == ["A"]
    assert "Of leads graded A, 10% became opportunities" in flagged[0][1]
    assert '<span class="flag">⚠ converted worse than the grade below</span>' in flagged[0][1]
    assert "Grade A converted worse than grade B (10% vs 20%)" in warning_items(html)["inversion"]
    assert 'class="sentence inverted"' not in render(page_data(measured=evaluation()), "en")


@pytest.mark.parametrize(("outcome", "lang", "words"), [
    ({"en": "closed a deal", "de": "haben einen Abschluss erzielt"}, "en", "closed a deal"),
    ({"en": "closed a deal", "de": "haben einen Abschluss erzielt"}, "de", "haben einen Abschluss erzielt"),
    ({"en": "closed a deal"}, "de", "closed a deal"),  # a language the config does not give: the first one
])
def test_the_outcome_words_of_the_config_replace_became_opportunities(outcome: dict, lang: str, words: str) -> None:
    html = render(page_data(measured=small_a_evaluation(), outcome=outcome), lang)
    sentences = outcome_sentences(html)
    assert all(words in sentence for sentence in sentences.values())  # rates, and counts of a grade too few to tell
    footer = re.search(r"<footer>(.*?)</footer>", html).group(1)
    assert words in footer
    assert "became opportunities" not in html and "Verkaufschance" not in html and "opportunity" not in html


def test_autoescape_is_on_for_every_value() -> None:
    data = page_data()
    data.top = data.top.assign(lead_id="<b>x</b>")
    html = render(data, "en")
    assert '<td class="lead">&lt;b&gt;x&lt;/b&gt;</td>' in html and "<b>x</b>" not in html


def test_a_grade_is_flagged_as_inverted_only_beyond_chance() -> None:
    def row(grade: str, converted: int, rows: int) -> dict:
        return {"grade": grade, "converted": converted, "rows": rows, "rate": converted / rows, "enough": True,
                "inverted": False}

    noise = [row("A", 3, 30), row("B", 4, 30)]
    assert inversions(noise) == [] and not noise[0]["inverted"]
    real = [row("A", 12, 100), row("B", 46, 200), row("C", 5, 400)]  # 12% against 23%, as a user saw it
    found = inversions(real)
    assert [(f["better"], f["worse"]) for f in found] == [("A", "B")] and real[0]["inverted"]
    counts = pd.DataFrame({"grade": list("ABCD"), "bound": [0.2, 0.08, 0.02, 0.0], "leads": [0, 0, 0, 7278],
                           "share": [0, 0, 0, 1.0]})
    keys = [w["key"] for w in page_warnings({}, counts, real, policy="floors", min_grade_leads=30, conversions=63,
                                            min_conversions=120)]
    assert keys == ["few_conversions", "inversion", "one_grade"]
    assert "one_grade" not in [w["key"] for w in page_warnings({}, counts, [], policy="capacity", min_grade_leads=30,
                                                                 conversions=None, min_conversions=120)]
