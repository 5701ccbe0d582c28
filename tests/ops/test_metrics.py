from datetime import timedelta

import pytest
import redis
from celery import Celery
from django.conf import settings as django_settings
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from config import metrics
from config.celery import app
from feedback.casework.flagging import flag_response
from feedback.models import FollowUp, Response
from surveys.models import Invitation
from surveys.tasks import send_due_invitations
from tests.conftest import wait_until
from tests.factories import InvitationFactory, ResponseFactory
from tests.ops.conftest import RedisServer, celery_worker_process

TOKEN = "metrics-test-token-0123456789"


@pytest.fixture
def scrape(client, settings):
    """Scrapes /metrics as Prometheus would; the text is parsed by prometheus_client's own parser."""
    settings.METRICS_TOKEN = TOKEN

    def get() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        answer = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert answer.status_code == 200
        assert answer["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        samples = {}
        for family in text_string_to_metric_families(answer.content.decode()):
            for sample in family.samples:
                samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return samples

    return get


@pytest.fixture
def empty_queue():
    """The test queue, emptied before and after."""
    app.control.purge()
    yield
    app.control.purge()


@pytest.fixture
def own_redis(tmp_path, settings):
    """A Redis of this test's own, which this process's metrics read (and a worker given its URL writes)."""
    server = RedisServer(tmp_path)
    server.start()
    settings.REDIS_URL = server.url
    metrics._redis.cache_clear()
    try:
        yield server
    finally:
        metrics._redis.cache_clear()
        server.stop()


@pytest.mark.django_db
def test_metrics_do_not_exist_without_a_token_and_refuse_a_wrong_one(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404

    settings.METRICS_TOKEN = TOKEN
    for given in ({}, {"Authorization": "Bearer nope"}, {"Authorization": TOKEN}):
        answer = client.get("/metrics", headers=given)
        assert (answer.status_code, answer["WWW-Authenticate"]) == (401, 'Bearer realm="metrics"')
        assert b"bazgasht_" not in answer.content


@pytest.mark.django_db
def test_metrics_count_invitations_responses_and_cases_in_the_database(scrape, django_assert_num_queries):
    now = timezone.now()
    InvitationFactory(status=Invitation.Status.SCHEDULED, send_at=now - timedelta(minutes=10))  # due, not sent
    InvitationFactory(status=Invitation.Status.SCHEDULED, send_at=now + timedelta(days=1))
    InvitationFactory.create_batch(2, status=Invitation.Status.SENT, sent_at=now)
    InvitationFactory(status=Invitation.Status.FAILED, reason="gave up")
    unread = ResponseFactory(invitation__sent_at=now, completed_at=None)
    Response.objects.filter(pk=unread.pk).update(analysis_wanted_at=now - timedelta(minutes=5))
    detractor = ResponseFactory(invitation__sent_at=now, score=2, comment="Broken.")
    case = flag_response(detractor, now=now - timedelta(days=30))  # long overdue by now
    FollowUp.objects.create(
        shop=detractor.shop, response=ResponseFactory(invitation__sent_at=now), status=FollowUp.Status.RESOLVED
    )

    with django_assert_num_queries(4):  # grouped counts and oldest times: the same four however many rows
        samples = scrape()

    def value(name: str, **labels: str) -> float:
        return samples[(name, tuple(sorted(labels.items())))]

    invitations = {status: value("bazgasht_invitations", status=status) for status in Invitation.Status.values}
    assert invitations == {
        **dict.fromkeys(Invitation.Status.values, 0),
        "scheduled": 2, "sent": 2, "failed": 1, "answered": 3,
    }  # fmt: skip
    assert value("bazgasht_invitations_sent") == 5  # the two sent and the three answered
    assert (value("bazgasht_responses"), value("bazgasht_responses_completed")) == (3, 2)
    assert value("bazgasht_responses_unread") == 1
    # How long the oldest waits: a dead worker or scheduler shows here within minutes.
    assert 600 <= value("bazgasht_oldest_due_invitation_seconds") < 660
    assert 300 <= value("bazgasht_oldest_unread_response_seconds") < 360
    assert value("bazgasht_cases", status=case.status) == 1
    assert value("bazgasht_cases", status="resolved") == 1
    assert (value("bazgasht_cases_open"), value("bazgasht_cases_overdue")) == (1, 1)
    assert value("bazgasht_metrics_source_up", source="database") == 1
    assert value("bazgasht_metrics_source_up", source="broker") == 1


@pytest.mark.django_db
def test_queue_depth_is_the_number_of_tasks_waiting_in_the_broker(scrape, empty_queue):
    queue = django_settings.CELERY_TASK_DEFAULT_QUEUE
    assert scrape()[("bazgasht_queue_depth", (("queue", queue),))] == 0

    for _ in range(3):
        send_due_invitations.delay()  # no worker runs: they wait in the broker (Redis, or the folder)

    assert scrape()[("bazgasht_queue_depth", (("queue", queue),))] == 3


@pytest.mark.django_db(transaction=True)
def test_task_durations_from_several_worker_processes_add_up_in_one_histogram(scrape, own_redis, tmp_path):
    name, queue = "surveys.tasks.send_due_invitations", django_settings.CELERY_TASK_DEFAULT_QUEUE
    stored = redis.Redis.from_url(own_redis.url)
    # Not the current app: shared tasks called by later tests must keep using config.celery's.
    producer = Celery("ops-test", broker=own_redis.url, set_as_current=False)
    with celery_worker_process(tmp_path, "--pool=prefork", "--concurrency=2", REDIS_URL=own_redis.url):
        for _ in range(6):
            producer.send_task(name, queue=queue)
        wait_until(lambda: stored.hget(metrics._histogram_key(), f"{name}|SUCCESS|count") == b"6",
                   what="six task durations in Redis")  # fmt: skip
    producer.close()

    # Scraped by this process, which ran none of them: the figures live in Redis, not in a worker.
    samples = scrape()
    labels = (("state", "SUCCESS"), ("task", name))
    assert samples[("bazgasht_task_duration_seconds_count", labels)] == 6
    buckets = [
        samples[("bazgasht_task_duration_seconds_bucket", (("le", str(b)), *labels))] for b in metrics.TASK_BUCKETS
    ]
    assert buckets == sorted(buckets)  # cumulative
    assert samples[("bazgasht_task_duration_seconds_bucket", (("le", "+Inf"), *labels))] == 6
    assert buckets[-1] == 6  # none took five minutes
    assert 0 < samples[("bazgasht_task_duration_seconds_sum", labels)] < 6 * 60
    assert samples[("bazgasht_queue_depth", (("queue", queue),))] == 0
    # The workers' sign of life: a task finished a moment ago.
    assert 0 <= samples[("bazgasht_worker_last_task_seconds", (("queue", queue),))] < 60


def test_a_task_duration_that_cannot_be_stored_does_not_fail_the_task(settings, caplog):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    metrics._redis.cache_clear()
    try:
        metrics.task_started("t-1")
        metrics.task_finished("t-1", "surveys.tasks.send_due_invitations", "SUCCESS")
    finally:
        metrics._redis.cache_clear()

    assert "task duration not recorded" in caplog.text
