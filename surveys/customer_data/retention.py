"""Each shop's retention: what it keeps longer than its `retention_months` is anonymised, in
batches, by the same rules as an erasure (surveys.customer_data.privacy), each app's part through its hook."""

import calendar
import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from surveys.customer_data.privacy import BATCH, Retaining, anonymise_customers, hash_suppressions, holders, pages
from surveys.models import Customer, Invitation, Order, Shop, Suppression
from surveys.outreach.suppressions import MARKER_PREFIX

log = logging.getLogger(__name__)

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
    the time up to which texts are done (`retention_applied_until`) moves only after the apps'
    hooks ran.
    - the apps clear texts written before the cutoff (answers and their cases' words, case
      notes) and, with `retention_purges_reports`, delete monthly report PDFs of months before it;
    - customers created before it with no order since, no survey still open and nothing an app
      still works on (an open case) are anonymised;
    - suppression-list addresses added before it are kept as hashes.
    """
    if not shop.retention_months:
        return Retained()
    now = now or timezone.now()
    cutoff = months_before(now, shop.retention_months)
    start = shop.retention_applied_until
    texts_due = start is None or start < cutoff
    retaining = Retaining(
        shop=shop, cutoff=cutoff, texts_since=start, texts_until=cutoff if texts_due else None, batch=batch
    )
    counts: dict[str, int] = {}
    for holder in holders:
        if holder.retain is not None:
            counts.update(holder.retain(retaining))
    if texts_due:
        Shop.objects.filter(pk=shop.pk).update(retention_applied_until=cutoff)
        shop.retention_applied_until = cutoff
    done = Retained(**counts)
    done.customers = _retain_customers(shop, cutoff=cutoff, now=now, batch=batch)
    done.suppressions = _retain_suppressions(shop, cutoff=cutoff, batch=batch)
    log.info(
        "retention for shop %s (%s months): %s answers, %s notes, %s customers, %s suppressions, %s reports",
        shop.pk, shop.retention_months, done.answers, done.notes, done.customers, done.suppressions, done.reports,
    )  # fmt: skip
    return done


def _retain_customers(shop: Shop, *, cutoff: datetime, now: datetime, batch: int) -> int:
    # Walks the shop's customers not anonymised yet, oldest first, on their partial index; each
    # page is then checked for activity since the cutoff with index look-ups for its rows only.
    live = [Invitation.Status.SCHEDULED, Invitation.Status.SENDING, Invitation.Status.SENT, Invitation.Status.OPENED]
    waiting = Customer.objects.filter(shop=shop, anonymised_at__isnull=True, created_at__lt=cutoff)
    anonymised = 0
    for ids in pages(waiting, "created_at", batch=batch):
        idle = (
            Customer.objects.filter(pk__in=ids)
            .exclude(Exists(Order.objects.filter(customer=OuterRef("pk"), placed_at__gte=cutoff)))
            .exclude(Exists(Invitation.objects.filter(customer=OuterRef("pk"), status__in=live)))
        )
        for holder in holders:
            if holder.busy is not None:
                idle = idle.exclude(holder.busy())
        with transaction.atomic():
            anonymised += anonymise_customers(idle, now=now)
    return anonymised


def _retain_suppressions(shop: Shop, *, cutoff: datetime, batch: int) -> int:
    plain = Suppression.objects.filter(shop=shop, created_at__lt=cutoff).exclude(address__startswith=MARKER_PREFIX)
    hashed = last = 0
    while ids := list(plain.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:batch]):
        with transaction.atomic():
            hashed += hash_suppressions(Suppression.objects.filter(pk__in=ids))
        last = ids[-1]
    return hashed
