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
from leadml.reporting.report_data import Evaluation, build_report, changes, check_export, rejects_summary
from leadml.reporting.report_html import render
from leadml.scoring.population import EXPLAIN_COLUMNS, ScoringResult, finalise

GRADES = GradesConfig(floors={"A": 0.30, "B": 0.15, "C": 0.05, "D": 0.0})
AS_OF = pd.Timestamp("2026-11-01", tz="UTC")
HOSTILE_ID = '<script>document.title="pwned"</script>'
SAFE_TAGS = {"html", "head", "meta", "title", "style", "body", "header", "h1", "div", "span", "b", "main", "section",
             "h2", "h3", "table", "thead", "tbody", "tr", "th", "td", "ul", "li", "p", "figure", "figcaption", "img",
             "footer"}
LIMITS = {"min_grade_leads": 30, "min_conversions": 120}  # the configuration's defaults (evaluation.*)
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
    rejects = pd.DataFrame({"lead_id": [HOSTILE_ID, "L1", "L2"], "reason": ["<i>created_at</i> missing"] * 2
                            + ["duplicate lead_id"]})
    html = render(build_report(now, GRADES, before, rejects, evaluation=evaluation(), horizon_days=30, data_end=None,
                               leadml_version="x", **LIMITS, top=len(now)), "en")
    tags = set(re.findall(r"<([a-zA-Z][a-zA-Z0-9]*)", html))
    assert tags <= SAFE_TAGS, tags - SAFE_TAGS  # no script, no injected img or b
    assert not re.search(r"<[^>]*\son\w+\s*=", html)  # no event handler attribute on any tag
    assert html.count("&lt;script&gt;document.title=&quot;pwned&quot;&lt;/script&gt;") >= 2  # top table, rejects
    assert "&quot;&gt;&lt;img src=x onerror=&quot;document.title=1&quot;&gt;" in html
    inside_tags = " ".join(re.findall(r"<[^>]*>", html))  # escaped text holds no "<": only real tags
    references = re.findall(r"""(?:src|href|action|srcset)\s*=\s*["']?([^"'\s>]*)""", inside_tags, flags=re.I)
    assert references and all(ref.startswith("data:image/png;base64,") for ref in references)
    assert not re.search(r"https?://|url\(|@import|<link|<iframe|<object|<embed", html.replace(
        "HYPERLINK(&quot;http://evil.invalid", ""), flags=re.I)
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
    assert f"Von den Leads der Klasse A wurden {rate} innerhalb von 30 Tagen zur Verkaufschance" in html
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
