"""English and German words for people: reasons, report headings and numbers.

Only text meant to be read changes with the language; column names of files that programs read
(the CRM export, the rejects) stay the same snake_case in every language, and grades stay A–D.
German reasons come from a copy of the feature catalog whose templates are German
(``localise``), so the explainer itself knows nothing of languages.
"""

from __future__ import annotations

import math
import numbers
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from leadml.features.flat_catalog import MAPPED_FROM

if TYPE_CHECKING:
    from leadml.features.catalog import Feature

LANGUAGES = ("en", "de")


def check_language(lang: str) -> str:
    """Return ``lang`` if leadml speaks it, else raise a ValueError naming the choices."""
    if lang not in LANGUAGES:
        raise ValueError(f"language {lang!r} is not supported: use one of {', '.join(LANGUAGES)}")
    return lang


class _GermanNumbers(string.Formatter):
    """Format numbers the German way: 1.234,5 and 38 %."""

    def format_field(self, value: Any, format_spec: str) -> str:
        text = format(value, format_spec)
        if isinstance(value, int | float) and not isinstance(value, bool):
            text = text.translate(str.maketrans({",": ".", ".": ","}))
            if format_spec.endswith("%"):
                text = text[:-1] + "\u00a0%"
        return text


_GERMAN = _GermanNumbers()


def fill(template: str, lang: str = "en", **values: Any) -> str:
    """Fill a ``str.format`` template, writing numbers as the language does."""
    return _GERMAN.format(template, **values) if lang == "de" else template.format(**values)


_NOT_GIVEN = {"en": "not given", "de": "nicht angegeben"}
# day, month and year: the words for one and for many, in the case "vor"/"seit" take in German
_UNITS = {"en": (("1 day", "days"), ("a month", "months"), ("a year", "years")),
          "de": (("einem Tag", "Tagen"), ("einem Monat", "Monaten"), ("einem Jahr", "Jahren"))}


def duration(days: float, lang: str = "en") -> str:
    """Say a number of days as people do: days below 60, months below two years, then years."""
    amount, unit = round(days), 0
    if amount >= 60:
        amount, unit = round(days / 30.4375), 1
        if amount >= 24:
            amount, unit = round(days / 365.25), 2
    one, many = _UNITS[check_language(lang)][unit]
    return one if amount == 1 else f"{amount} {many}"


def percent(share: float, lang: str = "en") -> str:
    """Say a share as a percentage with the decimals a small one needs: 6%, 0.5%, 0.04%."""
    points = share * 100
    if points < 0.001:
        return fill("{less} {value:.3%}", lang, less="weniger als" if lang == "de" else "less than", value=0.00001)
    digits = 0 if points >= 1 else min(3, math.ceil(-math.log10(points)))
    return fill("{value:,." + str(digits) + "%}", lang, value=share)


def _missing(value: object) -> bool:
    """Missing, not a number, or a category parsed as unknown: all say the feature's ``missing`` words."""
    if type(value) is float:  # the common case, without the slow check against numbers.Real
        return not math.isfinite(value)
    if value is None or type(value).__name__ == "NAType":
        return True
    if isinstance(value, float | int) or isinstance(value, numbers.Real):  # a concrete type first: ABCs are slow
        return not math.isfinite(value)
    return isinstance(value, str) and value.strip().lower() in ("", "unknown")


def say(feature: Feature, value: object) -> str:
    """Say this feature's value in plain words, for a reason or risk."""
    if _missing(value):
        return feature.missing or f"{feature.description}: {_NOT_GIVEN[feature.lang]}"
    if isinstance(value, float | int) or isinstance(value, numbers.Real):
        return _say_number(feature, float(value))
    label = (feature.labels or {}).get(str(value))
    return fill(feature.template, feature.lang, value=label or str(value).replace("_", " "), noun="")


def _say_number(feature: Feature, value: float) -> str:
    # a feature attribute read here that changes the words must also be in ``says_plainly``
    if feature.binary:
        return feature.binary[int(value > 0.5)]
    if feature.log10:
        value = 10.0 ** value
    if "{duration" in feature.template and value > 0:  # elapsed days count as calendar days from a midnight as-of:
        value = float(math.ceil(value - 1e-9))  # 11 hours before it was yesterday, not "today"
    if round(value) == 0 and feature.none:
        return feature.none
    if round(value) == 1 and feature.one:
        return feature.one
    template = feature.template
    if value < 0 and feature.negative:
        template, value = feature.negative, -value
    noun = feature.nouns[0 if round(value) == 1 else 1] if feature.nouns else ""
    extra = {"duration": duration(value, feature.lang)} if "{duration" in template else {}
    if "{percent" in template:
        extra["percent"] = percent(value, feature.lang)
    return fill(template, feature.lang, value=value, noun=noun, **extra)


def says_plainly(feature: Feature) -> bool:
    """Whether the template alone says every finite number of this feature: no units, signs or special words."""
    return not (feature.binary or feature.log10 or feature.none or feature.one or feature.negative or feature.nouns
                or "{duration" in feature.template or "{percent" in feature.template)


def say_numbers(feature: Feature, values: Sequence[float]) -> list[str]:
    """``say`` of each of many numbers of a feature that ``says_plainly``, without its checks per value:
    amounts such as revenue are said of tens of thousands of distinct values per chunk."""
    missing = say(feature, math.nan)
    template, lang = feature.template, feature.lang
    return [fill(template, lang, value=value, noun="") if math.isfinite(value) else missing for value in values]


@dataclass(frozen=True)
class Combined:
    """Two reasons that read better as one when both push the score up, e.g. "Decision maker with a budget"
    for a decision maker who stated a budget, or "Director at a 250-person company".

    ``words`` may name features in braces, filled from the row: a feature in ``labels`` by its label (a value
    without one gives no phrase), any other as a number of at least 2 (a plural reads right)."""

    topics: tuple[str, str]
    flags: tuple[str, ...]  # binary features that must all be 1 for the words to be true
    words: str
    labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict, hash=False, compare=False)
    lang: str = "en"

    @property
    def fields(self) -> tuple[str, ...]:
        """The features the words name."""
        return tuple(name for _, name, _, _ in string.Formatter().parse(self.words) if name)

    @property
    def needs(self) -> tuple[str, ...]:
        """Every feature whose value decides or fills the phrase."""
        return (*self.flags, *self.fields)

    def phrase(self, values: Mapping[str, object]) -> str | None:
        """The words for one row's ``values``, or None where they would not be true or would read badly."""
        if any(values.get(flag) != 1.0 for flag in self.flags):
            return None
        filled: dict[str, object] = {}
        for name in self.fields:
            value = values.get(name)
            if name in self.labels:
                filled[name] = self.labels[name].get(str(value))
            elif isinstance(value, numbers.Real) and not _missing(value) and value >= 1.5:
                filled[name] = float(value)
            if filled.get(name) is None:
                return None
        return fill(self.words, self.lang, **filled)


def number(value: float, spec: str, lang: str = "en") -> str:
    """Format one number in the language's style (``spec`` as in ``format``)."""
    return fill("{value:" + spec + "}", lang, value=value)


# ---- report headings and phrases --------------------------------------------------------------

TEXT: dict[str, tuple[str, str]] = {
    "title": ("Lead scoring report", "Lead-Scoring-Bericht"),
    "as_of": ("Scores as of", "Scores zum Stichtag"),
    "scored_at": ("Scored at", "Berechnet am"),
    "model": ("Model", "Modell"),
    "data_until": ("Latest data", "Neueste Daten"),
    "data_age": ("{hours} hours before the as-of moment", "{hours} Stunden vor dem Stichtag"),
    "leads_scored": ("Leads scored", "Bewertete Leads"),
    "grades": ("Leads per grade", "Leads je Klasse"),
    "grade": ("Grade", "Klasse"),
    "leads": ("Leads", "Leads"),
    "share": ("Share", "Anteil"),
    "probability_floor": ("Probability from", "Wahrscheinlichkeit ab"),
    "capacity_leads": ("Capacity (leads)", "Kapazität (Leads)"),
    "target_share": ("Target share", "Zielanteil"),
    "policy_floors": ("Grades by probability: {bounds} (setting grades.policy).",
                      "Klassen nach Wahrscheinlichkeit: {bounds} (Einstellung grades.policy)."),
    "policy_capacity": ("Grades by sales capacity: {bounds} (setting grades.policy).",
                        "Klassen nach Kapazität des Vertriebs: {bounds} (Einstellung grades.policy)."),
    "policy_shares": ("Grades by share: {bounds} (setting grades.policy).",
                      "Klassen nach Anteil: {bounds} (Einstellung grades.policy)."),
    "floor_from": ("{grade} from {bound}", "{grade} ab {bound}"),
    "floor_below": ("{grade} below {bound}", "{grade} unter {bound}"),
    "capacity_first": ("{grade} = the {bound} best leads", "{grade} = die {bound} besten Leads"),
    "shares_first": ("{grade} = the best {bound}", "{grade} = die besten {bound}"),
    "bound_next": ("{grade} = the next {bound}", "{grade} = die nächsten {bound}"),
    "bound_rest": ("{grade} = the rest", "{grade} = der Rest"),
    "top_leads": ("Top leads", "Top-Leads"),
    "rank": ("Rank", "Rang"),
    "lead": ("Lead", "Lead"),
    "score": ("Score", "Score"),
    "reasons": ("Why", "Warum"),
    "risks": ("Against", "Dagegen"),
    "legend": ("↑ pushes the score up (why) · ↓ holds it back (against)",
               "↑ hebt den Score (warum) · ↓ hält ihn zurück (dagegen)"),
    "trend": ("Trend", "Trend"),
    "change": ("Change", "Änderung"),
    "new_a": ("New A leads since the last run", "Neue A-Leads seit dem letzten Lauf"),
    "new_a_count": ("{count} leads are new in grade A; the {shown} best-ranked are listed.",
                    "{count} Leads sind neu in Klasse A; die {shown} bestplatzierten sind aufgeführt."),
    "new_a_none": ("No lead became A since the last run.", "Seit dem letzten Lauf ist kein Lead neu in A."),
    "previous_grade": ("Before", "Vorher"),
    "movers_up": ("Biggest movers up", "Größte Aufsteiger"),
    "movers_down": ("Biggest movers down", "Größte Absteiger"),
    "movers_none": ("No lead changed its score.", "Kein Lead hat seinen Score geändert."),
    "no_history": ("No earlier run to compare with: this is the first scoring in the history.",
                   "Kein früherer Lauf zum Vergleich: dies ist die erste Bewertung in der Historie."),
    "previous_run": ("Compared with the run as of {when}", "Verglichen mit dem Lauf zum Stichtag {when}"),
    "model_quality": ("How good are the grades?", "Wie gut sind die Klassen?"),
    "grade_outcome": ("Of leads graded {grade}, {rate} {outcome} within {days} days ({converted} of {rows}).",
                      "Von den Leads der Klasse {grade}: {rate} {outcome} (innerhalb von {days} Tagen; "
                      "{converted} von {rows})."),
    "inverted": ("converted worse than the grade below", "schlechter konvertiert als die Klasse darunter"),
    "grade_outcome_few": ("Of leads graded {grade}: too few to tell", "Von den Leads der Klasse {grade}: zu wenige "
                                                                      "für eine Aussage"),
    "grade_outcome_raw": ("({converted} of {rows} {outcome} within {days} days)",
                          "({converted} von {rows} {outcome}, innerhalb von {days} Tagen)"),
    "grade_outcome_min": ("A grade measured on fewer than {min} leads says “too few to tell” "
                          "(setting evaluation.min_grade_leads).",
                          "Eine Klasse, die an weniger als {min} Leads gemessen wurde, zeigt „zu wenige für eine "
                          "Aussage“ (Einstellung evaluation.min_grade_leads)."),
    "few_conversions": ("Every rate here rests on only {converted} conversions, fewer than {min} (setting "
                        "evaluation.min_conversions): read them as a rough guide, not a measurement.",
                        "Jede Rate hier beruht auf nur {converted} Konversionen, weniger als {min} (Einstellung "
                        "evaluation.min_conversions): nur als grobe Richtung lesen, nicht als Messung."),
    "warnings": ("Read this first", "Bitte zuerst lesen"),
    "and": ("and", "und"),
    "warning_stale": ("The newest activity is {age} days old at the as-of moment, more than the {max} allowed "
                      "(setting monitoring.max_data_age_days): check the nightly load, then score again.",
                      "Die neueste Aktivität ist zum Stichtag {age} Tage alt, mehr als die erlaubten {max} "
                      "(Einstellung monitoring.max_data_age_days): den nächtlichen Ladelauf prüfen, dann neu "
                      "bewerten."),
    "warning_stale_none": ("No activity at all before the as-of moment: check the nightly load, then score again.",
                           "Vor dem Stichtag gibt es keine Aktivität: den nächtlichen Ladelauf prüfen, dann neu "
                           "bewerten."),
    "warning_drift": ("The leads scored differ from those the model learned from in {count} of the facts it "
                      "weighs (the drift summary beside the export names them): check the column mapping and the "
                      "source; if the change is real, retrain.",
                      "Die bewerteten Leads unterscheiden sich von denen, aus denen das Modell gelernt hat, in "
                      "{count} der Merkmale, die es abwägt (die Drift-Zusammenfassung neben dem Export nennt sie): "
                      "Spaltenzuordnung und Quelle prüfen; ist die Änderung echt, neu trainieren."),
    "warning_drift_other": ("The leads scored differ from those the model learned from: check the column mapping "
                            "and the source; if the change is real, retrain.",
                            "Die bewerteten Leads unterscheiden sich von denen, aus denen das Modell gelernt hat: "
                            "Spaltenzuordnung und Quelle prüfen; ist die Änderung echt, neu trainieren."),
    "warning_small_grade": ("Grade {grades} was measured on fewer than {min} leads (setting "
                            "evaluation.min_grade_leads): too few to tell how well it converts; do not judge it by "
                            "its rate yet.",
                            "Klasse {grades} wurde an weniger als {min} Leads gemessen (Einstellung "
                            "evaluation.min_grade_leads): zu wenige für eine Aussage; ihre Rate noch nicht bewerten."),
    "warning_small_grades": ("Grades {grades} were measured on fewer than {min} leads each (setting "
                             "evaluation.min_grade_leads): too few to tell how well they convert; do not judge them "
                             "by their rates yet.",
                             "Die Klassen {grades} wurden an jeweils weniger als {min} Leads gemessen (Einstellung "
                             "evaluation.min_grade_leads): zu wenige für eine Aussage; ihre Raten noch nicht "
                             "bewerten."),
    "warning_inversion": ("Grade {better} converted worse than grade {worse} ({better_rate} vs {worse_rate}): the "
                          "grades do not rank these leads well; retrain, or check the setting grades.policy.",
                          "Klasse {better} hat schlechter konvertiert als Klasse {worse} ({better_rate} gegenüber "
                          "{worse_rate}): die Klassen ordnen diese Leads nicht gut; neu trainieren oder die "
                          "Einstellung grades.policy prüfen."),
    "warning_one_grade": ("All {leads} leads are in grade {grade}: the probability floors do not fit this source; "
                          "set grades.policy to capacity or shares.",
                          "Alle {leads} Leads sind in Klasse {grade}: die Wahrscheinlichkeitsschwellen passen nicht "
                          "zu dieser Quelle; grades.policy auf capacity oder shares setzen."),
    "evaluation_source": ("Measured on {rows} leads at the held-out cutoff {cutoff}, which the model did not train "
                          "on ({source}).",
                          "Gemessen an {rows} Leads zum zurückgehaltenen Stichtag {cutoff}, auf dem das Modell "
                          "nicht trainiert wurde ({source})."),
    "source_training": ("test half of its training run", "Testhälfte seines Trainingslaufs"),
    "source_evaluate": ("backtest with leadml evaluate", "Backtest mit leadml evaluate"),
    "no_evaluation": ("No evaluation of this model was found in MLflow.",
                      "Für dieses Modell wurde in MLflow keine Auswertung gefunden."),
    "converted": ("Converted", "Konvertiert"),
    "conversion_rate": ("Conversion rate", "Konversionsrate"),
    "lift_chart": ("Lift: conversion rate per tenth of leads, best first, against the average",
                   "Lift: Konversionsrate je Zehntel der Leads, beste zuerst, im Vergleich zum Durchschnitt"),
    "lift_x": ("tenth of leads by score (1 = best)", "Zehntel der Leads nach Score (1 = beste)"),
    "lift_y": ("lift over the average", "Lift gegenüber dem Durchschnitt"),
    "calibration_chart": ("Calibration: predicted probability against observed conversion rate per grade",
                          "Kalibrierung: vorhergesagte Wahrscheinlichkeit gegen beobachtete Konversionsrate je Klasse"),
    "calibration_x": ("predicted (mean probability)", "vorhergesagt (mittlere Wahrscheinlichkeit)"),
    "calibration_y": ("observed (conversion rate)", "beobachtet (Konversionsrate)"),
    "rejects": ("Leads that could not be scored", "Leads, die nicht bewertet werden konnten"),
    "rejects_none": ("Every lead of the population was scored.", "Alle Leads der Grundgesamtheit wurden bewertet."),
    "reason": ("Reason", "Grund"),
    "examples": ("Examples", "Beispiele"),
    "footer": ("Generated by leadml {version}. Scores are calibrated probabilities: of 100 earlier leads scored "
               "30, about 30 {outcome} within {days} days. Reasons are the model's own strongest contributions.",
               "Erstellt von leadml {version}. Die Scores sind kalibrierte Wahrscheinlichkeiten – von 100 früheren "
               "Leads mit Score 30: etwa 30 {outcome} (innerhalb von {days} Tagen). Die Gründe sind die stärksten "
               "Beiträge des Modells selbst."),
    "trend_up": ("up", "steigend"),
    "trend_down": ("down", "fallend"),
    "trend_flat": ("unchanged", "unverändert"),
    "trend_new": ("new", "neu"),
}


def text(key: str, lang: str = "en", **values: Any) -> str:
    """Return the report phrase ``key`` in ``lang``, with ``values`` filled in."""
    phrase = TEXT[key][LANGUAGES.index(check_language(lang))]
    return fill(phrase, lang, **values) if values else phrase


# ---- German reasons -----------------------------------------------------------------------------

# per activity type: (none, one, many) with {w} = the window's words, {W} the same capitalised
_DE_ACTIVITIES: dict[str, tuple[str, str, str]] = {
    "email_sent": ("Hat {w} keine Marketing-E-Mail erhalten", "Hat {w} eine Marketing-E-Mail erhalten",
                   "Hat {w} {value:,.0f} Marketing-E-Mails erhalten"),
    "email_open": ("Hat {w} keine E-Mail geöffnet", "Hat {w} eine E-Mail geöffnet",
                   "Hat {w} {value:,.0f} E-Mails geöffnet"),
    "email_click": ("Hat {w} keinen Link in einer E-Mail geklickt", "Hat {w} einen Link in einer E-Mail geklickt",
                    "Hat {w} {value:,.0f} Links in E-Mails geklickt"),
    "email_reply": ("Hat {w} auf keine E-Mail geantwortet", "Hat {w} auf eine E-Mail geantwortet",
                    "Hat {w} auf {value:,.0f} E-Mails geantwortet"),
    "email_bounce": ("{W} keine unzustellbare E-Mail", "{W} eine unzustellbare E-Mail",
                     "{W} {value:,.0f} unzustellbare E-Mails"),
    "unsubscribe": ("Hat sich {w} nicht von E-Mails abgemeldet", "Hat sich {w} von E-Mails abgemeldet",
                    "Hat sich {w} {value:,.0f}-mal von E-Mails abgemeldet"),
    "newsletter_signup": ("Hat {w} keinen Newsletter abonniert", "Hat {w} einen Newsletter abonniert",
                          "Hat {w} {value:,.0f} Newsletter abonniert"),
    "web_visit": ("Hat {w} die Website nicht besucht", "Hat {w} die Website einmal besucht",
                  "Hat {w} die Website {value:,.0f}-mal besucht"),
    "pricing_page_view": ("Hat {w} keine Preise angesehen", "Hat {w} einmal die Preise angesehen",
                          "Hat {w} {value:,.0f}-mal die Preise angesehen"),
    "content_download": ("Hat {w} keine Inhalte heruntergeladen", "Hat {w} einen Inhalt heruntergeladen",
                         "Hat {w} {value:,.0f} Inhalte heruntergeladen"),
    "form_submitted": ("Hat {w} kein Formular ausgefüllt", "Hat {w} ein Formular ausgefüllt",
                       "Hat {w} {value:,.0f} Formulare ausgefüllt"),
    "webinar_registered": ("Hat sich {w} für kein Webinar angemeldet", "Hat sich {w} für ein Webinar angemeldet",
                           "Hat sich {w} für {value:,.0f} Webinare angemeldet"),
    "webinar_attended": ("Hat {w} an keinem Webinar teilgenommen", "Hat {w} an einem Webinar teilgenommen",
                         "Hat {w} an {value:,.0f} Webinaren teilgenommen"),
    "event_attended": ("Hat {w} keine Veranstaltung besucht", "Hat {w} eine Veranstaltung besucht",
                       "Hat {w} {value:,.0f} Veranstaltungen besucht"),
    "free_trial_started": ("Hat {w} keine Testversion gestartet", "Hat {w} eine Testversion gestartet",
                           "Hat {w} {value:,.0f} Testversionen gestartet"),
    "product_login": ("Hat sich {w} nicht im Produkt angemeldet", "Hat sich {w} einmal im Produkt angemeldet",
                      "Hat sich {w} {value:,.0f}-mal im Produkt angemeldet"),
    "demo_requested": ("Hat {w} keine Demo angefragt", "Hat {w} eine Demo angefragt",
                       "Hat {w} {value:,.0f} Demos angefragt"),
    "meeting_booked": ("Hat {w} keinen Termin gebucht", "Hat {w} einen Termin gebucht",
                       "Hat {w} {value:,.0f} Termine gebucht"),
    "meeting_held": ("Hatte {w} keinen Termin mit dem Vertrieb", "Hatte {w} einen Termin mit dem Vertrieb",
                     "Hatte {w} {value:,.0f} Termine mit dem Vertrieb"),
    "call_connected": ("Hatte {w} kein Telefonat mit dem Vertrieb", "Hatte {w} ein Telefonat mit dem Vertrieb",
                       "Hatte {w} {value:,.0f} Telefonate mit dem Vertrieb"),
    "other": ("{W} keine sonstige Aktivität", "{W} eine sonstige Aktivität", "{W} {value:,.0f} sonstige Aktivitäten"),
    "touches": ("{W} keine Aktivität", "{W} eine Aktivität", "{W} {value:,.0f} Aktivitäten"),
}

_DE_LABELS = {
    "seniority": {"c_level": "Geschäftsführung (C-Level)", "vp": "Vice President", "director": "Direktor",
                  "head": "Bereichsleitung", "manager": "Manager", "individual": "Fachkraft", "student": "Student"},
    "job_function": {"marketing": "Marketing", "sales": "Vertrieb", "it": "IT", "finance": "Finanzen",
                     "operations": "Operations", "hr": "Personal", "general_management": "Geschäftsführung"},
    "lead_source": {"web_form": "ein Webformular", "free_trial": "eine Testversion", "webinar": "ein Webinar",
                    "event": "eine Veranstaltung", "referral": "eine Empfehlung", "paid_search": "bezahlte Suche",
                    "organic_search": "organische Suche", "social": "soziale Medien", "partner": "einen Partner",
                    "outbound": "Outbound-Ansprache", "content_download": "einen Download"},
    "email_domain": {"business": "geschäftliche", "freemail": "private (Freemail-)"},
    "company_size_band": {"1001-5000": "1.001–5.000", "5000+": "über 5.000"},
    "region": {"dach": "DACH", "europe": "Europa", "north_america": "Nordamerika", "latin_america": "Lateinamerika",
               "asia_pacific": "Asien-Pazifik", "middle_east_africa": "Nahost und Afrika"},
    "budget_band": {"under_5k": "unter 5.000", "5k-20k": "5.000 bis 20.000", "20k-50k": "20.000 bis 50.000",
                    "50k-200k": "50.000 bis 200.000", "200k+": "über 200.000"},
    "created_month": dict(zip(("January", "February", "March", "April", "May", "June", "July", "August",
                               "September", "October", "November", "December"),
                              ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
                               "Oktober", "November", "Dezember"), strict=True)),
    "created_weekday": dict(zip(("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
                                ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
                                strict=True)),
}
_EN_LABELS = {
    "seniority": {"c_level": "C-level", "vp": "VP", "head": "head of department",
                  "individual": "individual contributor"},
    "job_function": {"it": "IT", "hr": "HR", "general_management": "general management"},
    "lead_source": {"paid_search": "paid search", "organic_search": "organic search", "web_form": "a web form",
                    "free_trial": "a free trial", "webinar": "a webinar", "event": "an event", "social": "social media",
                    "referral": "a referral", "partner": "a partner", "content_download": "a content download",
                    "outbound": "outbound prospecting"},
    "email_domain": {"freemail": "private (free-mail)"},
    "company_size_band": {"1001-5000": "1,001–5,000", "5000+": "over 5,000"},
    "region": {"dach": "DACH", "europe": "Europe", "north_america": "North America", "latin_america": "Latin America",
               "asia_pacific": "Asia-Pacific", "middle_east_africa": "Middle East and Africa"},
    "budget_band": {"under_5k": "under 5k", "5k-20k": "5k to 20k", "20k-50k": "20k to 50k", "50k-200k": "50k to 200k",
                    "200k+": "over 200k"},
}
_DE_INTENT = "Preise angesehen, eine Demo angefragt, den Vertrieb getroffen oder eine Testversion gestartet"
_DE_WEEKS = "in den letzten 2 Wochen als in den 2 davor"


def _de(template: str = "{value}", none: str = "", one: str = "", missing: str = "", *,
        binary: tuple[str, str] | None = None, **more: Any) -> dict[str, Any]:
    """The German wording of one feature, as ``Feature`` fields."""
    return {"template": template, "none": none, "one": one, "missing": missing, "binary": binary, "nouns": None,
            "negative": "", **more}


_DE_FEATURES: dict[str, dict[str, Any]] = {
    "velocity_14d": _de("{value:,.0f} {noun} mehr " + _DE_WEEKS,
                        "So viele Aktivitäten " + _DE_WEEKS.replace("als", "wie"),
                        missing="Keine Daten zu Aktivitäten", nouns=("Aktivität", "Aktivitäten"),
                        negative="{value:,.0f} {noun} weniger " + _DE_WEEKS),
    "active_days_30d": _de("In den letzten 30 Tagen an {value:,.0f} Tagen aktiv",
                           "In den letzten 30 Tagen keine Aktivität",
                           "In den letzten 30 Tagen an einem Tag aktiv", "Keine Daten zu Aktivitäten"),
    "active_days_all": _de("Bisher an {value:,.0f} Tagen aktiv", "Bisher keine Aktivität", "Bisher an einem Tag aktiv",
                           "Keine Daten zu Aktivitäten"),
    "distinct_channels": _de("Über {value:,.0f} Kanäle erreicht", "Über keinen Kanal erreicht",
                             "Über einen Kanal erreicht", "Keine Daten zu Kanälen"),
    "days_since_last_touch": _de("Letzte Aktivität vor {duration}", "Letzte Aktivität heute",
                                 "Letzte Aktivität gestern", "Noch keine Aktivität"),
    "days_since_first_touch": _de("Erste Aktivität vor {duration}", "Erste Aktivität heute", "Erste Aktivität gestern",
                                  "Noch keine Aktivität"),
    "days_since_last_high_intent": _de("Hat zuletzt vor {duration} " + _DE_INTENT, "Hat heute " + _DE_INTENT,
                                       "Hat gestern " + _DE_INTENT, "Hat nie " + _DE_INTENT),
    "days_since_trial_start": _de("Hat vor {duration} eine Testversion gestartet",
                                  "Hat heute eine Testversion gestartet",
                                  "Hat gestern eine Testversion gestartet", "Hat keine Testversion gestartet"),
    "product_minutes_30d": _de("Hat das Produkt in den letzten 30 Tagen {value:,.0f} Minuten genutzt",
                               "Hat das Produkt in den letzten 30 Tagen nicht genutzt",
                               "Hat das Produkt in den letzten 30 Tagen eine Minute genutzt",
                               "Keine Daten zur Produktnutzung"),
    "product_minutes_all": _de("Hat das Produkt bisher {value:,.0f} Minuten genutzt",
                               "Hat das Produkt bisher nicht genutzt", "Hat das Produkt bisher eine Minute genutzt",
                               "Keine Daten zur Produktnutzung"),
    "email_click_rate": _de("Hat in {value:.0%} der geöffneten E-Mails einen Link geklickt",
                            missing="Hat keine E-Mail geöffnet"),
    "email_reply_rate": _de("Hat auf {value:.0%} der erhaltenen E-Mails geantwortet",
                            missing="Hat keine Marketing-E-Mail erhalten"),
    "webinar_attendance_rate": _de("Hat {value:.0%} der angemeldeten Webinare besucht",
                                   missing="Für kein Webinar angemeldet"),
    "is_silent_60d": _de(binary=("In den letzten 60 Tagen aktiv", "In den letzten 60 Tagen keine Aktivität")),
    "has_unsubscribed": _de(binary=("Erhält weiter E-Mails", "Hat sich von E-Mails abgemeldet")),
    "has_bounced": _de(binary=("Keine E-Mail unzustellbar", "Eine E-Mail an den Lead war unzustellbar")),
    "lead_age_days": _de("Seit {duration} Lead", "Seit heute Lead", "Seit gestern Lead",
                         "Erstellungsdatum des Leads nicht angegeben"),
    "seniority": _de("Position: {value}", missing="Position aus dem Titel nicht erkennbar"),
    "job_function": _de("Bereich: {value}", missing="Bereich aus dem Titel nicht erkennbar"),
    "is_decision_maker": _de(binary=("Kein Entscheider", "Entscheider")),
    "industry": _de("Branche: {value}", missing="Branche nicht angegeben"),
    "company_size_band": _de("Unternehmen mit {value} Mitarbeitern", missing="Unternehmensgröße nicht angegeben"),
    "employees": _de("Unternehmen mit {value:,.0f} Mitarbeitern", one="Unternehmen mit einem Mitarbeiter",
                     missing="Unternehmensgröße nicht angegeben"),
    "country": _de("Land: {value}", missing="Land nicht angegeben"),
    "region": _de("Region: {value}", missing="Region nicht angegeben"),
    "lead_source": _de("Kam über {value}", missing="Herkunft nicht angegeben"),
    "email_domain": _de("Nutzt eine {value} E-Mail-Adresse", missing="Keine E-Mail-Adresse angegeben"),
    "declared_budget": _de("Hat ein Budget von {value:,.0f} genannt", missing="Hat kein Budget genannt"),
    "annual_revenue": _de("Unternehmensumsatz von {value:,.0f}", missing="Unternehmensumsatz nicht angegeben"),
    "revenue_per_employee": _de("Umsatz pro Mitarbeiter von {value:,.0f}",
                                missing="Umsatz pro Mitarbeiter nicht bekannt"),
    "budget_band": _de("Hat ein Budget von {value} genannt", missing="Hat kein Budget genannt"),
    "has_declared_budget": _de(binary=("Hat kein Budget genannt", "Hat ein Budget genannt")),
    "has_annual_revenue": _de(binary=("Unternehmensumsatz nicht angegeben", "Unternehmensumsatz angegeben")),
    "log_budget_to_revenue": _de("Budget beträgt {percent} des Unternehmensumsatzes",
                                 missing="Budget oder Unternehmensumsatz nicht angegeben"),
    "created_month": _de("Im {value} als Lead angelegt", missing="Erstellungsdatum nicht angegeben"),
    "created_weekday": _de("An einem {value} als Lead angelegt", missing="Erstellungsdatum nicht angegeben"),
}
_COUNT = re.compile(r"^n_(?P<type>.+)_(?P<window>\d+d|all)$")


def _de_window(window: str) -> str:
    return "bisher" if window == "all" else f"in den letzten {window[:-1]} Tagen"


def _german_words(name: str) -> dict[str, Any] | None:
    """The German wording fields of the feature called ``name``, or None where none is known."""
    count = _COUNT.match(name)
    if count and count["type"] in _DE_ACTIVITIES:
        w = _de_window(count["window"])
        none, one, many = (phrase.replace("{w}", w).replace("{W}", w[0].upper() + w[1:])
                           for phrase in _DE_ACTIVITIES[count["type"]])
        return _de(many, none, one, "Keine Daten zu Aktivitäten")
    words = _DE_FEATURES.get(name)
    return None if words is None else words | {"labels": _DE_LABELS.get(name)}


def _german(feature: Feature) -> Feature | None:
    """Return the German twin of a catalog feature, or None where no wording is known: a feature that says
    another's value takes that one's words."""
    if feature.computed.startswith(MAPPED_FROM):  # a flat export's column: its name stays, the words around it change
        words = feature.description
        return replace(feature, lang="de", missing=f"{words}: {_NOT_GIVEN['de']}",
                       binary=(f"{words}: nein", f"{words}: ja") if feature.binary else None)
    words = _german_words(feature.says or feature.name)
    return None if words is None else replace(feature, lang="de", **words)


_TITLES = {
    "en": {"c_level": "C-level executive", "vp": "VP", "director": "Director", "head": "Head of department",
           "manager": "Manager", "individual": "Individual contributor", "student": "Student"},
    "de": {"c_level": "Geschäftsführung", "vp": "Vice President", "director": "Direktor", "head": "Bereichsleitung",
           "manager": "Manager", "individual": "Fachkraft", "student": "Student"},
}
_COMBINED = {"en": ("Decision maker with a budget", "{seniority} at a {employees:,.0f}-person company"),
             "de": ("Entscheider mit Budget", "{seniority} in einem Unternehmen mit {employees:,.0f} Mitarbeitern")}


def combined_reasons(lang: str) -> tuple[Combined, ...]:
    """Return the pairs of reasons that read as one phrase in ``lang``."""
    budget, size = _COMBINED[check_language(lang)]
    return (Combined(("seniority", "budget"), ("is_decision_maker", "has_declared_budget"), budget, lang=lang),
            Combined(("seniority", "company_size"), (), size, labels={"seniority": _TITLES[lang]}, lang=lang))


def localise(catalog: Sequence[Feature], lang: str) -> tuple[Feature, ...]:
    """Return the catalog with reason wording in ``lang``; raise if a feature has no wording there."""
    check_language(lang)
    if lang == "en":
        return tuple(replace(f, labels=_EN_LABELS[f.says or f.name]) if (f.says or f.name) in _EN_LABELS else f
                     for f in catalog)
    out = []
    for feature in catalog:
        twin = _german(feature)
        if twin is None:
            raise ValueError(f"feature {feature.name} has no German wording: add it to leadml.reasons.words")
        out.append(twin)
    return tuple(out)
