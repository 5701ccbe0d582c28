from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from feedback.models import Answer, FollowUp, Response
from sentiment.domain import score_answer
from surveys.errors import DomainError, NotFound
from surveys.models import Invitation, Question, Shop
from surveys.queries import invitations_with_token

COMMENT_MAX_LENGTH = 5000


class UnknownInvitation(NotFound):
    """This survey link is not valid."""


class InvitationExpired(DomainError):
    """This survey has closed."""

    status_code = 410


class AlreadyAnswered(DomainError):
    """This survey has already been answered."""

    status_code = 409


class InvalidAnswer(DomainError):
    """The answer is not valid."""

    status_code = 422


# --- Answering ---------------------------------------------------------------------


def invitation_for_token(token: str, *, now: datetime | None = None) -> Invitation:
    """The open invitation behind a survey link.

    Unknown, cancelled and never-sent links all raise the same UnknownInvitation,
    so a link reveals nothing about invitations it does not belong to.
    """
    now = now or timezone.now()
    invitation = invitations_with_token(token).select_related("shop", "survey", "customer", "order").first()
    if invitation is None or invitation.status not in (
        Invitation.Status.SENDING,
        Invitation.Status.SENT,
        Invitation.Status.OPENED,
        Invitation.Status.ANSWERED,
        Invitation.Status.EXPIRED,
    ):
        raise UnknownInvitation()
    if invitation.status == Invitation.Status.ANSWERED:
        raise AlreadyAnswered()
    if invitation.status == Invitation.Status.EXPIRED or (
        invitation.expires_at is not None and invitation.expires_at <= now
    ):
        raise InvitationExpired()
    return invitation


def mark_opened(invitation: Invitation, *, now: datetime | None = None) -> None:
    """Record the first time the link was opened (it stops the reminder)."""
    if invitation.opened_at is None:
        now = now or timezone.now()
        Invitation.objects.filter(pk=invitation.pk, opened_at__isnull=True).update(opened_at=now)
        Invitation.objects.filter(
            pk=invitation.pk, status__in=[Invitation.Status.SENDING, Invitation.Status.SENT]
        ).update(status=Invitation.Status.OPENED)
        invitation.opened_at = now


def submit_answer(invitation: Invitation, *, score: int, comment: str = "") -> Response:
    """Store the customer's answer.

    Side effects: creates the Response and its Answers, marks the invitation
    answered, and after commit queues the analysis (sentiment, flagging).
    """
    if not 0 <= score <= 10:
        raise InvalidAnswer("the score must be a whole number from 0 to 10")
    comment = comment.strip()
    if len(comment) > COMMENT_MAX_LENGTH:
        raise InvalidAnswer(f"the comment can be at most {COMMENT_MAX_LENGTH} characters")
    questions = {question.kind: question for question in invitation.survey.questions.all()}
    if Question.Kind.NPS not in questions:
        raise InvalidAnswer("this survey has no score question")
    try:
        with transaction.atomic():
            response = Response.objects.create(
                invitation=invitation,
                shop_id=invitation.shop_id,
                survey_id=invitation.survey_id,
                customer_id=invitation.customer_id,
                submitted_at=timezone.now(),
            )
            answers = [Answer(response=response, question=questions[Question.Kind.NPS], score=score)]
            if comment and Question.Kind.COMMENT in questions:
                answers.append(Answer(response=response, question=questions[Question.Kind.COMMENT], text=comment))
            Answer.objects.bulk_create(answers)
            Invitation.objects.filter(pk=invitation.pk).update(
                status=Invitation.Status.ANSWERED, answered_at=response.submitted_at
            )
    except IntegrityError:
        # The database allows one response per invitation: a double submit lands here.
        raise AlreadyAnswered() from None

    from feedback.tasks import analyse_response

    analyse_response.delay_on_commit(response_id=response.pk)
    return response


# --- Analysis and flagging ---------------------------------------------------------


def analyse_response(response: Response) -> FollowUp | None:
    """Score the comments, then flag the response if any rule fires."""
    for answer in response.answers.exclude(text=""):
        score_answer(answer)
    return flag_response(response)


def flag_reasons(response: Response) -> list[str]:
    reasons = []
    nps = response.answers.filter(question__kind=Question.Kind.NPS).values_list("score", flat=True).first()
    if nps is not None and nps <= 6:
        reasons.append(FollowUp.Reason.DETRACTOR.value)
    return reasons


def flag_response(response: Response) -> FollowUp | None:
    """Put the response on the work list if a rule fires: one FollowUp, every reason on it."""
    reasons = flag_reasons(response)
    if not reasons:
        return None
    follow_up, created = FollowUp.objects.get_or_create(
        response=response, defaults={"shop_id": response.shop_id, "reasons": reasons}
    )
    if not created and set(reasons) - set(follow_up.reasons):
        follow_up.reasons = sorted(set(follow_up.reasons) | set(reasons))
        follow_up.save(update_fields=["reasons", "updated_at"])
    return follow_up


# --- Tallies -----------------------------------------------------------------------


@dataclass(frozen=True)
class NpsTally:
    promoters: int
    passives: int
    detractors: int

    @property
    def responses(self) -> int:
        """The denominator: answered NPS questions."""
        return self.promoters + self.passives + self.detractors

    @property
    def score(self) -> float | None:
        if not self.responses:
            return None
        return 100.0 * (self.promoters - self.detractors) / self.responses

    @property
    def margin_of_error(self) -> float | None:
        """95% margin of error, adjusted Wald (add 3 to n and 3/4 to each of p and d)."""
        if not self.responses:
            return None
        n = self.responses + 3
        p = (self.promoters + 0.75) / n
        d = (self.detractors + 0.75) / n
        variance = (p + d) - (p - d) ** 2
        return 100.0 * 1.96 * (variance / n) ** 0.5


def nps_tally(shop: Shop, *, since: datetime, until: datetime) -> NpsTally:
    """NPS over responses submitted in [since, until), counted by the database."""
    counts = Answer.objects.filter(
        response__shop=shop,
        response__submitted_at__gte=since,
        response__submitted_at__lt=until,
        question__kind=Question.Kind.NPS,
        score__isnull=False,
    ).aggregate(
        promoters=Count("pk", filter=Q(score__gte=9)),
        passives=Count("pk", filter=Q(score__gte=7, score__lte=8)),
        detractors=Count("pk", filter=Q(score__lte=6)),
    )
    return NpsTally(**counts)
