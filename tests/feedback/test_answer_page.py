from datetime import timedelta

import pytest
from django.utils import timezone

from feedback.domain import AlreadyAnswered, submit_answer
from feedback.models import Answer, Response
from surveys.models import Invitation
from surveys.tokens import hash_token, new_token
from tests.factories import InvitationFactory


@pytest.fixture
def link(db):
    """A sent invitation and the path of its survey link."""
    token = new_token()
    invitation = InvitationFactory(
        status=Invitation.Status.SENT,
        token_hash=hash_token(token),
        sent_at=timezone.now(),
        expires_at=timezone.now() + timedelta(days=30),
        order__external_id="A-77",
    )
    return invitation, f"/s/{token}/"


def test_answer_page_shows_the_question_as_a_labelled_radio_group(client, link):
    _, path = link

    page = client.get(path)

    html = page.content.decode()
    assert page.status_code == 200
    assert "A-77" in html
    assert "<fieldset" in html
    assert "<legend>How likely are you to recommend" in html
    assert html.count('type="radio" name="score"') == 11
    assert "csrfmiddlewaretoken" in html


def test_a_score_link_preselects_the_score_but_records_nothing(client, link):
    invitation, path = link

    for score in range(11):
        page = client.get(f"{path}?score={score}")
        assert page.status_code == 200
    page = client.get(f"{path}?score=9")

    html = page.content.decode()
    assert 'value="9" id="id_score_9" required checked' in html
    assert html.count(" checked") == 1
    assert Response.objects.count() == 0
    invitation.refresh_from_db()
    # Opening the link counts as opened (it stops the reminder), never as an answer.
    assert (invitation.status, invitation.answered_at) == ("opened", None)
    assert invitation.opened_at is not None


def test_submitting_stores_the_answer_and_thanks_the_customer(client, link):
    invitation, path = link

    sent = client.post(path, {"score": "9", "comment": "  Fast delivery, lovely packaging.  "})
    thanks = client.get(sent["Location"])

    assert sent.status_code == 302
    assert thanks.status_code == 200
    assert "Thank you" in thanks.content.decode()
    response = Response.objects.get(invitation=invitation)
    assert sorted((a.question.kind, a.score, a.text) for a in response.answers.all()) == [
        ("comment", None, "Fast delivery, lovely packaging."),
        ("nps", 9, ""),
    ]
    invitation.refresh_from_db()
    assert invitation.status == "answered"


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"score": "11"}, "Select a valid choice"),
        ({"score": "-1"}, "Select a valid choice"),
        ({"comment": "no score"}, "Please choose a score"),
        ({"score": "5", "comment": "x" * 5001}, "at most 5000 characters"),
    ],
    ids=["eleven", "negative", "missing", "long-comment"],
)
def test_an_invalid_answer_is_shown_again_with_the_error_and_nothing_is_stored(client, link, form, error):
    _, path = link

    page = client.post(path, form)

    assert page.status_code == 200
    assert error in page.content.decode()
    assert Response.objects.count() == 0
    assert Answer.objects.count() == 0


def test_reopening_an_answered_link_says_so_kindly(client, link):
    _, path = link
    client.post(path, {"score": "8"})

    again = client.get(path)
    resubmitted = client.post(path, {"score": "0"})

    assert again.status_code == 200
    assert "already answered" in again.content.decode()
    assert "already answered" in resubmitted.content.decode()
    assert list(Answer.objects.values_list("score", flat=True)) == [8]


def test_an_expired_link_shows_the_closed_page(client, link):
    invitation, path = link
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    page = client.get(path)

    assert page.status_code == 410
    assert "This survey has closed" in page.content.decode()


def test_unknown_and_cancelled_links_look_the_same(client, link):
    invitation, path = link
    Invitation.objects.filter(pk=invitation.pk).update(status=Invitation.Status.CANCELLED)

    cancelled = client.get(path)
    unknown = client.get(f"/s/{new_token()}/")

    assert (cancelled.status_code, unknown.status_code) == (404, 404)
    assert cancelled.content == unknown.content
    assert "This link is not valid" in unknown.content.decode()


def test_the_database_allows_one_response_per_invitation(link):
    invitation, _ = link
    submit_answer(invitation, score=4)

    with pytest.raises(AlreadyAnswered):
        submit_answer(invitation, score=10)

    assert list(Answer.objects.values_list("score", flat=True)) == [4]
