"""Reasons are facts a salesperson would say: no internal words, decayed counts said by a plain count,
and a topic on one side only (a reason or a risk, never both)."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from leadml.config import Config, FeaturesConfig, MappedFeature, load_config
from leadml.data.clean import clean_tables
from leadml.features import feature_catalog
from leadml.features.budget import BUDGET_BANDS
from leadml.features.fit import FUNCTION_PATTERNS, SENIORITY_LEVELS, SIZE_BANDS
from leadml.features.flat_catalog import flat_catalog
from leadml.features.geography import REGIONS
from leadml.modeling.lead_model import LeadModel
from leadml.reasons.attribution import explain, topic_sides
from leadml.reasons.words import LANGUAGES, combined_reasons, duration, localise, say, say_numbers, says_plainly
from leadml.scoring.population import population_matrix
from tests.conftest import AS_OF
from tests.flat_export import mapping_section

INTERNAL = re.compile(r"\b(?:weighted|decayed|unknown|half-life|touch(?:es)?|high-intent|log(?:10)?|nan|gewichtet|"
                      r"unbekannt\w*|halbwertszeit|touch)\b|10\^|[{}_]", re.IGNORECASE)
TODAY = ["Recent high-intent touches (weighted 6.0)", "Works in unknown", "Budget is 10^-1.2 of revenue",
         "Jüngste Demo-Anfragen (gewichtet 1,2)", "Bereich: unbekannter Bereich", "seniority: unbekannt",
         "Activity trend +3 touches against the two weeks before", "Industry: nan", "Lead for {value:.0f} days"]
CATEGORIES = {"seniority": SENIORITY_LEVELS, "job_function": [name for name, _ in FUNCTION_PATTERNS],
              "company_size_band": [name for _, name in SIZE_BANDS],
              "budget_band": [name for _, name in BUDGET_BANDS],
              "region": [name for name, _ in REGIONS] + ["middle_east_africa"],
              "email_domain": ["business", "freemail"], "country": ["DE", "US"],
              "industry": ["software", "financial_services"]}
MAPPED = {"Tier (Sales)": MappedFeature(family="fit", type="categorical"),
          "Seats": MappedFeature(family="budget", type="numeric"),
          "Partner": MappedFeature(family="fit", type="flag")}


def internal_words(text: str) -> list[str]:
    """The internal words, placeholders and snake_case leaks in a reason."""
    return INTERNAL.findall(text)


def every_catalog() -> list:
    """Every feature a model can have: the contract's with a mapped leads column, and a flat export's."""
    contract = feature_catalog(FeaturesConfig(lead_columns=MAPPED))
    mapping = Config.model_validate({"mapping": mapping_section(
        columns={"lead_id": "Lead ID", "source": "Signup Channel", "country": "Nation", "created_at": "Created",
                 "job_title": "Role", "employees": "Size", "industry": "Sector", "declared_budget": "Budget",
                 "annual_revenue": "Revenue", "email": "E-mail"},
        features={"Visits": {"family": "engagement", "type": "numeric"},
                  "Newsletter": {"family": "engagement", "type": "flag"},
                  "Persona": {"family": "fit", "type": "categorical"}})}).mapping
    return [*contract, *flat_catalog(mapping, FeaturesConfig())]


def values_to_say(feature, features_in_all_languages) -> list[object]:
    """Missing, 0, 1, a typical many and a negative number; or each known category, "unknown" and a new one."""
    if feature.kind == "numeric":
        many = 0.4 if "rate" in feature.name else -1.2 if feature.log10 else 400.0 if "days" in feature.name else 12.0
        return [np.nan, None, 0.0, 1.0, many, -3.0 if "velocity" in feature.name else 2.0]
    known = {key for f in features_in_all_languages for key in (f.labels or {})}
    return [np.nan, "unknown", "some_new_value", *known, *CATEGORIES.get(feature.name, [])]


@pytest.mark.parametrize("text", TODAY)
def test_the_checker_finds_the_words_of_before(text: str) -> None:
    assert internal_words(text)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_feature_says_an_internal_word_in_any_language(lang: str) -> None:
    catalog = every_catalog()
    both = {f.name: [f] for f in localise(catalog, "en")}
    for f in localise(catalog, "de"):
        both[f.name].append(f)
    seen = 0
    for feature in localise(catalog, lang):
        for value in values_to_say(feature, both[feature.name]):
            words = say(feature, value)
            assert words and not internal_words(words), (feature.name, value, words)
            seen += 1
    assert seen > 500


@pytest.mark.parametrize(("days", "en", "de"), [
    (2, "2 days", "2 Tagen"), (59, "59 days", "59 Tagen"), (60, "2 months", "2 Monaten"),
    (426, "14 months", "14 Monaten"), (715, "23 months", "23 Monaten"), (716, "2 years", "2 Jahren"),
    (1016, "3 years", "3 Jahren"), (1, "1 day", "einem Tag"),
])
def test_durations_read_as_people_say_them(days: int, en: str, de: str) -> None:
    assert (duration(days, "en"), duration(days, "de")) == (en, de)


# ---- decayed counts say a plain count -----------------------------------------------------------

@pytest.mark.parametrize(("windows", "half_lives", "said"), [
    ((7, 30, 90), (7, 30), {7: "30d", 30: "90d"}),
    ((3, 14, 60, 365), (2, 90), {2: "14d", 90: "365d"}),
    ((7, 30), (30,), {30: "all"}),
])
def test_a_decayed_count_says_the_count_over_a_window_twice_its_half_life(windows, half_lives, said) -> None:
    catalog = feature_catalog(FeaturesConfig(windows_days=windows, half_lives_days=half_lives))
    by_name = {f.name: f for f in catalog}
    for lang in LANGUAGES:
        worded = {f.name: f for f in localise(catalog, lang)}
        for half_life, window in said.items():
            decayed = worded[f"decayed_web_visit_{half_life}d"]
            assert decayed.says == f"n_web_visit_{window}" and decayed.topic == by_name[decayed.says].topic
            assert say(decayed, 4.0) == say(worded[decayed.says], 4.0)
            assert worded[f"decayed_high_intent_{half_life}d"].says == "days_since_last_high_intent"


def _crafted(names: list[str], contributions: list[float], values: dict[str, list]) -> tuple:
    frame = pd.DataFrame({name: [size] for name, size in zip(names, contributions, strict=True)} | {"base": [-3.0]})
    return frame, pd.DataFrame(values)


@pytest.mark.parametrize(("lang", "visits", "intent"), [
    ("en", "Visited the website 4 times in the last 30 days",
     "Last viewed pricing, asked for a demo, met sales or started a trial 3 days ago"),
    ("de", "Hat in den letzten 30 Tagen die Website 4-mal besucht",
     "Hat zuletzt vor 3 Tagen Preise angesehen, eine Demo angefragt, den Vertrieb getroffen oder eine Testversion "
     "gestartet"),
])
def test_explain_words_decayed_counts_by_their_plain_fact(lang: str, visits: str, intent: str) -> None:
    catalog = localise(feature_catalog(FeaturesConfig()), lang)
    names = ["decayed_web_visit_7d", "decayed_high_intent_30d", "n_web_visit_30d", "days_since_last_high_intent"]
    contributions, matrix = _crafted(names, [0.9, 0.5, 0.1, 0.05], {
        "decayed_web_visit_7d": [1.7], "decayed_high_intent_30d": [0.93], "n_web_visit_30d": [4.0],
        "days_since_last_high_intent": [3.0]})
    explained = explain(contributions, matrix, catalog, reasons=3)
    assert [explained[f"reason_{i}"].iloc[0] for i in (1, 2, 3)] == [visits, intent, ""]  # one reason per topic
    assert "1.7" not in explained["top_reasons"].iloc[0] and "0.9" not in explained["top_reasons"].iloc[0]


def test_a_matrix_without_the_said_count_is_refused_by_name() -> None:
    catalog = feature_catalog(FeaturesConfig())
    contributions, matrix = _crafted(["decayed_web_visit_7d"], [0.9], {"decayed_web_visit_7d": [1.7]})
    with pytest.raises(ValueError, match="n_web_visit_30d"):
        explain(contributions, matrix, catalog)


# ---- one topic, one side ------------------------------------------------------------------------

def test_a_topic_pushing_both_ways_is_on_the_side_of_its_net_contribution() -> None:
    catalog = localise(feature_catalog(FeaturesConfig()), "en")
    names = ["n_demo_requested_7d", "n_demo_requested_all", "employees", "industry"]
    contributions = pd.DataFrame({"n_demo_requested_7d": [0.5, 0.5], "n_demo_requested_all": [-0.8, -0.2],
                                  "employees": [0.2, -0.3], "industry": [-0.1, 0.1], "base": [-3.0, -3.0]})
    matrix = pd.DataFrame({"n_demo_requested_7d": [2.0, 2.0], "n_demo_requested_all": [3.0, 3.0],
                           "employees": [250.0, 4.0], "industry": ["software", "retail"]})
    explained = explain(contributions[[*names, "base"]], matrix, catalog, reasons=3, risks=2)
    rows = explained.to_dict("records")
    assert [rows[0][k] for k in ("reason_1", "reason_2", "risk_1", "risk_2")] == [
        "Company of 250 employees", "", "Requested 3 demos so far", "Industry: software"]  # demos net -0.3
    assert [rows[1][k] for k in ("reason_1", "reason_2", "risk_1", "risk_2")] == [
        "Requested 2 demos in the last 7 days", "Industry: retail", "Company of 4 employees", ""]  # net +0.3
    assert rows[0]["top_reasons"] == "↓ Requested 3 demos so far; ↑ Company of 250 employees; ↓ Industry: software"
    total = explained[["fit_score", "engagement_score", "budget_score", "base_score"]].sum(axis=1)
    np.testing.assert_allclose(total, contributions.sum(axis=1), atol=1e-12)


def test_seniority_and_company_size_read_as_one_reason() -> None:
    catalog = localise(feature_catalog(FeaturesConfig()), "en")
    contributions = pd.DataFrame({"seniority": [0.4], "is_decision_maker": [0.2], "employees": [0.3],
                                  "company_size_band": [0.1], "industry": [0.2], "base": [-3.0]})
    matrix = pd.DataFrame({"seniority": ["director"], "is_decision_maker": [1.0], "employees": [250.0],
                           "company_size_band": ["201-1000"], "industry": ["software"]})
    explained = explain(contributions, matrix, catalog, reasons=3, combined=combined_reasons("en"))
    assert [explained[f"reason_{i}"].iloc[0] for i in (1, 2, 3)] == [
        "Director at a 250-person company", "Industry: software", ""]


# ---- the words of a real model ------------------------------------------------------------------

@pytest.fixture(scope="module")
def real(trained_session, tiny_tables) -> dict:
    """The session's trained model on a generated population: its matrix, contributions and reasons per language."""
    model = LeadModel.load(trained_session.model)
    settings = load_config(trained_session.config, env={}).features
    _, matrix = population_matrix(clean_tables(tiny_tables)[0], pd.Timestamp(AS_OF, tz="UTC"), settings)
    contributions = model.contributions(matrix)
    catalog = feature_catalog(settings)
    explained = {lang: explain(contributions, matrix, localise(catalog, lang), 3, combined=combined_reasons(lang))
                 for lang in LANGUAGES}
    return {"matrix": matrix, "contributions": contributions, "catalog": catalog, **explained}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_real_models_reasons_say_no_internal_word(real: dict, lang: str) -> None:
    explained = real[lang]
    columns = ["reason_1", "reason_2", "reason_3", "risk_1", "risk_2", "top_reasons"]
    cells = pd.concat([explained[c] for c in columns])
    cells = cells[cells != ""]
    assert len(cells) > 1000
    bad = {text: internal_words(text) for text in cells.unique() if internal_words(text)}
    assert not bad
    for row in explained.to_dict("records"):
        sides = ({row[c] for c in ("reason_1", "reason_2", "reason_3")}, {row[c] for c in ("risk_1", "risk_2")})
        assert not (sides[0] & sides[1]) - {""}


def test_a_real_models_topics_are_reasons_or_risks_by_their_net_contribution(real: dict) -> None:
    catalog = [replace(f, template=f"topic {f.topic or f.name}", missing=f"topic {f.topic or f.name}", binary=None,
                       none="", one="", negative="", says="", nouns=None, labels=None, log10=False)
               for f in real["catalog"]]
    contributions = real["contributions"]
    explained = explain(contributions, real["matrix"], catalog, 3, risks=2)
    topic_of = {f.name: f.topic or f.name for f in catalog}
    net = contributions.drop(columns="base").T.groupby(lambda name: topic_of[name]).sum().T
    for i, row in enumerate(explained.to_dict("records")):
        reasons = {row[c].removeprefix("topic ") for c in ("reason_1", "reason_2", "reason_3")} - {""}
        risks = {row[c].removeprefix("topic ") for c in ("risk_1", "risk_2")} - {""}
        assert reasons and risks and not reasons & risks
        assert (net.iloc[i][list(reasons)] > 0).all() and (net.iloc[i][list(risks)] < 0).all()
        strongest_up = net.iloc[i].nlargest(3)
        assert reasons == set(strongest_up[strongest_up > 0].index)


def test_a_recent_count_that_pushes_up_with_nothing_in_its_window_says_the_count_further_back() -> None:
    """A recency-weighted pricing count still carries weight from views 40 days back: the reason must not say
    "no pricing page view in the last 30 days" as a reason for the lead, but the views it counts."""
    catalog = feature_catalog(FeaturesConfig())
    names = [f.name for f in catalog]
    matrix = pd.DataFrame({name: [0.0, 0.0] for name in names})
    for name in names:
        if next(f for f in catalog if f.name == name).kind == "categorical":
            matrix[name] = ["x", "x"]
    matrix["n_pricing_page_view_all"] = [3.0, 0.0]
    contributions = pd.DataFrame({name: [0.0, 0.0] for name in names} | {"base": [-2.0, -2.0]})
    contributions["decayed_pricing_page_view_7d"] = [0.8, -0.8]
    out = explain(contributions, matrix, catalog, 3)
    assert out["reason_1"].iloc[0] == say(next(f for f in catalog if f.name == "n_pricing_page_view_all"), 3.0)
    assert "3" in out["reason_1"].iloc[0]
    assert out["risk_1"].iloc[1] == say(next(f for f in catalog if f.name == "n_pricing_page_view_30d"), 0.0)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_words_said_once_per_distinct_value_are_the_words_of_each_row(real: dict, lang: str) -> None:
    """Reasons are worded once per (feature, value as the words tell it apart): durations by calendar day,
    a recent count with the count said instead of it. Every row must still read exactly as worded alone."""
    from leadml.reasons.attribution import _strongest, _value_columns, _Wording, topic_sides

    catalog = localise(real["catalog"], lang)
    by_name = {f.name: f for f in catalog}
    contributions = real["contributions"]
    features = [by_name[c] for c in contributions.columns if c != "base"]
    _, net, lead = topic_sides(contributions.drop(columns="base").to_numpy(), [f.topic or f.name for f in features])
    words = _Wording(features, by_name, _value_columns(real["matrix"], features, combined_reasons(lang)), {})
    for sign in (+1, -1):
        sizes, picks = _strongest(net, 4, sign)
        grouped = words.all(picks, lead, sizes, sign)
        alone = _Wording(features, by_name, words.columns, {})
        for row, k in zip(*np.nonzero(sizes > 0), strict=True):
            assert grouped[row, k] == alone(int(row), int(lead[row, picks[row, k]]), sign)
        assert (grouped[sizes == 0] == "").all() and (sizes > 0).sum() > 1000


@pytest.mark.parametrize("lang", LANGUAGES)
def test_plain_numbers_said_at_once_read_as_said_one_by_one(lang: str) -> None:
    values = [0.0, 0.4, 1.0, 2.5, -3.0, 1234567.891, float("nan"), float("inf"), -float("inf")]
    plain = [f for f in localise(feature_catalog(FeaturesConfig()), lang) if says_plainly(f)]
    assert {"annual_revenue", "declared_budget"} <= {f.name for f in plain}
    for feature in plain:
        assert say_numbers(feature, values) == [say(feature, value) for value in values], feature.name


def test_a_topic_nets_its_features_and_the_one_pushing_hardest_its_way_says_it() -> None:
    values = np.array([[0.5, -0.2, 0.1, 0.3],     # demo nets +0.4: column 0 leads
                       [-0.5, 0.2, 0.1, -0.3],    # demo nets -0.2: column 0 pushes down hardest
                       [0.25, 0.25, 0.0, 0.0]])   # a tie: the first of the topic leads
    order, net, lead = topic_sides(values, ["demo", "demo", "demo", "budget"])
    assert order == ["demo", "budget"]
    np.testing.assert_allclose(net, [[0.4, 0.3], [-0.2, -0.3], [0.5, 0.0]])
    assert lead.tolist() == [[0, 3], [0, 3], [0, 3]]
