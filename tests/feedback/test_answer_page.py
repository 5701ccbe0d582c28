import re
from datetime import timedelta

import pytest
import time_machine
from django.db import IntegrityError
from django.test import Client
from django.utils import timezone

from feedback.models import Answer, Response
from surveys.models import Invitation, Question, Suppression
from surveys.outreach.tokens import hash_token, new_token
from tests.factories import InvitationFactory, SurveyFactory

pytestmark = pytest.mark.django_db


def sent_invitation(**fields):
    token = new_token()
    fields.setdefault("survey", SurveyFactory(questions="standard"))
    invitation = InvitationFactory(
        status=Invitation.Status.SENT,
        token_hash=hash_token(token),
        sent_at=timezone.now(),
        expires_at=timezone.now() + timedelta(days=30),
        **({"order__external_id": "A-77"} | fields),
    )
    return invitation, f"/s/{token}/"


@pytest.fixture
def link(db):
    """A sent invitation for the standard survey, and the path of its survey link."""
    return sent_invitation()


def name(invitation, text):
    """The form field of the survey's question whose English text starts with `text`."""
    return f"q{invitation.survey.questions.get(text__startswith=text).pk}"


def nps(invitation):
    return name(invitation, "How likely")


def answers(invitation):
    return {
        answer.question.text: answer.score if answer.score is not None else (answer.choices or answer.text)
        for answer in Answer.objects.filter(response__invitation=invitation).select_related("question")
    }


# --- The first step ----------------------------------------------------------------------


def test_the_first_step_is_the_score_as_a_labelled_radio_group(client, link):
    invitation, path = link

    page = client.get(path)

    html = page.content.decode()
    assert page.status_code == 200
    assert '<html lang="en" dir="ltr">' in html
    assert "How was your order <bdi>#A-77</bdi>?" in html
    assert re.search(r"<fieldset[^>]*>\s*<legend>How likely are you to recommend us", html)
    assert html.count(f'type="radio" name="{nps(invitation)}"') == 11
    # The ends are read with the first and last option, and shown under the scale.
    assert '0<span class="vh">, Not at all likely</span>' in html
    assert '10<span class="vh">, Extremely likely</span>' in html
    assert "Step 1 of 2" in html
    assert "csrfmiddlewaretoken" in html
    # Follow-ups wait for the score: nothing of the second step is on this page.
    assert "What went wrong?" not in html
    assert page["Cache-Control"].startswith("max-age=0")


def test_scanners_opening_every_score_link_record_no_answer(client, link):
    invitation, path = link

    pages = [client.get(f"{path}?score={score}") for score in range(11)]
    nine = client.get(f"{path}?score=9").content.decode()

    assert {page.status_code for page in pages} == {200}
    assert re.search(rf'name="{nps(invitation)}" value="9"[^>]* checked', nine)
    assert nine.count(" checked") == 1
    assert Response.objects.count() == 0
    invitation.refresh_from_db()
    # A scanner's fetch is not a person opening the survey: the reminder still goes out.
    assert (invitation.status, invitation.opened_at, invitation.answered_at) == ("sent", None, None)


def test_a_persons_first_act_on_the_page_opens_the_survey(client, link):
    invitation, path = link
    page = client.get(path).content.decode()
    head = client.head(path)

    assert f'data-seen-url="{path}seen/"' in page  # answer.js posts there on a tap, click or key
    assert head.status_code == 200
    invitation.refresh_from_db()
    assert invitation.opened_at is None

    seen = client.post(f"{path}seen/")

    invitation.refresh_from_db()
    assert (seen.status_code, invitation.status) == (204, "opened")
    assert invitation.opened_at is not None
    assert "data-seen-url" not in client.get(path).content.decode()  # told once


def test_an_answer_opens_the_survey_too(client, link):
    invitation, path = link

    client.post(path, {nps(invitation): "8"})

    invitation.refresh_from_db()
    assert invitation.opened_at is not None


def test_confirming_the_score_counts_it_and_goes_on_to_the_score_bands_questions(client, link):
    invitation, path = link

    confirmed = client.post(path, {nps(invitation): "3"})
    more = client.get(confirmed["Location"])

    assert (confirmed.status_code, confirmed["Location"]) == (303, f"{path}more/")
    response = Response.objects.get(invitation=invitation)
    assert (response.completed_at, answers(invitation)) == (None, {invitation.survey.questions.first().text: 3})
    invitation.refresh_from_db()
    assert (invitation.status, invitation.answered_at) == ("answered", response.submitted_at)
    html = more.content.decode()
    assert "Step 2 of 2" in html
    # 0–6 asks what went wrong; the questions for 7–8 and 9–10 stay hidden.
    assert "What went wrong?" in html
    assert "What should we improve?" in html
    assert "What would make it a 10?" not in html
    assert "What did you like most?" not in html
    assert "How satisfied are you with the delivery?" in html
    assert "data-autosave" in html


def test_the_second_step_stores_every_kind_of_answer_and_completes_the_response(client, link):
    invitation, path = link
    client.post(path, {nps(invitation): "10"})

    sent = client.post(
        f"{path}more/",
        {
            name(invitation, "What did you like"): "  Fast delivery, lovely packaging.  ",
            name(invitation, "How satisfied"): "5",
            name(invitation, "Was the product"): "partly",
        },
    )
    thanks = client.get(sent["Location"])

    assert (sent.status_code, sent["Location"]) == (303, f"{path}thanks/")
    assert thanks.status_code == 200
    assert "Thank you!" in thanks.content.decode()
    assert answers(invitation) == {
        "How likely are you to recommend us to a friend or colleague?": 10,
        "What did you like most?": "Fast delivery, lovely packaging.",
        "How satisfied are you with the delivery?": 5,
        "Was the product as described?": ["partly"],
    }
    assert Response.objects.get(invitation=invitation).completed_at is not None


def test_multiple_choice_keeps_every_option_chosen(client, link):
    invitation, path = link
    client.post(path, {nps(invitation): "2"})

    client.post(f"{path}more/", {name(invitation, "What went wrong"): ["late", "damaged"]})

    assert answers(invitation)["What went wrong?"] == ["late", "damaged"]


def test_a_survey_whose_score_shows_no_more_questions_finishes_in_one_step(client):
    invitation, path = sent_invitation(survey=SurveyFactory(questions=False))
    Question.objects.create(survey=invitation.survey, kind=Question.Kind.CSAT, text="Happy?", required=True)

    first = client.get(path).content.decode()
    sent = client.post(path, {f"q{invitation.survey.questions.get().pk}": "4"})

    assert "Step 1" not in first
    assert "Send my answer" in first
    assert sent["Location"] == f"{path}thanks/"
    assert Response.objects.get(invitation=invitation).completed_at is not None


def test_a_survey_without_a_score_question_opens_on_its_questions(client):
    invitation, path = sent_invitation(survey=SurveyFactory(questions=False))
    question = Question.objects.create(
        survey=invitation.survey, kind=Question.Kind.SHORT_TEXT, text="Which city?", required=True
    )

    first = client.get(path)
    sent = client.post(first["Location"], {f"q{question.pk}": "Shiraz"})

    assert first["Location"] == f"{path}more/"
    assert sent["Location"] == f"{path}thanks/"
    assert answers(invitation) == {"Which city?": "Shiraz"}


def test_an_empty_page_is_no_answer(client):
    invitation, path = sent_invitation(survey=SurveyFactory(questions=False))
    Question.objects.create(survey=invitation.survey, kind=Question.Kind.COMMENT, text="Anything to add?")

    page = client.post(f"{path}more/", {"lang": "fa"})

    assert page.status_code == 422
    assert "لطفاً دست‌کم به یک پرسش پاسخ دهید." in page.content.decode()
    assert not Response.objects.exists()
    invitation.refresh_from_db()
    assert invitation.status == "sent"


# --- Partial answers, resuming, changing -------------------------------------------------


def test_autosave_keeps_a_half_written_answer_and_reopening_the_link_resumes(client, link):
    invitation, path = link
    client.post(path, {nps(invitation): "5"})
    improve = name(invitation, "What should we improve")

    saved = client.post(f"{path}more/", {improve: "The courier was rude"}, headers={"X-Autosave": "1"})
    reopened = client.get(path)
    resumed = client.get(reopened["Location"])

    assert (saved.status_code, saved.json()) == (200, {"saved": True})
    assert Response.objects.get(invitation=invitation).completed_at is None
    assert answers(invitation)["What should we improve?"] == "The courier was rude"
    assert reopened["Location"] == f"{path}more/"
    assert "The courier was rude</textarea>" in resumed.content.decode()


def test_autosave_reports_a_bad_value_and_keeps_what_was_saved(client, link):
    invitation, path = link
    client.post(path, {nps(invitation): "5"})
    improve = name(invitation, "What should we improve")
    client.post(f"{path}more/", {improve: "first draft"}, headers={"X-Autosave": "1"})

    refused = client.post(f"{path}more/", {improve: "x" * 5001}, headers={"X-Autosave": "1"})

    assert refused.status_code == 422
    assert refused.json()["saved"] is False
    assert improve in refused.json()["errors"]
    assert answers(invitation)["What should we improve?"] == "first draft"


def test_an_answer_can_be_changed_within_the_shops_window(client, link):
    invitation, path = link
    client.post(path, {nps(invitation): "2"})
    client.post(f"{path}more/", {name(invitation, "What should we improve"): "Too slow"})

    again = client.get(path)
    client.post(path, {nps(invitation): "9"})
    client.post(f"{path}more/", {name(invitation, "What did you like"): "Actually, the support was great"})

    html = again.content.decode()
    assert "We have your answer. You can change it until" in html
    assert re.search(rf'name="{nps(invitation)}" value="2"[^>]* checked', html)
    # The 0–6 follow-up no longer applies to a 9, so it is dropped, not left behind.
    assert answers(invitation) == {
        "How likely are you to recommend us to a friend or colleague?": 9,
        "What did you like most?": "Actually, the support was great",
    }
    assert Response.objects.count() == 1


def test_after_the_window_the_link_says_the_answer_is_final(client, link):
    invitation, path = link
    client.post(path, {nps(invitation): "8"})
    client.post(f"{path}more/", {})

    with time_machine.travel(timezone.now() + timedelta(days=2, seconds=1)):
        again = client.get(path)
        resent = client.post(path, {nps(invitation): "0"})

    assert again.status_code == 200
    assert "You have already answered this survey" in again.content.decode()
    assert resent.status_code == 409
    assert answers(invitation) == {"How likely are you to recommend us to a friend or colleague?": 8}


def test_a_shop_can_make_answers_final_at_once(client, link):
    invitation, path = link
    invitation.shop.answer_edit_window = timedelta(0)
    invitation.shop.save()
    client.post(path, {nps(invitation): "8"})

    assert "already answered" in client.get(f"{path}more/").content.decode()


# --- Bad input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "error"),
    [("11", "Select a valid choice"), ("-1", "Select a valid choice"), ("", "Please choose a score")],
    ids=["eleven", "negative", "missing"],
)
def test_an_invalid_score_is_shown_again_with_the_error_and_nothing_is_stored(client, link, score, error):
    invitation, path = link

    page = client.post(path, {nps(invitation): score})

    assert page.status_code == 422
    html = page.content.decode()
    assert error in html
    assert 'role="alert"' in html
    assert 'aria-invalid="true"' in html
    assert Response.objects.count() == 0


@pytest.mark.parametrize(
    ("question", "value", "error"),
    [
        ("What should we improve", "x" * 5001, "at most 5000 characters"),
        ("What went wrong", ["late", "teleported"], "Select a valid choice"),
        ("How satisfied", "6", "Select a valid choice"),
    ],
    ids=["long-comment", "unknown-option", "csat-out-of-range"],
)
def test_an_invalid_follow_up_answer_keeps_what_was_stored(client, link, question, value, error):
    invitation, path = link
    client.post(path, {nps(invitation): "4"})

    page = client.post(f"{path}more/", {name(invitation, question): value})

    assert page.status_code == 422
    assert error in page.content.decode()
    assert answers(invitation) == {"How likely are you to recommend us to a friend or colleague?": 4}
    assert Response.objects.get(invitation=invitation).completed_at is None


def test_a_required_follow_up_must_be_answered_before_sending(client, link):
    invitation, path = link
    invitation.survey.questions.filter(text__startswith="What should").update(required=True)
    client.post(path, {nps(invitation): "4"})

    page = client.post(f"{path}more/", {})

    assert page.status_code == 422
    assert "Please write an answer." in page.content.decode()
    assert Response.objects.get(invitation=invitation).completed_at is None


def test_the_second_step_needs_the_score_first(client, link):
    _, path = link

    page = client.post(f"{path}more/", {})

    assert page["Location"] == path
    assert Response.objects.count() == 0


def test_everything_a_shop_or_customer_typed_is_escaped(client, link):
    invitation, path = link
    invitation.shop.brand_name = "<script>alert(1)</script>"
    invitation.shop.save()
    client.post(path, {nps(invitation): "4"})

    page = client.post(f"{path}more/", {name(invitation, "What should"): "<img src=x onerror=alert(1)>" + "x" * 5000})

    html = page.content.decode()
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_the_form_needs_its_csrf_token(link):
    invitation, path = link
    strict = Client(enforce_csrf_checks=True)

    refused = strict.post(path, {nps(invitation): "9"})

    assert refused.status_code == 403
    assert Response.objects.count() == 0


def test_the_database_allows_one_response_per_invitation(link):
    invitation, _ = link
    Response.objects.create(
        invitation=invitation,
        shop=invitation.shop,
        survey=invitation.survey,
        customer=invitation.customer,
        submitted_at=timezone.now(),
    )

    with pytest.raises(IntegrityError):
        Response.objects.create(
            invitation=invitation,
            shop=invitation.shop,
            survey=invitation.survey,
            customer=invitation.customer,
            submitted_at=timezone.now(),
        )


def test_a_double_submit_saves_into_the_one_response(client, link):
    invitation, path = link

    client.post(path, {nps(invitation): "7"})
    client.post(path, {nps(invitation): "6"})

    assert Response.objects.filter(invitation=invitation).count() == 1
    assert answers(invitation) == {"How likely are you to recommend us to a friend or colleague?": 6}


# --- Link states -----------------------------------------------------------------------


def test_an_expired_link_shows_the_closed_page(client, link):
    invitation, path = link
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    page = client.get(path)

    assert page.status_code == 410
    assert "This survey has closed" in page.content.decode()


def test_an_unsubscribed_customer_gets_the_unsubscribed_page(client, link):
    invitation, path = link
    Suppression.objects.create(
        shop=invitation.shop, address=invitation.customer.email.lower(), reason=Suppression.Reason.UNSUBSCRIBED
    )

    page = client.get(path)
    sent = client.post(path, {nps(invitation): "9"})

    assert (page.status_code, sent.status_code) == (410, 410)
    assert "You have unsubscribed" in page.content.decode()
    assert Response.objects.count() == 0


def test_unknown_and_cancelled_links_look_the_same(client, link):
    invitation, path = link
    Invitation.objects.filter(pk=invitation.pk).update(status=Invitation.Status.CANCELLED)

    cancelled = client.get(path)
    unknown = client.get(f"/s/{new_token()}/")

    assert (cancelled.status_code, unknown.status_code) == (404, 404)
    assert cancelled.content == unknown.content
    assert "This link is not valid" in unknown.content.decode()


# --- Thank-you page --------------------------------------------------------------------


def test_promoters_are_invited_to_review_and_refer(client, link):
    invitation, path = link
    invitation.shop.review_url = "https://reviews.example.com/shop"
    invitation.shop.referral_url = "https://shop.example.com/r/friend"
    invitation.shop.save()
    client.post(path, {nps(invitation): "10"})
    client.post(f"{path}more/", {})

    html = client.get(f"{path}thanks/").content.decode()

    assert 'href="https://reviews.example.com/shop"' in html
    assert 'href="https://shop.example.com/r/friend"' in html
    assert "get in touch" not in html


@pytest.mark.parametrize(("follow_up_enabled", "promised"), [(True, True), (False, False)])
def test_detractors_are_told_someone_will_get_in_touch_when_the_shop_follows_up(
    client, link, follow_up_enabled, promised
):
    invitation, path = link
    invitation.shop.follow_up_enabled = follow_up_enabled
    invitation.shop.review_url = "https://reviews.example.com/shop"
    invitation.shop.save()
    client.post(path, {nps(invitation): "2"})
    client.post(f"{path}more/", {})

    html = client.get(f"{path}thanks/").content.decode()

    assert ("will get in touch with you soon" in html) is promised
    assert "reviews.example.com" not in html


@pytest.mark.parametrize(
    ("score", "later"),
    [
        ("10", {"How satisfied": "1"}),  # a promoter who rated the delivery 1 of 5
        ("7", {"What would make it a 10": "It arrived broken."}),  # a passive with a warning word
    ],
)
def test_a_flagged_customer_is_not_asked_for_a_review_and_is_told_someone_will_be_in_touch(client, link, score, later):
    invitation, path = link
    invitation.shop.review_url = "https://reviews.example.com/shop"
    invitation.shop.referral_url = "https://shop.example.com/r/friend"
    invitation.shop.save()
    client.post(path, {nps(invitation): score})
    client.post(f"{path}more/", {name(invitation, text): value for text, value in later.items()})

    html = client.get(f"{path}thanks/").content.decode()

    assert "reviews.example.com" not in html
    assert "shop.example.com/r/friend" not in html
    assert "will get in touch with you soon" in html


# --- Persian -----------------------------------------------------------------------------


def test_a_persian_customer_gets_a_right_to_left_page_with_persian_digits(client):
    _, path = sent_invitation(order__customer__language="fa")

    html = client.get(path).content.decode()

    assert '<html lang="fa" dir="rtl">' in html
    assert "Vazirmatn-Regular.woff2" in html
    assert "چقدر احتمال دارد ما را به دوست یا همکارتان پیشنهاد کنید؟" in html
    # The order number stays Latin and isolated inside the Persian sentence.
    assert "سفارش <bdi>#A-77</bdi> چطور بود؟" in html
    labels = re.findall(r'<span class="face">([^<]+)<', html)
    assert labels == [*"۰۱۲۳۴۵۶۷۸۹", "۱۰"]
    assert "مرحلهٔ ۱ از ۲" in html
    assert 'href="?lang=en"' in html


def test_the_language_switch_changes_the_page_and_the_answer_remembers_it(client, link):
    invitation, path = link

    persian = client.get(f"{path}?lang=fa").content.decode()
    sent = client.post(path, {nps(invitation): "9", "lang": "fa"})
    more = client.get(f"{path}more/").content.decode()

    assert 'lang="fa" dir="rtl"' in persian
    assert sent["Location"] == f"{path}more/?lang=fa"
    assert Response.objects.get(invitation=invitation).language == "fa"
    assert "چه چیزی را بیشتر از همه پسندیدید؟" in more


@time_machine.travel("2026-11-23 10:00:00+00:00", tick=False)
def test_the_persian_change_deadline_is_a_jalali_date_in_persian_digits(client):
    invitation, path = sent_invitation(order__customer__language="fa")
    client.post(path, {nps(invitation): "9"})
    client.post(f"{path}more/", {})

    html = client.get(f"{path}thanks/").content.decode()

    # 2026-11-25 13:30 in Tehran is 4 Azar 1405; the shop's time zone is said, kept in one piece.
    assert "تا ۴ آذر ۱۴۰۵، ساعت ۱۳:۳۰ (به وقت \u2068UTC+۰۳:۳۰\u2069) می‌توانید پاسخ خود را تغییر دهید." in html


@time_machine.travel("2026-11-23 10:00:00+00:00", tick=False)
def test_the_change_deadline_says_the_shops_time_zone(client):
    invitation, path = sent_invitation()
    client.post(path, {nps(invitation): "9"})
    client.post(f"{path}more/", {})

    html = client.get(f"{path}thanks/").content.decode()

    assert "You can change your answer until 25 Nov 2026, 13:30 (UTC+03:30)." in html


@pytest.mark.parametrize("support_email", ["care@gol.example", ""])
def test_a_closed_link_names_the_shop_and_how_to_reach_it(client, support_email):
    invitation, path = sent_invitation()
    shop = invitation.shop
    shop.brand_name, shop.brand_color, shop.support_email = "Gol Shop", "#7a1f5c", support_email
    shop.save()
    Invitation.objects.filter(pk=invitation.pk).update(status=Invitation.Status.EXPIRED)
    unsubscribed, unsubscribed_path = sent_invitation(
        survey=invitation.survey, order__external_id="A-78", order__customer__shop=shop
    )
    email = unsubscribed.customer.email
    Suppression.objects.create(shop=shop, address=email, reason=Suppression.Reason.UNSUBSCRIBED)

    expired = client.get(path).content.decode()
    stopped = client.get(unsubscribed_path).content.decode()

    assert "please contact <bdi>Gol Shop</bdi> directly" in expired
    assert "--brand: #7a1f5c" in expired
    assert ('href="mailto:care@gol.example"' in expired) is bool(support_email)
    assert "You asked <bdi>Gol Shop</bdi> not to send you surveys" in stopped
    assert ('href="mailto:care@gol.example"' in stopped) is bool(support_email)


# --- Limits and cost ----------------------------------------------------------------------


def test_too_many_answers_from_one_link_are_refused_for_a_while(client, link, settings):
    invitation, path = link
    settings.ANSWER_RATE_LIMIT_PER_TOKEN = (3, 600)

    statuses = [client.post(path, {nps(invitation): "9"}).status_code for _ in range(4)]
    page = client.get(f"{path}more/")

    assert statuses == [303, 303, 303, 429]
    # Reading the page is limited per address, not per link.
    assert page.status_code == 200


def test_too_many_requests_from_one_address_are_refused(client, link, settings):
    _, path = link
    settings.ANSWER_RATE_LIMIT_PER_IP = (5, 60)

    statuses = [client.get(path).status_code for _ in range(6)]
    other = client.get(path, REMOTE_ADDR="10.1.2.3")

    assert statuses == [200] * 5 + [429]
    assert 0 < int(client.get(path)["Retry-After"]) <= 60
    assert other.status_code == 200


@pytest.mark.parametrize("extra_questions", [0, 4])
def test_the_page_costs_the_same_queries_however_many_questions(
    client, link, extra_questions, django_assert_num_queries
):
    invitation, path = link
    client.get(path)
    client.post(path, {nps(invitation): "3"})
    for position in range(extra_questions):
        Question.objects.create(survey=invitation.survey, kind=Question.Kind.STARS, text=f"S{position}", position=20)

    # No session: the invitation, the suppression check, the response, its answers, the questions.
    with django_assert_num_queries(5):
        page = client.get(f"{path}more/")

    assert page.status_code == 200
