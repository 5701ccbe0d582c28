"""Customers answer while Redis (rate limits and broker) is down, and nothing they said is left unread.

The answer page counts its rate limits in Redis and hands the reading of an answer (sentiment,
flags) to a worker through Redis. With Redis away the limits let requests through and the
reading is left to the sweep, which finds every answer still unread once the workers run again.
"""

import re

import pytest
import requests

from feedback.models import FollowUp, Response
from sentiment.models import SentimentScore
from tests.conftest import wait_until
from tests.factories import SurveyFactory
from tests.feedback.test_answer_page import sent_invitation
from tests.ops.conftest import RedisServer, celery_worker_process, gunicorn, with_static_files


def form_of(page: requests.Response, *, field: str) -> tuple[str, str]:
    """The page's CSRF token and the name of its first `field` ("radio" or "textarea")."""
    assert page.status_code == 200, f"{page.status_code}: {page.text[:500]}"
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    pattern = r'type="radio" name="(q\d+)"' if field == "radio" else r'<textarea name="(q\d+)"'
    return token, re.search(pattern, page.text).group(1)


@pytest.mark.django_db(transaction=True)
def test_with_redis_down_customers_still_answer_and_their_answers_are_read_once_it_is_back(tmp_path):
    invitation, link = sent_invitation(survey=SurveyFactory())  # a score, then a comment
    redis_server = RedisServer(tmp_path)
    redis_server.start()
    parts = {"REDIS_URL": redis_server.url, **with_static_files(tmp_path)}
    try:
        with gunicorn(tmp_path, **parts) as web:
            redis_server.stop()
            customer = requests.Session()
            base = f"http://127.0.0.1:{web.port}"

            first = customer.get(base + link, timeout=30)
            token, score = form_of(first, field="radio")
            scored = customer.post(
                base + link, {"csrfmiddlewaretoken": token, score: "2"}, allow_redirects=False, timeout=30
            )
            more = customer.get(base + scored.headers["Location"], timeout=30)
            token, comment = form_of(more, field="textarea")
            sent = customer.post(
                base + scored.headers["Location"],
                {"csrfmiddlewaretoken": token, comment: "The parcel arrived broken and nobody answered."},
                allow_redirects=False,
                timeout=30,
            )
            during_outage = (scored.status_code, sent.status_code)
            response = Response.objects.get(invitation=invitation)
            unread = response.analysis_wanted_at is not None and not FollowUp.objects.exists()

        redis_server.start()  # empty: whatever had been queued is gone
        with celery_worker_process(tmp_path, "-B", "--pool=solo", ANALYSIS_SWEEP_SECONDS="1", **parts):
            case = wait_until(
                lambda: FollowUp.objects.filter(response=response).first(), timeout=60, what="the sweep's reading"
            )
            wait_until(
                lambda: Response.objects.filter(pk=response.pk, analysis_wanted_at=None).exists(),
                what="the response marked read",
            )
    finally:
        redis_server.stop()

    assert during_outage == (303, 303)
    assert unread
    assert [(answer.score, answer.text) for answer in response.answers.order_by("pk")] == [
        (2, ""),
        (None, "The parcel arrived broken and nobody answered."),
    ]
    assert set(case.reasons) == {"detractor", "negative_comment", "keyword"}
    assert SentimentScore.objects.get(answer__response=response).label == "negative"
