"""Fit features: who the lead is, from attributes on the lead row (never from the address itself)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

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
DECISION_MAKERS = ("c_level", "vp", "director", "head")
SENIORITY_LEVELS = (*(name for name, _ in SENIORITY_PATTERNS), "unknown")
FREEMAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "yahoo.com", "yahoo.de", "outlook.com", "hotmail.com", "live.com",
    "icloud.com", "me.com", "aol.com", "gmx.de", "gmx.net", "web.de", "t-online.de", "proton.me",
    "protonmail.com", "mail.com", "yandex.ru",
})
_COMPILED = tuple((name, re.compile(pattern, re.IGNORECASE)) for name, pattern in SENIORITY_PATTERNS)


def parse_seniority(title: object) -> str:
    """Return the seniority level of a free-text job title in English or German."""
    if not isinstance(title, str) or not title.strip():
        return "unknown"
    for name, pattern in _COMPILED:
        if pattern.search(title):
            return name
    return "unknown"


def _map_unique(values: pd.Series, function) -> pd.Series:
    """Apply a per-value function once per distinct value (titles repeat a lot)."""
    uniques = pd.unique(values.dropna())
    mapping = {value: function(value) for value in uniques}
    return values.map(mapping)


def normalise_label(values: pd.Series) -> pd.Series:
    """Lower-case, trim and join words with underscores so that spellings of a value agree."""
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
    return pd.DataFrame({
        "seniority": seniority.astype("str"),
        "is_decision_maker": seniority.isin(DECISION_MAKERS).astype("float64"),
        "industry": normalise_label(leads["industry"]),
        "country": leads["country"].astype("str").str.strip().str.upper().where(
            leads["country"].astype("str").str.strip().str.len() == 2),
        "lead_source": normalise_label(leads["source"]),
        "email_domain": email_domain_class(leads["email"]),
        "employees": leads["employees"].astype("float64").where(leads["employees"] > 0),
    }, index=leads.index)
