"""What a monthly report says, as plain data: built and tested without WeasyPrint.

Every figure is counted by the database (one aggregate query per section, none per row);
the template only lays the figures out. The month is a whole month of the shop's calendar
(Gregorian or Jalali) in the shop's time zone.
"""

import math
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Exists, F, Min, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, Length
from django.utils import timezone

from feedback.casework.recovery import Recovery, recovery
from feedback.insights.cuts import Cut
from feedback.insights.metrics import csat_trend, nps_trend, response_rate_trend
from feedback.insights.periods import Calendar, Period, Span, period_spans, periods_back
from feedback.insights.tallies import Z_95, CsatTally, NpsTally, ResponseRate, nps_change_z, nps_changed_significantly
from feedback.models import Answer, FollowUp, Response
from sentiment.models import AnswerTheme, SentimentScore
from surveys.models import Order, Question, Shop

# Months of NPS on the trend chart, the reported month last.
TREND_MONTHS = 12
# Themes are compared with the three months before: one month is too noisy a baseline.
THEME_BASELINE_MONTHS = 3
COMMENTS_SHOWN = 3
# A comment to quote is long enough to say something and short enough to read in a line or three.
QUOTABLE_LENGTH = (25, 400)
# Products get a row once they have this many NPS answers in the month: fewer say nothing.
PRODUCT_MIN_RESPONSES = 10
PRODUCTS_SHOWN = 10
CLOSED = (FollowUp.Status.RESOLVED, FollowUp.Status.NO_CONTACT)


def report_month(shop: Shop, day: date, calendar: Calendar) -> Span:
    """The whole month of the shop's calendar that `day` falls in, in the shop's time zone."""
    return period_spans(day, day, period=Period.MONTH, calendar=calendar, tz=shop.tz)[0]


def _month_start(shop: Shop, day: date, calendar: Calendar) -> datetime:
    return report_month(shop, day, calendar).start


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


@dataclass(frozen=True)
class ProductRow:
    product: str
    nps: NpsTally
    below_the_rest: bool  # significantly below the NPS of the shop's other products
    top_complaint: str | None  # the theme most often mentioned negatively


class Sla:
    MET = "met"
    LATE = "late"
    OVERDUE = "overdue"
    DUE = "due"
    NONE = "none"


# Flagged customers this valuable (their shop's top tenth by spend) are marked in the report.
TOP_CUSTOMERS = 10


@dataclass(frozen=True)
class FlaggedRow:
    case_id: int
    customer: str
    email: str
    order: str
    score: int | None
    comment: str
    reasons: list[str]  # FollowUp.Reason codes
    priority: int
    owner: str
    status: str  # FollowUp.Status code
    flagged_at: datetime
    time_to_first_contact: timedelta | None
    resolution: str
    goodwill: str
    came_back: bool | None  # None: not resolved (yet)
    sla: str
    top_percent: int | None = None  # in the shop's top this-many percent by lifetime spend, if among its best


@dataclass(frozen=True)
class SlaSummary:
    met: int
    late: int
    overdue: int
    due: int  # not contacted, not yet due

    @property
    def met_rate(self) -> float | None:
        """First contact within the SLA, over the cases whose SLA has been decided."""
        decided = self.met + self.late + self.overdue
        return 100.0 * self.met / decided if decided else None


@dataclass(frozen=True)
class Stage:
    """Where the shop stands by orders a month, and the share of its effort the retention
    literature suggests spending on customers it already has at that stage."""

    key: str
    effort: int | None  # percent; None: most of it


# (orders a month below which the stage applies, stage, share of effort on retention)
STAGES = (
    (10, "starting", 15),  # fewer than ~10 orders a month
    (100, "one_a_day", 30),  # about one a day
    (500, "ten_a_day", 50),  # about ten a day
    (None, "established", None),  # 500+ a month: most of it
)
NEW_SHOP = Stage("new", 0)  # no earlier month of orders: nobody to bring back yet


@dataclass(frozen=True)
class Retention:
    currency: str
    orders: int
    revenue: Decimal
    customers: int
    returning_customers: int  # who had ordered before this month's order
    returning_revenue: Decimal
    year_customers: int  # customers who ordered in the 12 months ending with this one
    year_repeat_customers: int  # of those, who ordered twice or more in them
    year_orders: int
    at_risk_customers: int  # customers with an open case after a detractor score
    revenue_at_risk: Decimal  # their lifetime spend
    stage: Stage

    @property
    def returning_revenue_share(self) -> float | None:
        return float(100 * self.returning_revenue / self.revenue) if self.revenue else None

    @property
    def repeat_purchase_rate(self) -> float | None:
        return 100.0 * self.year_repeat_customers / self.year_customers if self.year_customers else None

    @property
    def purchase_frequency(self) -> float | None:
        """Orders per customer over the 12 months."""
        return self.year_orders / self.year_customers if self.year_customers else None


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
        comments=(comments := _comments_in(shop, span.start, span.end)),
        themes=_themes(shop, span, calendar, comments),
        praise=_quotes(shop, span, SentimentScore.Label.POSITIVE),
        complaints=_quotes(shop, span, SentimentScore.Label.NEGATIVE),
        products=_products(shop, span, calendar, current.tally),
        flagged=(flagged := _flagged(shop, span, now)),
        sla=SlaSummary(**{key: sum(row.sla == key for row in flagged) for key in ("met", "late", "overdue", "due")}),
        recovery=recovery(shop.pk, since=span.start, until=span.end),
        retention=_retention(shop, span, calendar),
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


def _comments(shop: Shop, since: datetime, until: datetime) -> QuerySet[SentimentScore]:
    return SentimentScore.objects.filter(
        answer__response__shop=shop, answer__response__submitted_at__gte=since, answer__response__submitted_at__lt=until
    )


def _comments_in(shop: Shop, since: datetime, until: datetime) -> int:
    return _comments(shop, since, until).count()


def _themes(shop: Shop, span: Span, calendar: Calendar, comments: int) -> list[ThemeRow]:
    """The month's themes, most mentioned first, each compared with the months before.

    A theme is "rising" when its share of comments grew by more than chance explains: a
    two-proportion z-test (pooled) of this month's share against the baseline months', |z| > 1.96.
    """
    before = span.first_day - timedelta(days=1)
    baseline_start = _month_start(
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
    baseline_comments = _comments_in(shop, baseline_start, span.start)
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


def _quotes(shop: Shop, span: Span, label: str) -> list[Quote]:
    """The month's clearest comments of one feeling, the most strongly felt first; from
    different customers, of a length that reads well in a report."""
    nps = Answer.objects.filter(response=OuterRef("answer__response"), question__kind=Question.Kind.NPS)
    found = (
        _comments(shop, span.start, span.end)
        .filter(label=label)
        .annotate(length=Length("answer__text"))
        .filter(length__gte=QUOTABLE_LENGTH[0], length__lte=QUOTABLE_LENGTH[1])
        .annotate(score=Subquery(nps.values("score")[:1]))
        .order_by(F("polarity").desc() if label == SentimentScore.Label.POSITIVE else F("polarity").asc(), "pk")
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


def _products(shop: Shop, span: Span, calendar: Calendar, shop_nps: NpsTally) -> list[ProductRow]:
    """The month's products with enough answers to say something, the most answered first;
    each compared with the rest of the shop (the shop's answers without this product's)."""
    rows = [
        row
        for row in nps_trend(shop, since=span.first_day, until=span.first_day, calendar=calendar, by=Cut.PRODUCT)
        if row.group is not None and row.tally.responses >= PRODUCT_MIN_RESPONSES
    ]
    rows = sorted(rows, key=lambda row: (-row.tally.responses, row.group_label))[:PRODUCTS_SHOWN]
    complaints = _product_complaints(shop, span, [str(row.group) for row in rows])
    result = []
    for row in rows:
        rest = NpsTally(
            promoters=max(shop_nps.promoters - row.tally.promoters, 0),
            passives=max(shop_nps.passives - row.tally.passives, 0),
            detractors=max(shop_nps.detractors - row.tally.detractors, 0),
        )
        z = nps_change_z(row.tally, rest)
        result.append(
            ProductRow(
                product=row.group_label,
                nps=row.tally,
                below_the_rest=z is not None and z < -Z_95,
                top_complaint=complaints.get(str(row.group)),
            )
        )
    return result


def _product_complaints(shop: Shop, span: Span, products: list[str]) -> dict[str, str]:
    """For each product (by the key the product cut uses: SKU, else name), its most mentioned
    negative theme. Grouped by SKU and name in SQL and keyed in Python: filtering on the key
    as an expression made PostgreSQL join every line to every mention (minutes at 10,000)."""
    if not products:
        return {}
    line = "answer__response__invitation__order__lines__"
    counts = (
        AnswerTheme.objects.filter(
            answer__response__shop=shop,
            answer__response__submitted_at__gte=span.start,
            answer__response__submitted_at__lt=span.end,
            label=SentimentScore.Label.NEGATIVE,
        )
        .values("theme", sku=F(f"{line}sku"), name=F(f"{line}product_name"))
        .annotate(n=Count("pk", distinct=True))
        .order_by()
    )
    wanted = set(products)
    tally: dict[str, Counter[str]] = {}
    for row in counts:
        key = row["sku"] or row["name"]
        if key in wanted:
            tally.setdefault(key, Counter())[row["theme"]] += row["n"]
    # The most mentioned; a tie goes to the theme first in the alphabet, so the report is stable.
    return {key: min(themes.items(), key=lambda item: (-item[1], item[0]))[0] for key, themes in tally.items()}


def _flagged(shop: Shop, span: Span, now: datetime) -> list[FlaggedRow]:
    """Every customer flagged in the month, in the order they were flagged."""
    ordered_again = Order.objects.counted().filter(
        shop_id=OuterRef("shop_id"),
        customer_id=OuterRef("response__customer_id"),
        placed_at__gt=OuterRef("resolved_at"),
    )
    scored = Answer.objects.filter(question__kind__in=[Question.Kind.NPS, Question.Kind.COMMENT]).select_related(
        "question"
    )
    cases = (
        FollowUp.objects.filter(shop=shop, created_at__gte=span.start, created_at__lt=span.end)
        .select_related("response__customer", "response__invitation__order", "assignee")
        .prefetch_related(Prefetch("response__answers", queryset=scored, to_attr="scored_answers"))
        .annotate(came_back=Exists(ordered_again))
        .order_by("created_at", "pk")
    )
    return [_flagged_row(case, now) for case in cases]


def _flagged_row(case: FollowUp, now: datetime) -> FlaggedRow:
    response = case.response
    answers = {answer.question.kind: answer for answer in response.scored_answers}  # type: ignore[attr-defined]
    nps = answers.get(Question.Kind.NPS)
    comment = answers.get(Question.Kind.COMMENT)
    customer = response.customer
    return FlaggedRow(
        case_id=case.pk,
        customer=customer.name or customer.email or customer.phone,
        email=customer.email,
        order=response.invitation.order.display_number,
        score=nps.score if nps else None,
        comment=comment.text if comment else "",
        reasons=list(case.reasons),
        priority=case.priority,
        owner=case.assignee.get_full_name() or case.assignee.get_username() if case.assignee else "",
        status=case.status,
        flagged_at=case.created_at,
        time_to_first_contact=case.first_contact_at - case.created_at if case.first_contact_at else None,
        resolution=case.resolution,
        goodwill=case.goodwill,
        came_back=case.came_back if case.status == FollowUp.Status.RESOLVED else None,  # type: ignore[attr-defined]
        sla=_sla(case, now),
        top_percent=case.customer_rank if case.customer_rank and case.customer_rank <= TOP_CUSTOMERS else None,
    )


def _sla(case: FollowUp, now: datetime) -> str:
    if case.due_at is None:
        return Sla.NONE
    if case.first_contact_at is not None:
        return Sla.MET if case.first_contact_at <= case.due_at else Sla.LATE
    return Sla.OVERDUE if case.due_at < now or case.is_closed else Sla.DUE


def _retention(shop: Shop, span: Span, calendar: Calendar) -> Retention:
    """Who buys again: counted over orders not cancelled, in the shop's main currency."""
    orders = Order.objects.counted().filter(shop=shop, cancelled_at__isnull=True)
    currency = _main_currency(shop, span)
    if currency:
        orders = orders.filter(currency=currency)
    earlier = Order.objects.counted().filter(customer_id=OuterRef("customer_id"), placed_at__lt=OuterRef("placed_at"))
    month = (
        orders.filter(placed_at__gte=span.start, placed_at__lt=span.end)
        .annotate(returning=Exists(earlier))
        .aggregate(
            orders=Count("pk"),
            revenue=Coalesce(Sum("total"), Decimal(0)),
            customers=Count("customer_id", distinct=True),
            returning_customers=Count("customer_id", distinct=True, filter=Q(returning=True)),
            returning_revenue=Coalesce(Sum("total", filter=Q(returning=True)), Decimal(0)),
        )
    )
    year_start = _month_start(
        shop, periods_back(span.first_day, TREND_MONTHS, period=Period.MONTH, calendar=calendar), calendar
    )
    per_customer = (
        orders.filter(placed_at__gte=year_start, placed_at__lt=span.end)
        .values("customer_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    year = Counter(min(row["n"], 2) for row in per_customer)
    year_orders = orders.filter(placed_at__gte=year_start, placed_at__lt=span.end).count()
    at_risk = (
        FollowUp.objects.filter(FollowUp.has_reason(FollowUp.Reason.DETRACTOR), shop=shop)
        .exclude(status__in=CLOSED)
        .values("response__customer_id")
    )
    risk = orders.filter(customer_id__in=at_risk).aggregate(
        customers=Count("customer_id", distinct=True), spend=Coalesce(Sum("total"), Decimal(0))
    )
    first_order = Order.objects.counted().filter(shop=shop).aggregate(first=Min("placed_at"))["first"]
    return Retention(
        currency=currency,
        orders=month["orders"],
        revenue=month["revenue"],
        customers=month["customers"],
        returning_customers=month["returning_customers"],
        returning_revenue=month["returning_revenue"],
        year_customers=year[1] + year[2],
        year_repeat_customers=year[2],
        year_orders=year_orders,
        at_risk_customers=risk["customers"],
        revenue_at_risk=risk["spend"],
        stage=stage_of(month["orders"], has_history=first_order is not None and first_order < span.start),
    )


def _main_currency(shop: Shop, span: Span) -> str:
    """The currency most of the month's orders (or, without any, the shop's orders) are in."""
    orders = Order.objects.counted().filter(shop=shop)
    for chosen in (orders.filter(placed_at__gte=span.start, placed_at__lt=span.end), orders):
        found = chosen.values("currency").annotate(n=Count("pk")).order_by("-n", "currency").first()
        if found:
            return str(found["currency"])
    return ""


def stage_of(orders_a_month: int, *, has_history: bool) -> Stage:
    if not has_history:
        return NEW_SHOP
    for below, key, effort in STAGES:
        if below is None or orders_a_month < below:
            return Stage(key, effort)
    raise AssertionError("the last stage has no upper bound")
