"""The rules per survey: when it goes out, to whom, how often, and what ends it."""

import logging
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from surveys.intake.orders import CustomerDetails, OrderLineDetails, record_order, update_order
from surveys.models import Invitation, Suppression, Survey
from surveys.outreach import emails, planning, sms
from surveys.outreach.planning import next_sending_time
from surveys.outreach.reminders import expire_invitations, send_due_reminders
from surveys.outreach.sending import send_due_invitations
from surveys.outreach.suppressions import suppress
from tests.conftest import body_of, free_port
from tests.factories import ShopFactory, SurveyFactory

# Dates and months against the clock: CI runs these on the days calendars turn.
pytestmark = pytest.mark.calendar

TEHRAN_OFFSET = timedelta(hours=3, minutes=30)


def place(shop, external_id="A-1", *, email="sara@example.com", total="100.00", skus=(), placed_at=None, **times):
    order, _ = record_order(
        shop,
        external_id=external_id,
        customer=CustomerDetails(email=email, name="Sara"),
        total=Decimal(total),
        currency="EUR",
        placed_at=placed_at or timezone.now(),
        lines=[OrderLineDetails(sku=sku, product_name=f"Product {sku}") for sku in skus],
        **times,
    )
    return order


def link_path(message) -> str:
    return re.search(r"/s/[\w-]+/", body_of(message)).group(0)


# --- Sending hours -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "expected_local"),
    [
        ("2026-11-10T02:00", "2026-11-10T09:00"),  # night: this morning
        ("2026-11-10T09:00", "2026-11-10T09:00"),  # the window opens
        ("2026-11-10T19:59", "2026-11-10T19:59"),  # still inside
        ("2026-11-10T20:00", "2026-11-11T09:00"),  # closed: tomorrow morning
        ("2026-11-10T23:30", "2026-11-11T09:00"),
    ],
)
@pytest.mark.django_db
def test_next_sending_time_moves_into_the_shops_hours_in_its_timezone(local, expected_local):
    shop = ShopFactory(timezone="Asia/Tehran", send_from_hour=9, send_until_hour=20)
    at = datetime.fromisoformat(local).replace(tzinfo=UTC) - TEHRAN_OFFSET

    moved = next_sending_time(shop, at)

    assert moved == datetime.fromisoformat(expected_local).replace(tzinfo=UTC) - TEHRAN_OFFSET


@pytest.mark.django_db
def test_an_order_placed_at_night_is_surveyed_when_the_window_opens(survey, mailbox, time_machine):
    shop = survey.shop
    shop.send_from_hour, shop.send_until_hour = 9, 20
    shop.save()
    time_machine.move_to("2026-11-10T20:00:00Z", tick=False)  # 23:30 in Tehran
    order = place(shop)

    time_machine.move_to("2026-11-11T05:29:00Z", tick=False)  # 08:59 in Tehran
    early = send_due_invitations()
    time_machine.move_to("2026-11-11T05:30:00Z", tick=False)  # 09:00 in Tehran
    due = send_due_invitations()

    assert (early, due) == (0, 1)
    assert order.invitations.get().send_at == datetime(2026, 11, 11, 5, 30, tzinfo=UTC)
    assert len(mailbox.messages) == 1


# --- Triggers: purchase, fulfilment, delivery, cancellation ---------------------------


@pytest.mark.django_db
def test_a_delivery_survey_waits_for_fulfilment_and_counts_from_delivery(survey, time_machine):
    survey.trigger, survey.delay = Survey.Trigger.FULFILMENT, timedelta(days=7)
    survey.save()
    time_machine.move_to("2026-11-01T10:00:00Z", tick=False)
    order = place(survey.shop)
    assert list(order.invitations.all()) == []

    update_order(order, fulfilled_at=datetime(2026, 11, 2, 10, tzinfo=UTC))
    scheduled_at_fulfilment = order.invitations.get().send_at
    update_order(order, delivered_at=datetime(2026, 11, 5, 10, tzinfo=UTC))
    update_order(order, delivered_at=datetime(2026, 11, 6, 10, tzinfo=UTC))  # a repeat changes nothing

    invitation = order.invitations.get()
    assert scheduled_at_fulfilment == datetime(2026, 11, 9, 10, tzinfo=UTC)
    assert invitation.send_at == datetime(2026, 11, 12, 10, tzinfo=UTC)
    order.refresh_from_db()
    assert order.delivered_at == datetime(2026, 11, 5, 10, tzinfo=UTC)


@pytest.mark.django_db
def test_a_cancelled_order_cancels_its_scheduled_survey(survey, mailbox):
    survey.delay = timedelta(days=7)
    survey.save()
    order = place(survey.shop)

    update_order(order, cancelled_at=timezone.now(), reason="refunded")

    invitation = order.invitations.get()
    assert (invitation.status, invitation.reason) == ("cancelled", "refunded")
    assert invitation.closed_at is not None
    assert send_due_invitations(now=timezone.now() + timedelta(days=8)) == 0
    assert mailbox.messages == []


@pytest.mark.django_db
def test_an_order_cancelled_while_its_survey_is_claimed_is_not_sent(shop, mailbox):
    order = place(shop)
    type(order).objects.filter(pk=order.pk).update(cancelled_at=timezone.now())

    send_due_invitations()

    assert order.invitations.get().status == "cancelled"
    assert mailbox.messages == []


# --- Throttle ----------------------------------------------------------------------


@pytest.mark.django_db
def test_a_second_order_within_the_throttle_is_marked_throttled_with_the_reason(shop, mailbox):
    first = place(shop, "A-1")
    second = place(shop, "A-2")

    send_due_invitations()

    assert first.invitations.get().status == "sent"
    throttled = second.invitations.get()
    assert throttled.status == "throttled"
    assert "at most one survey per 90 days" in throttled.reason
    assert len(mailbox.messages) == 1


@pytest.mark.django_db
def test_a_second_survey_of_the_same_order_is_throttled_too(shop, mailbox):
    later = SurveyFactory(shop=shop, name="30 days later", delay=timedelta(days=30))
    order = place(shop, "A-1")

    send_due_invitations()

    assert order.invitations.get(survey=later).status == "throttled"
    assert order.invitations.exclude(survey=later).get().status == "sent"


@pytest.mark.django_db
def test_the_throttle_is_checked_again_at_send_time(survey, mailbox, time_machine):
    survey.delay = timedelta(days=7)
    survey.save()
    time_machine.move_to("2026-11-01T10:00:00Z", tick=False)
    order = place(survey.shop, "A-1")
    # Meanwhile the customer is sent another survey that scheduling could not foresee
    # (another survey of the shop, sent early by hand).
    other = SurveyFactory(shop=survey.shop, name="Support follow-up")
    Invitation.objects.create(
        shop=survey.shop, customer=order.customer, order=order, survey=other,
        status=Invitation.Status.SENT, send_at=timezone.now(), sent_at=timezone.now() + timedelta(days=2),
    )  # fmt: skip

    time_machine.move_to("2026-11-08T10:00:00Z", tick=False)
    send_due_invitations()

    throttled = order.invitations.get(survey=survey)
    assert throttled.status == "throttled"
    assert "already surveyed around 2026-11-03" in throttled.reason
    assert mailbox.messages == []


@pytest.mark.django_db
def test_the_throttle_lets_a_customer_be_surveyed_again_after_the_shops_days(shop, mailbox, time_machine):
    shop.throttle_days = 30
    shop.save()
    time_machine.move_to("2026-10-01T10:00:00Z", tick=False)
    place(shop, "A-1")
    send_due_invitations()

    time_machine.move_to("2026-10-31T10:01:00Z", tick=False)
    again = place(shop, "A-2")
    send_due_invitations()

    assert again.invitations.get().status == "sent"
    assert len(mailbox.messages) == 2


@pytest.mark.django_db
def test_two_invitations_for_one_customer_in_one_batch_send_once(shop, mailbox):
    order = place(shop, "A-1")
    other = SurveyFactory(shop=shop, name="Other")
    # Created behind the scheduler's back, so only the send-time check can catch it.
    Invitation.objects.create(shop=shop, customer=order.customer, order=order, survey=other, send_at=timezone.now())

    send_due_invitations()

    assert sorted(order.invitations.values_list("status", flat=True)) == ["sent", "throttled"]
    assert len(mailbox.messages) == 1


# --- Filters -------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_survey_skips_orders_below_its_minimum_total(survey):
    survey.min_order_total = Decimal("50.00")
    survey.save()

    small = place(survey.shop, "A-1", email="a@example.com", total="49.99")
    large = place(survey.shop, "A-2", email="b@example.com", total="50.00")

    assert (small.invitations.count(), large.invitations.count()) == (0, 1)


@pytest.mark.django_db
def test_a_survey_includes_and_excludes_products_by_sku(survey):
    survey.include_skus = "MUG-1, TEE-2"
    survey.exclude_skus = "GIFT-CARD"
    survey.save()

    mug = place(survey.shop, "A-1", email="a@example.com", skus=["MUG-1"])
    lamp = place(survey.shop, "A-2", email="b@example.com", skus=["LAMP-9"])
    gift = place(survey.shop, "A-3", email="c@example.com", skus=["TEE-2", "GIFT-CARD"])

    assert [order.invitations.count() for order in (mug, lamp, gift)] == [1, 0, 0]


@pytest.mark.django_db
def test_a_survey_for_repeat_customers_skips_a_first_order(survey, time_machine):
    survey.customers = Survey.Customers.REPEAT
    survey.save()
    survey.shop.throttle_days = 7
    survey.shop.save()
    time_machine.move_to("2026-10-01T10:00:00Z", tick=False)
    first = place(survey.shop, "A-1")
    time_machine.move_to("2026-11-01T10:00:00Z", tick=False)
    second = place(survey.shop, "A-2")

    assert (first.invitations.count(), second.invitations.count()) == (0, 1)


@pytest.mark.django_db
def test_sampling_surveys_about_the_set_share_and_decides_the_same_way_twice(survey):
    survey.sample_percent = 30
    survey.save()

    orders = [place(survey.shop, f"A-{n}", email=f"c{n}@example.com") for n in range(300)]

    surveyed = sum(order.invitations.exists() for order in orders)
    assert 60 <= surveyed <= 120  # 90 expected; this bound fails only for a broken sampler
    assert all(planning.in_sample(survey, order) == order.invitations.exists() for order in orders)


# --- Suppression -----------------------------------------------------------------------


@pytest.mark.django_db
def test_an_address_suppressed_after_scheduling_is_not_sent_to(shop, mailbox):
    order = place(shop, email="Sara@Example.com")
    suppress(shop, channel="email", address="sara@example.com", reason=Suppression.Reason.BOUNCED)

    send_due_invitations()

    invitation = order.invitations.get()
    assert (invitation.status, invitation.sent_at) == ("suppressed", None)
    assert mailbox.messages == []


@pytest.mark.django_db
def test_a_suppression_in_one_shop_does_not_silence_another(shop, mailbox):
    other = SurveyFactory().shop
    suppress(other, channel="email", address="sara@example.com", reason=Suppression.Reason.UNSUBSCRIBED)
    order = place(shop)

    send_due_invitations()

    assert order.invitations.get().status == "sent"


# --- Reminder and expiry -------------------------------------------------------------------


@pytest.mark.django_db
def test_one_reminder_goes_to_an_unopened_survey_with_a_link_of_its_own(survey, mailbox, client, time_machine):
    survey.reminder_after = timedelta(days=3)
    survey.save()
    time_machine.move_to("2026-11-01T10:00:00Z", tick=False)
    order = place(survey.shop)
    send_due_invitations()

    time_machine.move_to("2026-11-04T09:59:00Z", tick=False)
    early = send_due_reminders()
    time_machine.move_to("2026-11-04T10:00:01Z", tick=False)
    due = send_due_reminders()
    again = send_due_reminders()

    assert (early, due, again) == (0, 1, 0)
    first, reminder = mailbox.wait_for(2)
    assert link_path(first) != link_path(reminder)
    assert client.get(link_path(first)).status_code == 200
    assert client.get(link_path(reminder)).status_code == 200
    invitation = order.invitations.get()
    assert invitation.reminded_at == datetime(2026, 11, 4, 10, 0, 1, tzinfo=UTC)


@pytest.mark.django_db
def test_a_reminder_waits_for_the_shops_sending_hours(survey, mailbox, time_machine):
    survey.reminder_after = timedelta(hours=12)
    survey.save()
    survey.shop.send_from_hour, survey.shop.send_until_hour = 9, 20
    survey.shop.save()
    time_machine.move_to("2026-11-01T14:30:00Z", tick=False)  # 18:00 in Tehran
    order = place(survey.shop)
    send_due_invitations()

    assert order.invitations.get().remind_at == datetime(2026, 11, 2, 5, 30, tzinfo=UTC)  # 09:00, not 06:00


@pytest.mark.django_db
def test_a_backlog_due_during_the_night_waits_for_the_shops_sending_hours(survey, mailbox, time_machine):
    survey.reminder_after = timedelta(hours=12)
    survey.save()
    survey.shop.send_from_hour, survey.shop.send_until_hour = 9, 20
    survey.shop.save()
    time_machine.move_to("2026-11-01T14:30:00Z", tick=False)  # 18:00 in Tehran
    sent = place(survey.shop, "A-1")
    send_due_invitations()
    backlog = place(survey.shop, "A-2", email="reza@example.com")  # due at 18:00; no worker ran since
    assert backlog.invitations.get().send_at == datetime(2026, 11, 1, 14, 30, tzinfo=UTC)
    Invitation.objects.filter(order=sent).update(remind_at=datetime(2026, 11, 1, 15, 0, tzinfo=UTC))

    time_machine.move_to("2026-11-01T23:30:00Z", tick=False)  # 03:00 in Tehran: the workers are back
    send_due_invitations()
    send_due_reminders()
    at_night = len(mailbox.messages)
    time_machine.move_to("2026-11-02T05:30:00Z", tick=False)  # 09:00 in Tehran
    send_due_invitations()
    send_due_reminders()

    opening = datetime(2026, 11, 2, 5, 30, tzinfo=UTC)
    assert at_night == 1  # only the first survey, sent at 18:00
    assert (backlog.invitations.get().status, backlog.invitations.get().sent_at) == ("sent", opening)
    assert sent.invitations.get().reminded_at == opening
    assert len(mailbox.messages) == 3


def sent_with_a_reminder_due(survey, mailbox, time_machine) -> str:
    """A survey sent on 1 November with its reminder three days later; the path of its link."""
    survey.reminder_after = timedelta(days=3)
    survey.save()
    time_machine.move_to("2026-11-01T10:00:00Z", tick=False)
    place(survey.shop)
    send_due_invitations()
    return link_path(mailbox.messages[0])


@pytest.mark.django_db
def test_a_survey_only_a_mail_scanner_fetched_still_gets_its_reminder(survey, mailbox, client, time_machine):
    path = sent_with_a_reminder_due(survey, mailbox, time_machine)
    client.head(path)
    for score in range(11):
        client.get(f"{path}?score={score}")

    time_machine.move_to("2026-11-05T10:00:00Z", tick=False)

    assert send_due_reminders() == 1
    assert len(mailbox.messages) == 2


@pytest.mark.django_db
def test_an_opened_survey_gets_no_reminder(survey, mailbox, client, time_machine):
    path = sent_with_a_reminder_due(survey, mailbox, time_machine)
    client.get(path)  # a mail scanner, or the person
    client.post(f"{path}seen/")  # the person: a tap on the page

    time_machine.move_to("2026-11-05T10:00:00Z", tick=False)

    assert send_due_reminders() == 0
    assert len(mailbox.messages) == 1


@pytest.mark.django_db
def test_unanswered_invitations_expire_and_their_link_says_so(survey, mailbox, client, time_machine):
    time_machine.move_to("2026-11-01T10:00:00Z", tick=False)
    order = place(survey.shop)
    send_due_invitations()

    time_machine.move_to(timezone.now() + survey.valid_for - timedelta(seconds=1), tick=False)
    before = expire_invitations()
    time_machine.move_to(timezone.now() + timedelta(seconds=1), tick=False)
    after = expire_invitations()

    assert (before, after) == (0, 1)
    invitation = order.invitations.get()
    assert (invitation.status, invitation.reason) == ("expired", "no answer before the link expired")
    assert client.get(link_path(mailbox.messages[0])).status_code == 410


# --- SMS -------------------------------------------------------------------------------


def phone_order(shop, *, phone="+98 912 000 1234"):
    order, _ = record_order(
        shop,
        external_id="S-1",
        customer=CustomerDetails(phone=phone, language="fa"),
        total=Decimal("10"),
        currency="IRR",
        placed_at=timezone.now(),
    )
    return order


@pytest.mark.django_db
def test_a_customer_with_only_a_phone_is_surveyed_by_sms_when_the_shop_allows_it(shop, client, caplog):
    caplog.set_level(logging.INFO, logger="surveys.outreach.sms")
    shop.sms_enabled = True
    shop.save()
    order = phone_order(shop)

    send_due_invitations()

    invitation = order.invitations.get()
    assert (invitation.channel, invitation.status) == ("sms", "sent")
    [text] = [record.getMessage() for record in caplog.records if record.name == "surveys.outreach.sms"]
    token = re.search(r"/s/([\w-]+)/", text).group(1)
    assert len(token) == 22  # 128 bits, short enough for one segment
    assert sms.sms_segments(sms.build_invitation_sms(invitation, url=emails.answer_url(token))) == 1
    assert client.get(f"/s/{token}/").status_code == 200


@pytest.mark.django_db
def test_a_phone_only_customer_is_not_surveyed_when_the_shop_has_no_sms(shop):
    order = phone_order(shop)

    assert list(order.invitations.all()) == []


@pytest.mark.django_db
def test_an_sms_provider_that_cannot_be_reached_is_retried_later(shop, settings):
    settings.SMS_BACKEND, settings.SMS_API_KEY = "kavenegar", "test-key"
    settings.SMS_API_BASE = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    shop.sms_enabled = True
    shop.save()
    order = phone_order(shop)

    send_due_invitations()

    invitation = order.invitations.get()
    assert (invitation.status, invitation.attempts) == ("scheduled", 1)
    assert "could not be reached" in invitation.reason
    assert invitation.send_at > timezone.now()


@pytest.mark.django_db
def test_an_sms_survey_gets_no_reminder(shop, time_machine):
    shop.sms_enabled = True
    shop.save()
    SurveyFactory._meta.model.objects.filter(shop=shop).update(reminder_after=timedelta(days=3))
    time_machine.move_to("2026-11-01T10:00:00Z", tick=False)
    order = phone_order(shop)
    send_due_invitations()

    time_machine.move_to("2026-11-05T10:00:00Z", tick=False)

    assert send_due_reminders() == 0
    assert order.invitations.get().reminded_at is None


@pytest.mark.django_db
@pytest.mark.parametrize("count", [1, 3])
def test_reminders_take_the_same_queries_for_one_or_several(
    survey, mailbox, time_machine, count, django_assert_num_queries
):
    survey.reminder_after = timedelta(days=3)
    survey.save()
    time_machine.move_to("2026-11-01T10:00:00Z", tick=False)
    for number in range(count):
        place(survey.shop, f"A-{number}", email=f"c{number}@example.com")
    send_due_invitations()
    time_machine.move_to("2026-11-05T10:00:00Z", tick=False)

    # savepoint, lock the due rows, stamp them, release; the suppression list once
    with django_assert_num_queries(5):
        assert send_due_reminders() == count

    assert len(mailbox.wait_for(2 * count)) == 2 * count
