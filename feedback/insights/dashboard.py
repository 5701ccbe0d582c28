"""The managers' dashboard at /dashboard/: the range's NPS, CSAT, CES, response rate and recovery,
the NPS trend drawn as an inline SVG, and what customers talk about (feedback.insights.talk), in
the staff member's language.

Every number is counted by feedback.insights.metrics and feedback.casework.recovery, one aggregate query each,
however many periods or groups the range has. Here the period tallies are only added up into
the range's, laid out as a chart and written as text. The page says how sure each number is:
NPS with its 95% margin, CSAT and CES with their 95% intervals, each with its denominator; a
change from the period before called significant only when the test says so, periods without
answers drawn as gaps, and a period that is not over marked "so far".
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.contrib.auth.views import redirect_to_login
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from feedback.accounts.staff import staff_language
from feedback.casework.recovery import Recovery, recovery
from feedback.insights.chart import Chart, nps_chart
from feedback.insights.choices import (
    CALENDAR_NAMES,
    CUT_NAMES,
    CUT_NOTES,
    FEW_ANSWERS,
    PERIOD_NAMES,
    Choices,
    DashboardForm,
    read_choices,
)
from feedback.insights.figures import (
    GroupLine,
    NpsFigure,
    PeriodLine,
    ScoreChange,
    as_of,
    ces_change,
    ces_total,
    change_of,
    count,
    csat_change,
    csat_total,
    day_name,
    duration,
    groups_of,
    mean_text,
    nps_total,
    one_decimal,
    percent,
    period_name,
    rate_total,
    share,
    whole,
)
from feedback.insights.metrics import ces_trend, csat_trend, nps_trend, response_rate_trend
from feedback.insights.periods import Calendar, Span, period_spans
from feedback.insights.talk import latest_comments, talk_of
from feedback.insights.tallies import CesTally, CsatTally, ResponseRate
from surveys.models import Shop
from surveys.queries import READS_NUMBERS, shops_of

# --- Everything on the page --------------------------------------------------------------------


@dataclass(frozen=True)
class Dashboard:
    choices: Choices
    range_name: str
    nps: NpsFigure
    # The latest period with answers, compared with the period before it.
    latest: PeriodLine | None
    latest_previous: NpsFigure | None
    latest_previous_name: str
    csat: CsatTally
    ces: CesTally
    # The latest period with answers against the one before, as for NPS.
    csat_change: ScoreChange | None
    ces_change: ScoreChange | None
    rate: ResponseRate
    recovery: Recovery
    periods: list[PeriodLine]
    chart: Chart | None
    groups: list[GroupLine] | None
    unfinished: bool

    @property
    def period_singular(self) -> str:
        return str(PERIOD_NAMES[self.choices.period][0])

    @property
    def jalali(self) -> bool:
        return self.choices.calendar == Calendar.JALALI

    @property
    def first_day(self) -> str:
        """The range's first day, in its calendar (beside the date picker, which knows only Gregorian)."""
        return day_name(self.choices.since, self.choices.calendar)

    @property
    def last_day(self) -> str:
        return day_name(self.choices.until, self.choices.calendar)

    @property
    def csat_text(self) -> str:
        return percent(self.csat.score)

    @property
    def csat_interval(self) -> str:
        """The range's 95% interval (Wilson): "62–85%"."""
        interval = self.csat.interval
        return "" if interval is None else f"{count(whole(interval[0]))}–{percent(interval[1])}"

    @property
    def ces_text(self) -> str:
        return mean_text(self.ces.score)

    @property
    def ces_margin(self) -> str:
        """The range's 95% margin of the mean (Student's t): "±0.4"; none below two answers."""
        margin = self.ces.margin_of_error
        return "" if margin is None else f"±{one_decimal(margin)}"

    @property
    def few_csat(self) -> bool:
        return 0 < self.csat.responses < FEW_ANSWERS

    @property
    def few_ces(self) -> bool:
        return 0 < self.ces.responses < FEW_ANSWERS

    @property
    def open_rate(self) -> str:
        return percent(self.rate.open_rate)

    @property
    def answer_rate(self) -> str:
        return percent(self.rate.answer_rate)

    @property
    def contacted_share(self) -> str:
        return share(self.recovery.contacted, self.recovery.cases)

    @property
    def resolved_share(self) -> str:
        return share(self.recovery.resolved, self.recovery.cases)

    @property
    def recovery_rate(self) -> str:
        rate = self.recovery.recovery_rate
        return percent(None if rate is None else 100 * rate)

    @property
    def to_first_contact(self) -> str:
        return duration(self.recovery.time_to_first_contact)

    @property
    def to_resolution(self) -> str:
        return duration(self.recovery.time_to_resolution)

    @property
    def cut_name(self) -> str:
        return str(CUT_NAMES[self.choices.cut]).lower() if self.choices.cut else ""

    @property
    def cut_note(self) -> str:
        return str(CUT_NOTES[self.choices.cut]) if self.choices.cut else ""

    @property
    def significant_count(self) -> int:
        return sum(1 for line in self.periods if line.change and line.change.significant)

    @property
    def empty_count(self) -> int:
        return sum(1 for line in self.periods if not line.nps.tally.responses)


def dashboard_of(shop: Shop, choices: Choices, *, now: datetime) -> Dashboard:
    """The page's numbers: four trends, the recovery and, with a cut, the NPS by group (a fixed
    number of queries, however many periods and groups)."""
    period, calendar, spans = choices.period, choices.calendar, choices.spans
    window: dict[str, Any] = {"since": choices.since, "until": choices.until, "period": period, "calendar": calendar}
    nps_rows = nps_trend(shop, **window)
    csat_rows = csat_trend(shop, **window)
    ces_rows = ces_trend(shop, **window)
    names = [period_name(span, period=period, calendar=calendar) for span in spans]
    lead_name = period_name(_span_before(spans[0], choices, shop), period=period, calendar=calendar)
    rate_rows = response_rate_trend(shop, **window)
    cases = recovery(shop.pk, since=spans[0].start, until=spans[-1].end)
    groups = groups_of(nps_trend(shop, **window, by=choices.cut)) if choices.cut else None

    periods = [
        PeriodLine(
            key=row.span.label,
            name=period_name(row.span, period=period, calendar=calendar),
            nps=NpsFigure(row.tally),
            change=change_of(row),
            previous_answered=bool(row.previous.responses),
            so_far=row.span.end > now,
        )
        for row in nps_rows
    ]
    latest_index = next((i for i in reversed(range(len(nps_rows))) if nps_rows[i].tally.responses), None)
    latest = latest_previous = None
    latest_previous_name = ""
    if latest_index is not None:
        latest, latest_previous = periods[latest_index], NpsFigure(nps_rows[latest_index].previous)
        latest_previous_name = period_name(
            _span_before(spans[latest_index], choices, shop), period=period, calendar=calendar
        )
    first, last = periods[0].name, periods[-1].name
    return Dashboard(
        choices=choices,
        range_name=first if len(periods) == 1 else _("%(first)s to %(last)s") % {"first": first, "last": last},
        nps=NpsFigure(nps_total(row.tally for row in nps_rows)),
        latest=latest,
        latest_previous=latest_previous,
        latest_previous_name=latest_previous_name,
        csat=csat_total(row.tally for row in csat_rows),
        ces=ces_total(row.tally for row in ces_rows),
        csat_change=csat_change(csat_rows, names, lead_name, now=now),
        ces_change=ces_change(ces_rows, names, lead_name, now=now),
        rate=rate_total(row.tally for row in rate_rows),
        recovery=cases,
        periods=periods,
        chart=nps_chart(periods, nps_rows, period=period, calendar=calendar),
        groups=groups,
        unfinished=spans[-1].end > now,
    )


def _span_before(span: Span, choices: Choices, shop: Shop) -> Span:
    day = span.first_day - timedelta(days=1)
    return period_spans(day, day, period=choices.period, calendar=choices.calendar, tz=shop.tz)[0]


# --- The view ----------------------------------------------------------------------------------


def shops_read_by(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Shop]:
    """The shops whose numbers a user may read: staff who are a shop's manager or admin (or a
    superuser). The page lets in just these; the top bar links to it for just these."""
    if not isinstance(user, User) or not user.is_staff:
        return Shop.objects.none()
    return shops_of(user, roles=READS_NUMBERS)


def may_read_numbers(user: AbstractBaseUser | AnonymousUser) -> bool:
    return shops_read_by(user).exists()


@require_GET
@staff_language
def dashboard_page(request: HttpRequest) -> HttpResponse:
    """Managers and shop admins only: agents get a 403, and another shop's slug is a 404."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), login_url=reverse("login"))
    shops = list(shops_read_by(request.user).order_by("name", "pk"))
    if not shops:
        return render(request, "work/dashboard.html", {"forbidden": True}, status=403)
    slug = request.GET.get("shop", "")
    shop = next((shop for shop in shops if shop.slug == slug), None) if slug else shops[0]
    if shop is None:
        raise Http404("no such shop")

    now = timezone.now()
    choices, notices = read_choices(request.GET, shop=shop, today=now.astimezone(shop.tz).date())
    # What customers said, up to now: a period not over yet is compared with as long a stretch before.
    since, until = choices.spans[0].start, min(choices.spans[-1].end, now)
    context = {
        "shop": shop,
        "shops": shops,
        "form": DashboardForm(initial=choices.initial, shops=shops),
        "notices": notices,
        "board": dashboard_of(shop, choices, now=now),
        "as_of": as_of(now, tz=shop.tz, calendar=choices.calendar),
        "calendar_name": CALENDAR_NAMES[choices.calendar],
        "period_names": PERIOD_NAMES[choices.period],
        "talk": talk_of(shop, since=since, until=until, reader=get_language() or "en"),
        "latest": latest_comments(shop, since=since, until=until),
    }
    return render(request, "work/dashboard.html", context)
