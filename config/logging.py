"""Log plumbing: JSON lines for log shippers, and the request id that ties a request's lines together.

`LOG_FORMAT=json` writes one JSON object a line (time, level, logger, message, request_id, and in
a Celery worker task / task_id); the default plain format is for a terminal (`make run`). Log
calls carry ids, never personal data: nothing here adds any (the request id is random or the
proxy's, the task's arguments are not logged).
"""

import json
import logging
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime

from django.core.signals import request_finished
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

REQUEST_ID_HEADER = "X-Request-ID"
# A proxy's id is honoured only when it looks like one (nginx's $request_id is 32 hex digits, a
# UUID has dashes): anything else, a newline or a 10 kB header, would end up in every log line.
_ACCEPTED_ID = re.compile(r"[A-Za-z0-9._-]{8,128}")

# Set for the length of a request (RequestIdMiddleware) or of a task (config/celery.py's signals).
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
task_context: ContextVar[tuple[str, str] | None] = ContextVar("task_context", default=None)


class RequestIdMiddleware:
    """Gives each request an id, the proxy's `X-Request-ID` if it sent a usable one, and echoes it.

    First in MIDDLEWARE, so every line logged while answering, and every response (redirects and
    errors included), carries it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        current = given if _ACCEPTED_ID.fullmatch(given) else uuid.uuid4().hex
        # Not reset on the way out: Django logs a 4xx/5xx ("Not Found: ...") after the middleware
        # has returned. request_finished (below) clears it once the response is sent.
        request_id.set(current)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = current
        return response


@receiver(request_finished)
def _request_done(**_: object) -> None:
    request_id.set(None)


class ContextFilter(logging.Filter):
    """Puts the current request id and task on every record (None outside a request or task)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        task = task_context.get()
        record.task_name, record.task_id = task if task else (None, None)
        return True


# What an error's text may carry that a log must not. PostgreSQL repeats a row's values in its
# DETAIL line ("Key (shop_id, email)=(3, roya@example.com) already exists", "Failing row
# contains (...)"); libraries put addresses and numbers in their messages. Our own log calls
# carry ids only; this is for the text of errors we did not write.
_DATABASE_DETAIL = re.compile(r"^(\s*DETAIL:).*$", re.MULTILINE)
_EMAIL = re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<![\w+])(?:\+\d{10,15}|0{1,2}9\d{9,12})(?!\d)")  # international, and Iranian mobiles


def redact(text: str) -> str:
    """`text` without database row values, email addresses and phone numbers."""
    text = _DATABASE_DETAIL.sub(r"\1 (the row's values are left out of logs)", text)
    return _PHONE.sub("<phone>", _EMAIL.sub("<email>", text))


class RedactFilter(logging.Filter):
    """Redacts (`redact`) a record's message and error text before any handler formats it: on
    our handlers (settings.LOGGING) and on a Celery worker's own (config/celery.py)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            # Formatters use exc_text when it is set, so each writes the redacted traceback.
            record.exc_text = redact(_TRACEBACKS.formatException(record.exc_info))
        return True


_TRACEBACKS = logging.Formatter()


class JsonFormatter(logging.Formatter):
    """One JSON object a line; keys absent when they do not apply (no request, no task, no error)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "task_name", "task_id"):
            value = getattr(record, key, None)
            if value:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = record.exc_text or redact(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def task_started(task_id: str, task_name: str) -> None:
    task_context.set((task_name, task_id))


def task_finished() -> None:
    task_context.set(None)
