"""What a monthly report says, as plain data: built and tested without WeasyPrint.

Every figure is counted by the database (one aggregate query per section, none per row);
the template only lays the figures out. The month is a whole month of the shop's calendar
(Gregorian or Jalali) in the shop's time zone. The sections' figures are in reports.said,
reports.products, reports.flagged and reports.returning."""

from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Count, QuerySet
from django.utils import timezone

from feedback.casework.recovery import Recovery, recovery
from feedback.insights.metrics import csat_trend, nps_trend, response_rate_trend
from feedback.insights.periods import Calendar, Period, Span, periods_back
from feedback.insights.tallies import CsatTally, NpsTally, ResponseRate, nps_changed_significantly
from feedback.models import Answer, Response
from reports.flagged import FlaggedRow, SlaSummary, flagged_customers
from reports.month import TREND_MONTHS, report_month
from reports.products import ProductRow, product_rows
from reports.returning import Retention, retention_of
from reports.said import Quote, ThemeRow, comments_in, quotes_of, theme_rows
from sentiment.models import SentimentScore
from surveys.models import Question, Shop

# Months of NPS on the trend chart, the reported month last.
# --- The sections ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """How the NPS moved from an earlier period, and whether more than chance explains it."""

    current: NpsTally
    previous: NpsTally

    @property
    def points(self) -> float | None:
        if self.current.score is None or self.previous.score is None:
            return None
        return self.current.score - self.previous.score

    @property
    def size(self) -> float | None:
        """How far it moved, without its sign: for "down 39 points" (the word says which way)."""
        return abs(self.points) if self.points is not None else None

    @property
    def significant(self) -> bool | None:
        return nps_changed_significantly(self.current, self.previous)


@dataclass(frozen=True)
class Headline:
    nps: NpsTally
    vs_previous_month: Change
    vs_last_year: Change
    csat: CsatTally
    responses: int  # surveys answered in the month (any question)
    funnel: ResponseRate  # the invitations sent in the month, and what became of them


@dataclass(frozen=True)
class TrendPoint:
    label: str  # "2026-10", "1405-08"
    first_day: date
    nps: NpsTally


@dataclass(frozen=True)
class MonthlyReport:
    shop_name: str
    shop_slug: str
    brand_color: str
    timezone: str
    language: str
    calendar: Calendar
    month: Span
    generated_at: datetime
    headline: Headline
    trend: list[TrendPoint]
    distribution: list[int]  # answers of 0, 1, … 10
    comments: int  # scored comments in the month
    themes: list[ThemeRow]
    praise: list[Quote]
    complaints: list[Quote]
    products: list[ProductRow]
    flagged: list[FlaggedRow]
    sla: SlaSummary
    recovery: Recovery
    retention: Retention


def monthly_report_data(
    shop: Shop, *, month: date, calendar: Calendar = Calendar.GREGORIAN, language: str = "", now: datetime | None = None
) -> MonthlyReport:
    """Everything the report of the month that `month` falls in says."""
    now = now or timezone.now()
    span = report_month(shop, month, calendar)
    year_ago = periods_back(span.first_day, TREND_MONTHS, period=Period.MONTH, calendar=calendar)
    # One query gives the 12 months, each with the month before: the first one's is last year's.
    trend_rows = nps_trend(shop, since=year_ago, until=span.first_day, period=Period.MONTH, calendar=calendar)
    current = trend_rows[-1]
    return MonthlyReport(
        shop_name=shop.display_name,
        shop_slug=shop.slug,
        brand_color=shop.brand_color,
        timezone=shop.timezone,
        language=language or shop.default_language,
        calendar=calendar,
        month=span,
        generated_at=now,
        headline=_headline(shop, span, calendar, current.tally, current.previous, trend_rows[0].previous),
        trend=[TrendPoint(row.period_label, row.period_start, row.tally) for row in trend_rows],
        distribution=_distribution(shop, span),
        comments=(comments := comments_in(shop, span.start, span.end)),
        themes=theme_rows(shop, span, calendar, comments),
        praise=quotes_of(shop, span, SentimentScore.Label.POSITIVE, language=language or shop.default_language),
        complaints=quotes_of(shop, span, SentimentScore.Label.NEGATIVE, language=language or shop.default_language),
        products=product_rows(shop, span, calendar, current.tally),
        flagged=(flagged := flagged_customers(shop, span, now)),
        sla=SlaSummary(**{key: sum(row.sla == key for row in flagged) for key in ("met", "late", "overdue", "due")}),
        recovery=recovery(shop.pk, since=span.start, until=span.end),
        retention=retention_of(shop, span, calendar),
    )


def _headline(
    shop: Shop, span: Span, calendar: Calendar, nps: NpsTally, previous: NpsTally, last_year: NpsTally
) -> Headline:
    [csat] = csat_trend(shop, since=span.first_day, until=span.first_day, calendar=calendar)
    [funnel] = response_rate_trend(shop, since=span.first_day, until=span.first_day, calendar=calendar)
    responses = Response.objects.filter(shop=shop, submitted_at__gte=span.start, submitted_at__lt=span.end).count()
    return Headline(
        nps=nps,
        vs_previous_month=Change(nps, previous),
        vs_last_year=Change(nps, last_year),
        csat=csat.tally,
        responses=responses,
        funnel=funnel.tally,
    )


def _nps_answers(shop: Shop, since: datetime, until: datetime) -> QuerySet[Answer]:
    return Answer.objects.filter(
        response__shop=shop,
        response__submitted_at__gte=since,
        response__submitted_at__lt=until,
        question__kind=Question.Kind.NPS,
        score__isnull=False,
    )


def _distribution(shop: Shop, span: Span) -> list[int]:
    counts = dict(_nps_answers(shop, span.start, span.end).values_list("score").annotate(n=Count("pk")).order_by())
    return [counts.get(score, 0) for score in range(11)]
