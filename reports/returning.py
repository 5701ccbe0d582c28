"""The report's retention: whether customers ordered again, by the shop's stage (a new shop has
nobody to bring back yet)."""

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Exists, Min, OuterRef, Q, Sum
from django.db.models.functions import Coalesce

from feedback.insights.periods import Calendar, Period, Span, periods_back
from feedback.models import FollowUp
from reports.flagged import CLOSED
from reports.month import TREND_MONTHS, main_currency, month_start
from surveys.models import Order, Shop


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


def retention_of(shop: Shop, span: Span, calendar: Calendar) -> Retention:
    """Who buys again: counted over orders not cancelled, in the shop's main currency."""
    orders = Order.objects.counted().filter(shop=shop, cancelled_at__isnull=True)
    currency = main_currency(shop, span)
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
    year_start = month_start(
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


def stage_of(orders_a_month: int, *, has_history: bool) -> Stage:
    if not has_history:
        return NEW_SHOP
    for below, key, effort in STAGES:
        if below is None or orders_a_month < below:
            return Stage(key, effort)
    raise AssertionError("the last stage has no upper bound")
