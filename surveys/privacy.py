"""A customer's data: exporting all of it, erasing it on request, and the shop's retention.

Personal data lives in every app, so this is the one module of `surveys` that reaches into
feedback, sentiment and reports (and admin's log): one place knows every field that holds
it. `CUSTOMER_MODELS` names each model a customer's rows reach by foreign key; the tests
walk the models and fail when a new one is missing here.

What becomes of each, by erasure and by retention alike (`anonymise` below):

- Customer: name, email, phone and consent blanked; language and dates stay (the numbers
  cut by them). `anonymised_at` says when.
- Answer text (comments, short texts) blanked; scores and chosen options stay, so NPS, CSAT,
  CES and every count come out the same. Sentiment scores and theme tags hold no text: kept.
- Case notes (internal notes, replies emailed to the customer, the customer's own replies)
  become "[erased]"; the rows and the case's times stay, so the timeline and the support
  figures do. The warning words found in a comment and the goodwill note are blanked.
- Invitations lose their link tokens (the links open nothing) and any reason quoting an address.
- The suppression list keeps an address only as a one-way hash (surveys.suppressions.address_marker).
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
"""

import calendar
import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.core.mail import EmailMessage
from django.db import IntegrityError, models, transaction
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Coalesce, Concat
from django.utils import timezone

from config import mail
from feedback.models import Answer, CaseEvent, CaseNote, FollowUp, Response
from reports.models import ReportRun
from sentiment.models import LearnedModel, SentimentScore
from surveys.errors import DomainError, NotFound
from surveys.models import Channel, Consent, Customer, Erasure, Invitation, Membership, Order, Shop, Suppression
from surveys.phones import region_of
from surveys.suppressions import MARKER_PREFIX, address_marker, normalise_address

log = logging.getLogger(__name__)

ERASED_TEXT = "[erased]"
CANCELLED_REASON = "the customer's data was erased"
CLOSED_REASON = "the link was closed when the customer's data was erased"
# Failure reasons may quote what a mail server said about the address.
REDACTED_REASON = "the details were erased with the customer's data"
# Rows handled per transaction by retention: small enough to hold locks briefly.
BATCH = 2000

# Every model a customer's rows reach by foreign key (see the module docstring and the tests).
CUSTOMER_MODELS = {
    "surveys.Customer",
    "surveys.Order",
    "surveys.OrderLine",
    "surveys.Invitation",
    "surveys.Erasure",
    "feedback.Response",
    "feedback.Answer",
    "feedback.FollowUp",
    "feedback.CaseNote",
    "feedback.CaseEvent",
    "sentiment.SentimentScore",
    "sentiment.AnswerTheme",
}
# Reached too, but holding nothing about the customer: the shop's alert receiver and its answers,
# and when the alert to the shop's staff was tried.
NOT_ABOUT_THE_CUSTOMER = {"feedback.AlertDelivery", "feedback.Alert"}
# Fields left out of an export, and why.
NOT_EXPORTED = {
    # Secrets that open the survey link: whoever holds the export could answer as the customer.
    "surveys.Invitation": {"token_hash", "reminder_token_hash", "token_nonce"},
    # The staff who worked the case and what the trail says of them are the staff's data.
    "feedback.CaseNote": {"author"},
    "feedback.CaseEvent": {"actor", "detail"},
    "feedback.FollowUp": {"assignee"},
    "surveys.Erasure": {"requested_by", "via"},
}


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
    rows belonging to a row are nested in it.
    """
    shop = customer.shop
    orders = Order.objects.filter(customer=customer).prefetch_related("lines").order_by("placed_at", "pk")
    invitations = Invitation.objects.filter(customer=customer).select_related("survey").order_by("send_at", "pk")
    responses = (
        Response.objects.filter(customer=customer)
        .select_related("survey")
        .prefetch_related(
            models.Prefetch(
                "answers",
                queryset=Answer.objects.select_related("question", "sentiment")
                .prefetch_related("themes")
                .order_by("question__position", "pk"),
            )
        )
        .order_by("submitted_at", "pk")
    )
    cases = {
        case.response_id: case
        for case in FollowUp.objects.filter(response__customer=customer).prefetch_related("notes", "events")
    }
    return {
        "format": "bazgasht-customer-export/1",
        "exported_at": _json(now or timezone.now()),
        "shop": {"slug": shop.slug, "name": shop.display_name},
        "customer": _row(customer),
        "orders": [{**_row(order), "lines": [_row(line) for line in order.lines.all()]} for order in orders],
        "invitations": [{**_row(invitation), "survey_name": invitation.survey.name} for invitation in invitations],
        "responses": [_response(response, cases.get(response.pk)) for response in responses],
        "suppressions": [_row(suppression) for suppression in _suppressions_of(customer)],
        "erasures": [_row(erasure) for erasure in Erasure.objects.filter(customer=customer)],
    }


def _response(response: Response, case: FollowUp | None) -> dict[str, Any]:
    answers = []
    for answer in response.answers.all():
        sentiment = getattr(answer, "sentiment", None)
        answers.append(
            {
                **_row(answer),
                "question_text": answer.question.text,
                "question_kind": answer.question.kind,
                "sentiment": _row(sentiment) if sentiment is not None else None,
                "themes": [_row(theme) for theme in answer.themes.all()],
            }
        )
    return {
        **_row(response),
        "survey_name": response.survey.name,
        "answers": answers,
        "case": None
        if case is None
        else {
            **_row(case),
            "notes": [_row(note) for note in case.notes.all()],
            "events": [_row(event) for event in case.events.all()],
        },
    }


def _suppressions_of(customer: Customer) -> list[Suppression]:
    wanted = Q(pk__in=[])
    for channel in Channel.values:
        if address := customer.address_for(channel):
            forms = [normalise_address(channel, address), address_marker(customer.shop_id, channel, address)]
            wanted |= Q(channel=channel, address__in=forms)
    return list(Suppression.objects.filter(wanted, shop_id=customer.shop_id).order_by("created_at"))


def _row(instance: models.Model) -> dict[str, Any]:
    skipped = NOT_EXPORTED.get(instance._meta.label, set())
    return {
        field.name: _json(getattr(instance, field.attname))
        for field in instance._meta.concrete_fields
        if field.name not in skipped
    }


def _json(value: Any) -> Any:
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
    answers_cleared: int
    notes_cleared: int
    cases: int


def erase_customer(customer: Customer, *, by: User | None = None, via: str = "", now: datetime | None = None) -> Erased:
    """Erase a customer's personal data and comments on their request, keeping the numbers.

    Safe to repeat. Side effects, in one transaction (see the module docstring for each
    field): cancels the customer's scheduled invitations and closes their open links; blanks
    their details, comments and case notes; deletes the shop's learned sentiment models the
    comments taught; puts their addresses on the suppression list as hashes; records an
    Erasure and an "erased" event on each of their cases (who and when, not what). After
    commit, deletes the monthly report PDFs that may name them and queues those again.
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
        responses = list(Response.objects.filter(customer=customer).values_list("pk", "submitted_at"))
        cases = list(FollowUp.objects.filter(response__customer=customer).values_list("pk", "created_at"))
        case_ids = [pk for pk, _ in cases]
        cleared = _clear_feedback([pk for pk, _ in responses], shop=shop)
        notes = _clear_notes(CaseNote.objects.filter(follow_up_id__in=case_ids))
        _anonymise_customers(Customer.objects.filter(pk=customer.pk), now=now)
        for channel, address in addresses:
            _suppress_by_marker(shop, channel, address)
        Erasure.objects.create(shop=shop, customer=customer, requested_by=by, via=via[:120], at=now)
        CaseEvent.objects.bulk_create(
            CaseEvent(follow_up_id=case_id, actor=by, action="erased", detail={"via": via} if via else {})
            for case_id in case_ids
        )
        # The reports name flagged customers by the case's month and quote comments by the answer's.
        stale = _reports_covering(shop, [at for _, at in responses] + [at for _, at in cases])
        transaction.on_commit(lambda: _remake_reports(stale))
    log.info("customer %s of shop %s erased (%s)", customer.pk, shop.pk, via or "staff")
    return Erased(
        customer_id=customer.pk,
        erased_at=now,
        invitations_cancelled=cancelled,
        links_closed=closed,
        answers_cleared=cleared,
        notes_cleared=notes,
        cases=len(case_ids),
    )


def _clear_feedback(response_ids: Sequence[int], *, shop: Shop) -> int:
    """Blank the responses' texts and their cases' words; forget the learned models they taught."""
    answers = Answer.objects.filter(response_id__in=response_ids).exclude(text="")
    languages = set(SentimentScore.objects.filter(answer__in=answers).values_list("language", flat=True))
    cleared = answers.update(text="")
    FollowUp.objects.filter(response_id__in=response_ids).exclude(keywords=[], goodwill_note="").update(
        keywords=[], goodwill_note=""
    )
    if languages:
        # Its vocabulary holds the comments' words; the scheduler trains a new one from what is left.
        LearnedModel.objects.filter(shop=shop, language__in=languages).delete()
    return cleared


def _clear_notes(notes: models.QuerySet[CaseNote]) -> int:
    return notes.exclude(text=ERASED_TEXT).update(text=ERASED_TEXT)


def _anonymise_customers(customers: models.QuerySet[Customer], *, now: datetime) -> int:
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
        _hash_suppressions(Suppression.objects.filter(shop_id=shop_id, channel=listed_on, address__in=forms))
    invitations = Invitation.objects.filter(customer_id__in=ids)
    invitations.filter(status__in=[Invitation.Status.FAILED, Invitation.Status.BOUNCED]).update(reason=REDACTED_REASON)
    invitations.exclude(token_hash=None, reminder_token_hash=None, token_nonce="").update(
        token_hash=None, reminder_token_hash=None, token_nonce="", remind_at=None
    )
    _scrub_admin_history(Customer, ids, label="customer")
    _scrub_admin_history(Invitation, list(invitations.values_list("pk", flat=True)), label="invitation")
    _scrub_admin_history(
        Response, list(Response.objects.filter(customer_id__in=ids).values_list("pk", flat=True)), label="response"
    )
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


def _scrub_admin_history(model: type[models.Model], ids: Sequence[int], *, label: str) -> None:
    """The admin's history names each changed object by its str(), which for these is the customer."""
    entries = LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(model))
    # Most of what retention anonymises was never changed in the admin: one look saves the update.
    if ids and entries.exists():
        entries.filter(object_id__in=[str(pk) for pk in ids]).update(
            object_repr=Concat(models.Value(f"{label} "), "object_id")
        )


def _hash_suppressions(suppressions: models.QuerySet[Suppression]) -> int:
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


def _reports_covering(shop: Shop, moments: Iterable[datetime]) -> list[int]:
    """The shop's finished monthly reports that may cover any of these times (by a month's
    first day; a Jalali month starts up to a month before, so a report is rather taken
    twice than missed)."""
    days = {moment.astimezone(shop.tz).date() for moment in moments}
    if not days:
        return []
    covering = Q(pk__in=[])
    for day in days:
        covering |= Q(period__lte=day, period__gt=day - timedelta(days=31))
    return list(ReportRun.objects.filter(covering, shop=shop).exclude(file="").values_list("pk", flat=True))


def _remake_reports(run_ids: list[int]) -> None:
    """Delete the PDFs and queue the runs again; the scheduler renders them from the erased data."""
    for run in ReportRun.objects.filter(pk__in=run_ids):
        if run.file:
            run.file.delete(save=False)
        ReportRun.objects.filter(pk=run.pk).update(file="", status=ReportRun.Status.PENDING, error="")


# --- Retention -------------------------------------------------------------------------------


@dataclass
class Retained:
    """What one shop's retention run anonymised."""

    answers: int = 0
    notes: int = 0
    customers: int = 0
    suppressions: int = 0
    reports: int = 0


def months_before(moment: datetime, months: int) -> datetime:
    year, month = divmod(moment.year * 12 + moment.month - 1 - months, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def apply_retention(shop: Shop, *, now: datetime | None = None, batch: int = BATCH) -> Retained:
    """Anonymise what the shop keeps longer than its `retention_months`, in batches.

    Safe to run again at any point, and after a crash: every step skips what is done, and
    the time up to which answers are done (`retention_applied_until`) moves only at the end.
    - answers submitted before the cutoff lose their texts, their cases their words;
    - case notes written before it become "[erased]";
    - customers created before it with no order since, no survey still open and no open
      case are anonymised;
    - suppression-list addresses added before it are kept as hashes;
    - with `retention_purges_reports`, monthly report PDFs of months before it are deleted.
    """
    if not shop.retention_months:
        return Retained()
    now = now or timezone.now()
    cutoff = months_before(now, shop.retention_months)
    done = Retained()
    start = shop.retention_applied_until
    if start is None or start < cutoff:
        done.answers = _retain_answers(shop, since=start, until=cutoff, batch=batch)
        done.notes = _retain_notes(shop, since=start, until=cutoff, batch=batch)
        Shop.objects.filter(pk=shop.pk).update(retention_applied_until=cutoff)
        shop.retention_applied_until = cutoff
    done.customers = _retain_customers(shop, cutoff=cutoff, now=now, batch=batch)
    done.suppressions = _retain_suppressions(shop, cutoff=cutoff, batch=batch)
    if shop.retention_purges_reports:
        done.reports = _purge_reports(shop, cutoff=cutoff)
    log.info(
        "retention for shop %s (%s months): %s answers, %s notes, %s customers, %s suppressions, %s reports",
        shop.pk, shop.retention_months, done.answers, done.notes, done.customers, done.suppressions, done.reports,
    )  # fmt: skip
    return done


def _retain_answers(shop: Shop, *, since: datetime | None, until: datetime, batch: int) -> int:
    responses = Response.objects.filter(shop=shop, submitted_at__lt=until)
    if since is not None:
        responses = responses.filter(submitted_at__gte=since)
    cleared = 0
    for ids in _pages(responses, "submitted_at", batch=batch):
        with transaction.atomic():
            cleared += _clear_feedback(ids, shop=shop)
    return cleared


def _retain_notes(shop: Shop, *, since: datetime | None, until: datetime, batch: int) -> int:
    notes = CaseNote.objects.filter(follow_up__shop=shop, created_at__lt=until)
    if since is not None:
        notes = notes.filter(created_at__gte=since)
    cleared = last = 0
    while ids := list(notes.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:batch]):
        cleared += _clear_notes(CaseNote.objects.filter(pk__in=ids))
        last = ids[-1]
    return cleared


def _retain_customers(shop: Shop, *, cutoff: datetime, now: datetime, batch: int) -> int:
    # Walks the shop's customers not anonymised yet, oldest first, on their partial index; each
    # page is then checked for activity since the cutoff with index look-ups for its rows only.
    live = [Invitation.Status.SCHEDULED, Invitation.Status.SENDING, Invitation.Status.SENT, Invitation.Status.OPENED]
    waiting = Customer.objects.filter(shop=shop, anonymised_at__isnull=True, created_at__lt=cutoff)
    anonymised = 0
    for ids in _pages(waiting, "created_at", batch=batch):
        idle = (
            Customer.objects.filter(pk__in=ids)
            .exclude(Exists(Order.objects.filter(customer=OuterRef("pk"), placed_at__gte=cutoff)))
            .exclude(Exists(Invitation.objects.filter(customer=OuterRef("pk"), status__in=live)))
            .exclude(
                Exists(
                    FollowUp.objects.filter(response__customer=OuterRef("pk")).exclude(
                        status__in=[FollowUp.Status.RESOLVED, FollowUp.Status.NO_CONTACT]
                    )
                )
            )
        )
        with transaction.atomic():
            anonymised += _anonymise_customers(idle, now=now)
    return anonymised


def _pages(rows: models.QuerySet[Any], field: str, *, batch: int) -> Iterator[list[int]]:
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


def _retain_suppressions(shop: Shop, *, cutoff: datetime, batch: int) -> int:
    plain = Suppression.objects.filter(shop=shop, created_at__lt=cutoff).exclude(address__startswith=MARKER_PREFIX)
    hashed = last = 0
    while ids := list(plain.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:batch]):
        with transaction.atomic():
            hashed += _hash_suppressions(Suppression.objects.filter(pk__in=ids))
        last = ids[-1]
    return hashed


def _purge_reports(shop: Shop, *, cutoff: datetime) -> int:
    # A month whose first day is more than 31 days before the cutoff ended before it.
    old = ReportRun.objects.filter(shop=shop, period__lt=cutoff.date() - timedelta(days=31)).exclude(file="")
    purged = 0
    for run in old:
        run.file.delete(save=False)
        ReportRun.objects.filter(pk=run.pk).update(file="")
        purged += 1
    return purged


# --- Requests a store passes on (Shopify's mandatory privacy webhooks) ------------------------


def customers_named(shop: Shop, *, emails: Iterable[str] = (), phones: Iterable[str] = (),
                    order_ids: Iterable[str] = ()) -> list[Customer]:  # fmt: skip
    """The shop's customers a store's request names: by email, phone, or the orders it lists."""
    wanted = Q(pk__in=[])
    addresses = {normalise_address(Channel.EMAIL, email) for email in emails if email and email.strip()}
    region = region_of(shop)
    numbers = {normalise_address(Channel.SMS, phone, region=region) for phone in phones if phone and phone.strip()}
    if addresses:
        wanted |= Q(email__in=addresses)
    if numbers:
        wanted |= Q(phone__in=numbers)
    order_ids = [str(order_id) for order_id in order_ids if order_id]
    if order_ids:
        wanted |= Q(pk__in=Order.objects.filter(shop=shop, external_id__in=order_ids).values("customer_id"))
    return list(Customer.objects.filter(wanted, shop=shop).order_by("pk"))


def send_data_request(shop: Shop, customers: Sequence[Customer], *, via: str, request_id: str = "") -> int:
    """Email the shop's admins everything held about these customers (one JSON file), for the
    shop to hand to the customer who asked; how many addresses it went to. Nothing held is said too."""
    to = sorted(
        set(
            Membership.objects.filter(shop=shop, role=Membership.Role.ADMIN, user__is_active=True)
            .exclude(user__email="")
            .values_list("user__email", flat=True)
        )
    )
    if not to:
        log.warning("shop %s: a data request (%s) came, but no shop admin has an email address", shop.pk, via)
        return 0
    exports = [export_customer(customer) for customer in customers]
    body = (
        f"{via} asked for the data {shop.display_name} holds in Bazgasht about a customer"
        f"{f' (request {request_id})' if request_id else ''}. "
        + (
            f"The attached file holds all of it ({len(exports)} customer record(s)): hand it to the customer."
            if exports
            else "Bazgasht holds nothing about them: no customer with that email, phone or order."
        )
    )
    message = mail.message(EmailMessage, f"{shop.display_name}: a customer's data request", body, to=to)
    if exports:
        message.attach("customer-data.json", json.dumps(exports, ensure_ascii=False, indent=2), "application/json")
    message.send()
    log.info("shop %s: data request (%s) answered for %s customer(s), to %s address(es)", shop.pk, via,
             len(exports), len(to))  # fmt: skip
    return len(to)


def erase_shop_customers(shop: Shop, *, via: str, batch: int = BATCH) -> int:
    """Erase every customer of the shop (a store's request once its owner left); how many."""
    erased = 0
    for ids in _pages(Customer.objects.filter(shop=shop, anonymised_at__isnull=True), "pk", batch=batch):
        for customer in Customer.objects.filter(pk__in=ids):
            erase_customer(customer, via=via)
            erased += 1
    log.info("shop %s: %s customers erased (%s)", shop.pk, erased, via)
    return erased
