"""How the report writes numbers, months, days and durations, in English or Persian.

Persian gets Persian digits, the Persian separators (٬ for thousands, ٫ for decimals), the
minus sign written before the digits, and Jalali dates with the month's name.
"""

from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal

import jdatetime

from feedback.insights.periods import Calendar, Span
from surveys.localise import localise_digits
from surveys.models import Language

_GREGORIAN_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
MINUS = "\u2212"  # a real minus sign: a hyphen reads as a dash in a headline figure
LRI, PDI = "\u2066", "\u2069"  # left-to-right isolate, and its end
FSI = "\u2068"  # an isolate whose direction is its text's own (a Persian or a Latin name)


def isolated(text: str, *, left_to_right: bool = True) -> str:
    """`text` as an isolate within a line of the other direction: an email, an order number or
    a date keeps its order in a Persian line (WeasyPrint reverses "2024-10-21" otherwise).
    Characters, not <bdi>: in a 2,000-row list an inline element per token costs seconds."""
    return f"{LRI if left_to_right else FSI}{text}{PDI}" if text else ""


def month_name(span: Span, calendar: Calendar, language: str) -> str:
    """ "October 2026", "Mehr 1405", "مهر ۱۴۰۵" (a Gregorian month in Persian: "اکتبر ۲۰۲۶")."""
    first = span.first_day
    if calendar == Calendar.JALALI:
        jalali = jdatetime.date.fromgregorian(date=first)
        names = jdatetime.date.j_months_fa if language == Language.PERSIAN else jdatetime.date.j_months_en
        return localise_digits(f"{names[jalali.month - 1]} {jalali.year}", language)
    if language == Language.PERSIAN:
        return localise_digits(f"{_GREGORIAN_MONTHS_FA[first.month - 1]} {first.year}", language)
    return f"{_GREGORIAN_MONTHS[first.month - 1]} {first.year}"


_GREGORIAN_MONTHS_FA = (
    "ژانویه", "فوریه", "مارس", "آوریل", "مه", "ژوئن", "ژوئیه", "اوت", "سپتامبر", "اکتبر", "نوامبر", "دسامبر",
)  # fmt: skip


def short_month(first_day: date, calendar: Calendar, language: str) -> str:
    """A chart's axis label: "Oct", "Mehr", "مهر"; January (Farvardin) also gets its year."""
    if calendar == Calendar.JALALI:
        jalali = jdatetime.date.fromgregorian(date=first_day)
        names = jdatetime.date.j_months_fa if language == Language.PERSIAN else jdatetime.date.j_months_en
        name, month, year = names[jalali.month - 1], jalali.month, jalali.year
    else:
        names = _GREGORIAN_MONTHS_FA if language == Language.PERSIAN else _GREGORIAN_MONTHS
        name, month, year = names[first_day.month - 1], first_day.month, first_day.year
    if language != Language.PERSIAN:
        name = name[:3] if calendar == Calendar.GREGORIAN else name
    return localise_digits(f"{name} {year}" if month == 1 else name, language)


def day_name(moment: date | datetime, calendar: Calendar, language: str, *, tz: tzinfo | None = None) -> str:
    """A day in a table: "21 Oct 2026", "29 Mehr 1405", "۲۹ مهر ۱۴۰۵"."""
    day = moment.astimezone(tz).date() if isinstance(moment, datetime) else moment
    if calendar == Calendar.JALALI:
        jalali = jdatetime.date.fromgregorian(date=day)
        names = jdatetime.date.j_months_fa if language == Language.PERSIAN else jdatetime.date.j_months_en
        return localise_digits(f"{jalali.day} {names[jalali.month - 1]} {jalali.year}", language)
    names = _GREGORIAN_MONTHS_FA if language == Language.PERSIAN else _GREGORIAN_MONTHS
    name = names[day.month - 1] if language == Language.PERSIAN else names[day.month - 1][:3]
    return localise_digits(f"{day.day} {name} {day.year}", language)


def number(value: float | int | Decimal | None, language: str, *, places: int = 0, signed: bool = False) -> str:
    """1234.5 → "1,235" or "۱٬۲۳۵"; signed adds "+" to positive numbers; None → "–"."""
    if value is None:
        return "–"
    rounded = round(float(value), places)
    if rounded == 0:
        rounded = 0.0  # no "−0"
    text = f"{abs(rounded):,.{places}f}"
    sign = MINUS if rounded < 0 else ("+" if signed and rounded > 0 else "")
    if language == Language.PERSIAN:
        text = localise_digits(text.replace(",", "٬").replace(".", "٫"), language)
        if sign:
            # Isolated left-to-right, or right-to-left text would put the sign after the digits.
            return f"{LRI}{sign}{text}{PDI}"
    return sign + text


def plus_minus(value: float | None, language: str) -> str:
    """A margin of error: "±12", isolated in Persian like a signed number."""
    if value is None:
        return ""
    text = "±" + number(value, language)
    return f"{LRI}{text}{PDI}" if language == Language.PERSIAN else text


def percent(value: float | None, language: str, *, places: int = 0) -> str:
    if value is None:
        return "–"
    return number(value, language, places=places) + ("٪" if language == Language.PERSIAN else "%")


def duration(value: timedelta | None, language: str) -> str:
    """A time to first contact or resolution, rounded to what a reader needs: "45 min", "5 h", "3 d"."""
    if value is None:
        return "–"
    minutes = max(round(value.total_seconds() / 60), 0)
    if minutes < 60:
        amount, unit = minutes, ("دقیقه" if language == Language.PERSIAN else "min")
    elif minutes < 48 * 60:
        amount, unit = round(minutes / 60), ("ساعت" if language == Language.PERSIAN else "h")
    else:
        amount, unit = round(minutes / 1440), ("روز" if language == Language.PERSIAN else "d")
    return f"{number(amount, language)} {unit}"
