from celery import shared_task

from feedback import domain
from feedback.models import Response


@shared_task(name="feedback.tasks.analyse_response")
def analyse_response(*, response_id: int) -> None:
    response = Response.objects.filter(pk=response_id).first()
    if response is None:
        return
    domain.analyse_response(response)
