"""Every answer that needs reading (sentiment, flags) is read: by its task, or later by the sweep."""

import logging
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from feedback.answer_page.answering import open_link, save_answers
from feedback.domain import analyse_response, read_forgotten
from feedback.models import FlagRules, FollowUp, Response
from feedback.tasks import read_forgotten_answers
from surveys import ratelimit
from tests.factories import ResponseFactory, SurveyFactory
from tests.feedback.test_answer_page import sent_invitation

pytestmark = pytest.mark.django_db


def test_a_confirmed_score_and_a_finished_response_are_marked_as_waiting_to_be_read(django_capture_on_commit_callbacks):
    _, link_path = sent_invitation(survey=SurveyFactory())
    token = link_path.split("/")[2]
    link = open_link(token)
    score, comment = link.questions

    with django_capture_on_commit_callbacks() as handed_over:
        response = save_answers(link, {score.pk: 3}, language="en", finish=False)
    first_mark = Response.objects.get(pk=response.pk).analysis_wanted_at
    analyse_response(Response.objects.get(pk=response.pk))
    read = Response.objects.get(pk=response.pk).analysis_wanted_at

    with time_machine.travel(timezone.now() + timedelta(minutes=1)):
        save_answers(open_link(token), {comment.pk: "It broke."}, language="en", finish=True)
    second_mark = Response.objects.get(pk=response.pk).analysis_wanted_at

    assert len(handed_over) == 1  # and to a worker, after commit
    assert first_mark is not None
    assert read is None
    assert second_mark is not None
    assert second_mark > first_mark


def test_a_reading_leaves_the_mark_of_answers_changed_while_it_ran():
    response = ResponseFactory(score=3)
    Response.objects.filter(pk=response.pk).update(analysis_wanted_at=timezone.now() - timedelta(minutes=1))
    seen = Response.objects.get(pk=response.pk)
    changed_meanwhile = timezone.now()
    Response.objects.filter(pk=response.pk).update(analysis_wanted_at=changed_meanwhile)

    analyse_response(seen)

    assert Response.objects.get(pk=response.pk).analysis_wanted_at == changed_meanwhile


def test_the_sweep_reads_only_answers_that_waited_too_long_oldest_first():
    now = timezone.now()
    waiting = {
        minutes: ResponseFactory(score=score, comment="Broken on arrival.")
        for minutes, score in [(30, 2), (10, 1), (2, 0)]
    }
    for minutes, response in waiting.items():
        Response.objects.filter(pk=response.pk).update(analysis_wanted_at=now - timedelta(minutes=minutes))
    read_already = ResponseFactory(score=1)

    assert read_forgotten(now=now, waited=timedelta(minutes=5), limit=1) == 1
    assert set(FollowUp.objects.values_list("response", flat=True)) == {waiting[30].pk}
    assert read_forgotten(now=now, waited=timedelta(minutes=5)) == 1
    assert read_forgotten(now=now, waited=timedelta(minutes=5)) == 0

    unread = set(Response.objects.filter(analysis_wanted_at__isnull=False).values_list("pk", flat=True))
    assert unread == {waiting[2].pk}  # not yet given up on: its own reading may still come
    assert not FollowUp.objects.filter(response=read_already).exists()
    assert FollowUp.objects.get(response=waiting[10]).reasons == ["detractor", "negative_comment", "keyword"]


def test_the_rate_limit_lets_requests_through_when_redis_is_unreachable(settings, caplog, monkeypatch):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    monkeypatch.setattr(ratelimit, "_warned_at", 0.0)
    ratelimit._redis.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger="surveys.ratelimit"):
            verdicts = [ratelimit.hit("answer-ip", "203.0.113.9", rate=(1, 60)) for _ in range(3)]
    finally:
        ratelimit._redis.cache_clear()

    assert [verdict.allowed for verdict in verdicts] == [True, True, True]
    assert [record.getMessage() for record in caplog.records] == [
        "rate limits are not counted: Redis is unreachable (Error 111 connecting to 127.0.0.1:1. Connection refused.)"
    ]


@pytest.mark.django_db(transaction=True)
def test_an_urgent_answer_found_by_the_sweep_alerts_like_any_other(celery_worker, mailbox):
    # Its reading was lost with the broker: the sweep reads it, and the worker emails the on-call address.
    response = ResponseFactory(score=0, comment="Broken on arrival, I want a refund.")
    FlagRules.objects.create(shop=response.shop, alert_email="oncall@shop.example")
    Response.objects.filter(pk=response.pk).update(analysis_wanted_at=timezone.now() - timedelta(hours=1))

    assert read_forgotten_answers() == 1

    [message] = mailbox.wait_for(1, timeout=60)
    assert message["To"] == "oncall@shop.example"
    assert FollowUp.objects.get(response=response).priority == FollowUp.Priority.URGENT
