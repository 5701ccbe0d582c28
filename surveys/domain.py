import hashlib
import logging
import smtplib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from surveys.errors import DomainError
from surveys.models import ApiKey, Channel, Customer, Invitation, Order, OrderLine, Shop, Survey
from surveys.suppressions import is_suppressed, suppressed_among
from surveys.tokens import hash_token, new_token

log = logging.getLogger(__name__)

# A claimed invitation whose worker vanished is retried after this long.
CLAIM_LEASE = timedelta(minutes=10)
MAX_SEND_ATTEMPTS = 5
# The longest throttle a shop can set (Shop.throttle_days).
MAX_THROTTLE_DAYS = 365
SUPPRESSED_REASON = "the address is on the suppression list (unsubscribed, bounced or complained)"


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


@dataclass(frozen=True)
class OrderLineDetails:
    sku: str = ""
    product_name: str = ""
    quantity: int = 1
    unit_price: Decimal | None = None


def record_order(
    shop: Shop,
    *,
    external_id: str,
    customer: CustomerDetails,
    total: Decimal,
    currency: str,
    placed_at: datetime,
    fulfilled_at: datetime | None = None,
    delivered_at: datetime | None = None,
    cancelled_at: datetime | None = None,
    lines: Sequence[OrderLineDetails] = (),
    source: str = Order.Source.API,
    schedule: bool = True,
) -> tuple[Order, bool]:
    """Store an order once and schedule its surveys; return (order, created).

    The same external id again returns the stored order untouched, so a retried
    request or a re-delivered webhook never surveys anyone twice. `schedule=False`
    stores a historical order without surveying anyone.
    Side effects: may create the customer; creates the order's lines and the
    invitations its surveys call for (see schedule_invitations).
    """
    times = (placed_at, fulfilled_at, delivered_at, cancelled_at)
    if any(time is not None and timezone.is_naive(time) for time in times):
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
                    delivered_at=delivered_at,
                    cancelled_at=cancelled_at,
                    source=source,
                )
                OrderLine.objects.bulk_create(
                    OrderLine(
                        order=order,
                        sku=line.sku,
                        product_name=line.product_name,
                        quantity=line.quantity,
                        unit_price=line.unit_price,
                    )
                    for line in lines
                )
                if schedule:
                    schedule_invitations(order)
        except IntegrityError:
            # A concurrent request stored the same order (or customer) a moment ago:
            # look again, and find it this time.
            continue
        return order, True
    raise InvalidOrder("the order could not be stored; please retry")


def update_order(
    order: Order,
    *,
    fulfilled_at: datetime | None = None,
    delivered_at: datetime | None = None,
    cancelled_at: datetime | None = None,
    reason: str = "",
) -> Order:
    """Record what happened to an order since it was placed. Safe to repeat.

    The first time given for each event stays. Side effects: a fulfilment or
    delivery schedules the surveys waiting for it (a delivery moves a survey already
    scheduled from the fulfilment); a cancellation or refund cancels scheduled ones.
    """
    times = (fulfilled_at, delivered_at, cancelled_at)
    if any(time is not None and timezone.is_naive(time) for time in times):
        raise InvalidOrder("times must include a UTC offset, for example 2026-10-21T14:30:00+03:30")
    changed = []
    for field, value in (
        ("fulfilled_at", fulfilled_at),
        ("delivered_at", delivered_at),
        ("cancelled_at", cancelled_at),
    ):
        if value is not None and getattr(order, field) is None:
            setattr(order, field, value)
            changed.append(field)
    if not changed:
        return order
    with transaction.atomic():
        order.save(update_fields=changed)
        if order.cancelled_at is not None:
            cancel_invitations(order, reason=reason or "the order was cancelled")
        else:
            if "delivered_at" in changed:
                _move_to_delivery(order)
            schedule_invitations(order)
    return order


def cancel_invitations(order: Order, *, reason: str, now: datetime | None = None) -> int:
    return Invitation.objects.filter(order=order, status=Invitation.Status.SCHEDULED).update(
        status=Invitation.Status.CANCELLED, closed_at=now or timezone.now(), reason=reason[:500]
    )


def _move_to_delivery(order: Order) -> None:
    # A survey waiting since the fulfilment now counts from the delivery.
    assert order.delivered_at is not None
    waiting = Invitation.objects.filter(
        order=order, status=Invitation.Status.SCHEDULED, survey__trigger=Survey.Trigger.FULFILMENT
    ).select_related("survey")
    for invitation in waiting:
        invitation.send_at = next_sending_time(order.shop, order.delivered_at + invitation.survey.delay)
        invitation.save(update_fields=["send_at"])


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


# --- The rules: who is surveyed, and when -------------------------------------------


def next_sending_time(shop: Shop, at: datetime) -> datetime:
    """`at`, or the start of the shop's next sending window if `at` falls outside it."""
    local = at.astimezone(shop.tz)
    if shop.send_from_hour <= local.hour < shop.send_until_hour:
        return at
    day = local.date() if local.hour < shop.send_from_hour else local.date() + timedelta(days=1)
    opening = datetime.combine(day, time(shop.send_from_hour), tzinfo=shop.tz)
    return opening.astimezone(UTC)


def contact_channel(customer: Customer) -> str | None:
    """How this customer can be surveyed, if at all: email first, SMS where the shop allows it."""
    if customer.email:
        return Channel.EMAIL
    if customer.phone and customer.shop.sms_enabled:
        return Channel.SMS
    return None


def address_for(customer: Customer, channel: str) -> str:
    return customer.email if channel == Channel.EMAIL else customer.phone


def survey_wants(survey: Survey, order: Order) -> bool:
    """The survey's filters: order total, products, first-time or repeat customer, sampling."""
    if survey.min_order_total is not None and order.total < survey.min_order_total:
        return False
    if survey.include_skus or survey.exclude_skus:
        skus = {line.sku for line in order.lines.all()}
        if survey.include_skus and not skus & survey.included_skus:
            return False
        if skus & survey.excluded_skus:
            return False
    if survey.customers != Survey.Customers.ALL:
        is_repeat = (
            Order.objects.filter(customer_id=order.customer_id, placed_at__lt=order.placed_at)
            .exclude(pk=order.pk)
            .exists()
        )
        if is_repeat != (survey.customers == Survey.Customers.REPEAT):
            return False
    return in_sample(survey, order)


def in_sample(survey: Survey, order: Order) -> bool:
    # Decided by the ids, not by chance: a re-delivered order gets the same answer.
    digest = hashlib.sha256(f"{survey.pk}:{order.pk}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100 < survey.sample_percent


def trigger_time(survey: Survey, order: Order) -> datetime | None:
    if survey.trigger == Survey.Trigger.PURCHASE:
        return order.placed_at
    return order.delivered_at or order.fulfilled_at


def schedule_invitations(order: Order, *, now: datetime | None = None) -> list[Invitation]:
    """Create the invitations this order's surveys call for (none twice).

    An order that is cancelled, or whose customer cannot be contacted, is not
    surveyed. A suppressed address, or a customer already surveyed within the
    shop's throttle, gets a row marked suppressed or throttled, so the shop can see
    why no survey went out.
    """
    now = now or timezone.now()
    shop = order.shop
    customer = order.customer
    channel = contact_channel(customer)
    if order.cancelled_at is not None or channel is None:
        return []
    suppressed = is_suppressed(shop, channel=channel, address=address_for(customer, channel))
    created = []
    for survey in Survey.objects.filter(shop=shop, is_active=True).order_by("pk"):
        triggered_at = trigger_time(survey, order)
        if triggered_at is None:
            continue
        send_at = next_sending_time(shop, triggered_at + survey.delay)
        if send_at + survey.valid_for <= now:
            continue  # A historical order: the survey would arrive already closed.
        if not survey_wants(survey, order):
            continue
        send_at = max(send_at, next_sending_time(shop, now))
        defaults: dict[str, object] = {"shop": shop, "customer": customer, "channel": channel, "send_at": send_at}
        surveyed_on = _surveyed_within_throttle(customer, around=send_at)
        if suppressed:
            defaults |= {"status": Invitation.Status.SUPPRESSED, "closed_at": now, "reason": SUPPRESSED_REASON}
        elif surveyed_on is not None:
            defaults |= {
                "status": Invitation.Status.THROTTLED,
                "closed_at": now,
                "reason": _throttle_reason(shop, surveyed_on),
            }
        invitation, was_created = Invitation.objects.get_or_create(order=order, survey=survey, defaults=defaults)
        if was_created:
            created.append(invitation)
    return created


# Invitations that count against the throttle: everything not stopped before sending.
_COUNTS_FOR_THROTTLE = [
    Invitation.Status.SCHEDULED,
    Invitation.Status.SENDING,
    Invitation.Status.SENT,
    Invitation.Status.OPENED,
    Invitation.Status.ANSWERED,
    Invitation.Status.EXPIRED,
]


def _surveyed_within_throttle(customer: Customer, *, around: datetime) -> datetime | None:
    """When this customer was (or is due to be) surveyed within the throttle window of `around`."""
    window = timedelta(days=customer.shop.throttle_days)
    other = (
        Invitation.objects.filter(customer=customer, status__in=_COUNTS_FOR_THROTTLE)
        .annotate(surveyed_at=Coalesce("sent_at", "send_at"))
        .filter(surveyed_at__gt=around - window, surveyed_at__lt=around + window)
        .order_by("surveyed_at")
        .values_list("surveyed_at", flat=True)
        .first()
    )
    return other


def _throttle_reason(shop: Shop, surveyed_on: datetime) -> str:
    day = surveyed_on.astimezone(shop.tz).date().isoformat()
    return f"already surveyed around {day}; at most one survey per {shop.throttle_days} days"


# --- Surveys out -------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimedInvitation:
    invitation: Invitation
    token: str  # The link token in clear: it lives only until the message is sent.


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
    the message lands.
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
            token = new_token(short=invitation.channel == Channel.SMS)
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
    """Claim up to `limit` due invitations and send them (email over one SMTP connection).

    Returns how many were claimed. Safe to run in several workers at once. Before
    sending, each is checked again: a cancelled order, a suppressed address or a
    customer surveyed within the throttle closes it instead. When the SMTP server
    cannot be reached, the claimed emails go back with a backoff and the error is
    raised for the task to log.
    """
    now = now or timezone.now()
    claimed = claim_due_invitations(now=now, limit=limit)
    if not claimed:
        return 0
    sendable = _check_before_sending(claimed, now=now)
    emails = [item for item in sendable if item.invitation.channel == Channel.EMAIL]
    for item in sendable:
        if item.invitation.channel == Channel.SMS:
            _send_sms(item, now=now)
    if emails:
        _send_emails(emails, now=now)
    return len(claimed)


def _check_before_sending(claimed: list[ClaimedInvitation], *, now: datetime) -> list[ClaimedInvitation]:
    """The rules once more at send time, for the whole batch in two queries."""
    suppressed = suppressed_among(
        {
            (
                item.invitation.shop_id,
                item.invitation.channel,
                address_for(item.invitation.customer, item.invitation.channel),
            )
            for item in claimed
        }
    )
    batch_ids = [item.invitation.pk for item in claimed]
    last_sent = dict(
        Invitation.objects.filter(
            customer_id__in={item.invitation.customer_id for item in claimed},
            sent_at__gt=now - timedelta(days=MAX_THROTTLE_DAYS),
        )
        .exclude(pk__in=batch_ids)
        .values("customer_id")
        .annotate(last=Max("sent_at"))
        .values_list("customer_id", "last")
    )
    sendable = []
    for item in claimed:
        invitation = item.invitation
        shop, customer = invitation.shop, invitation.customer
        address = address_for(customer, invitation.channel)
        surveyed_on = last_sent.get(customer.pk)
        if invitation.order.cancelled_at is not None:
            _close(invitation, Invitation.Status.CANCELLED, "the order was cancelled", now=now)
        elif not address:
            _close(
                invitation, Invitation.Status.CANCELLED, f"the customer has no {invitation.channel} address", now=now
            )
        elif (invitation.shop_id, invitation.channel, address) in suppressed:
            _close(invitation, Invitation.Status.SUPPRESSED, SUPPRESSED_REASON, now=now)
        elif surveyed_on is not None and surveyed_on > now - timedelta(days=shop.throttle_days):
            _close(invitation, Invitation.Status.THROTTLED, _throttle_reason(shop, surveyed_on), now=now)
        else:
            # A second invitation for the same customer later in this batch is throttled by this one.
            last_sent[customer.pk] = now
            sendable.append(item)
    return sendable


def _send_emails(items: list[ClaimedInvitation], *, now: datetime) -> None:
    connection = get_connection()
    try:
        connection.open()
    except (smtplib.SMTPException, OSError) as error:
        for item in items:
            _retry_later(item.invitation, error=error, now=now)
        raise
    try:
        for item in items:
            send_invitation(item.invitation, token=item.token, connection=connection, now=now)
    finally:
        connection.close()


def send_invitation(invitation: Invitation, *, token: str, connection: BaseEmailBackend, now: datetime) -> None:
    """Email a claimed invitation.

    Side effects: marks the row sent; on an SMTP error puts it back with a backoff,
    or marks it failed when retrying cannot help (a refused address, too many tries).
    """
    try:
        build_invitation_email(invitation, token=token, connection=connection).send()
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as error:
        _close(invitation, Invitation.Status.FAILED, f"rejected: {error}", now=now)
    except (smtplib.SMTPException, OSError) as error:
        _retry_later(invitation, error=error, now=now)
    else:
        _mark_sent(invitation)


def _send_sms(item: ClaimedInvitation, *, now: datetime) -> None:
    from surveys import sms

    invitation = item.invitation
    try:
        text = sms.build_invitation_sms(invitation, url=answer_url(item.token))
        sms.get_gateway().send(to=invitation.customer.phone, text=text)
    except sms.SmsRejected as error:
        _close(invitation, Invitation.Status.FAILED, f"rejected: {error}", now=now)
    except sms.SmsUnavailable as error:
        _retry_later(invitation, error=error, now=now)
    else:
        _mark_sent(invitation)


def _mark_sent(invitation: Invitation) -> None:
    sent_at = timezone.now()
    reminder = invitation.survey.reminder_after
    Invitation.objects.filter(pk=invitation.pk, status=Invitation.Status.SENDING).update(
        status=Invitation.Status.SENT,
        sent_at=sent_at,
        remind_at=sent_at + reminder if reminder else None,
        reason="",
    )


def _retry_later(invitation: Invitation, *, error: Exception, now: datetime) -> None:
    log.warning("invitation %s not sent (attempt %s): %s", invitation.pk, invitation.attempts, error)
    if invitation.attempts >= MAX_SEND_ATTEMPTS:
        _close(invitation, Invitation.Status.FAILED, f"gave up: {error}", now=now)
        return
    Invitation.objects.filter(pk=invitation.pk).update(
        status=Invitation.Status.SCHEDULED,
        send_at=next_sending_time(invitation.shop, now + timedelta(minutes=2**invitation.attempts)),
        reason=str(error)[:500],
    )


def _close(invitation: Invitation, status: str, reason: str, *, now: datetime) -> None:
    Invitation.objects.filter(pk=invitation.pk).update(status=status, closed_at=now, reason=reason[:500])


# --- Reminders and expiry ----------------------------------------------------------


def send_due_reminders(*, now: datetime | None = None, limit: int = 500) -> int:
    """Send the one reminder each unopened, unanswered invitation may get.

    A reminder is claimed by stamping `reminded_at` before sending, so it goes out
    at most once; one lost to a crash is not retried (better silent than twice).
    """
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            Invitation.objects.filter(
                status=Invitation.Status.SENT,
                reminded_at__isnull=True,
                remind_at__lte=now,
                expires_at__gt=now,
            )
            .select_related("shop", "customer", "order", "survey")
            .order_by("remind_at")
            .select_for_update(skip_locked=True, of=("self",))[:limit]
        )
        claimed = []
        for invitation in due:
            token = new_token(short=invitation.channel == Channel.SMS)
            invitation.reminded_at = now
            invitation.reminder_token_hash = hash_token(token)
            claimed.append(ClaimedInvitation(invitation, token))
        Invitation.objects.bulk_update(due, ["reminded_at", "reminder_token_hash"], batch_size=500)
    sendable = [
        item
        for item in claimed
        if item.invitation.channel == Channel.EMAIL
        and not is_suppressed(item.invitation.shop, channel=Channel.EMAIL, address=item.invitation.customer.email)
    ]
    if sendable:
        connection = get_connection()
        with connection:
            for item in sendable:
                try:
                    build_invitation_email(
                        item.invitation, token=item.token, reminder=True, connection=connection
                    ).send()
                except (smtplib.SMTPException, OSError) as error:
                    log.warning("reminder for invitation %s not sent: %s", item.invitation.pk, error)
    return len(claimed)


def expire_invitations(*, now: datetime | None = None) -> int:
    """Close the invitations whose link has expired unanswered."""
    now = now or timezone.now()
    return Invitation.objects.filter(
        status__in=[Invitation.Status.SENT, Invitation.Status.OPENED], expires_at__lte=now
    ).update(status=Invitation.Status.EXPIRED, closed_at=now, reason="no answer before the link expired")


def answer_url(token: str, *, score: int | None = None) -> str:
    url = settings.PUBLIC_URL + reverse("answer", kwargs={"token": token})
    return f"{url}?score={score}" if score is not None else url


def build_invitation_email(
    invitation: Invitation, *, token: str, reminder: bool = False, connection: BaseEmailBackend | None = None
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
