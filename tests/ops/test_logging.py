import io
import json
import logging
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest

from config.logging import ContextFilter, JsonFormatter, RedactFilter, request_id, task_context
from surveys.tasks import send_due_invitations
from tests.conftest import ROOT, wait_until
from tests.ops.conftest import celery_worker_process


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """What the root logger writes, through the handler LOG_FORMAT=json configures."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)


def records(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_json_record_is_one_line_with_time_level_logger_message_and_context(json_log):
    request_token, task_token = request_id.set("req-12345678"), task_context.set(("surveys.tasks.x", "t-1"))
    try:
        logging.getLogger("bazgasht.test").warning("sent %d of %d", 3, 4)
    finally:
        request_id.reset(request_token)
        task_context.reset(task_token)
    try:
        raise ValueError("multi\nline")
    except ValueError:
        logging.getLogger("bazgasht.test").exception("it broke")

    first, second = records(json_log)
    assert set(first) == {"time", "level", "logger", "message", "request_id", "task_name", "task_id"}
    assert (first["level"], first["logger"], first["message"]) == ("WARNING", "bazgasht.test", "sent 3 of 4")
    assert (first["request_id"], first["task_name"], first["task_id"]) == ("req-12345678", "surveys.tasks.x", "t-1")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", str(first["time"]))
    # Outside a request or task those keys are left out; a traceback stays inside its one line.
    assert set(second) == {"time", "level", "logger", "message", "exception"}
    assert "ValueError: multi\nline" in str(second["exception"])
    assert len(json_log.getvalue().splitlines()) == 2


@pytest.mark.django_db
def test_the_proxys_request_id_is_echoed_and_on_every_line_of_the_request(client, json_log):
    answer = client.get("/no-such-page/", headers={"X-Request-ID": "3f2a9c0e5b7d4e61a8c9d0e1f2a3b4c5"})

    assert answer.status_code == 404
    assert answer["X-Request-ID"] == "3f2a9c0e5b7d4e61a8c9d0e1f2a3b4c5"
    # Django logs the 404 after the middleware has returned: the id must still be there.
    [line] = [entry for entry in records(json_log) if entry["logger"] == "django.request"]
    assert line["request_id"] == "3f2a9c0e5b7d4e61a8c9d0e1f2a3b4c5"
    logging.getLogger("bazgasht.test").warning("after the request")
    assert "request_id" not in records(json_log)[-1]


@pytest.mark.django_db
def test_without_a_usable_request_id_each_request_gets_a_new_one(client):
    plain = [client.get("/healthz")["X-Request-ID"] for _ in range(2)]
    refused = [
        client.get("/healthz", headers={"X-Request-ID": bad})["X-Request-ID"]
        for bad in ("x" * 500, "short", "spaces are not ids", "a\u00e9bcdefgh")
    ]

    for generated in plain + refused:
        assert re.fullmatch(r"[0-9a-f]{32}", generated)
    assert len(set(plain + refused)) == 6


def test_log_format_must_be_plain_or_json():
    started = subprocess.run(
        [sys.executable, "-c", "import config.settings"],
        cwd=ROOT, env={"PATH": "/usr/bin:/bin", "DEBUG": "true", "LOG_FORMAT": "xml"},
        capture_output=True, text=True, check=False,
    )  # fmt: skip

    assert started.returncode != 0
    assert "LOG_FORMAT='xml' is not supported" in started.stderr


@pytest.mark.django_db(transaction=True)
def test_a_worker_in_json_mode_writes_only_json_lines_naming_each_task(tmp_path):
    from config.celery import app

    app.control.purge()
    with celery_worker_process(tmp_path, "--pool=solo", LOG_FORMAT="json") as (_, log):
        ids = {send_due_invitations.delay().id for _ in range(3)}
        wait_until(lambda: ids <= finished_tasks(log.read_text()), what="the three tasks to be logged as done")
        # Read while it runs: on shutdown Celery prints a plain "Warm shutdown" notice (not a log record).
        lines = log.read_text().splitlines()

    entries = [json.loads(line) for line in lines]  # every line, not only some: a shipper reads them all
    done = [entry for entry in entries if entry["logger"] == "celery.app.trace"]
    # (An earlier test's beat may have left a sweep or two in the queue: those are logged alike.)
    assert ids <= {entry["task_id"] for entry in done}
    assert {entry["task_name"] for entry in done} == {"surveys.tasks.send_due_invitations"}
    assert all(str(entry["message"]).startswith("Task surveys.tasks.send_due_invitations[") for entry in done)


def finished_tasks(log: str) -> set[str]:
    """The ids in the worker's "Task ... succeeded" lines so far."""
    return {
        match.group(1)
        for line in log.splitlines()
        if '"celery.app.trace"' in line and (match := re.search(r'"task_id": "([^"]+)"', line))
    }


@pytest.mark.django_db
def test_a_database_error_in_the_log_leaves_out_the_rows_values():
    """PostgreSQL repeats the row in its error ("Key (shop_id, email)=(3, roya@...) already
    exists"): the log keeps the error and where it happened, not the customer. Shown through
    the handler settings.LOGGING configures (JSON here) and through a Celery worker's own."""
    from celery.signals import after_setup_logger
    from django.db import IntegrityError, connection, transaction

    from tests.factories import CustomerFactory

    first = CustomerFactory(email="roya.ahmadi@example.com", phone="+989351112233")
    [console] = [handler for handler in logging.getLogger().handlers if handler.name == "console"]
    console_log = io.StringIO()
    stream = console.setStream(console_log)
    worker_log = io.StringIO()
    worker = logging.getLogger("celery.worker.test")  # as a worker in plain mode sets its logger up
    worker.addHandler(logging.StreamHandler(worker_log))
    worker.propagate = False
    after_setup_logger.send(sender=None, logger=worker, loglevel=logging.INFO, logfile=None, format="", colorize=False)
    try:
        with pytest.raises(IntegrityError) as raised, transaction.atomic():
            CustomerFactory(shop=first.shop, email=first.email, phone=first.phone)
        logging.getLogger("bazgasht.test").error("could not store a customer", exc_info=raised.value)
        worker.error("Task x[1] raised unexpected: %r", raised.value, exc_info=raised.value)
    finally:
        worker.handlers.clear()
        console.setStream(stream)

    if connection.vendor == "postgresql":
        assert "roya.ahmadi@example.com" in str(raised.value)  # what there was to leave out
    for written in (console_log.getvalue(), worker_log.getvalue()):
        assert "IntegrityError" in written
        assert "roya" not in written
        assert "9351112233" not in written


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("SMTP 550 <roya.ahmadi+shop@mail.example.ir> unknown", "SMTP 550 <<email>> unknown"),
        ("no route for +989351112233 or 09351112233", "no route for <phone> or <phone>"),
        ("order 1234567890123 at 2026-11-24 02:45", "order 1234567890123 at 2026-11-24 02:45"),  # ids stay
    ],
)
def test_redact_takes_addresses_and_numbers_out_of_error_text(text, redacted):
    from config.logging import redact

    assert redact(text) == redacted
