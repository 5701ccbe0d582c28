"""Feedback's Celery tasks, thin: reading a fresh answer, the sweep of forgotten ones, alerts, and
retraining the shops' sentiment models."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.celery import hand_over
from feedback import comments, domain
from feedback.casework import alerts
from feedback.models import FollowUp, Response


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
        alerts.queue_alert(case)  # the sweep sends it if the task below never comes
        transaction.on_commit(lambda: hand_over(alert_case, left_for="the alert sweep", case_id=case.pk))
    return case


@shared_task(name="feedback.tasks.alert_case")
def alert_case(*, case_id: int) -> None:
    """An urgent case's alert, at once; a failure waits in its row for the sweep (send_due_alerts)."""
    case = FollowUp.objects.select_related("shop").filter(pk=case_id).first()
    if case is not None and alerts.wants_alert(case):
        alerts.queue_alert(case)
        alerts.send_due_alerts(case_id=case_id)


@shared_task(name="feedback.tasks.send_due_alerts")
def send_due_alerts() -> int:
    """On the beat: alerts whose next try has come, and those whose task never came."""
    return alerts.send_due_alerts()


@shared_task(name="feedback.tasks.retrain_shop_models")
def retrain_shop_models() -> int:
    """On the beat: each shop's own sentiment model, retrained when enough new scored comments came in."""
    return comments.retrain_shop_models()
