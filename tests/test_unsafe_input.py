"""Input that would break a query or a parser gets a clear 400, never a 500: a NUL character (which
PostgreSQL cannot store or compare in text), and JSON nested deeper than any payload we read."""

import logging
import re

import pytest
from django.utils import timezone

from config.security import RefuseUnsafeInputMiddleware, json_depth
from feedback.models import Response
from surveys.models import Order, WebhookSource
from tests.feedback.test_answer_page import sent_invitation

pytestmark = pytest.mark.django_db


def order(**customer):
    return {
        "external_id": "N-1",
        "total": "10.00",
        "currency": "EUR",
        "placed_at": timezone.now().isoformat(),
        "customer": {"email": "nul@example.com", **customer},
    }


def test_an_api_body_with_a_nul_is_refused_and_nothing_is_stored(api):
    refused = api.post("/api/v1/orders", order(name="Sara\u0000"), content_type="application/json")

    assert refused.status_code == 400
    assert refused.json() == {"detail": "text may not contain NUL characters (\\u0000)"}
    assert not Order.objects.exists()
    # The same order without it goes in.
    assert api.post("/api/v1/orders", order(name="Sara"), content_type="application/json").status_code == 201


def test_a_nul_in_an_api_path_or_query_is_refused(api):
    assert api.get("/api/v1/orders/A%00").status_code == 400
    assert api.get("/api/v1/cases?q=a%00b").status_code == 400
    assert api.get("/api/v1/orders/A-unknown").status_code == 404


def test_a_nul_in_a_page_address_is_refused(client, shop, staff_of):
    client.force_login(staff_of(shop))

    assert client.get("/cases/?q=x%00").status_code == 400
    assert client.get("/cases/?q=x").status_code == 200


def test_a_comment_with_a_nul_is_refused_by_the_form_and_nothing_is_lost(client):
    # Forms refuse it themselves (Django's validator), with the page's own message.
    invitation, link = sent_invitation()
    [lead] = set(re.findall(r'type="radio" name="(q\d+)"', client.get(link).content.decode()))
    more = client.post(link, {lead: "5"})["Location"]
    [comment] = re.findall(r'<textarea name="(q\d+)"', client.get(more).content.decode())

    page = client.post(more, {comment: "Late\u0000 again"})

    assert page.status_code == 422
    assert "Null characters are not allowed" in page.content.decode()
    response = Response.objects.get(invitation=invitation)
    assert [(answer.score, answer.text) for answer in response.answers.all()] == [(5, "")]


# --- Deeply nested JSON ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "depth"),
    [
        (b'"plain"', 0),
        (b'{"a": [1, {"b": []}]}', 4),
        (b'{"a": "[[[[{{{{", "b": "\\"[["}', 1),  # brackets inside strings, escaped quotes too
        (b"[" * 600 + b"]" * 600, 600),
    ],
)
def test_json_depth_counts_brackets_outside_strings(body, depth):
    assert json_depth(body) == depth


def test_deeply_nested_json_is_refused_on_every_url_before_anything_reads_it(api, client, shop, caplog):
    WebhookSource.objects.create(shop=shop, platform="shopify", secret="s3cret")
    _, link = sent_invitation()
    deep = "[" * 600 + "]" * 600
    orders = Order.objects.count()
    caplog.set_level(logging.WARNING)

    answers = {
        path: (api if path.startswith("/api/") else client).post(path, deep, content_type="application/json")
        for path in ["/login/", "/api/v1/orders", "/api/v1/orders/bulk", f"/webhooks/shopify/{shop.slug}/", link]
    }

    message = RefuseUnsafeInputMiddleware.DEPTH_MESSAGE
    assert {path: answer.status_code for path, answer in answers.items()} == dict.fromkeys(answers, 400)
    assert answers["/api/v1/orders"].json() == {"detail": message}
    assert answers["/login/"].content.decode() == message
    # One short line each, no traceback.
    assert all(len(record.getMessage()) < 200 and record.exc_info is None for record in caplog.records)
    assert Order.objects.count() == orders


def test_json_as_deep_as_a_real_payload_gets_through(api):
    shallow = {**order(), "lines": [{"sku": "MUG-1", "quantity": 1}]}
    assert api.post("/api/v1/orders", shallow, content_type="application/json").status_code == 201


def test_an_escaped_backslash_before_u0000_is_text_not_a_nul(api):
    # The JSON text "C:\\u0000" is the nine characters C:\u0000, which PostgreSQL stores.
    answer = api.post("/api/v1/orders", order(name="C:\\u0000"), content_type="application/json")

    assert answer.status_code == 201
    assert Order.objects.get().customer.name == "C:\\u0000"
