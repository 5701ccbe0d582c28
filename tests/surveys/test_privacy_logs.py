"""No personal data in the logs: a whole day of a shop, run on the real parts, read back from
every log it wrote (this process's and the Celery worker's)."""

import logging
import re
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from feedback.casework import cases
from feedback.models import FollowUp
from surveys.models import Invitation, Membership, WebhookSource
from surveys.outreach.suppressions import record_provider_event
from tests.conftest import body_of, wait_until
from tests.surveys.test_webhooks import SHOPIFY_SECRET, post, shopify_headers, shopify_order

EMAIL = "parvaneh.khosravi@example.com"
PHONE = "+989351112233"
NAME = "Parvaneh Khosravi"
COMMENT = "The samovar from Tabriz arrived dented, refund please"
REPLY = "Dear Parvaneh, a new samovar leaves today"
# What must never be in a log line, whatever the case.
PERSONAL = ["parvaneh", "khosravi", "9351112233", "351112233", "samovar", "tabriz", "dented"]


def order(external_id: str, customer: dict[str, str]) -> dict[str, object]:
    return {"external_id": external_id, "total": "75.00", "currency": "EUR", "placed_at": timezone.now().isoformat(),
            "customer": customer}  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_a_day_of_orders_answers_and_cases_logs_no_personal_data(
    celery_worker, mailbox, api, shop, staff_of, caplog, tmp_path
):
    caplog.set_level(logging.DEBUG)
    shop.sms_enabled = True
    shop.save()

    # Orders come in by the API: one by email, one by phone only (an SMS).
    assert api.post("/api/v1/orders", order("A-1", {"email": EMAIL, "name": NAME}),
                    content_type="application/json").status_code == 201  # fmt: skip
    assert api.post("/api/v1/orders", order("A-2", {"phone": PHONE, "name": NAME}),
                    content_type="application/json").status_code == 201  # fmt: skip
    # A store pushes an order whose email cannot be used.
    WebhookSource.objects.create(shop=shop, platform=WebhookSource.Platform.SHOPIFY, secret=SHOPIFY_SECRET)
    body = shopify_order(id=4242, email="parvaneh.khosravi(at)example", created_at=timezone.now().isoformat())
    assert post(Client(), "shopify", shop, body, shopify_headers(body)).status_code == 200

    # The worker sends the survey; the customer answers it with a comment.
    [message] = mailbox.wait_for(1)
    link = urlsplit(re.search(r"https?://\S+/s/\S+/", body_of(message)).group(0)).path
    customer = Client()
    [score_field] = set(re.findall(r'type="radio" name="(q\d+)"', customer.get(link).content.decode()))
    more = customer.post(link, {score_field: "2"})["Location"]
    [comment_field] = re.findall(r'<textarea name="(q\d+)"', customer.get(more).content.decode())
    assert customer.post(more, {comment_field: COMMENT}).status_code == 303

    # The worker scores it and flags it; an agent replies from the case.
    case = wait_until(
        lambda: FollowUp.objects.filter(FollowUp.has_reason("keyword")).first(), what="the case with its keyword"
    )
    cases.reply(case, REPLY, by=staff_of(shop, role=Membership.Role.AGENT))
    # The provider reports a bounce for an address no survey went to; the SMS went out.
    record_provider_event(event_type="bounced", recipient="parvaneh.k@example.org")
    wait_until(lambda: Invitation.objects.filter(channel="sms", status="sent").exists(), what="the SMS")
    # And at last the customer asks to be erased.
    assert api.post("/api/v1/customers/erase", {"email": EMAIL}, content_type="application/json").status_code == 200

    worker_log = wait_until(lambda: _text_with(tmp_path / "worker.log", "SMS to …33"), what="the worker's SMS line")
    # The test's SMTP server (aiosmtpd's "mail.log") stands in for the mail provider: what it
    # logs of the conversation is the provider's business, not ours.
    ours = "\n".join(
        f"{record.name} {record.getMessage()} {record.exc_text or ''}"
        for record in caplog.records
        if not record.name.startswith("mail.log")
    )
    # The capture works: the lines written are there, only without the person in them.
    assert "webhook order with an unusable email" in ours
    assert "bounced event matches no survey" in ours
    assert "erased (API key test)" in ours
    assert "surveys.tasks.send_due_invitations" in worker_log
    assert "feedback.tasks.analyse_response" in worker_log
    leaks = [word for word in PERSONAL for text in (ours, worker_log) if word in text.lower()]
    assert leaks == []


def _text_with(path, needle: str) -> str | None:
    text = path.read_text(errors="replace") if path.exists() else ""
    return text if needle in text else None
