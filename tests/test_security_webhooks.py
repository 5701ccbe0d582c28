"""Outbound alert webhooks: signed with a rotatable secret, every attempt in a delivery log
(admin and API), failures retried; the real receiver is an HTTP server on this machine."""

import hashlib
import hmac
import json
import socket
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from feedback.casework import alerts, outbound
from feedback.casework.flagging import flag_response
from feedback.models import Alert, AlertDelivery, FlagRules
from feedback.tasks import alert_case
from surveys.intake.api_keys import create_api_key
from surveys.models import Membership
from tests.factories import ResponseFactory, ShopFactory
from tests.feedback.test_alerts import local_receivers, receiver  # noqa: F401 - fixtures: a real HTTP receiver on 127.0.0.1

pytestmark = pytest.mark.django_db


@pytest.fixture
def urgent_case():
    return flag_response(ResponseFactory(score=0, comment="Broken. I want a refund."))


def signatures(headers, body):
    return [part.strip().removeprefix("sha256=") for part in headers["X-Bazgasht-Signature"].split(",")]


def expected(secret, timestamp, body):
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def test_while_a_secret_is_rotated_alerts_carry_a_signature_for_each_then_only_the_new(urgent_case, receiver):  # noqa: F811
    handler, url = receiver
    rules = FlagRules.objects.create(shop=urgent_case.shop, alert_webhook_url=url, alert_webhook_secret="old-secret")
    start = timezone.now()

    with time_machine.travel(start, tick=False):
        new = alerts.rotate_webhook_secret(rules, keep_previous=timedelta(hours=24))
        alerts.webhook_alert(urgent_case, now=1_790_000_000)
    with time_machine.travel(start + timedelta(hours=25), tick=False):
        alerts.webhook_alert(urgent_case, now=1_790_090_000)

    (during_headers, during_body), (after_headers, after_body) = handler.received
    assert signatures(during_headers, during_body) == [
        expected(new, 1_790_000_000, during_body),
        expected("old-secret", 1_790_000_000, during_body),
    ]
    assert signatures(after_headers, after_body) == [expected(new, 1_790_090_000, after_body)]
    assert new != "old-secret"
    assert len(new) >= 40


def test_every_attempt_is_in_the_delivery_log_and_failures_are_retried(urgent_case, receiver, time_machine):  # noqa: F811
    time_machine.move_to(urgent_case.created_at, tick=False)
    handler, url = receiver
    handler.statuses = [503, 500]
    FlagRules.objects.create(shop=urgent_case.shop, alert_webhook_url=url, alert_webhook_secret="s")

    alert_case(case_id=urgent_case.pk)
    for _ in range(2):  # each try when it is due
        time_machine.move_to(Alert.objects.get(follow_up=urgent_case).due_at, tick=False)
        alerts.send_due_alerts()
    alert_case(case_id=urgent_case.pk)  # delivered already: nothing more is sent

    log = list(AlertDelivery.objects.order_by("pk").values_list("outcome", "http_status", "error"))
    assert log == [
        ("failed", 503, "the alert webhook answered HTTP 503"),
        ("failed", 500, "the alert webhook answered HTTP 500"),
        ("delivered", 200, ""),
    ]
    assert len(handler.received) == 3


def test_an_unreachable_receiver_is_logged_with_the_reason(urgent_case):
    FlagRules.objects.create(shop=urgent_case.shop, alert_webhook_url="http://127.0.0.1:9/closed")

    with pytest.raises(alerts.WebhookFailed):
        alerts.webhook_alert(urgent_case)

    [attempt] = AlertDelivery.objects.all()
    assert attempt.outcome == "failed"
    assert attempt.http_status is None
    assert attempt.error.startswith("the alert webhook did not answer")
    assert attempt.signatures == 0


def test_the_delivery_log_is_in_the_admin_for_the_shops_admins_only(client, urgent_case, staff_of):
    AlertDelivery.objects.create(
        shop=urgent_case.shop, follow_up=urgent_case, url="https://hooks.example/a", outcome="failed", http_status=502
    )
    other = ShopFactory()

    client.force_login(staff_of(urgent_case.shop, role=Membership.Role.ADMIN))
    own = client.get("/admin/feedback/alertdelivery/")
    client.force_login(staff_of(other, role=Membership.Role.ADMIN))
    theirs = client.get("/admin/feedback/alertdelivery/")
    client.force_login(staff_of(urgent_case.shop, role=Membership.Role.AGENT))
    agent = client.get("/admin/feedback/alertdelivery/")

    assert own.status_code == 200
    assert "502" in own.content.decode()
    assert theirs.status_code == 200
    assert "502" not in theirs.content.decode()
    assert agent.status_code == 403


def test_the_api_sets_the_webhook_rotates_its_secret_and_reads_its_log(urgent_case, receiver):  # noqa: F811
    handler, url = receiver
    _, key = create_api_key(urgent_case.shop, name="ops", scopes=["webhooks"])
    api = Client(headers={"Authorization": f"Bearer {key}"})

    set_url = api.put("/api/v1/webhooks/alerts", {"url": url}, content_type="application/json")
    rotated = api.post("/api/v1/webhooks/alerts/secret", {"keep_previous_hours": 0}, content_type="application/json")
    alerts.webhook_alert(urgent_case, now=1_790_000_000)
    shown = api.get("/api/v1/webhooks/alerts").json()
    log = api.get("/api/v1/webhooks/alerts/deliveries").json()

    assert set_url.status_code == 200
    secret = rotated.json()["secret"]
    [(headers, body)] = handler.received
    assert signatures(headers, body) == [expected(secret, 1_790_000_000, body)]
    assert shown == {"url": url, "signed": True, "previous_secret_until": None}
    assert secret not in json.dumps(shown)
    assert [(row["case_id"], row["outcome"], row["http_status"]) for row in log] == [(urgent_case.pk, "delivered", 200)]


def test_the_webhook_api_refuses_urls_that_are_not_http(shop):
    _, key = create_api_key(shop, name="ops", scopes=["webhooks"])
    api = Client(headers={"Authorization": f"Bearer {key}"})

    refused = api.put("/api/v1/webhooks/alerts", {"url": "file:///etc/passwd"}, content_type="application/json")

    assert refused.status_code == 422


def test_the_delivery_log_endpoint_costs_the_same_queries_for_one_row_or_three(urgent_case, django_assert_num_queries):
    _, key = create_api_key(urgent_case.shop, name="ops", scopes=["webhooks"])
    api = Client(headers={"Authorization": f"Bearer {key}"})
    api.get("/api/v1/webhooks/alerts")  # the key's first use is written once
    for count in (1, 3):
        AlertDelivery.objects.all().delete()
        for _ in range(count):
            AlertDelivery.objects.create(
                shop=urgent_case.shop, follow_up=urgent_case, url="https://x.example", outcome="delivered"
            )
        with django_assert_num_queries(2):  # the key, the rows
            assert len(api.get("/api/v1/webhooks/alerts/deliveries").json()) == count


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://169.254.169.254/latest/meta-data/",  # a cloud's metadata service
        "http://10.0.0.5/hook",
        "http://[::1]/hook",
        "https://chat.internal/hook",
        "http://localhost:6379/",
    ],
)
def test_alerts_may_not_point_inside_the_servers_network(shop, settings, url):
    settings.ALERT_WEBHOOK_PRIVATE_ADDRESSES = False
    _, key = create_api_key(shop, name="ops", scopes=["webhooks"])
    api = Client(headers={"Authorization": f"Bearer {key}"})

    refused = api.put("/api/v1/webhooks/alerts", {"url": url}, content_type="application/json")

    assert refused.status_code == 400
    assert "inside the server's network" in refused.json()["detail"]
    with pytest.raises(ValidationError):  # the admin's form says the same
        FlagRules(shop=shop, alert_webhook_url=url).clean_fields()
    assert api.put("/api/v1/webhooks/alerts", {"url": "https://hooks.slack.com/services/T0/B0/x"},
                   content_type="application/json").status_code == 200  # fmt: skip
    settings.ALERT_WEBHOOK_PRIVATE_ADDRESSES = True  # the operator's choice for an own-network chat server
    assert api.put("/api/v1/webhooks/alerts", {"url": url}, content_type="application/json").status_code == 200


def test_an_internal_address_found_at_sending_is_logged_and_not_tried_again(urgent_case, settings):
    # Set before the rule existed, or a name that now resolves inside: checked again at each send.
    settings.ALERT_WEBHOOK_PRIVATE_ADDRESSES = False
    FlagRules.objects.create(shop=urgent_case.shop, alert_webhook_url="http://127.0.0.1:9/hook")

    sent = alerts.webhook_alert(urgent_case)

    assert sent is False
    [delivery] = AlertDelivery.objects.filter(follow_up=urgent_case)
    assert delivery.outcome == "failed"
    assert "inside the server's network (127.0.0.1)" in delivery.error


@pytest.fixture
def dns(monkeypatch):
    """Answers for made-up names, in turn (the last one repeats); other names as the machine
    resolves them. A real resolver is outside this machine: this stands in for it."""
    answers: dict[str, list[list[str]]] = {}
    asked: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            return real(host, port, *args, **kwargs)
        asked.append(host)
        addresses = answers[host].pop(0) if len(answers[host]) > 1 else answers[host][0]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)) for address in addresses]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers, asked


def test_the_alert_goes_to_the_address_that_was_checked_not_a_later_answer(
    urgent_case,
    receiver,  # noqa: F811
    dns,
    settings,
    monkeypatch,
):
    """DNS rebinding: a name that answers a public address for the check and an inside one for
    the connection. The name is resolved once per send and the connection made to that address."""
    handler, url = receiver
    answers, asked = dns
    settings.ALERT_WEBHOOK_PRIVATE_ADDRESSES = False
    # The receiver on 127.0.0.1 stands for a public host; 127.0.0.2 for the inside one.
    monkeypatch.setattr(outbound, "is_inside", lambda address: str(address) != "127.0.0.1")
    port = url.split(":")[2].split("/")[0]
    answers["hooks.example.test"] = [["127.0.0.1"], ["127.0.0.2"]]  # nothing listens on .2
    FlagRules.objects.create(shop=urgent_case.shop, alert_webhook_url=f"http://hooks.example.test:{port}/hook?team=7")

    assert alerts.webhook_alert(urgent_case)

    assert asked == ["hooks.example.test"]
    [(headers, _)] = handler.received
    assert headers["Host"] == f"hooks.example.test:{port}"  # the receiver sees the name, as with a proxy


def test_a_name_with_any_inside_address_is_refused_before_connecting(urgent_case, settings, dns):
    settings.ALERT_WEBHOOK_PRIVATE_ADDRESSES = False
    answers, _ = dns
    answers["hooks.example.test"] = [["93.184.215.14", "10.0.0.5"]]
    FlagRules.objects.create(shop=urgent_case.shop, alert_webhook_url="https://hooks.example.test/hook")

    assert alerts.webhook_alert(urgent_case) is False

    [delivery] = AlertDelivery.objects.filter(follow_up=urgent_case)
    assert "inside the server's network (hooks.example.test (10.0.0.5))" in delivery.error


def test_a_redirect_is_an_answer_not_a_new_target(urgent_case, receiver):  # noqa: F811
    handler, url = receiver
    handler.statuses = [302]
    handler.location = url.replace("/hooks/slack", "/anywhere")  # a GET there would be answered 200
    FlagRules.objects.create(shop=urgent_case.shop, alert_webhook_url=url)

    with pytest.raises(alerts.WebhookFailed, match="HTTP 302"):
        alerts.webhook_alert(urgent_case)

    assert len(handler.received) == 1
    assert AlertDelivery.objects.get().http_status == 302
