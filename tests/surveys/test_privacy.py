"""A customer's data: erased on request without changing the numbers, and exported whole."""

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.db import models
from django.utils import timezone

from feedback.casework import cases
from feedback.casework.flagging import flag_response
from feedback.insights.tallies import nps_tally
from feedback.models import Answer, CaseEvent, CaseNote, FollowUp, Response
from reports.models import ReportRun
from sentiment.models import AnswerTheme, LearnedModel, SentimentScore
from surveys.customer_data import privacy
from surveys.intake.orders import CustomerDetails, record_order
from surveys.models import Customer, Erasure, Invitation, Membership, Order, OrderLine, Suppression
from surveys.outreach.planning import ERASED_REASON
from surveys.outreach.sending import send_due_invitations
from surveys.outreach.suppressions import MARKER_PREFIX, record_provider_event, suppress, suppressed_among
from tests.conftest import body_of
from tests.factories import CustomerFactory, InvitationFactory, OrderFactory, ResponseFactory, SurveyFactory

# Dates and months against the clock: CI runs these on the days calendars turn.
pytestmark = pytest.mark.calendar

EMAIL = "sara.tehrani@example.com"
PHONE = "+989121234567"
NAME = "Sara Tehrani"
COMMENT = "The parcel from Isfahan arrived broken, call me on my mobile"
NOTE = "Called Sara at home, she wants a refund"
REPLY = "Dear Sara, we are sending a new mug today"
FROM_CUSTOMER = "Thanks, my new address is 12 Vali-Asr street"
GOODWILL = "coupon SARA-TEHRANI-10"
# Everything personal the tests put in; none of it may survive an erasure, anywhere.
PERSONAL = [EMAIL, "sara.tehrani", PHONE, "9121234567", NAME, "Tehrani", "Isfahan", "Vali-Asr", "SARA-TEHRANI",
            "new mug today", "she wants a refund"]  # fmt: skip


def at(day: int) -> datetime:
    return datetime(2026, 10, day, 12, tzinfo=UTC)


@pytest.fixture
def sara(survey, staff_of, mailbox, time_machine):
    """A customer with something in every place personal data can be: an answered survey
    with a comment, its case (notes, an emailed reply, the customer's answer), a scheduled
    and an open survey, an unsubscribe, a learned model, the admin's history and a report.

    Made in November 2026, the month after her answer, whatever day the suite runs: the case
    and its trail are stamped with the clock, and which reports they touch depends on it."""
    time_machine.move_to(datetime(2026, 11, 5, 10, tzinfo=UTC), tick=True)
    shop = survey.shop
    customer = CustomerFactory(
        shop=shop, email=EMAIL, phone=PHONE, name=NAME, consent="granted", consent_at=at(1), consent_source="api"
    )
    answered = OrderFactory(shop=shop, customer=customer, external_id="A-1", placed_at=at(1), total=Decimal("80.00"))
    OrderLine.objects.create(order=answered, sku="MUG-1", product_name="Blue mug", quantity=2, unit_price=40)
    invitation = InvitationFactory(
        survey=survey, order=answered, customer=customer, status="answered", sent_at=at(2), answered_at=at(3)
    )
    response = ResponseFactory(invitation=invitation, submitted_at=at(3), score=2, comment=COMMENT)
    comment = Answer.objects.get(response=response, text=COMMENT)
    SentimentScore.objects.create(
        answer=comment, polarity=-0.7, label="negative", confidence=0.9, language="en", analyzer="test"
    )
    AnswerTheme.objects.create(answer=comment, theme="delivery", polarity=-0.8, label="negative")
    case = flag_response(response)
    agent = staff_of(shop, role=Membership.Role.AGENT)
    cases.add_note(case, NOTE, by=agent)
    cases.reply(case, REPLY, by=agent)
    cases.add_note(case, FROM_CUSTOMER, by=None, kind=CaseNote.Kind.CUSTOMER)
    cases.resolve(case, resolution="goodwill", goodwill="coupon", goodwill_note=GOODWILL, by=agent)
    # A survey not sent yet, and one sent and still open.
    waiting = OrderFactory(shop=shop, customer=customer, external_id="A-2", placed_at=at(20))
    InvitationFactory(survey=survey, order=waiting, customer=customer, send_at=timezone.now() + timedelta(days=3))
    open_order = OrderFactory(shop=shop, customer=customer, external_id="A-3", placed_at=at(21))
    InvitationFactory(survey=survey, order=open_order, customer=customer, status="sent", sent_at=at(22))
    suppress(shop, channel="sms", address=PHONE, reason=Suppression.Reason.MANUAL, detail=f"{NAME} asked by phone")
    LearnedModel.objects.create(
        shop=shop, language="en", trained_at=at(25), examples=200, positives=100, held_out_count=40,
        held_out_accuracy=0.8, held_out_macro_f1=0.8, analyzer_macro_f1=0.7, model=b"Tehrani Isfahan",
    )  # fmt: skip
    LogEntry.objects.create(
        user=agent, content_type=ContentType.objects.get_for_model(Customer), object_id=str(customer.pk),
        object_repr=str(customer), action_flag=CHANGE, change_message="[]",
    )  # fmt: skip
    run = ReportRun.objects.create(shop=shop, period=date_of(at(1)), period_end=date_of(at(31)), status="done")
    run.file.save("report.pdf", ContentFile(f"%PDF {NAME} {COMMENT}".encode()))
    return customer


def date_of(moment: datetime):
    return moment.date()


def rows_by_model() -> dict[str, set[str]]:
    """Every row of every table the project and Django's admin keep, as text."""
    return {model._meta.label: {repr(row) for row in model.objects.values()} for model in apps.get_models()}


def everything_stored() -> str:
    return "\n".join(row for rows in rows_by_model().values() for row in rows)


def month(shop):
    return nps_tally(shop, since=at(1), until=at(31))


# --- Erasure ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_erasure_leaves_no_personal_data_in_any_table(sara, django_capture_on_commit_callbacks):
    assert all(value in everything_stored() for value in PERSONAL)  # the fixture put it all somewhere

    with django_capture_on_commit_callbacks(execute=True):
        privacy.erase_customer(sara, via="admin")

    stored = everything_stored()
    assert [value for value in PERSONAL if value.lower() in stored.lower()] == []


@pytest.mark.django_db
def test_erasure_keeps_every_number(sara, survey):
    shop = survey.shop
    other = ResponseFactory(invitation__survey=survey, submitted_at=at(5), score=10, comment="Lovely")
    before = (month(shop), Response.objects.count(), Answer.objects.count(), FollowUp.objects.count(),
              list(Order.objects.order_by("pk").values_list("total", "customer_id")), SentimentScore.objects.count(),
              AnswerTheme.objects.count())  # fmt: skip
    assert (before[0].detractors, before[0].promoters) == (1, 1)

    privacy.erase_customer(sara)

    after = (month(shop), Response.objects.count(), Answer.objects.count(), FollowUp.objects.count(),
             list(Order.objects.order_by("pk").values_list("total", "customer_id")), SentimentScore.objects.count(),
             AnswerTheme.objects.count())  # fmt: skip
    assert after == before
    assert Answer.objects.get(response__customer=sara, question__kind="nps").score == 2
    # Another customer's answer is untouched.
    assert Answer.objects.get(response=other, text="Lovely").text == "Lovely"


@pytest.mark.django_db
def test_erasure_blanks_the_customer_texts_notes_and_links(sara):
    erased = privacy.erase_customer(sara, now=at(30))

    sara.refresh_from_db()
    assert (sara.email, sara.phone, sara.name, sara.consent, sara.consent_at) == ("", "", "", "", None)
    assert sara.anonymised_at == at(30)
    assert str(sara) == f"customer {sara.pk}"
    assert list(Answer.objects.filter(response__customer=sara).values_list("text", flat=True)) == ["", ""]
    case = FollowUp.objects.get(response__customer=sara)
    assert set(case.notes.values_list("text", flat=True)) == {privacy.ERASED_TEXT}
    assert case.notes.count() == 3
    assert (case.keywords, case.goodwill_note, case.goodwill, case.status) == ([], "", "coupon", "resolved")
    statuses = dict(Invitation.objects.filter(customer=sara).values_list("order__external_id", "status"))
    assert statuses == {"A-1": "answered", "A-2": "cancelled", "A-3": "expired"}
    assert set(Invitation.objects.filter(customer=sara).values_list("token_hash", "reminder_token_hash")) == {
        (None, None)
    }
    assert LearnedModel.objects.count() == 0
    assert LogEntry.objects.get().object_repr == f"customer {sara.pk}"
    assert (erased.invitations_cancelled, erased.links_closed, erased.answers_cleared, erased.notes_cleared) == (
        1, 1, 1, 3,
    )  # fmt: skip


@pytest.mark.django_db
def test_erasure_keeps_the_addresses_only_as_hashes_on_the_suppression_list(sara):
    shop = sara.shop

    privacy.erase_customer(sara)

    kept = dict(Suppression.objects.values_list("channel", "reason"))
    assert kept == {"sms": "manual", "email": "erased"}
    assert all(address.startswith(MARKER_PREFIX) for address in Suppression.objects.values_list("address", flat=True))
    assert set(Suppression.objects.values_list("detail", flat=True)) == {""}
    # The hashes still recognise the addresses when they come again.
    found = suppressed_among({(shop.pk, "email", EMAIL.upper()), (shop.pk, "sms", PHONE), (shop.pk, "email", "x@y.z")})
    assert found == {(shop.pk, "email", EMAIL.upper()): "erased", (shop.pk, "sms", PHONE): "manual"}


@pytest.mark.django_db
def test_a_bounce_reported_after_the_erasure_does_not_bring_the_address_back(sara):
    sent = Invitation.objects.get(customer=sara, order__external_id="A-1")
    privacy.erase_customer(sara)

    record_provider_event(event_type="bounced", recipient=EMAIL, invitation_id=str(sent.pk), detail=f"{EMAIL} bounced")

    assert EMAIL not in everything_stored()
    assert set(Suppression.objects.filter(channel="email").values_list("reason", "detail")) == {("erased", "")}


@pytest.mark.django_db
def test_erasure_is_recorded_with_who_and_when_but_not_what(sara, staff_of):
    admin = staff_of(sara.shop, role=Membership.Role.ADMIN)

    privacy.erase_customer(sara, by=admin, via="admin", now=at(30))

    erasure = Erasure.objects.get()
    assert (erasure.customer_id, erasure.shop, erasure.requested_by, erasure.via, erasure.at) == (
        sara.pk, sara.shop, admin, "admin", at(30),
    )  # fmt: skip
    case = FollowUp.objects.get(response__customer=sara)
    last = CaseEvent.objects.filter(follow_up=case).last()
    assert (last.action, last.actor, last.detail) == ("erased", admin, {"via": "admin"})


@pytest.mark.django_db
def test_erasure_deletes_the_report_pdfs_that_may_name_the_customer_and_queues_them_again(
    sara, django_capture_on_commit_callbacks
):
    run = ReportRun.objects.get()
    name = run.file.name
    assert run.file.storage.exists(name)
    december = datetime(2026, 12, 1, tzinfo=UTC).date()
    later = ReportRun.objects.create(
        shop=sara.shop, period=december, period_end=december.replace(day=31), status="done"
    )
    later.file.save("later.pdf", ContentFile(b"%PDF other month"))

    with django_capture_on_commit_callbacks(execute=True):
        privacy.erase_customer(sara)

    run.refresh_from_db()
    assert (run.status, run.file.name) == ("pending", "")
    assert not run.file.storage.exists(name)
    later.refresh_from_db()
    assert later.status == "done"
    assert later.file.storage.exists(later.file.name)


@pytest.mark.django_db
def test_erasing_twice_changes_nothing_more(sara):
    privacy.erase_customer(sara)
    before = rows_by_model()

    again = privacy.erase_customer(sara)

    assert (again.invitations_cancelled, again.links_closed, again.answers_cleared, again.notes_cleared) == (0, 0, 0, 0)
    after = rows_by_model()
    # Only the trail grows: the second request is recorded too.
    assert {label for label in after if after[label] != before[label]} == {"surveys.Erasure", "feedback.CaseEvent"}
    assert Erasure.objects.count() == 2


@pytest.mark.django_db
def test_an_erased_customers_survey_link_opens_nothing(shop, client, mailbox):
    order, _ = record_order(
        shop, external_id="A-1", customer=CustomerDetails(email=EMAIL, name=NAME), total=Decimal(1), currency="EUR",
        placed_at=timezone.now(),
    )  # fmt: skip
    send_due_invitations()
    path = re.search(r"/s/[\w-]+/", body_of(mailbox.messages[0])).group(0)
    assert client.get(path).status_code == 200

    privacy.erase_customer(order.customer)

    assert client.get(path).status_code == 404


@pytest.mark.django_db
def test_an_erased_customers_order_sent_again_stores_nothing_and_a_new_one_is_never_surveyed(api, shop, mailbox):
    order = {"external_id": "A-1", "total": "10.00", "currency": "EUR", "placed_at": timezone.now().isoformat(),
             "customer": {"email": EMAIL, "name": NAME, "phone": PHONE}}  # fmt: skip
    api.post("/api/v1/orders", order, content_type="application/json")
    erased = Customer.objects.get()
    privacy.erase_customer(erased)

    again = api.post("/api/v1/orders", order, content_type="application/json")
    new = api.post("/api/v1/orders", order | {"external_id": "A-2"}, content_type="application/json")
    send_due_invitations()

    # The same order again is a duplicate: nothing of the person comes back.
    assert again.status_code == 200
    erased.refresh_from_db()
    assert (erased.email, erased.name, erased.phone) == ("", "", "")
    # A new order is the shop's to send; it is stored and visibly never surveyed.
    assert new.status_code == 201
    [invitation] = new.json()["invitations"]
    assert (invitation["status"], invitation["reason"]) == ("suppressed", ERASED_REASON)
    assert mailbox.messages == []


# --- The API ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_api_erases_a_customer_by_email(api, sara):
    answer = api.post("/api/v1/customers/erase", {"email": EMAIL.upper()}, content_type="application/json")

    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["customer_id"], body["invitations_cancelled"], body["answers_cleared"], body["cases"]) == (
        sara.pk, 1, 1, 1,
    )  # fmt: skip
    sara.refresh_from_db()
    assert sara.email == ""
    assert sara.anonymised_at is not None
    assert Erasure.objects.get().via == "API key test"


@pytest.mark.django_db
def test_the_api_erases_by_phone_or_id(api, shop):
    by_phone = CustomerFactory(shop=shop, phone=PHONE)
    by_id = CustomerFactory(shop=shop)

    first = api.post("/api/v1/customers/erase", {"phone": PHONE}, content_type="application/json")
    second = api.post("/api/v1/customers/erase", {"id": by_id.pk}, content_type="application/json")

    assert (first.json()["customer_id"], second.json()["customer_id"]) == (by_phone.pk, by_id.pk)
    assert Customer.objects.filter(anonymised_at__isnull=False).count() == 2


@pytest.mark.django_db
def test_the_api_finds_only_the_shops_own_customers(api, other_api, shop):
    mine = CustomerFactory(shop=shop, email=EMAIL)

    theirs = other_api.post("/api/v1/customers/erase", {"id": mine.pk}, content_type="application/json")
    by_email = other_api.post("/api/v1/customers/export", {"email": EMAIL}, content_type="application/json")
    unknown = api.post("/api/v1/customers/erase", {"email": "nobody@example.com"}, content_type="application/json")

    assert (theirs.status_code, by_email.status_code, unknown.status_code) == (404, 404, 404)
    assert unknown.json() == {"detail": "No such customer."}
    mine.refresh_from_db()
    assert mine.email == EMAIL


@pytest.mark.django_db
def test_the_api_wants_exactly_one_way_to_find_the_customer(api, shop):
    both = api.post("/api/v1/customers/erase", {"id": 1, "email": EMAIL}, content_type="application/json")
    none = api.post("/api/v1/customers/export", {}, content_type="application/json")

    assert (both.status_code, none.status_code) == (422, 422)
    assert "exactly one of id, email or phone" in both.content.decode()


@pytest.mark.django_db
def test_the_api_exports_everything_held_about_a_customer(api, sara):
    answer = api.post("/api/v1/customers/export", {"phone": PHONE}, content_type="application/json")

    assert answer.status_code == 200, answer.content
    export = answer.json()
    assert export["customer"]["email"] == EMAIL
    assert export["customer"]["consent"] == "granted"
    assert [order["external_id"] for order in export["orders"]] == ["A-1", "A-2", "A-3"]
    assert export["orders"][0]["lines"][0]["product_name"] == "Blue mug"
    [response] = export["responses"]
    assert [(a["question_kind"], a["score"], a["text"]) for a in response["answers"]] == [
        ("nps", 2, ""),
        ("comment", None, COMMENT),
    ]
    assert response["answers"][1]["sentiment"]["label"] == "negative"
    assert response["answers"][1]["themes"][0]["theme"] == "delivery"
    assert [note["text"] for note in response["case"]["notes"]] == [NOTE, REPLY, FROM_CUSTOMER]
    assert response["case"]["goodwill_note"] == GOODWILL
    assert [entry["channel"] for entry in export["suppressions"]] == ["sms"]
    assert len(export["invitations"]) == 3
    assert "token_hash" not in export["invitations"][0]


@pytest.mark.django_db
def test_exporting_a_customer_takes_the_same_queries_for_one_order_or_three(shop, django_assert_num_queries):
    def customer_with(count: int) -> Customer:
        customer = CustomerFactory(shop=shop)
        survey = SurveyFactory(shop=shop)
        for _ in range(count):
            order = OrderFactory(shop=shop, customer=customer)
            OrderLine.objects.create(order=order, sku="A")
            invitation = InvitationFactory(survey=survey, order=order, customer=customer, status="answered")
            flag_response(ResponseFactory(invitation=invitation, score=1, comment="Bad"))
        return customer

    one, three = customer_with(1), customer_with(3)
    with django_assert_num_queries(11):
        privacy.export_customer(one)
    with django_assert_num_queries(11):
        privacy.export_customer(three)


def _reachable_from_customer() -> set[type[models.Model]]:
    """Every model whose rows hang off a customer's by foreign keys (or one-to-ones)."""
    found: set[type[models.Model]] = set()
    waiting: list[type[models.Model]] = [Customer]
    while waiting:
        model = waiting.pop()
        if model in found:
            continue
        found.add(model)
        waiting.extend(
            relation.related_model
            for relation in model._meta.related_objects
            if relation.one_to_many or relation.one_to_one
        )
    return found


def test_every_model_holding_customer_rows_is_known_to_export_and_erasure():
    reachable = {model._meta.label for model in _reachable_from_customer()}

    assert reachable - privacy.CUSTOMER_MODELS - privacy.NOT_ABOUT_THE_CUSTOMER == set()


@pytest.mark.django_db
def test_the_export_holds_every_field_of_every_row_about_the_customer(sara):
    export = json.dumps(privacy.export_customer(sara))

    # Each row the customer's rows reach: every field is in the export under its name, with its
    # value, except the few left out on purpose.
    checked = 0
    for model in _reachable_from_customer():
        label = model._meta.label
        if label in privacy.NOT_ABOUT_THE_CUSTOMER:
            continue
        skipped = privacy.NOT_EXPORTED.get(label, set())
        for row in model.objects.all():
            for field in model._meta.concrete_fields:
                if field.name in skipped:
                    continue
                assert f'"{field.name}": ' in export, f"{label}.{field.name} is not exported"
                value = getattr(row, field.attname)
                if isinstance(value, str) and value:
                    assert json.dumps(value)[1:-1] in export, f"{label}.{field.name} of row {row.pk} is missing"
                checked += 1
    assert checked > 100
    for text in (EMAIL, PHONE, NAME, COMMENT, NOTE, REPLY, FROM_CUSTOMER, GOODWILL, "Blue mug"):
        assert text in export


# --- The admin --------------------------------------------------------------------------------


def admin_action(client, action: str, customers, *, follow: bool = False, **extra):
    return client.post(
        "/admin/surveys/customer/",
        {"action": action, "_selected_action": [customer.pk for customer in customers], **extra},
        follow=follow,
    )


@pytest.mark.django_db
def test_a_shop_admin_erases_a_customer_after_confirming(client, staff_of, sara):
    admin = staff_of(sara.shop, role=Membership.Role.ADMIN)
    client.force_login(admin)

    asked = admin_action(client, "erase", [sara])
    sara.refresh_from_db()
    assert asked.status_code == 200
    assert "Erase 1 customer?" in asked.content.decode()
    assert sara.email == EMAIL  # nothing happens before the confirmation

    done = admin_action(client, "erase", [sara], confirmed="yes")

    assert done.status_code == 302
    sara.refresh_from_db()
    assert (sara.email, sara.name) == ("", "")
    assert Erasure.objects.values_list("requested_by", "via").get() == (admin.pk, "admin")


@pytest.mark.django_db
def test_a_shop_admin_exports_a_customer_as_a_json_file(client, staff_of, sara):
    client.force_login(staff_of(sara.shop, role=Membership.Role.ADMIN))

    answer = admin_action(client, "export_data", [sara])

    assert answer.status_code == 200
    assert answer["Content-Disposition"] == f'attachment; filename="customer-{sara.pk}.json"'
    assert json.loads(answer.content)["customer"]["name"] == NAME


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Membership.Role.AGENT, Membership.Role.MANAGER])
def test_agents_and_managers_can_neither_erase_nor_export(client, staff_of, sara, role):
    # The fixture's agent already works there.
    user = User.objects.filter(username=f"staff-{role}-{sara.shop.slug}").first() or staff_of(sara.shop, role=role)
    client.force_login(user)

    listing = client.get("/admin/surveys/customer/")
    erase = admin_action(client, "erase", [sara], confirmed="yes", follow=True)
    export = admin_action(client, "export_data", [sara], follow=True)

    assert listing.status_code == 200
    assert 'value="erase"' not in listing.content.decode()
    # An action the user does not have is not run: back to the list (they have no actions at all,
    # so no action form either), nothing exported, nothing erased.
    assert (erase.status_code, export.status_code) == (200, 200)
    assert "Content-Disposition" not in export
    assert "Select customer to change" in export.content.decode()
    sara.refresh_from_db()
    assert sara.email == EMAIL


@pytest.mark.django_db
def test_a_shop_admin_cannot_erase_another_shops_customer(client, staff_of, sara):
    stranger = CustomerFactory(email="someone@example.com")
    client.force_login(staff_of(sara.shop, role=Membership.Role.ADMIN))

    answer = admin_action(client, "erase", [stranger], confirmed="yes")

    stranger.refresh_from_db()
    assert stranger.email == "someone@example.com"
    assert answer.status_code == 302  # nothing selected that the admin may see: back to the list
    assert Erasure.objects.count() == 0


@pytest.mark.django_db
def test_a_customer_is_erased_never_deleted_in_the_admin(client, staff_of, sara):
    # Deleting would take the customer's answers, and the shop's numbers with them.
    client.force_login(staff_of(sara.shop, role=Membership.Role.ADMIN))

    listing = client.get("/admin/surveys/customer/")
    delete_page = client.get(f"/admin/surveys/customer/{sara.pk}/delete/")
    delete_action = admin_action(client, "delete_selected", [sara], post="yes", follow=True)

    assert 'value="erase"' in listing.content.decode()
    assert 'value="delete_selected"' not in listing.content.decode()
    assert delete_page.status_code == 403
    assert "No action selected." in delete_action.content.decode()
    assert Customer.objects.filter(pk=sara.pk).exists()
