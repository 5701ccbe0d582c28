"""Orders in, from every way they come (the API, webhooks, CSV): checked, stored once with their
customer found or created, updated as they move (fulfilled, delivered, cancelled), and handed to
the rules of surveys.outreach.planning."""

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from config import mail
from surveys import phones
from surveys.errors import DomainError
from surveys.models import (
    Customer,
    Invitation,
    Order,
    OrderLine,
    Shop,
    Survey,
)
from surveys.outreach.consent import is_newer
from surveys.outreach.planning import next_sending_time, plan_invitations, schedule_invitations

log = logging.getLogger(__name__)


class InvalidOrder(DomainError):
    """The order cannot be recorded."""

    status_code = 422


# --- Orders in ---------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerDetails:
    email: str = ""
    phone: str = ""
    name: str = ""
    language: str = ""
    # What the customer said about being contacted (surveys.outreach.consent), if the store says;
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
