"""The report's voice of the customer: themes with their change against the months before, and
quotes in the report's language."""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Case, Count, F, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Length

from feedback.insights.periods import Calendar, Period, Span, periods_back
from feedback.insights.tallies import Z_95
from feedback.models import Answer
from reports.month import month_start
from sentiment.models import AnswerTheme, SentimentScore
from surveys.models import Question, Shop

# Themes are compared with the three months before: one month is too noisy a baseline.
THEME_BASELINE_MONTHS = 3
COMMENTS_SHOWN = 3
# A comment to quote is long enough to say something and short enough to read in a line or three.
QUOTABLE_LENGTH = (25, 400)


@dataclass(frozen=True)
class ThemeRow:
    theme: str
    mentions: int
    positive: int
    negative: int
    share: float  # of the month's comments, in percent
    baseline_share: float | None  # of the comments of the months before, in percent
    rising: bool  # mentioned significantly more often than before

    @property
    def net(self) -> int:
        """Positive minus negative mentions, as a percentage of all mentions."""
        return round(100 * (self.positive - self.negative) / self.mentions) if self.mentions else 0


@dataclass(frozen=True)
class Quote:
    text: str
    score: int | None  # the NPS the customer gave with it
    polarity: float
    submitted_at: datetime


def _comments(shop: Shop, since: datetime, until: datetime) -> QuerySet[SentimentScore]:
    return SentimentScore.objects.filter(
        answer__response__shop=shop, answer__response__submitted_at__gte=since, answer__response__submitted_at__lt=until
    )


def comments_in(shop: Shop, since: datetime, until: datetime) -> int:
    return _comments(shop, since, until).count()


def theme_rows(shop: Shop, span: Span, calendar: Calendar, comments: int) -> list[ThemeRow]:
    """The month's themes, most mentioned first, each compared with the months before.

    A theme is "rising" when its share of comments grew by more than chance explains: a
    two-proportion z-test (pooled) of this month's share against the baseline months', |z| > 1.96.
    """
    before = span.first_day - timedelta(days=1)
    baseline_start = month_start(
        shop, periods_back(before, THEME_BASELINE_MONTHS, period=Period.MONTH, calendar=calendar), calendar
    )
    in_month = Q(answer__response__submitted_at__gte=span.start)
    counts = (
        AnswerTheme.objects.filter(
            answer__response__shop=shop,
            answer__response__submitted_at__gte=baseline_start,
            answer__response__submitted_at__lt=span.end,
        )
        .values("theme")
        .annotate(
            mentions=Count("pk", filter=in_month),
            positive=Count("pk", filter=in_month & Q(label=SentimentScore.Label.POSITIVE)),
            negative=Count("pk", filter=in_month & Q(label=SentimentScore.Label.NEGATIVE)),
            before=Count("pk", filter=~in_month),
        )
        .order_by()
    )
    baseline_comments = comments_in(shop, baseline_start, span.start)
    rows = []
    for found in counts:
        if not found["mentions"]:
            continue
        share = found["mentions"] / comments if comments else 0.0
        baseline = found["before"] / baseline_comments if baseline_comments else None
        rows.append(
            ThemeRow(
                theme=found["theme"],
                mentions=found["mentions"],
                positive=found["positive"],
                negative=found["negative"],
                share=100 * share,
                baseline_share=None if baseline is None else 100 * baseline,
                rising=baseline is not None
                and _proportion_z(found["mentions"], comments, found["before"], baseline_comments) > Z_95,
            )
        )
    return sorted(rows, key=lambda row: (-row.mentions, row.theme))


def _proportion_z(hits: int, total: int, base_hits: int, base_total: int) -> float:
    """z of the difference between two proportions, pooled; 0 when it can't be told."""
    if not total or not base_total:
        return 0.0
    pooled = (hits + base_hits) / (total + base_total)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / total + 1 / base_total))
    return (hits / total - base_hits / base_total) / spread if spread else 0.0


def quotes_of(shop: Shop, span: Span, label: str, *, language: str = "") -> list[Quote]:
    """The month's clearest comments of one feeling, those in the report's `language` first,
    then the most strongly felt; from different customers, of a length that reads well in a
    report. (Ranked by feeling alone, a Persian edition quoted English comments only: English
    praise reads stronger to the analyzers than Persian.)"""
    nps = Answer.objects.filter(response=OuterRef("answer__response"), question__kind=Question.Kind.NPS)
    found = (
        _comments(shop, span.start, span.end)
        .filter(label=label)
        .annotate(length=Length("answer__text"))
        .filter(length__gte=QUOTABLE_LENGTH[0], length__lte=QUOTABLE_LENGTH[1])
        .annotate(score=Subquery(nps.values("score")[:1]))
        .annotate(other_language=Case(When(language=language, then=Value(0)), default=Value(1)))
        .order_by(
            "other_language",
            F("polarity").desc() if label == SentimentScore.Label.POSITIVE else F("polarity").asc(),
            "pk",
        )
        .values("answer__text", "answer__response__customer_id", "score", "polarity", "answer__response__submitted_at")
    )
    quotes: list[Quote] = []
    seen: set[object] = set()
    for row in found[: COMMENTS_SHOWN * 10]:
        said = " ".join(row["answer__text"].casefold().split())
        if row["answer__response__customer_id"] in seen or said in seen:
            continue
        seen.update([row["answer__response__customer_id"], said])
        quotes.append(
            Quote(
                text=row["answer__text"],
                score=row["score"],
                polarity=row["polarity"],
                submitted_at=row["answer__response__submitted_at"],
            )
        )
        if len(quotes) == COMMENTS_SHOWN:
            break
    return quotes
