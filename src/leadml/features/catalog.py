"""The feature catalog: every feature declared once with its family, meaning and the data its reason is
worded from (templates and nouns); ``leadml.reasons.words`` turns a value into those words."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from leadml.config import FeaturesConfig, MappedFeature
from leadml.config import snake_case as feature_name
from leadml.features.engagement import HIGH_INTENT, SILENCE_DAYS, VELOCITY_DAYS, activity_types, window_name

ACTIVITY_NOUNS = {
    "email_sent": ("marketing email sent", "marketing emails sent"),
    "email_open": ("email opened", "emails opened"),
    "email_click": ("email link clicked", "email links clicked"),
    "email_reply": ("email reply", "email replies"),
    "email_bounce": ("bounced email", "bounced emails"),
    "unsubscribe": ("unsubscribe", "unsubscribes"),
    "newsletter_signup": ("newsletter signup", "newsletter signups"),
    "web_visit": ("website visit", "website visits"),
    "pricing_page_view": ("pricing page view", "pricing page views"),
    "content_download": ("content download", "content downloads"),
    "form_submitted": ("form submitted", "forms submitted"),
    "webinar_registered": ("webinar registration", "webinar registrations"),
    "webinar_attended": ("webinar attended", "webinars attended"),
    "event_attended": ("event attended", "events attended"),
    "free_trial_started": ("free trial started", "free trials started"),
    "product_login": ("product login", "product logins"),
    "demo_requested": ("demo request", "demo requests"),
    "meeting_booked": ("meeting booked", "meetings booked"),
    "meeting_held": ("meeting held", "meetings held"),
    "call_connected": ("call connected", "calls connected"),
    "other": ("other touch", "other touches"),
    "touches": ("touch", "touches"),
    "high_intent": ("high-intent touch", "high-intent touches"),
}
DAYS = ("day", "days")
MAPPED_FROM = "the user's column "  # how ``computed`` begins for a mapped column: its words come from the name


@dataclass(frozen=True)
class Feature:
    """One model input: its name, family, meaning, and how a reason says its value in words."""

    name: str
    family: str
    description: str
    kind: str = "numeric"  # or "categorical"
    template: str = "{value}"  # reason text; {value} and {noun} are filled in
    nouns: tuple[str, str] | None = None
    missing: str = ""
    binary: tuple[str, str] | None = None  # words for 0 and 1
    topic: str = ""  # features on one topic (e.g. demo requests over several windows) give one reason
    computed: str = ""  # how the value is computed, for data scientists
    lang: str = "en"  # the language of the words (numbers are written its way)
    none: str = ""  # words for a value that rounds to 0, where the template would read badly
    one: str = ""  # words for a value that rounds to 1
    labels: Mapping[str, str] | None = field(default=None, hash=False, compare=False)  # category -> words


def _window_words(window: int | None) -> str:
    return "in total" if window is None else f"in the last {window} days"


def _counts(windows: Sequence[int]) -> list[Feature]:
    features = []
    for activity_type in (*activity_types(), "touches"):
        nouns = ACTIVITY_NOUNS[activity_type]
        name = "n_touches" if activity_type == "touches" else f"n_{activity_type}"
        what = "activities of any type" if activity_type == "touches" else f"activities of type {activity_type}"
        for window in [*windows, None]:
            features.append(Feature(
                f"{name}_{window_name(window)}", "engagement", f"Number of {nouns[1]} {_window_words(window)}",
                template=f"{{value:.0f}} {{noun}} {_window_words(window)}", nouns=nouns, topic=name,
                computed=f"count of {what} with occurred_at in "
                         + (f"(T - {window} days, T]" if window else "(-inf, T]")))
    return features


def _decayed(half_lives: Sequence[int]) -> list[Feature]:
    features = []
    for half_life in half_lives:
        for activity_type in (*activity_types(), "high_intent"):
            nouns = ACTIVITY_NOUNS[activity_type]
            which = ("types " + ", ".join(HIGH_INTENT)) if activity_type == "high_intent" else f"type {activity_type}"
            features.append(Feature(
                f"decayed_{activity_type}_{half_life}d", "engagement",
                f"Recent-weighted number of {nouns[1]} (a touch {half_life} days ago counts half)",
                template=f"Recent {nouns[1]} (weighted {{value:.1f}})", topic=f"n_{activity_type}",
                computed=f"sum over activities of {which} at or before T of 2^(-(T - occurred_at) / {half_life} days)"))
    return features


def column_words(column: str) -> str:
    """Return a column's name as words for people ("TotalVisits" -> "Total Visits", "page_views" -> "page views")."""
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", column)
    return re.sub(r"[_\s]+", " ", spaced).strip() or column


def mapped_feature(column: str, rule: MappedFeature) -> Feature:
    """A mapped column as a catalog feature: its reason says the column's name and the lead's value."""
    words = column_words(column)
    literal = words.replace("{", "{{").replace("}", "}}")  # a brace in a column name is text, not a placeholder
    common = {"name": rule.name or feature_name(column), "family": rule.family, "description": words,
              "missing": f"{words}: unknown", "computed": f"{MAPPED_FROM}{column!r} ({rule.type})"}
    if rule.type == "flag":
        return Feature(**common, binary=(f"{words}: no", f"{words}: yes"))
    if rule.type == "numeric":  # up to ten digits: the value as the file wrote it, with thousands separated
        return Feature(**common, template=f"{literal}: {{value:,.10g}}")
    return Feature(**common, kind="categorical", template=f"{literal}: {{value}}")


def feature_catalog(settings: FeaturesConfig) -> tuple[Feature, ...]:
    """Return every feature the pipeline builds, in the order the model sees them: the contract's, then the
    leads table's own columns a table mapping makes features."""
    own = _counts(settings.windows_days) + _decayed(settings.half_lives_days) + _activity_and_recency() \
        + _product_responses_and_flags() + _fit() + _budget()
    taken = {feature.name for feature in own}
    mapped = [mapped_feature(column, rule) for column, rule in settings.lead_columns.items()]
    for column, feature in zip(settings.lead_columns, mapped, strict=True):
        if feature.name in taken:
            raise ValueError(f"mapping.leads.features.{column}: {feature.name!r} is a feature leadml builds itself: "
                             f"set mapping.leads.features.{column}.name")
        taken.add(feature.name)
    return tuple(own + mapped)


def _activity_and_recency() -> list[Feature]:
    """Engagement: the trend of touches, active days, channels, and days since the last and first touches."""
    return [
        Feature("velocity_14d", "engagement",
                f"Touches in the last {VELOCITY_DAYS} days minus the {VELOCITY_DAYS} before",
                template="Activity trend {value:+.0f} touches against the two weeks before", topic="velocity",
                computed="n(T-14d, T] - n(T-28d, T-14d]"),
        Feature("velocity_ratio_14d", "engagement", "Growth of activity: last two weeks against the two before",
                template="Activity {value:.1f}x the two weeks before", topic="velocity",
                computed="(n(T-14d, T] + 1) / (n(T-28d, T-14d] + 1)"),
        Feature("active_days_30d", "engagement", "Days with any activity in the last 30 days",
                template="Active on {value:.0f} {noun} in the last 30 days", nouns=DAYS, topic="active_days",
                computed="distinct UTC calendar days with an activity in (T - 30 days, T]"),
        Feature("active_days_all", "engagement", "Days with any activity in total",
                template="Active on {value:.0f} {noun} in total", nouns=DAYS, topic="active_days",
                computed="distinct UTC calendar days with an activity at or before T"),
        Feature("distinct_channels", "engagement", "Channels the lead engaged through",
                template="Engaged through {value:.0f} {noun}", nouns=("channel", "channels"),
                computed="distinct non-null activity channels at or before T"),
        Feature("days_since_last_touch", "engagement", "Days since the lead's last activity",
                template="No activity for {value:.0f} {noun}", nouns=DAYS, missing="No activity at all",
                none="Active today", topic="recency", computed="T - max(occurred_at <= T), in days"),
        Feature("days_since_first_touch", "engagement", "Days since the lead's first activity",
                template="First activity {value:.0f} {noun} ago", nouns=DAYS, missing="No activity at all",
                none="First activity today",
                topic="recency", computed="T - min(occurred_at), in days"),
        Feature("days_since_last_high_intent", "engagement",
                "Days since the last pricing view, demo request, meeting or trial start",
                template="Last high-intent touch {value:.0f} {noun} ago", nouns=DAYS, none="High-intent touch today",
                missing="Never viewed pricing, asked for a demo or met sales",
                computed="T - max(occurred_at <= T of " + ", ".join(HIGH_INTENT) + "), in days"),
        Feature("days_since_trial_start", "engagement", "Days since the lead started a free trial",
                template="Started a free trial {value:.0f} {noun} ago", nouns=DAYS, missing="Never started a trial",
                none="Started a free trial today",
                computed="T - max(occurred_at <= T of free_trial_started), in days"),
    ]


def _product_responses_and_flags() -> list[Feature]:
    """Engagement: product use, email and webinar response rates, silence and email flags, lead age."""
    return [
        Feature("product_minutes_30d", "engagement", "Minutes of product use in the last 30 days",
                template="{value:.0f} minutes in the product in the last 30 days", topic="product",
                computed="sum of value of product_login activities in (T - 30 days, T]"),
        Feature("product_minutes_all", "engagement", "Minutes of product use in total",
                template="{value:.0f} minutes in the product in total", topic="product",
                computed="sum of value of product_login activities at or before T"),
        Feature("email_click_rate", "engagement", "Share of opened emails whose link was clicked",
                template="Clicked {value:.0%} of opened emails", missing="Opened no email",
                computed="n_email_click_all / n_email_open_all (missing without opens)"),
        Feature("email_reply_rate", "engagement", "Share of marketing emails answered",
                template="Answered {value:.0%} of emails", missing="Was sent no email",
                computed="n_email_reply_all / n_email_sent_all (missing without emails)"),
        Feature("webinar_attendance_rate", "engagement", "Share of registered webinars attended",
                template="Attended {value:.0%} of registered webinars", missing="Registered for no webinar",
                computed="min(1, n_webinar_attended_all / n_webinar_registered_all)"),
        Feature("is_silent_60d", "engagement", f"No activity for more than {SILENCE_DAYS} days",
                binary=("Active in the last 60 days", f"No activity for over {SILENCE_DAYS} days"), topic="recency",
                computed=f"1 if days_since_last_touch > {SILENCE_DAYS} or no activity, else 0"),
        Feature("has_unsubscribed", "engagement", "Unsubscribed from marketing email",
                binary=("Still subscribed", "Unsubscribed from emails"), topic="n_unsubscribe",
                computed="1 if any unsubscribe at or before T"),
        Feature("has_bounced", "engagement", "An email to the lead bounced",
                binary=("Email address works", "Email address bounced"), topic="n_email_bounce",
                computed="1 if any email_bounce at or before T"),
        Feature("lead_age_days", "engagement", "Days since the lead entered the funnel",
                template="Lead for {value:.0f} {noun}", nouns=DAYS, none="New lead today",
                computed="T - leads.created_at, in days"),
    ]


def _fit() -> list[Feature]:
    """Fit: who the lead is and where it works, parsed from its attributes."""
    return [
        Feature("seniority", "fit", "Seniority parsed from the job title", "categorical",
                template="Seniority: {value}", computed="first matching pattern (English and German) of the title"),
        Feature("job_function", "fit", "Business function parsed from the job title", "categorical",
                template="Works in {value}", computed="first matching function pattern of the title"),
        Feature("is_decision_maker", "fit", "Title is C-level, VP, director or head of a function",
                binary=("Not a decision maker", "Decision maker"), computed="seniority in c_level, vp, director, head"),
        Feature("industry", "fit", "Industry of the lead's company", "categorical",
                template="Industry: {value}", missing="Industry unknown",
                computed="industry, lower case, words joined by _"),
        Feature("company_size_band", "fit", "Company size band by employees", "categorical",
                template="Company of {value} employees", missing="Company size unknown",
                computed="employees cut at 10, 50, 200, 1000, 5000"),
        Feature("employees", "fit", "Number of employees of the company",
                template="Company of {value:,.0f} employees", missing="Company size unknown",
                computed="employees, missing when not positive"),
        Feature("country", "fit", "Country of the lead (ISO code)", "categorical",
                template="Country: {value}", missing="Country unknown",
                computed="country name or code mapped to ISO 3166 alpha-2"),
        Feature("region", "fit", "Sales region of the lead's country", "categorical",
                template="Region: {value}", missing="Region unknown", computed="DACH, Europe, North America, ..."),
        Feature("lead_source", "fit", "Channel through which the lead arrived", "categorical",
                template="Came in through {value}", missing="Lead source unknown",
                computed="source, lower case, words joined by _"),
        Feature("email_domain", "fit", "Business or free-mail address (the address itself is never used)",
                "categorical", template="Uses a {value} email address", missing="No email address",
                computed="'freemail' for known free-mail domains, else 'business'"),
    ]


def _budget() -> list[Feature]:
    """Budget: what the lead's company can spend."""
    return [
        Feature("declared_budget", "budget", "Budget the lead stated",
                template="Declared budget of {value:,.0f}", missing="No budget declared", topic="budget",
                computed="declared_budget, missing when negative"),
        Feature("annual_revenue", "budget", "Annual revenue of the company",
                template="Company revenue of {value:,.0f}", missing="Company revenue unknown", topic="revenue",
                computed="annual_revenue, missing when negative"),
        Feature("revenue_per_employee", "budget", "Annual revenue divided by employees",
                template="Revenue per employee of {value:,.0f}", missing="Revenue per employee unknown",
                computed="annual_revenue / employees"),
        Feature("budget_band", "budget", "Band of the declared budget", "categorical",
                template="Budget band {value}", missing="No budget declared", topic="budget",
                computed="declared_budget cut at 5k, 20k, 50k, 200k"),
        Feature("has_declared_budget", "budget", "Whether the lead stated a budget",
                binary=("Stated no budget", "Stated a budget"), topic="budget",
                computed="1 if declared_budget is present"),
        Feature("has_annual_revenue", "budget", "Whether the company's revenue is known",
                binary=("Company revenue not known", "Company revenue known"), topic="revenue",
                computed="1 if annual_revenue is present"),
        Feature("log_budget_to_revenue", "budget", "Declared budget relative to revenue (log10)",
                template="Budget is 10^{value:.1f} of revenue", missing="Budget to revenue unknown",
                computed="log10(declared_budget / annual_revenue)"),
    ]


def catalog_markdown(settings: FeaturesConfig) -> str:
    """Render the catalog as the Markdown page docs/features.md."""
    catalog = feature_catalog(settings)
    lines = ["# Feature catalog", "",
             "Generated by `leadml features --list --markdown` from `src/leadml/features/catalog.py` with the",
             "default configuration; do not edit by hand (`make docs` rewrites it, a test fails when it is stale).",
             "Every value at (lead, T) uses only the lead's attributes and rows at or before T.", ""]
    for family in ("engagement", "fit", "budget"):
        members = [f for f in catalog if f.family == family]
        lines += [f"## {family.capitalize()} ({len(members)})", "", "| name | type | meaning | computed as |",
                  "|---|---|---|---|"]
        lines += [f"| `{f.name}` | {f.kind} | {f.description} | {f.computed.replace('|', '/')} |" for f in members]
        lines.append("")
    return "\n".join(lines)
