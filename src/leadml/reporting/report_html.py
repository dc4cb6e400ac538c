"""Render the sales-ops report as one self-contained HTML file, from the template ``templates/report.html.j2``.

Everything the page needs is inside it: CSS in a style element, charts as PNG data URIs, no script, and a
Content-Security-Policy that forbids the page to load anything from anywhere, so it opens from an email
attachment without network access. ``report_view`` prepares the words and numbers; the template lays them out
with autoescape on, so every value from data (lead ids, display columns, reasons, reject reasons) is text.
"""

from __future__ import annotations

from functools import cache

import jinja2

from leadml.reasons.words import check_language
from leadml.reporting.report_data import ReportData
from leadml.reporting.report_view import page_view

TEMPLATE = "report.html.j2"


@cache
def environment() -> jinja2.Environment:
    """The report's template environment: the package's templates, every value escaped, no silent blanks."""
    return jinja2.Environment(loader=jinja2.PackageLoader("leadml.reporting", "templates"), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                              keep_trailing_newline=True)


def render(data: ReportData, lang: str = "en") -> str:
    """Return the whole report as one HTML document in ``lang``."""
    return environment().get_template(TEMPLATE).render(page_view(data, check_language(lang)))
