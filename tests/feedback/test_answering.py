"""feedback.answer_page.answering without HTTP: what each kind of question accepts, and how saves combine."""

from datetime import timedelta

import pytest
from django.db.models import RestrictedError
from django.utils import timezone

from feedback.answer_page.answering import InvalidAnswer, Link, check_value, open_link, save_answers, submit_answer
from feedback.models import Response
from surveys.models import Invitation, Question
from surveys.outreach.tokens import hash_token, new_token
from tests.factories import InvitationFactory, ResponseFactory, SurveyFactory


def question(kind, **fields):
    return Question(kind=kind, text="Q", **fields)


@pytest.mark.parametrize(
    ("kind", "value", "stored"),
    [
        (Question.Kind.NPS, 0, 0),
        (Question.Kind.NPS, 10, 10),
        (Question.Kind.CSAT, 5, 5),
        (Question.Kind.CES, 7, 7),
        (Question.Kind.STARS, 1, 1),
        (Question.Kind.SHORT_TEXT, "  Shiraz ", "Shiraz"),
        (Question.Kind.COMMENT, "   ", None),
        (Question.Kind.NPS, None, None),
    ],
)
def test_each_kind_stores_its_own_shape(kind, value, stored):
    assert check_value(question(kind), value) == stored


@pytest.mark.parametrize(
    ("kind", "value", "error"),
    [
        (Question.Kind.NPS, 11, "from 0 to 10"),
        (Question.Kind.CSAT, 0, "from 1 to 5"),
        (Question.Kind.CES, 8, "from 1 to 7"),
        (Question.Kind.STARS, True, "from 1 to 5"),
        (Question.Kind.NPS, "9", "from 0 to 10"),
        (Question.Kind.SHORT_TEXT, "x" * 201, "at most 200 characters"),
        (Question.Kind.COMMENT, "x" * 5001, "at most 5000 characters"),
        (Question.Kind.COMMENT, 5, "takes text"),
    ],
)
def test_a_value_that_does_not_fit_its_question_is_refused(kind, value, error):
    with pytest.raises(InvalidAnswer, match=error):
        check_value(question(kind), value)


def test_choices_must_be_the_questions_own_options():
    options = [{"value": "a", "en": "A"}, {"value": "b", "en": "B"}]
    single = question(Question.Kind.SINGLE, options=options)
    multiple = question(Question.Kind.MULTIPLE, options=options)

    assert check_value(single, "a") == ["a"]
    assert check_value(multiple, ["b", "a", "b"]) == ["b", "a"]
    with pytest.raises(InvalidAnswer, match="only one option"):
        check_value(single, ["a", "b"])
    with pytest.raises(InvalidAnswer, match="no option 'c'"):
        check_value(multiple, ["a", "c"])
    with pytest.raises(InvalidAnswer, match="one of its options"):
        check_value(multiple, [1])


def test_follow_ups_show_for_their_band_only():
    improve = question(Question.Kind.COMMENT, show_from=0, show_to=6)
    from_seven = question(Question.Kind.COMMENT, show_from=7)
    always = question(Question.Kind.COMMENT)

    assert [improve.shown_for(score) for score in (0, 6, 7, None)] == [True, True, False, False]
    assert [from_seven.shown_for(score) for score in (6, 7, 10)] == [False, True, True]
    assert always.shown_for(None)


@pytest.mark.django_db
def test_later_answers_need_the_score_first():
    invitation = InvitationFactory(status=Invitation.Status.SENT)
    questions = list(invitation.survey.questions.all())
    link = Link(invitation=invitation, questions=questions)

    with pytest.raises(InvalidAnswer, match="first question"):
        save_answers(link, {questions[1].pk: "Why not"}, language="en", finish=False)

    assert not Response.objects.exists()


@pytest.mark.django_db
def test_a_question_of_another_survey_is_refused():
    invitation = InvitationFactory(status=Invitation.Status.SENT)
    stranger = SurveyFactory().questions.first()
    link = Link(invitation=invitation, questions=list(invitation.survey.questions.all()))

    with pytest.raises(InvalidAnswer, match="no question"):
        save_answers(link, {stranger.pk: 9}, language="en", finish=True)


@pytest.mark.django_db
def test_answering_in_one_go_completes_the_response_and_the_link_reopens_it_for_a_change():
    token = new_token()
    invitation = InvitationFactory(
        status=Invitation.Status.SENT, token_hash=hash_token(token), expires_at=timezone.now() + timedelta(days=1)
    )

    response = submit_answer(invitation, score=9, comment="Lovely", language="fa")
    link = open_link(token)

    assert response.completed_at is not None
    assert response.language == "fa"
    assert link.is_complete
    assert link.lead_score == 9
    assert link.editable_until == response.submitted_at + timedelta(days=2)


@pytest.mark.django_db
def test_a_question_with_answers_cannot_be_deleted_but_its_shop_can():
    response = ResponseFactory(score=3, comment="Late.")
    question = response.answers.get(question__kind="comment").question

    with pytest.raises(RestrictedError):
        question.delete()
    response.shop.delete()  # everything of the shop goes, answers included

    assert not Response.objects.filter(pk=response.pk).exists()
    assert not Question.objects.filter(pk=question.pk).exists()
