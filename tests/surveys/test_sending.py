import re
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from surveys.intake.orders import CustomerDetails, record_order
from surveys.models import Customer, Invitation, Suppression
from surveys.outreach import planning, sending
from surveys.outreach.sending import send_due_invitations
from surveys.outreach.suppressions import suppress
from surveys.outreach.tokens import hash_token
from tests.conftest import body_of, drop_database_connection_while_receiving, free_port
from tests.factories import CustomerFactory, InvitationFactory, OrderFactory, SurveyFactory

# Dates and months against the clock: CI runs these on the days calendars turn.
pytestmark = pytest.mark.calendar


def new_order(shop, *, external_id: str = "A-1", placed_at=None, email: str = "sara@example.com"):
    order, _ = record_order(
        shop,
        external_id=external_id,
        customer=CustomerDetails(email=email, name="Sara"),
        total=Decimal("10.00"),
        currency="EUR",
        placed_at=placed_at or timezone.now(),
    )
    return order


@pytest.mark.django_db
def test_send_due_invitations_emails_a_link_whose_token_is_stored_hashed(shop, mailbox):
    order = new_order(shop)

    assert send_due_invitations() == 1

    [message] = mailbox.messages
    invitation = Invitation.objects.get(order=order)
    token = re.search(r"/s/([\w-]+)/", body_of(message)).group(1)
    assert invitation.status == "sent"
    assert invitation.sent_at is not None
    assert invitation.token_hash == hash_token(token)
    assert token not in invitation.token_hash
    assert len(token) >= 43  # 256 random bits, URL-safe
    assert invitation.expires_at == invitation.claimed_at + invitation.survey.valid_for
    assert message["To"] == "sara@example.com"
    assert "?score=10" in body_of(message, "html")


@pytest.mark.django_db
def test_a_survey_planned_before_the_secret_key_changed_goes_out_with_a_working_link(shop, mailbox, settings, client):
    order = new_order(shop)
    planned = Invitation.objects.get(order=order)
    assert planned.token_hash  # the link was made with the plan, under the old key

    settings.SECRET_KEY = "a new secret key, rotated after the survey was planned " * 2
    assert send_due_invitations() == 1

    [message] = mailbox.messages
    token = re.search(r"/s/([\w-]+)/", body_of(message)).group(1)
    assert Invitation.objects.get(order=order).token_hash == hash_token(token) != planned.token_hash
    assert client.get(f"/s/{token}/").status_code == 200


@pytest.mark.django_db
def test_send_due_invitations_waits_for_send_at(survey, mailbox, time_machine):
    survey.delay = timedelta(days=7)
    survey.save()
    time_machine.move_to("2026-11-01T12:00:00Z", tick=False)
    new_order(survey.shop)

    time_machine.move_to("2026-11-08T11:59:00Z", tick=False)
    early = send_due_invitations()
    time_machine.move_to("2026-11-08T12:00:00Z", tick=False)
    due = send_due_invitations()

    assert (early, due) == (0, 1)
    assert len(mailbox.messages) == 1


@pytest.mark.django_db
def test_the_same_order_twice_sends_one_email(shop, mailbox):
    new_order(shop)
    new_order(shop)

    send_due_invitations()
    send_due_invitations()

    assert len(mailbox.messages) == 1


@pytest.mark.django_db(transaction=True)
def test_racing_sweeps_send_each_invitation_once(shop, mailbox):
    for number in range(20):
        new_order(shop, external_id=f"A-{number}", email=f"c{number}@example.com")
    start = threading.Barrier(2)
    claimed: list[int] = []

    def sweep() -> None:
        start.wait()
        try:
            claimed.append(send_due_invitations())
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(claimed) == 20
    assert sorted(message["To"] for message in mailbox.messages) == sorted(f"c{n}@example.com" for n in range(20))
    assert Invitation.objects.filter(status="sent").count() == 20


@pytest.mark.django_db(transaction=True)
def test_two_workers_sending_two_surveys_to_one_customer_send_one(shop, mailbox):
    customer = CustomerFactory(shop=shop, email="sara@example.com")
    now = timezone.now()
    first, second = (
        InvitationFactory(
            survey=SurveyFactory(shop=shop, name=name),
            order=OrderFactory(shop=shop, customer=customer),
            send_at=now - timedelta(minutes=minutes),
        )
        for name, minutes in (("After purchase", 2), ("After delivery", 1))
    )
    second_done = threading.Event()
    outcome: list[str] = []

    def worker_b() -> None:
        try:
            sending.send_due_invitations(limit=1)  # takes the second: the first is being sent
        finally:
            connection.close()
            second_done.set()

    def while_first_is_being_received() -> None:
        # Worker A is in the middle of sending the first survey: worker B sweeps now. Waiting for it
        # blocks the mail server, so a second email from B would only arrive after the timeout.
        threading.Thread(target=worker_b).start()
        outcome.append("b finished first" if second_done.wait(timeout=5) else "b waited for the mail server")
        mailbox.while_receiving = None

    mailbox.while_receiving = while_first_is_being_received
    sending.send_due_invitations(limit=1)  # worker A
    second_done.wait(timeout=30)

    first.refresh_from_db()
    second.refresh_from_db()
    assert outcome == ["b finished first"]
    assert (first.status, second.status) == ("sent", "throttled")
    assert [message["To"] for message in mailbox.messages] == ["sara@example.com"]


@pytest.mark.postgresql_only(reason="row locks: SQLite lets one writer in at a time")
@pytest.mark.django_db(transaction=True)
def test_a_sweep_leaves_a_customer_held_by_an_erasure_for_its_next_round(shop, mailbox):
    invitation = InvitationFactory(survey__shop=shop, shop=shop, send_at=timezone.now() - timedelta(minutes=1))
    held, release = threading.Event(), threading.Event()

    def erasure_holding_the_customer() -> None:
        try:
            with transaction.atomic():
                Customer.objects.select_for_update().get(pk=invitation.customer_id)
                held.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    eraser = threading.Thread(target=erasure_holding_the_customer)
    eraser.start()
    held.wait(timeout=10)
    try:
        during = send_due_invitations()  # neither waits for the erasure nor deadlocks with it
        invitation.refresh_from_db()
        status_during = invitation.status
    finally:
        release.set()
        eraser.join()
    after = send_due_invitations()

    assert (during, status_during) == (0, "scheduled")
    assert after == 1
    assert len(mailbox.messages) == 1


@pytest.mark.django_db
def test_claim_is_won_by_one_caller_only(shop):
    invitation = InvitationFactory(survey__shop=shop, shop=shop)
    now = timezone.now()

    first = sending.claim_due_invitations(now=now, limit=10)
    second = sending.claim_due_invitations(now=now, limit=10)

    assert [item.invitation for item in first] == [invitation]
    assert second == []
    invitation.refresh_from_db()
    assert (invitation.status, invitation.attempts) == ("sending", 1)
    assert invitation.token_hash == hash_token(first[0].token)


@pytest.mark.django_db
def test_a_claim_abandoned_by_a_dead_worker_is_taken_again_after_the_lease(shop, mailbox, time_machine):
    time_machine.move_to("2026-11-01T12:00:00Z", tick=False)
    invitation = InvitationFactory(survey__shop=shop, shop=shop)
    first_claim = sending.claim_due_invitations(now=timezone.now(), limit=10)  # …and the worker dies here.
    assert first_claim

    time_machine.move_to(timezone.now() + sending.CLAIM_LEASE - timedelta(seconds=1), tick=False)
    assert send_due_invitations() == 0
    time_machine.move_to(timezone.now() + timedelta(seconds=2), tick=False)
    assert send_due_invitations() == 1

    invitation.refresh_from_db()
    assert (invitation.status, invitation.attempts, len(mailbox.messages)) == ("sent", 2, 1)
    # The second claim sends the link the first would have: a copy that did go out still works.
    assert invitation.token_hash == hash_token(first_claim[0].token)


@pytest.mark.django_db
def test_a_batch_that_stops_half_way_hands_back_the_claims_it_had_not_tried(shop, mailbox):
    invitations = [InvitationFactory(survey__shop=shop, shop=shop) for _ in range(3)]
    claimed = sending.claim_due_invitations(now=timezone.now(), limit=10)
    in_flight = claimed[0].invitation.pk

    sending._release_untried(claimed, tried={in_flight})

    statuses = dict(Invitation.objects.values_list("pk", "status"))
    # The one in flight may have gone out: it waits for its lease; the others go at the next sweep.
    assert statuses == {
        invitation.pk: "sending" if invitation.pk == in_flight else "scheduled" for invitation in invitations
    }
    assert send_due_invitations() == 2
    assert len(mailbox.wait_for(2)) == 2


@pytest.mark.postgresql_only(reason="drops a PostgreSQL connection")
@pytest.mark.django_db(transaction=True)
def test_an_email_that_went_out_while_the_database_restarted_is_recorded_as_sent(shop, mailbox):
    """The database drops the worker's connection while the SMTP server takes the email (as a
    restart does): the send is still recorded, so the email does not go out again later."""
    new_order(shop)
    worker_connection = drop_database_connection_while_receiving(mailbox)

    assert send_due_invitations(now=timezone.now() + timedelta(days=30)) == 1

    invitation = Invitation.objects.get(shop=shop)
    assert (invitation.status, len(mailbox.messages)) == ("sent", 1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != worker_connection  # it really was dropped, and opened again


@pytest.mark.django_db
def test_smtp_down_retries_with_backoff_then_records_failure(shop, settings, time_machine):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nothing listens there
    time_machine.move_to("2026-11-01T12:00:00Z", tick=False)
    invitation = InvitationFactory(survey__shop=shop, shop=shop)

    with pytest.raises(ConnectionRefusedError):
        send_due_invitations()

    invitation.refresh_from_db()
    assert (invitation.status, invitation.attempts) == ("scheduled", 1)
    assert invitation.send_at == timezone.now() + timedelta(minutes=2)
    assert "Connection refused" in invitation.reason

    Invitation.objects.filter(pk=invitation.pk).update(attempts=sending.MAX_SEND_ATTEMPTS - 1)
    time_machine.move_to(invitation.send_at, tick=False)
    with pytest.raises(ConnectionRefusedError):
        send_due_invitations()

    invitation.refresh_from_db()
    assert invitation.status == "failed"
    assert invitation.reason.startswith("gave up")
    assert send_due_invitations() == 0


@pytest.mark.django_db
def test_a_refused_address_fails_at_once_and_the_rest_of_the_batch_goes_out(shop, mailbox):
    refused = new_order(shop, external_id="A-1", email="nobody@example.com").invitations.get()
    accepted = new_order(shop, external_id="A-2", email="sara@example.com").invitations.get()

    assert send_due_invitations() == 2

    refused.refresh_from_db()
    accepted.refresh_from_db()
    assert (refused.status, accepted.status) == ("failed", "sent")
    assert refused.reason.startswith("rejected:")
    assert "No such user" in refused.reason
    assert [message["To"] for message in mailbox.messages] == ["sara@example.com"]
    assert send_due_invitations() == 0


@pytest.mark.django_db
def test_an_unsubscribed_customer_gets_a_suppressed_invitation_and_no_email(shop, mailbox):
    customer = CustomerFactory(shop=shop)
    suppress(shop, channel="email", address=customer.email.upper(), reason=Suppression.Reason.UNSUBSCRIBED)
    order = OrderFactory(shop=shop, customer=customer)

    [invitation] = planning.schedule_invitations(order)
    send_due_invitations()

    assert (invitation.status, invitation.reason) == ("suppressed", planning.SUPPRESSED_REASON)
    assert invitation.closed_at is not None
    assert mailbox.messages == []


@pytest.mark.django_db
def test_a_historical_order_whose_survey_would_arrive_closed_is_not_surveyed(shop):
    order = new_order(shop, placed_at=timezone.now() - timedelta(days=60))

    assert list(order.invitations.all()) == []


@pytest.mark.django_db
def test_an_order_without_email_is_stored_but_not_surveyed(shop):
    order, created = record_order(
        shop,
        external_id="A-9",
        customer=CustomerDetails(),
        total=Decimal("5"),
        currency="EUR",
        placed_at=timezone.now(),
    )

    assert created
    assert list(order.invitations.all()) == []
