"""A customer's data: exporting all of it, erasing it on request, and the shop's retention.

Personal data lives in every app. This module does what concerns the customer, their orders,
invitations and suppressions, and hands the rest to each app's `PersonalData` hooks, which the
app registers from its AppConfig.ready() (feedback/privacy.py, reports/privacy.py,
sentiment/privacy.py): a lower app never imports a higher one. `CUSTOMER_MODELS` gathers each
model a customer's rows reach by foreign key; the tests walk the models and fail when a new
one is known to no app.

What becomes of each, by erasure and by retention alike:

- Customer: name, email, phone and consent blanked; language and dates stay (the numbers
  cut by them). `anonymised_at` says when.
- Answer text (comments, short texts) blanked; scores and chosen options stay, so NPS, CSAT,
  CES and every count come out the same. Sentiment scores and theme tags hold no text: kept.
- Case notes (internal notes, replies emailed to the customer, the customer's own replies)
  become "[erased]"; the rows and the case's times stay, so the timeline and the support
  figures do. The warning words found in a comment and the goodwill note are blanked.
- Invitations lose their link tokens (the links open nothing) and any reason quoting an address.
- The suppression list keeps an address only as a one-way hash (surveys.outreach.suppressions.address_marker).
- The shop's learned sentiment model, whose vocabulary holds words of the comments it learnt
  from, is deleted and retrained from what remains.
- Monthly report PDFs name flagged customers and quote comments: an erasure deletes those of
  the months concerned and has them made again; retention keeps or deletes old ones as the
  shop chose.
- The admin's history shows "customer 12" instead of a name.
- Orders and their lines stay: their only link to the person is the customer row. The
  shop's order number stays too, so the same order sent again (a re-import, a webhook
  retry) is recognised as a duplicate and stores nothing.

An erasure also cancels what was still to be sent, puts the customer's addresses on the
suppression list (as hashes), so a later order of theirs is stored but never surveyed, and
writes the audit trail: an `Erasure` row and an "erased" event on each of their cases,
saying who and when, never what.

Retention runs in surveys.customer_data.retention, and the requests a store passes on in
surveys.customer_data.store_requests, both by these rules."""

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.db.models.expressions import Combinable
from django.db.models.functions import Coalesce, Concat
from django.utils import timezone

from surveys.errors import DomainError, NotFound
from surveys.models import Channel, Consent, Customer, Erasure, Invitation, Order, Shop, Suppression
from surveys.outreach.suppressions import MARKER_PREFIX, address_marker, normalise_address
from surveys.phones import region_of

log = logging.getLogger(__name__)

ERASED_TEXT = "[erased]"
CANCELLED_REASON = "the customer's data was erased"
CLOSED_REASON = "the link was closed when the customer's data was erased"
# Failure reasons may quote what a mail server said about the address.
REDACTED_REASON = "the details were erased with the customer's data"
# Rows handled per transaction by retention: small enough to hold locks briefly.
BATCH = 2000

# Every model a customer's rows reach by foreign key (see the module docstring and the tests);
# each app adds its own when it registers.
CUSTOMER_MODELS = {
    "surveys.Customer",
    "surveys.Order",
    "surveys.OrderLine",
    "surveys.Invitation",
    "surveys.Erasure",
}
# Reached too, but holding nothing about the customer (the apps add theirs).
NOT_ABOUT_THE_CUSTOMER: set[str] = set()
# Fields left out of an export, and why.
NOT_EXPORTED = {
    # Secrets that open the survey link: whoever holds the export could answer as the customer.
    "surveys.Invitation": {"token_hash", "reminder_token_hash", "token_nonce"},
    "surveys.Erasure": {"requested_by", "via"},
}


@dataclass(frozen=True)
class Erasing:
    """An erasure in progress, as an app's hook sees it (inside the erasure's transaction)."""

    customer: Customer
    shop: Shop
    by: User | None
    via: str
    now: datetime


@dataclass(frozen=True)
class Retaining:
    """A retention run, as an app's hook sees it. `texts_until` is set when texts written before
    it (and since `texts_since`) are due to be cleared; `cutoff` is the run's cutoff."""

    shop: Shop
    cutoff: datetime
    texts_since: datetime | None
    texts_until: datetime | None
    batch: int


@dataclass(frozen=True)
class PersonalData:
    """An app's part of a customer's data, and what export, erasure and retention do to it.

    - `export(customer)`: the app's sections of the export (JSON-ready);
    - `erase(erasing)`: clears what the app holds of the customer; returns counts by the names
      of `Erased`'s fields;
    - `forget(customer_ids)`: the customers were anonymised (by erasure or retention);
    - `busy()`: an expression over Customer (OuterRef("pk")) true while the app still works
      with the customer (an open case): retention leaves them be;
    - `retain(retaining)`: counts by the names of `Retained`'s fields.
    """

    models: frozenset[str]
    not_about_the_customer: frozenset[str] = frozenset()
    not_exported: Mapping[str, set[str]] = field(default_factory=dict)
    export: Callable[[Customer], dict[str, Any]] | None = None
    erase: Callable[[Erasing], Mapping[str, int]] | None = None
    forget: Callable[[Sequence[int]], None] | None = None
    busy: Callable[[], Combinable] | None = None
    retain: Callable[[Retaining], Mapping[str, int]] | None = None


holders: list[PersonalData] = []


def register(holder: PersonalData) -> None:
    """An app's hooks, from its AppConfig.ready(); registering the same twice is harmless."""
    if holder in holders:
        return
    holders.append(holder)
    CUSTOMER_MODELS.update(holder.models)
    NOT_ABOUT_THE_CUSTOMER.update(holder.not_about_the_customer)
    for label, fields in holder.not_exported.items():
        NOT_EXPORTED.setdefault(label, set()).update(fields)


class CustomerNotFound(NotFound):
    """No such customer."""


class NoCustomerGiven(DomainError):
    """Give exactly one of the customer's id, email or phone."""

    status_code = 422


def find_customer(shop: Shop, *, customer_id: int | None = None, email: str = "", phone: str = "") -> Customer:
    """The shop's customer by id, email or phone (exactly one); an erased one only by id."""
    if sum(bool(given) for given in (customer_id is not None, email.strip(), phone.strip())) != 1:
        raise NoCustomerGiven
    customers = Customer.objects.filter(shop=shop)
    if customer_id is not None:
        found = customers.filter(pk=customer_id).first()
    elif email.strip():
        address = normalise_address(Channel.EMAIL, email)
        # Stored in lower case by every way orders come in; a case-blind look (a full scan) only if not.
        found = customers.filter(email=address).first() or customers.filter(email__iexact=address).first()
    else:
        found = customers.filter(phone=normalise_address(Channel.SMS, phone, region=region_of(shop))).first()
    if found is None:
        raise CustomerNotFound
    return found


# --- Export ----------------------------------------------------------------------------------


def export_customer(customer: Customer, *, now: datetime | None = None) -> dict[str, Any]:
    """Everything held about the customer, as JSON-ready data, in a fixed number of queries.

    Each row is given with its fields by name (`NOT_EXPORTED` lists the few left out, and why);
    rows belonging to a row are nested in it. The apps' sections follow the invitations.
    """
    shop = customer.shop
    orders = Order.objects.filter(customer=customer).prefetch_related("lines").order_by("placed_at", "pk")
    invitations = Invitation.objects.filter(customer=customer).select_related("survey").order_by("send_at", "pk")
    exported: dict[str, Any] = {
        "format": "bazgasht-customer-export/1",
        "exported_at": as_json(now or timezone.now()),
        "shop": {"slug": shop.slug, "name": shop.display_name},
        "customer": row_of(customer),
        "orders": [{**row_of(order), "lines": [row_of(line) for line in order.lines.all()]} for order in orders],
        "invitations": [{**row_of(invitation), "survey_name": invitation.survey.name} for invitation in invitations],
    }
    for holder in holders:
        if holder.export is not None:
            exported.update(holder.export(customer))
    exported["suppressions"] = [row_of(suppression) for suppression in _suppressions_of(customer)]
    exported["erasures"] = [row_of(erasure) for erasure in Erasure.objects.filter(customer=customer)]
    return exported


def _suppressions_of(customer: Customer) -> list[Suppression]:
    wanted = Q(pk__in=[])
    for channel in Channel.values:
        if address := customer.address_for(channel):
            forms = [normalise_address(channel, address), address_marker(customer.shop_id, channel, address)]
            wanted |= Q(channel=channel, address__in=forms)
    return list(Suppression.objects.filter(wanted, shop_id=customer.shop_id).order_by("created_at"))


def row_of(instance: models.Model) -> dict[str, Any]:
    """A row for the export: its fields by name and JSON-ready, less those `NOT_EXPORTED`."""
    skipped = NOT_EXPORTED.get(instance._meta.label, set())
    return {
        column.name: as_json(getattr(instance, column.attname))
        for column in instance._meta.concrete_fields
        if column.name not in skipped
    }


def as_json(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    return value


# --- Erasure ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Erased:
    customer_id: int
    erased_at: datetime
    invitations_cancelled: int
    links_closed: int
    answers_cleared: int = 0
    notes_cleared: int = 0
    cases: int = 0


def erase_customer(customer: Customer, *, by: User | None = None, via: str = "", now: datetime | None = None) -> Erased:
    """Erase a customer's personal data and comments on their request, keeping the numbers.

    Safe to repeat. Side effects, in one transaction (see the module docstring for each
    field): cancels the customer's scheduled invitations and closes their open links; blanks
    their details; puts their addresses on the suppression list as hashes; records an Erasure.
    Each app's hook clears what it holds in the same transaction (comments, case notes, the
    learned models they taught, the monthly reports that may name them).
    """
    now = now or timezone.now()
    with transaction.atomic():
        customer = Customer.objects.select_for_update().select_related("shop").get(pk=customer.pk)
        shop = customer.shop
        addresses = [(channel, address) for channel in Channel.values if (address := customer.address_for(channel))]
        invitations = Invitation.objects.filter(customer=customer)
        cancelled = invitations.filter(status__in=[Invitation.Status.SCHEDULED, Invitation.Status.SENDING]).update(
            status=Invitation.Status.CANCELLED, closed_at=now, reason=CANCELLED_REASON
        )
        closed = invitations.filter(status__in=[Invitation.Status.SENT, Invitation.Status.OPENED]).update(
            status=Invitation.Status.EXPIRED, closed_at=now, reason=CLOSED_REASON
        )
        erasing = Erasing(customer=customer, shop=shop, by=by, via=via, now=now)
        counts: dict[str, int] = {}
        for holder in holders:
            if holder.erase is not None:
                counts.update(holder.erase(erasing))
        anonymise_customers(Customer.objects.filter(pk=customer.pk), now=now)
        for channel, address in addresses:
            _suppress_by_marker(shop, channel, address)
        Erasure.objects.create(shop=shop, customer=customer, requested_by=by, via=via[:120], at=now)
    log.info("customer %s of shop %s erased (%s)", customer.pk, shop.pk, via or "staff")
    return Erased(
        customer_id=customer.pk, erased_at=now, invitations_cancelled=cancelled, links_closed=closed, **counts
    )


def anonymise_customers(customers: models.QuerySet[Customer], *, now: datetime) -> int:
    """Blank the customers' details, close their links and scrub their names from the admin's history."""
    rows = list(customers.values_list("pk", "shop_id", "email", "phone"))
    ids = [pk for pk, *_ in rows]
    # Plain addresses on the suppression list become their hashes: still never contacted.
    addresses: dict[tuple[int, str], set[str]] = {}
    for _, shop_id, email, phone in rows:
        for channel, address in ((Channel.EMAIL, email), (Channel.SMS, phone)):
            if address:
                addresses.setdefault((shop_id, channel), set()).update({address, normalise_address(channel, address)})
    for (shop_id, listed_on), forms in addresses.items():
        hash_suppressions(Suppression.objects.filter(shop_id=shop_id, channel=listed_on, address__in=forms))
    invitations = Invitation.objects.filter(customer_id__in=ids)
    invitations.filter(status__in=[Invitation.Status.FAILED, Invitation.Status.BOUNCED]).update(reason=REDACTED_REASON)
    invitations.exclude(token_hash=None, reminder_token_hash=None, token_nonce="").update(
        token_hash=None, reminder_token_hash=None, token_nonce="", remind_at=None
    )
    scrub_admin_history(Customer, ids, label="customer")
    scrub_admin_history(Invitation, list(invitations.values_list("pk", flat=True)), label="invitation")
    for holder in holders:
        if holder.forget is not None:
            holder.forget(ids)
    return Customer.objects.filter(pk__in=ids).update(
        email="",
        phone="",
        name="",
        consent=Consent.UNKNOWN,
        consent_at=None,
        consent_source="",
        # The first anonymisation's time stays: erasing again is no new fact about the data.
        anonymised_at=Coalesce("anonymised_at", models.Value(now)),
    )


def scrub_admin_history(model: type[models.Model], ids: Sequence[int], *, label: str) -> None:
    """The admin's history names each changed object by its str(), which for these is the customer."""
    entries = LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(model))
    # Most of what retention anonymises was never changed in the admin: one look saves the update.
    if ids and entries.exists():
        entries.filter(object_id__in=[str(pk) for pk in ids]).update(
            object_repr=Concat(models.Value(f"{label} "), "object_id")
        )


def hash_suppressions(suppressions: models.QuerySet[Suppression]) -> int:
    """Replace each address by its marker (a row whose marker is already listed goes)."""
    rows = list(
        suppressions.exclude(address__startswith=MARKER_PREFIX).values_list("pk", "shop_id", "channel", "address")
    )
    for pk, shop_id, channel, address in rows:
        marker = address_marker(shop_id, channel, address)
        if Suppression.objects.filter(shop_id=shop_id, channel=channel, address=marker).exists():
            Suppression.objects.filter(pk=pk).delete()
        else:
            Suppression.objects.filter(pk=pk).update(address=marker, detail="")
    return len(rows)


def _suppress_by_marker(shop: Shop, channel: str, address: str) -> None:
    """Keep the erased address from being surveyed again, in a form that cannot be read back."""
    marker = address_marker(shop.pk, channel, address)
    try:
        with transaction.atomic():
            Suppression.objects.get_or_create(
                shop=shop, channel=channel, address=marker, defaults={"reason": Suppression.Reason.ERASED}
            )
    except IntegrityError:
        pass  # Suppressed a moment ago by another request: what matters is that it is.


def pages(rows: models.QuerySet[Any], field: str, *, batch: int) -> Iterator[list[int]]:
    """The ids of `rows` in pages of `batch`, oldest `field` first, walked on the (field, pk)
    index by keyset: each page starts after the last row of the one before."""
    after: tuple[datetime, int] | None = None
    while True:
        page = rows
        if after is not None:
            # The plain >= lets the index start at the last row; the OR alone would scan from the first.
            page = page.filter(**{f"{field}__gte": after[0]}).filter(
                Q(**{f"{field}__gt": after[0]}) | Q(pk__gt=after[1])
            )
        found = list(page.order_by(field, "pk").values_list(field, "pk")[:batch])
        if not found:
            return
        yield [pk for _, pk in found]
        after = found[-1]
