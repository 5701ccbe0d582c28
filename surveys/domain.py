import hashlib
import logging
import re
import smtplib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.core.mail import get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F, Max, Min, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from config import mail
from config.database import record_done
from surveys import phones
from surveys.consent import contact_refusal, is_newer
from surveys.emails import answer_url, build_invitation_email
from surveys.errors import DomainError
from surveys.models import (
    ApiKey,
    ApiScope,
    Channel,
    Customer,
    Invitation,
    Order,
    OrderLine,
    Shop,
    Suppression,
    Survey,
    default_api_scopes,
)
from surveys.suppressions import suppressed_among
from surveys.tokens import hash_token, link_token, new_nonce, new_token

log = logging.getLogger(__name__)

# A claimed invitation whose worker vanished is retried after this long.
CLAIM_LEASE = timedelta(minutes=10)
MAX_SEND_ATTEMPTS = 5
# The longest throttle a shop can set (Shop.throttle_days).
MAX_THROTTLE_DAYS = 365
SUPPRESSED_REASON = "the address is on the suppression list (unsubscribed, bounced or complained)"
ERASED_REASON = "the customer's data was erased at their request; they are not surveyed again"


class InvalidOrder(DomainError):
    """The order cannot be recorded."""

    status_code = 422


# --- API keys ------------------------------------------------------------------------

# How precisely an API key's last use is recorded: one write a minute at most, not one a request.
API_KEY_USE_RESOLUTION = timedelta(minutes=1)


def create_api_key(shop: Shop, *, name: str, scopes: Sequence[str] | None = None) -> tuple[ApiKey, str]:
    """A new key for `shop` (read and write unless `scopes` says otherwise); the clear key is
    returned once and never stored."""
    raw = f"bz_{new_token()}"
    chosen = list(scopes) if scopes is not None else default_api_scopes()
    unknown = set(chosen) - set(ApiScope.values)
    if unknown:
        raise ValueError(f"unknown API scopes: {', '.join(sorted(unknown))}")
    key = ApiKey.objects.create(shop=shop, name=name, prefix=raw[:10], key_hash=hash_token(raw), scopes=chosen)
    return key, raw


def shop_for_api_key(raw: str) -> Shop | None:
    key = api_key_for(raw)
    return key.shop if key is not None else None


def api_key_for(raw: str) -> ApiKey | None:
    """The live (unrevoked) key, with its shop, for a raw API key, noting when it was last used.

    One indexed read per request; `last_used_at` is written at most once a minute per key (a
    conditional UPDATE, so concurrent requests do not all write), not once per request.
    """
    key = ApiKey.objects.select_related("shop").filter(key_hash=hash_token(raw), revoked_at__isnull=True).first()
    if key is None:
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > API_KEY_USE_RESOLUTION:
        stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - API_KEY_USE_RESOLUTION)
        ApiKey.objects.filter(stale, pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


# --- Orders in ---------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerDetails:
    email: str = ""
    phone: str = ""
    name: str = ""
    language: str = ""
    # What the customer said about being contacted (surveys.consent), if the store says;
    # without its own time it was said with the order.
    consent: str = ""
    consent_at: datetime | None = None
    # The country of the customer's address ("US"), if the store says: a phone number written
    # without its country code is read there rather than in the shop's region.
    country: str = ""

    def __post_init__(self) -> None:
        # A name is shown in pages, alerts and email headers: one line, whatever the store sent.
        object.__setattr__(self, "name", mail.one_line(self.name))


@dataclass(frozen=True)
class OrderLineDetails:
    sku: str = ""
    product_name: str = ""
    quantity: int = 1
    unit_price: Decimal | None = None


@dataclass(frozen=True)
class NewOrder:
    """An order as a shop reports it, before it is stored."""

    external_id: str
    customer: CustomerDetails
    total: Decimal
    currency: str
    placed_at: datetime
    fulfilled_at: datetime | None = None
    delivered_at: datetime | None = None
    cancelled_at: datetime | None = None
    lines: Sequence[OrderLineDetails] = ()
    # The number the customer knows, where the store has one beside its id (Order.number).
    number: str = ""
    # A store's test order: stored, never surveyed, never counted (Order.is_test).
    is_test: bool = False

    def problem(self) -> str:
        times = (self.placed_at, self.fulfilled_at, self.delivered_at, self.cancelled_at, self.customer.consent_at)
        if problem := _offset_problem(*times):
            return problem
        if self.total < 0:
            return "total cannot be negative"
        if not self.external_id:
            return "the order needs its external_id"
        if mail.has_control_characters(self.external_id) or mail.has_control_characters(self.number):
            # Refused, not cleaned: the number must match what the store sends next time.
            return "external_id and number may not contain line breaks, tabs or other control characters"
        return ""


def _offset_problem(*times: datetime | None) -> str:
    if any(time is not None and timezone.is_naive(time) for time in times):
        return "times must include a UTC offset, for example 2026-10-21T14:30:00+03:30"
    return ""


@dataclass(frozen=True)
class Recorded:
    """What became of one order: stored now, already there (`created` False), or refused."""

    order: Order | None
    created: bool = False
    error: str = ""


def record_order(
    shop: Shop, *, source: str = Order.Source.API, schedule: bool = True, **details: Any
) -> tuple[Order, bool]:
    """Store one order (see record_orders); return (order, created). Takes NewOrder's fields."""
    [result] = record_orders(shop, [NewOrder(**details)], source=source, schedule=schedule)
    if result.order is None:
        raise InvalidOrder(result.error)
    return result.order, result.created


def record_orders(
    shop: Shop,
    new_orders: Sequence[NewOrder],
    *,
    source: str = Order.Source.API,
    schedule: bool = True,
    drop_unreadable_phones: bool = False,
) -> list[Recorded]:
    """Store orders once each and schedule their surveys, in a few queries for the lot.

    Answers each order in the order given. An external id already stored (or given
    twice) returns the stored order untouched, so a retried request or a re-delivered
    webhook never surveys anyone twice; an invalid order is refused on its own.
    `schedule=False` stores historical orders without surveying anyone. Phone numbers are stored
    in E.164 (surveys.phones); one that cannot be read refuses its order, or with
    `drop_unreadable_phones` (a store's webhook, which must not be refused for it) is left out.
    Side effects: creates missing customers, the orders, their lines, and the
    invitations their surveys call for (see plan_invitations).
    """
    region = phones.region_of(shop)
    prepared = [_phone_in_one_form(new, region, drop_unreadable=drop_unreadable_phones) for new in new_orders]
    results: list[Recorded] = [Recorded(None, error=error or new.problem()) for new, error in prepared]
    valid = [(index, new) for index, (new, _) in enumerate(prepared) if not results[index].error]
    for attempt in range(2):
        try:
            with transaction.atomic():
                for index, result in _store_orders(shop, valid, source=source, schedule=schedule):
                    results[index] = result
            return results
        except IntegrityError:
            # A concurrent request stored one of these orders (or customers) a moment
            # ago: look again, and find it this time.
            if attempt:
                raise InvalidOrder("the orders could not be stored; please retry") from None
    return results


def _store_orders(
    shop: Shop, valid: list[tuple[int, NewOrder]], *, source: str, schedule: bool
) -> list[tuple[int, Recorded]]:
    existing = {
        order.external_id: order
        for order in Order.objects.filter(shop=shop, external_id__in={new.external_id for _, new in valid})
    }
    fresh: dict[str, tuple[int, NewOrder]] = {}
    for index, new in valid:
        if new.external_id not in existing:
            fresh.setdefault(new.external_id, (index, new))
    customers, new_customer_ids = _customers_for(shop, [_stated(new) for _, new in fresh.values()], source=source)
    orders = Order.objects.bulk_create(
        Order(
            shop=shop,
            customer=customer,
            external_id=new.external_id,
            number=new.number,
            total=new.total,
            currency=new.currency.upper(),
            placed_at=new.placed_at,
            fulfilled_at=new.fulfilled_at,
            delivered_at=new.delivered_at,
            cancelled_at=new.cancelled_at,
            source=source,
            is_test=new.is_test,
        )
        for (_, new), customer in zip(fresh.values(), customers, strict=True)
    )
    lines = [
        OrderLine(
            order=order,
            sku=line.sku,
            product_name=line.product_name,
            quantity=line.quantity,
            unit_price=line.unit_price,
        )
        for order, (_, new) in zip(orders, fresh.values(), strict=True)
        for line in new.lines
    ]
    OrderLine.objects.bulk_create(lines, batch_size=1000)
    if schedule:
        lines_of: dict[int, list[OrderLine]] = {}
        for line in lines:
            lines_of.setdefault(line.order_id, []).append(line)
        plan_invitations(shop, orders, lines_of=lines_of, fresh=True, new_customer_ids=new_customer_ids)
    created = {order.external_id: order for order in orders}
    first_index = {new.external_id: index for index, new in fresh.values()}
    return [
        (index, Recorded(created[new.external_id], created=True))
        if first_index.get(new.external_id) == index
        else (index, Recorded(existing.get(new.external_id) or created[new.external_id]))
        for index, new in valid
    ]


def _phone_in_one_form(new: NewOrder, region: str, *, drop_unreadable: bool) -> tuple[NewOrder, str]:
    """The order with its customer's phone in E.164, or the reason it cannot be read."""
    try:
        phone = phones.normalise(new.customer.phone, phones.known_region(new.customer.country) or region)
    except phones.InvalidPhone as error:
        if not drop_unreadable:
            return new, f"customer.phone: {error}"
        log.info("an order's phone number could not be read; stored without it")
        phone = ""
    if phone == new.customer.phone:
        return new, ""
    return replace(new, customer=replace(new.customer, phone=phone)), ""


def _stated(new: NewOrder) -> CustomerDetails:
    if new.customer.consent and new.customer.consent_at is None:
        return replace(new.customer, consent_at=new.placed_at)
    return new.customer


def _customers_for(shop: Shop, details: list[CustomerDetails], *, source: str = "") -> tuple[list[Customer], set[int]]:
    """The shop's customer for each of these details, created where missing (by email, else phone),
    and the ids of those created now. A known customer gets a missing name, and a consent
    statement newer than the one kept (`source` says where it came from)."""
    keys = [_customer_key(detail) for detail in details]
    emails = {value for kind, value in keys if kind == "email"}
    phones = {value for kind, value in keys if kind == "phone"}
    known: dict[tuple[str, str], Customer] = {}
    # Phones of email customers count too: a new customer must not take a phone already stored.
    phones |= {detail.phone.strip() for detail in details if detail.phone.strip()}
    if emails or phones:
        # The `<> ''` conditions match the partial unique indexes, so PostgreSQL can use them
        # (it cannot infer them from a long IN list) rather than scan all the shop's customers.
        by_email = Q(email__in=emails) & ~Q(email="")
        by_phone = Q(phone__in=phones) & ~Q(phone="")
        for customer in Customer.objects.filter(by_email | by_phone, shop=shop):
            if customer.email:
                known.setdefault(("email", customer.email), customer)
            if customer.phone:
                known.setdefault(("phone", customer.phone), customer)
    missing: list[Customer] = []
    changed: list[Customer] = []
    result: list[Customer] = []
    for key, detail in zip(keys, details, strict=True):
        found = known.get(key) if key[0] else None
        if found is not None:
            customer = found
            if detail.name.strip() and not customer.name:
                customer.name = detail.name.strip()
                changed.append(customer)
            if detail.consent and is_newer(detail.consent_at, customer.consent_at):
                customer.consent, customer.consent_at, customer.consent_source = (
                    detail.consent,
                    detail.consent_at,
                    source,
                )
                changed.append(customer)
        else:
            phone = detail.phone.strip()
            if phone and ("phone", phone) in known:
                # A phone shared with another customer (a family's, an office's) stays theirs;
                # this customer is known by their email.
                phone = ""
            customer = Customer(
                shop=shop,
                email=key[1] if key[0] == "email" else "",
                phone=phone,
                name=detail.name.strip(),
                language=detail.language or shop.default_language,
                consent=detail.consent,
                consent_at=detail.consent_at if detail.consent else None,
                consent_source=source if detail.consent else "",
            )
            missing.append(customer)
            if key[0]:
                known[key] = customer
            if phone:
                known[("phone", phone)] = customer
        result.append(customer)
    Customer.objects.bulk_create(missing, batch_size=1000)
    Customer.objects.bulk_update(
        list({customer.pk: customer for customer in changed if customer.pk}.values()),
        ["name", "consent", "consent_at", "consent_source"],
        batch_size=1000,
    )
    return result, {customer.pk for customer in missing}


def _customer_key(detail: CustomerDetails) -> tuple[str, str]:
    email = detail.email.strip().lower()
    if email:
        return ("email", email)
    phone = detail.phone.strip()
    return ("phone", phone) if phone else ("", "")


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
    if problem := _offset_problem(fulfilled_at, delivered_at, cancelled_at):
        raise InvalidOrder(problem)
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
    return cancel_scheduled(Invitation.objects.filter(order=order), reason=reason, now=now)


def cancel_scheduled(invitations: QuerySet[Invitation], *, reason: str, now: datetime | None = None) -> int:
    """Cancel those of `invitations` not sent yet; how many. One that went out stays as it was."""
    return invitations.filter(status=Invitation.Status.SCHEDULED).update(
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
    new_customer_ids: set[int] = frozenset(),  # type: ignore[assignment]
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
        _give_link(invitation)
        near = [at for at in surveyed.get(order.customer_id, []) if abs(at - send_at) < window]
        if refusal := _refusal(shop, order.customer, channel, suppressed):
            invitation.status, invitation.closed_at, invitation.reason = (Invitation.Status.SUPPRESSED, now, refusal)
        elif near:
            invitation.status, invitation.closed_at, invitation.reason = (
                Invitation.Status.THROTTLED,
                now,
                _throttle_reason(shop, min(near)),
            )
        else:
            surveyed.setdefault(order.customer_id, []).append(send_at)
        invitations.append(invitation)
    # Orders just stored have no invitations to collide with; for the others a
    # concurrent update may have planned the same ones a moment ago.
    return Invitation.objects.bulk_create(invitations, batch_size=1000, ignore_conflicts=not fresh)


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
    """Take up to `limit` due invitations for sending, each with its link token.

    Each row goes to exactly one caller: rows another sweep holds are skipped
    (SKIP LOCKED on PostgreSQL; SQLite lets one writer in at a time). The expiry is
    stored with the claim, so the link works the moment the message lands; a row
    claimed again (a retry, a dead worker's claim) gets the same link as before.
    One whose customer another sweep is surveying now, or surveyed within the throttle,
    is throttled instead (see _throttled_while_claiming).
    """
    with transaction.atomic():
        invitations = _lock_for_sending(Invitation.objects.filter(_due(now)).order_by("send_at"), limit=limit)
        invitations = _throttled_while_claiming(invitations, now=now)
        claimed = []
        relinked = []
        for invitation in invitations:
            if not invitation.token_nonce:  # made before links were derived, or by hand
                _give_link(invitation)
                relinked.append(invitation)
            token = _link_token(invitation)
            if hash_token(token) != invitation.token_hash:
                # SECRET_KEY changed since the link was made: the message carries the link the
                # key derives now, so that is the one that must open.
                invitation.token_hash = hash_token(token)
                relinked.append(invitation)
            invitation.status = Invitation.Status.SENDING
            invitation.claimed_at = now
            invitation.attempts += 1
            invitation.expires_at = now + invitation.survey.valid_for
            claimed.append(ClaimedInvitation(invitation, token))
        # What all rows share goes in one UPDATE a survey (bulk_update would build a CASE
        # per field and row); the link was fixed when the invitation was planned.
        for survey_id in {invitation.survey_id for invitation in invitations}:
            same_survey = [invitation for invitation in invitations if invitation.survey_id == survey_id]
            Invitation.objects.filter(pk__in=[invitation.pk for invitation in same_survey]).update(
                status=Invitation.Status.SENDING,
                claimed_at=now,
                attempts=F("attempts") + 1,
                expires_at=same_survey[0].expires_at,
            )
        Invitation.objects.bulk_update(relinked, ["token_nonce", "token_hash"], batch_size=500)
    return claimed


def _throttled_while_claiming(invitations: list[Invitation], *, now: datetime) -> list[Invitation]:
    """The invitations to claim now. One whose customer another transaction holds (a sweep's
    claim, an erasure) waits for the next round; one whose customer is being surveyed by another
    sweep, or was within the shop's throttle, is closed as throttled.

    The database decides, not two readers: the customers' rows are locked with the claim, so a
    second sweep reaching for another survey of the same customer finds the row taken and leaves
    that survey for its next round, when it sees the first one's. Without this both saw "not
    surveyed yet" and both sent. Taken rows are skipped, not waited for: an erasure locks the
    customer before their invitations, a sweep the other way round, and neither must deadlock.
    """
    customer_ids = {invitation.customer_id for invitation in invitations}
    if not customer_ids:
        return invitations
    ours = set(
        Customer.objects.select_for_update(skip_locked=True).filter(pk__in=customer_ids).values_list("pk", flat=True)
    )
    invitations = [invitation for invitation in invitations if invitation.customer_id in ours]
    surveyed: dict[int, datetime] = {}
    for customer_id, at in (
        Invitation.objects.filter(customer_id__in=ours)
        .exclude(pk__in=[invitation.pk for invitation in invitations])
        .filter(
            Q(status=Invitation.Status.SENDING, claimed_at__gte=now - CLAIM_LEASE)
            | Q(sent_at__gt=now - timedelta(days=MAX_THROTTLE_DAYS))
        )
        .annotate(at=Coalesce("sent_at", "claimed_at"))
        .values_list("customer_id", "at")
    ):
        surveyed[customer_id] = max(at, surveyed.get(customer_id, at))
    kept = []
    for invitation in invitations:
        at = surveyed.get(invitation.customer_id)
        recent = at is not None and at > now - timedelta(days=invitation.shop.throttle_days)
        if recent and invitation.survey.purpose != Survey.Purpose.RECOVERY:
            assert at is not None
            _close(invitation, Invitation.Status.THROTTLED, _throttle_reason(invitation.shop, at), now=now)
        else:
            kept.append(invitation)
    return kept


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
    _give_link(invitation)
    suppressed = suppressed_among({(shop.pk, channel, order.customer.address_for(channel))})
    if refusal := _refusal(shop, order.customer, channel, suppressed):
        invitation.status, invitation.closed_at, invitation.reason = (Invitation.Status.SUPPRESSED, now, refusal)
    invitation.save()
    return invitation


def _refusal(shop: Shop, customer: Customer, channel: str, suppressed: dict[tuple[int, str, str], str]) -> str:
    """Why this customer may not be contacted on this channel, or "": the suppression list
    (as `suppressed_among` found it), then consent."""
    reason = suppressed.get((shop.pk, channel, customer.address_for(channel)))
    if reason is not None:
        return ERASED_REASON if reason == Suppression.Reason.ERASED else SUPPRESSED_REASON
    return contact_refusal(shop, customer)


def _give_link(invitation: Invitation) -> None:
    invitation.token_nonce = new_nonce()
    invitation.token_hash = hash_token(_link_token(invitation))


def _link_token(invitation: Invitation) -> str:
    # An SMS link must fit one segment beside its words.
    return link_token(invitation.token_nonce, short=invitation.channel == Channel.SMS)


def _lock_for_sending(invitations: QuerySet[Invitation], *, limit: int) -> list[Invitation]:
    """Up to `limit` of these rows, locked for this transaction; rows another sweep holds are skipped."""
    return list(
        invitations.select_related("shop", "customer", "order", "survey")
        # Lock the invitation rows only, not the shops and customers joined in.
        .select_for_update(skip_locked=True, of=("self",))[:limit]
    )


def send_due_invitations(*, now: datetime | None = None, limit: int = 500) -> int:
    """Claim up to `limit` due invitations and send them (email over one SMTP connection).

    Returns how many were claimed. Safe to run in several workers at once. Before
    sending, each is checked again: a cancelled order, a suppressed address or a
    customer surveyed within the throttle closes it instead, and one due outside the
    shop's sending hours waits for their next opening. When the SMTP server
    cannot be reached, the claimed emails go back with a backoff and the error is
    raised for the task to log.
    """
    now = now or timezone.now()
    claimed = claim_due_invitations(now=now, limit=limit)
    if not claimed:
        return 0
    tried: set[int] = set()
    try:
        sendable = _check_before_sending(claimed, now=now)
        emails = [item for item in sendable if item.invitation.channel == Channel.EMAIL]
        for item in sendable:
            if item.invitation.channel == Channel.SMS:
                tried.add(item.invitation.pk)
                _send_sms(item, now=now)
        if emails:
            _send_emails(emails, now=now, tried=tried)
    except Exception:
        _release_untried(claimed, tried=tried)
        raise
    return len(claimed)


def _release_untried(claimed: list[ClaimedInvitation], *, tried: set[int]) -> None:
    """A batch that stopped half way (the database went away for longer than a restart) hands
    back the claims it had not tried, so the next sweep sends them rather than the lease's end.
    The one in flight stays claimed: it may have gone out."""
    untried = [item.invitation.pk for item in claimed if item.invitation.pk not in tried]
    if not untried:
        return
    try:
        released = record_done(
            lambda: Invitation.objects.filter(pk__in=untried, status=Invitation.Status.SENDING).update(
                status=Invitation.Status.SCHEDULED, claimed_at=None
            ),
            what=f"{len(untried)} unsent invitations handed back",
        )
    except DatabaseError:
        log.warning("%s claimed invitations could not be handed back; their claims lapse after the lease", len(untried))
    else:
        log.info("%s claimed invitations handed back for the next sweep", released)


def _check_before_sending(claimed: list[ClaimedInvitation], *, now: datetime) -> list[ClaimedInvitation]:
    """The rules once more at send time, for the whole batch in two queries."""
    suppressed = suppressed_among(
        {
            (
                item.invitation.shop_id,
                item.invitation.channel,
                item.invitation.customer.address_for(item.invitation.channel),
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
        address = customer.address_for(invitation.channel)
        surveyed_on = last_sent.get(customer.pk)
        if invitation.order.cancelled_at is not None:
            _close(invitation, Invitation.Status.CANCELLED, "the order was cancelled", now=now)
        elif not address:
            _close(
                invitation, Invitation.Status.CANCELLED, f"the customer has no {invitation.channel} address", now=now
            )
        elif refusal := _refusal(shop, customer, invitation.channel, suppressed):
            _close(invitation, Invitation.Status.SUPPRESSED, refusal, now=now)
        elif (
            surveyed_on is not None
            and surveyed_on > now - timedelta(days=shop.throttle_days)
            # The shop asked this customer to be asked again, after their complaint was handled.
            and invitation.survey.purpose != Survey.Purpose.RECOVERY
        ):
            _close(invitation, Invitation.Status.THROTTLED, _throttle_reason(shop, surveyed_on), now=now)
        elif (opening := next_sending_time(shop, now)) > now:
            # Due while the shop's sending hours were closed (a backlog after an outage, a claim
            # taken over after its lease): it waits for the next opening rather than waking anyone.
            Invitation.objects.filter(pk=invitation.pk).update(
                status=Invitation.Status.SCHEDULED, claimed_at=None, send_at=opening
            )
        else:
            # A second invitation for the same customer later in this batch is throttled by this one.
            last_sent[customer.pk] = now
            sendable.append(item)
    return sendable


def _send_emails(items: list[ClaimedInvitation], *, now: datetime, tried: set[int]) -> None:
    connection = get_connection()
    try:
        connection.open()
    except (smtplib.SMTPException, OSError) as error:
        for item in items:
            _retry_later(item.invitation, error=error, now=now)
        raise
    try:
        for item in items:
            tried.add(item.invitation.pk)
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
        _close(invitation, Invitation.Status.FAILED, f"rejected: {_error_text(error, invitation)}", now=now)
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
    except (sms.SmsRejected, sms.SmsTooLong) as error:
        _close(invitation, Invitation.Status.FAILED, f"rejected: {_error_text(error, invitation)}", now=now)
    except sms.SmsUnavailable as error:
        _retry_later(invitation, error=error, now=now)
    else:
        _mark_sent(invitation)


def _mark_sent(invitation: Invitation) -> None:
    """Record the send at once, row by row: a crash right after doubles one email at most.

    One plain statement, as this runs once per message: building it through the ORM
    cost more than the database did. The email is out by now: left "sending" by a dropped
    connection, the row would go out a second time once its claim lapsed (`record_done`).
    """
    sent_at = timezone.now()
    reminder = invitation.survey.reminder_after
    statement = (
        f"UPDATE {Invitation._meta.db_table} SET status = %s, sent_at = %s, remind_at = %s, reason = ''"  # noqa: S608 - the table name is ours
        " WHERE id = %s AND status = %s"
    )
    remind_at = next_sending_time(invitation.shop, sent_at + reminder) if reminder else None
    values: list[str | int | datetime | None] = [
        Invitation.Status.SENT, sent_at, remind_at, invitation.pk, Invitation.Status.SENDING
    ]  # fmt: skip

    def write() -> None:
        with connection.cursor() as cursor:
            cursor.execute(statement, values)

    record_done(write, what=f"invitation {invitation.pk} sent")


def _retry_later(invitation: Invitation, *, error: Exception, now: datetime) -> None:
    text = _error_text(error, invitation)
    log.warning("invitation %s not sent (attempt %s): %s", invitation.pk, invitation.attempts, text)
    if invitation.attempts >= MAX_SEND_ATTEMPTS:
        _close(invitation, Invitation.Status.FAILED, f"gave up: {text}", now=now)
        return
    Invitation.objects.filter(pk=invitation.pk).update(
        status=Invitation.Status.SCHEDULED,
        send_at=next_sending_time(invitation.shop, now + timedelta(minutes=2**invitation.attempts)),
        reason=text[:500],
    )


def _error_text(error: Exception, invitation: Invitation) -> str:
    """A sending error in words, without the customer's address: mail servers quote the
    recipient back, and the text goes into the log and the reason staff read."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        text = "; ".join(
            f"{code} {message.decode(errors='replace') if isinstance(message, bytes) else message}"
            for code, message in error.recipients.values()
        )
    else:
        text = str(error)
    address = invitation.customer.address_for(invitation.channel)
    return re.sub(re.escape(address), "<address>", text, flags=re.IGNORECASE) if address else text


def _close(invitation: Invitation, status: str, reason: str, *, now: datetime) -> None:
    Invitation.objects.filter(pk=invitation.pk).update(status=status, closed_at=now, reason=reason[:500])


# --- Reminders and expiry ----------------------------------------------------------


def send_due_reminders(*, now: datetime | None = None, limit: int = 500) -> int:
    """Send the one reminder each unopened, unanswered invitation may get, inside the shop's
    sending hours (one due outside them waits for their next opening).

    A reminder is claimed by stamping `reminded_at` before sending, so it goes out
    at most once; one lost to a crash is not retried (better silent than twice).
    """
    now = now or timezone.now()
    with transaction.atomic():
        due = _lock_for_sending(
            Invitation.objects.filter(
                # Reminders go by email only: a second text message costs the shop and annoys more.
                channel=Channel.EMAIL,
                status=Invitation.Status.SENT,
                reminded_at__isnull=True,
                remind_at__lte=now,
                expires_at__gt=now,
            ).order_by("remind_at"),
            limit=limit,
        )
        claimed, later = [], []
        for invitation in due:
            opening = next_sending_time(invitation.shop, now)
            if opening > now:
                # Not at night either: the reminder waits for the shop's sending hours.
                invitation.remind_at = opening
                later.append(invitation)
                continue
            token = new_token()
            invitation.reminded_at = now
            invitation.reminder_token_hash = hash_token(token)
            claimed.append(ClaimedInvitation(invitation, token))
        sending = [item.invitation for item in claimed]
        Invitation.objects.bulk_update(sending, ["reminded_at", "reminder_token_hash"], batch_size=500)
        Invitation.objects.bulk_update(later, ["remind_at"], batch_size=500)
    suppressed = suppressed_among(
        {(item.invitation.shop_id, Channel.EMAIL, item.invitation.customer.email) for item in claimed}
    )
    sendable = [
        item
        for item in claimed
        if item.invitation.customer.email
        and not _refusal(item.invitation.shop, item.invitation.customer, Channel.EMAIL, suppressed)
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
                    log.warning(
                        "reminder for invitation %s not sent: %s",
                        item.invitation.pk,
                        _error_text(error, item.invitation),
                    )
    return len(claimed)


def expire_invitations(*, now: datetime | None = None) -> int:
    """Close the invitations whose link has expired unanswered."""
    now = now or timezone.now()
    return Invitation.objects.filter(
        status__in=[Invitation.Status.SENT, Invitation.Status.OPENED], expires_at__lte=now
    ).update(status=Invitation.Status.EXPIRED, closed_at=now, reason="no answer before the link expired")
