import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from surveys.errors import DomainError
from surveys.models import ApiKey, Customer, Invitation, Order, Shop, Survey
from surveys.tokens import hash_token, new_token

log = logging.getLogger(__name__)

# A claimed invitation whose worker vanished is retried after this long.
CLAIM_LEASE = timedelta(minutes=10)
MAX_SEND_ATTEMPTS = 5


class InvalidOrder(DomainError):
    """The order cannot be recorded."""

    status_code = 422


# --- API keys ------------------------------------------------------------------------


def create_api_key(shop: Shop, *, name: str) -> tuple[ApiKey, str]:
    """A new key for `shop`; the clear key is returned once and never stored."""
    raw = f"bz_{new_token()}"
    key = ApiKey.objects.create(shop=shop, name=name, prefix=raw[:10], key_hash=hash_token(raw))
    return key, raw


def shop_for_api_key(raw: str) -> Shop | None:
    key = ApiKey.objects.select_related("shop").filter(key_hash=hash_token(raw), revoked_at__isnull=True).first()
    if key is None:
        return None
    now = timezone.now()
    # One write a minute at most, not one per request.
    if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key.shop


# --- Orders in ---------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerDetails:
    email: str = ""
    phone: str = ""
    name: str = ""
    language: str = ""


def record_order(
    shop: Shop,
    *,
    external_id: str,
    customer: CustomerDetails,
    total: Decimal,
    currency: str,
    placed_at: datetime,
    fulfilled_at: datetime | None = None,
) -> tuple[Order, bool]:
    """Store an order once and schedule its surveys; return (order, created).

    The same external id again returns the stored order untouched, so a retried
    request or a re-delivered webhook never surveys anyone twice.
    Side effects: may create the customer; creates one scheduled Invitation per
    active survey whose trigger has happened.
    """
    if timezone.is_naive(placed_at) or (fulfilled_at is not None and timezone.is_naive(fulfilled_at)):
        raise InvalidOrder("times must include a UTC offset, for example 2026-10-21T14:30:00+03:30")
    if total < 0:
        raise InvalidOrder("total cannot be negative")
    for _attempt in range(2):
        existing = Order.objects.filter(shop=shop, external_id=external_id).first()
        if existing is not None:
            return existing, False
        try:
            with transaction.atomic():
                order = Order.objects.create(
                    shop=shop,
                    customer=_find_or_create_customer(shop, customer),
                    external_id=external_id,
                    total=total,
                    currency=currency.upper(),
                    placed_at=placed_at,
                    fulfilled_at=fulfilled_at,
                )
                schedule_invitations(order)
        except IntegrityError:
            # A concurrent request stored the same order (or customer) a moment ago:
            # look again, and find it this time.
            continue
        return order, True
    raise InvalidOrder("the order could not be stored; please retry")


def _find_or_create_customer(shop: Shop, details: CustomerDetails) -> Customer:
    email = details.email.strip().lower()
    phone = details.phone.strip()
    lookup = Q(email=email) if email else Q(phone=phone) if phone else None
    customer = Customer.objects.filter(lookup, shop=shop).first() if lookup is not None else None
    if customer is None:
        customer = Customer.objects.create(
            shop=shop,
            email=email,
            phone=phone,
            name=details.name.strip(),
            language=details.language or shop.default_language,
        )
    elif details.name and not customer.name:
        customer.name = details.name.strip()
        customer.save(update_fields=["name"])
    return customer


def schedule_invitations(order: Order, *, now: datetime | None = None) -> list[Invitation]:
    """Create the invitations this order's triggers call for (none twice)."""
    now = now or timezone.now()
    customer = order.customer
    if not customer.email or customer.unsubscribed_at is not None:
        return []
    created = []
    for survey in Survey.objects.filter(shop=order.shop, is_active=True):
        trigger_time = order.placed_at if survey.trigger == Survey.Trigger.PURCHASE else order.fulfilled_at
        if trigger_time is None:
            continue
        send_at = trigger_time + survey.delay
        if send_at + survey.valid_for <= now:
            continue  # A historical order: the survey would arrive already closed.
        invitation, was_created = Invitation.objects.get_or_create(
            order=order,
            survey=survey,
            defaults={"shop": order.shop, "customer": customer, "send_at": max(send_at, now)},
        )
        if was_created:
            created.append(invitation)
    return created


# --- Surveys out -------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimedInvitation:
    invitation: Invitation
    token: str  # The link token in clear: it lives only until the email is sent.


def _due(now: datetime) -> Q:
    # Scheduled rows whose time has come, and claims whose worker vanished.
    return Q(status=Invitation.Status.SCHEDULED, send_at__lte=now) | Q(
        status=Invitation.Status.SENDING, claimed_at__lt=now - CLAIM_LEASE
    )


def claim_due_invitations(*, now: datetime, limit: int) -> list[ClaimedInvitation]:
    """Take up to `limit` due invitations for sending, each with a fresh link token.

    Each row goes to exactly one caller: rows another sweep holds are skipped
    (SKIP LOCKED on PostgreSQL; SQLite lets one writer in at a time). The token's
    hash and the expiry are stored with the claim, so the link works the moment
    the email lands.
    """
    with transaction.atomic():
        invitations = list(
            Invitation.objects.filter(_due(now))
            .select_related("shop", "customer", "order", "survey")
            .order_by("send_at")
            # Lock the invitation rows only, not the shops and customers joined in.
            .select_for_update(skip_locked=True, of=("self",))[:limit]
        )
        claimed = []
        for invitation in invitations:
            token = new_token()
            invitation.status = Invitation.Status.SENDING
            invitation.claimed_at = now
            invitation.attempts += 1
            invitation.token_hash = hash_token(token)
            invitation.expires_at = now + invitation.survey.valid_for
            claimed.append(ClaimedInvitation(invitation, token))
        Invitation.objects.bulk_update(
            invitations, ["status", "claimed_at", "attempts", "token_hash", "expires_at"], batch_size=500
        )
    return claimed


def send_due_invitations(*, now: datetime | None = None, limit: int = 500) -> int:
    """Claim up to `limit` due invitations and send them over one SMTP connection.

    Returns how many were claimed. Safe to run in several workers at once. When the
    SMTP server cannot be reached, the claimed rows go back with a backoff and the
    error is raised for the task to log.
    """
    now = now or timezone.now()
    claimed = claim_due_invitations(now=now, limit=limit)
    if not claimed:
        return 0
    connection = get_connection()
    try:
        connection.open()
    except (smtplib.SMTPException, OSError) as error:
        for item in claimed:
            _retry_later(item.invitation, error=error, now=now)
        raise
    try:
        for item in claimed:
            send_invitation(item.invitation, token=item.token, connection=connection, now=now)
    finally:
        connection.close()
    return len(claimed)


def send_invitation(invitation: Invitation, *, token: str, connection: BaseEmailBackend, now: datetime) -> None:
    """Email a claimed invitation.

    Side effects: marks the row sent; on an SMTP error puts it back with a backoff,
    or marks it failed when retrying cannot help (a refused address, too many tries).
    """
    customer = invitation.customer
    if customer.unsubscribed_at is not None or not customer.email:
        _finish(invitation, status=Invitation.Status.CANCELLED, error="customer cannot be emailed")
        return
    try:
        build_invitation_email(invitation, token=token, connection=connection).send()
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as error:
        _finish(invitation, status=Invitation.Status.FAILED, error=f"rejected: {error}")
    except (smtplib.SMTPException, OSError) as error:
        _retry_later(invitation, error=error, now=now)
    else:
        Invitation.objects.filter(pk=invitation.pk, status=Invitation.Status.SENDING).update(
            status=Invitation.Status.SENT, sent_at=timezone.now(), last_error=""
        )


def _retry_later(invitation: Invitation, *, error: Exception, now: datetime) -> None:
    log.warning("invitation %s not sent (attempt %s): %s", invitation.pk, invitation.attempts, error)
    if invitation.attempts >= MAX_SEND_ATTEMPTS:
        _finish(invitation, status=Invitation.Status.FAILED, error=f"gave up: {error}")
        return
    Invitation.objects.filter(pk=invitation.pk).update(
        status=Invitation.Status.SCHEDULED,
        send_at=now + timedelta(minutes=2**invitation.attempts),
        last_error=str(error)[:500],
    )


def _finish(invitation: Invitation, *, status: str, error: str) -> None:
    Invitation.objects.filter(pk=invitation.pk).update(status=status, last_error=error[:500])


def answer_url(token: str, *, score: int | None = None) -> str:
    url = settings.PUBLIC_URL + reverse("answer", kwargs={"token": token})
    return f"{url}?score={score}" if score is not None else url


def build_invitation_email(
    invitation: Invitation, *, token: str, connection: BaseEmailBackend | None = None
) -> EmailMultiAlternatives:
    shop = invitation.shop
    context = {
        "shop": shop,
        "customer": invitation.customer,
        "order": invitation.order,
        "url": answer_url(token),
        "score_urls": [(score, answer_url(token, score=score)) for score in range(11)],
    }
    with translation.override(invitation.customer.language):
        subject = render_to_string("emails/invitation_subject.txt", context).strip()
        text = render_to_string("emails/invitation.txt", context)
        html = render_to_string("emails/invitation.html", context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        to=[invitation.customer.email],
        connection=connection,
        headers={"X-Bazgasht-Invitation": str(invitation.pk)},
    )
    message.attach_alternative(html, "text/html")
    return message
