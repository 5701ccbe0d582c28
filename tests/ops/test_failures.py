"""What happens when a part fails, on the real processes: gunicorn, a Celery worker with its beat,
PostgreSQL, a Redis server and an SMTP server.

Two more failures are shown elsewhere:
- SMTP down: the send is retried with a backoff, then recorded as failed
  (tests/surveys/test_sending.py::test_smtp_down_retries_with_backoff_then_records_failure);
- a worker killed mid-task: its claims are taken over once their lease runs out, nothing is lost and at
  most the one email in flight goes out twice (tests/surveys/test_worker_crash.py).
"""

import subprocess
import sys
import time
from collections import Counter

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from surveys.intake.api_keys import create_api_key
from surveys.intake.orders import CustomerDetails, record_order
from surveys.models import Invitation, Order
from tests.conftest import ROOT, wait_until
from tests.ops.conftest import PostgresServer, RedisServer, app_env, celery_worker_process, gunicorn


def order(number: int) -> dict[str, object]:
    return {
        "external_id": f"R-{number}",
        "total": "20.00",
        "currency": "EUR",
        # Now, as the processes' clocks read it: an order of months ago is not surveyed.
        "placed_at": timezone.now().isoformat(),
        "customer": {"email": f"c{number}@example.com"},
    }


@pytest.mark.django_db(transaction=True)
def test_with_redis_down_orders_are_still_accepted_and_their_surveys_go_out_once_it_is_back(tmp_path, mailbox, shop):
    broker = RedisServer(tmp_path)
    broker.start()
    _, key = create_api_key(shop, name="outage")
    auth = {"Authorization": f"Bearer {key}"}
    parts = {"REDIS_URL": broker.url, "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(settings.EMAIL_PORT)}
    try:
        with (
            gunicorn(tmp_path, **parts) as web,
            celery_worker_process(tmp_path, "-B", "--pool=solo", SEND_SWEEP_SECONDS="1", **parts),
        ):
            assert web.request("POST", "/api/v1/orders", body=order(0), headers=auth)[0] == 201
            mailbox.wait_for(1, timeout=60)

            broker.stop()
            ready = web.request("GET", "/readyz")
            accepted = [web.request("POST", "/api/v1/orders", body=order(n), headers=auth)[0] for n in range(1, 6)]
            time.sleep(3)  # three sweeps' time: nothing can be sent while the broker is away
            sent_during_outage = len(mailbox.messages)

            broker.start()  # same port, and empty: whatever the broker held is gone
            mailbox.wait_for(6, timeout=90)
            ready_again = web.request("GET", "/readyz")
    finally:
        broker.stop()

    assert accepted == [201] * 5
    assert (ready[0], ready[1]["failed"]) == (503, ["broker"])
    assert sent_during_outage == 1
    assert (ready_again[0], ready_again[1]["failed"]) == (200, [])
    assert Order.objects.filter(shop=shop).count() == 6
    assert set(Invitation.objects.filter(shop=shop).values_list("status", flat=True)) == {"sent"}
    received = Counter(message["To"] for message in mailbox.messages)
    assert received == {f"c{n}@example.com": 1 for n in range(6)}


@pytest.mark.postgresql_only(reason="drops PostgreSQL's connections")
@pytest.mark.django_db(transaction=True)
def test_web_and_workers_reconnect_after_postgresql_drops_every_connection(tmp_path, celery_worker, mailbox, shop):
    # The shared PostgreSQL cannot be restarted here; terminating every connection to the test database
    # is what a restart does to the processes' connections.
    with gunicorn(tmp_path) as web:
        assert web.request("GET", "/readyz")[0] == 200
        new_order(shop, 0)
        mailbox.wait_for(1, timeout=60)

        dropped = terminate_other_connections()
        ready = web.request("GET", "/readyz")
        for number in range(1, 4):
            new_order(shop, number)
        mailbox.wait_for(4, timeout=60)

    assert dropped >= 2  # at least a web process's and the worker's
    assert (ready[0], ready[1]["failed"]) == (200, [])
    # The SMTP server has the fourth email a moment before the worker records it as sent.
    wait_until(
        lambda: set(Invitation.objects.filter(shop=shop).values_list("status", flat=True)) == {"sent"},
        what="every invitation recorded as sent",
    )
    assert sorted(message["To"] for message in mailbox.messages) == [f"c{n}@example.com" for n in range(4)]


def terminate_other_connections() -> int:
    """Ends every other session on this test database, as a PostgreSQL restart would."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def new_order(shop: object, number: int) -> None:
    record_order(shop, external_id=f"P-{number}", customer=CustomerDetails(email=f"c{number}@example.com"),
                 total=10, currency="EUR", placed_at=timezone.now())  # fmt: skip


@pytest.mark.parametrize("pool", ["--pool=threads", "--pool=prefork"])
@pytest.mark.django_db(transaction=True)
def test_a_worker_rides_out_a_redis_restart_mid_batch_and_sends_every_email_once(tmp_path, mailbox, shop, pool):
    broker = RedisServer(tmp_path)
    broker.start()
    mailbox.delay = 0.25  # a slow SMTP server: the batch is still going when Redis goes away
    parts = {"REDIS_URL": broker.url, "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(settings.EMAIL_PORT)}
    try:
        with celery_worker_process(tmp_path, "-B", pool, "--concurrency=2", SEND_SWEEP_SECONDS="1", **parts) as (
            worker,
            log,
        ):
            for number in range(24):
                new_order(shop, number)
            mailbox.wait_for(2, timeout=60)

            broker.stop()
            time.sleep(6)  # longer than a blip: the worker's connection is gone, not just slow
            broker.start()  # same port, and empty
            # Orders that arrive afterwards are sent by the same worker, which carried on by itself.
            for number in range(24, 30):
                new_order(shop, number)

            mailbox.wait_for(30, timeout=120)
            wait_until(
                lambda: set(Invitation.objects.filter(shop=shop).values_list("status", flat=True)) == {"sent"},
                timeout=60, what="every invitation recorded as sent",
            )  # fmt: skip
            alive = worker.poll() is None
    finally:
        broker.stop()

    output = log.read_text(errors="replace")
    assert alive, output[-5000:]
    assert "Unrecoverable error" not in output
    received = Counter(message["To"] for message in mailbox.messages)
    assert received == {f"c{n}@example.com": 1 for n in range(30)}


SEED = """
from django.utils import timezone
from surveys.intake.orders import CustomerDetails, record_order
from tests.factories import SurveyFactory
shop = SurveyFactory().shop
for number in range({count}):
    record_order(shop, external_id=f"P-{{number}}", customer=CustomerDetails(email=f"c{{number}}@example.com"),
                 total=10, currency="EUR", placed_at=timezone.now())
"""


@pytest.mark.postgresql_only(reason="restarts a PostgreSQL server of its own; SQLite has no server to restart")
def test_a_worker_rides_out_a_postgresql_restart_mid_batch_sending_each_email_once(tmp_path, mailbox):
    server = PostgresServer()
    count = 16
    try:
        server.create("bazgasht_restart")
        database = {"DATABASE_URL": server.url("bazgasht_restart"), "DEBUG": "true"}
        for command in (["migrate", "--no-input", "--verbosity=0"], ["shell", "-c", SEED.format(count=count)]):
            subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=app_env(**database), check=True)
        mailbox.delay = 0.3  # a slow SMTP server: the batch is still going when the database goes away
        parts = {**database, "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(settings.EMAIL_PORT)}
        with celery_worker_process(tmp_path, "-B", "--pool=solo", SEND_SWEEP_SECONDS="1", **parts):
            mailbox.wait_for(3, timeout=60)
            server.stop()  # a restart of several seconds, every connection dropped
            time.sleep(5)
            server.start()
            # Well within the claims' ten-minute lease: the batch carries on by itself.
            mailbox.wait_for(count, timeout=90)

            def statuses() -> set[str]:
                with psycopg.connect(server.url("bazgasht_restart")) as db:
                    return {status for (status,) in db.execute("SELECT status FROM surveys_invitation")}

            wait_until(lambda: statuses() == {"sent"}, what="every invitation recorded as sent")
            time.sleep(3)  # a few more sweeps: nothing goes out again
    finally:
        server.remove()

    received = Counter(message["To"] for message in mailbox.messages)
    assert received == {f"c{n}@example.com": 1 for n in range(count)}
