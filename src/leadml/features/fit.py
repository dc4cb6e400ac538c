"""Fit features: who the lead is, from attributes on the lead row (never from the address itself)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from leadml.features.geography import normalise_countries

# Checked in order: the first pattern that matches a title decides its seniority.
SENIORITY_PATTERNS = (
    ("student", r"\b(student|studentin|intern|internship|werkstudent\w*|praktikant\w*|trainee|azubi|phd)\b"),
    ("vp", r"\b(vp|svp|evp|vice[\s-]*president)\b"),
    ("c_level", r"\b(ceo|cfo|cto|coo|cmo|cio|chief|founder|co-founder|owner|inhaber\w*|"
                r"gesch(ä|ae|a)ftsf(ü|ue|u)hrer\w*|managing director|vorstand\w*|president)\b"),
    ("director", r"\b(director|direktor\w*|dir\.)"),
    ("head", r"\b(head|leiter|leiterin|bereichsleiter\w*|abteilungsleiter\w*)\b"),
    ("manager", r"\b(manager|managerin|mgr|teamleiter\w*|team lead|lead)\b"),
    ("individual", r"\b(specialist|analyst|engineer|consultant|developer|coordinator|associate|"
                   r"assistant|sachbearbeiter\w*|referent\w*|berater\w*|entwickler\w*|ingenieur\w*)\b"),
)
FUNCTION_PATTERNS = (
    ("marketing", r"marketing|\bcmo\b|brand|growth|demand gen|content|communications|kommunikation"),
    ("sales", r"sales|vertrieb|account|business development|\bbdr\b|\bsdr\b|revenue|verkauf"),
    ("it", r"\bit\b|\bcto\b|\bcio\b|engineer|developer|software|technology|data|entwickler|informatik"),
    ("finance", r"financ|\bcfo\b|accounting|controller|controlling|finanz|buchhaltung"),
    ("operations", r"operations|\bcoo\b|betrieb|logistic|supply|procurement|einkauf|product"),
    ("hr", r"\bhr\b|human resources|people|talent|recruit|personal"),
    ("general_management", r"\bceo\b|founder|owner|inhaber|gesch(ä|ae|a)ftsf(ü|ue|u)hr|managing director|"
                           r"president|vorstand"),
)
DECISION_MAKERS = ("c_level", "vp", "director", "head")
SIZE_BANDS = ((10, "1-10"), (50, "11-50"), (200, "51-200"), (1000, "201-1000"), (5000, "1001-5000"),
              (float("inf"), "5000+"))
SENIORITY_LEVELS = (*(name for name, _ in SENIORITY_PATTERNS), "unknown")
FREEMAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "yahoo.com", "yahoo.de", "outlook.com", "hotmail.com", "live.com",
    "icloud.com", "me.com", "aol.com", "gmx.de", "gmx.net", "web.de", "t-online.de", "proton.me",
    "protonmail.com", "mail.com", "yandex.ru",
})
_SENIORITY = tuple((name, re.compile(pattern, re.IGNORECASE)) for name, pattern in SENIORITY_PATTERNS)
_FUNCTION = tuple((name, re.compile(pattern, re.IGNORECASE)) for name, pattern in FUNCTION_PATTERNS)


def _first_match(title: object, patterns: tuple) -> str:
    if not isinstance(title, str) or not title.strip():
        return "unknown"
    return next((name for name, pattern in patterns if pattern.search(title)), "unknown")


def parse_seniority(title: object) -> str:
    """Return the seniority level of a free-text job title in English or German."""
    return _first_match(title, _SENIORITY)


def parse_function(title: object) -> str:
    """Return the business function of a free-text job title in English or German."""
    return _first_match(title, _FUNCTION)


def size_band(employees: pd.Series) -> pd.Series:
    """Return the company size band ('1-10', '11-50', ...) or missing."""
    edges = [0] + [edge for edge, _ in SIZE_BANDS]
    bands = pd.cut(employees, bins=edges, labels=[name for _, name in SIZE_BANDS], right=True)
    return bands.astype("str").where(bands.notna())


def _map_unique(values: pd.Series, function) -> pd.Series:
    """Apply a per-value function once per distinct value (titles repeat a lot)."""
    uniques = pd.unique(values.dropna())
    mapping = {value: function(value) for value in uniques}
    return values.map(mapping).astype("str")


def per_distinct(values: pd.Series, function) -> pd.Series:
    """``function(values)`` for a value-by-value ``function``, computed once per distinct value (missing
    included) and repeated: countries, industries and sources repeat thousands of times in a chunk."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    result = function(pd.Series(uniques, dtype=values.dtype))
    return result.take(codes).set_axis(values.index)


def normalise_label(values: pd.Series) -> pd.Series:
    """Lower-case, trim and join words with underscores so that spellings of a value agree."""
    return per_distinct(values, _normalised_label)


def _normalised_label(values: pd.Series) -> pd.Series:
    text = values.astype("str").str.strip().str.lower().str.replace(r"[\s\-]+", "_", regex=True)
    return text.where(~text.isin(["", "nan", "none", "null", "select", "n/a", "-"]))


def email_domain_class(emails: pd.Series) -> pd.Series:
    """Return 'business', 'freemail' or missing from an email address; the address is discarded."""
    domain = emails.astype("str").str.strip().str.lower().str.extract(r"@([^@\s]+)$", expand=False)
    kind = pd.Series(np.where(domain.isin(FREEMAIL_DOMAINS), "freemail", "business"), index=emails.index)
    return kind.where(domain.notna()).astype("str")


def fit_features(leads: pd.DataFrame) -> pd.DataFrame:
    """Return fit features per lead row (indexed like ``leads``)."""
    seniority = _map_unique(leads["job_title"], parse_seniority).fillna("unknown")
    employees = leads["employees"].astype("float64").where(leads["employees"] > 0)
    country, region = normalise_countries(leads["country"])
    return pd.DataFrame({
        "seniority": seniority.astype("str"),
        "job_function": _map_unique(leads["job_title"], parse_function).fillna("unknown").astype("str"),
        "is_decision_maker": seniority.isin(DECISION_MAKERS).astype("float64"),
        "industry": normalise_label(leads["industry"]),
        "company_size_band": size_band(employees),
        "employees": employees,
        "country": country,
        "region": region,
        "lead_source": normalise_label(leads["source"]),
        "email_domain": email_domain_class(leads["email"]),
    }, index=leads.index)
