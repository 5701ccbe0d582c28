import logging
from datetime import date, datetime

from django.core.files.base import ContentFile
from django.utils import timezone

from reports.data import monthly_report_data
from reports.models import ReportRun
from surveys.models import Shop

log = logging.getLogger(__name__)

# Reports for the month just ended go out on the 1st, from this hour in the shop's time zone.
SEND_HOUR = 7


def generate_monthly_report(shop: Shop, *, month: date) -> ReportRun:
    """Build and store the PDF for one shop and month, now; a re-run replaces the file."""
    run, _ = ReportRun.objects.get_or_create(shop=shop, period=month.replace(day=1))
    ReportRun.objects.filter(pk=run.pk).update(status=ReportRun.Status.RUNNING, error="")
    return _render(run)


def _render(run: ReportRun) -> ReportRun:
    """Side effects: writes the PDF to media storage, replacing an earlier one, and
    records the outcome (done or failed, with the error) on the run."""
    from reports.pdf import render_monthly_report  # WeasyPrint is heavy: load it only to render.

    try:
        pdf = render_monthly_report(monthly_report_data(run.shop, month=run.period))
    except Exception as error:
        ReportRun.objects.filter(pk=run.pk).update(
            status=ReportRun.Status.FAILED, error=str(error)[:1000], finished_at=timezone.now()
        )
        raise
    old_name = run.file.name
    run.file.save(f"{run.shop.slug}-{run.period:%Y-%m}.pdf", ContentFile(pdf), save=False)
    run.status = ReportRun.Status.DONE
    run.error = ""
    run.finished_at = timezone.now()
    run.save(update_fields=["file", "status", "error", "finished_at"])
    if old_name and old_name != run.file.name:
        run.file.storage.delete(old_name)
    return run


def previous_month(day: date) -> date:
    return date(day.year - 1, 12, 1) if day.month == 1 else date(day.year, day.month - 1, 1)


def start_due_monthly_reports(*, now: datetime | None = None) -> int:
    """Create a pending run of last month's report for every shop whose hour on the 1st
    has come. A run that exists already is left alone, so each report starts once."""
    now = now or timezone.now()
    created_count = 0
    for shop in Shop.objects.all():
        local = now.astimezone(shop.tz)
        if local.day == 1 and local.hour < SEND_HOUR:
            continue
        _, created = ReportRun.objects.get_or_create(shop=shop, period=previous_month(local.date()))
        created_count += created
    return created_count


def render_pending_reports() -> int:
    """Claim and render every pending run; each is claimed by one worker only."""
    rendered = 0
    for run in ReportRun.objects.filter(status=ReportRun.Status.PENDING).select_related("shop"):
        claimed = ReportRun.objects.filter(pk=run.pk, status=ReportRun.Status.PENDING).update(
            status=ReportRun.Status.RUNNING
        )
        if claimed:
            try:
                _render(run)
            except Exception:
                # Recorded on the run; the other shops still get their reports.
                log.exception("monthly report %s for shop %s failed", run.period, run.shop.slug)
                continue
            rendered += 1
    return rendered
