"""The suppression list: addresses that must never be sent a survey again.

Addresses get here three ways: staff add them, a customer unsubscribes (the link and the
one-click List-Unsubscribe header in every survey), or the email provider reports a bounce,
complaint or unsubscribe through its tracking webhook (django-anymail's `tracking` signal).
"""

import hashlib
import logging
from datetime import datetime
from typing import Any

from anymail.signals import AnymailTrackingEvent, EventType
from django.db import IntegrityError, transaction
from django.utils import timezone

from surveys import phones
from surveys.models import Channel, Customer, Invitation, Shop, Suppression

log = logging.getLogger(__name__)


def normalise_address(channel: str, address: str, *, region: str = "") -> str:
    """An email in lower case; a phone number in E.164, read in `region` if it has no country code
    (a number that cannot be read stays as typed: it matches only itself)."""
    address = address.strip()
    return address.lower() if channel == Channel.EMAIL else phones.normal_or_as_typed(address, region)


def suppress(shop: Shop, *, channel: str, address: str, reason: str, detail: str = "") -> Suppression:
    """Put an address on the shop's list; the first reason recorded stays."""
    address = normalise_address(channel, address, region=phones.region_of(shop))
    lookup = {"shop": shop, "channel": channel, "address": address}
    try:
        with transaction.atomic():
            suppression, _ = Suppression.objects.get_or_create(
                **lookup, defaults={"reason": reason, "detail": detail[:500]}
            )
    except IntegrityError:
        # The same address was suppressed a moment ago (a double click, a webhook retry).
        suppression = Suppression.objects.get(**lookup)
    return suppression


MARKER_PREFIX = "sha256:"


def address_marker(shop_id: int, channel: str, address: str) -> str:
    """What the list keeps instead of an erased customer's address: a one-way hash that
    recognises the address when it comes again (in a new order) but cannot be read back."""
    digest = hashlib.sha256(f"{shop_id}:{channel}:{normalise_address(channel, address)}".encode()).hexdigest()
    return MARKER_PREFIX + digest


def is_suppressed(shop: Shop, *, channel: str, address: str) -> bool:
    return bool(suppressed_among({(shop.pk, channel, normalise_address(channel, address))}))


def suppressed_among(triples: set[tuple[int, str, str]]) -> dict[tuple[int, str, str], str]:
    """Which of these (shop id, channel, address) triples are suppressed, each with its reason,
    in one query a shop and channel. An address kept only as its marker counts too."""
    wanted: dict[tuple[int, str], dict[str, tuple[int, str, str]]] = {}
    for triple in triples:
        shop_id, channel, address = triple
        if address:
            group = wanted.setdefault((shop_id, channel), {})
            group[address] = triple
            group[address_marker(shop_id, channel, address)] = triple
    found: dict[tuple[int, str, str], str] = {}
    for (shop_id, channel), group in wanted.items():
        for address, reason in Suppression.objects.filter(
            shop_id=shop_id, channel=channel, address__in=list(group)
        ).values_list("address", "reason"):
            found.setdefault(group[address], reason)
    return found


def unsubscribe(invitation: Invitation, *, now: datetime | None = None) -> Suppression:
    """Stop surveying the invitation's customer at its shop, whatever state the invitation is in.

    Side effects: suppresses the customer's address on the invitation's channel; cancels
    their scheduled invitations at the shop (reason "unsubscribed"); drops pending
    reminders of surveys already sent. The sent surveys themselves stay answerable.
    """
    now = now or timezone.now()
    customer = invitation.customer
    address = customer.address_for(invitation.channel)
    with transaction.atomic():
        suppression = suppress(
            invitation.shop, channel=invitation.channel, address=address, reason=Suppression.Reason.UNSUBSCRIBED
        )
        _stop_surveying(invitation.shop, customer, reason="unsubscribed", now=now)
    return suppression


def stop_texting(shop: Shop, phone: str, *, detail: str, now: datetime | None = None) -> Suppression:
    """A customer replied to stop the shop's texts: their number goes on its list and their
    scheduled surveys there are cancelled (emails too: they asked not to be surveyed)."""
    now = now or timezone.now()
    with transaction.atomic():
        suppression = suppress(
            shop, channel=Channel.SMS, address=phone, reason=Suppression.Reason.UNSUBSCRIBED, detail=detail
        )
        for customer in Customer.objects.filter(shop=shop, phone=suppression.address):
            _stop_surveying(shop, customer, reason="unsubscribed by a reply to a survey text", now=now)
    return suppression


def _stop_surveying(shop: Shop, customer: Customer, *, reason: str, now: datetime) -> None:
    invitations = Invitation.objects.filter(shop=shop, customer=customer)
    invitations.filter(status=Invitation.Status.SCHEDULED).update(
        status=Invitation.Status.CANCELLED, closed_at=now, reason=reason
    )
    invitations.filter(status__in=[Invitation.Status.SENT, Invitation.Status.OPENED], reminded_at__isnull=True).update(
        remind_at=None
    )


# --- Provider tracking ------------------------------------------------------------------

# What each of the provider's events means for the address. Other events (delivered,
# opened, deferred: a soft failure the provider retries) change nothing here.
_SUPPRESSING_EVENTS = {
    EventType.BOUNCED: Suppression.Reason.BOUNCED,
    EventType.REJECTED: Suppression.Reason.BOUNCED,
    EventType.COMPLAINED: Suppression.Reason.COMPLAINED,
    EventType.UNSUBSCRIBED: Suppression.Reason.UNSUBSCRIBED,
}
_UNDELIVERED = {EventType.BOUNCED, EventType.REJECTED}


def record_provider_event(
    *, event_type: str, recipient: str, invitation_id: str = "", detail: str = "", now: datetime | None = None
) -> Suppression | None:
    """Suppress the address a provider reports bounced, rejected, complained or unsubscribed.

    The invitation comes from the metadata the survey email carried (`invitation_id`);
    a provider that does not echo it is matched on the latest survey sent to `recipient`,
    so only the shop that sent it suppresses the address. Returns None when the event
    changes nothing or matches no survey of ours.
    Side effects: suppresses the address at that shop; marks a bounced or rejected
    invitation bounced; cancels the customer's scheduled invitations there.
    """
    reason = _SUPPRESSING_EVENTS.get(event_type)
    if reason is None:
        return None
    now = now or timezone.now()
    recipient = normalise_address(Channel.EMAIL, recipient)
    invitation = _invitation_for_event(invitation_id=invitation_id, recipient=recipient)
    if invitation is None:
        # Not the address: the log must not carry customers' personal data.
        log.info("%s event matches no survey (invitation %r); ignored", event_type, invitation_id or None)
        return None
    address = recipient or invitation.customer.email
    if invitation.customer.anonymised_at is not None:
        # A report arriving after the customer was erased must not bring their address back.
        address, detail = address_marker(invitation.shop_id, Channel.EMAIL, address), event_type
    with transaction.atomic():
        suppression = suppress(
            invitation.shop, channel=Channel.EMAIL, address=address, reason=reason, detail=detail or event_type
        )
        if event_type in _UNDELIVERED:
            Invitation.objects.filter(
                pk=invitation.pk, status__in=[Invitation.Status.SENDING, Invitation.Status.SENT]
            ).update(status=Invitation.Status.BOUNCED, closed_at=now, reason=(detail or event_type)[:500])
        _stop_surveying(invitation.shop, invitation.customer, reason=f"email {reason}", now=now)
    return suppression


def _invitation_for_event(*, invitation_id: str, recipient: str) -> Invitation | None:
    invitations = Invitation.objects.select_related("shop", "customer").filter(channel=Channel.EMAIL)
    if invitation_id.isdigit():
        invitation = invitations.filter(pk=int(invitation_id)).first()
        # Metadata names the survey, but the recipient decides the address: they differ
        # only if the customer's email changed since, and then the reported one is suppressed.
        if invitation is not None:
            return invitation
    if not recipient:
        return None
    return invitations.filter(customer__email=recipient, sent_at__isnull=False).order_by("-sent_at", "-pk").first()


def on_provider_tracking(sender: object, event: AnymailTrackingEvent, esp_name: str, **kwargs: Any) -> None:
    """Receiver for anymail's `tracking` signal (connected in SurveysConfig.ready)."""
    if _is_soft_bounce(event, esp_name):
        return
    metadata = event.metadata or {}
    detail = " ".join(part for part in (esp_name, event.event_type, event.description or "") if part)
    record_provider_event(
        event_type=event.event_type,
        recipient=event.recipient or "",
        invitation_id=str(metadata.get("invitation", "")),
        detail=detail,
    )


def _is_soft_bounce(event: AnymailTrackingEvent, esp_name: str) -> bool:
    # Postmark reports a full or briefly unreachable mailbox as a "SoftBounce", which anymail
    # calls bounced like a hard one; the next survey may well arrive, so it suppresses nothing.
    esp_event = event.esp_event
    return esp_name == "Postmark" and isinstance(esp_event, dict) and esp_event.get("Type") == "SoftBounce"
