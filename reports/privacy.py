"""Reports' part of a customer's data (registered with surveys.customer_data.privacy by reports/apps.py): the
monthly report PDFs name flagged customers and quote comments. An erasure deletes those of the
months concerned and has them made again; retention deletes old ones if the shop chose so."""

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q

from feedback.models import FollowUp, Response
from reports.models import ReportRun
from surveys.customer_data.privacy import Erasing, PersonalData, Retaining
from surveys.models import Shop


def erase(erasing: Erasing) -> Mapping[str, int]:
    # The reports name flagged customers by the case's month and quote comments by the answer's.
    customer = erasing.customer
    moments = [*Response.objects.filter(customer=customer).values_list("submitted_at", flat=True),
               *FollowUp.objects.filter(response__customer=customer).values_list("created_at", flat=True)]  # fmt: skip
    stale = _reports_covering(erasing.shop, moments)
    transaction.on_commit(lambda: _remake_reports(stale))
    return {}


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


def retain(retaining: Retaining) -> Mapping[str, int]:
    """With `retention_purges_reports`, the PDFs of months before the cutoff are deleted."""
    if not retaining.shop.retention_purges_reports:
        return {}
    # A month whose first day is more than 31 days before the cutoff ended before it.
    old = ReportRun.objects.filter(shop=retaining.shop, period__lt=retaining.cutoff.date() - timedelta(days=31))
    purged = 0
    for run in old.exclude(file=""):
        run.file.delete(save=False)
        ReportRun.objects.filter(pk=run.pk).update(file="")
        purged += 1
    return {"reports": purged}


PERSONAL_DATA = PersonalData(models=frozenset(), erase=erase, retain=retain)
