"""Generate a realistic B2B lead funnel that follows the data contract.

Leads arrive through trials, webinars, events, content and paid channels. A hidden propensity
(source, seniority, company size, declared budget) and a hidden interest drive both how much a
lead engages and whether it becomes an opportunity. Buyers show a burst of high-intent activity
in the weeks before their opportunity; others stall for budget or time, keep receiving nurture
mail and may re-engage later. Values are messy the way CRM data is: title spellings, missing
budgets, duplicate rows and leads without any activity.

Everything is drawn chunk by chunk from a seed derived from (seed, chunk index), so the output
is deterministic per seed and a million leads never sit in memory at once.

The hidden state each chunk was drawn from can be had beside its tables (``generate_with_hidden``),
never inside them; ``demo_oracle`` turns it into the true probability of converting within a horizon,
the yardstick a model's ranking is measured against (benchmarks/bench_train.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from leadml.data.contract import LeadTables

DAY = pd.Timedelta(days=1)

SOURCES = {  # share of leads, effect on the log-odds of converting
    "web_form": (0.16, 0.2), "free_trial": (0.10, 1.0), "webinar": (0.10, 0.4),
    "event": (0.07, 0.5), "referral": (0.05, 0.9), "paid_search": (0.13, 0.0),
    "organic_search": (0.12, 0.0), "social": (0.07, -0.6), "partner": (0.04, 0.5),
    "outbound": (0.06, -0.5), "content_download": (0.10, -0.4),
}
SENIORITY = {  # share, effect, is a decision maker
    "c_level": (0.06, 0.9, True), "vp": (0.07, 0.9, True), "director": (0.10, 0.7, True),
    "head": (0.06, 0.6, True), "manager": (0.22, 0.2, False), "individual": (0.32, -0.3, False),
    "student": (0.07, -1.5, False), "unknown": (0.10, -0.4, False),
}
FUNCTIONS = [("Marketing", "Marketing"), ("Sales", "Vertrieb"), ("IT", "IT"), ("Finance", "Finanzen"),
             ("Operations", "Betrieb"), ("HR", "Personal")]
TITLES = {
    "c_level": ["CEO", "Chief Executive Officer", "CFO", "CTO", "Chief Marketing Officer", "Founder & CEO",
                "Geschäftsführer", "Geschäftsführerin", "Managing Director", "COO"],
    "vp": ["VP {f}", "Vice President {f}", "VP of {f}", "SVP {f}", "Vice-President, {f}"],
    "director": ["Director of {f}", "{f} Director", "Dir. {f}", "Senior Director {f}", "Direktor {d}"],
    "head": ["Head of {f}", "Head {f}", "Leiter {d}", "Leiterin {d}", "Bereichsleiter {d}"],
    "manager": ["{f} Manager", "Sr. {f} Manager", "Manager, {f}", "{f} Mgr", "Teamleiter {d}",
                "Marketing Manager", "Product Manager"],
    "individual": ["{f} Specialist", "Analyst", "{f} Analyst", "Engineer", "Consultant",
                   "Sachbearbeiter {d}", "Referent {d}", "Software Developer", "Coordinator"],
    "student": ["Student", "Intern", "Werkstudent", "Praktikant", "PhD Student", "student"],
    "unknown": ["", "-", "n/a", "Other", "Mr", "Owner?"],
}
INDUSTRIES = {  # share, effect
    "software": (0.18, 0.3), "financial_services": (0.10, 0.2), "manufacturing": (0.14, 0.1),
    "healthcare": (0.08, 0.0), "retail": (0.09, -0.1), "education": (0.07, -0.4),
    "government": (0.04, -0.3), "consulting": (0.10, 0.1), "telecom": (0.05, 0.1),
    "energy": (0.04, 0.0), "media": (0.06, -0.2), "nonprofit": (0.05, -0.5),
}
COUNTRIES = ["DE", "US", "GB", "FR", "NL", "AT", "CH", "ES", "IT", "SE", "PL", "CA", "AU", "IN", "BR"]
COUNTRY_SHARE = [0.22, 0.2, 0.1, 0.07, 0.06, 0.05, 0.05, 0.04, 0.04, 0.03, 0.03, 0.03, 0.03, 0.03, 0.02]
FREEMAIL = ["gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "gmx.de", "web.de"]
FIRST = ["anna", "ben", "clara", "david", "eva", "felix", "greta", "hanna", "jonas", "lena", "max", "mia",
         "noah", "olivia", "paul", "sophie", "tom", "julia", "lukas", "emma"]
LAST = ["mueller", "schmidt", "smith", "jones", "garcia", "martin", "weber", "fischer", "brown", "rossi",
        "dubois", "novak", "jansen", "silva", "kowalski", "meyer"]

ORIGIN_ACTIVITY = {
    "web_form": "form_submitted", "free_trial": "free_trial_started", "webinar": "webinar_attended",
    "event": "event_attended", "referral": "form_submitted", "paid_search": "web_visit",
    "organic_search": "web_visit", "social": "web_visit", "partner": "form_submitted",
    "outbound": "call_connected", "content_download": "content_download",
}
ONBOARDING = {"web_visit": 0.40, "content_download": 0.14, "email_open": 0.12, "newsletter_signup": 0.08,
              "webinar_registered": 0.08, "form_submitted": 0.06, "pricing_page_view": 0.05,
              "email_click": 0.05, "chat_started": 0.02}
REENGAGE = {"web_visit": 0.35, "email_click": 0.15, "content_download": 0.12, "webinar_attended": 0.08,
            "pricing_page_view": 0.10, "product_login": 0.08, "event_attended": 0.04,
            "webinar_registered": 0.08}
BUYING = {"pricing_page_view": 0.24, "demo_requested": 0.16, "meeting_booked": 0.12, "web_visit": 0.16,
          "email_reply": 0.10, "call_connected": 0.10, "product_login": 0.08, "meeting_held": 0.04}
CHANNEL = {"email_sent": "email", "email_open": "email", "email_click": "email", "email_reply": "email",
           "email_bounce": "email", "unsubscribe": "email", "newsletter_signup": "email",
           "web_visit": "web", "pricing_page_view": "web", "content_download": "web",
           "form_submitted": "web", "chat_started": "web", "webinar_registered": "webinar",
           "webinar_attended": "webinar", "event_attended": "event", "free_trial_started": "product",
           "product_login": "product", "demo_requested": "web", "meeting_booked": "phone",
           "meeting_held": "meeting", "call_connected": "phone"}

# The process the draw and the oracle (demo_oracle) share, so they cannot drift apart. A buyer's delay from creation to
# its opportunity: Gamma(shape, scale) days, plus for some a stall of Uniform(STALL_DAYS) days.
DELAY_SHAPE, DELAY_SCALE, STALL_SHARE, STALL_DAYS = 1.6, 25.0, 0.3, (60.0, 300.0)
# Bursts of high-intent touches over the last Uniform(BURST_DAYS) days before their end: a buyer's ends at its
# opportunity (fixed + Poisson(rate) touches); a non-buyer's, with a chance growing with its interest, at
# Uniform(NON_BUYER_BURST_START, span) days after creation.
BURST_DAYS, BUYER_BURST, NON_BUYER_BURST = (5.0, 25.0), (3, 4.0), (1, 2.0)
NON_BUYER_BURST_SHARE, NON_BUYER_BURST_START = 0.12, 10.0


@dataclass(frozen=True)
class GenerateSpec:
    """What to generate: size, seed and the time span the history covers."""

    leads: int
    seed: int = 42
    end: pd.Timestamp = pd.Timestamp("2026-11-01", tz="UTC")
    days: int = 730
    chunk_size: int = 50_000

    @property
    def start(self) -> pd.Timestamp:
        return self.end - self.days * DAY


def generate_chunks(spec: GenerateSpec) -> Iterator[LeadTables]:
    """Yield the demo database chunk by chunk; each chunk holds whole lead histories."""
    for tables, _ in generate_with_hidden(spec):
        yield tables


@dataclass(frozen=True)
class HiddenState:
    """What the generator drew leads from and a model never sees, for measuring models against the truth.

    ``leads``: lead_id, created_at, ``logit`` (the log-odds of ever converting), ``interest`` and
    ``burst_share`` (the chance that a lead which will not convert bursts anyway). ``bursts``: lead_id and
    occurred_at of every touch of a lead's burst, a buyer's or not (it does not say which). ``days``: the span.
    """

    leads: pd.DataFrame
    bursts: pd.DataFrame
    days: int

    @staticmethod
    def concat(parts: Iterable[HiddenState]) -> HiddenState:
        """Join the hidden state of several chunks of the same generation."""
        parts = list(parts)
        return HiddenState(pd.concat([h.leads for h in parts], ignore_index=True),
                           pd.concat([h.bursts for h in parts], ignore_index=True), parts[0].days)


def generate_with_hidden(spec: GenerateSpec) -> Iterator[tuple[LeadTables, HiddenState]]:
    """Yield each chunk's contract tables with the hidden state they were drawn from (same draws as
    ``generate_chunks``). The hidden state never enters the tables: ``demo_oracle.oracle_probability`` reads it."""
    for index, first in enumerate(range(0, spec.leads, spec.chunk_size)):
        size = min(spec.chunk_size, spec.leads - first)
        rng = np.random.default_rng([spec.seed, index])
        yield _chunk(rng, spec, first, size)


def _pick(rng: np.random.Generator, table: dict, n: int) -> np.ndarray:
    keys = list(table)
    shares = np.array([v[0] if isinstance(v, tuple) else v for v in table.values()], dtype=float)
    return np.array(keys, dtype=object)[rng.choice(len(keys), size=n, p=shares / shares.sum())]


def _effect(table: dict, values: np.ndarray) -> np.ndarray:
    return np.array([table[v][1] for v in values], dtype=float)


def _titles(rng: np.random.Generator, seniority: np.ndarray) -> np.ndarray:
    """Draw messy job titles: templates, English and German, random case and spacing."""
    out = np.empty(len(seniority), dtype=object)
    functions = rng.integers(0, len(FUNCTIONS), len(seniority))
    for level, templates in TITLES.items():
        idx = np.flatnonzero(seniority == level)
        picks = rng.integers(0, len(templates), len(idx))
        for i, p in zip(idx, picks, strict=True):
            f, d = FUNCTIONS[functions[i]]
            out[i] = templates[p].format(f=f, d=d)
    style = rng.random(len(out))
    lower, upper, padded = style < 0.08, (style >= 0.08) & (style < 0.11), (style >= 0.11) & (style < 0.15)
    out[lower] = [t.lower() for t in out[lower]]
    out[upper] = [t.upper() for t in out[upper]]
    out[padded] = [f"  {t} " for t in out[padded]]
    out[(seniority == "unknown") & (rng.random(len(out)) < 0.5)] = None
    return out


def _leads(rng: np.random.Generator, spec: GenerateSpec, first: int, n: int) -> tuple[pd.DataFrame, dict]:
    ids = np.array([f"L{first + i + 1:08d}" for i in range(n)], dtype=object)
    created = spec.days * rng.beta(1.4, 1.0, n) * 0.995  # arrivals grow over time; days since start
    source = _pick(rng, SOURCES, n)
    seniority = _pick(rng, SENIORITY, n)
    industry = _pick(rng, INDUSTRIES, n)
    employees = np.clip(np.round(rng.lognormal(4.0, 1.6, n)), 1, 250_000)
    revenue = employees * rng.lognormal(np.log(150_000), 0.6, n)
    decision_maker = np.array([SENIORITY[s][2] for s in seniority])
    has_budget = rng.random(n) < np.where(decision_maker, 0.55, 0.25)
    budget = np.round(rng.lognormal(np.log(15_000), 0.9, n) * np.clip(employees / 100, 0.3, 20) ** 0.5, -2)

    # mid-market is the sweet spot: tiny firms lack budget, enterprises buy slowly and elsewhere
    size_effect = np.clip(0.8 - 0.35 * (np.log(employees) - np.log(250)) ** 2, -1.6, 0.8)
    # a stated budget matters when the person can spend it
    budget_effect = np.where(decision_maker, 1.3, 0.2) * has_budget
    logit = (-2.9 + _effect(SOURCES, source) + _effect(SENIORITY, seniority) + _effect(INDUSTRIES, industry)
             + size_effect + budget_effect + rng.normal(0, 0.7, n))
    interest = 0.5 * (logit + 2.0) + rng.normal(0, 0.8, n)

    freemail = rng.random(n) < np.where(np.isin(seniority, ["student", "individual", "unknown"]), 0.55, 0.15)
    company = rng.integers(1, max(2, n // 3), n) + first
    domains = np.where(freemail, np.array(FREEMAIL, dtype=object)[rng.integers(0, len(FREEMAIL), n)],
                       np.array([f"company{c}.com" for c in company], dtype=object))
    emails = [f"{FIRST[a]}.{LAST[b]}{k}@{d}" for a, b, k, d in
              zip(rng.integers(0, len(FIRST), n), rng.integers(0, len(LAST), n), rng.integers(1, 99, n),
                  domains, strict=True)]
    country = np.array(COUNTRIES, dtype=object)[rng.choice(len(COUNTRIES), n, p=COUNTRY_SHARE)]
    messy = rng.random(n)
    country[messy < 0.03] = [c.lower() for c in country[messy < 0.03]]
    country[(messy >= 0.03) & (messy < 0.08)] = None
    industry_out = industry.copy()
    recase = rng.random(n) < 0.05
    industry_out[recase] = [str(v).replace("_", " ").title() for v in industry_out[recase]]
    industry_out[rng.random(n) < 0.04] = None

    leads = pd.DataFrame({
        "lead_id": pd.array(ids, dtype="str"),
        "created_at": _stamp(spec, created),
        "source": pd.array(source, dtype="str"),
        "country": pd.array(country, dtype="str"),
        "industry": pd.array(industry_out, dtype="str"),
        "job_title": pd.array(_titles(rng, seniority), dtype="str"),
        "company_name": pd.array([f"Company {c}" for c in company], dtype="str"),
        "email": pd.array(emails, dtype="str"),
        "employees": pd.array(np.where(rng.random(n) < 0.15, np.nan, employees)).astype("Int64"),
        "annual_revenue": np.where(rng.random(n) < 0.35, np.nan, np.round(revenue, -3)),
        "declared_budget": np.where(has_budget, budget, np.nan),
    })
    return leads, {"logit": logit, "interest": interest, "source": source, "created": created}


def _stamp(spec: GenerateSpec, days: np.ndarray) -> pd.DatetimeIndex:
    """Turn fractional days since the start into UTC timestamps at whole seconds."""
    return spec.start + pd.to_timedelta(np.floor(np.asarray(days, dtype=float) * 86400), unit="s")


def _events(rng: np.random.Generator, lead: np.ndarray, at: np.ndarray, types: dict) -> pd.DataFrame:
    return pd.DataFrame({"lead": lead, "at": at, "activity_type": _pick(rng, types, len(lead))})


def _chunk(rng: np.random.Generator, spec: GenerateSpec, first: int, n: int) -> tuple[LeadTables, HiddenState]:
    leads, hidden = _leads(rng, spec, first, n)
    hidden["remaining"] = spec.days - hidden["created"]
    hidden["intensity"] = np.exp(0.45 * np.clip(hidden["interest"], -3, 3))
    hidden["burst_share"] = NON_BUYER_BURST_SHARE * np.clip(hidden["intensity"], 0.3, 2.5)
    parts = _first_touches(rng, hidden)
    buying, converts, converted = _buying(rng, spec, hidden)
    parts += buying + _nurture(rng, hidden) + [_reengagement(rng, hidden)]
    lead_ids = leads["lead_id"].to_numpy()
    activities = _activities(rng, spec, lead_ids, parts)
    opportunities = _opportunities(rng, spec, first, lead_ids, converts=converts, converted=converted)
    duplicated = rng.random(n) < 0.003  # and some leads twice, identically
    truth = HiddenState(
        pd.DataFrame({"lead_id": leads["lead_id"], "created_at": leads["created_at"], "logit": hidden["logit"],
                      "interest": hidden["interest"], "burst_share": hidden["burst_share"]}),
        pd.DataFrame({"lead_id": lead_ids[buying[0]["lead"].to_numpy()],
                      "occurred_at": _stamp(spec, buying[0]["at"].to_numpy())}), spec.days)
    leads = pd.concat([leads, leads[duplicated]], ignore_index=True)
    return LeadTables(leads=leads, activities=activities, opportunities=opportunities), truth


def _first_touches(rng: np.random.Generator, hidden: dict) -> list[pd.DataFrame]:
    """The touch that made each lead, then a few onboarding touches in its first days."""
    created = hidden["created"]
    everyone = np.arange(len(created))
    origin = pd.DataFrame({"lead": everyone, "at": created,
                           "activity_type": [ORIGIN_ACTIVITY[s] for s in hidden["source"]]})
    idx = np.repeat(everyone, rng.poisson(2.0 * hidden["intensity"]))
    return [origin, _events(rng, idx, created[idx] + rng.exponential(4.0, len(idx)), ONBOARDING)]


def _buying(rng: np.random.Generator, spec: GenerateSpec,
            hidden: dict) -> tuple[list[pd.DataFrame], np.ndarray, np.ndarray]:
    """Who converts and when, and the bursts of high-intent touches before it.

    Buyers reach an opportunity after a delay (some stall for budget or time first) and show a burst of
    high-intent touches in the weeks before it; some others burst and then stall.
    """
    created = hidden["created"]
    n = len(created)
    converts = rng.random(n) < 1 / (1 + np.exp(-hidden["logit"]))
    converted = (created + rng.gamma(DELAY_SHAPE, DELAY_SCALE, n)
                 + np.where(rng.random(n) < STALL_SHARE, rng.uniform(*STALL_DAYS, n), 0))
    stalled = ~converts & (rng.random(n) < hidden["burst_share"])
    burst_end = np.where(converts, converted, created + rng.uniform(NON_BUYER_BURST_START, spec.days, n))
    burst_len = rng.uniform(*BURST_DAYS, n)
    bursting = np.flatnonzero(converts | stalled)
    (buyer_base, buyer_rate), (other_base, other_rate) = BUYER_BURST, NON_BUYER_BURST
    size = np.where(converts[bursting], buyer_base + rng.poisson(buyer_rate, len(bursting)),
                    other_base + rng.poisson(other_rate, len(bursting)))
    idx = np.repeat(bursting, size)
    at = burst_end[idx] - burst_len[idx] * rng.uniform(0, 1, len(idx))
    keep = at >= created[idx]
    parts = [_events(rng, idx[keep], at[keep], BUYING)]
    won = np.flatnonzero(converts & (rng.random(n) < 0.7))
    parts.append(pd.DataFrame({"lead": won, "at": converted[won] - 2 / 24, "activity_type": "meeting_held"}))
    return parts, converts, converted


def _nurture(rng: np.random.Generator, hidden: dict) -> list[pd.DataFrame]:
    """Nurture mail every ~two weeks for up to nine months, stopped by an unsubscribe; opens, clicks,
    replies, unsubscribes and bounces."""
    created, intensity = hidden["created"], hidden["intensity"]
    n = len(created)
    life = np.clip(hidden["remaining"], 0, 270)
    idx = np.repeat(np.arange(n), rng.poisson(life / 14.0))
    sent = created[idx] + rng.uniform(0, 1, len(idx)) * life[idx]
    unsubscribes = rng.random(n) < 0.08
    unsub_at = created + rng.uniform(5, 400, n)
    keep = ~(unsubscribes[idx] & (sent > unsub_at[idx]))
    idx, sent = idx[keep], sent[keep]
    parts = [pd.DataFrame({"lead": idx, "at": sent, "activity_type": "email_sent"})]
    opened = rng.random(len(idx)) < np.clip(0.18 * intensity[idx], 0.02, 0.7)
    open_at = sent[opened] + rng.exponential(0.5, opened.sum())
    parts.append(pd.DataFrame({"lead": idx[opened], "at": open_at, "activity_type": "email_open"}))
    clicked = rng.random(opened.sum()) < np.clip(0.15 * intensity[idx[opened]], 0.02, 0.6)
    parts.append(pd.DataFrame({"lead": idx[opened][clicked], "at": open_at[clicked] + 1 / 1440,
                               "activity_type": "email_click"}))
    replied = rng.random(opened.sum()) < np.clip(0.02 * intensity[idx[opened]], 0.0, 0.2)
    parts.append(pd.DataFrame({"lead": idx[opened][replied], "at": open_at[replied] + 0.2,
                               "activity_type": "email_reply"}))
    gone = np.flatnonzero(unsubscribes)
    parts.append(pd.DataFrame({"lead": gone, "at": unsub_at[gone], "activity_type": "unsubscribe"}))
    bounced = np.flatnonzero(rng.random(n) < 0.02)
    parts.append(pd.DataFrame({"lead": bounced, "at": created[bounced] + 1, "activity_type": "email_bounce"}))
    return parts


def _reengagement(rng: np.random.Generator, hidden: dict) -> pd.DataFrame:
    """Short bursts of touches at random moments while the lead is nurtured."""
    created, remaining = hidden["created"], hidden["remaining"]
    bursts = np.repeat(np.arange(len(created)), rng.poisson(0.8 * hidden["intensity"] * remaining / 365))
    burst_at = created[bursts] + rng.uniform(0, 1, len(bursts)) * remaining[bursts]
    size = 1 + rng.poisson(2.5, len(bursts))
    idx = np.repeat(bursts, size)
    return _events(rng, idx, np.repeat(burst_at, size) + rng.exponential(3.0, len(idx)), REENGAGE)


def _activities(rng: np.random.Generator, spec: GenerateSpec, lead_ids: np.ndarray,
                parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The contract's activities from the drawn touches: silent leads dropped, values, some rows twice."""
    acts = pd.concat(parts, ignore_index=True)
    silent = rng.random(len(lead_ids)) < 0.05  # leads that never show any activity
    acts = acts[(acts["at"] < spec.days) & ~silent[acts["lead"].to_numpy()]]
    acts = acts.sort_values(["lead", "at"], kind="stable").reset_index(drop=True)
    types = acts["activity_type"].to_numpy().astype(str)
    value = np.where(types == "web_visit", rng.integers(1, 12, len(acts)).astype(float),
                     np.where(np.isin(types, ["product_login", "meeting_held"]),
                              np.round(rng.uniform(5, 90, len(acts))), np.nan))
    activities = pd.DataFrame({
        "lead_id": lead_ids[acts["lead"].to_numpy()],
        "occurred_at": _stamp(spec, acts["at"].to_numpy()),
        "activity_type": pd.array(types, dtype="str"),
        "channel": pd.array([CHANNEL.get(t) for t in types], dtype="str"),
        "value": value,
    })
    duplicated = rng.random(len(activities)) < 0.01  # the CRM sync wrote some touches twice
    return pd.concat([activities, activities[duplicated]], ignore_index=True)


def _opportunities(rng: np.random.Generator, spec: GenerateSpec, first: int, lead_ids: np.ndarray, *,
                   converts: np.ndarray, converted: np.ndarray) -> pd.DataFrame:
    """One opportunity per converted lead inside the span, a second one 45 days later for a few."""
    first_opp = np.flatnonzero(converts & (converted < spec.days))
    second = first_opp[rng.random(len(first_opp)) < 0.05]
    opp_lead = np.concatenate([first_opp, second])
    opp_at = np.concatenate([converted[first_opp], converted[second] + 45])
    keep = opp_at < spec.days
    return pd.DataFrame({
        "opportunity_id": pd.array([f"O{first + 1:08d}-{j}" for j in range(int(keep.sum()))], dtype="str"),
        "lead_id": lead_ids[opp_lead[keep]],
        "created_at": _stamp(spec, opp_at[keep]),
        "amount": np.round(rng.lognormal(np.log(25_000), 0.8, int(keep.sum())), -2),
    })
