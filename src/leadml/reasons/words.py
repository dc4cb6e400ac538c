"""English and German words for people: reasons, report headings and numbers.

Only text meant to be read changes with the language; column names of files that programs read
(the CRM export, the rejects) stay the same snake_case in every language, and grades stay A–D.
German reasons come from a copy of the feature catalog whose templates are German
(``localise``), so the explainer itself knows nothing of languages.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass, replace
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


def say(feature: Feature, value: object) -> str:
    """Say this feature's value in plain words, for a reason or risk."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return feature.missing or f"{feature.description}: unknown"
    if isinstance(value, float) and feature.binary:
        return feature.binary[int(value > 0.5)]
    if isinstance(value, float):
        whole = round(value)
        if whole == 0 and feature.none:
            return feature.none
        if whole == 1 and feature.one:
            return feature.one
    count_prefix = "{value:.0f} {noun}"
    if isinstance(value, float) and feature.nouns and round(value) == 0 and feature.template.startswith(count_prefix):
        return "No " + feature.template[len("{value:.0f} "):].format(noun=feature.nouns[1])
    if isinstance(value, float):
        noun = feature.nouns[0 if round(value) == 1 else 1] if feature.nouns else ""
        return fill(feature.template, feature.lang, value=value, noun=noun)
    label = (feature.labels or {}).get(str(value))
    return fill(feature.template, feature.lang, value=label or str(value).replace("_", " "), noun="")


@dataclass(frozen=True)
class Combined:
    """Two reasons that read better as one when both push the score up and both flags are 1,
    e.g. "Decision maker with a budget" for a decision maker who stated a budget."""

    topics: tuple[str, str]
    flags: tuple[str, str]  # binary features that must both be 1 for the words to be true
    words: str


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
    "top_leads": ("Top leads", "Top-Leads"),
    "rank": ("Rank", "Rang"),
    "lead": ("Lead", "Lead"),
    "score": ("Score", "Score"),
    "reasons": ("Why", "Warum"),
    "risks": ("Against", "Dagegen"),
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
    "grade_outcome": ("Of leads graded {grade}, {rate} became opportunities within {days} days "
                      "({converted} of {rows}).",
                      "Von den Leads der Klasse {grade} wurden {rate} innerhalb von {days} Tagen zur "
                      "Verkaufschance ({converted} von {rows})."),
    "grade_outcome_few": ("Of leads graded {grade}: too few to tell", "Von den Leads der Klasse {grade}: zu wenige "
                                                                      "für eine Aussage"),
    "grade_outcome_raw": ("({converted} of {rows} became opportunities within {days} days)",
                          "({converted} von {rows} wurden innerhalb von {days} Tagen zur Verkaufschance)"),
    "grade_outcome_min": ("A grade measured on fewer than {min} leads says “too few to tell” "
                          "(setting evaluation.min_grade_leads).",
                          "Eine Klasse, die an weniger als {min} Leads gemessen wurde, zeigt „zu wenige für eine "
                          "Aussage“ (Einstellung evaluation.min_grade_leads)."),
    "few_conversions": ("Every rate here rests on only {converted} conversions, fewer than {min} (setting "
                        "evaluation.min_conversions): read them as a rough guide, not a measurement.",
                        "Jede Rate hier beruht auf nur {converted} Konversionen, weniger als {min} (Einstellung "
                        "evaluation.min_conversions): nur als grobe Richtung lesen, nicht als Messung."),
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
    "footer": ("Generated by leadml {version}. Scores are calibrated probabilities of an opportunity within "
               "{days} days; reasons are the model's own strongest contributions.",
               "Erstellt von leadml {version}. Scores sind kalibrierte Wahrscheinlichkeiten einer "
               "Verkaufschance innerhalb von {days} Tagen; die Gründe sind die stärksten Beiträge des Modells selbst."),
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

# per activity type: (none, one, many) with {w} = window words; then the plural noun for decayed counts
_DE_ACTIVITIES: dict[str, tuple[str, str, str, str]] = {
    "email_sent": ("Hat {w} keine Marketing-E-Mail erhalten", "Hat {w} eine Marketing-E-Mail erhalten",
                   "Hat {w} {value:.0f} Marketing-E-Mails erhalten", "Marketing-E-Mails"),
    "email_open": ("Hat {w} keine E-Mail geöffnet", "Hat {w} eine E-Mail geöffnet",
                   "Hat {w} {value:.0f} E-Mails geöffnet", "geöffnete E-Mails"),
    "email_click": ("Hat {w} keinen Link in einer E-Mail geklickt", "Hat {w} einen Link in einer E-Mail geklickt",
                    "Hat {w} {value:.0f} Links in E-Mails geklickt", "Klicks in E-Mails"),
    "email_reply": ("Hat {w} auf keine E-Mail geantwortet", "Hat {w} auf eine E-Mail geantwortet",
                    "Hat {w} auf {value:.0f} E-Mails geantwortet", "Antworten auf E-Mails"),
    "email_bounce": ("{W} keine unzustellbare E-Mail", "{W} eine unzustellbare E-Mail",
                     "{W} {value:.0f} unzustellbare E-Mails", "unzustellbare E-Mails"),
    "unsubscribe": ("Hat sich {w} nicht von E-Mails abgemeldet", "Hat sich {w} von E-Mails abgemeldet",
                    "Hat sich {w} {value:.0f}-mal von E-Mails abgemeldet", "Abmeldungen"),
    "newsletter_signup": ("Hat {w} keinen Newsletter abonniert", "Hat {w} einen Newsletter abonniert",
                          "Hat {w} {value:.0f} Newsletter abonniert", "Newsletter-Anmeldungen"),
    "web_visit": ("Hat {w} die Website nicht besucht", "Hat {w} die Website einmal besucht",
                  "Hat {w} die Website {value:.0f}-mal besucht", "Website-Besuche"),
    "pricing_page_view": ("Hat {w} keine Preise angesehen", "Hat {w} einmal die Preise angesehen",
                          "Hat {w} {value:.0f}-mal die Preise angesehen", "Aufrufe der Preisseite"),
    "content_download": ("Hat {w} keine Inhalte heruntergeladen", "Hat {w} einen Inhalt heruntergeladen",
                         "Hat {w} {value:.0f} Inhalte heruntergeladen", "Downloads"),
    "form_submitted": ("Hat {w} kein Formular ausgefüllt", "Hat {w} ein Formular ausgefüllt",
                       "Hat {w} {value:.0f} Formulare ausgefüllt", "ausgefüllte Formulare"),
    "webinar_registered": ("Hat sich {w} für kein Webinar angemeldet", "Hat sich {w} für ein Webinar angemeldet",
                           "Hat sich {w} für {value:.0f} Webinare angemeldet", "Webinar-Anmeldungen"),
    "webinar_attended": ("Hat {w} an keinem Webinar teilgenommen", "Hat {w} an einem Webinar teilgenommen",
                         "Hat {w} an {value:.0f} Webinaren teilgenommen", "Webinar-Teilnahmen"),
    "event_attended": ("Hat {w} keine Veranstaltung besucht", "Hat {w} eine Veranstaltung besucht",
                       "Hat {w} {value:.0f} Veranstaltungen besucht", "Veranstaltungsbesuche"),
    "free_trial_started": ("Hat {w} keine Testversion gestartet", "Hat {w} eine Testversion gestartet",
                           "Hat {w} {value:.0f} Testversionen gestartet", "gestartete Testversionen"),
    "product_login": ("Hat sich {w} nicht im Produkt angemeldet", "Hat sich {w} einmal im Produkt angemeldet",
                      "Hat sich {w} {value:.0f}-mal im Produkt angemeldet", "Produkt-Logins"),
    "demo_requested": ("Hat {w} keine Demo angefragt", "Hat {w} eine Demo angefragt",
                       "Hat {w} {value:.0f} Demos angefragt", "Demo-Anfragen"),
    "meeting_booked": ("Hat {w} keinen Termin gebucht", "Hat {w} einen Termin gebucht",
                       "Hat {w} {value:.0f} Termine gebucht", "gebuchte Termine"),
    "meeting_held": ("Hatte {w} keinen Termin mit dem Vertrieb", "Hatte {w} einen Termin mit dem Vertrieb",
                     "Hatte {w} {value:.0f} Termine mit dem Vertrieb", "Termine mit dem Vertrieb"),
    "call_connected": ("Hatte {w} kein Telefonat", "Hatte {w} ein Telefonat", "Hatte {w} {value:.0f} Telefonate",
                       "Telefonate"),
    "other": ("{W} keine sonstige Aktivität", "{W} eine sonstige Aktivität", "{W} {value:.0f} sonstige Aktivitäten",
              "sonstige Aktivitäten"),
    "touches": ("{W} keine Aktivität", "{W} eine Aktivität", "{W} {value:.0f} Aktivitäten", "Aktivitäten"),
    "high_intent": ("", "", "", "Aktivitäten mit Kaufabsicht"),
}

_DE_DAYS = "{value:.0f} Tagen"
_DE_LABELS = {
    "seniority": {"c_level": "Geschäftsführung (C-Level)", "vp": "Vice President", "director": "Direktor",
                  "head": "Bereichsleitung", "manager": "Manager", "individual": "Fachkraft", "student": "Student",
                  "unknown": "unbekannt"},
    "job_function": {"marketing": "Marketing", "sales": "Vertrieb", "it": "IT", "finance": "Finanzen",
                     "operations": "Operations", "hr": "Personal", "general_management": "Geschäftsführung",
                     "unknown": "unbekannter Bereich"},
    "lead_source": {"web_form": "ein Webformular", "free_trial": "eine Testversion", "webinar": "ein Webinar",
                    "event": "eine Veranstaltung", "referral": "eine Empfehlung", "paid_search": "bezahlte Suche",
                    "organic_search": "organische Suche", "social": "soziale Medien", "partner": "einen Partner",
                    "outbound": "Outbound-Ansprache", "content_download": "einen Download"},
    "email_domain": {"business": "geschäftliche", "freemail": "private (Freemail-)"},
    "budget_band": {"under_5k": "unter 5.000", "5k-20k": "5.000 bis 20.000", "20k-50k": "20.000 bis 50.000",
                    "50k-200k": "50.000 bis 200.000", "200k+": "über 200.000"},
}
_EN_LABELS = {
    "seniority": {"c_level": "C-level", "vp": "VP", "individual": "individual contributor"},
    "job_function": {"it": "IT", "hr": "HR", "general_management": "general management"},
    "lead_source": {"paid_search": "paid search", "organic_search": "organic search", "web_form": "a web form",
                    "free_trial": "a free trial", "webinar": "a webinar", "event": "an event",
                    "referral": "a referral", "partner": "a partner", "content_download": "a content download"},
    "budget_band": {"under_5k": "under 5k"},
}
# name: (template, none, one, missing, binary)
_DE_FEATURES: dict[str, tuple[str, str, str, str, tuple[str, str] | None]] = {
    "velocity_14d": ("Aktivität {value:+.0f} gegenüber den zwei Wochen davor", "", "", "", None),
    "velocity_ratio_14d": ("Aktivität {value:.1f}-mal so hoch wie in den zwei Wochen davor", "", "", "", None),
    "active_days_30d": ("In den letzten 30 Tagen an " + _DE_DAYS + " aktiv",
                        "In den letzten 30 Tagen an keinem Tag aktiv", "In den letzten 30 Tagen an einem Tag aktiv",
                        "", None),
    "active_days_all": ("Insgesamt an " + _DE_DAYS + " aktiv", "Noch an keinem Tag aktiv",
                        "Insgesamt an einem Tag aktiv", "", None),
    "distinct_channels": ("Über {value:.0f} Kanäle erreicht", "Über keinen Kanal erreicht", "Über einen Kanal erreicht",
                          "", None),
    "days_since_last_touch": ("Seit " + _DE_DAYS + " keine Aktivität", "Heute aktiv", "Gestern zuletzt aktiv",
                              "Noch keine Aktivität", None),
    "days_since_first_touch": ("Erste Aktivität vor " + _DE_DAYS, "Erste Aktivität heute", "Erste Aktivität gestern",
                               "Noch keine Aktivität", None),
    "days_since_last_high_intent": ("Letzte Aktivität mit Kaufabsicht vor " + _DE_DAYS,
                                    "Heute Aktivität mit Kaufabsicht", "Gestern Aktivität mit Kaufabsicht",
                                    "Hat nie Preise angesehen, eine Demo angefragt oder den Vertrieb getroffen", None),
    "days_since_trial_start": ("Hat vor " + _DE_DAYS + " eine Testversion gestartet",
                               "Hat heute eine Testversion gestartet", "Hat gestern eine Testversion gestartet",
                               "Hat keine Testversion gestartet", None),
    "product_minutes_30d": ("{value:.0f} Minuten im Produkt in den letzten 30 Tagen",
                            "In den letzten 30 Tagen nicht im Produkt", "", "", None),
    "product_minutes_all": ("Insgesamt {value:.0f} Minuten im Produkt", "Noch nie im Produkt", "", "", None),
    "email_click_rate": ("Hat in {value:.0%} der geöffneten E-Mails geklickt", "", "", "Hat keine E-Mail geöffnet",
                         None),
    "email_reply_rate": ("Hat auf {value:.0%} der E-Mails geantwortet", "", "", "Hat keine E-Mail erhalten", None),
    "webinar_attendance_rate": ("Hat {value:.0%} der angemeldeten Webinare besucht", "", "",
                                "Für kein Webinar angemeldet", None),
    "is_silent_60d": ("", "", "", "", ("In den letzten 60 Tagen aktiv", "Seit über 60 Tagen keine Aktivität")),
    "has_unsubscribed": ("", "", "", "", ("Erhält weiter E-Mails", "Hat sich von E-Mails abgemeldet")),
    "has_bounced": ("", "", "", "", ("E-Mail-Adresse funktioniert", "E-Mail-Adresse ist unzustellbar")),
    "lead_age_days": ("Seit " + _DE_DAYS + " Lead", "Seit heute Lead", "Seit gestern Lead", "", None),
    "seniority": ("Position: {value}", "", "", "", None),
    "job_function": ("Bereich: {value}", "", "", "", None),
    "is_decision_maker": ("", "", "", "", ("Kein Entscheider", "Entscheider")),
    "industry": ("Branche: {value}", "", "", "Branche unbekannt", None),
    "company_size_band": ("Unternehmen mit {value} Mitarbeitern", "", "", "Unternehmensgröße unbekannt", None),
    "employees": ("Unternehmen mit {value:,.0f} Mitarbeitern", "", "", "Unternehmensgröße unbekannt", None),
    "country": ("Land: {value}", "", "", "Land unbekannt", None),
    "region": ("Region: {value}", "", "", "Region unbekannt", None),
    "lead_source": ("Kam über {value}", "", "", "Herkunft unbekannt", None),
    "email_domain": ("Nutzt eine {value} E-Mail-Adresse", "", "", "Keine E-Mail-Adresse", None),
    "declared_budget": ("Hat ein Budget von {value:,.0f} genannt", "", "", "Hat kein Budget genannt", None),
    "annual_revenue": ("Unternehmensumsatz von {value:,.0f}", "", "", "Unternehmensumsatz unbekannt", None),
    "revenue_per_employee": ("Umsatz pro Mitarbeiter von {value:,.0f}", "", "", "Umsatz pro Mitarbeiter unbekannt",
                             None),
    "budget_band": ("Budget {value}", "", "", "Hat kein Budget genannt", None),
    "has_declared_budget": ("", "", "", "", ("Hat kein Budget genannt", "Hat ein Budget genannt")),
    "has_annual_revenue": ("", "", "", "", ("Unternehmensumsatz unbekannt", "Unternehmensumsatz bekannt")),
    "log_budget_to_revenue": ("Budget beträgt 10^{value:.1f} des Umsatzes", "", "", "Verhältnis von Budget zu Umsatz "
                              "unbekannt", None),
    "created_month": ("Erstellt im {value}", "", "", "Erstellungsmonat unbekannt", None),
    "created_weekday": ("Erstellt an einem {value}", "", "", "Wochentag der Erstellung unbekannt", None),
}
_DE_LABELS |= {
    "created_month": dict(zip(("January", "February", "March", "April", "May", "June", "July", "August", "September",
                               "October", "November", "December"),
                              ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
                               "Oktober", "November", "Dezember"), strict=True)),
    "created_weekday": dict(zip(("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
                                ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
                                strict=True)),
}
_COUNT = re.compile(r"^n_(?P<type>.+)_(?P<window>\d+d|all)$")
_DECAYED = re.compile(r"^decayed_(?P<type>.+)_(?P<half_life>\d+)d$")


def _de_window(window: str) -> str:
    return "insgesamt" if window == "all" else f"in den letzten {window[:-1]} Tagen"


def _german(feature: Feature) -> Feature | None:
    """Return the German twin of a catalog feature, or None where no wording is known."""
    if feature.computed.startswith(MAPPED_FROM):  # a flat export's column: its name stays, the words around it change
        words = feature.description
        return replace(feature, lang="de", missing=f"{words}: unbekannt",
                       binary=(f"{words}: nein", f"{words}: ja") if feature.binary else None)
    count, decayed = _COUNT.match(feature.name), _DECAYED.match(feature.name)
    if count and count["type"] in _DE_ACTIVITIES:
        none, one, many, _ = _DE_ACTIVITIES[count["type"]]
        w = _de_window(count["window"])

        def say(phrase: str) -> str:
            return phrase.replace("{w}", w).replace("{W}", w[0].upper() + w[1:])

        return replace(feature, lang="de", template=say(many), none=say(none), one=say(one), nouns=None,
                       missing="Keine Daten")
    if decayed and decayed["type"] in _DE_ACTIVITIES:
        noun = _DE_ACTIVITIES[decayed["type"]][3]
        return replace(feature, lang="de", template=f"Jüngste {noun} (gewichtet {{value:.1f}})", nouns=None,
                       missing="Keine Daten")
    if feature.name not in _DE_FEATURES:
        return None
    template, none, one, missing, binary = _DE_FEATURES[feature.name]
    return replace(feature, lang="de", template=template or feature.template, none=none, one=one, nouns=None,
                   missing=missing or f"{feature.name}: unbekannt", binary=binary,
                   labels=_DE_LABELS.get(feature.name))


_COMBINED = {"en": "Decision maker with a budget", "de": "Entscheider mit Budget"}


def combined_reasons(lang: str) -> tuple[Combined, ...]:
    """Return the pairs of reasons that read as one phrase in ``lang``."""
    return (Combined(("is_decision_maker", "budget"), ("is_decision_maker", "has_declared_budget"),
                     _COMBINED[check_language(lang)]),)


def localise(catalog: Sequence[Feature], lang: str) -> tuple[Feature, ...]:
    """Return the catalog with reason wording in ``lang``; raise if a feature has no wording there."""
    check_language(lang)
    if lang == "en":
        return tuple(replace(f, labels=_EN_LABELS[f.name]) if f.name in _EN_LABELS else f for f in catalog)
    out = []
    for feature in catalog:
        twin = _german(feature)
        if twin is None:
            raise ValueError(f"feature {feature.name} has no German wording: add it to leadml.reasons.words")
        out.append(twin)
    return tuple(out)
