"""Phone numbers in one form, E.164 ("+989121234567"), however they were written.

"+98 912 123 4567", "09121234567", "۰۹۱۲۱۲۳۴۵۶۷" and "0098 912 123 4567" are one number: stored
as typed they made two customers, both surveyed, and an erased customer's number came back in
another spelling. Every way in (API, webhooks, CSV, the admin, SMS callbacks) stores the normal
form, and every lookup (throttle, suppression, erasure, export) compares it.

A number written without its country code is read in the shop's region: the one the shop sets,
else the country of its time zone (Asia/Tehran: Iran).
"""

import functools
import importlib.resources
from typing import Protocol

import phonenumbers

# Longer than any E.164 number (15 digits and "+"): what a phone field may hold as typed.
MAX_TYPED_LENGTH = 32


class InvalidPhone(ValueError):
    """The text is not a phone number that can be read."""


class HasRegion(Protocol):
    phone_region: str
    timezone: str


def known_region(code: str) -> str:
    """`code` ("us", "IR") as a region the phone rules know, or ""."""
    code = code.strip().upper()
    return code if code in phonenumbers.SUPPORTED_REGIONS else ""


def region_of(shop: HasRegion) -> str:
    """The country ("IR") a number without its country code is read in; "" if none is known."""
    return shop.phone_region or country_of_time_zone(shop.timezone)


@functools.cache
def _countries_by_time_zone() -> dict[str, str]:
    # tzdata's zone.tab: "IR	+3540+05126	Asia/Tehran", one line a zone, comments with "#".
    table = importlib.resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text(encoding="utf-8")
    rows = (line.split("\t") for line in table.splitlines() if line and not line.startswith("#"))
    return {row[2]: row[0] for row in rows if len(row) >= 3}


def country_of_time_zone(time_zone: str) -> str:
    return _countries_by_time_zone().get(time_zone, "")


def normalise(typed: str, region: str) -> str:
    """`typed` in E.164; "" for an empty one. Persian and Arabic digits are read as digits.

    Raises InvalidPhone for text that is not a number in use by its country's numbering plan
    (Google's libphonenumber data: too short or long, an unallocated range, letters), or that
    has no country code and no region to read it in.
    """
    text = typed.strip()
    if not text:
        return ""
    if len(text) > MAX_TYPED_LENGTH:
        raise InvalidPhone(f"{text[:MAX_TYPED_LENGTH]!r}… is too long for a phone number")
    try:
        number = phonenumbers.parse(text, region.upper() or None)
    except phonenumbers.NumberParseException as error:
        if error.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE and text.startswith("+"):
            raise InvalidPhone(f"{text!r} starts with a country code that does not exist") from None
        if error.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
            raise InvalidPhone(
                f"{text!r} has no country code: write it as +98 912 123 4567, or set the shop's phone region"
            ) from None
        raise InvalidPhone(f"{text!r} is not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        where = phonenumbers.region_code_for_country_code(number.country_code or 0)
        raise InvalidPhone(f"{text!r} is not a phone number in use in {where} (+{number.country_code})")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normal_or_as_typed(typed: str, region: str) -> str:
    """For looking a number up: its normal form, or the text itself if it cannot be read (it then
    matches only the same text, as before, and never raises)."""
    try:
        return normalise(typed, region)
    except InvalidPhone:
        return typed.strip()
