"""The only module that imports WeasyPrint: the report's data laid out as a PDF."""

from datetime import UTC, tzinfo
from functools import partial
from pathlib import Path

from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from weasyprint import HTML

from feedback.insights.periods import Calendar
from feedback.models import FollowUp
from reports import charts
from reports import format as fmt
from reports.data import MonthlyReport
from reports.flagged import FlaggedRow
from reports.returning import Stage
from sentiment.themes import theme_label
from surveys.branding import colours_of
from surveys.localise import text_direction


def render_monthly_report(report: MonthlyReport) -> bytes:
    html = report_html(report)
    pdf = HTML(string=html, base_url=f"{_fonts_dir()}/").write_pdf()
    assert pdf is not None  # write_pdf without a target always returns bytes
    return pdf


def report_html(report: MonthlyReport) -> str:
    """The report as HTML for WeasyPrint, in the report's language."""
    with translation.override(report.language):
        return render_to_string("reports/monthly.html", report_context(report))


def report_context(report: MonthlyReport) -> dict[str, object]:
    """What the template needs besides the data: charts, and labels in the report's language
    (call within translation.override)."""
    language = report.language
    rtl = text_direction(language) == "rtl"
    number = partial(fmt.number, language=language)
    colours = colours_of(report.brand_color)
    headline = report.headline
    funnel = [
        (_("Sent"), headline.funnel.sent),
        (_("Opened"), headline.funnel.opened),
        (_("Answered"), headline.funnel.answered),
    ]
    recovery_rate = report.recovery.recovery_rate
    return {
        "report": report,
        "tz": report.month.start.tzinfo,
        "direction": "rtl" if rtl else "ltr",
        "month": fmt.month_name(report.month, report.calendar, language),
        "colour": colours["brand_color"],
        "colour_text": colours["brand_text_color"],
        "colour_ink": colours["brand_ink"],
        "trend_chart": charts.trend_chart(
            [point.nps for point in report.trend], colour=colours["brand_ink"], rtl=rtl, format_number=number
        ),
        "trend_labels": [fmt.short_month(point.first_day, report.calendar, language) for point in report.trend],
        # The month names' margins, as shares of the chart's width (see charts.TREND_*).
        "axis_left": 100 * charts.TREND_LEFT / charts.TREND_WIDTH,
        "axis_right": 100 * charts.TREND_RIGHT / charts.TREND_WIDTH,
        "distribution_chart": charts.distribution_chart(report.distribution, rtl=rtl, format_number=number),
        "changes": [(headline.vs_previous_month, _("vs last month")), (headline.vs_last_year, _("vs a year ago"))],
        "funnel": funnel,
        "funnel_top": max(headline.funnel.sent, 1),
        "themes": [{**vars(theme), "name": theme_label(theme.theme)} for theme in report.themes],
        "themes_top": max([theme.mentions for theme in report.themes] + [1]),
        "products": [
            {**vars(product), "complaint": theme_label(product.top_complaint) if product.top_complaint else ""}
            for product in report.products
        ],
        "flagged": [
            _flagged_for_reading(row, calendar=report.calendar, tz=report.month.start.tzinfo or UTC)
            for row in report.flagged
        ],
        # The list's own header, in the page margin of each of its pages (the list is no table).
        "list_header": _("Flagged customers: name · email · order · score, then why and what we did"),
        "recovery_rate": None if recovery_rate is None else 100 * recovery_rate,
        "stage_title": _stage_title(report.retention.stage),
        "stage_advice": _stage_advice(report.retention.stage),
    }


def _flagged_for_reading(
    row: FlaggedRow, *, calendar: Calendar = Calendar.GREGORIAN, tz: tzinfo = UTC
) -> dict[str, str]:
    """A flagged customer as two lines of plain text: who (name, email, order, score), then why
    and what the support team did; and the mark beside it (late, or bought again).

    Plain text with isolate characters, no inline elements: WeasyPrint's layout time grows with
    the inline boxes and forced line breaks, and a month can flag 2,000 customers (bench/report.py).
    """
    language = get_language() or "en"
    customer = fmt.isolated(row.customer, left_to_right=False)
    if row.email and row.email != row.customer:
        customer += " · " + fmt.isolated(row.email)
    who = _("%(customer)s · order %(order)s · score %(score)s") % {
        "customer": customer,
        "order": fmt.isolated(row.order),
        "score": fmt.number(row.score, language),
    }
    who += " · " + _("answered %(day)s") % {"day": fmt.day_name(row.answered_at, calendar, language, tz=tz)}
    if row.top_percent is not None:
        # Revenue at risk: one of the customers the shop can least afford to lose.
        who += " · " + _("top %(percent)s by spend") % {"percent": fmt.percent(row.top_percent, language)}
    # Nobody owning a closed case is no news: "nobody yet" is for the open ones.
    closed = row.status in (FollowUp.Status.RESOLVED, FollowUp.Status.NO_CONTACT)
    handling = [row.owner] if row.owner else [] if closed else [_("nobody yet")]
    handling.append(str(FollowUp.Status(row.status).label))
    if row.time_to_first_contact is not None:
        handling.append(_("first contact after %(time)s") % {"time": fmt.duration(row.time_to_first_contact, language)})
    if row.resolution:
        handling.append(str(FollowUp.Resolution(row.resolution).label))
    if row.goodwill:
        handling.append(str(FollowUp.Goodwill(row.goodwill).label))
    if row.sla == "late":
        handling.append(_("late"))
    elif row.sla == "overdue":
        handling.append(_("overdue"))
    if row.came_back:
        handling.append(_("bought again"))
    reasons = [str(FollowUp.Reason(code).label) if code in FollowUp.Reason.values else code for code in row.reasons]
    return {
        "who": who,
        "what": _(", ").join(reasons) + " — " + " · ".join(handling),
        "mark": "late" if row.sla in ("late", "overdue") else "back" if row.came_back else "",
    }


def _stage_title(stage: Stage) -> str:
    return {
        "new": _("A new shop"),
        "starting": _("Getting started: fewer than about ten orders a month"),
        "one_a_day": _("About one order a day"),
        "ten_a_day": _("About ten orders a day"),
        "established": _("500 or more orders a month"),
    }[stage.key]


def _stage_advice(stage: Stage) -> str:
    if stage.key == "new":
        return _("With no returning customers yet, nearly all effort goes into finding customers; keep every promise.")
    if stage.key == "established":
        return _("At this size most of the effort pays best spent on the customers the shop already has.")
    return _(
        "The retention literature suggests spending about %(share)s of the effort on customers the shop already has."
    ) % {"share": fmt.percent(stage.effort, get_language() or "en")}


def _fonts_dir() -> Path:
    """Where the report finds Vazirmatn (relative URLs in the template resolve against it)."""
    found = finders.find("fonts/vazirmatn/Vazirmatn-Regular.ttf")
    assert found, "static/fonts/vazirmatn is part of the project"
    return Path(str(found)).parent
