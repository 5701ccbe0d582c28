from datetime import datetime, time, timedelta

from django.http import HttpRequest
from ninja import Query, Router

from feedback.domain import nps_tally
from feedback.schemas import NpsOut, PeriodQuery

router = Router(tags=["metrics"])


@router.get("/metrics/nps", response=NpsOut)
def get_nps(request: HttpRequest, period: Query[PeriodQuery]) -> dict[str, object]:
    """NPS over answers submitted from `since` to `until` (inclusive days in the shop's
    time zone; default: the last 30 days). The denominator is `responses`."""
    shop = request.auth  # type: ignore[attr-defined]
    until = period.until or datetime.now(shop.tz).date()
    since = period.since or until - timedelta(days=29)
    tally = nps_tally(
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
