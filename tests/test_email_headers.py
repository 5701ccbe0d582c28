"""What people typed never breaks an email header: order numbers with control characters are
refused at intake, names are made one line, and every subject is one line whatever was stored."""

import io

import pytest
from django.utils import timezone

from feedback.casework import cases
from feedback.casework.flagging import flag_response
from feedback.models import FlagRules
from feedback.tasks import alert_case
from surveys.intake.csv_import import import_orders
from surveys.models import Customer, Order
from tests.factories import ResponseFactory

pytestmark = pytest.mark.django_db


def order(external_id="A-1", name="Sara Ahmadi"):
    return {"external_id": external_id, "total": "10.00", "currency": "EUR", "placed_at": timezone.now().isoformat(),
            "customer": {"email": "sara@example.com", "name": name}}  # fmt: skip


@pytest.mark.parametrize("external_id", ["A-1\nBcc: someone@example.com", "A\r1", "A\t1", "A\u20281"])
def test_an_order_number_with_a_control_character_is_refused_everywhere_and_nothing_is_stored(api, shop, external_id):
    single = api.post("/api/v1/orders", order(external_id), content_type="application/json")
    bulk = api.post("/api/v1/orders/bulk", {"orders": [order(external_id), order("A-2")]},
                    content_type="application/json")  # fmt: skip
    quoted = external_id.replace('"', '""')
    imported = import_orders(
        shop, io.StringIO(f'external_id,email,total,currency,placed_at\n"{quoted}",x@example.com,5,EUR,2026-11-02\n')
    )

    assert single.status_code == 422
    assert "control characters" in single.json()["detail"]
    assert [item["status"] for item in bulk.json()["results"]] == ["rejected", "created"]
    assert "control characters" in bulk.json()["results"][0]["errors"][0]
    assert imported.created == 0
    assert "control characters" in " ".join(imported.rejections[0].reasons)
    assert list(Order.objects.values_list("external_id", flat=True)) == ["A-2"]


def test_a_name_with_line_breaks_is_stored_on_one_line(api):
    assert (
        api.post("/api/v1/orders", order(name=" Sara\r\nAhmadi\t"), content_type="application/json").status_code == 201
    )

    assert Customer.objects.get().name == "Sara Ahmadi"


@pytest.fixture
def case_with_breaks():
    """A case whose customer's name and order number carry line breaks, as stored before intake
    refused them (or written by anything else)."""
    response = ResponseFactory(
        score=1, comment="Broken, I want a refund.",
        invitation__order__external_id="A-9\nBcc: all@example.com",
        invitation__order__customer__name="Nasrin\nTehrani",
    )  # fmt: skip
    Customer.objects.filter(pk=response.customer_id).update(name="Nasrin\r\nTehrani")
    return flag_response(response)


def test_an_urgent_alert_still_reaches_the_on_call_address_with_a_one_line_subject(case_with_breaks, mailbox):
    FlagRules.objects.create(shop=case_with_breaks.shop, alert_email="oncall@shop.example")

    alert_case(case_id=case_with_breaks.pk)

    [message] = mailbox.wait_for(1)
    assert message["Subject"] == f"[Urgent] {case_with_breaks.shop.name}: Nasrin Tehrani needs a call"
    assert message["Bcc"] is None
    assert message["To"] == "oncall@shop.example"


def test_a_reply_about_such_an_order_goes_out_with_a_one_line_subject(case_with_breaks, staff_of, mailbox):
    agent = staff_of(case_with_breaks.shop)

    cases.reply(case_with_breaks, "Sorry, a new one is on its way.", by=agent)

    [message] = mailbox.wait_for(1)
    assert message["Subject"].endswith("about your order #A-9 Bcc: all@example.com")
    assert message["Bcc"] is None
