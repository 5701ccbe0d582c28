"""The order number the customer knows (Shopify's "#1001" beside its id 450789469, WooCommerce's
`number`) is kept, shown wherever a person reads the order, searchable, and sent by the API."""

import io
import re

import pytest
from django.utils import timezone

from feedback.casework.flagging import flag_response
from surveys.intake.csv_import import import_orders
from surveys.models import Order, WebhookSource
from surveys.outreach.sending import send_due_invitations
from tests.conftest import body_of
from tests.factories import ResponseFactory
from tests.surveys.test_webhooks import (
    SHOPIFY_SECRET,
    WOOCOMMERCE_SECRET,
    fixture_bytes,
    post,
    shopify_headers,
    woocommerce_headers,
    woocommerce_order,
)

pytestmark = pytest.mark.django_db


def test_shopify_and_woocommerce_orders_keep_the_number_the_customer_knows(client, shop):
    WebhookSource.objects.create(shop=shop, platform="shopify", secret=SHOPIFY_SECRET)
    WebhookSource.objects.create(shop=shop, platform="woocommerce", secret=WOOCOMMERCE_SECRET)
    shopify_body = fixture_bytes("shopify_order_rest_resource_shopify_python_api.json")  # id 450789469, "#1001"
    woocommerce_body = woocommerce_order(id=4242, number="WC-0042")

    post(client, "shopify", shop, shopify_body, shopify_headers(shopify_body))
    post(client, "woocommerce", shop, woocommerce_body, woocommerce_headers(woocommerce_body, topic="order.created"))

    assert dict(Order.objects.values_list("external_id", "number")) == {"450789469": "1001", "4242": "WC-0042"}
    assert str(Order.objects.get(external_id="450789469")) == "#1001"


def test_the_survey_email_and_the_answer_page_show_the_customers_number(api, shop, client, mailbox):
    order = {"external_id": "2998557704341", "number": "1030", "total": "10.00", "currency": "EUR",
             "placed_at": timezone.now().isoformat(), "customer": {"email": "sara@example.com"}}  # fmt: skip
    created = api.post("/api/v1/orders", order, content_type="application/json")
    send_due_invitations()

    [message] = mailbox.wait_for(1)
    assert created.json()["number"] == "1030"
    assert "1030" in message["Subject"]
    assert "2998557704341" not in message["Subject"] + body_of(message)
    link = re.search(r"/s/[\w-]+/", body_of(message)).group(0)
    page = client.get(link).content.decode()
    assert "#1030" in page
    assert "2998557704341" not in page


def test_staff_read_and_find_a_case_by_the_customers_number(api, survey, client, staff_of):
    response = ResponseFactory(invitation__survey=survey, invitation__order__external_id="2998557704341",
                               invitation__order__number="1030", score=2, comment="Late.")  # fmt: skip
    case = flag_response(response)
    agent = staff_of(case.shop)
    client.force_login(agent)

    queue = client.get("/cases/").content.decode()
    page = client.get(f"/cases/{case.pk}/").content.decode()
    found = api.get("/api/v1/cases", {"q": "1030"}).json()

    assert "#1030" in queue
    assert "#1030" in page
    assert [item["id"] for item in found["items"]] == [case.pk]
    assert found["items"][0]["order"] == "1030"


def test_a_csv_import_takes_a_number_column(shop):
    report = import_orders(shop, io.StringIO(
        "external_id,number,email,total,currency,placed_at\n5550001,#1044,a@example.com,5,EUR,2026-11-02\n"
    ))  # fmt: skip

    assert report.created == 1
    # Stored as the webhooks store Shopify's "#1044": the "#" is how it is shown, not part of it.
    assert Order.objects.get().number == "1044"
