"""The managers' numbers over the API: NPS for a span, and NPS, CSAT, CES and response-rate trends."""

from datetime import date, datetime, time, timedelta
from typing import Any

from ninja import Query, Router

from feedback.insights import metrics, periods, tallies
from feedback.insights.metrics import Row
from feedback.insights.schemas import (
    CesRowOut,
    CsatRowOut,
    NpsOut,
    NpsRowOut,
    PeriodQuery,
    ResponseRateRowOut,
    TrendQuery,
)
from feedback.insights.tallies import CesTally, CsatTally, NpsTally, ResponseRate
from surveys.models import Shop
from surveys.requests import ShopRequest

router = Router(tags=["metrics"])

# Without `since`, a trend shows this many periods up to `until`.
DEFAULT_PERIODS = 12


@router.get("/metrics/nps", response=NpsOut)
def get_nps(request: ShopRequest, period: Query[PeriodQuery]) -> dict[str, object]:
    """NPS over answers submitted from `since` to `until` (inclusive days in the shop's
    time zone; default: the last 30 days). The denominator is `responses`."""
    shop = request.auth
    until = period.until or datetime.now(shop.tz).date()
    since = period.since or until - timedelta(days=29)
    tally = tallies.nps_tally(
        shop,
        since=datetime.combine(since, time.min, tzinfo=shop.tz),
        until=datetime.combine(until + timedelta(days=1), time.min, tzinfo=shop.tz),
    )
    return {
        "since": since,
        "until": until,
        "nps": None if tally.score is None else round(tally.score, 1),
        "margin_of_error": None if tally.margin_of_error is None else round(tally.margin_of_error, 1),
        "responses": tally.responses,
        "promoters": tally.promoters,
        "passives": tally.passives,
        "detractors": tally.detractors,
    }


@router.get("/metrics/nps/trend", response=list[NpsRowOut])
def get_nps_trend(request: ShopRequest, query: Query[TrendQuery]) -> list[Row[NpsTally]]:
    """NPS per period, optionally cut `by` a group, each with its margin of error and whether it
    changed significantly since the period before. The denominator is `responses`: answered NPS
    questions, placed in the period their response was submitted in."""
    return metrics.nps_trend(request.auth, **_trend_options(request.auth, query))


@router.get("/metrics/csat/trend", response=list[CsatRowOut])
def get_csat_trend(request: ShopRequest, query: Query[TrendQuery]) -> list[Row[CsatTally]]:
    """CSAT per period: the percentage of 4s and 5s over answered CSAT questions, with its 95%
    interval (Wilson) and whether it changed significantly since the period before."""
    return metrics.csat_trend(request.auth, **_trend_options(request.auth, query))


@router.get("/metrics/ces/trend", response=list[CesRowOut])
def get_ces_trend(request: ShopRequest, query: Query[TrendQuery]) -> list[Row[CesTally]]:
    """CES per period: the mean of 1–7 over answered CES questions, with its 95% margin (Student's
    t) and whether it changed significantly since the period before (Welch's t-test)."""
    return metrics.ces_trend(request.auth, **_trend_options(request.auth, query))


@router.get("/metrics/response-rate/trend", response=list[ResponseRateRowOut])
def get_response_rate_trend(request: ShopRequest, query: Query[TrendQuery]) -> list[Row[ResponseRate]]:
    """Invitations sent in each period, and how many of them have been opened and answered.
    A recent period's rates still grow while its links are open."""
    return metrics.response_rate_trend(request.auth, **_trend_options(request.auth, query))


def _trend_options(shop: Shop, query: TrendQuery) -> dict[str, Any]:
    today = datetime.now(shop.tz).date()
    until: date = query.until or max(today, query.since or today)
    since = query.since or periods.periods_back(until, DEFAULT_PERIODS, period=query.period, calendar=query.calendar)
    return {"since": since, "until": until, "period": query.period, "calendar": query.calendar, "by": query.by}
