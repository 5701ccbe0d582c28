import base64
import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from surveys.models import Invitation, Suppression
from surveys.outreach.suppressions import is_suppressed, record_provider_event, suppress
from surveys.outreach.tokens import hash_token, new_token
from tests.factories import InvitationFactory, OrderFactory, SurveyFactory

ONE_CLICK = "List-Unsubscribe=One-Click"


@pytest.fixture
def sent(db):
    """A survey emailed two months ago (expired since) and the token in its link."""
    token = new_token()
    invitation = InvitationFactory(
        status=Invitation.Status.EXPIRED,
        token_hash=hash_token(token),
        sent_at=timezone.now() - timedelta(days=60),
        expires_at=timezone.now() - timedelta(days=30),
        order__customer__email="sara@example.com",
    )
    return invitation, token


def later_invitation(invitation, **fields):
    """Another survey for the same customer at the same shop."""
    order = OrderFactory(shop=invitation.shop, customer=invitation.customer)
    return InvitationFactory(survey=invitation.survey, order=order, **fields)


def one_click_client() -> Client:
    # A mail client's RFC 8058 POST: no session, no CSRF cookie or token.
    return Client(enforce_csrf_checks=True)


def test_get_asks_for_confirmation_and_changes_nothing(client, sent):
    invitation, token = sent
    scheduled = later_invitation(invitation)

    page = client.get(f"/u/{token}/")

    html = page.content.decode()
    assert page.status_code == 200
    assert '<form method="post">' in html
    assert "sara@example.com" in html
    assert list(Suppression.objects.all()) == []
    scheduled.refresh_from_db()
    assert scheduled.status == Invitation.Status.SCHEDULED


def test_one_click_post_suppresses_and_cancels_scheduled_surveys(sent):
    invitation, token = sent
    scheduled = later_invitation(invitation)
    other_shop = InvitationFactory(order__customer__email="sara@example.com")

    page = one_click_client().post(f"/u/{token}/", data=ONE_CLICK, content_type="application/x-www-form-urlencoded")

    assert page.status_code == 200
    assert "You are unsubscribed" in page.content.decode()
    assert list(Suppression.objects.values_list("shop", "channel", "address", "reason")) == [
        (invitation.shop.pk, "email", "sara@example.com", "unsubscribed")
    ]
    scheduled.refresh_from_db()
    assert (scheduled.status, scheduled.reason) == (Invitation.Status.CANCELLED, "unsubscribed")
    assert scheduled.closed_at is not None
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.EXPIRED
    other_shop.refresh_from_db()
    assert other_shop.status == Invitation.Status.SCHEDULED


def test_the_reminder_token_unsubscribes_too_and_drops_pending_reminders(db):
    token = new_token()
    invitation = InvitationFactory(
        status=Invitation.Status.SENT,
        token_hash=hash_token(new_token()),
        reminder_token_hash=hash_token(token),
        sent_at=timezone.now(),
        remind_at=timezone.now() + timedelta(days=3),
    )

    page = one_click_client().post(f"/u/{token}/", data=ONE_CLICK, content_type="application/x-www-form-urlencoded")

    invitation.refresh_from_db()
    assert page.status_code == 200
    assert is_suppressed(invitation.shop, channel="email", address=invitation.customer.email)
    assert (invitation.status, invitation.remind_at) == (Invitation.Status.SENT, None)


def test_the_page_button_unsubscribes_an_answered_survey(client, db):
    token = new_token()
    invitation = InvitationFactory(
        status=Invitation.Status.ANSWERED, token_hash=hash_token(token), answered_at=timezone.now()
    )

    page = client.post(f"/u/{token}/")

    assert page.status_code == 200
    assert is_suppressed(invitation.shop, channel="email", address=invitation.customer.email)


def test_unsubscribing_twice_keeps_one_row_and_shows_done(client, sent):
    invitation, token = sent
    client.post(f"/u/{token}/")

    again = client.post(f"/u/{token}/")
    page = client.get(f"/u/{token}/")

    assert again.status_code == 200
    assert "You are unsubscribed" in page.content.decode()
    assert Suppression.objects.filter(shop=invitation.shop).count() == 1


def test_persian_customer_gets_a_right_to_left_page(client, db):
    token = new_token()
    InvitationFactory(token_hash=hash_token(token), status=Invitation.Status.SENT, order__customer__language="fa")

    html = client.get(f"/u/{token}/").content.decode()
    done = client.post(f"/u/{token}/").content.decode()

    assert '<html lang="fa" dir="rtl">' in html
    assert "لغو اشتراک</button>" in html
    assert "اشتراک شما لغو شد" in done


def test_unknown_and_withdrawn_tokens_get_the_same_404(client, db):
    withdrawn = new_token()
    invitation = InvitationFactory(token_hash=hash_token(withdrawn))
    Invitation.objects.filter(pk=invitation.pk).update(token_hash=None)

    unknown_get = client.get(f"/u/{new_token()}/")
    unknown_post = client.post(f"/u/{new_token()}/")
    withdrawn_post = client.post(f"/u/{withdrawn}/")

    assert [unknown_get.status_code, unknown_post.status_code, withdrawn_post.status_code] == [404, 404, 404]
    assert unknown_get.content == unknown_post.content == withdrawn_post.content
    assert "This link is not valid" in unknown_get.content.decode()
    assert list(Suppression.objects.all()) == []


# --- Provider tracking (django-anymail) ---------------------------------------------------

WEBHOOK_SECRET = "postmark:a-long-webhook-password"


def postmark_bounce(email: str, **fields) -> dict:
    # The shape of Postmark's bounce webhook (postmarkapp.com/developer/webhooks/bounce-webhook).
    return {
        "RecordType": "Bounce",
        "MessageStream": "outbound",
        "ID": 4323372036854775807,
        "Type": "HardBounce",
        "TypeCode": 1,
        "Name": "Hard bounce",
        "Tag": "",
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "Metadata": {},
        "ServerID": 23,
        "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": email,
        "From": "surveys@example.com",
        "BouncedAt": "2026-11-20T10:00:00Z",
        "DumpAvailable": True,
        "Inactive": True,
        "CanActivate": True,
        "Subject": "How was your order?",
        "Content": "",
        **fields,
    }


def post_to_postmark(payload: dict, *, auth: str = WEBHOOK_SECRET):
    credentials = base64.b64encode(auth.encode()).decode()
    return Client().post(
        "/anymail/postmark/tracking/",
        data=json.dumps(payload),
        content_type="application/json",
        headers={"Authorization": f"Basic {credentials}"},
    )


@pytest.fixture
def webhook_secret(settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": WEBHOOK_SECRET}


def test_postmark_hard_bounce_suppresses_the_address_and_marks_the_invitation(webhook_secret, db):
    invitation = InvitationFactory(
        status=Invitation.Status.SENT, sent_at=timezone.now(), order__customer__email="gone@example.com"
    )
    scheduled = later_invitation(invitation)

    response = post_to_postmark(postmark_bounce("gone@example.com", Metadata={"invitation": str(invitation.pk)}))

    assert response.status_code == 200
    [suppression] = Suppression.objects.all()
    assert (suppression.shop, suppression.address, suppression.reason) == (
        invitation.shop,
        "gone@example.com",
        "bounced",
    )
    assert "Postmark" in suppression.detail
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.BOUNCED
    assert invitation.closed_at is not None
    scheduled.refresh_from_db()
    assert scheduled.status == Invitation.Status.CANCELLED


def test_bounce_without_metadata_suppresses_only_at_the_shop_that_sent_last(webhook_secret, db):
    earlier = InvitationFactory(
        status=Invitation.Status.SENT,
        sent_at=timezone.now() - timedelta(days=3),
        order__customer__email="gone@example.com",
    )
    latest = InvitationFactory(
        status=Invitation.Status.SENT, sent_at=timezone.now(), order__customer__email="gone@example.com"
    )

    response = post_to_postmark(postmark_bounce("Gone@Example.com"))

    assert response.status_code == 200
    assert list(Suppression.objects.values_list("shop", "address", "reason")) == [
        (latest.shop.pk, "gone@example.com", "bounced")
    ]
    earlier.refresh_from_db()
    assert earlier.status == Invitation.Status.SENT


def test_postmark_spam_complaint_records_a_complaint(webhook_secret, db):
    invitation = InvitationFactory(
        status=Invitation.Status.SENT, sent_at=timezone.now(), order__customer__email="angry@example.com"
    )

    post_to_postmark(
        postmark_bounce(
            "angry@example.com",
            RecordType="SpamComplaint",
            Type="SpamComplaint",
            Metadata={"invitation": str(invitation.pk)},
        )
    )

    assert list(Suppression.objects.values_list("address", "reason")) == [("angry@example.com", "complained")]
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.SENT  # It was delivered; the customer may still answer.


def test_postmark_soft_bounce_suppresses_nothing(webhook_secret, db):
    invitation = InvitationFactory(
        status=Invitation.Status.SENT, sent_at=timezone.now(), order__customer__email="full@example.com"
    )

    response = post_to_postmark(
        postmark_bounce(
            "full@example.com", Type="SoftBounce", TypeCode=4096, Metadata={"invitation": str(invitation.pk)}
        )
    )

    assert response.status_code == 200
    assert list(Suppression.objects.all()) == []
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.SENT


def test_webhook_without_the_secret_is_refused(webhook_secret, db):
    InvitationFactory(status=Invitation.Status.SENT, sent_at=timezone.now(), order__customer__email="x@example.com")

    response = post_to_postmark(postmark_bounce("x@example.com"), auth="postmark:wrong")

    assert response.status_code == 400
    assert list(Suppression.objects.all()) == []


def test_webhook_refuses_everyone_when_no_secret_is_configured(db):
    InvitationFactory(status=Invitation.Status.SENT, sent_at=timezone.now(), order__customer__email="x@example.com")

    response = post_to_postmark(postmark_bounce("x@example.com"), auth=":")

    assert response.status_code == 400
    assert list(Suppression.objects.all()) == []


def test_delivery_events_and_unknown_recipients_change_nothing(db):
    invitation = InvitationFactory(status=Invitation.Status.SENT, sent_at=timezone.now())

    delivered = record_provider_event(event_type="delivered", recipient=invitation.customer.email)
    stranger = record_provider_event(event_type="bounced", recipient="stranger@example.com")

    assert (delivered, stranger) == (None, None)
    assert list(Suppression.objects.all()) == []


def test_suppress_keeps_the_first_reason(db):
    shop = SurveyFactory().shop
    suppress(shop, channel="email", address="Sara@Example.com", reason="unsubscribed")

    again = suppress(shop, channel="email", address="sara@example.com", reason="bounced")

    assert (again.address, again.reason) == ("sara@example.com", "unsubscribed")
