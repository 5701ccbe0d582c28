"""The rules: who is surveyed, by which survey, on which channel and when (the shop's sending
hours, the throttle, the surveys' filters), planned as invitations with their link."""

import hashlib
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from datetime import UTC, datetime, time, timedelta

from django.db.models import Min
from django.db.models.functions import Coalesce
from django.utils import timezone

from surveys.models import (
    Channel,
    Customer,
    Invitation,
    Order,
    OrderLine,
    Shop,
    Suppression,
    Survey,
)
from surveys.outreach.consent import contact_refusal
from surveys.outreach.suppressions import suppressed_among
from surveys.outreach.tokens import hash_token, link_token, new_nonce

# The longest throttle a shop can set (Shop.throttle_days).
MAX_THROTTLE_DAYS = 365
SUPPRESSED_REASON = "the address is on the suppression list (unsubscribed, bounced or complained)"
ERASED_REASON = "the customer's data was erased at their request; they are not surveyed again"


# --- The rules: who is surveyed, and when -------------------------------------------


def next_sending_time(shop: Shop, at: datetime) -> datetime:
    """`at`, or the start of the shop's next sending window if `at` falls outside it."""
    local = at.astimezone(shop.tz)
    if shop.send_from_hour <= local.hour < shop.send_until_hour:
        return at
    day = local.date() if local.hour < shop.send_from_hour else local.date() + timedelta(days=1)
    opening = datetime.combine(day, time(shop.send_from_hour), tzinfo=shop.tz)
    return opening.astimezone(UTC)


def contact_channel(shop: Shop, customer: Customer) -> str | None:
    """How this customer can be surveyed, if at all: email first, SMS where the shop allows it."""
    if customer.email:
        return Channel.EMAIL
    if customer.phone and shop.sms_enabled:
        return Channel.SMS
    return None


def first_order_times(customer_ids: Iterable[int]) -> dict[int, datetime]:
    """When each customer placed their first order that counts (a store's test orders do not)."""
    return dict(
        Order.objects.counted()
        .filter(customer_id__in=customer_ids)
        .values("customer_id")
        .annotate(first=Min("placed_at"))
        .values_list("customer_id", "first")
    )


def is_repeat_customer(order: Order, first_order_at: dict[int, datetime]) -> bool:
    """Whether the order's customer had placed an earlier order that counts: the rule of the
    survey filters. The database records the same on each response (the trigger of feedback
    migration 0013, for every way a response is stored); tests/feedback/test_repeat_rule.py
    checks on both databases that the two agree."""
    return first_order_at.get(order.customer_id, order.placed_at) < order.placed_at


def survey_wants(survey: Survey, order: Order, *, skus: set[str], is_repeat: bool) -> bool:
    """The survey's filters: order total, products, first-time or repeat customer, sampling."""
    if survey.min_order_total is not None and order.total < survey.min_order_total:
        return False
    if survey.include_skus and not skus & survey.included_skus:
        return False
    if survey.exclude_skus and skus & survey.excluded_skus:
        return False
    if survey.customers != Survey.Customers.ALL and is_repeat != (survey.customers == Survey.Customers.REPEAT):
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
    """Create the invitations this order's surveys call for (none twice); see plan_invitations."""
    return plan_invitations(order.shop, [order], now=now)


# Invitations that count against the throttle: everything not stopped before sending.
_COUNTS_FOR_THROTTLE = [
    Invitation.Status.SCHEDULED,
    Invitation.Status.SENDING,
    Invitation.Status.SENT,
    Invitation.Status.OPENED,
    Invitation.Status.ANSWERED,
    Invitation.Status.EXPIRED,
]


def plan_invitations(
    shop: Shop,
    orders: Sequence[Order],
    *,
    lines_of: dict[int, list[OrderLine]] | None = None,
    fresh: bool = False,
    new_customer_ids: AbstractSet[int] = frozenset(),
    now: datetime | None = None,
) -> list[Invitation]:
    """Create the invitations these orders' surveys call for, none twice, in a few queries.

    An order that is cancelled or a test, or whose customer cannot be contacted, is not
    surveyed; nor is one a survey's filters leave out. A suppressed address, or a
    customer already surveyed within the shop's throttle (across all its surveys),
    gets a row marked suppressed or throttled, so the shop can see why no survey
    went out. `lines_of`, `fresh` (no invitations exist yet) and `new_customer_ids`
    (customers created with these orders, never surveyed) save queries for orders just stored.
    """
    now = now or timezone.now()
    surveys = list(Survey.objects.filter(shop=shop, is_active=True, purpose=Survey.Purpose.ORDER).order_by("pk"))
    reachable = [
        (order, channel)
        for order in orders
        if order.cancelled_at is None
        and not order.is_test
        and (channel := contact_channel(shop, order.customer)) is not None
    ]
    if not surveys or not reachable:
        return []
    if lines_of is None and any(survey.include_skus or survey.exclude_skus for survey in surveys):
        lines_of = {}
        for line in OrderLine.objects.filter(order__in=[order for order, _ in reachable]):
            lines_of.setdefault(line.order_id, []).append(line)
    customer_ids = {order.customer_id for order, _ in reachable}
    first_order_at: dict[int, datetime] = {}
    if any(survey.customers != Survey.Customers.ALL for survey in surveys):
        first_order_at = first_order_times(customer_ids)
    planned_already: set[tuple[int, int]] = set()
    if not fresh:
        planned_already = set(
            Invitation.objects.filter(order__in=[order for order, _ in reachable]).values_list("order_id", "survey_id")
        )

    wanted = []  # (send_at, order, survey, channel)
    earliest_now = next_sending_time(shop, now)
    for order, channel in reachable:
        skus = {line.sku for line in (lines_of or {}).get(order.pk, [])}
        is_repeat = is_repeat_customer(order, first_order_at)
        for survey in surveys:
            triggered_at = trigger_time(survey, order)
            if triggered_at is None or (order.pk, survey.pk) in planned_already:
                continue
            send_at = next_sending_time(shop, triggered_at + survey.delay)
            if send_at + survey.valid_for <= now:
                continue  # A historical order: the survey would arrive already closed.
            if survey_wants(survey, order, skus=skus, is_repeat=is_repeat):
                wanted.append((max(send_at, earliest_now), order, survey, channel))
    if not wanted:
        return []

    suppressed = suppressed_among(
        {(shop.pk, channel, order.customer.address_for(channel)) for _, order, _, channel in wanted}
    )
    window = timedelta(days=shop.throttle_days)
    surveyed: dict[int, list[datetime]] = {}
    send_times = [send_at for send_at, *_ in wanted]
    for customer_id, surveyed_at in (
        Invitation.objects.filter(customer_id__in=customer_ids - new_customer_ids, status__in=_COUNTS_FOR_THROTTLE)
        .annotate(surveyed_at=Coalesce("sent_at", "send_at"))
        .filter(surveyed_at__gt=min(send_times) - window, surveyed_at__lt=max(send_times) + window)
        .values_list("customer_id", "surveyed_at")
    ):
        surveyed.setdefault(customer_id, []).append(surveyed_at)

    invitations = []
    for send_at, order, survey, channel in sorted(wanted, key=lambda item: (item[0], item[1].pk, item[2].pk)):
        invitation = Invitation(
            shop=shop, customer=order.customer, order=order, survey=survey, channel=channel, send_at=send_at
        )
        give_link(invitation)
        near = [at for at in surveyed.get(order.customer_id, []) if abs(at - send_at) < window]
        if refusal := refusal_of(shop, order.customer, channel, suppressed):
            invitation.status, invitation.closed_at, invitation.reason = (Invitation.Status.SUPPRESSED, now, refusal)
        elif near:
            invitation.status, invitation.closed_at, invitation.reason = (
                Invitation.Status.THROTTLED,
                now,
                throttle_reason(shop, min(near)),
            )
        else:
            surveyed.setdefault(order.customer_id, []).append(send_at)
        invitations.append(invitation)
    # Orders just stored have no invitations to collide with; for the others a
    # concurrent update may have planned the same ones a moment ago.
    return Invitation.objects.bulk_create(invitations, batch_size=1000, ignore_conflicts=not fresh)


def throttle_reason(shop: Shop, surveyed_on: datetime) -> str:
    day = surveyed_on.astimezone(shop.tz).date().isoformat()
    return f"already surveyed around {day}; at most one survey per {shop.throttle_days} days"


def schedule_survey(
    survey: Survey, order: Order, *, send_at: datetime, now: datetime | None = None
) -> Invitation | None:
    """One invitation outside the order rules (a recovery survey after a case): in the shop's
    sending hours, never twice for the same order, never to a suppressed address. None if
    the customer cannot be contacted."""
    now = now or timezone.now()
    shop = survey.shop
    channel = contact_channel(shop, order.customer)
    if channel is None:
        return None
    existing = Invitation.objects.filter(order=order, survey=survey).first()
    if existing is not None:
        return existing
    invitation = Invitation(
        shop=shop,
        customer=order.customer,
        order=order,
        survey=survey,
        channel=channel,
        send_at=max(next_sending_time(shop, send_at), next_sending_time(shop, now)),
    )
    give_link(invitation)
    suppressed = suppressed_among({(shop.pk, channel, order.customer.address_for(channel))})
    if refusal := refusal_of(shop, order.customer, channel, suppressed):
        invitation.status, invitation.closed_at, invitation.reason = (Invitation.Status.SUPPRESSED, now, refusal)
    invitation.save()
    return invitation


def give_link(invitation: Invitation) -> None:
    invitation.token_nonce = new_nonce()
    invitation.token_hash = hash_token(link_of(invitation))


def link_of(invitation: Invitation) -> str:
    # An SMS link must fit one segment beside its words.
    return link_token(invitation.token_nonce, short=invitation.channel == Channel.SMS)


def refusal_of(shop: Shop, customer: Customer, channel: str, suppressed: dict[tuple[int, str, str], str]) -> str:
    """Why this customer may not be contacted on this channel, or "": the suppression list
    (as `suppressed_among` found it), then consent."""
    reason = suppressed.get((shop.pk, channel, customer.address_for(channel)))
    if reason is not None:
        return ERASED_REASON if reason == Suppression.Reason.ERASED else SUPPRESSED_REASON
    return contact_refusal(shop, customer)
