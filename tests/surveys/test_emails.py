import re
from html.parser import HTMLParser

import pytest
from django.core.mail import get_connection

from surveys import branding
from surveys.outreach.emails import answer_url, build_invitation_email
from surveys.outreach.tokens import new_token
from tests.conftest import body_of
from tests.factories import InvitationFactory

TOKEN = "tok_" + "x" * 40


class Links(HTMLParser):
    """Every link in an HTML body with its visible text, and every dir attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self.directions: dict[str, str] = {}
        self._href: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if "dir" in attributes:
            self.directions.setdefault(tag, attributes["dir"] or "")
        if tag == "a":
            self._href, self._text = attributes["href"], ""

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.links.append((self._text.strip(), self._href))
            self._href = None


def parse(html: str) -> Links:
    parser = Links()
    parser.feed(html)
    return parser


def html_of(message) -> str:
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return html


@pytest.fixture
def invitation(db):
    return InvitationFactory(
        survey__shop__name="Kafe Ketab",
        survey__shop__brand_color="#c2410c",
        order__external_id="A-1042",
        order__customer__name="Sara",
        order__customer__email="sara@example.com",
    )


@pytest.fixture
def persian_invitation(db):
    return InvitationFactory(
        survey__shop__name="Kafe Ketab",
        survey__shop__brand_color="#c2410c",
        survey__shop__default_language="fa",
        order__external_id="A-1042",
        order__customer__name="سارا",
        order__customer__language="fa",
    )


def test_english_email_has_text_and_html_with_the_order_shop_and_brand_colour(invitation):
    message = build_invitation_email(invitation, token=TOKEN)

    html = html_of(message)
    assert message.subject == "How was your order A-1042 from Kafe Ketab?"
    assert message.from_email == "Kafe Ketab <surveys@localhost>"
    assert message.to == ["sara@example.com"]
    assert "Hello Sara," in message.body
    assert "Thank you for your order A-1042 at Kafe Ketab." in message.body
    assert f"http://127.0.0.1:8000/s/{TOKEN}/\n" in message.body
    assert 'Thank you for your order <strong style="white-space:nowrap">A-1042</strong> at Kafe Ketab.' in html
    assert "border:2px solid #c2410c" in html
    assert "<link" not in html
    assert "<img" not in html
    assert parse(html).directions == {"html": "ltr", "body": "ltr", "table": "ltr"}


def test_email_scale_buttons_open_the_answer_page_with_each_score(invitation):
    html = html_of(build_invitation_email(invitation, token=TOKEN))

    scale = [(text, href) for text, href in parse(html).links if "?score=" in href]
    assert scale == [(str(score), f"http://127.0.0.1:8000/s/{TOKEN}/?score={score}") for score in range(11)]
    assert answer_url(TOKEN, score=7) == f"http://127.0.0.1:8000/s/{TOKEN}/?score=7"
    assert "0 = not at all likely" in html
    assert "10 = extremely likely" in html


def test_persian_email_reads_right_to_left_with_persian_digits(persian_invitation):
    message = build_invitation_email(persian_invitation, token=TOKEN)

    html = html_of(message)
    links = parse(html)
    scale = [(text, href) for text, href in links.links if "?score=" in href]
    assert links.directions == {"html": "rtl", "body": "rtl", "table": "rtl", "td": "rtl"}
    assert scale == [
        (digit, f"http://127.0.0.1:8000/s/{TOKEN}/?score={score}") for score, digit in enumerate("۰۱۲۳۴۵۶۷۸۹")
    ] + [("۱۰", f"http://127.0.0.1:8000/s/{TOKEN}/?score=10")]
    assert "چقدر احتمال دارد ما را به دوستان یا همکاران خود پیشنهاد کنید؟" in html
    assert "۰ = اصلاً احتمال ندارد" in html
    assert "۱۰ = احتمالش خیلی زیاد است" in html
    assert "text-align:right" in html
    # Latin words inside Persian sentences are isolated, or "A-1042" and the shop name get reordered.
    assert (
        'سفارش شمارهٔ <strong style="white-space:nowrap"><bdi>A-1042</bdi></strong> از <bdi>Kafe Ketab</bdi> سپاسگزاریم'
        in html
    )
    assert "سفارش شمارهٔ \u2068A-1042\u2069 از \u2068Kafe Ketab\u2069 سپاسگزاریم" in message.body
    assert message.subject == "سفارش \u2068A-1042\u2069 از \u2068Kafe Ketab\u2069 چطور بود؟"
    assert "سلام سارا" not in message.body  # the name is isolated too
    assert "سلام \u2068سارا\u2069 عزیز،" in message.body
    assert "کمتر از یک دقیقه" in message.body


def test_customer_without_a_language_gets_the_shop_default(persian_invitation):
    persian_invitation.customer.language = ""

    html = html_of(build_invitation_email(persian_invitation, token=TOKEN))

    assert '<html lang="fa" dir="rtl">' in html


@pytest.mark.parametrize(
    ("fixture", "subject", "intro"),
    [
        ("invitation", "A gentle reminder: how was your order A-1042 from Kafe Ketab?", "A gentle reminder"),
        (
            "persian_invitation",
            "یادآوری کوتاه: سفارش \u2068A-1042\u2069 از \u2068Kafe Ketab\u2069 چطور بود؟",
            "یک یادآوری کوتاه",
        ),
    ],
)
def test_reminder_says_it_is_a_gentle_reminder(request, fixture, subject, intro):
    message = build_invitation_email(request.getfixturevalue(fixture), token=TOKEN, reminder=True)

    assert message.subject == subject
    assert intro in message.body
    assert intro in html_of(message)


def test_email_headers_offer_one_click_unsubscribe(invitation, settings):
    settings.UNSUBSCRIBE_MAILTO = ""

    message = build_invitation_email(invitation, token=TOKEN)

    assert message.extra_headers["List-Unsubscribe"] == f"<http://127.0.0.1:8000/u/{TOKEN}/>"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.extra_headers["X-Bazgasht-Invitation"] == str(invitation.pk)
    assert message.metadata == {"invitation": str(invitation.pk)}


def test_list_unsubscribe_adds_the_mailto_link_when_a_mailbox_is_set(invitation, settings):
    settings.PUBLIC_URL = "https://feedback.example.com"
    settings.UNSUBSCRIBE_MAILTO = "unsubscribe@example.com"

    message = build_invitation_email(invitation, token=TOKEN)

    assert message.extra_headers["List-Unsubscribe"] == (
        f"<https://feedback.example.com/u/{TOKEN}/>, <mailto:unsubscribe@example.com?subject=unsubscribe>"
    )


@pytest.mark.parametrize(("fixture", "label"), [("invitation", "Unsubscribe"), ("persian_invitation", "لغو اشتراک")])
def test_both_parts_show_an_unsubscribe_link(request, fixture, label):
    message = build_invitation_email(request.getfixturevalue(fixture), token=TOKEN)

    assert (label, f"http://127.0.0.1:8000/u/{TOKEN}/") in parse(html_of(message)).links
    assert f"{label}: http://127.0.0.1:8000/u/{TOKEN}/" in message.body


def test_a_light_brand_colour_gets_dark_button_text(invitation):
    invitation.shop.brand_color = "#fde68a"

    html = html_of(build_invitation_email(invitation, token=TOKEN))

    assert 'color:#1f2328;text-decoration:none;font-size:15px;font-weight:bold">Open the survey' in html
    assert "background:#fde68a" in html
    # The shop's name and the score outlines use the same hue, darkened until it reads on white.
    ink = re.search(r"font-weight:bold;color:(#[0-9a-f]{6})", html).group(1)
    assert ink not in ("#fde68a", "#1f2328")
    assert f"border:2px solid {ink}" in html
    assert 1.05 / (branding._luminance(ink) + 0.05) >= 4.5


def test_an_unvalidated_brand_colour_cannot_reach_the_style_attribute(invitation):
    invitation.shop.brand_color = "red;background:url(https://evil.example/x)"

    html = html_of(build_invitation_email(invitation, token=TOKEN))

    assert "evil.example" not in html
    assert "border:2px solid #0b5cad" in html


def test_headers_survive_a_real_smtp_server(persian_invitation, mailbox, settings):
    settings.UNSUBSCRIBE_MAILTO = "unsubscribe@example.com"
    token = new_token()
    persian_invitation.customer.email = "sara@example.com"

    with get_connection() as connection:
        sent = build_invitation_email(persian_invitation, token=token, connection=connection).send()

    [received] = mailbox.wait_for(1)
    assert sent == 1
    # A long header is folded onto a continuation line; unfolded it must be exactly the same.
    assert received["List-Unsubscribe"].strip() == (
        f"<http://127.0.0.1:8000/u/{token}/>, <mailto:unsubscribe@example.com?subject=unsubscribe>"
    )
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert received["Subject"].strip() == "سفارش \u2068A-1042\u2069 از \u2068Kafe Ketab\u2069 چطور بود؟"
    assert received["From"] == "Kafe Ketab <surveys@localhost>"
    html = body_of(received, "html")
    assert '<html lang="fa" dir="rtl">' in html
    assert f'href="http://127.0.0.1:8000/s/{token}/?score=10"' in html
    assert re.search(rf"لغو اشتراک: http://127\.0\.0\.1:8000/u/{token}/", body_of(received))


def test_an_invitation_sent_again_is_the_same_message_but_its_reminder_is_not(invitation, mailbox):
    from surveys.outreach.sending import send_due_invitations

    send_due_invitations()
    claimed = InvitationFactory._meta.model.objects.get(pk=invitation.pk)

    again = build_invitation_email(claimed, token=TOKEN)
    reminder = build_invitation_email(claimed, token=TOKEN, reminder=True)
    other = build_invitation_email(InvitationFactory(survey=claimed.survey, shop=claimed.shop), token=TOKEN)

    [sent] = mailbox.messages
    assert sent["Message-ID"] == again.message()["Message-ID"]
    assert sent["Message-ID"].startswith(f"<invitation.{claimed.pk}.")
    assert reminder.message()["Message-ID"] != sent["Message-ID"]
    assert other.message()["Message-ID"] != sent["Message-ID"]
