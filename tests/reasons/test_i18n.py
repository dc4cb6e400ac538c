"""Reasons and headings in English and German; grades and column names never change."""

import re

import pytest

from leadml.config import FeaturesConfig
from leadml.features import feature_catalog
from leadml.reasons.words import TEXT, check_language, localise, number, say, text

CATALOG = feature_catalog(FeaturesConfig())


def by_name(lang: str) -> dict:
    return {feature.name: feature for feature in localise(CATALOG, lang)}


@pytest.mark.parametrize("settings", [FeaturesConfig(), FeaturesConfig(windows_days=(3, 14, 60, 365),
                                                                        half_lives_days=(2, 90))])
def test_every_feature_has_german_words(settings: FeaturesConfig) -> None:
    catalog = feature_catalog(settings)
    german = localise(catalog, "de")
    assert [f.name for f in german] == [f.name for f in catalog]  # same order: the model's order
    assert all(f.lang == "de" for f in german)


@pytest.mark.parametrize(("name", "value", "words"), [
    ("n_demo_requested_7d", 1.0, "Hat in den letzten 7 Tagen eine Demo angefragt"),
    ("n_demo_requested_30d", 3.0, "Hat in den letzten 30 Tagen 3 Demos angefragt"),
    ("n_demo_requested_all", 0.0, "Hat bisher keine Demo angefragt"),
    ("days_since_trial_start", 3.0, "Hat vor 3 Tagen eine Testversion gestartet"),
    ("days_since_trial_start", 1.0, "Hat gestern eine Testversion gestartet"),
    ("days_since_last_touch", 12.0, "Letzte Aktivität vor 12 Tagen"),
    ("days_since_last_touch", 400.0, "Letzte Aktivität vor 13 Monaten"),
    ("lead_age_days", 1016.0, "Seit 3 Jahren Lead"),
    ("velocity_14d", -1.0, "1 Aktivität weniger in den letzten 2 Wochen als in den 2 davor"),
    ("log_budget_to_revenue", -1.2, "Budget beträgt 6\u00a0% des Unternehmensumsatzes"),
    ("n_pricing_page_view_7d", 2.0, "Hat in den letzten 7 Tagen 2-mal die Preise angesehen"),
    ("n_touches_30d", 0.0, "In den letzten 30 Tagen keine Aktivität"),
    ("is_decision_maker", 1.0, "Entscheider"),
    ("has_declared_budget", 1.0, "Hat ein Budget genannt"),
    ("declared_budget", 50000.0, "Hat ein Budget von 50.000 genannt"),
    ("employees", 1234.0, "Unternehmen mit 1.234 Mitarbeitern"),
    ("email_click_rate", 0.385, "Hat in 38\u00a0% der geöffneten E-Mails einen Link geklickt"),
    ("decayed_demo_requested_7d", 2.0, "Hat in den letzten 30 Tagen 2 Demos angefragt"),  # says n_demo_requested_30d
    ("seniority", "c_level", "Position: Geschäftsführung (C-Level)"),
    ("lead_source", "web_form", "Kam über ein Webformular"),
    ("industry", "software", "Branche: software"),
    ("days_since_last_high_intent", float("nan"),
     "Hat nie Preise angesehen, eine Demo angefragt, den Vertrieb getroffen oder eine Testversion gestartet"),
    ("job_function", "unknown", "Bereich aus dem Titel nicht erkennbar"),
])
def test_german_reasons_read_naturally(name: str, value: object, words: str) -> None:
    assert say(by_name("de")[name], value) == words


@pytest.mark.parametrize(("name", "value", "words"), [
    ("n_demo_requested_7d", 1.0, "Requested one demo in the last 7 days"),
    ("n_demo_requested_all", 0.0, "Requested no demo so far"),
    ("n_web_visit_30d", 12.0, "Visited the website 12 times in the last 30 days"),
    ("n_web_visit_90d", 0.0, "No website visit in the last 90 days"),
    ("days_since_last_touch", 2.0, "Last activity 2 days ago"),
    ("lead_age_days", 1016.0, "Became a lead 3 years ago"),
    ("lead_age_days", 426.0, "Became a lead 14 months ago"),
    ("velocity_14d", 5.0, "5 more activities in the last 2 weeks than in the 2 before"),
    ("velocity_14d", -3.0, "3 fewer activities in the last 2 weeks than in the 2 before"),
    ("velocity_ratio_14d", 5.0, "5 more activities in the last 2 weeks than in the 2 before"),  # says velocity_14d
    ("log_budget_to_revenue", -1.2, "Budget is 6% of company revenue"),
    ("log_budget_to_revenue", -3.3, "Budget is 0.05% of company revenue"),
    ("industry", float("nan"), "Industry not given"),
    ("job_function", "unknown", "Job function not clear from the title"),
    ("employees", 1234.0, "Company of 1,234 employees"),
    ("email_click_rate", 0.385, "Clicked a link in 38% of opened emails"),
    ("seniority", "c_level", "Seniority: C-level"),
    ("industry", "financial_services", "Industry: financial services"),
])
def test_english_reasons_stay_english(name: str, value: object, words: str) -> None:
    assert say(by_name("en")[name], value) == words


def test_every_heading_has_both_languages_with_the_same_placeholders() -> None:
    for key, (english, german) in TEXT.items():
        assert english and german, key
        assert set(re.findall(r"{(\w+)", english)) == set(re.findall(r"{(\w+)", german)), key
        assert text(key, "de") == german


def test_numbers_follow_the_language() -> None:
    assert number(1234567.891, ",.2f", "de") == "1.234.567,89"
    assert number(1234567.891, ",.2f", "en") == "1,234,567.89"
    assert number(0.25, ".0%", "de") == "25\u00a0%"


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="language 'fr' is not supported: use one of en, de"):
        check_language("fr")


@pytest.mark.parametrize(("lang", "decision_maker", "words"), [
    ("de", 1.0, ["Entscheider mit Budget", "Hat in den letzten 7 Tagen 2 Demos angefragt", ""]),  # 0.3 + 0.6, 0.8
    ("en", 1.0, ["Decision maker with a budget", "Requested 2 demos in the last 7 days", ""]),
    ("de", 0.0, ["Hat in den letzten 7 Tagen 2 Demos angefragt", "Hat ein Budget genannt", "Kein Entscheider"]),
])
def test_a_decision_maker_with_a_budget_is_one_reason(lang: str, decision_maker: float, words: list[str]) -> None:
    import pandas as pd

    from leadml.reasons.attribution import explain
    from leadml.reasons.words import combined_reasons

    names = ["is_decision_maker", "has_declared_budget", "declared_budget", "n_demo_requested_7d"]
    catalog = [f for f in localise(CATALOG, lang) if f.name in names]
    matrix = pd.DataFrame({"is_decision_maker": [decision_maker], "has_declared_budget": [1.0],
                           "declared_budget": [50000.0], "n_demo_requested_7d": [2.0]})
    contributions = pd.DataFrame({"is_decision_maker": [0.3], "has_declared_budget": [0.4], "declared_budget": [0.2],
                                  "n_demo_requested_7d": [0.8], "base": [-4.0]})
    explained = explain(contributions, matrix, catalog, reasons=3, combined=combined_reasons(lang))
    assert [explained[f"reason_{i}"].iloc[0] for i in (1, 2, 3)] == words
