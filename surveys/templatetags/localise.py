"""Template filters for numbers, dates, durations, percentages and time zones in the page's
language (Persian digits, Jalali dates and words in Persian), all from surveys.localise.

Dates are written in the template's current time zone (`{% timezone shop.timezone %}`)."""

from datetime import date, datetime, timedelta
from decimal import Decimal

from django import template
from django.utils import timezone
from django.utils.translation import get_language

from surveys import localise
from surveys.localise import localise_digits

register = template.Library()


def _language() -> str:
    return get_language() or "en"


@register.filter
def digits(value: object) -> str:
    return localise_digits(str(value), _language())


@register.filter
def number(value: float | int | Decimal | None, places: int = 0) -> str:
    return localise.format_number(value, _language(), places=int(places))


@register.filter
def percent(value: float | int | Decimal | None) -> str:
    return localise.format_percent(value, _language())


@register.filter
def signed(value: int) -> str:
    """A change said by its sign alone: "+5", "−3", "0"."""
    return localise.format_signed(int(value), _language())


@register.filter
def duration(value: timedelta | None) -> str:
    return localise.format_duration(value, _language()) if value is not None else ""


@register.filter
def day(value: date | datetime | None) -> str:
    if value is None:
        return ""
    tz = timezone.get_current_timezone() if isinstance(value, datetime) else None
    return localise.format_day(value, _language(), tz=tz)


@register.filter
def moment(value: datetime | None, style: str = "") -> str:
    """A day and time: `|moment` with the year, `|moment:"short"` without it, `|moment:"weekday"`
    with the day of the week and no year."""
    if value is None:
        return ""
    return localise.format_moment(
        value,
        _language(),
        tz=timezone.get_current_timezone(),
        year=style == "",
        weekday=style == "weekday",
    )


@register.filter
def zone_name(value: str) -> str:
    return localise.zone_name(str(value), _language())


@register.filter
def text_direction(language: str) -> str:
    return localise.text_direction(language)
