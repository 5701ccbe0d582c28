"""The monthly report's life: due on the shop's schedule, made once, emailed once, kept.

A report is a `ReportRun` row per shop, month and language. The scheduler creates the row
when the month's sending time has come (the unique row is what makes it happen once), a
worker claims and renders it, and the managers get it by email unless they already have.
Failures are recorded on the row and tried again with backoff.
"""

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import jdatetime
from celery import signature
from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from config import mail
from config.celery import hand_over
from config.database import record_done
from feedback.insights.periods import Calendar, Span
from reports.data import MonthlyReport, monthly_report_data
from reports.format import month_name
from reports.models import ReportRun, ReportSchedule
from reports.month import report_month
from surveys.errors import DomainError
from surveys.models import Membership, Shop
from surveys.queries import READS_NUMBERS

log = logging.getLogger(__name__)

# A failed run is tried again after 5, 10, 20, 40 minutes, then left failed for a person to look at.
MAX_ATTEMPTS = 5
FIRST_RETRY = timedelta(minutes=5)
# A run claimed this long ago and not finished lost its worker (killed, machine gone): try again.
STALE_AFTER = timedelta(minutes=30)
# The worker's task, by name: reports/tasks.py imports this module, so this one does not import it.
MAKE_REPORT = signature("reports.tasks.make_report")


class BadMonth(DomainError):
    status_code = 422


def schedule_of(shop: Shop) -> ReportSchedule:
    """The shop's report schedule, or the defaults (unsaved) when it never set one."""
    try:
        return shop.report_schedule
    except ReportSchedule.DoesNotExist:
        return ReportSchedule(shop=shop)


def parse_month(text: str, calendar: Calendar) -> date:
    """The first day (Gregorian) of a month written YYYY-MM in the calendar: 2026-10, 1405-08."""
    found = re.fullmatch(r"(\d{4})-(0[1-9]|1[0-2])", text.strip())
    if not found:
        example = "1405-08" if calendar == Calendar.JALALI else "2026-10"
        raise BadMonth(
            gettext("A month looks like %(example)s (year-month), not “%(text)s”.") % {"example": example, "text": text}
        )
    year, month = int(found[1]), int(found[2])
    if calendar == Calendar.JALALI:
        if not 1300 <= year <= 1500:
            raise BadMonth(
                gettext("%(text)s is not a Jalali month this report can cover (years 1300–1500).") % {"text": text}
            )
        return jdatetime.date(year, month, 1).togregorian()
    if not 2000 <= year <= 2100:
        raise BadMonth(gettext("%(text)s is not a month this report can cover (years 2000–2100).") % {"text": text})
    return date(year, month, 1)


def last_month(shop: Shop, calendar: Calendar, *, now: datetime | None = None) -> date:
    """The first day (Gregorian) of the month before this one, in the shop's time zone and calendar."""
    today = (now or timezone.now()).astimezone(shop.tz).date()
    this_month = report_month(shop, today, calendar)
    return report_month(shop, this_month.first_day - timedelta(days=1), calendar).first_day


def request_report(
    shop: Shop,
    *,
    month: date,
    calendar: Calendar | None = None,
    language: str | None = None,
    email: bool = False,
    by: User | None = None,
    now: datetime | None = None,
    enqueue: bool = True,
) -> ReportRun:
    """Ask for (or again for) the report of the month `month` falls in; a worker makes it
    (unless `enqueue` is off: the caller makes it itself with make_report).

    A report made again replaces the stored file. Managers get an email only when `email` is
    asked for, or when the scheduled email of this report has not gone out yet.
    """
    now = now or timezone.now()
    schedule = schedule_of(shop)
    calendar = Calendar(calendar or schedule.report_calendar)
    language = language or schedule.report_language
    span = report_month(shop, month, calendar)
    if span.start > now:
        raise BadMonth(gettext("%(month)s has not begun yet.") % {"month": span.label})
    with transaction.atomic():
        run, _ = ReportRun.objects.select_for_update().get_or_create(
            shop=shop,
            period=span.first_day,
            language=language,
            defaults={"period_end": span.last_day, "calendar": calendar, "email_wanted": False},
        )
        if run.status == ReportRun.Status.RUNNING and not _is_stale(run, now):
            return run  # being made right now: that run will do
        run.status = ReportRun.Status.PENDING
        run.attempts = 0
        run.next_attempt_at = None
        run.error = ""
        run.email_wanted = email or (run.email_wanted and run.emailed_at is None)
        run.requested_by = by
        run.save(update_fields=["status", "attempts", "next_attempt_at", "error", "email_wanted", "requested_by"])
        if enqueue:
            transaction.on_commit(lambda: _enqueue([run.pk]))
    return run


def make_report_now(
    shop: Shop, *, month: date, calendar: Calendar | None = None, language: str | None = None, email: bool = False
) -> ReportRun:
    """Make a report in this process, now (the command line, the demo); its outcome is on the run."""
    run = request_report(shop, month=month, calendar=calendar, language=language, email=email, enqueue=False)
    return make_report(run.pk) or ReportRun.objects.get(pk=run.pk)


def start_due_reports(*, now: datetime | None = None) -> list[int]:
    """Create the runs whose sending time has come and pick up the ones to try again; hand
    them all to workers. Returns the ids handed over."""
    now = now or timezone.now()
    for shop in Shop.objects.select_related("report_schedule"):
        schedule = schedule_of(shop)
        if not schedule.enabled:
            continue
        month = _month_due(shop, schedule, now)
        if month is not None:
            ReportRun.objects.get_or_create(
                shop=shop,
                period=month.first_day,
                language=schedule.report_language,
                defaults={"period_end": month.last_day, "calendar": schedule.report_calendar, "email_wanted": True},
            )
    due = ReportRun.objects.filter(
        Q(status=ReportRun.Status.PENDING)
        | Q(status=ReportRun.Status.FAILED, attempts__lt=MAX_ATTEMPTS, next_attempt_at__lte=now)
        | Q(status=ReportRun.Status.RUNNING, started_at__lt=now - STALE_AFTER)
    )
    ids = list(due.values_list("pk", flat=True))
    _enqueue(ids)
    return ids


def _month_due(shop: Shop, schedule: ReportSchedule, now: datetime) -> Span | None:
    """The month whose report is due by now: last month, once this month's sending day and
    hour have come. None before that, or when the shop did not exist yet last month."""
    calendar = Calendar(schedule.report_calendar)
    local = now.astimezone(shop.tz)
    this_month = report_month(shop, local.date(), calendar)
    send_at = this_month.start + timedelta(days=schedule.day - 1, hours=schedule.hour)
    if local < send_at:
        return None
    last_month = report_month(shop, this_month.first_day - timedelta(days=1), calendar)
    if shop.created_at >= last_month.end:
        return None
    return last_month


def _enqueue(run_ids: list[int]) -> None:
    """Hand runs to the workers. With the broker down the runs stay pending in the database,
    and the scheduler's sweep hands them over again once it is back: asking never fails."""
    for run_id in run_ids:
        if not hand_over(MAKE_REPORT, run_id, left_for="the report sweep"):
            return


def _is_stale(run: ReportRun, now: datetime) -> bool:
    return run.started_at is None or run.started_at < now - STALE_AFTER


def make_report(run_id: int, *, now: datetime | None = None) -> ReportRun | None:
    """Claim the run, render its PDF, store it (replacing an earlier file) and email it if
    wanted. None when another worker has it or it needs nothing. Failures are recorded on
    the run with the time to try again."""
    now = now or timezone.now()
    claimable = Q(status__in=[ReportRun.Status.PENDING, ReportRun.Status.FAILED]) | Q(
        status=ReportRun.Status.RUNNING, started_at__lt=now - STALE_AFTER
    )
    with transaction.atomic():
        run = ReportRun.objects.select_for_update(skip_locked=True).filter(claimable, pk=run_id).first()
        if run is None:
            return None
        run.status = ReportRun.Status.RUNNING
        run.started_at = now
        run.attempts += 1
        run.save(update_fields=["status", "started_at", "attempts"])
    run = ReportRun.objects.select_related("shop").get(pk=run.pk)
    step = "render"
    try:
        report = monthly_report_data(
            run.shop, month=run.period, calendar=Calendar(run.calendar), language=run.language, now=now
        )
        _store(run, render_pdf(report))
        if run.email_wanted:
            step = "email"
            run.emailed_to = send_report_email(run, report)
            run.emailed_at = timezone.now()
            run.email_wanted = False
    except Exception as error:
        run.status = ReportRun.Status.FAILED
        run.error = f"{step}: {type(error).__name__}: {error}"[:1000]
        run.next_attempt_at = now + FIRST_RETRY * 2 ** (run.attempts - 1) if run.attempts < MAX_ATTEMPTS else None
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "error", "next_attempt_at", "finished_at", "file"])
        log.exception("monthly report run %s (shop %s) failed at %s", run.pk, run.shop_id, step)
        return run
    run.status = ReportRun.Status.DONE
    run.error = ""
    run.next_attempt_at = None
    run.finished_at = timezone.now()
    # Once emailed, a run left "running" by a dropped connection would be emailed again.
    record_done(
        lambda: run.save(
            update_fields=[
                "status", "error", "next_attempt_at", "finished_at", "file", "emailed_at", "emailed_to", "email_wanted"
            ]
        ),
        what=f"monthly report run {run.pk} done",
    )  # fmt: skip
    return run


def render_pdf(report: MonthlyReport) -> bytes:
    from reports.pdf import render_monthly_report  # WeasyPrint is heavy: load it only to render.

    return render_monthly_report(report)


def _store(run: ReportRun, pdf: bytes) -> None:
    """Keep the PDF in media storage, replacing the run's earlier file."""
    old_name = run.file.name
    run.file.save(file_name(run), ContentFile(pdf), save=False)
    ReportRun.objects.filter(pk=run.pk).update(file=run.file.name)
    if old_name and old_name != run.file.name:
        run.file.storage.delete(old_name)


def file_name(run: ReportRun) -> str:
    label = report_month(run.shop, run.period, Calendar(run.calendar)).label
    return f"{run.shop.slug}-{label}-{run.language}.pdf"


# --- Email -----------------------------------------------------------------------------------


def recipients(shop: Shop) -> list[str]:
    """The shop's managers and admins with an address, and the schedule's extra addresses."""
    found = Membership.objects.filter(shop=shop, role__in=READS_NUMBERS, user__is_active=True).exclude(user__email="")
    addresses = list(found.values_list("user__email", flat=True).order_by("user__email"))
    addresses += [line.strip() for line in schedule_of(shop).extra_recipients.splitlines() if line.strip()]
    # One email per address however it is capitalised, in the order first given.
    unique: dict[str, str] = {}
    for address in addresses:
        unique.setdefault(address.lower(), address)
    return list(unique.values())


@dataclass(frozen=True)
class _Mail:
    subject: str
    body: str


def send_report_email(run: ReportRun, report: MonthlyReport) -> int:
    """Email the stored PDF to the shop's managers; how many addresses it went to."""
    to = recipients(run.shop)
    if not to:
        log.warning("monthly report run %s: shop %s has no manager with an email address", run.pk, run.shop_id)
        return 0
    text = _report_mail(run, report)
    message = mail.message(EmailMessage, text.subject, text.body, from_email=settings.DEFAULT_FROM_EMAIL, to=to)
    with run.file.open("rb") as pdf:
        message.attach(file_name(run), pdf.read(), "application/pdf")
    message.send()
    return len(to)


def _report_mail(run: ReportRun, report: MonthlyReport) -> _Mail:
    with translation.override(run.language):
        context = {
            "report": report,
            "month": month_name(report.month, report.calendar, report.language),
            "link": settings.PUBLIC_URL + reverse("report_download", args=[run.pk]),
            "archive": settings.PUBLIC_URL + reverse("report_archive"),
        }
        subject = render_to_string("reports/email_subject.txt", context).strip()
        body = render_to_string("reports/email_body.txt", context)
    return _Mail(subject=" ".join(subject.split()), body=body)
