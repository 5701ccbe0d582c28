"""The survey email: HTML and plain text in the customer's language, with one-click unsubscribe.

Templates are chosen per language (`emails/invitation.fa.html`, else `emails/invitation.html`),
so a translator edits whole sentences in their own direction rather than fragments.
"""

import functools
from dataclasses import dataclass
from email.utils import parseaddr

from anymail.message import AnymailMessage
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend
from django.template.loader import select_template
from django.urls import reverse
from django.utils import translation

from config import mail
from surveys.branding import brand_colours
from surveys.localise import localise_digits, text_direction
from surveys.models import Invitation, Language

ONE_CLICK = "List-Unsubscribe=One-Click"


@dataclass(frozen=True)
class ScoreButton:
    score: int
    label: str  # The digit as the customer reads it: ۷ in Persian, 7 in English.
    url: str


def answer_url(token: str, *, score: int | None = None) -> str:
    # The score only preselects an answer on the page: mail scanners open every link.
    url = settings.PUBLIC_URL + reverse("answer", kwargs={"token": token})
    return f"{url}?score={score}" if score is not None else url


def unsubscribe_url(token: str) -> str:
    return settings.PUBLIC_URL + reverse("unsubscribe", kwargs={"token": token})


def email_language(invitation: Invitation) -> str:
    language = invitation.customer.language or invitation.shop.default_language
    return language if language in Language.values else Language.ENGLISH


def build_invitation_email(
    invitation: Invitation,
    *,
    token: str,
    reminder: bool = False,
    connection: BaseEmailBackend | None = None,
) -> EmailMultiAlternatives:
    """The survey (or its reminder) for `invitation`, its links carrying `token`."""
    shop, customer = invitation.shop, invitation.customer
    language = email_language(invitation)
    unsubscribe = unsubscribe_url(token)
    url = answer_url(token)
    context: dict[str, object] = {
        "shop": shop,
        "shop_name": shop.display_name,
        "customer": customer,
        "order": invitation.order,
        "order_number": invitation.order.display_number,
        "reminder": reminder,
        "language": language,
        "direction": text_direction(language),
        **brand_colours(shop),
        "url": url,
        # The link once, the score appended: this runs for every email of a sweep.
        "scores": [
            ScoreButton(score, localise_digits(str(score), language), f"{url}?score={score}") for score in range(11)
        ],
        "unsubscribe_url": unsubscribe,
        # First-strong isolate and its end: keep a Latin order number or name whole inside
        # right-to-left plain text, where <bdi> is not available.
        "fsi": "\u2068",
        "pdi": "\u2069",
    }
    with translation.override(language):
        subject = _render("invitation_subject", "txt", language, context)
        text = _render("invitation", "txt", language, context)
        html = _render("invitation", "html", language, context)
    message = mail.message(
        AnymailMessage,
        subject,  # one line whatever the template's whitespace
        text,
        from_email=_from_address(shop.display_name),
        to=[customer.email],
        reply_to=[shop.support_email] if shop.support_email else None,
        connection=connection,
        headers={
            **_message_id(invitation, reminder=reminder),
            "X-Bazgasht-Invitation": str(invitation.pk),
            "List-Unsubscribe": _list_unsubscribe(unsubscribe),
            # RFC 8058: the mail client POSTs this body to the https link, no page visit needed.
            "List-Unsubscribe-Post": ONE_CLICK,
        },
        # Providers echo metadata in their bounce and complaint webhooks (see suppressions.py).
        metadata={"invitation": str(invitation.pk)},
    )
    message.attach_alternative(html, "text/html")
    return message


def _render(name: str, extension: str, language: str, context: dict[str, object]) -> str:
    template = select_template([f"emails/{name}.{language}.{extension}", f"emails/{name}.{extension}"])
    return template.render(context)


def _message_id(invitation: Invitation, *, reminder: bool) -> dict[str, str]:
    """The same Message-ID every time this invitation is sent, so a copy sent again after
    a crash is the same message, which mail providers show once. Reminders get their own."""
    if reminder or not invitation.token_nonce:
        return {}
    _, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    domain = address.rpartition("@")[2] or "bazgasht.invalid"
    return {"Message-ID": f"<invitation.{invitation.pk}.{invitation.token_nonce[:16]}@{domain}>"}


def _list_unsubscribe(url: str) -> str:
    links = [f"<{url}>"]
    if settings.UNSUBSCRIBE_MAILTO:
        links.append(f"<mailto:{settings.UNSUBSCRIBE_MAILTO}?subject=unsubscribe>")
    return ", ".join(links)


def _from_address(shop_name: str) -> str:
    return _shop_from_address(shop_name, settings.DEFAULT_FROM_EMAIL)


@functools.lru_cache(maxsize=256)
def _shop_from_address(shop_name: str, default_from: str) -> str:
    # The customer knows the shop, not Bazgasht: its name goes on the configured address.
    return mail.named_address(shop_name, default_from)
