"""Numbers and dates as the customer reads them: Persian digits and the Jalali calendar in Persian."""

from datetime import datetime, tzinfo

import jdatetime

from surveys.models import Language

RTL_LANGUAGES = {Language.PERSIAN}
_PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
_ENGLISH_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def localise_digits(text: str, language: str) -> str:
    return text.translate(_PERSIAN_DIGITS) if language == Language.PERSIAN else text


def text_direction(language: str) -> str:
    return "rtl" if language in RTL_LANGUAGES else "ltr"


def format_datetime(moment: datetime, language: str, *, tz: tzinfo) -> str:
    """A day and time for a sentence: "25 Nov 2026, 14:30", or "۴ آذر ۱۴۰۵، ساعت ۱۴:۳۰" in Persian."""
    local = moment.astimezone(tz)
    if language == Language.PERSIAN:
        jalali = jdatetime.datetime.fromgregorian(datetime=local)
        month = jdatetime.date.j_months_fa[jalali.month - 1]
        return localise_digits(f"{jalali.day} {month} {jalali.year}، ساعت {local:%H:%M}", language)
    return f"{local.day} {_ENGLISH_MONTHS[local.month - 1]} {local.year}, {local:%H:%M}"


def format_deadline(moment: datetime, language: str, *, tz: tzinfo) -> str:
    """format_datetime with its time zone said, for a time someone must act by: "9 Dec 2026,
    15:20 (UTC+03:30)", or "… (به وقت UTC+۰۳:۳۰)" in Persian. A customer abroad would read
    the shop's 15:20 as their own otherwise."""
    offset = moment.astimezone(tz).strftime("%z")  # "+0330"
    zone = f"UTC{offset[:3]}:{offset[3:]}"
    if language == Language.PERSIAN:
        # Isolated, so the right-to-left sentence keeps "UTC+03:30" in one piece and in order.
        return f"{format_datetime(moment, language, tz=tz)} (به وقت \u2068{localise_digits(zone, language)}\u2069)"
    return f"{format_datetime(moment, language, tz=tz)} ({zone})"
