"""The report's template filters: reports.format in the language being rendered."""

from datetime import date, datetime, timedelta
from decimal import Decimal

from django import template
from django.utils.translation import get_language

from reports import format as fmt
from sentiment.engine import detect_language

register = template.Library()


def _language() -> str:
    return get_language() or "en"


@register.filter
def num(value: float | int | Decimal | None, places: int = 0) -> str:
    return fmt.number(value, _language(), places=places)


@register.filter
def signed(value: float | None, places: int = 0) -> str:
    return fmt.number(value, _language(), places=places, signed=True)


@register.filter
def margin(value: float | None) -> str:
    return fmt.plus_minus(value, _language())


@register.filter
def pct(value: float | None, places: int = 0) -> str:
    return fmt.percent(value, _language(), places=places)


@register.filter
def took(value: timedelta | None) -> str:
    return fmt.duration(value, _language())


@register.simple_tag(takes_context=True)
def day(context: template.Context, moment: date | datetime) -> str:
    report = context["report"]
    return fmt.day_name(moment, report.calendar, report.language, tz=context["tz"])


@register.filter
def text_dir(value: object) -> str:
    """The direction a customer's own words read in: WeasyPrint has no dir="auto", so the
    report decides (a Latin name or comment in the Persian edition stays left-to-right)."""
    return "rtl" if detect_language(str(value)) == "fa" else "ltr"
