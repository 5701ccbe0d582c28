"""Numbers, dates, durations, percentages and time zones as people read them: in Persian with
Persian digits, the Jalali calendar and words for units; in English as an English reader expects.
The customer pages and emails use it, and the staff pages through the filters of
surveys/templatetags/localise.py."""

from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal

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


# --- For the staff pages: short dates, numbers, durations, zones -----------------------------

_ENGLISH_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# Left-to-right isolation: a signed number or a zone like "UTC+03:30" stays in one piece in Persian.
LRI, PDI = "\u2066", "\u2069"


def format_number(value: float | int | Decimal | None, language: str, *, places: int = 0) -> str:
    """1234.5 → "1,234.50" (places=2) or "۱٬۲۳۴٫۵۰"; None → "–"."""
    if value is None:
        return "–"
    text = f"{float(value):,.{places}f}"
    if language == Language.PERSIAN:
        return localise_digits(text.replace(",", "٬").replace(".", "٫"), language)
    return text


def format_percent(value: float | int | Decimal | None, language: str, *, places: int = 0) -> str:
    """12.4 → "12%" or "۱۲٪"."""
    if value is None:
        return "–"
    return format_number(value, language, places=places) + ("٪" if language == Language.PERSIAN else "%")


_UNITS = {
    # unit: (English one, English many, English short, Persian)
    "minute": ("minute", "minutes", "min", "دقیقه"),
    "hour": ("hour", "hours", "h", "ساعت"),
    "day": ("day", "days", "d", "روز"),
}


def format_duration(delta: timedelta, language: str, *, short: bool = False) -> str:
    """A span the way an agent says it, rounded down to one unit: "25 minutes", "2 hours",
    "3 days" (short: "25 min", "2 h", "3 d"); in Persian always in words: "۳ روز"."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    if minutes < 60:
        amount, unit = max(minutes, 1), "minute"
    elif minutes < 48 * 60:
        amount, unit = minutes // 60, "hour"
    else:
        amount, unit = minutes // (24 * 60), "day"
    one, many, abbreviated, persian = _UNITS[unit]
    if language == Language.PERSIAN:
        return f"{localise_digits(str(amount), language)} {persian}"
    return f"{amount} {abbreviated if short else one if amount == 1 else many}"


def format_day(moment: date | datetime, language: str, *, tz: tzinfo | None = None) -> str:
    """A day: "7 Dec 2026", or "۱۶ آذر ۱۴۰۵" (Jalali) in Persian."""
    day = moment.astimezone(tz).date() if isinstance(moment, datetime) else moment
    if language == Language.PERSIAN:
        jalali = jdatetime.date.fromgregorian(date=day)
        month = jdatetime.date.j_months_fa[jalali.month - 1]
        return localise_digits(f"{jalali.day} {month} {jalali.year}", language)
    return f"{day.day} {_ENGLISH_MONTHS[day.month - 1]} {day.year}"


def format_moment(moment: datetime, language: str, *, tz: tzinfo, year: bool = True, weekday: bool = False) -> str:
    """A day and time in a list: "Mon 7 Dec 2026, 14:30", or "دوشنبه ۱۶ آذر ۱۴۰۵، ۱۴:۳۰" in Persian."""
    local = moment.astimezone(tz)
    if language == Language.PERSIAN:
        jalali = jdatetime.date.fromgregorian(date=local.date())
        parts = [jdatetime.date.j_weekdays_fa[jalali.weekday()]] if weekday else []
        parts += [str(jalali.day), jdatetime.date.j_months_fa[jalali.month - 1]] + ([str(jalali.year)] if year else [])
        return localise_digits(f"{' '.join(parts)}، {local:%H:%M}", language)
    parts = [_ENGLISH_DAYS[local.weekday()]] if weekday else []
    parts += [str(local.day), _ENGLISH_MONTHS[local.month - 1]] + ([str(local.year)] if year else [])
    return f"{' '.join(parts)}, {local:%H:%M}"


# The zones an Iranian shop and its customers meet; any other says its city, or its offset.
_CITIES_FA = {
    "Tehran": "تهران",
    "Kabul": "کابل",
    "Dubai": "دبی",
    "Istanbul": "استانبول",
    "Baghdad": "بغداد",
    "Baku": "باکو",
    "Yerevan": "ایروان",
    "Dushanbe": "دوشنبه",
    "Muscat": "مسقط",
    "Berlin": "برلین",
    "London": "لندن",
    "Paris": "پاریس",
    "Toronto": "تورنتو",
    "New_York": "نیویورک",
    "Los_Angeles": "لس‌آنجلس",
}


def zone_name(zone: str, language: str) -> str:
    """A time zone as people name it: "Asia/Tehran" → "Tehran time", "وقت تهران"; "UTC" → "UTC"."""
    if zone in ("UTC", "Etc/UTC", "GMT"):
        return "UTC" if language != Language.PERSIAN else "وقت هماهنگ جهانی (UTC)"
    city = zone.rsplit("/", 1)[-1]
    if language == Language.PERSIAN:
        return f"وقت {_CITIES_FA.get(city, city.replace('_', ' '))}"
    return f"{city.replace('_', ' ')} time"


# --- For the dashboard: signed numbers, means of durations, months in either calendar ----------

MINUS = "\u2212"
_GREGORIAN_MONTHS_FA = (
    "ژانویه", "فوریه", "مارس", "آوریل", "مه", "ژوئن", "ژوئیه", "اوت", "سپتامبر", "اکتبر", "نوامبر", "دسامبر",
)  # fmt: skip


def format_signed(value: int, language: str) -> str:
    """A change or an NPS with its sign, said once: "+34", "−12", "0"; in Persian "‎+۳۴" kept in
    one piece (isolated left to right, so the sign stays before the number in a Persian line)."""
    text = f"+{value}" if value > 0 else f"{MINUS}{-value}" if value < 0 else "0"
    if language == Language.PERSIAN:
        return f"{LRI}{localise_digits(text, language)}{PDI}" if value else localise_digits(text, language)
    return text


def format_mean_duration(delta: timedelta, language: str) -> str:
    """A mean time, as precise as it is worth: "40 min", "5.5 h", "3.2 days"; "۵٫۵ ساعت" in Persian."""
    minutes = delta.total_seconds() / 60
    if minutes < 60:
        amount, unit = format_number(max(minutes, 1), language), "minute"
    elif minutes < 48 * 60:
        amount, unit = format_number(minutes / 60, language, places=1), "hour"
    else:
        amount, unit = format_number(minutes / (24 * 60), language, places=1), "day"
    _one, many, abbreviated, persian = _UNITS[unit]
    if language == Language.PERSIAN:
        return f"{amount} {persian}"
    return f"{amount} {many if unit == 'day' else abbreviated}"


def calendar_parts(day: date, language: str, *, jalali: bool) -> tuple[str, str, str]:
    """A day's day, month name and year in a calendar, for a sentence: ("4", "Azar", "1405"),
    ("۴", "آذر", "۱۴۰۵"), ("25", "Nov", "2026") or ("۲۵", "نوامبر", "۲۰۲۶")."""
    persian = language == Language.PERSIAN
    if jalali:
        found = jdatetime.date.fromgregorian(date=day)
        names = jdatetime.date.j_months_fa if persian else jdatetime.date.j_months_en
        parts = (str(found.day), names[found.month - 1], str(found.year))
    else:
        names = _GREGORIAN_MONTHS_FA if persian else _ENGLISH_MONTHS
        parts = (str(day.day), names[day.month - 1], str(day.year))
    return localise_digits(parts[0], language), parts[1], localise_digits(parts[2], language)
