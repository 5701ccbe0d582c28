import smtplib
from datetime import timedelta

from celery import Task, shared_task
from django.conf import settings
from django.utils import timezone

from feedback import alerts, domain
from feedback.models import CaseEvent, FollowUp, Response


@shared_task(name="feedback.tasks.analyse_response")
def analyse_response(*, response_id: int) -> None:
    response = Response.objects.filter(pk=response_id).first()
    if response is not None:
        _read(response)


@shared_task(name="feedback.tasks.read_forgotten_answers")
def read_forgotten_answers() -> int:
    """On the beat: answers whose reading never came (the broker was away, a worker died)."""
    waited = timedelta(seconds=settings.ANALYSIS_SWEEP_SECONDS)
    return domain.read_forgotten(now=timezone.now(), waited=waited, read=_read)


def _read(response: Response) -> FollowUp | None:
    """Read the answers and alert for an urgent case: the same for a fresh answer and a forgotten one."""
    case = domain.analyse_response(response)
    if case is not None and alerts.wants_alert(case):
        alert_case.delay_on_commit(case_id=case.pk)
    return case


@shared_task(bind=True, name="feedback.tasks.alert_case", max_retries=8)
def alert_case(self: Task, *, case_id: int) -> None:
    """Email and webhook for an urgent case, each once; a failure is retried with growing pauses."""
    case = FollowUp.objects.select_related("shop", "assignee", "response__customer").filter(pk=case_id).first()
    if case is None or not alerts.wants_alert(case):
        return
    sent = list(CaseEvent.objects.filter(follow_up=case, action="alerted").values_list("detail", flat=True))
    try:
        if not any("email" in detail for detail in sent):
            alerts.email_alert(case)
        if not any("webhook" in detail for detail in sent):
            alerts.webhook_alert(case, attempt=self.request.retries + 1)
    except (alerts.WebhookFailed, smtplib.SMTPException, OSError) as error:
        # 30 s, 1 min, 2 min … about 2 hours in all.
        raise self.retry(exc=error, countdown=30 * 2**self.request.retries) from error
