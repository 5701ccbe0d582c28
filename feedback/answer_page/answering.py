"""Answering a survey by link: what a customer's clicks do to the stored answer.

A survey link opens in two steps. The first shows the lead question (the survey's first
scale question, usually NPS); confirming it stores the response, and from then on the
score counts. The second shows the questions for that score's band and the optional
ones; its answers are saved as the customer goes and the response is complete when the
customer sends it. Within the shop's edit window the same link reopens the answers to
change them; after it the link says the answer is final.
"""

from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from django.db import IntegrityError, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone
from django.utils.translation import gettext

from config.celery import hand_over
from feedback.casework.flagging import judge, rules_for
from feedback.models import Answer, FollowUp, Response
from surveys.errors import DomainError, NotFound
from surveys.models import Invitation, Question, Shop, Suppression
from surveys.outreach.suppressions import normalise_address
from surveys.queries import invitations_with_token

SHORT_TEXT_MAX_LENGTH = 200
COMMENT_MAX_LENGTH = 5000
# Enough for any real multiple-choice question; a form can't smuggle in more.
MAX_CHOICES = 30

# A score, a text or the chosen option values; None or "" or [] clears an answer.
AnswerValue = int | str | list[str] | None


class LinkClosed(DomainError):
    """A known link that no longer opens the survey; `language` is the customer's, `shop` the
    one that asked (its page names it, wears its colours and gives its contact)."""

    def __init__(self, message: str = "", *, language: str = "", shop: Shop | None = None) -> None:
        super().__init__(message)
        self.language = language
        self.shop = shop


class UnknownInvitation(NotFound):
    """This survey link is not valid."""


class InvitationExpired(LinkClosed):
    """This survey has closed."""

    status_code = 410


class Unsubscribed(LinkClosed):
    """This customer asked not to be surveyed any more."""

    status_code = 410


class AnswerFinal(LinkClosed):
    """This survey has been answered and the answer can no longer be changed."""

    status_code = 409


class InvalidAnswer(DomainError):
    """The answer is not valid."""

    status_code = 422


# Unknown, cancelled, throttled and never-sent links all look the same to the visitor.
_OPEN_STATUSES = (
    Invitation.Status.SENDING,
    Invitation.Status.SENT,
    Invitation.Status.OPENED,
    Invitation.Status.ANSWERED,
    Invitation.Status.EXPIRED,
)
# A bounce is about the address, not the customer's wish; the customer may still answer.
_UNSUBSCRIBING_REASONS = (Suppression.Reason.UNSUBSCRIBED, Suppression.Reason.COMPLAINED, Suppression.Reason.MANUAL)


@dataclass
class Link:
    """An open survey link: the invitation, its questions and what is answered so far."""

    invitation: Invitation
    questions: list[Question]
    response: Response | None = None
    answers: dict[int, Answer] = field(default_factory=dict)

    @property
    def lead(self) -> Question | None:
        """The question that opens the survey and decides which follow-ups are shown."""
        return next((question for question in self.questions if question.scale is not None), None)

    @property
    def lead_score(self) -> int | None:
        lead = self.lead
        answer = self.answers.get(lead.pk) if lead else None
        return answer.score if answer else None

    def later_questions(self, lead_score: int | None = None) -> list[Question]:
        """The second step's questions for a lead score (default: the one stored)."""
        lead = self.lead
        score = self.lead_score if lead_score is None else lead_score
        return [question for question in self.questions if question is not lead and question.shown_for(score)]

    @property
    def is_complete(self) -> bool:
        return self.response is not None and self.response.completed_at is not None

    @property
    def editable_until(self) -> datetime | None:
        if self.response is None:
            return None
        return self.response.submitted_at + self.invitation.shop.answer_edit_window

    def value_of(self, question: Question) -> AnswerValue:
        answer = self.answers.get(question.pk)
        if answer is None:
            return None
        if question.scale is not None:
            return answer.score
        if question.kind in (Question.Kind.SINGLE, Question.Kind.MULTIPLE):
            return list(answer.choices)
        return answer.text


def open_link(token: str, *, now: datetime | None = None) -> Link:
    """The survey behind a link, with what was answered so far.

    Raises UnknownInvitation (the same for unknown, revoked and never-sent links, so a
    link reveals nothing about invitations it does not belong to), Unsubscribed,
    AnswerFinal after the edit window, or InvitationExpired.
    """
    now = now or timezone.now()
    # Kept to four joins: PostgreSQL's planning time grows fast with each joined table, and
    # on this page it costs more than running the query. The response is read only if there is one.
    found = list(
        invitations_with_token(token)
        .select_related("shop", "survey", "customer", "order")
        .filter(status__in=_OPEN_STATUSES)[:1]
    )
    if not found:
        raise UnknownInvitation()
    invitation = found[0]
    language = invitation.customer.language or invitation.shop.default_language
    address = normalise_address(invitation.channel, invitation.customer.address_for(invitation.channel))
    if Suppression.objects.filter(
        shop_id=invitation.shop_id, channel=invitation.channel, address=address, reason__in=_UNSUBSCRIBING_REASONS
    ).exists():
        raise Unsubscribed(language=language, shop=invitation.shop)
    response = None
    if invitation.status == Invitation.Status.ANSWERED:
        response = Response.objects.filter(invitation=invitation).prefetch_related("answers").first()
    if response is not None:
        if now >= response.submitted_at + invitation.shop.answer_edit_window:
            raise AnswerFinal(language=response.language, shop=invitation.shop)
    elif invitation.status == Invitation.Status.EXPIRED or (
        invitation.expires_at is not None and invitation.expires_at <= now
    ):
        raise InvitationExpired(language=language, shop=invitation.shop)
    link = Link(invitation=invitation, questions=list(invitation.survey.questions.all()), response=response)
    if response is not None:
        link.answers = {answer.question_id: answer for answer in response.answers.all()}
    return link


def mark_opened(invitation: Invitation, *, now: datetime | None = None) -> None:
    """Record the first time a person opened the survey: their first act on its page, or their
    first answer (it stops the reminder). A fetch of the link alone is not one: mail scanners
    fetch every link."""
    if invitation.opened_at is None:
        now = now or timezone.now()
        # One statement: an answered invitation keeps its status, a sent one becomes opened.
        Invitation.objects.filter(pk=invitation.pk, opened_at__isnull=True).update(
            opened_at=now,
            status=Case(
                When(status__in=[Invitation.Status.SENDING, Invitation.Status.SENT], then=Value("opened")),
                default=F("status"),
            ),
        )
        invitation.opened_at = now


def check_value(question: Question, value: AnswerValue) -> AnswerValue:
    """The value in its stored form, or InvalidAnswer saying what is wrong with it."""
    if value is None or value == "" or value == []:
        return None
    scale = question.scale
    if scale is not None:
        if not isinstance(value, int) or isinstance(value, bool) or value not in scale:
            raise InvalidAnswer(f"{question.text!r} takes a whole number from {scale.start} to {scale.stop - 1}")
        return value
    if question.kind in (Question.Kind.SINGLE, Question.Kind.MULTIPLE):
        chosen = [value] if isinstance(value, str) else value
        if not isinstance(chosen, list) or not all(isinstance(item, str) for item in chosen):
            raise InvalidAnswer(f"{question.text!r} takes one of its options")
        allowed = {option["value"] for option in question.options}
        if set(chosen) - allowed:
            raise InvalidAnswer(f"{question.text!r} has no option {sorted(set(chosen) - allowed)[0]!r}")
        if question.kind == Question.Kind.SINGLE and len(chosen) > 1:
            raise InvalidAnswer(f"{question.text!r} takes only one option")
        if len(chosen) > MAX_CHOICES:
            raise InvalidAnswer(f"{question.text!r} takes at most {MAX_CHOICES} options")
        return list(dict.fromkeys(chosen))
    if not isinstance(value, str):
        raise InvalidAnswer(f"{question.text!r} takes text")
    text = value.strip()
    limit = SHORT_TEXT_MAX_LENGTH if question.kind == Question.Kind.SHORT_TEXT else COMMENT_MAX_LENGTH
    if len(text) > limit:
        raise InvalidAnswer(f"{question.text!r} can be at most {limit} characters")
    return text or None


def save_answers(
    link: Link,
    values: dict[int, AnswerValue],
    *,
    language: str,
    finish: bool,
    now: datetime | None = None,
) -> Response:
    """Store the customer's answers to some of the link's questions.

    `values` maps question ids to answers; an empty value clears that answer. With
    `finish` the customer sent the last page: every required question shown must be
    answered, answers to questions the current score no longer shows are dropped, and
    the response is complete. Without it (autosave, or a first step) nothing is checked
    for completeness. The first save stores the response and marks the invitation
    answered; the database allows one response per invitation, so a double submit
    updates the same one.

    Side effects: a confirmed score or a finished response is marked as waiting to be read
    (sentiment, flagging) and, after commit, queued for a worker; with the broker away the
    sweep reads it later.
    """
    now = now or timezone.now()
    questions = {question.pk: question for question in link.questions}
    unknown = set(values) - set(questions)
    if unknown:
        raise InvalidAnswer(f"this survey has no question {sorted(unknown)[0]}")
    cleaned = {question_id: check_value(questions[question_id], value) for question_id, value in values.items()}
    lead = link.lead
    if link.response is None and lead is not None and cleaned.get(lead.pk) is None:
        raise InvalidAnswer("please answer the first question before the others")
    if link.response is None and all(value is None for value in cleaned.values()):
        # An empty page is no answer: it must not mark the invitation answered.
        raise InvalidAnswer(gettext("Please answer at least one question."))

    stored = {question_id: link.value_of(questions[question_id]) for question_id in questions}
    after = {**stored, **cleaned}
    lead_score = after.get(lead.pk) if lead is not None else None
    assert lead_score is None or isinstance(lead_score, int)
    shown = {lead.pk} if lead is not None else set()
    shown |= {question.pk for question in link.later_questions(lead_score)}
    if finish:
        missing = [questions[pk] for pk in shown if questions[pk].required and after.get(pk) is None]
        if missing:
            raise InvalidAnswer(f"please answer {missing[0].text!r}")
        cleaned |= {pk: None for pk in questions if pk not in shown and stored.get(pk) is not None}

    lead_changed = lead is not None and lead.pk in cleaned and cleaned[lead.pk] != stored.get(lead.pk)
    wants_reading = finish or lead_changed
    with transaction.atomic():
        # An answer is a person's act: the survey was opened, whatever the page could tell before.
        mark_opened(link.invitation, now=now)
        response, created = _response_for(
            link, language=language, completed=finish, wants_reading=wants_reading, now=now
        )
        filled = [_answer(response, questions[pk], value) for pk, value in cleaned.items() if value is not None]
        Answer.objects.bulk_create(
            filled,
            update_conflicts=True,
            unique_fields=["response", "question"],
            update_fields=["score", "text", "choices"],
        )
        cleared = [pk for pk, value in cleaned.items() if value is None]
        if cleared:
            Answer.objects.filter(response=response, question_id__in=cleared).delete()
        if not created:
            changes: dict[str, object] = {"updated_at": now, "language": language}
            if finish and response.completed_at is None:
                changes["completed_at"] = now
            if wants_reading:
                changes["analysis_wanted_at"] = now
            Response.objects.filter(pk=response.pk).update(**changes)
            for name, value in changes.items():
                setattr(response, name, value)

    link.response = response
    for answer in filled:
        link.answers[answer.question_id] = answer
    for question_id in cleared:
        link.answers.pop(question_id, None)
    if wants_reading:
        from feedback.tasks import analyse_response

        transaction.on_commit(
            partial(hand_over, analyse_response, response_id=response.pk, left_for="the sweep of unread answers")
        )
    return response


def _response_for(
    link: Link, *, language: str, completed: bool, wants_reading: bool, now: datetime
) -> tuple[Response, bool]:
    """The link's response, stored now if it is the first save; and whether it was."""
    if link.response is not None:
        return link.response, False
    invitation = link.invitation
    try:
        with transaction.atomic():
            response = Response.objects.create(
                invitation=invitation,
                shop_id=invitation.shop_id,
                survey_id=invitation.survey_id,
                customer_id=invitation.customer_id,
                submitted_at=now,
                completed_at=now if completed else None,
                language=language,
                analysis_wanted_at=now if wants_reading else None,
            )
    except IntegrityError:
        # The same link sent twice at once (a double tap): both save into one response.
        return Response.objects.get(invitation=invitation), False
    Invitation.objects.filter(pk=invitation.pk).update(status=Invitation.Status.ANSWERED, answered_at=now)
    invitation.status = Invitation.Status.ANSWERED
    invitation.answered_at = now
    return response, True


def _answer(response: Response, question: Question, value: AnswerValue) -> Answer:
    if question.scale is not None:
        assert isinstance(value, int)
        return Answer(response=response, question=question, score=value)
    if isinstance(value, list):
        return Answer(response=response, question=question, choices=value)
    assert isinstance(value, str)
    return Answer(response=response, question=question, text=value)


def submit_answer(invitation: Invitation, *, score: int, comment: str = "", language: str = "en") -> Response:
    """Answer an NPS survey in one go: the demo's history and tests use it."""
    questions = list(invitation.survey.questions.all())
    link = Link(invitation=invitation, questions=questions)
    values: dict[int, AnswerValue] = {}
    for question in questions:
        if question.kind == Question.Kind.NPS and not values:
            values[question.pk] = score
        elif question.kind == Question.Kind.COMMENT and comment and question.shown_for(score):
            values[question.pk] = comment
    if not values:
        raise InvalidAnswer("this survey has no score question")
    return save_answers(link, values, language=language, finish=True)


def needs_follow_up(response: Response) -> bool:
    """Whether these answers call for the shop's support team: a case is open on them, or a
    rule fires on them now (the comments' sentiment may still be being read; a score or a
    warning word is enough). Such a customer is not asked for a public review."""
    if FollowUp.objects.filter(response=response).exists():
        return True
    return bool(judge(response, rules_for(response.shop)).reasons)
