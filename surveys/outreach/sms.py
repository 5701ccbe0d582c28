"""SMS: the invitation text, its segment count, and the gateways that send it.

Many shops (most Iranian ones) know only a customer's mobile number. The sending code
talks to an `SmsGateway`; which one is a setting (`SMS_BACKEND`), so development prints
messages and production hands them to Kavenegar.

A gateway tells two failures apart, because they call for different handling:
`SmsRejected` (this message to this number will never go: retrying is useless) and
`SmsUnavailable` (the provider or our account cannot send right now: retry later).
"""

from __future__ import annotations

import json
import logging
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import TYPE_CHECKING, Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from surveys.models import Invitation

logger = logging.getLogger(__name__)


class SmsError(Exception):
    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        # The provider's own code, kept for the log and the invitation's reason.
        self.status = status


class SmsRejected(SmsError):
    """The provider refused this message for good (an invalid number, an unusable text)."""


class SmsUnavailable(SmsError):
    """The provider could not take the message now (timeout, outage, account problem)."""


class SmsTooLong(ValueError):
    """No wording of the invitation fits one SMS segment with this link."""


class SmsGateway(Protocol):
    def send(self, *, to: str, text: str) -> str:
        """Send `text` to the number `to`; return the provider's message id."""
        ...


# --- Segments -------------------------------------------------------------------------

# GSM 03.38: the characters every phone can show in 7 bits. Anything else (Persian, emoji,
# curly quotes) switches the whole message to UCS-2, which holds 70 characters, not 160.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Reached through an escape character, so each costs two septets.
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


def is_gsm7(text: str) -> bool:
    return all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text)


def sms_segments(text: str) -> int:
    """How many SMS parts the text costs (each part is billed as one message).

    A multi-part message loses room in every part to the header that joins the parts
    (153 septets or 67 UCS-2 units), and phones never split an escape sequence or a
    surrogate pair across two parts, so the parts are packed character by character.
    """
    if not text:
        return 0
    if is_gsm7(text):
        units = [2 if char in GSM7_EXTENSION else 1 for char in text]
        single, part = GSM7_SINGLE, GSM7_PART
    else:
        # UCS-2 on the wire is UTF-16: a character outside the BMP (most emoji) takes two units.
        units = [2 if ord(char) > 0xFFFF else 1 for char in text]
        single, part = UCS2_SINGLE, UCS2_PART
    if sum(units) <= single:
        return 1
    parts, room = 1, part
    for size in units:
        if size > room:
            parts, room = parts + 1, part
        room -= size
    return parts


# --- The invitation text --------------------------------------------------------------

# Longest first; the builder takes the first that fits one segment. The order follows what
# matters most to the customer: first the shop's name goes (the link still says who asks),
# then words. Persian words are very short because Persian makes the message UCS-2, and a
# ~45-character link leaves about 25 characters of the 70.
# How to stop them, in every message: Iran's bulk senders end with "لغو۱۱" (reply 11 to
# stop); elsewhere "STOP". Replies reach take_reply through the provider's receive callback.
OPT_OUT = {"fa": "لغو۱۱", "en": "Reply STOP to opt out"}
_WORDINGS = {
    "fa": (
        "خرید از {shop} چطور بود؟ {url}",
        "خریدتان چطور بود؟ {url}",
        "نظر شما؟ {url}",
    ),
    "en": (
        "How was your order from {shop}? Tell us in a minute: {url}",
        "{shop}: how was your order? {url}",
        "How was your order? Tell us in a minute: {url}",
        "How was your order? {url}",
        "Your feedback: {url}",
    ),
}


def build_invitation_sms(invitation: Invitation, *, url: str) -> str:
    """The invitation as one SMS segment, in the customer's language, with the link last.

    Raises `SmsTooLong` when even the shortest wording does not fit with this link.
    """
    language = "fa" if invitation.customer.language == "fa" else "en"
    return invitation_sms_text(language=language, shop_name=invitation.shop.display_name, url=url)


def invitation_sms_text(*, language: str, shop_name: str, url: str) -> str:
    # A name pasted with a line break or double spaces would waste characters and look odd.
    shop = re.sub(r"\s+", " ", shop_name).strip()
    url = url.strip()
    opt_out = OPT_OUT.get(language, OPT_OUT["en"])
    for wording in _WORDINGS.get(language, _WORDINGS["en"]):
        if "{shop}" in wording and not shop:
            continue
        # The URL ends its line after a plain space: in right-to-left Persian text a Latin
        # link in the middle gets reordered by the phone and becomes hard to read. The way
        # out has the last line to itself, as bulk senders' messages end.
        text = f"{wording.format(shop=shop, url=url)}\n{opt_out}"
        if sms_segments(text) == 1:
            return text
    if sms_segments(url) > 1:
        # Not the link itself: it carries the customer's token, and this text becomes the invitation's reason.
        raise SmsTooLong(
            f"The survey link alone ({len(url)} characters) does not fit in one SMS; use a shorter PUBLIC_URL"
        )
    raise SmsTooLong(
        f"The survey link ({len(url)} characters) leaves no room for any wording in one "
        f"{'Persian' if language == 'fa' else 'English'} SMS; use a shorter PUBLIC_URL"
    )


# --- Gateways -------------------------------------------------------------------------


class ConsoleGateway:
    """Writes the message to the log instead of sending it: the default in development."""

    def send(self, *, to: str, text: str) -> str:
        message_id = f"console-{uuid.uuid4().hex[:12]}"
        # The number masked: logs outlive the customers they would name.
        logger.info("SMS to %s (%d segment(s), id %s):\n%s", masked(to), sms_segments(text), message_id, text)
        return message_id


def masked(phone: str) -> str:
    """A phone number with all but its last two digits hidden, enough to tell test numbers apart."""
    digits = sum(character.isdigit() for character in phone)
    return "…" + phone[-2:] if digits > 4 else "…"


# Kavenegar's `return.status` codes that are about our account or their service, not about
# this message: the operator can fix them (top up, register the sender line or the server's
# IP) or they pass, so the invitation should wait and retry rather than fail for good.
# Codes from Kavenegar's REST documentation (kavenegar.com/rest.html).
KAVENEGAR_RETRY_LATER = {
    401: "account deactivated",
    403: "invalid API key",
    409: "server cannot answer now",
    412: "invalid sender line",
    416: "server IP does not match the account settings",
    418: "credit is not enough",
    420: "links in messages are restricted for this account",
    427: "sender line needs activation by support",
    429: "IP restricted",
    430: "account identity not verified",
    451: "too many requests from this IP",
    501: "test account: can only send to the owner's number",
}
# Everything else below 500 refuses this message itself, for example:
# 411 invalid receptor, 413 message empty or too long, 414 too many receptors,
# 422 invalid characters, 400/406 missing parameters.


class KavenegarGateway:
    """Kavenegar (kavenegar.com), the common Iranian SMS provider, over its REST API."""

    def __init__(self, *, api_key: str, sender: str = "", base_url: str, timeout: float = 10.0) -> None:
        if not api_key:
            raise ImproperlyConfigured("SMS_API_KEY must be set for the Kavenegar SMS backend")
        self.api_key = api_key
        self.sender = sender
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def send(self, *, to: str, text: str) -> str:
        to = to.strip()
        if not to:
            raise SmsRejected("no phone number to send to")
        fields = {"receptor": to, "message": text}
        # Without a sender Kavenegar uses the account's default line.
        if self.sender:
            fields["sender"] = self.sender
        # The API key is part of the URL, so the URL never goes into an error or a log line.
        url = f"{self.base_url}/{urllib.parse.quote(self.api_key, safe='')}/sms/send.json"
        request = urllib.request.Request(  # noqa: S310 - the scheme comes from our own setting
            url,
            data=urllib.parse.urlencode(fields).encode(),
            headers={"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310
                http_status, body = answer.status, answer.read()
        except urllib.error.HTTPError as error:
            # Kavenegar may put its code in the HTTP status as well as in the body; read the body.
            http_status, body = error.code, error.read()
            error.close()
        except TimeoutError as error:
            raise SmsUnavailable(f"Kavenegar did not answer within {self.timeout:g}s") from error
        except urllib.error.URLError as error:
            raise SmsUnavailable(f"Kavenegar could not be reached: {error.reason}") from error
        except OSError as error:
            raise SmsUnavailable(f"Kavenegar connection failed: {error}") from error
        return self._message_id(http_status, body)

    def _message_id(self, http_status: int, body: bytes) -> str:
        try:
            answer = json.loads(body)
            status = int(answer["return"]["status"])
            message = str(answer["return"].get("message", ""))
        except (ValueError, TypeError, KeyError) as error:
            # A proxy's error page or a half-sent answer: nothing says the message was refused.
            raise SmsUnavailable(f"Kavenegar answered HTTP {http_status} without its JSON status") from error
        if status == 200:
            try:
                return str(answer["entries"][0]["messageid"])
            except (KeyError, IndexError, TypeError) as error:
                raise SmsUnavailable("Kavenegar accepted the message but returned no message id") from error
        reason = f"Kavenegar {status}: {message or KAVENEGAR_RETRY_LATER.get(status, 'refused')}"
        if status in KAVENEGAR_RETRY_LATER or status >= 500:
            raise SmsUnavailable(reason, status=status)
        raise SmsRejected(reason, status=status)


SMS_BACKENDS = ("console", "kavenegar")


def get_gateway() -> SmsGateway:
    """The gateway the settings name (SMS_BACKEND)."""
    backend = settings.SMS_BACKEND
    if backend == "console":
        return ConsoleGateway()
    if backend == "kavenegar":
        return KavenegarGateway(
            api_key=settings.SMS_API_KEY,
            sender=settings.SMS_SENDER,
            base_url=settings.SMS_API_BASE,
            timeout=settings.SMS_TIMEOUT,
        )
    raise ImproperlyConfigured(f"SMS_BACKEND={backend!r} is not one of {', '.join(SMS_BACKENDS)}")


# --- Replies: the way out ---------------------------------------------------------------

# What a reply to stop says, once digits are Latin, Arabic letters Persian, and spaces and
# punctuation gone: "لغو ۱۱", "11", "STOP", "Stop." and "لغو" all stop.
STOP_REPLIES = frozenset({"11", "لغو", "لغو11", "stop", "stopall", "unsubscribe", "cancel", "end", "quit", "optout"})
_TIDY = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩كي", "01234567890123456789کی")


def is_stop_reply(text: str) -> bool:
    words = re.sub(r"[\W_]+", "", text.translate(_TIDY).lower())
    return words in STOP_REPLIES


def take_reply(sender: str, text: str, *, region: str = "IR") -> int:
    """A customer's reply to a survey text: a stop puts their number on the suppression list of
    every shop that texted them (they share the sending line, so the customer cannot tell them
    apart) and cancels their scheduled surveys there; how many shops. Anything else is ignored."""
    # Here, not at the top: this module is the gateways' too, imported before the models are ready.
    from surveys import phones
    from surveys.models import Channel, Invitation, Shop
    from surveys.outreach import suppressions

    if not is_stop_reply(text):
        return 0
    number = phones.normal_or_as_typed(sender, region)
    shop_ids = set(
        Invitation.objects.filter(channel=Channel.SMS, customer__phone=number).values_list("shop_id", flat=True)
    )
    for shop in Shop.objects.filter(pk__in=shop_ids):
        suppressions.stop_texting(shop, number, detail=f"replied {text.strip()[:20]!r} to a survey text")
    return len(shop_ids)
