"""The whole loop across real parts: API → worker → SMTP → answer page → worker → API → PDF."""

import re
from io import BytesIO
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.utils import timezone
from pypdf import PdfReader

from feedback.models import FollowUp
from reports.domain import request_report
from reports.models import ReportRun
from sentiment.models import SentimentScore
from tests.conftest import body_of, wait_until

# Dates and months against the clock: CI runs these on the days calendars turn.
pytestmark = pytest.mark.calendar


@pytest.mark.django_db(transaction=True)
def test_order_to_flagged_customer_in_the_monthly_report(celery_worker, mailbox, api, shop):
    # An order arrives through the API.
    created = api.post(
        "/api/v1/orders",
        {
            "external_id": "A-1001",
            "total": "129.00",
            "currency": "EUR",
            "placed_at": timezone.now().isoformat(),
            "customer": {"email": "Nasrin@Example.com", "name": "Nasrin Tehrani"},
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["invitations"][0]["status"] == "scheduled"

    # The worker's scheduler finds it due and a real SMTP server receives the invitation.
    [message] = mailbox.wait_for(1)
    assert message["To"] == "nasrin@example.com"
    assert "A-1001" in message["Subject"]
    link = re.search(r"https?://\S+/s/\S+/", body_of(message)).group(0)
    assert link in body_of(message, "html")

    # The customer answers by the link: the score, then the comment.
    customer = Client()
    page = customer.get(urlsplit(link).path)
    assert page.status_code == 200
    [score_field] = set(re.findall(r'type="radio" name="(q\d+)"', page.content.decode()))
    next_step = customer.post(urlsplit(link).path, {score_field: "3"})
    assert next_step.status_code == 303
    [comment_field] = re.findall(r'<textarea name="(q\d+)"', customer.get(next_step["Location"]).content.decode())
    answered = customer.post(
        next_step["Location"], {comment_field: "The parcel arrived broken and support never answered."}
    )
    assert answered.status_code == 303

    # The worker scores the comment and flags the detractor.
    # The score is analysed when confirmed, the comment when sent: wait for the reading that saw
    # the comment and its sentiment (a reading racing the answer page may see the words alone).
    def case_with_the_comment_read():
        case = FollowUp.objects.select_related("response__customer").first()
        return case if case is not None and {"keyword", "negative_comment"} <= set(case.reasons) else None

    follow_up = wait_until(case_with_the_comment_read, what="a case with the comment's reasons")
    # A detractor who says "broken": a negative comment and a warning word too, so the case is urgent.
    assert follow_up.reasons == ["detractor", "negative_comment", "keyword"]
    assert follow_up.keywords == ["broken"]
    assert follow_up.priority == FollowUp.Priority.URGENT
    assert follow_up.response.customer.email == "nasrin@example.com"
    sentiment = wait_until(
        lambda: SentimentScore.objects.filter(answer__response=follow_up.response).first(), what="a sentiment score"
    )
    assert sentiment.label == "negative"
    assert sentiment.polarity < 0

    # The numbers reflect it.
    nps = api.get("/api/v1/metrics/nps").json()
    assert nps["responses"] == 1
    assert nps["detractors"] == 1
    assert nps["nps"] == -100.0

    # The monthly report, rendered by the worker, names the flagged customer.
    month = timezone.now().astimezone(shop.tz).date().replace(day=1)
    request_report(shop, month=month)  # a worker makes it
    run = wait_until(
        lambda: ReportRun.objects.filter(shop=shop, period=month, status=ReportRun.Status.DONE).first(),
        what="the monthly report",
    )
    with run.file.open("rb") as pdf:
        text = "\n".join(page.extract_text() for page in PdfReader(BytesIO(pdf.read())).pages)
    assert "Nasrin Tehrani" in text
    assert "nasrin@example.com" in text
    assert "-100" in text
    assert str(month.year) in text  # the shop's year, in its time zone (1 January in Tehran is 31 December in UTC)
