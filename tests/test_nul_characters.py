"""A NUL character (which PostgreSQL cannot store or compare in text) gets a clear 400, never a 500."""

import re

import pytest
from django.utils import timezone

from feedback.models import Response
from surveys.models import Order
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
