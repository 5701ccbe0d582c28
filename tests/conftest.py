import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings as django_settings
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test import Client

from surveys.intake.api_keys import create_api_key
from surveys.models import Membership
from tests import clock
from tests.factories import SurveyFactory

ROOT = Path(__file__).resolve().parent.parent
ON_POSTGRESQL = django_settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "postgresql_only(reason): needs PostgreSQL itself (not run on SQLite, and the summary says so)"
    )
    config.addinivalue_line(
        "markers", "calendar: depends on the day it runs; CI runs these on the days calendars turn (tests/clock.py)"
    )
    config.stash[_CLOCK] = clock.travel_for_the_session()
    # A Redis named in the environment must answer: a missing one is a failure, not a skip. (A
    # PostgreSQL that does not answer fails every test that needs the database, as it should.)
    problems = []
    if django_settings.REDIS_URL:
        import redis

        try:
            redis.Redis.from_url(django_settings.REDIS_URL, socket_connect_timeout=3).ping()
        except redis.RedisError as error:
            problems.append(f"Redis at {django_settings.REDIS_URL} does not answer: {error}")
    if problems:
        raise pytest.UsageError("; ".join(problems))


_CLOCK = pytest.StashKey[Any]()
_NOT_HERE = pytest.StashKey[list[tuple[str, str]]]()


def pytest_report_header(config: pytest.Config) -> list[str]:
    database = "PostgreSQL" if ON_POSTGRESQL else "SQLite"
    broker = "Redis" if django_settings.REDIS_URL else "a folder"
    moment = config.stash[_CLOCK]
    today = f"as if it were {moment.isoformat()} ({clock.NOW})" if moment else "on the real clock"
    return [f"bazgasht: {database}, the broker is {broker}, {today}"]


@pytest.hookimpl(trylast=True)  # after -k and -m chose theirs: only those are named
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that need PostgreSQL itself are left out on SQLite: named in the summary, not skipped."""
    left_out: list[tuple[str, str]] = []
    if not ON_POSTGRESQL:
        kept = []
        for item in items:
            marker = item.get_closest_marker("postgresql_only")
            if marker is None:
                kept.append(item)
            else:
                left_out.append((item.nodeid, marker.kwargs.get("reason") or marker.args[0]))
        if left_out:
            config.hook.pytest_deselected(items=[item for item in items if item not in kept])
            items[:] = kept
    config.stash[_NOT_HERE] = left_out


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    left_out = config.stash.get(_NOT_HERE, [])
    if left_out:
        terminalreporter.section("needs PostgreSQL: run with DATABASE_URL=postgres://...")
        for nodeid, reason in left_out:
            terminalreporter.write_line(f"{nodeid}: {reason}")


@pytest.fixture(autouse=True)
def _media_in_tmp(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    """Each test starts with no requests counted (the counters live in the shared cache)."""
    yield
    if django_settings.REDIS_URL:
        import redis

        client = redis.Redis.from_url(django_settings.REDIS_URL)
        keys = list(client.scan_iter("bazgasht:rate:*"))
        if keys:
            client.delete(*keys)
    else:
        from django.core.cache import cache

        cache.clear()


# --- SMTP: a real server on a free local port ------------------------------------------


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._arrived = threading.Condition()
        # Seconds the server takes over each message: a slow server, for crash tests.
        self.delay = 0.0
        # Called while a message is being taken, before the server answers: a failure elsewhere
        # at the worst moment, for failure tests.
        self.while_receiving: Callable[[], None] | None = None

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        # Like a real server, refuse a mailbox that does not exist.
        if address.startswith("nobody@"):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.while_receiving:
            self.while_receiving()
        with self._arrived:
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
            self._arrived.notify_all()
        return "250 OK"

    def wait_for(self, count: int, *, timeout: float = 30) -> list[EmailMessage]:
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.messages) >= count, timeout=timeout)
        assert len(self.messages) >= count, f"expected {count} email(s), got {len(self.messages)}"
        return self.messages


def drop_database_connection_while_receiving(mailbox: Mailbox) -> int:
    """Have the SMTP server end this process's PostgreSQL connection while it takes the next
    message, as a database restart would at the worst moment; the backend's pid."""
    import psycopg
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    params = {key: value for key, value in connection.get_connection_params().items() if key != "cursor_factory"}

    def terminate() -> None:
        mailbox.while_receiving = None
        with psycopg.connect(**params, autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s)", [pid])

    mailbox.while_receiving = terminate
    return pid


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def mailbox(settings: Any) -> Iterator[Mailbox]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    try:
        yield box
    finally:
        controller.stop()


def body_of(message: EmailMessage, subtype: str = "plain") -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None
    return part.get_content()


# --- Shops and API clients -------------------------------------------------------------


@pytest.fixture
def survey(db: None) -> Any:
    return SurveyFactory()


@pytest.fixture
def shop(survey: Any) -> Any:
    return survey.shop


@pytest.fixture
def api(shop: Any) -> Client:
    _, key = create_api_key(shop, name="test")
    return Client(headers={"Authorization": f"Bearer {key}"})


@pytest.fixture
def other_api(db: None) -> Client:
    _, key = create_api_key(SurveyFactory().shop, name="other")
    return Client(headers={"Authorization": f"Bearer {key}"})


@pytest.fixture
def staff_of(db: None) -> Callable[[Any], User]:
    """A staff user with a membership in the given shop: a manager unless `role` says otherwise."""

    def make(shop, role: str = Membership.Role.MANAGER) -> User:
        user = User.objects.create_user(f"staff-{role}-{shop.slug}", password="a-long-test-password", is_staff=True)
        user.user_permissions.set(
            Permission.objects.filter(content_type__app_label__in=["surveys", "reports", "feedback", "sentiment"])
        )
        Membership.objects.create(user=user, shop=shop, role=role)
        return user

    return make


# --- A real Celery worker (with its beat) in its own process ----------------------------


def _database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def celery_worker(transactional_db: None, mailbox: Mailbox, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`celery worker -B` against the test database, the test broker and the test's SMTP server."""
    from config.celery import app

    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(app.conf.task_default_queue)
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_QUEUE": app.conf.task_default_queue,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(django_settings.EMAIL_PORT),
        "MEDIA_ROOT": str(django_settings.MEDIA_ROOT),
        "SEND_SWEEP_SECONDS": "1",
        "DEBUG": "true",
    }
    if not django_settings.REDIS_URL:
        env["CELERY_BROKER_DIR"] = str(Path(django_settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]).parent)
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-B", "--pool=solo", "--loglevel=INFO",
             f"--schedule={tmp_path / 'beat-schedule'}", "--without-mingle", "--without-gossip"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            # Its own process group: -B runs the beat in a child process, which must end with it
            # even when a test kills the worker outright (see kill_worker).
            start_new_session=True,
        )  # fmt: skip
        try:
            yield worker
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
            kill_worker(worker)  # whatever is left of the group: an orphaned beat would keep sending
            # Shown by pytest only when the test failed.
            print(log.read_text(errors="replace")[-20_000:])


def kill_worker(worker: subprocess.Popen[bytes]) -> None:
    """SIGKILL to the worker and its beat, as when their machine dies."""
    with contextlib.suppress(ProcessLookupError):  # already gone, group and all
        os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()


def wait_until(condition: Callable[[], Any], *, timeout: float = 30, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
