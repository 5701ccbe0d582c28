from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q

from feedback.flagging import flag_response
from feedback.models import Answer, FollowUp, Response
from sentiment.domain import score_answer
from surveys.models import Question, Shop

# --- Analysis and flagging ---------------------------------------------------------


def analyse_response(response: Response) -> FollowUp | None:
    """Score the comments, then flag the response if any rule fires."""
    for answer in response.answers.exclude(text=""):
        score_answer(answer)
    return flag_response(response)


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
