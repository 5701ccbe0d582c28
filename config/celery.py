import os
from typing import Any

from celery import Celery, Task
from celery.signals import task_postrun, task_prerun

from config import logging as log_context
from config import metrics

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("bazgasht")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# Each task's log lines carry its name and id, and its duration goes to the shared histogram
# that /metrics shows (config/metrics.py).
@task_prerun.connect
def _task_started(task_id: str, task: Task, **_: Any) -> None:
    log_context.task_started(task_id, task.name)
    metrics.task_started(task_id)


@task_postrun.connect
def _task_finished(task_id: str, task: Task, state: str | None = None, **_: Any) -> None:
    metrics.task_finished(task_id, task.name, state or "UNKNOWN")
    log_context.task_finished()
