"""Urgent cases reach someone: an email (real SMTP server) and a signed webhook (real HTTP server)."""

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from feedback.casework import alerts
from feedback.casework.flagging import flag_response
from feedback.models import Alert, AlertDelivery, CaseEvent, FlagRules
from feedback.tasks import alert_case, send_due_alerts
from tests.conftest import drop_database_connection_while_receiving
from tests.factories import ResponseFactory

pytestmark = pytest.mark.django_db


class Receiver(BaseHTTPRequestHandler):
    """A webhook receiver that answers with the statuses it is told to, in turn."""

    statuses: list[int]
    received: list[tuple[dict[str, str], bytes]]
    location = ""  # sent with a 3xx

    def do_GET(self) -> None:
        self.received.append((dict(self.headers), b""))
        self.send_response(200)
        self.end_headers()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((dict(self.headers), body))
        status = self.statuses.pop(0) if self.statuses else 200
        self.send_response(status)
        if 300 <= status < 400 and self.location:
            self.send_header("Location", self.location)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver():
    handler = type("Handler", (Receiver,), {"statuses": [], "received": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield handler, f"http://127.0.0.1:{server.server_port}/hooks/slack"
    server.shutdown()
    server.server_close()


@pytest.fixture
def urgent_case():
    response = ResponseFactory(
        score=1, comment="Broken on arrival, I want a refund.", invitation__order__customer__name="Nasrin"
    )
    return flag_response(response)


@pytest.fixture(autouse=True)
def local_receivers(settings):
    """The receivers here listen on 127.0.0.1: allowed as an operator allows a chat server on
    their own network (tests/test_security_webhooks.py shows such addresses refused otherwise)."""
    settings.ALERT_WEBHOOK_PRIVATE_ADDRESSES = True


def test_an_urgent_case_emails_the_on_call_address_once(urgent_case, mailbox):
    FlagRules.objects.create(shop=urgent_case.shop, alert_email="oncall@shop.example")

    alert_case(case_id=urgent_case.pk)
    alert_case(case_id=urgent_case.pk)

    [message] = mailbox.wait_for(1)
    assert message["To"] == "oncall@shop.example"
    assert message["Subject"] == f"[Urgent] {urgent_case.shop.name}: Nasrin needs a call"
    body = message.get_content()
    assert "Nasrin, NPS 1 on order #" in body
    assert f"/cases/{urgent_case.pk}/" in body
    assert CaseEvent.objects.filter(follow_up=urgent_case, action="alerted").count() == 1


def test_the_alert_email_is_in_the_language_of_whoever_reads_it(urgent_case, mailbox, staff_of):
    from feedback.accounts.models import StaffProfile

    shop = urgent_case.shop
    shop.default_language = "fa"
    shop.save(update_fields=["default_language"])
    FlagRules.objects.create(shop=shop, alert_email="oncall@shop.example")

    alert_case(case_id=urgent_case.pk)  # no owner: the on-call address, in the shop's language
    [persian] = mailbox.wait_for(1)
    owner = staff_of(shop)
    owner.email = "owner@shop.example"
    owner.save(update_fields=["email"])
    StaffProfile.objects.create(user=owner, language="en")
    Alert.objects.all().delete()
    urgent_case.assignee = owner
    urgent_case.save(update_fields=["assignee"])
    alerts.email_alert(urgent_case)  # the owner chose English
    [_, english] = mailbox.wait_for(2)

    body = persian.get_content()
    assert persian["Subject"].strip() == f"[فوری] {shop.name}: Nasrin باید تماس گرفته شود"
    assert "NPS\u200f ۱" in body  # the right-to-left mark keeps the digit in the sentence
    assert "سفارش" in body
    assert any(
        month in body
        for month in (
            "فروردین",
            "اردیبهشت",
            "خرداد",
            "تیر",
            "مرداد",
            "شهریور",
            "مهر",
            "آبان",
            "آذر",
            "دی",
            "بهمن",
            "اسفند",
        )
    )
    assert english["To"] == "owner@shop.example"
    assert "Nasrin, NPS 1 on order #" in english.get_content()


def test_the_webhook_is_signed_and_slack_can_show_it(urgent_case, receiver):
    handler, url = receiver
    FlagRules.objects.create(shop=urgent_case.shop, alert_webhook_url=url, alert_webhook_secret="s3cret")

    assert alerts.webhook_alert(urgent_case, now=1_790_000_000)

    [(headers, body)] = handler.received
    expected = hmac.new(b"s3cret", b"1790000000." + body, hashlib.sha256).hexdigest()
    assert headers["X-Bazgasht-Signature"] == f"sha256={expected}"
    assert headers["X-Bazgasht-Timestamp"] == "1790000000"
    payload = json.loads(body)
    assert payload["text"].startswith("[Urgent]")
    assert payload["case"]["reasons"] == ["detractor", "keyword"]


def test_a_failing_webhook_is_tried_again_when_due_and_the_email_not_sent_twice(
    urgent_case, receiver, mailbox, time_machine
):
    time_machine.move_to(urgent_case.created_at, tick=False)
    handler, url = receiver
    handler.statuses = [500]
    FlagRules.objects.create(shop=urgent_case.shop, alert_email="oncall@shop.example", alert_webhook_url=url)

    alert_case(case_id=urgent_case.pk)
    alert = Alert.objects.get(follow_up=urgent_case)
    assert (alert.attempts, alert.finished_at, alert.error) == (1, None, "the alert webhook answered HTTP 500")
    assert alert.due_at == urgent_case.created_at + alerts.FIRST_ALERT_RETRY
    alert_case(case_id=urgent_case.pk)  # the task delivered twice: not due yet, nothing is sent
    assert alerts.send_due_alerts() == 0
    time_machine.shift(alerts.FIRST_ALERT_RETRY)
    assert send_due_alerts() == 1  # the beat's sweep

    assert len(handler.received) == 2
    assert len(mailbox.wait_for(1)) == 1
    assert sorted(CaseEvent.objects.filter(action="alerted").values_list("detail", flat=True), key=str) == [
        {"email": "oncall@shop.example"},
        {"webhook": 200},
    ]
    alert.refresh_from_db()
    assert (alert.attempts, alert.error, alert.finished_at is not None) == (2, "", True)


def test_an_alert_whose_task_was_lost_with_the_broker_is_sent_by_the_sweep(mailbox):
    case = flag_response(ResponseFactory(score=0, comment="Broken on arrival, I want a refund."))
    FlagRules.objects.create(shop=case.shop, alert_email="oncall@shop.example")
    alerts.queue_alert(case)  # queued with the case; its task never came (an emptied Redis)

    assert send_due_alerts() == 1
    assert send_due_alerts() == 0

    assert len(mailbox.wait_for(1)) == 1


def test_an_alert_is_given_up_after_about_two_hours_of_tries(urgent_case, time_machine):
    time_machine.move_to(urgent_case.created_at, tick=False)
    FlagRules.objects.create(shop=urgent_case.shop, alert_webhook_url="http://127.0.0.1:9/closed")
    alert = alerts.queue_alert(urgent_case)
    started = timezone.now()

    while alerts.send_due_alerts() or Alert.objects.filter(pk=alert.pk, finished_at__isnull=True).exists():
        time_machine.move_to(Alert.objects.get(pk=alert.pk).due_at, tick=False)

    alert.refresh_from_db()
    assert alert.attempts == alerts.MAX_ALERT_ATTEMPTS
    assert alert.error.startswith("gave up: the alert webhook did not answer")
    assert timedelta(hours=2) <= alert.finished_at - started < timedelta(hours=3)
    assert AlertDelivery.objects.filter(follow_up=urgent_case).count() == alerts.MAX_ALERT_ATTEMPTS


def test_an_unreachable_webhook_is_a_failure_to_retry(urgent_case):
    FlagRules.objects.create(shop=urgent_case.shop, alert_webhook_url="http://127.0.0.1:9/closed")

    with pytest.raises(alerts.WebhookFailed, match="did not answer"):
        alerts.webhook_alert(urgent_case)


def test_a_case_below_the_alert_priority_alerts_nobody(mailbox):
    case = flag_response(ResponseFactory(score=6))
    FlagRules.objects.create(shop=case.shop, alert_email="oncall@shop.example")

    alert_case(case_id=case.pk)

    assert not alerts.wants_alert(case)
    assert mailbox.messages == []


@pytest.mark.postgresql_only(reason="drops a PostgreSQL connection")
@pytest.mark.django_db(transaction=True)
def test_an_alert_emailed_while_the_database_restarted_is_recorded_and_not_sent_again(mailbox):
    case = flag_response(ResponseFactory(score=0, comment="Broken on arrival, I want a refund."))
    FlagRules.objects.create(shop=case.shop, alert_email="oncall@shop.example")
    drop_database_connection_while_receiving(mailbox)

    alert_case(case_id=case.pk)
    alert_case(case_id=case.pk)  # a retry, or the task delivered twice

    assert len(mailbox.wait_for(1)) == 1
    assert list(CaseEvent.objects.filter(follow_up=case, action="alerted").values_list("detail", flat=True)) == [
        {"email": "oncall@shop.example"}
    ]
