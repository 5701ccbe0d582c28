import json
import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from django.core.exceptions import ImproperlyConfigured

from surveys.models import Channel
from surveys.outreach.sms import (
    ConsoleGateway,
    KavenegarGateway,
    SmsRejected,
    SmsTooLong,
    SmsUnavailable,
    build_invitation_sms,
    get_gateway,
    invitation_sms_text,
    sms_segments,
)
from tests.factories import CustomerFactory, InvitationFactory, OrderFactory, ShopFactory
from tests.test_config import run_manage

# A short link as the lead builds them: PUBLIC_URL + "/r/" + 22 URL-safe characters.
TOKEN = "Zm9vYmFyYmF6cXV4MTIzNA"
SHORT_URLS = [
    f"https://fb.shop.ir/r/{TOKEN}",
    f"https://nazar.digikala.com/r/{TOKEN}",
    f"http://127.0.0.1:8000/r/{TOKEN}",
]

# --- Segments -------------------------------------------------------------------------


def test_sms_segments_gsm_text_fits_160_then_parts_of_153():
    assert sms_segments("") == 0
    assert sms_segments("a" * 160) == 1
    assert sms_segments("a" * 161) == 2
    assert sms_segments("a" * 306) == 2
    assert sms_segments("a" * 307) == 3


def test_sms_segments_gsm_accented_and_greek_letters_stay_gsm():
    assert sms_segments("é" * 160) == 1
    assert sms_segments("Δ" * 160) == 1


def test_sms_segments_extension_characters_count_double():
    assert sms_segments("€" * 80) == 1
    assert sms_segments("€" * 81) == 2
    assert sms_segments("a" * 159 + "[") == 2
    # An escape pair never straddles two parts: 152 + the pair does not fit in the first 153.
    assert sms_segments("a" * 152 + "€" + "a" * 152) == 3
    assert sms_segments("a" * 151 + "€" + "a" * 153) == 2


def test_sms_segments_one_persian_letter_switches_to_ucs2():
    assert sms_segments("س" * 70) == 1
    assert sms_segments("س" * 71) == 2
    assert sms_segments("a" * 69 + "س") == 1
    assert sms_segments("a" * 70 + "س") == 2
    assert sms_segments("س" * 134) == 2
    assert sms_segments("س" * 135) == 3


def test_sms_segments_characters_outside_gsm_that_look_latin_switch_to_ucs2():
    # A curly apostrophe pasted from a word processor is the classic surprise.
    assert sms_segments("a" * 69 + "’") == 1
    assert sms_segments("a" * 70 + "’") == 2


def test_sms_segments_emoji_takes_two_ucs2_units():
    assert sms_segments("🙂" * 35) == 1
    assert sms_segments("🙂" * 36) == 2


# --- The invitation text --------------------------------------------------------------


@pytest.mark.django_db
def test_build_invitation_sms_in_english_names_the_shop_and_ends_with_the_link():
    invitation = InvitationFactory(
        survey__shop=ShopFactory(name="Kafe Sobh"), order__customer__language="en", channel=Channel.SMS
    )
    url = f"https://fb.kafesobh.com/r/{TOKEN}"

    text = build_invitation_sms(invitation, url=url)

    assert text == f"How was your order from Kafe Sobh? Tell us in a minute: {url}\nReply STOP to opt out"
    assert sms_segments(text) == 1


@pytest.mark.django_db
def test_build_invitation_sms_in_persian_for_a_persian_customer():
    shop = ShopFactory(name="Ketab Shop", brand_name="کتابک", default_language="fa")
    order = OrderFactory(shop=shop, customer=CustomerFactory(shop=shop, email="", phone="09121234567", language="fa"))
    invitation = InvitationFactory(survey__shop=shop, order=order, channel=Channel.SMS)
    url = f"https://fb.ir/r/{TOKEN}"

    text = build_invitation_sms(invitation, url=url)

    assert text == f"خرید از کتابک چطور بود؟ {url}\nلغو۱۱"
    assert len(text) <= 70
    assert sms_segments(text) == 1


@pytest.mark.parametrize("url", SHORT_URLS)
@pytest.mark.parametrize("shop_name", ["کتابک", "دیجی‌کالا", "Digikala", "فروشگاه اینترنتی لوازم خانگی ایران"])
def test_invitation_sms_in_persian_fits_one_segment(url, shop_name):
    text = invitation_sms_text(language="fa", shop_name=shop_name, url=url)

    assert sms_segments(text) == 1
    assert text.endswith(f" {url}\nلغو۱۱")  # the link ends its line; the way out has the last


@pytest.mark.parametrize("url", SHORT_URLS)
@pytest.mark.parametrize(
    "shop_name", ["Kafe Sobh", "Hamburg Outdoor & Camping Supplies International GmbH & Co. KG", "کتابک"]
)
def test_invitation_sms_in_english_fits_one_segment(url, shop_name):
    text = invitation_sms_text(language="en", shop_name=shop_name, url=url)

    assert sms_segments(text) == 1
    assert text.endswith(f" {url}\nReply STOP to opt out")


def test_invitation_sms_drops_a_long_persian_shop_name_before_the_words():
    url = f"https://fb.shop.ir/r/{TOKEN}"

    text = invitation_sms_text(language="fa", shop_name="فروشگاه اینترنتی لوازم خانگی ایران", url=url)

    assert text == f"خریدتان چطور بود؟ {url}\nلغو۱۱"


def test_invitation_sms_uses_the_shortest_persian_words_for_a_long_link():
    url = f"https://nazar.digikala.com/r/{TOKEN}"  # 51 characters

    text = invitation_sms_text(language="fa", shop_name="کتابک", url=url)

    assert text == f"نظر شما؟ {url}\nلغو۱۱"
    assert sms_segments(text) == 1


def test_invitation_sms_in_english_drops_a_persian_shop_name_that_would_force_ucs2():
    # The shop's Persian name would shrink an English message to 70 characters.
    url = f"https://feedback.ketabak.example.com/r/{TOKEN}"

    text = invitation_sms_text(language="en", shop_name="کتابک", url=url)

    assert text == f"How was your order? Tell us in a minute: {url}\nReply STOP to opt out"
    assert sms_segments(text) == 1


def test_invitation_sms_tidies_whitespace_in_the_shop_name():
    text = invitation_sms_text(language="en", shop_name="  Kafe\n  Sobh ", url="https://x.ir/r/1")

    assert text == "How was your order from Kafe Sobh? Tell us in a minute: https://x.ir/r/1\nReply STOP to opt out"


def test_invitation_sms_refuses_a_link_too_long_for_one_segment():
    url = "https://" + "a" * 150 + ".example.com/r/" + TOKEN

    with pytest.raises(SmsTooLong, match=rf"link alone \({len(url)} characters\) does not fit"):
        invitation_sms_text(language="en", shop_name="Kafe Sobh", url=url)


def test_invitation_sms_refuses_a_link_that_leaves_no_room_for_persian_words():
    url = "https://" + "a" * 40 + ".ir/r/" + TOKEN  # 76 characters: too long beside any Persian word

    with pytest.raises(SmsTooLong, match="no room for any wording in one Persian SMS"):
        invitation_sms_text(language="fa", shop_name="کتابک", url=url)


# --- A local stand-in for Kavenegar's API -----------------------------------------------


@dataclass
class FakeKavenegar:
    base_url: str
    requests: list[tuple[str, dict[str, list[str]]]] = field(default_factory=list)
    status: int = 200
    body: bytes = b""
    delay: threading.Event | None = None

    def answer(self, *, status: int, body: object) -> None:
        self.status = status
        self.body = body if isinstance(body, bytes) else json.dumps(body).encode()


@pytest.fixture
def kavenegar() -> Iterator[FakeKavenegar]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            fake.requests.append((self.path, parse_qs(self.rfile.read(length).decode())))
            if fake.delay is not None:
                fake.delay.wait(timeout=5)
            self.send_response(fake.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(fake.body)))
            self.end_headers()
            self.wfile.write(fake.body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    fake = FakeKavenegar(base_url=f"http://127.0.0.1:{server.server_address[1]}/v1")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    if fake.delay is not None:
        fake.delay.set()
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def gateway_for(fake: FakeKavenegar, *, timeout: float = 10.0) -> KavenegarGateway:
    return KavenegarGateway(api_key="test-key-123", sender="10004346", base_url=fake.base_url, timeout=timeout)


def test_kavenegar_send_posts_the_form_and_returns_the_message_id(kavenegar):
    kavenegar.answer(
        status=200,
        body={
            "return": {"status": 200, "message": "تایید شد"},
            "entries": [{"messageid": 8792343, "message": "…", "status": 1, "receptor": "09121234567", "cost": 120}],
        },
    )
    text = f"خرید از کتابک چطور بود؟ https://fb.shop.ir/r/{TOKEN}"

    message_id = gateway_for(kavenegar).send(to="09121234567", text=text)

    assert message_id == "8792343"
    assert kavenegar.requests == [
        ("/v1/test-key-123/sms/send.json", {"receptor": ["09121234567"], "message": [text], "sender": ["10004346"]})
    ]


def test_kavenegar_send_without_a_sender_leaves_the_field_out(kavenegar):
    kavenegar.answer(status=200, body={"return": {"status": 200, "message": ""}, "entries": [{"messageid": 5}]})

    KavenegarGateway(api_key="k", base_url=kavenegar.base_url).send(to="09121234567", text="Hi")

    assert kavenegar.requests[0][1] == {"receptor": ["09121234567"], "message": ["Hi"]}


@pytest.mark.parametrize("http_status", [200, 411])
def test_kavenegar_invalid_receptor_is_rejected(kavenegar, http_status):
    # Kavenegar's code is in the body; whether the HTTP status repeats it must not matter.
    kavenegar.answer(
        status=http_status, body={"return": {"status": 411, "message": "receptor is invalid"}, "entries": None}
    )

    with pytest.raises(SmsRejected, match="Kavenegar 411: receptor is invalid") as refused:
        gateway_for(kavenegar).send(to="0912", text="Hi")

    assert refused.value.status == 411


@pytest.mark.parametrize("code", [418, 409, 403, 412])
def test_kavenegar_account_and_service_problems_are_retried_later(kavenegar, code):
    # Out of credit or a wrong sender line is fixed by the operator; the invitation should wait.
    kavenegar.answer(status=code, body={"return": {"status": code, "message": "problem"}, "entries": None})

    with pytest.raises(SmsUnavailable) as unavailable:
        gateway_for(kavenegar).send(to="09121234567", text="Hi")

    assert unavailable.value.status == code


def test_kavenegar_server_error_is_unavailable(kavenegar):
    kavenegar.answer(status=500, body=b"<html>Internal Server Error</html>")

    with pytest.raises(SmsUnavailable, match="HTTP 500 without its JSON status"):
        gateway_for(kavenegar).send(to="09121234567", text="Hi")


def test_kavenegar_refused_connection_is_unavailable():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on the port any more.
    gateway = KavenegarGateway(api_key="k", base_url=f"http://127.0.0.1:{port}/v1", timeout=2)

    with pytest.raises(SmsUnavailable, match="could not be reached"):
        gateway.send(to="09121234567", text="Hi")


def test_kavenegar_timeout_is_unavailable(kavenegar):
    kavenegar.delay = threading.Event()
    kavenegar.answer(status=200, body={"return": {"status": 200, "message": ""}, "entries": [{"messageid": 1}]})

    with pytest.raises(SmsUnavailable, match=r"did not answer within 0\.2s"):
        gateway_for(kavenegar, timeout=0.2).send(to="09121234567", text="Hi")


def test_kavenegar_errors_never_show_the_api_key(kavenegar):
    kavenegar.answer(status=502, body=b"Bad gateway")

    with pytest.raises(SmsUnavailable) as unavailable:
        gateway_for(kavenegar).send(to="09121234567", text="Hi")

    assert "test-key-123" not in str(unavailable.value)


def test_kavenegar_refuses_an_empty_number_without_calling(kavenegar):
    with pytest.raises(SmsRejected, match="no phone number"):
        gateway_for(kavenegar).send(to="  ", text="Hi")

    assert kavenegar.requests == []


# --- Console and choosing a gateway -------------------------------------------------------


def test_console_gateway_logs_the_message_with_the_number_masked(caplog):
    caplog.set_level(logging.INFO, logger="surveys.outreach.sms")

    message_id = ConsoleGateway().send(to="09121234567", text="خریدتان چطور بود؟ https://x.ir/r/1")

    assert message_id.startswith("console-")
    assert len(caplog.records) == 1
    logged = caplog.records[0].getMessage()
    assert "09121234567" not in logged
    assert "1234567" not in logged
    assert "SMS to …67 " in logged
    assert "خریدتان چطور بود؟ https://x.ir/r/1" in logged
    assert message_id in logged


def test_get_gateway_defaults_to_the_console():
    assert isinstance(get_gateway(), ConsoleGateway)


def test_get_gateway_builds_kavenegar_from_settings(settings):
    settings.SMS_BACKEND = "kavenegar"
    settings.SMS_API_KEY = "abc"
    settings.SMS_SENDER = "10004346"
    settings.SMS_API_BASE = "http://127.0.0.1:9/v1/"
    settings.SMS_TIMEOUT = 7

    gateway = get_gateway()

    assert isinstance(gateway, KavenegarGateway)
    assert (gateway.api_key, gateway.sender, gateway.base_url, gateway.timeout) == (
        "abc",
        "10004346",
        "http://127.0.0.1:9/v1",
        7,
    )


def test_get_gateway_refuses_an_unknown_backend(settings):
    settings.SMS_BACKEND = "twilio"

    with pytest.raises(ImproperlyConfigured, match="SMS_BACKEND='twilio' is not one of console, kavenegar"):
        get_gateway()


def test_get_gateway_refuses_kavenegar_without_a_key(settings):
    settings.SMS_BACKEND = "kavenegar"
    settings.SMS_API_KEY = ""

    with pytest.raises(ImproperlyConfigured, match="SMS_API_KEY must be set"):
        get_gateway()


def test_settings_refuse_an_unknown_sms_backend_at_start_up():
    result = run_manage("check", DEBUG="true", SMS_BACKEND="twilio")

    assert result.returncode != 0
    assert "SMS_BACKEND='twilio' is not supported" in result.stderr


def test_settings_refuse_kavenegar_without_an_api_key():
    result = run_manage("check", DEBUG="true", SMS_BACKEND="kavenegar", SMS_API_KEY="")

    assert result.returncode != 0
    assert "SMS_API_KEY must be set when SMS_BACKEND=kavenegar" in result.stderr
