"""Consent: a customer the shop has no basis to contact is never surveyed, and says why."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from surveys.intake.csv_import import import_orders
from surveys.intake.orders import CustomerDetails, record_order
from surveys.intake.webhook_payloads import parse_shopify_order
from surveys.models import Consent, Customer, Invitation, Shop, WebhookSource
from surveys.outreach import consent
from surveys.outreach.reminders import send_due_reminders
from surveys.outreach.sending import send_due_invitations
from tests.factories import CustomerFactory, ShopFactory
from tests.surveys.test_webhooks import (
    SHOPIFY_SECRET,
    WOOCOMMERCE_SECRET,
    fixture_bytes,
    post,
    shopify_headers,
    shopify_order,
    woocommerce_headers,
    woocommerce_order,
)


def place(shop, external_id="A-1", *, email="sara@example.com", consent="", consent_at=None, placed_at=None):
    order, _ = record_order(
        shop,
        external_id=external_id,
        customer=CustomerDetails(email=email, name="Sara", consent=consent, consent_at=consent_at),
        total=Decimal("10.00"),
        currency="EUR",
        placed_at=placed_at or timezone.now(),
    )
    return order


def opt_in_only(shop):
    shop.consent_basis = Shop.ConsentBasis.OPT_IN
    shop.save()
    return shop


# --- The rule ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("basis", "said", "refused"),
    [
        (Shop.ConsentBasis.LEGITIMATE_INTEREST, Consent.UNKNOWN, ""),
        (Shop.ConsentBasis.LEGITIMATE_INTEREST, Consent.NOT_GRANTED, ""),
        (Shop.ConsentBasis.LEGITIMATE_INTEREST, Consent.GRANTED, ""),
        (Shop.ConsentBasis.LEGITIMATE_INTEREST, Consent.WITHDRAWN, consent.WITHDRAWN_REASON),
        (Shop.ConsentBasis.OPT_IN, Consent.UNKNOWN, consent.NOT_OPTED_IN_REASON),
        (Shop.ConsentBasis.OPT_IN, Consent.NOT_GRANTED, consent.NOT_OPTED_IN_REASON),
        (Shop.ConsentBasis.OPT_IN, Consent.GRANTED, ""),
        (Shop.ConsentBasis.OPT_IN, Consent.WITHDRAWN, consent.WITHDRAWN_REASON),
    ],
)
def test_contact_refusal_by_basis_and_statement(basis, said, refused):
    assert consent.contact_refusal(Shop(consent_basis=basis), Customer(consent=said)) == refused


@pytest.mark.parametrize(
    ("word", "expected"),
    [("granted", "granted"), ("Yes", "granted"), ("1", "granted"), ("opted-in", "granted"), ("no", "not_granted"),
     ("not granted", "not_granted"), ("withdrawn", "withdrawn"), ("unsubscribed", "withdrawn")],
)  # fmt: skip
def test_parse_consent_reads_the_usual_words(word, expected):
    assert consent.parse_consent(word) == expected


def test_parse_consent_refuses_anything_else():
    with pytest.raises(ValueError, match="is not a consent"):
        consent.parse_consent("maybe")


# --- At scheduling and at sending ------------------------------------------------------------


@pytest.mark.django_db
def test_an_opt_in_shop_surveys_only_customers_who_opted_in(shop, mailbox):
    opt_in_only(shop)
    silent = place(shop, "A-1", email="silent@example.com")
    asked = place(shop, "A-2", email="asked@example.com", consent="granted")

    send_due_invitations()

    assert [message["To"] for message in mailbox.messages] == ["asked@example.com"]
    refused = silent.invitations.get()
    assert (refused.status, refused.reason) == ("suppressed", consent.NOT_OPTED_IN_REASON)
    assert asked.invitations.get().status == "sent"


@pytest.mark.django_db
def test_a_customer_who_opted_out_at_the_store_is_not_surveyed_on_legitimate_interest(shop, mailbox):
    order = place(shop, email="gone@example.com", consent="withdrawn")

    send_due_invitations()

    invitation = order.invitations.get()
    assert (invitation.status, invitation.reason) == ("suppressed", consent.WITHDRAWN_REASON)
    assert mailbox.messages == []


@pytest.mark.django_db
def test_consent_withdrawn_after_scheduling_stops_the_survey_at_send_time(survey, mailbox, time_machine):
    survey.delay = timedelta(days=7)
    survey.save()
    time_machine.move_to("2026-11-01T12:00:00Z", tick=False)
    order = place(survey.shop, "A-1", consent="granted")
    assert order.invitations.get().status == "scheduled"
    # A later order, at the store, where the customer opted out.
    time_machine.move_to("2026-11-03T12:00:00Z", tick=False)
    place(survey.shop, "A-2", consent="withdrawn")

    time_machine.move_to("2026-11-08T12:00:00Z", tick=False)
    send_due_invitations()

    invitation = order.invitations.get()
    assert (invitation.status, invitation.reason) == ("suppressed", consent.WITHDRAWN_REASON)
    assert mailbox.messages == []


@pytest.mark.django_db
def test_an_opt_in_shop_sends_no_reminder_to_a_customer_who_withdrew(survey, mailbox, time_machine):
    survey.reminder_after = timedelta(days=3)
    survey.save()
    opt_in_only(survey.shop)
    time_machine.move_to("2026-11-01T12:00:00Z", tick=False)
    order = place(survey.shop, "A-1", consent="granted")
    send_due_invitations()
    assert len(mailbox.messages) == 1
    Customer.objects.filter(pk=order.customer_id).update(consent=Consent.WITHDRAWN)

    time_machine.move_to("2026-11-05T12:00:00Z", tick=False)
    send_due_reminders()

    assert len(mailbox.messages) == 1


@pytest.mark.django_db
def test_a_later_statement_replaces_an_earlier_one_and_silence_changes_nothing(shop):
    first = datetime(2026, 11, 1, tzinfo=UTC)
    place(shop, "A-1", consent="granted", placed_at=first)
    place(shop, "A-2", placed_at=first + timedelta(days=1))  # says nothing
    customer = Customer.objects.get()
    assert (customer.consent, customer.consent_at, customer.consent_source) == ("granted", first, "api")

    place(shop, "A-3", consent="withdrawn", placed_at=first + timedelta(days=2))
    # An older statement arriving late does not undo the newer one.
    place(shop, "A-4", consent="granted", consent_at=first + timedelta(hours=1), placed_at=first + timedelta(days=3))

    customer.refresh_from_db()
    assert (customer.consent, customer.consent_at) == ("withdrawn", first + timedelta(days=2))


# --- Where statements come from --------------------------------------------------------------


@pytest.mark.django_db
def test_the_api_takes_the_customers_consent_with_its_time(api, shop):
    answer = api.post(
        "/api/v1/orders",
        {
            "external_id": "A-1",
            "total": "10.00",
            "currency": "EUR",
            "placed_at": "2026-11-20T10:00:00+00:00",
            "customer": {"email": "sara@example.com", "consent": "granted", "consent_at": "2026-11-19T08:00:00+03:30"},
        },
        content_type="application/json",
    )

    assert answer.status_code == 201, answer.content
    customer = Customer.objects.get()
    assert customer.consent == "granted"
    assert customer.consent_at == datetime(2026, 11, 19, 4, 30, tzinfo=UTC)
    assert customer.consent_source == "api"


@pytest.mark.django_db
def test_the_api_refuses_an_unknown_consent_or_a_time_without_offset(api):
    base = {"external_id": "A-1", "total": "1.00", "currency": "EUR", "placed_at": "2026-11-20T10:00:00+00:00"}

    unknown = api.post("/api/v1/orders", base | {"customer": {"email": "a@example.com", "consent": "maybe"}},
                       content_type="application/json")  # fmt: skip
    naive = api.post(
        "/api/v1/orders",
        base | {"customer": {"email": "a@example.com", "consent": "granted", "consent_at": "2026-11-19T08:00:00"}},
        content_type="application/json",
    )

    assert unknown.status_code == 422
    assert naive.status_code == 422
    assert "consent_at must include a UTC offset" in naive.content.decode()
    assert Customer.objects.count() == 0


def test_shopify_consent_prefers_the_customers_current_email_marketing_consent():
    payload = json.loads(fixture_bytes("shopify_orders_create.json"))
    # The sample order: the buyer ticked the box at this checkout.
    assert payload["buyer_accepts_marketing"] is True
    reported = parse_shopify_order(payload, topic="orders/create", now=timezone.now())
    assert reported.order.customer.consent == "granted"

    payload["customer"]["email_marketing_consent"] = {
        "state": "unsubscribed",
        "opt_in_level": "single_opt_in",
        "consent_updated_at": "2026-11-02T10:00:00-05:00",
    }
    withdrawn = parse_shopify_order(payload, topic="orders/create", now=timezone.now()).order.customer
    assert (withdrawn.consent, withdrawn.consent_at) == ("withdrawn", datetime(2026, 11, 2, 15, tzinfo=UTC))


def test_shopify_consent_falls_back_to_the_customers_accepts_marketing():
    payload = json.loads(fixture_bytes("shopify_order_rest_resource_shopify_python_api.json"))
    payload.pop("buyer_accepts_marketing")
    payload["customer"]["accepts_marketing"] = False

    reported = parse_shopify_order(payload, topic="orders/create", now=timezone.now())

    assert reported.order.customer.consent == "not_granted"


@pytest.mark.django_db
def test_a_shopify_order_of_a_buyer_who_did_not_opt_in_is_not_surveyed_by_an_opt_in_shop(client, shop, mailbox):
    opt_in_only(shop)
    WebhookSource.objects.create(shop=shop, platform=WebhookSource.Platform.SHOPIFY, secret=SHOPIFY_SECRET)
    body = shopify_order(buyer_accepts_marketing=False, created_at=timezone.now().isoformat())

    answer = post(client, "shopify", shop, body, shopify_headers(body))

    assert answer.status_code == 200, answer.content
    customer = Customer.objects.get()
    assert (customer.consent, customer.consent_source) == ("not_granted", "shopify")
    assert Invitation.objects.get().reason == consent.NOT_OPTED_IN_REASON


@pytest.mark.django_db
def test_a_woocommerce_order_carries_consent_in_its_meta_field(client, shop):
    WebhookSource.objects.create(shop=shop, platform=WebhookSource.Platform.WOOCOMMERCE, secret=WOOCOMMERCE_SECRET)
    meta = [{"id": 1, "key": "_download_permissions_granted", "value": "yes"},
            {"id": 2, "key": consent.WOOCOMMERCE_CONSENT_META_KEY, "value": "yes"}]  # fmt: skip
    body = woocommerce_order(meta_data=meta, status="processing")

    answer = post(client, "woocommerce", shop, body, woocommerce_headers(body, topic="order.created"))

    assert answer.status_code == 200, answer.content
    assert Customer.objects.values_list("consent", "consent_source").get() == ("granted", "woocommerce")


@pytest.mark.django_db
def test_a_woocommerce_order_without_the_meta_field_says_nothing(client, shop):
    WebhookSource.objects.create(shop=shop, platform=WebhookSource.Platform.WOOCOMMERCE, secret=WOOCOMMERCE_SECRET)
    body = woocommerce_order(status="processing")

    post(client, "woocommerce", shop, body, woocommerce_headers(body, topic="order.created"))

    assert Customer.objects.values_list("consent", "consent_at").get() == ("", None)


@pytest.mark.django_db
def test_a_csv_import_takes_consent_columns_and_reports_a_bad_one():
    shop = ShopFactory(timezone="UTC")
    rows = [
        "external_id,email,total,currency,placed_at,consent,consent_at",
        "A-1,yes@example.com,10,EUR,2026-10-01,yes,2026-09-30T12:00:00+00:00",
        "A-2,no@example.com,10,EUR,2026-10-01,withdrawn,",
        "A-3,odd@example.com,10,EUR,2026-10-01,perhaps,",
    ]

    report = import_orders(shop, rows)

    assert (report.created, report.rejected) == (2, 1)
    assert "line 4: consent: 'perhaps' is not a consent" in report.rejections[0].reasons[0]
    stored = dict(Customer.objects.values_list("email", "consent"))
    assert stored == {"yes@example.com": "granted", "no@example.com": "withdrawn"}
    assert Customer.objects.get(email="yes@example.com").consent_at == datetime(2026, 9, 30, 12, tzinfo=UTC)
    # Without its own time, the statement was made with the order.
    assert Customer.objects.get(email="no@example.com").consent_at == datetime(2026, 10, 1, tzinfo=UTC)


@pytest.mark.django_db
def test_staff_changing_consent_in_the_admin_is_recorded_as_its_source(client, staff_of, shop):
    customer = CustomerFactory(shop=shop)
    client.force_login(staff_of(shop))

    answer = client.post(
        f"/admin/surveys/customer/{customer.pk}/change/",
        {"shop": shop.pk, "email": customer.email, "phone": "", "name": customer.name, "language": "en",
         "consent": "withdrawn", "consent_at_0": "", "consent_at_1": "",
         "invitations-TOTAL_FORMS": "0", "invitations-INITIAL_FORMS": "0"},
    )  # fmt: skip

    assert answer.status_code == 302, answer.content.decode()[:2000]
    customer.refresh_from_db()
    assert (customer.consent, customer.consent_source) == ("withdrawn", "admin")
    assert customer.consent_at is not None
