"""A way out on every channel: every survey text says how to stop ("لغو۱۱", "STOP"), the page it
opens offers to stop, and a reply through Kavenegar's receive callback puts the number on the
shop's suppression list."""

from datetime import timedelta

import pytest
from django.utils import timezone

from surveys.models import Channel, Invitation, Suppression
from surveys.outreach.sending import send_due_invitations
from surveys.outreach.sms import is_stop_reply
from surveys.outreach.tokens import hash_token, new_token
from tests.factories import CustomerFactory, InvitationFactory, OrderFactory, ShopFactory, SurveyFactory

pytestmark = pytest.mark.django_db

TOKEN = "kavenegar-inbound-secret"
NUMBER = "+989121234567"


@pytest.fixture(autouse=True)
def inbound(settings):
    settings.SMS_INBOUND_TOKEN = TOKEN


def texted(shop, *, status=Invitation.Status.SENT, phone=NUMBER, **fields):
    customer = CustomerFactory(shop=shop, email="", phone=phone, language="fa")
    return InvitationFactory(
        survey=SurveyFactory(shop=shop),
        order=OrderFactory(shop=shop, customer=customer),
        channel=Channel.SMS,
        status=status,
        **fields,
    )


@pytest.mark.parametrize("text", ["لغو۱۱", "لغو 11", "11", "۱۱", "لغو", "STOP", "stop.", " Stop ", "unsubscribe"])
def test_the_stop_replies_customers_send(text):
    assert is_stop_reply(text)


@pytest.mark.parametrize("text", ["ممنون", "thanks, all good", "1", "stop sending me late parcels"])
def test_other_replies_are_not_a_stop(text):
    assert not is_stop_reply(text)


@pytest.mark.parametrize("method", ["post", "get"])
def test_a_stop_reply_suppresses_the_number_where_it_was_texted_and_cancels_what_waits(client, method):
    shop, other, stranger = ShopFactory(), ShopFactory(), ShopFactory()
    sent = texted(shop)
    waiting = InvitationFactory(
        survey=sent.survey, order=OrderFactory(shop=shop, customer=sent.customer), channel=Channel.SMS,
        send_at=timezone.now(),
    )  # fmt: skip
    texted(other)
    CustomerFactory(shop=stranger, email="", phone=NUMBER)  # never texted by this shop

    # As Kavenegar forwards it: the Iranian number as the operator gives it, Persian digits and all.
    fields = {"messageid": "8792343", "from": "09121234567", "to": "10004346", "message": "لغو۱۱"}
    answer = getattr(client, method)(f"/sms/kavenegar/{TOKEN}/", fields)

    assert (answer.status_code, answer.content) == (200, b"ok")
    assert sorted(Suppression.objects.filter(channel="sms").values_list("shop", "address", "reason")) == sorted(
        [(shop.pk, NUMBER, "unsubscribed"), (other.pk, NUMBER, "unsubscribed")]
    )
    waiting.refresh_from_db()
    assert waiting.status == "cancelled"


def test_any_other_reply_is_acknowledged_and_changes_nothing(client):
    texted(ShopFactory())

    answer = client.post(f"/sms/kavenegar/{TOKEN}/", {"from": "09121234567", "message": "ممنون، عالی بود"})

    assert answer.status_code == 200
    assert not Suppression.objects.exists()


def test_the_reply_url_is_its_own_key(client, settings):
    texted(ShopFactory())

    wrong = client.post("/sms/kavenegar/guessed/", {"from": "09121234567", "message": "11"})
    settings.SMS_INBOUND_TOKEN = ""
    unset = client.post("/sms/kavenegar//", {"from": "09121234567", "message": "11"})

    assert (wrong.status_code, unset.status_code) == (404, 404)
    assert not Suppression.objects.exists()


def test_a_suppressed_number_gets_no_more_texts(client, caplog):
    shop = ShopFactory(sms_enabled=True)
    invitation = texted(shop, status=Invitation.Status.SCHEDULED, send_at=timezone.now())
    client.post(f"/sms/kavenegar/{TOKEN}/", {"from": "+98 912 123 4567", "message": "STOP"})
    Invitation.objects.filter(pk=invitation.pk).update(status=Invitation.Status.SCHEDULED, closed_at=None)

    send_due_invitations()

    invitation.refresh_from_db()
    assert invitation.status == "suppressed"


def test_the_page_a_text_opens_offers_to_stop_the_texts(client):
    token = new_token()
    invitation = texted(
        ShopFactory(),
        token_hash=hash_token(token),
        sent_at=timezone.now(),
        expires_at=timezone.now() + timedelta(days=3),
    )
    emailed_token = new_token()
    InvitationFactory(
        survey=invitation.survey, status=Invitation.Status.SENT, token_hash=hash_token(emailed_token),
        expires_at=timezone.now() + timedelta(days=3),
    )  # fmt: skip

    page = client.get(f"/s/{token}/").content.decode()
    emailed = client.get(f"/s/{emailed_token}/").content.decode()
    stop = client.get(f"/u/{token}/").content.decode()
    stopped = client.post(f"/u/{token}/")

    assert f'href="/u/{token}/?lang=fa"' in page
    assert "دیگر پیامک نفرستید" in page
    assert "/u/" not in emailed
    assert "دیگر پیامک نظرسنجی به" in stop
    assert f"--brand: {invitation.shop.brand_color}" in stop  # the shop's own colours
    assert stopped.status_code == 200
    assert Suppression.objects.filter(channel="sms", address=NUMBER).exists()
