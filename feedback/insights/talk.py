"""What customers talk about, for the dashboard: the themes of a stretch's comments (how often
each came up, how it was said, and the change from the equally long stretch before), a few
quotes for each in the comment's own language, and the latest comments.

Every query starts from the shop and is one query however many themes or comments: the
theme counts (conditional counts over both stretches), the quotes (the best few per theme,
ranked in the database by a window), the comments counted and the latest comments."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Case, Count, F, IntegerField, OuterRef, Q, Subquery, Value, When, Window
from django.db.models.functions import Abs, Coalesce, Length, RowNumber

from feedback.models import Answer
from sentiment.models import AnswerTheme, SentimentScore
from sentiment.themes import theme_label
from surveys.models import Question, Shop

THEMES_SHOWN = 8
QUOTES_SHOWN = 3
LATEST_SHOWN = 10
# A quote says something in a line or three: long enough to mean something, short enough to read.
QUOTABLE_LENGTH = (12, 400)


@dataclass(frozen=True)
class Quote:
    text: str
    language: str  # the comment's own, for lang= and the reader's eye
    case_id: int | None


@dataclass(frozen=True)
class ThemeLine:
    """One theme of the stretch: its mentions, how they read, and the stretch before's mentions."""

    theme: str
    mentions: int
    positive: int
    negative: int
    previous: int
    quotes: list[Quote]

    @property
    def label(self) -> str:
        return theme_label(self.theme)

    @property
    def change(self) -> int:
        return self.mentions - self.previous

    @property
    def negative_share(self) -> float:
        return 100 * self.negative / self.mentions if self.mentions else 0.0

    @property
    def positive_share(self) -> float:
        return 100 * self.positive / self.mentions if self.mentions else 0.0

    @property
    def negative_start(self) -> float:
        """Where the negative mentions begin on a bar 100 wide (positive from the start, negative to the end)."""
        return 100 - self.negative_share

    @property
    def mood(self) -> str:
        """How the theme is mostly talked about: negative, positive or mixed."""
        if self.negative > self.positive:
            return "negative"
        return "positive" if self.positive > self.negative else "mixed"


@dataclass(frozen=True)
class Talk:
    """The stretch's comments: how many, and what they were about."""

    comments: int
    themes: list[ThemeLine]


@dataclass(frozen=True)
class LatestComment:
    text: str
    language: str
    submitted_at: datetime
    score: int | None
    score_kind: str  # "nps" or "csat", the score said beside the comment; "" without one
    case_id: int | None


def _comments(shop: Shop, since: datetime, until: datetime) -> Q:
    return Q(response__shop=shop, submitted_at__gte=since, submitted_at__lt=until) & ~Q(text="")


def talk_of(shop: Shop, *, since: datetime, until: datetime, reader: str) -> Talk:
    """The themes of the comments answered from `since` to `until`, most mentioned first, each with
    the mentions of the equally long stretch just before and up to three quotes: in the reader's
    language first, then the most strongly felt, then the newest."""
    before = since - (until - since)
    in_range = Q(answer__submitted_at__gte=since)
    counts = (
        AnswerTheme.objects.filter(
            answer__response__shop=shop, answer__submitted_at__gte=before, answer__submitted_at__lt=until
        )
        .values("theme")
        .annotate(
            mentions=Count("pk", filter=in_range),
            positive=Count("pk", filter=in_range & Q(label=SentimentScore.Label.POSITIVE)),
            negative=Count("pk", filter=in_range & Q(label=SentimentScore.Label.NEGATIVE)),
            previous=Count("pk", filter=~in_range),
        )
        .filter(mentions__gt=0)
        .order_by("-mentions", "theme")[:THEMES_SHOWN]
    )
    found = list(counts)
    quotes = _quotes(shop, [row["theme"] for row in found], since=since, until=until, reader=reader)
    comments = Answer.objects.filter(_comments(shop, since, until)).count()
    return Talk(
        comments=comments,
        themes=[
            ThemeLine(
                theme=row["theme"],
                mentions=row["mentions"],
                positive=row["positive"],
                negative=row["negative"],
                previous=row["previous"],
                quotes=quotes.get(row["theme"], []),
            )
            for row in found
        ],
    )


def _quotes(shop: Shop, themes: list[str], *, since: datetime, until: datetime, reader: str) -> dict[str, list[Quote]]:
    """Up to QUOTES_SHOWN quotes a theme, ranked in the database (a window per theme), so a big
    shop's thousands of mentions never reach Python."""
    if not themes:
        return {}
    shortest, longest = QUOTABLE_LENGTH
    language = Coalesce("answer__sentiment__language", "answer__response__language")
    ranked = (
        AnswerTheme.objects.filter(
            answer__response__shop=shop,
            answer__submitted_at__gte=since,
            answer__submitted_at__lt=until,
            theme__in=themes,
        )
        .annotate(length=Length("answer__text"), language=language)
        .filter(length__gte=shortest, length__lte=longest)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("theme")],
                order_by=[
                    Case(When(language=reader, then=Value(0)), default=Value(1), output_field=IntegerField()).asc(),
                    Abs("polarity").desc(),
                    F("answer__submitted_at").desc(),
                    F("pk").desc(),
                ],
            )
        )
        # A few spare: the same words from two customers are quoted once.
        .filter(rank__lte=QUOTES_SHOWN * 3)
        .order_by("theme", "rank")
        .values_list("theme", "answer__text", "language", "answer__response__follow_up")
    )
    quotes: dict[str, list[Quote]] = {}
    for theme, text, comment_language, case_id in ranked:
        chosen = quotes.setdefault(theme, [])
        if len(chosen) < QUOTES_SHOWN and all(quote.text != text for quote in chosen):
            chosen.append(Quote(text=text, language=comment_language, case_id=case_id))
    return quotes


def latest_comments(shop: Shop, *, since: datetime, until: datetime) -> list[LatestComment]:
    """The newest comments of the stretch, newest first, each with the customer's NPS (else CSAT)
    and its case if it became one."""

    def lead(kind: str) -> Subquery:
        scored = Answer.objects.filter(response=OuterRef("response"), question__kind=kind, score__isnull=False)
        return Subquery(scored.values("score")[:1])

    rows = (
        Answer.objects.filter(_comments(shop, since, until))
        .annotate(
            nps=lead(Question.Kind.NPS),
            csat=lead(Question.Kind.CSAT),
            language=Coalesce("sentiment__language", "response__language"),
        )
        .order_by("-submitted_at", "-pk")
        .values_list("text", "language", "submitted_at", "nps", "csat", "response__follow_up")[:LATEST_SHOWN]
    )
    latest = []
    for text, language, submitted_at, nps, csat, case_id in rows:
        assert submitted_at is not None  # the database copies every response's time to its answers
        kind = "nps" if nps is not None else "csat" if csat is not None else ""
        latest.append(
            LatestComment(
                text=text,
                language=language,
                submitted_at=submitted_at,
                score=nps if nps is not None else csat,
                score_kind=kind,
                case_id=case_id,
            )
        )
    return latest
