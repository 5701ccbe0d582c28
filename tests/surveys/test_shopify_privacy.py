"""Shopify's mandatory privacy webhooks, in the shapes Shopify documents them: a customer's data
goes to the shop's admins, a customer is erased, and a shop that left the app has every
customer erased; each in the audit trail, each once."""

import json

import pytest
from django.test import Client
from django.utils import timezone

from surveys import tasks
from surveys.intake.orders import CustomerDetails, record_order
from surveys.models import Customer, Erasure, Membership, WebhookSource
from tests.factories import CustomerFactory
from tests.surveys.test_webhooks import SHOPIFY_SECRET, post, shopify_headers

pytestmark = pytest.mark.django_db

DOMAIN = "gol-shop.myshopify.com"


@pytest.fixture
def shopify(shop):
    return WebhookSource.objects.create(shop=shop, platform=WebhookSource.Platform.SHOPIFY, secret=SHOPIFY_SECRET)


@pytest.fixture
def customers(shop):
    """Sara (by email) and Reza, whose Shopify order 280263 the request names, and Mina, untouched."""
    for external_id, email, name in [("299938", "sara@example.com", "Sara Ahmadi"),
                                     ("280263", "reza@example.com", "Reza Karimi"),
                                     ("300000", "mina@example.com", "Mina Jafari")]:  # fmt: skip
        record_order(shop, external_id=external_id, customer=CustomerDetails(email=email, name=name), total=10,
                     currency="EUR", placed_at=timezone.now())  # fmt: skip
    return {customer.name: customer for customer in Customer.objects.filter(shop=shop)}


@pytest.fixture
def shop_admin(shop, staff_of):
    admin = staff_of(shop, role=Membership.Role.ADMIN)
    admin.email = "owner@gol.example"
    admin.save()
    return admin


def deliver(shop, topic: str, payload: dict[str, object], delivery_id: str = "privacy-1"):
    body = json.dumps(payload).encode()
    return post(Client(), "shopify", shop, body, shopify_headers(body, topic=topic, delivery_id=delivery_id))


def test_customers_redact_erases_the_customer_and_the_customers_of_the_orders_named(shop, shopify, customers):
    payload = {"shop_id": 954889, "shop_domain": DOMAIN,
               "customer": {"id": 191167, "email": "Sara@Example.com", "phone": "555-625-1199"},
               "orders_to_redact": [280263, 220458]}  # fmt: skip

    answer = deliver(shop, "customers/redact", payload)
    again = deliver(shop, "customers/redact", payload)

    assert (answer.status_code, answer.json()) == (200, {"detail": "2 customer(s) erased"})
    assert again.json() == {"detail": "duplicate delivery"}
    erased = {customer.pk for customer in customers.values() if customer.name != "Mina Jafari"}
    assert set(Erasure.objects.values_list("customer_id", "via")) == {(pk, "Shopify customers/redact") for pk in erased}
    assert set(Customer.objects.filter(shop=shop).values_list("name", flat=True)) == {"", "Mina Jafari"}


def test_customers_data_request_emails_the_shops_admins_everything_held(shop, shopify, customers, shop_admin, mailbox):
    payload = {"shop_id": 954889, "shop_domain": DOMAIN, "orders_requested": [299938],
               "customer": {"id": 191167, "email": "sara@example.com", "phone": "555-625-1199"},
               "data_request": {"id": 9999}}  # fmt: skip

    answer = deliver(shop, "customers/data_request", payload)

    assert (answer.status_code, answer.json()) == (200, {"detail": "1 customer(s) sent to the shop's admins"})
    [message] = mailbox.wait_for(1)
    assert message["To"] == "owner@gol.example"
    assert "request 9999" in message.get_body(preferencelist=("plain",)).get_content()
    [attachment] = list(message.iter_attachments())
    [record] = json.loads(attachment.get_content())
    assert record["customer"]["email"] == "sara@example.com"
    assert [order["external_id"] for order in record["orders"]] == ["299938"]
    assert not Erasure.objects.exists()


def test_a_data_request_about_someone_unknown_says_nothing_is_held(shop, shopify, customers, shop_admin, mailbox):
    payload = {"shop_id": 954889, "shop_domain": DOMAIN, "orders_requested": [],
               "customer": {"id": 5, "email": "stranger@example.com", "phone": None},
               "data_request": {"id": 7}}  # fmt: skip

    assert deliver(shop, "customers/data_request", payload).json() == {
        "detail": "0 customer(s) sent to the shop's admins"
    }

    [message] = mailbox.wait_for(1)
    assert "holds nothing about them" in message.get_content()
    assert list(message.iter_attachments()) == []


def test_shop_redact_erases_every_customer_of_the_shop_and_no_other(shop, shopify, customers):
    elsewhere = CustomerFactory(email="kept@example.com", name="Kept Elsewhere")

    answer = deliver(shop, "shop/redact", {"shop_id": 954889, "shop_domain": DOMAIN})
    # The worker's part, run here: the webhook only queues it (Shopify waits five seconds at most).
    erased = tasks.erase_shop_customers(shop_id=shop.pk, via="Shopify shop/redact")

    assert (answer.status_code, answer.json()) == (200, {"detail": "every customer of the shop will be erased"})
    assert erased == 3
    assert set(Customer.objects.filter(shop=shop).values_list("email", flat=True)) == {""}
    assert Erasure.objects.filter(shop=shop, via="Shopify shop/redact").count() == 3
    elsewhere.refresh_from_db()
    assert elsewhere.name == "Kept Elsewhere"
