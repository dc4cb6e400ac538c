"""The feature catalog: every feature declared once with its family, meaning and the data its reason is
worded from (templates and nouns); ``leadml.reasons.words`` turns a value into those words."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from leadml.config import FeaturesConfig, MappedFeature
from leadml.config import snake_case as feature_name
from leadml.features.engagement import HIGH_INTENT, SILENCE_DAYS, VELOCITY_DAYS, activity_types, window_name

# per activity type: the words for none, one and many ({w}: the window, {value}: the count), and its plural noun
ACTIVITY_WORDS = {
    "email_sent": ("Received no marketing email {w}", "Received one marketing email {w}",
                   "Received {value:,.0f} marketing emails {w}", "marketing emails sent"),
    "email_open": ("Opened no email {w}", "Opened one email {w}", "Opened {value:,.0f} emails {w}", "emails opened"),
    "email_click": ("Clicked no email link {w}", "Clicked one email link {w}", "Clicked {value:,.0f} email links {w}",
                    "email links clicked"),
    "email_reply": ("Replied to no email {w}", "Replied to one email {w}", "Replied to {value:,.0f} emails {w}",
                    "email replies"),
    "email_bounce": ("No email bounced {w}", "One email bounced {w}", "{value:,.0f} emails bounced {w}",
                     "bounced emails"),
    "unsubscribe": ("Has not unsubscribed {w}", "Unsubscribed from emails once {w}",
                    "Unsubscribed from emails {value:,.0f} times {w}", "unsubscribes"),
    "newsletter_signup": ("Signed up for no newsletter {w}", "Signed up for one newsletter {w}",
                          "Signed up for {value:,.0f} newsletters {w}", "newsletter signups"),
    "web_visit": ("No website visit {w}", "Visited the website once {w}", "Visited the website {value:,.0f} times {w}",
                  "website visits"),
    "pricing_page_view": ("Has not viewed the pricing page {w}", "Viewed the pricing page once {w}",
                          "Viewed the pricing page {value:,.0f} times {w}", "pricing page views"),
    "content_download": ("Downloaded no content {w}", "Downloaded content once {w}",
                         "Downloaded content {value:,.0f} times {w}", "content downloads"),
    "form_submitted": ("Submitted no form {w}", "Submitted one form {w}", "Submitted {value:,.0f} forms {w}",
                       "forms submitted"),
    "webinar_registered": ("Registered for no webinar {w}", "Registered for one webinar {w}",
                           "Registered for {value:,.0f} webinars {w}", "webinar registrations"),
    "webinar_attended": ("Attended no webinar {w}", "Attended one webinar {w}", "Attended {value:,.0f} webinars {w}",
                         "webinars attended"),
    "event_attended": ("Attended no event {w}", "Attended one event {w}", "Attended {value:,.0f} events {w}",
                       "events attended"),
    "free_trial_started": ("Started no free trial {w}", "Started one free trial {w}",
                           "Started {value:,.0f} free trials {w}", "free trials started"),
    "product_login": ("Has not logged in to the product {w}", "Logged in to the product once {w}",
                      "Logged in to the product {value:,.0f} times {w}", "product logins"),
    "demo_requested": ("Requested no demo {w}", "Requested one demo {w}", "Requested {value:,.0f} demos {w}",
                       "demo requests"),
    "meeting_booked": ("Booked no meeting {w}", "Booked one meeting {w}", "Booked {value:,.0f} meetings {w}",
                       "meetings booked"),
    "meeting_held": ("Had no meeting with sales {w}", "Met sales once {w}", "Met sales {value:,.0f} times {w}",
                     "meetings held"),
    "call_connected": ("Had no call with sales {w}", "Had one call with sales {w}",
                       "Had {value:,.0f} calls with sales {w}", "calls connected"),
    "other": ("No other activity {w}", "One other activity {w}", "{value:,.0f} other activities {w}",
              "other activities"),
    "touches": ("No activity {w}", "One activity {w}", "{value:,.0f} activities {w}", "activities of any type"),
    "high_intent": ("", "", "", "pricing views, demo requests, meetings and trial starts"),
}
DAYS = ("day", "days")
MAPPED_FROM = "the user's column "  # how ``computed`` begins for a mapped column: its words come from the name
WORDING = ("template", "nouns", "missing", "binary", "none", "one", "labels", "negative", "log10")


@dataclass(frozen=True)
class Feature:
    """One model input: its name, family, meaning, and how a reason says its value in words.

    A template may hold {value}, {noun} (of ``nouns``, by the value), {duration} (a value in days as people
    say it: "3 days", "14 months", "2 years") and {percent} (the value as a percentage)."""

    name: str
    family: str
    description: str
    kind: str = "numeric"  # or "categorical"
    template: str = "{value}"  # reason text, filled as the class docstring says
    nouns: tuple[str, str] | None = None
    missing: str = ""
    binary: tuple[str, str] | None = None  # words for 0 and 1
    topic: str = ""  # features on one topic (e.g. demo requests over several windows) give one reason
    computed: str = ""  # how the value is computed, for data scientists
    lang: str = "en"  # the language of the words (numbers are written its way)
    none: str = ""  # words for a value that rounds to 0, where the template would read badly
    one: str = ""  # words for a value that rounds to 1
    labels: Mapping[str, str] | None = field(default=None, hash=False, compare=False)  # category -> words
    negative: str = ""  # words for a value below zero, filled with its size ("3 fewer activities ...")
    log10: bool = False  # the value is a log10: the words say 10 ** value
    says: str = ""  # the feature whose value the words say: a recency-weighted count is no fact people know
    says_else: str = ""  # as a reason, when ``says`` is zero: the fact behind it lies further back


def _window_words(window: int | None) -> str:
    return "in total" if window is None else f"in the last {window} days"


def _count_name(activity_type: str) -> str:
    return "n_touches" if activity_type == "touches" else f"n_{activity_type}"


def _counts(windows: Sequence[int]) -> list[Feature]:
    features = []
    for activity_type in (*activity_types(), "touches"):
        none, one, many, plural = ACTIVITY_WORDS[activity_type]
        what = "activities of any type" if activity_type == "touches" else f"activities of type {activity_type}"
        for window in [*windows, None]:
            said = "so far" if window is None else _window_words(window)
            features.append(Feature(
                f"{_count_name(activity_type)}_{window_name(window)}", "engagement",
                f"Number of {plural} {_window_words(window)}", template=many.replace("{w}", said),
                none=none.replace("{w}", said), one=one.replace("{w}", said), missing=f"No data on {plural}",
                topic=_count_name(activity_type), computed=f"count of {what} with occurred_at in "
                + (f"(T - {window} days, T]" if window else "(-inf, T]")))
    return features


def _decayed(half_lives: Sequence[int], windows: Sequence[int]) -> list[Feature]:
    """Recency-weighted counts; their reasons say the plain count over the shortest window at least twice the
    half-life (or in total), or for buying-intent activities the days since the last one."""
    features = []
    for half_life in half_lives:
        window = next((w for w in sorted(windows) if w >= 2 * half_life), None)
        for activity_type in (*activity_types(), "high_intent"):
            intent = activity_type == "high_intent"
            which = ("types " + ", ".join(HIGH_INTENT)) if intent else f"type {activity_type}"
            features.append(Feature(
                f"decayed_{activity_type}_{half_life}d", "engagement",
                f"Recent-weighted number of {ACTIVITY_WORDS[activity_type][3]} "
                f"(an activity {half_life} days ago counts half)",
                topic="high_intent" if intent else _count_name(activity_type),
                says="days_since_last_high_intent" if intent else f"n_{activity_type}_{window_name(window)}",
                says_else="" if intent or window is None else f"n_{activity_type}_all",
                computed=f"sum over activities of {which} at or before T of 2^(-(T - occurred_at) / {half_life} days)"))
    return features


def _worded_by_what_they_say(features: list[Feature]) -> list[Feature]:
    """Give every feature that says another's value that feature's words."""
    by_name = {feature.name: feature for feature in features}
    return [replace(f, **{key: getattr(by_name[f.says], key) for key in WORDING}) if f.says else f for f in features]


def column_words(column: str) -> str:
    """Return a column's name as words for people ("TotalVisits" -> "Total Visits", "page_views" -> "page views")."""
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", column)
    return re.sub(r"[_\s]+", " ", spaced).strip() or column


def mapped_feature(column: str, rule: MappedFeature) -> Feature:
    """A mapped column as a catalog feature: its reason says the column's name and the lead's value."""
    words = column_words(column)
    literal = words.replace("{", "{{").replace("}", "}}")  # a brace in a column name is text, not a placeholder
    common = {"name": rule.name or feature_name(column), "family": rule.family, "description": words,
              "missing": f"{words}: not given", "computed": f"{MAPPED_FROM}{column!r} ({rule.type})"}
    if rule.type == "flag":
        return Feature(**common, binary=(f"{words}: no", f"{words}: yes"))
    if rule.type == "numeric":  # up to ten digits: the value as the file wrote it, with thousands separated
        return Feature(**common, template=f"{literal}: {{value:,.10g}}")
    return Feature(**common, kind="categorical", template=f"{literal}: {{value}}")


def feature_catalog(settings: FeaturesConfig) -> tuple[Feature, ...]:
    """Return every feature the pipeline builds, in the order the model sees them: the contract's, then the
    leads table's own columns a table mapping makes features."""
    own = _worded_by_what_they_say(
        _counts(settings.windows_days) + _decayed(settings.half_lives_days, settings.windows_days)
        + _activity_and_recency() + _product_responses_and_flags() + _fit() + _budget())
    taken = {feature.name for feature in own}
    mapped = [mapped_feature(column, rule) for column, rule in settings.lead_columns.items()]
    for column, feature in zip(settings.lead_columns, mapped, strict=True):
        if feature.name in taken:
            raise ValueError(f"mapping.leads.features.{column}: {feature.name!r} is a feature leadml builds itself: "
                             f"set mapping.leads.features.{column}.name")
        taken.add(feature.name)
    return tuple(own + mapped)


def _activity_and_recency() -> list[Feature]:
    """Engagement: the trend of activity, active days, channels, and days since the last and first activities."""
    weeks = f"in the last {VELOCITY_DAYS // 7} weeks than in the {VELOCITY_DAYS // 7} before"
    intent = "viewed pricing, asked for a demo, met sales or started a trial"
    return [
        Feature("velocity_14d", "engagement",
                f"Activities in the last {VELOCITY_DAYS} days minus the {VELOCITY_DAYS} before",
                template=f"{{value:,.0f}} more {{noun}} {weeks}", negative=f"{{value:,.0f}} fewer {{noun}} {weeks}",
                nouns=("activity", "activities"), none=f"As many activities {weeks.replace('than', 'as')}",
                missing="No data on activities", topic="velocity", computed="n(T-14d, T] - n(T-28d, T-14d]"),
        Feature("velocity_ratio_14d", "engagement", "Growth of activity: last two weeks against the two before",
                topic="velocity", says="velocity_14d", computed="(n(T-14d, T] + 1) / (n(T-28d, T-14d] + 1)"),
        Feature("active_days_30d", "engagement", "Days with any activity in the last 30 days",
                template="Active on {value:,.0f} {noun} in the last 30 days", nouns=DAYS, topic="active_days",
                none="No activity in the last 30 days", missing="No data on activities",
                computed="distinct UTC calendar days with an activity in (T - 30 days, T]"),
        Feature("active_days_all", "engagement", "Days with any activity in total",
                template="Active on {value:,.0f} {noun} so far", nouns=DAYS, topic="active_days",
                none="No activity so far", missing="No data on activities",
                computed="distinct UTC calendar days with an activity at or before T"),
        Feature("distinct_channels", "engagement", "Channels the lead engaged through",
                template="Engaged through {value:,.0f} {noun}", nouns=("channel", "channels"),
                none="Engaged through no channel", missing="No data on channels",
                computed="distinct non-null activity channels at or before T"),
        Feature("days_since_last_touch", "engagement", "Days since the lead's last activity",
                template="Last activity {duration} ago", none="Last activity today", one="Last activity yesterday",
                missing="No activity yet", topic="recency", computed="T - max(occurred_at <= T), in days"),
        Feature("days_since_first_touch", "engagement", "Days since the lead's first activity",
                template="First activity {duration} ago", none="First activity today", one="First activity yesterday",
                missing="No activity yet", topic="age", computed="T - min(occurred_at), in days"),
        Feature("days_since_last_high_intent", "engagement",
                "Days since the last pricing view, demo request, meeting or trial start",
                template=f"Last {intent} {{duration}} ago", none=f"{intent.capitalize()} today",
                one=f"{intent.capitalize()} yesterday", missing=f"Never {intent}", topic="high_intent",
                computed="T - max(occurred_at <= T of " + ", ".join(HIGH_INTENT) + "), in days"),
        Feature("days_since_trial_start", "engagement", "Days since the lead started a free trial",
                template="Started a free trial {duration} ago", missing="Never started a free trial",
                none="Started a free trial today", one="Started a free trial yesterday",
                computed="T - max(occurred_at <= T of free_trial_started), in days"),
    ]


def _product_responses_and_flags() -> list[Feature]:
    """Engagement: product use, email and webinar response rates, silence and email flags, lead age."""
    return [
        Feature("product_minutes_30d", "engagement", "Minutes of product use in the last 30 days",
                template="Used the product for {value:,.0f} minutes in the last 30 days", topic="product",
                none="Did not use the product in the last 30 days", missing="No data on product use",
                one="Used the product for 1 minute in the last 30 days",
                computed="sum of value of product_login activities in (T - 30 days, T]"),
        Feature("product_minutes_all", "engagement", "Minutes of product use in total",
                template="Used the product for {value:,.0f} minutes so far", topic="product",
                none="Has not used the product so far", one="Used the product for 1 minute so far",
                missing="No data on product use", computed="sum of value of product_login activities at or before T"),
        Feature("email_click_rate", "engagement", "Share of opened emails whose link was clicked",
                template="Clicked a link in {value:.0%} of opened emails", missing="Opened no email",
                computed="n_email_click_all / n_email_open_all (missing without opens)"),
        Feature("email_reply_rate", "engagement", "Share of marketing emails answered",
                template="Replied to {value:.0%} of emails received", missing="Received no marketing email",
                computed="n_email_reply_all / n_email_sent_all (missing without emails)"),
        Feature("webinar_attendance_rate", "engagement", "Share of registered webinars attended",
                template="Attended {value:.0%} of the webinars registered for", missing="Registered for no webinar",
                computed="min(1, n_webinar_attended_all / n_webinar_registered_all)"),
        Feature("is_silent_60d", "engagement", f"No activity for more than {SILENCE_DAYS} days",
                binary=(f"Active in the last {SILENCE_DAYS} days", f"No activity in the last {SILENCE_DAYS} days"),
                topic="recency", computed=f"1 if days_since_last_touch > {SILENCE_DAYS} or no activity, else 0"),
        Feature("has_unsubscribed", "engagement", "Unsubscribed from marketing email",
                binary=("Still subscribed to emails", "Unsubscribed from emails"), topic="n_unsubscribe",
                computed="1 if any unsubscribe at or before T"),
        Feature("has_bounced", "engagement", "An email to the lead bounced",
                binary=("No email bounced", "An email to the lead bounced"), topic="n_email_bounce",
                computed="1 if any email_bounce at or before T"),
        Feature("lead_age_days", "engagement", "Days since the lead entered the funnel",
                template="Became a lead {duration} ago", none="Became a lead today", one="Became a lead yesterday",
                missing="Lead creation date not given", topic="age", computed="T - leads.created_at, in days"),
    ]


def _fit() -> list[Feature]:
    """Fit: who the lead is and where it works, parsed from its attributes."""
    return [
        Feature("seniority", "fit", "Seniority parsed from the job title", "categorical", topic="seniority",
                template="Seniority: {value}", missing="Seniority not clear from the title",
                computed="first matching pattern (English and German) of the title"),
        Feature("job_function", "fit", "Business function parsed from the job title", "categorical",
                template="Works in {value}", missing="Job function not clear from the title",
                computed="first matching function pattern of the title"),
        Feature("is_decision_maker", "fit", "Title is C-level, VP, director or head of a function", topic="seniority",
                binary=("Not a decision maker", "Decision maker"), computed="seniority in c_level, vp, director, head"),
        Feature("industry", "fit", "Industry of the lead's company", "categorical",
                template="Industry: {value}", missing="Industry not given",
                computed="industry, lower case, words joined by _"),
        Feature("company_size_band", "fit", "Company size band by employees", "categorical", topic="company_size",
                template="Company of {value} employees", missing="Company size not given",
                computed="employees cut at 10, 50, 200, 1000, 5000"),
        Feature("employees", "fit", "Number of employees of the company", topic="company_size",
                template="Company of {value:,.0f} employees", one="Company of 1 employee",
                missing="Company size not given", computed="employees, missing when not positive"),
        Feature("country", "fit", "Country of the lead (ISO code)", "categorical",
                template="Country: {value}", missing="Country not given",
                computed="country name or code mapped to ISO 3166 alpha-2"),
        Feature("region", "fit", "Sales region of the lead's country", "categorical",
                template="Region: {value}", missing="Region not given", computed="DACH, Europe, North America, ..."),
        Feature("lead_source", "fit", "Channel through which the lead arrived", "categorical",
                template="Came in through {value}", missing="Lead source not given",
                computed="source, lower case, words joined by _"),
        Feature("email_domain", "fit", "Business or free-mail address (the address itself is never used)",
                "categorical", template="Uses a {value} email address", missing="No email address given",
                computed="'freemail' for known free-mail domains, else 'business'"),
    ]


def _budget() -> list[Feature]:
    """Budget: what the lead's company can spend."""
    return [
        Feature("declared_budget", "budget", "Budget the lead stated",
                template="Stated a budget of {value:,.0f}", missing="Stated no budget", topic="budget",
                computed="declared_budget, missing when negative"),
        Feature("annual_revenue", "budget", "Annual revenue of the company",
                template="Company revenue of {value:,.0f}", missing="Company revenue not given", topic="revenue",
                computed="annual_revenue, missing when negative"),
        Feature("revenue_per_employee", "budget", "Annual revenue divided by employees",
                template="Revenue per employee of {value:,.0f}", missing="Revenue per employee not known",
                computed="annual_revenue / employees"),
        Feature("budget_band", "budget", "Band of the declared budget", "categorical",
                template="Stated a budget of {value}", missing="Stated no budget", topic="budget",
                computed="declared_budget cut at 5k, 20k, 50k, 200k"),
        Feature("has_declared_budget", "budget", "Whether the lead stated a budget",
                binary=("Stated no budget", "Stated a budget"), topic="budget",
                computed="1 if declared_budget is present"),
        Feature("has_annual_revenue", "budget", "Whether the company's revenue is known",
                binary=("Company revenue not given", "Company revenue given"), topic="revenue",
                computed="1 if annual_revenue is present"),
        Feature("log_budget_to_revenue", "budget", "Declared budget relative to revenue (log10)",
                template="Budget is {percent} of company revenue", log10=True,
                missing="Budget or company revenue not given", computed="log10(declared_budget / annual_revenue)"),
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
