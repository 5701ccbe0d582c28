"""Phone numbers are one number however they are written: stored in E.164 at every way in, and
matched so by the throttle, the suppression list, erasure and export."""

import importlib
import io
import json
from decimal import Decimal

import pytest
from django.apps import apps
from django.utils import timezone

from feedback.models import Response
from surveys import phones
from surveys.customer_data.privacy import erase_customer, find_customer
from surveys.intake.csv_import import import_orders
from surveys.intake.orders import CustomerDetails, record_order
from surveys.intake.webhooks import sign
from surveys.models import Customer, Invitation, Order, Suppression, WebhookSource
from surveys.outreach.suppressions import suppress
from tests.factories import CustomerFactory, OrderFactory, ResponseFactory, ShopFactory, SurveyFactory

pytestmark = pytest.mark.django_db

SPELLINGS = ["+98 912 123 4567", "09121234567", "۰۹۱۲ ۱۲۳ ۴۵۶۷", "٠٩١٢١٢٣٤٥٦٧", "0098 912-123-4567", "(0912) 123 4567"]
NUMBER = "+989121234567"


@pytest.mark.parametrize("typed", SPELLINGS)
def test_every_spelling_of_an_iranian_mobile_is_one_number(typed):
    assert phones.normalise(typed, "IR") == NUMBER


@pytest.mark.parametrize(
    ("typed", "region", "problem"),
    [
        ("09121234567", "", "has no country code"),
        ("0912", "IR", "not a phone number in use in IR"),
        ("+1 555 625 1199", "IR", r"not a phone number in use in US \(\+1\)"),
        ("+999 1234", "IR", "a country code that does not exist"),
        ("call me", "IR", "is not a phone number"),
        ("+98 912 123 4567 ext 1 2 3 4 5 6 7 8 9", "IR", "too long"),
    ],
)
def test_what_is_not_a_number_is_refused_with_the_reason(typed, region, problem):
    with pytest.raises(phones.InvalidPhone, match=problem):
        phones.normalise(typed, region)


@pytest.mark.parametrize(
    ("phone_region", "time_zone", "region"),
    [("", "Asia/Tehran", "IR"), ("", "Europe/Berlin", "DE"), ("DE", "Asia/Tehran", "DE"), ("", "UTC", "")],
)
def test_the_shops_region_is_its_own_or_its_time_zones(phone_region, time_zone, region):
    assert phones.region_of(ShopFactory.build(phone_region=phone_region, timezone=time_zone)) == region


def sms_shop():
    return ShopFactory(sms_enabled=True, timezone="Asia/Tehran")


def order_with(shop, phone, external_id, **details):
    order, _ = record_order(
        shop,
        external_id=external_id,
        customer=CustomerDetails(phone=phone, **details),
        total=Decimal("10"),
        currency="IRR",
        placed_at=timezone.now(),
    )
    return order


def test_two_spellings_are_one_customer_and_the_throttle_holds(survey):
    shop = survey.shop
    shop.sms_enabled = True
    shop.save()

    first = order_with(shop, "+98 912 123 4567", "A-1")
    second = order_with(shop, "09121234567", "A-2")

    assert first.customer == second.customer
    assert Customer.objects.get().phone == NUMBER
    assert [i.status for i in Invitation.objects.order_by("pk")] == ["scheduled", "throttled"]


def test_after_erasure_no_spelling_of_the_number_is_surveyed_again(survey):
    shop = survey.shop
    shop.sms_enabled = True
    shop.save()
    erase_customer(order_with(shop, "+98 912 123 4567", "A-1").customer)

    again = order_with(shop, "+989121234567", "A-2")
    once_more = order_with(shop, "۰۹۱۲۱۲۳۴۵۶۷", "A-3")

    assert [i.status for i in Invitation.objects.filter(order__in=[again, once_more])] == ["suppressed"] * 2


def test_a_suppressed_number_matches_in_any_spelling(survey):
    shop = survey.shop
    shop.sms_enabled = True
    shop.save()
    suppression = suppress(shop, channel="sms", address="0912 123 4567", reason=Suppression.Reason.MANUAL)

    order = order_with(shop, "+98-912-123-4567", "A-1")

    assert suppression.address == NUMBER
    assert order.invitations.get().status == "suppressed"


def test_export_and_erasure_find_the_customer_by_any_spelling(survey, api):
    customer = order_with(survey.shop, "+98 912 123 4567", "A-1").customer

    assert find_customer(survey.shop, phone="09121234567") == customer
    exported = api.post("/api/v1/customers/export", {"phone": "۰۹۱۲۱۲۳۴۵۶۷"}, content_type="application/json")
    assert exported.status_code == 200
    assert exported.json()["customer"]["phone"] == NUMBER


def test_a_number_abroad_is_read_in_the_customers_country(survey, api):
    answer = api.post(
        "/api/v1/orders",
        {
            "external_id": "A-1",
            "total": "10",
            "currency": "EUR",
            "placed_at": "2026-11-20T10:00:00+01:00",
            "customer": {"phone": "030 1234567", "country": "de"},
        },
        content_type="application/json",
    )

    assert answer.status_code == 201
    assert Customer.objects.get().phone == "+49301234567"


def test_the_api_refuses_a_number_it_cannot_read_and_says_why(survey, api):
    order = {"external_id": "A-1", "total": "10", "currency": "IRR", "placed_at": "2026-11-20T10:00:00+03:30"}

    answer = api.post("/api/v1/orders", order | {"customer": {"phone": "0912"}}, content_type="application/json")
    bulk = api.post(
        "/api/v1/orders/bulk",
        {"orders": [order | {"customer": {"phone": "0912"}}, order | {"external_id": "A-2", "customer": {}}]},
        content_type="application/json",
    )

    assert answer.status_code == 422
    assert "customer.phone: '0912' is not a phone number in use in IR (+98)" in answer.content.decode()
    assert [row["status"] for row in bulk.json()["results"]] == ["rejected", "created"]
    assert not Order.objects.filter(external_id="A-1").exists()


def test_a_csv_import_stores_the_normal_form_and_names_a_bad_number(survey):
    rows = io.StringIO(
        "external_id,phone,total,currency,placed_at\n"
        "A-1,0912 123 4567,10,IRR,2024-03-01T10:00:00+03:30\n"
        "A-2,۰۹۱۲۱۲۳۴۵۶۷,10,IRR,2024-03-02T10:00:00+03:30\n"
        "A-3,12,10,IRR,2024-03-02T10:00:00+03:30\n"
    )

    report = import_orders(survey.shop, rows)

    assert report.created == 2
    assert [r.reasons for r in report.rejections] == [
        ("line 4: customer.phone: '12' is not a phone number in use in IR (+98)",)
    ]
    assert list(Customer.objects.values_list("phone", flat=True)) == [NUMBER]


@pytest.mark.parametrize(
    ("phone", "country", "stored"),
    [
        ("(650) 253-0000", "US", "+16502530000"),  # read in the billing address's country
        ("0912 123 4567", "", NUMBER),  # no country: the shop's region
        ("not a number", "", ""),  # kept without it: a store's order is never refused for it
    ],
)
def test_a_store_order_keeps_a_number_it_can_read(client, survey, phone, country, stored):
    shop = survey.shop
    WebhookSource.objects.create(shop=shop, platform="woocommerce", secret="s3cret")
    body = json.dumps(
        {
            "id": 727,
            "number": "727",
            "status": "processing",
            "currency": "USD",
            "total": "29.35",
            "date_created_gmt": "2026-11-20T10:00:00",
            "billing": {"email": "", "phone": phone, "first_name": "Sara", "country": country},
            "line_items": [],
        }
    ).encode()

    answer = client.post(
        f"/webhooks/woocommerce/{shop.slug}/",
        body,
        content_type="application/json",
        headers={
            "X-WC-Webhook-Topic": "order.created",
            "X-WC-Webhook-Delivery-ID": "1",
            "X-WC-Webhook-Signature": sign("s3cret", body),
        },
    )

    assert (answer.status_code, Order.objects.get().customer.phone) == (200, stored)


def test_the_admin_stores_the_normal_form_and_refuses_what_is_not_a_number(client, staff_of):
    shop = sms_shop()
    client.force_login(staff_of(shop))
    customer = CustomerFactory(shop=shop, email="", phone="")
    url = f"/admin/surveys/customer/{customer.pk}/change/"
    form = {"shop": shop.pk, "email": "", "name": "Sara", "language": "fa", "consent": ""}
    form |= {"invitations-TOTAL_FORMS": "0", "invitations-INITIAL_FORMS": "0"}  # the surveys inline

    refused = client.post(url, form | {"phone": "0912"})
    saved = client.post(url, form | {"phone": "۰۹۱۲ ۱۲۳ ۴۵۶۷"})

    assert "is not a phone number in use in IR" in refused.content.decode()
    assert saved.status_code == 302
    customer.refresh_from_db()
    assert customer.phone == NUMBER


def test_staff_find_a_customer_by_any_spelling_of_the_number(client, staff_of):
    shop = sms_shop()
    CustomerFactory(shop=shop, email="roya@example.com", phone=NUMBER)
    CustomerFactory(shop=shop, email="kaveh@example.com", phone="+989351112233")
    client.force_login(staff_of(shop))

    sent = client.post("/admin/surveys/customer/", {"_search": "1", "q": "۰۹۱۲ ۱۲۳ ۴۵۶۷"})
    page = client.get(sent["Location"]).content.decode()

    assert "roya@example.com" in page
    assert "kaveh@example.com" not in page


# --- Numbers stored before: migration surveys 0014 ---------------------------------------------


def normalise_stored_phones():
    migration = importlib.import_module("surveys.migrations.0014_phones_in_one_form")
    migration.normalise_stored_phones(apps, None)


def test_stored_numbers_are_rewritten_and_one_persons_customers_merged():
    shop = sms_shop()
    kept = CustomerFactory(shop=shop, email="sara@example.com", phone="+98 912 123 4567", name="")
    same_person = CustomerFactory(shop=shop, email="", phone="09121234567", name="Sara Ahmadi")
    family = CustomerFactory(shop=shop, email="reza@example.com", phone="+989121234567")
    other = CustomerFactory(shop=shop, email="", phone="0935 111 2233")
    elsewhere = CustomerFactory(email="", phone="0912 123 4567")  # another shop's customer
    unreadable = CustomerFactory(shop=shop, email="", phone="12")
    order = OrderFactory(shop=shop, customer=same_person)
    response = ResponseFactory(invitation__survey=SurveyFactory(shop=shop), invitation__order=order)
    suppress(shop, channel="sms", address="+989351112233", reason=Suppression.Reason.MANUAL)
    Suppression.objects.create(shop=shop, channel="sms", address="0935 111 2233", reason="unsubscribed")
    Suppression.objects.create(shop=shop, channel="sms", address="0912-123-4567", reason="bounced")

    normalise_stored_phones()

    assert not Customer.objects.filter(pk=same_person.pk).exists()
    for customer in (kept, family, other, elsewhere, unreadable):
        customer.refresh_from_db()
    assert (kept.phone, kept.name, kept.email) == (NUMBER, "Sara Ahmadi", "sara@example.com")
    assert (family.phone, other.phone, elsewhere.phone, unreadable.phone) == ("", "+989351112233", NUMBER, "12")
    order.refresh_from_db()
    assert order.customer == kept
    assert Response.objects.get(pk=response.pk).customer == kept
    assert Invitation.objects.get(order=order).customer == kept
    assert sorted(Suppression.objects.filter(shop=shop).values_list("address", "reason")) == [
        (NUMBER, "bounced"),
        ("+989351112233", "manual"),
    ]
