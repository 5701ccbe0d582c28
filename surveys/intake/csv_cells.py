"""Reading a CSV file's cells: each parser returns the value or raises ValueError saying, in the
shop manager's words, what is wrong (Persian digits and thousands separators are read too)."""

import re
from datetime import datetime, tzinfo
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone

from surveys import phones
from surveys.models import Language

# Persian and Arabic-Indic digits, and the Arabic decimal and thousands separators.
_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩٫٬", "01234567890123456789.,")
# "1234.50" or "1,234.50"; a lone comma ("12,50") is refused rather than guessed at.
_NUMBER = re.compile(r"^-?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$")
CURRENCY_CODE = re.compile(r"^[A-Za-z]{3}$")
_MAX_AMOUNT = Decimal("1e12")  # Order.total has 14 digits, 2 of them after the point.


# --- Cells: each parser returns the value or raises ValueError saying what is wrong ---


def text_cell(value: str, *, max_length: int) -> str:
    if len(value) > max_length:
        raise ValueError(f"longer than {max_length} characters")
    return value


def email_cell(value: str) -> str:
    if len(value) > 254:
        raise ValueError("longer than 254 characters")
    try:
        validate_email(value)
    except ValidationError:
        raise ValueError(f"{value!r} is not an email address") from None
    return value.lower()


def phone_cell(value: str) -> str:
    # Read into E.164, in the shop's region, as the order is recorded (surveys.phones).
    if len(value) > phones.MAX_TYPED_LENGTH:
        raise ValueError(f"{value[: phones.MAX_TYPED_LENGTH]!r}… is too long for a phone number")
    return value


def country_cell(value: str) -> str:
    # Only for reading phone numbers without a country code: a code ("IR"); a country's name
    # ("Iran") is not guessed at and not an error either.
    return value.upper() if len(value) == 2 and value.isascii() and value.isalpha() else ""


def language_cell(value: str) -> str:
    language = value.lower()
    if language not in Language.values:
        raise ValueError(f"{value!r} is not one of {', '.join(Language.values)}")
    return language


def currency_cell(value: str) -> str:
    if not CURRENCY_CODE.match(value):
        raise ValueError(f"{value!r} is not a 3-letter currency code such as EUR or IRR")
    return value.upper()


def amount_cell(value: str) -> Decimal:
    number = value.translate(_DIGITS).replace(" ", "")
    if not _NUMBER.match(number):
        raise ValueError(f"{value!r} is not a number (write it like 1234.50 or 1,234.50)")
    amount = Decimal(number.replace(",", ""))
    if amount < 0:
        raise ValueError(f"{value!r} is negative")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError(f"{value!r} has more than 2 decimal places")
    if amount >= _MAX_AMOUNT:
        raise ValueError(f"{value!r} is too large")
    return amount


def quantity_cell(value: str) -> int:
    number = value.translate(_DIGITS)
    if not number.isascii() or not number.isdigit() or not 1 <= int(number) <= 1_000_000:
        raise ValueError(f"{value!r} is not a whole number from 1 to 1,000,000")
    return int(number)


def time_cell(value: str, *, tz: tzinfo) -> datetime:
    """ISO 8601; without an offset (or a plain date, read as midnight) it is shop time."""
    text = value.translate(_DIGITS)
    moment: datetime | None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = shopify_time(text)
    if moment is None:
        raise ValueError(f"{value!r} is not a date or time (write it like 2026-10-21T14:30:00+03:30 or 2026-10-21)")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, tz)
    return moment


def shopify_time(text: str) -> datetime | None:
    """Shopify's export writes "2026-10-21 14:30:00 +0330" (a space before the offset)."""
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S %z")
    except ValueError:
        return None
