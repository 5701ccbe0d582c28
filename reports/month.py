"""The report's month: a whole month of the shop's calendar (Gregorian or Jalali) in the shop's
time zone, the year of months its trend shows, and the currency its money figures are in."""

from datetime import date, datetime

from django.db.models import Count

from feedback.insights.periods import Calendar, Period, Span, period_spans
from surveys.models import Order, Shop

TREND_MONTHS = 12


def report_month(shop: Shop, day: date, calendar: Calendar) -> Span:
    """The whole month of the shop's calendar that `day` falls in, in the shop's time zone."""
    return period_spans(day, day, period=Period.MONTH, calendar=calendar, tz=shop.tz)[0]


def month_start(shop: Shop, day: date, calendar: Calendar) -> datetime:
    return report_month(shop, day, calendar).start


def main_currency(shop: Shop, span: Span) -> str:
    """The currency most of the month's orders (or, without any, the shop's orders) are in."""
    orders = Order.objects.counted().filter(shop=shop)
    for chosen in (orders.filter(placed_at__gte=span.start, placed_at__lt=span.end), orders):
        found = chosen.values("currency").annotate(n=Count("pk")).order_by("-n", "currency").first()
        if found:
            return str(found["currency"])
    return ""
