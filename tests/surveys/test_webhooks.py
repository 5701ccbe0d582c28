"""Shopify and WooCommerce order webhooks, fed the platforms' real payloads byte for byte."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from surveys.intake.webhooks import delivery_key, sign, verify_signature
from surveys.models import Invitation, Order, Survey, WebhookDelivery, WebhookSource
from tests.factories import OrderFactory, ShopFactory, SurveyFactory

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT.parent / "shared" / "fixtures" / "webhooks"
SHOPIFY_SECRET = "test_shopify_app_secret"
WOOCOMMERCE_SECRET = "test_wc_webhook_secret"
SHOPIFY_ORDER_ID = "820982911946154508"


def fixture_bytes(name: str) -> bytes:
    path = FIXTURES / name
    if not path.is_file():
        pytest.fail(f"webhook fixture {path} is missing: the tests need the shared fixtures beside the repository")
    return path.read_bytes()


def fixture_headers(name: str) -> dict[str, str]:
    # Keys starting with "_" are notes about how the fixture was made, not headers.
    return {key: value for key, value in json.loads(fixture_bytes(name)).items() if not key.startswith("_")}


def shopify_headers(body: bytes, *, topic: str = "orders/create", delivery_id: str = "delivery-1") -> dict[str, str]:
    return {
        "X-Shopify-Topic": topic,
        "X-Shopify-Webhook-Id": delivery_id,
        "X-Shopify-Hmac-Sha256": sign(SHOPIFY_SECRET, body),
    }


def woocommerce_headers(
    body: bytes, *, topic: str = "order.updated", delivery_id: str = "delivery-1"
) -> dict[str, str]:
    return {
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Delivery-ID": delivery_id,
        "X-WC-Webhook-Signature": sign(WOOCOMMERCE_SECRET, body),
    }


def shopify_order(**changes: Any) -> bytes:
    """The Shopify sample order, edited into a real one; the sample itself is a cancelled (voided) test order."""
    payload = json.loads(fixture_bytes("shopify_orders_create.json"))
    payload |= {"cancelled_at": None, "cancel_reason": None, "financial_status": "paid", "test": False} | changes
    return json.dumps(payload).encode()


def woocommerce_order(**changes: Any) -> bytes:
    return json.dumps(json.loads(fixture_bytes("woocommerce_order_v3_docs_sample.json")) | changes).encode()


def post(client, platform: str, shop, body: bytes, headers: dict[str, str], content_type: str = "application/json"):
    return client.post(f"/webhooks/{platform}/{shop.slug}/", body, content_type=content_type, headers=headers)


@pytest.fixture
def shopify(shop) -> WebhookSource:
    return WebhookSource.objects.create(shop=shop, platform=WebhookSource.Platform.SHOPIFY, secret=SHOPIFY_SECRET)


@pytest.fixture
def woocommerce(shop) -> WebhookSource:
    return WebhookSource.objects.create(
        shop=shop, platform=WebhookSource.Platform.WOOCOMMERCE, secret=WOOCOMMERCE_SECRET
    )


# Just after the sample orders were placed, so their surveys are not historical.
NOW_2019 = datetime(2019, 6, 4, 18, 0, tzinfo=UTC)
NOW_2017 = datetime(2017, 3, 22, 19, 30, tzinfo=UTC)


@pytest.fixture
def in_2019(time_machine) -> None:
    time_machine.move_to(NOW_2019, tick=False)


@pytest.fixture
def in_2017(time_machine) -> None:
    time_machine.move_to(NOW_2017, tick=False)


def fulfilment_survey(survey: Survey) -> Survey:
    # The shop's only survey, so the one-survey-per-customer throttle stays out of the way.
    survey.trigger, survey.name = Survey.Trigger.FULFILMENT, "After delivery"
    survey.save()
    return survey


def lines_of(order: Order) -> list[tuple[str, str, int, Decimal | None]]:
    return [(line.sku, line.product_name, line.quantity, line.unit_price) for line in order.lines.order_by("pk")]


# --- Shopify ------------------------------------------------------------------------------


def test_shopify_sample_order_is_stored_with_lines_customer_and_its_cancellation(client, shop, shopify, in_2019):
    body = fixture_bytes("shopify_orders_create.json")
    headers = fixture_headers("shopify_orders_create.headers.json")

    response = post(client, "shopify", shop, body, headers)

    assert (response.status_code, response.json()) == (200, {"detail": "created"})
    order = Order.objects.get()
    assert (order.shop, order.external_id, order.total, order.currency, order.source) == (
        shop,
        SHOPIFY_ORDER_ID,
        Decimal("403.00"),
        "USD",
        Order.Source.SHOPIFY,
    )
    assert order.placed_at == datetime(2019, 6, 4, 17, 53, 6, tzinfo=UTC)
    assert lines_of(order) == [
        ("IPOD2008PINK", "IPod Nano - 8GB", 1, Decimal("199.00")),
        ("IPOD2008PINK", "IPod Nano - 8GB", 1, Decimal("199.00")),
    ]
    # The order's own email wins over the customer record's.
    customer = order.customer
    assert (customer.email, customer.phone, customer.name, customer.language) == ("jon@doe.ca", "", "John Smith", "en")
    assert list(WebhookDelivery.objects.values_list("source", "delivery_id", "topic")) == [
        (shopify.pk, delivery_key("b54557e4-bdd9-4b37-8a5f-bf7d70bcd043", body), "orders/create")
    ]
    # Shopify's "send test notification" order is a test, voided and cancelled: nobody is surveyed for it.
    assert (order.is_test, order.cancelled_at) == (True, datetime(2019, 6, 4, 17, 53, 6, tzinfo=UTC))
    assert not Invitation.objects.exists()


def test_shopify_test_order_is_stored_as_a_test_and_never_surveyed(client, shop, survey, shopify, in_2019):
    fulfilment_survey(SurveyFactory(shop=shop, name="After delivery"))
    # A test order placed through Shopify's test gateway: paid, open, later fulfilled.
    body = shopify_order(test=True)
    fulfilled = shopify_order(test=True, fulfillment_status="fulfilled", fulfillments=[])

    created = post(client, "shopify", shop, body, shopify_headers(body))
    updated = post(
        client, "shopify", shop, fulfilled, shopify_headers(fulfilled, topic="orders/fulfilled", delivery_id="f")
    )

    assert [answer.json()["detail"] for answer in (created, updated)] == ["created", "updated"]
    order = Order.objects.get()
    assert (order.is_test, order.cancelled_at is None, order.fulfilled_at is not None) == (True, True, True)
    assert not Invitation.objects.exists()


def test_shopify_order_schedules_the_purchase_survey_once_paid(client, shop, survey, shopify, time_machine):
    time_machine.move_to("2008-01-10T16:30:00Z", tick=False)
    body = fixture_bytes("shopify_order_rest_resource_shopify_python_api.json")  # "financial_status": "authorized"
    captured = json.dumps(json.loads(body) | {"financial_status": "paid"}).encode()

    response = post(client, "shopify", shop, body, shopify_headers(body))
    waiting = Invitation.objects.exists()  # the card is authorised, not charged: no survey yet
    paid = post(client, "shopify", shop, captured, shopify_headers(captured, topic="orders/paid", delivery_id="paid"))

    assert response.json() == {"detail": "created"}
    order = Order.objects.get()
    assert (order.external_id, order.total, order.fulfilled_at, order.cancelled_at) == (
        "450789469",
        Decimal("409.94"),
        None,
        None,
    )
    assert [line[0] for line in lines_of(order)] == ["IPOD2008GREEN", "IPOD2008RED", "IPOD2008BLACK"]
    assert lines_of(order)[0][1] == "IPod Nano - 8gb - green"
    # No customer_locale in this payload: the shop's language.
    assert (order.customer.email, order.customer.name, order.customer.language) == (
        "bob.norman@hostmail.com",
        "Bob Norman",
        shop.default_language,
    )
    assert (waiting, paid.json()) == (False, {"detail": "updated"})
    invitation = Invitation.objects.get()
    assert (invitation.order, invitation.survey, invitation.status, invitation.send_at) == (
        order,
        survey,
        Invitation.Status.SCHEDULED,
        datetime(2008, 1, 10, 16, 30, tzinfo=UTC),
    )


@pytest.mark.parametrize(("locale", "language"), [("fa-IR", "fa"), ("fa", "fa"), ("en-GB", "en"), ("de-DE", "en")])
def test_shopify_customer_locale_sets_the_customer_language(client, shop, shopify, in_2019, locale, language):
    body = shopify_order(customer_locale=locale)

    post(client, "shopify", shop, body, shopify_headers(body))

    # A language Bazgasht does not speak falls back to the shop's (English here).
    assert shop.default_language == "en"
    assert Order.objects.get().customer.language == language


def test_same_delivery_twice_keeps_one_order_and_one_invitation(client, shop, survey, shopify, in_2019):
    body = shopify_order()

    first = post(client, "shopify", shop, body, shopify_headers(body, delivery_id="same"))
    second = post(client, "shopify", shop, body, shopify_headers(body, delivery_id="same"))

    assert (first.json(), second.json()) == ({"detail": "created"}, {"detail": "duplicate delivery"})
    assert second.status_code == 200
    assert Order.objects.count() == 1
    assert list(Invitation.objects.values_list("survey", "status")) == [(survey.pk, Invitation.Status.SCHEDULED)]
    assert WebhookDelivery.objects.count() == 1


def test_same_order_in_a_new_delivery_keeps_one_order_and_one_invitation(client, shop, survey, shopify, in_2019):
    body = shopify_order()

    post(client, "shopify", shop, body, shopify_headers(body, delivery_id="first"))
    resent = shopify_order(total_price="1.00")
    again = post(client, "shopify", shop, resent, shopify_headers(resent, delivery_id="second"))

    assert again.json() == {"detail": "updated"}
    assert list(Order.objects.values_list("external_id", "total")) == [(SHOPIFY_ORDER_ID, Decimal("403.00"))]
    assert Invitation.objects.count() == 1
    assert sorted(key.split("/")[0] for key in WebhookDelivery.objects.values_list("delivery_id", flat=True)) == [
        "first",
        "second",
    ]


def test_shopify_orders_fulfilled_sets_fulfilled_at_and_schedules_the_fulfilment_survey(
    client, shop, survey, shopify, in_2019
):
    after_delivery = fulfilment_survey(survey)
    created = shopify_order()
    post(client, "shopify", shop, created, shopify_headers(created, delivery_id="create"))
    assert not Invitation.objects.exists()
    fulfilled = fixture_bytes("shopify_orders_fulfilled.DERIVED.json")

    response = post(
        client, "shopify", shop, fulfilled, shopify_headers(fulfilled, topic="orders/fulfilled", delivery_id="ship")
    )

    assert response.json() == {"detail": "updated"}
    order = Order.objects.get()
    assert order.fulfilled_at == datetime(2019, 6, 4, 17, 53, 6, tzinfo=UTC)
    assert list(Invitation.objects.values_list("survey", "status", "send_at")) == [
        (after_delivery.pk, Invitation.Status.SCHEDULED, NOW_2019),
    ]


def test_shopify_orders_cancelled_cancels_the_scheduled_invitation(client, shop, survey, shopify, in_2019):
    created = shopify_order()
    post(client, "shopify", shop, created, shopify_headers(created, delivery_id="create"))
    cancelled = fixture_bytes("shopify_orders_create.json")  # The sample carries cancelled_at and a reason.

    response = post(
        client, "shopify", shop, cancelled, shopify_headers(cancelled, topic="orders/cancelled", delivery_id="cancel")
    )

    assert response.json() == {"detail": "updated"}
    assert Order.objects.get().cancelled_at == datetime(2019, 6, 4, 17, 53, 6, tzinfo=UTC)
    invitation = Invitation.objects.get()
    assert (invitation.status, invitation.reason) == (
        Invitation.Status.CANCELLED,
        "order cancelled in Shopify (customer)",
    )


def test_shopify_order_without_email_or_phone_is_stored_and_not_surveyed(client, shop, survey, shopify, in_2019):
    # Protected customer data (API 2022-10 on) arrives as null for apps not approved for it.
    body = shopify_order(email=None, contact_email=None, phone=None, customer=None)

    response = post(client, "shopify", shop, body, shopify_headers(body))

    assert response.json() == {"detail": "created"}
    customer = Order.objects.get().customer
    assert (customer.email, customer.phone, customer.name) == ("", "", "")
    assert not Invitation.objects.exists()


# --- WooCommerce --------------------------------------------------------------------------


def test_woocommerce_order_is_stored_and_schedules_the_purchase_survey(client, shop, survey, woocommerce, in_2017):
    body = fixture_bytes("woocommerce_order_v3_docs_sample.json")
    headers = fixture_headers("woocommerce_order_created.headers.json")

    response = post(client, "woocommerce", shop, body, headers)

    assert (response.status_code, response.json()) == (200, {"detail": "created"})
    order = Order.objects.get()
    assert (order.external_id, order.total, order.currency, order.source, order.fulfilled_at) == (
        "727",
        Decimal("29.35"),
        "USD",
        Order.Source.WOOCOMMERCE,
        None,
    )
    # date_created_gmt has no offset: it is UTC (date_created, 16:28, is the site's local time).
    assert order.placed_at == datetime(2017, 3, 22, 19, 28, 2, tzinfo=UTC)
    assert lines_of(order) == [
        ("", "Woo Single #1", 2, Decimal("3.00")),
        ("Bar3", "Ship Your Idea – Color: Black, Size: M Test", 1, Decimal("12.00")),
    ]
    customer = order.customer
    # The billing address is in the US, where (555) 555-5555 is a number not in use: the order is
    # kept without it (test_phones shows a number read in the customer's country).
    assert (customer.email, customer.phone, customer.name, customer.language) == (
        "john.doe@example.com",
        "",
        "John Doe",
        shop.default_language,
    )
    assert list(WebhookDelivery.objects.values_list("delivery_id", "topic")) == [
        (delivery_key("36e520ebabc2fa725092ff4a47acedf2", body), "order.created")
    ]
    invitation = Invitation.objects.get()
    assert (invitation.order, invitation.survey, invitation.status) == (order, survey, Invitation.Status.SCHEDULED)


@pytest.mark.parametrize(
    ("date_completed_gmt", "fulfilled_at"),
    [
        ("2017-03-23T08:00:00", datetime(2017, 3, 23, 8, 0, tzinfo=UTC)),
        (None, datetime(2017, 3, 22, 19, 30, tzinfo=UTC)),  # No completion date: the time it was reported.
    ],
)
def test_woocommerce_completed_order_is_fulfilled_and_schedules_the_fulfilment_survey(
    client, shop, survey, woocommerce, in_2017, date_completed_gmt, fulfilled_at
):
    after_delivery = fulfilment_survey(survey)
    created = fixture_bytes("woocommerce_order_v3_docs_sample.json")
    post(client, "woocommerce", shop, created, fixture_headers("woocommerce_order_created.headers.json"))
    assert not Invitation.objects.exists()
    completed = woocommerce_order(status="completed", date_completed_gmt=date_completed_gmt)

    response = post(client, "woocommerce", shop, completed, woocommerce_headers(completed, delivery_id="done"))

    assert response.json() == {"detail": "updated"}
    assert Order.objects.get().fulfilled_at == fulfilled_at
    assert list(Invitation.objects.values_list("survey", "status", "send_at")) == [
        (after_delivery.pk, Invitation.Status.SCHEDULED, max(fulfilled_at, NOW_2017)),
    ]


@pytest.mark.parametrize("status", ["cancelled", "refunded"])
def test_woocommerce_cancelled_or_refunded_order_cancels_the_scheduled_invitation(
    client, shop, survey, woocommerce, in_2017, status
):
    created = fixture_bytes("woocommerce_order_v3_docs_sample.json")
    post(client, "woocommerce", shop, created, fixture_headers("woocommerce_order_created.headers.json"))
    changed = woocommerce_order(status=status, date_modified_gmt="2017-03-22T19:29:00")

    response = post(client, "woocommerce", shop, changed, woocommerce_headers(changed, delivery_id="undo"))

    assert response.json() == {"detail": "updated"}
    assert Order.objects.get().cancelled_at == datetime(2017, 3, 22, 19, 29, tzinfo=UTC)
    invitation = Invitation.objects.get()
    assert (invitation.status, invitation.reason) == (Invitation.Status.CANCELLED, f"order {status} in WooCommerce")


def test_woocommerce_ping_answers_200_and_stores_nothing(client, shop, woocommerce):
    response = post(client, "woocommerce", shop, b"webhook_id=3", {}, "application/x-www-form-urlencoded")

    assert (response.status_code, response.json()) == (200, {"detail": "ping received"})
    assert not Order.objects.exists()
    assert not WebhookDelivery.objects.exists()


def test_an_unsigned_ping_shaped_body_is_refused_by_shopify(client, shop, shopify):
    response = post(client, "shopify", shop, b"webhook_id=3", {}, "application/x-www-form-urlencoded")

    assert response.status_code == 401
    assert not WebhookDelivery.objects.exists()


# --- Signatures ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("platform", "body_file", "headers_file"),
    [
        ("shopify", "shopify_orders_create.json", "shopify_orders_create.headers.json"),
        ("woocommerce", "woocommerce_order_v3_docs_sample.json", "woocommerce_order_created.headers.json"),
    ],
)
def test_tampered_body_is_refused_and_nothing_stored(
    client, shop, shopify, woocommerce, platform, body_file, headers_file
):
    body = fixture_bytes(body_file)
    tampered = body.replace(b'"403.00"', b'"4.00"').replace(b'"29.35"', b'"2.35"')
    assert tampered != body

    response = post(client, platform, shop, tampered, fixture_headers(headers_file))

    assert (response.status_code, set(response.json())) == (401, {"detail"})
    assert not Order.objects.exists()
    assert not WebhookDelivery.objects.exists()


def test_missing_signature_is_refused(client, shop, shopify):
    body = fixture_bytes("shopify_orders_create.json")
    headers = fixture_headers("shopify_orders_create.headers.json")
    del headers["X-Shopify-Hmac-Sha256"]

    response = post(client, "shopify", shop, body, headers)

    assert response.status_code == 401
    assert not Order.objects.exists()


def test_previous_secret_is_accepted_until_previous_secret_until(client, shop, shopify, time_machine):
    until = datetime(2019, 6, 5, tzinfo=UTC)
    shopify.secret, shopify.previous_secret, shopify.previous_secret_until = "the-new-secret", SHOPIFY_SECRET, until
    shopify.save()
    old_body = shopify_order()
    new_body = shopify_order(id=1001)

    time_machine.move_to(until - timedelta(seconds=1), tick=False)
    before = post(client, "shopify", shop, old_body, shopify_headers(old_body, delivery_id="before"))
    time_machine.move_to(until, tick=False)
    after = post(client, "shopify", shop, new_body, shopify_headers(new_body, delivery_id="after"))
    signed_with_new = {
        **shopify_headers(new_body, delivery_id="after"),
        "X-Shopify-Hmac-Sha256": sign("the-new-secret", new_body),
    }
    with_new_secret = post(client, "shopify", shop, new_body, signed_with_new)

    assert (before.status_code, after.status_code, with_new_secret.status_code) == (200, 401, 200)
    assert sorted(Order.objects.values_list("external_id", flat=True)) == ["1001", SHOPIFY_ORDER_ID]


def test_verify_signature_uses_hmac_sha256_in_base64():
    source = WebhookSource(secret=SHOPIFY_SECRET, previous_secret="old", previous_secret_until=None)
    body = fixture_bytes("shopify_orders_create.json")
    now = datetime(2026, 1, 1, tzinfo=UTC)

    assert verify_signature(source, body, "HPW0HdSUmdwZdwEHc+4da7qz0I8WmXmMuPcmG7i1cyA=", now=now)
    assert not verify_signature(source, body, "", now=now)
    assert not verify_signature(source, body, "not base64 at all ✓", now=now)
    # A previous secret without an end date is never accepted.
    assert not verify_signature(source, body, sign("old", body), now=now)


# --- Bad requests -------------------------------------------------------------------------


def test_invalid_json_with_a_valid_signature_is_a_400_and_nothing_stored(client, shop, shopify):
    body = b'{"id": 1, "total_price": '

    response = post(client, "shopify", shop, body, shopify_headers(body))

    assert response.status_code == 400
    assert response.json()["detail"].startswith("the body is not JSON")
    assert not WebhookDelivery.objects.exists()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"total_price": None}, "total_price is missing"),
        ({"id": "#1001"}, "id must be a whole number, not '#1001'"),
        ({"created_at": "2019-06-04T13:53:06"}, "created_at has no UTC offset: '2019-06-04T13:53:06'"),
        ({"total_price": "-5.00"}, "total cannot be negative"),
    ],
)
def test_an_unreadable_order_is_a_422_and_nothing_stored(client, shop, shopify, in_2019, changes, message):
    body = shopify_order(**changes)

    response = post(client, "shopify", shop, body, shopify_headers(body))

    assert (response.status_code, response.json()) == (422, {"detail": message})
    assert not Order.objects.exists()
    # The delivery is not remembered either: the store's retry of a fixed order gets in.
    assert not WebhookDelivery.objects.exists()


def test_an_unknown_shop_or_platform_is_answered_as_a_wrong_signature_is(client, shop, shopify):
    """So the answers do not tell which shops and platforms exist."""
    body = shopify_order()
    bad = {**shopify_headers(body), "X-Shopify-Hmac-Sha256": "bm90IGl0"}

    unknown_shop = client.post(
        "/webhooks/shopify/no-such-shop/", body, content_type="application/json", headers=shopify_headers(body)
    )
    not_set_up = post(client, "woocommerce", shop, body, woocommerce_headers(body))
    wrong_signature = post(client, "shopify", shop, body, bad)
    wrong_signature_woo = client.post(
        "/webhooks/woocommerce/no-such-shop/", body, content_type="application/json", headers=woocommerce_headers(body)
    )

    assert (unknown_shop.status_code, unknown_shop.json()) == (wrong_signature.status_code, wrong_signature.json())
    assert unknown_shop.status_code == 401
    assert (not_set_up.status_code, not_set_up.json()) == (
        wrong_signature_woo.status_code, wrong_signature_woo.json()
    )  # fmt: skip
    assert not_set_up.json() == {"detail": "missing or invalid X-WC-Webhook-Signature"}
    assert not Order.objects.exists()


def test_other_topics_are_acknowledged_and_ignored(client, shop, shopify):
    body = b'{"id": 632910392, "title": "IPod Nano - 8GB"}'

    response = post(client, "shopify", shop, body, shopify_headers(body, topic="products/update"))

    assert (response.status_code, response.json()) == (200, {"detail": "ignored topic"})
    assert not WebhookDelivery.objects.exists()


def test_webhooks_take_only_post(client, shop, shopify):
    assert client.get(f"/webhooks/shopify/{shop.slug}/").status_code == 405


def test_a_webhook_reaches_only_its_own_shop(client, shop, shopify, in_2019):
    other = ShopFactory()
    OrderFactory(shop=other, external_id=SHOPIFY_ORDER_ID)
    body = shopify_order()

    response = post(client, "shopify", shop, body, shopify_headers(body))

    assert response.json() == {"detail": "created"}
    assert Order.objects.filter(external_id=SHOPIFY_ORDER_ID).count() == 2
    assert Order.objects.get(shop=shop).source == Order.Source.SHOPIFY


def test_a_delivery_without_its_id_is_a_422_and_nothing_stored(client, shop, shopify, in_2019):
    body = shopify_order()
    headers = shopify_headers(body)
    del headers["X-Shopify-Webhook-Id"]

    response = post(client, "shopify", shop, body, headers)

    assert (response.status_code, response.json()) == (422, {"detail": "the delivery id is missing or too long"})
    assert not Order.objects.exists()


# --- Admin --------------------------------------------------------------------------------


def test_admin_shows_the_webhook_url_and_only_the_shops_deliveries(client, shop, shopify, staff_of):
    theirs = WebhookSource.objects.create(shop=ShopFactory(), platform="shopify", secret="x")
    WebhookDelivery.objects.create(source=shopify, delivery_id="mine-1", topic="orders/create")
    WebhookDelivery.objects.create(source=theirs, delivery_id="theirs-1", topic="orders/create")
    client.force_login(staff_of(shop, role="admin"))  # webhook secrets are shop settings

    source_page = client.get(f"/admin/surveys/webhooksource/{shopify.pk}/change/").content.decode()
    deliveries = client.get("/admin/surveys/webhookdelivery/").content.decode()

    assert f"{settings.PUBLIC_URL}/webhooks/shopify/{shop.slug}/" in source_page
    assert "mine-1" in deliveries
    assert "theirs-1" not in deliveries


@pytest.mark.parametrize("status", ["pending", "on-hold", "failed"])
def test_woocommerce_unpaid_order_is_stored_and_surveyed_once_paid(client, shop, survey, woocommerce, in_2017, status):
    unpaid = woocommerce_order(status=status)
    paid = woocommerce_order(status="processing")

    first = post(client, "woocommerce", shop, unpaid, woocommerce_headers(unpaid, topic="order.created"))
    stored_unpaid = Invitation.objects.count()
    second = post(client, "woocommerce", shop, paid, woocommerce_headers(paid, delivery_id="paid"))
    again = post(client, "woocommerce", shop, paid, woocommerce_headers(paid, delivery_id="paid-again"))

    assert [answer.json()["detail"] for answer in (first, second, again)] == ["created", "updated", "updated"]
    assert Order.objects.count() == 1
    assert stored_unpaid == 0
    assert Invitation.objects.get().status == Invitation.Status.SCHEDULED


def test_woocommerce_deliveries_sharing_a_delivery_id_within_a_second_are_each_taken(client, shop, woocommerce):
    """WooCommerce makes X-WC-Webhook-Delivery-ID from the webhook's id and the current second:
    a burst of 25 new orders, then a bulk "mark completed" of them, all carry one id."""
    same_second = "3-1796645261"
    created = [woocommerce_order(id=1000 + n, number=str(1000 + n), status="processing") for n in range(25)]
    completed = [
        woocommerce_order(
            id=1000 + n, number=str(1000 + n), status="completed", date_completed_gmt="2026-12-02T10:00:00"
        )
        for n in range(25)
    ]

    answers = [
        post(
            client, "woocommerce", shop, body, woocommerce_headers(body, topic="order.created", delivery_id=same_second)
        )
        for body in created
    ] + [
        post(
            client, "woocommerce", shop, body, woocommerce_headers(body, topic="order.updated", delivery_id=same_second)
        )
        for body in completed
    ]
    # A true re-delivery (the same delivery, the same body) is still dropped.
    again = post(client, "woocommerce", shop, completed[0], woocommerce_headers(completed[0], delivery_id=same_second))

    assert [answer.json()["detail"] for answer in answers] == ["created"] * 25 + ["updated"] * 25
    assert again.json() == {"detail": "duplicate delivery"}
    assert Order.objects.filter(shop=shop).count() == 25
    assert Order.objects.filter(shop=shop, fulfilled_at__isnull=False).count() == 25


@pytest.mark.parametrize("status", ["pending", "authorized"])
def test_shopify_unpaid_order_is_stored_and_surveyed_once_paid(client, shop, survey, shopify, in_2019, status):
    unpaid = shopify_order(financial_status=status)
    paid = shopify_order(financial_status="paid")

    first = post(client, "shopify", shop, unpaid, shopify_headers(unpaid))
    stored_unpaid = Invitation.objects.count()
    second = post(client, "shopify", shop, paid, shopify_headers(paid, topic="orders/paid", delivery_id="paid"))

    assert [answer.json()["detail"] for answer in (first, second)] == ["created", "updated"]
    assert Order.objects.count() == 1
    assert stored_unpaid == 0
    assert Invitation.objects.get().status == Invitation.Status.SCHEDULED
