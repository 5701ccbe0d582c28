"""The Celery app: its settings from Django's, each task's log context and duration (for /metrics),
and `hand_over`, which queues a task without failing when the broker is away."""

import logging
import os
from typing import Any

from celery import Celery, Signature, Task
from celery.signals import after_setup_logger, after_setup_task_logger, task_postrun, task_prerun
from kombu.exceptions import OperationalError

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


# In plain mode a worker logs through its own handlers (CELERY_WORKER_HIJACK_ROOT_LOGGER): they
# redact what errors carry as ours do ("Task ... raised unexpected: IntegrityError(... DETAIL ...)").
@after_setup_logger.connect
@after_setup_task_logger.connect
def _redact_worker_logs(logger: logging.Logger, **_: Any) -> None:
    for handler in logger.handlers:
        if not any(isinstance(f, log_context.RedactFilter) for f in handler.filters):
            handler.addFilter(log_context.RedactFilter())


log = logging.getLogger(__name__)


def hand_over(task: Task | Signature, *args: Any, left_for: str, **kwargs: Any) -> bool:
    """Queue `task`, whose work the database also marks as undone so a sweep finds it if this fails.

    With the broker unreachable it logs a warning naming what is left (`left_for`: "the sweep of
    ...") and returns False, and the caller goes on: a customer's answer or a manager's request
    must not fail because Redis is away.
    """
    try:
        task.apply_async(args=args, kwargs=kwargs)
    except OperationalError:
        log.warning("broker unreachable: %s %s is left for %s", task.name, args or kwargs, left_for)
        return False
    return True
