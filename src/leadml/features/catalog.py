"""The feature catalog: every feature declared once with its family, meaning and reason wording."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from leadml.features.engagement import activity_types, window_name

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
}
DAYS = ("day", "days")


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


    def words(self, value: object) -> str:
        """Say this feature's value in plain words, for a reason or risk."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return self.missing or f"{self.description}: unknown"
        if isinstance(value, float) and self.binary:
            return self.binary[int(value > 0.5)]
        if isinstance(value, float):
            noun = self.nouns[0 if round(value) == 1 else 1] if self.nouns else ""
            return self.template.format(value=value, noun=noun)
        return self.template.format(value=str(value).replace("_", " "), noun="")


def _window_words(window: int | None) -> str:
    return "in total" if window is None else f"in the last {window} days"


def feature_catalog(windows: Sequence[int]) -> tuple[Feature, ...]:
    """Return every feature the pipeline builds, in the order the model sees them."""
    spans: list[int | None] = [*windows, None]
    features: list[Feature] = []
    for activity_type in (*activity_types(), "touches"):
        nouns = ACTIVITY_NOUNS[activity_type]
        name = "n_touches" if activity_type == "touches" else f"n_{activity_type}"
        for window in spans:
            features.append(Feature(
                f"{name}_{window_name(window)}", "engagement",
                f"Number of {nouns[1]} {_window_words(window)}",
                template=f"{{value:.0f}} {{noun}} {_window_words(window)}", nouns=nouns, topic=name))
    features += [
        Feature("days_since_last_touch", "engagement", "Days since the lead's last activity",
                template="Last activity {value:.0f} {noun} ago", nouns=DAYS, missing="No activity at all"),
        Feature("days_since_first_touch", "engagement", "Days since the lead's first activity",
                template="First activity {value:.0f} {noun} ago", nouns=DAYS, missing="No activity at all"),
        Feature("days_since_last_high_intent", "engagement",
                "Days since the last pricing view, demo request, meeting or trial start",
                template="Last high-intent touch {value:.0f} {noun} ago", nouns=DAYS,
                missing="Never viewed pricing, asked for a demo or met sales"),
        Feature("lead_age_days", "engagement", "Days since the lead entered the funnel",
                template="Lead for {value:.0f} {noun}", nouns=DAYS),
        Feature("seniority", "fit", "Seniority parsed from the job title", "categorical",
                template="Seniority: {value}"),
        Feature("is_decision_maker", "fit", "Title is C-level, VP, director or head of a function",
                binary=("Not a decision maker", "Decision maker")),
        Feature("industry", "fit", "Industry of the lead's company", "categorical",
                template="Industry: {value}", missing="Industry unknown"),
        Feature("country", "fit", "Country of the lead (ISO code)", "categorical",
                template="Country: {value}", missing="Country unknown"),
        Feature("lead_source", "fit", "Channel through which the lead arrived", "categorical",
                template="Came in through {value}", missing="Lead source unknown"),
        Feature("email_domain", "fit", "Business or free-mail address (the address itself is never used)",
                "categorical", template="Uses a {value} email address", missing="No email address"),
        Feature("employees", "fit", "Number of employees of the company",
                template="Company of {value:,.0f} employees", missing="Company size unknown"),
        Feature("declared_budget", "budget", "Budget the lead stated",
                template="Declared budget of {value:,.0f}", missing="No budget declared"),
        Feature("annual_revenue", "budget", "Annual revenue of the company",
                template="Company revenue of {value:,.0f}", missing="Company revenue unknown"),
        Feature("revenue_per_employee", "budget", "Annual revenue divided by employees",
                template="Revenue per employee of {value:,.0f}", missing="Revenue per employee unknown"),
        Feature("has_declared_budget", "budget", "Whether the lead stated a budget",
                binary=("Stated no budget", "Stated a budget")),
        Feature("has_annual_revenue", "budget", "Whether the company's revenue is known",
                binary=("Company revenue not known", "Company revenue known")),
        Feature("log_budget_to_revenue", "budget", "Declared budget relative to revenue (log10)",
                template="Budget to revenue ratio 10^{value:.1f}", missing="Budget to revenue unknown"),
    ]
    return tuple(features)
