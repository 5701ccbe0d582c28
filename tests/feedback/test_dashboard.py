"""The managers' dashboard: the numbers it shows are the metrics' numbers, the chart draws
what there is (gaps where there is nothing), and only managers see it."""

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.test import Client

from feedback.casework.flagging import flag_response
from feedback.casework.recovery import recovery
from feedback.insights.chart import nps_axis
from feedback.insights.choices import read_choices
from feedback.insights.cuts import Cut
from feedback.insights.figures import nps_total
from feedback.insights.metrics import ces_trend, csat_trend, nps_trend, response_rate_trend
from feedback.insights.periods import Calendar, Period
from feedback.insights.tallies import NpsTally
from feedback.models import Answer, FollowUp
from surveys.models import Membership, Question
from tests.factories import InvitationFactory, OrderFactory, ResponseFactory, SurveyFactory

# Dates and months against the clock: CI runs these on the days calendars turn.
pytestmark = pytest.mark.calendar

TEHRAN = ZoneInfo("Asia/Tehran")
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=TEHRAN)
TODAY = NOW.date()
# The default range on NOW: the last 12 Gregorian months, December 2025 to November 2026.
DEFAULT_SINCE = date(2025, 12, 1)


def tehran(*args: int) -> datetime:
    return datetime(*args, tzinfo=TEHRAN)


@pytest.fixture(autouse=True)
def _frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def survey(db):
    return SurveyFactory(shop__timezone="Asia/Tehran", shop__name="Tehran Books")


@pytest.fixture
def shop(survey):
    return survey.shop


@pytest.fixture
def manager(shop, staff_of) -> Client:
    client = Client()
    client.force_login(staff_of(shop))
    return client


def scores(survey, at: datetime, *values: int, **invitation: object) -> None:
    for value in values:
        ResponseFactory(
            invitation__survey=survey,
            submitted_at=at,
            score=value,
            **{f"invitation__{k}": v for k, v in invitation.items()},
        )


def scored(survey, kind: str, score: int, *, at: datetime) -> None:
    question, _ = Question.objects.get_or_create(survey=survey, kind=kind, defaults={"text": kind})
    Answer.objects.create(
        response=ResponseFactory(invitation__survey=survey, submitted_at=at), question=question, score=score
    )


def figure(page: str, name: str) -> str:
    match = re.search(rf'data-figure="{name}">([^<]*)<', page)
    assert match, f"no figure {name} on the page"
    return match.group(1)


def attributes(page: str, name: str) -> list[str]:
    return re.findall(rf'{name}="([^"]*)"', page)


def notices(page: str) -> list[str]:
    block = re.search(r'<div class="notice" role="status">(.*?)</div>', page, re.S)
    return re.findall(r"<p>(.*?)</p>", block.group(1)) if block else []


def get(client: Client, **params: str) -> str:
    response = client.get("/dashboard/", params)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


# --- The numbers ---------------------------------------------------------------------------------


def test_headline_numbers_are_the_metrics_numbers_over_the_range(manager, survey, shop):
    scores(survey, tehran(2026, 9, 10), 10, 10, 0, 0)
    scores(survey, tehran(2026, 11, 3), 10, 10, 10, 10, 10, 10, 8, 8, 3, 3)
    scores(survey, tehran(2025, 11, 20), 0, 0, 0)  # the month before the range: not counted
    for score in (5, 4, 4, 2):
        scored(survey, Question.Kind.CSAT, score, at=tehran(2026, 10, 1))
    for score in (7, 6, 2):
        scored(survey, Question.Kind.CES, score, at=tehran(2026, 6, 1))
    for opened, answered in ((True, True), (True, False), (False, False), (False, False)):
        InvitationFactory(
            survey=survey,
            status="sent",
            sent_at=tehran(2026, 8, 1),
            opened_at=tehran(2026, 8, 2) if opened else None,
            answered_at=tehran(2026, 8, 2) if answered else None,
        )

    page = get(manager)

    window = {"since": DEFAULT_SINCE, "until": TODAY}
    nps = nps_total(row.tally for row in nps_trend(shop, **window))
    assert nps == NpsTally(promoters=8, passives=2, detractors=4)
    assert nps.margin_of_error is not None
    assert figure(page, "nps") == "+29"  # 100 × (8 − 4) / 14 = 28.6
    assert figure(page, "nps-margin") == f"±{int(nps.margin_of_error + 0.5)}"
    assert figure(page, "nps-answers") == "14"
    assert (figure(page, "promoters"), figure(page, "passives"), figure(page, "detractors")) == ("57%", "14%", "29%")
    [csat] = [sum(row.tally.satisfied for row in csat_trend(shop, **window))]
    assert (csat, figure(page, "csat"), figure(page, "csat-answers")) == (3, "75%", "4")
    assert [row.tally.score for row in ces_trend(shop, **window) if row.tally.responses] == [5.0]
    assert (figure(page, "ces"), figure(page, "ces-answers")) == ("5.0", "3")
    rates = [row.tally for row in response_rate_trend(shop, **window) if row.tally.sent]
    assert [(rate.sent, rate.opened, rate.answered) for rate in rates] == [(4, 2, 1)]
    assert (figure(page, "sent"), figure(page, "opened"), figure(page, "answered")) == ("4", "2", "1")
    assert figure(page, "answer-rate") == "25%"
    assert "Showing <strong>Dec 2025 to Nov 2026</strong>: 12 months, Gregorian calendar, the default range." in page
    assert "The last month is not over yet" in page


def test_csat_shows_its_wilson_interval_and_a_significant_change(manager, survey):
    for score in (5, 4) + (2,) * 8:
        scored(survey, Question.Kind.CSAT, score, at=tehran(2026, 10, 10))  # 2 of 10 satisfied
    for score in (5,) * 9 + (1,):
        scored(survey, Question.Kind.CSAT, score, at=tehran(2026, 11, 10))  # 9 of 10

    page = get(manager)

    # The range: 11 of 20, p = 0.55; Wilson with z² = 3.8416: 1 + z²/n = 1.19208, centre
    # (0.55 + 0.09604) / 1.19208 = 0.541944, half 1.96 · √(0.0123750 + 0.0024010) / 1.19208 = 0.199862.
    assert (figure(page, "csat"), figure(page, "csat-answers"), figure(page, "csat-interval")) == (
        "55%",
        "20",
        "34–74%",
    )
    # November against October: p̄ = 0.55, z = 0.7 / √(0.2475 · 0.2) = 3.146 > 1.96.
    assert attributes(page, "data-csat-change") == ["significant"]
    assert (
        "Latest month, Nov 2026 (so far): <strong>90%</strong>, against 20% in Oct 2026. "
        "Up 70 points: a significant change." in page
    )


def test_ces_shows_its_t_margin_and_a_change_within_chance(manager, survey):
    for score in (3, 5, 5, 7):
        scored(survey, Question.Kind.CES, score, at=tehran(2026, 10, 10))
    for score in (2, 4, 4, 6):
        scored(survey, Question.Kind.CES, score, at=tehran(2026, 11, 10))

    page = get(manager)

    # The range: 8 answers, mean 36/8 = 4.5, s² = 18/7 = 2.571429, se = √(2.571429/8) = 0.566947;
    # t(0.975, 7) = 2.36462: margin 1.3406.
    assert (figure(page, "ces"), figure(page, "ces-margin"), figure(page, "ces-answers")) == ("4.5", "±1.3", "8")
    # Welch: t = 1 / √(2.6667/4 + 2.6667/4) = 0.866 on 6 degrees of freedom, below t(0.975, 6) = 2.447.
    assert attributes(page, "data-ces-change") == ["not-significant"]
    assert (
        "Latest month, Nov 2026 (so far): <strong>4.0</strong>, against 5.0 in Oct 2026. "
        "Down 1.0: within chance, not a significant change." in page
    )


def test_csat_and_ces_without_a_period_before_to_compare_say_so(manager, survey):
    scored(survey, Question.Kind.CSAT, 5, at=tehran(2026, 11, 10))
    for score in (6, 7):
        scored(survey, Question.Kind.CES, score, at=tehran(2026, 11, 10))
    scored(survey, Question.Kind.CES, 7, at=tehran(2026, 10, 10))  # one answer: no spread to test

    page = get(manager)

    assert attributes(page, "data-csat-change") == ["none"]
    assert attributes(page, "data-ces-change") == ["none"]
    assert "Oct 2026 had too few answers to compare with." in page
    assert figure(page, "csat-interval") == "21–100%"  # 1 of 1: (1 + 1.9208) / 4.8416 ± 1.96 · 0.98 / 4.8416


def test_an_empty_shop_says_so_instead_of_zeros(manager):
    page = get(manager)

    assert figure(page, "nps") == "—"
    assert "No NPS answers in this range" in page
    assert figure(page, "csat") == "—"
    assert "data-csat-change" not in page
    assert "data-ces-margin" not in page
    assert "data-chart" not in page
    assert "nothing to draw" in page


def test_recovery_counts_the_cases_flagged_in_the_range(manager, survey, shop):
    def case(*, contacted: timedelta | None = None, resolved: timedelta | None = None) -> FollowUp:
        follow_up = flag_response(ResponseFactory(invitation__survey=survey, score=1))
        assert follow_up is not None
        FollowUp.objects.filter(pk=follow_up.pk).update(
            first_contact_at=NOW + contacted if contacted else None,
            resolved_at=NOW + resolved if resolved else None,
            status=FollowUp.Status.RESOLVED if resolved else FollowUp.Status.OPEN,
        )
        return follow_up

    case()
    case(contacted=timedelta(hours=2))
    came_back = case(contacted=timedelta(hours=4), resolved=timedelta(days=2))
    case(contacted=timedelta(hours=6), resolved=timedelta(days=4))
    OrderFactory(shop=shop, customer=came_back.response.customer, placed_at=NOW + timedelta(days=5))

    page = get(manager)

    expected = recovery(shop.pk, since=tehran(2025, 12, 1), until=tehran(2026, 12, 1))
    assert (expected.cases, expected.contacted, expected.resolved, expected.came_back) == (4, 3, 2, 1)
    assert [figure(page, name) for name in ("cases", "contacted", "resolved", "came-back", "recovery-rate")] == [
        "4",
        "3",
        "2",
        "1",
        "50%",
    ]
    assert figure(page, "to-contact") == "4.0 h"  # (2 + 4 + 6) / 3
    assert figure(page, "to-resolution") == "3.0 days"


def test_groups_table_shows_each_groups_nps_margin_and_answers(manager, survey, shop):
    scores(survey, tehran(2026, 10, 5), 10, 10, 9, 3, channel="email")
    scores(survey, tehran(2026, 11, 5), 10, 6, channel="email")
    scores(survey, tehran(2026, 11, 5), 2, 8, channel="sms")

    page = get(manager, by="channel")

    rows = nps_trend(shop, since=DEFAULT_SINCE, until=TODAY, by=Cut.CHANNEL)
    email = nps_total(row.tally for row in rows if row.group == "email")
    assert email == NpsTally(promoters=4, passives=0, detractors=2)
    assert email.margin_of_error is not None
    assert '<h2 id="groups-title">NPS by channel</h2>' in page
    assert attributes(page, "data-group") == ["email", "sms"]
    email_row = re.search(r'data-group="email">(.*?)</tr>', page, re.S)
    assert email_row
    assert re.findall(r'<td class="num">([^<]*)</td>', email_row.group(1))[:3] == [
        "+33",
        f"±{int(email.margin_of_error + 0.5)}",
        "6",
    ]
    assert "few answers" in email_row.group(1)


# --- The chart -----------------------------------------------------------------------------------


def test_chart_has_a_point_per_period_with_answers_and_a_gap_where_there_are_none(manager, survey):
    scores(survey, tehran(2026, 8, 10), 10, 0)
    scores(survey, tehran(2026, 9, 10), 10, 10)
    scores(survey, tehran(2026, 11, 10), 9)

    page = get(manager, since="2026-08-01", until="2026-11-25")

    assert attributes(page, "data-point") == ["2026-08", "2026-09", "2026-11"]
    assert attributes(page, "data-gap") == ["2026-10"]
    # August–September is one line over its band; November stands alone, with its margin as a bar.
    assert page.count("data-line") == 1
    assert page.count('class="band"') == 1 + 1  # the chart's band, and the legend's
    assert page.count('class="whisker"') == 1
    assert re.findall(r"data-x-label>([^<]*)<", page) == ["Aug", "Sep", "Oct", "Nov"]
    assert '<tr data-period="2026-10">' in page
    october = re.search(r'data-period="2026-10">(.*?)</tr>', page, re.S)
    assert october
    assert "No answers" in october.group(1)


def test_periods_in_a_row_without_answers_make_one_gap(manager, survey):
    scores(survey, tehran(2026, 10, 27), 10)  # the week of Monday 26 October
    scores(survey, tehran(2026, 11, 24), 0)  # the week of Monday 23 November

    page = get(manager, period="week", since="2026-10-26", until="2026-11-25")

    assert attributes(page, "data-point") == ["2026-10-26", "2026-11-23"]
    assert list(zip(attributes(page, "data-gap"), attributes(page, "data-gap-periods"), strict=True)) == [
        ("2026-11-02", "3")
    ]
    assert "<title>No answers: week of 2 Nov 2026 to week of 16 Nov 2026</title>" in page
    assert page.count('class="whisker"') == 2  # each week with answers stands alone


def test_chart_axis_keeps_zero_and_every_margin_in_view():
    assert nps_axis(20.0, 60.0) == (0, 60, 10)
    assert nps_axis(-35.0, 12.0) == (-40, 20, 10)
    assert nps_axis(-100.0, 100.0) == (-100, 100, 50)
    assert nps_axis(-90.0, 95.0) == (-100, 100, 50)


def test_jalali_calendar_labels_periods_by_persian_months(manager, survey):
    scores(survey, tehran(2026, 11, 23), 10)  # 2 Azar 1405
    scores(survey, tehran(2026, 11, 20), 0)  # 29 Aban 1405

    page = get(manager, calendar="jalali", since="2026-10-25", until="2026-11-25")

    assert attributes(page, "data-point") == ["1405-08", "1405-09"]
    assert re.findall(r"data-x-label>([^<]*)<", page) == ["Aban", "Azar"]
    assert '<text class="year"' in page
    assert ">1405</text>" in page
    assert "Showing <strong>Aban 1405 to Azar 1405</strong>: 2 months, Jalali (Persian) calendar." in page
    assert re.search(r'<input type="radio" name="calendar" value="jalali"[^>]* checked>', page)


def test_weekly_jalali_periods_are_named_by_their_first_day(manager, survey):
    scores(survey, tehran(2026, 11, 23), 10)

    page = get(manager, calendar="jalali", period="week", since="2026-11-21", until="2026-11-25")

    # Jalali weeks start on Saturday: 21 November 2026 is Saturday 30 Aban.
    assert attributes(page, "data-point") == ["1405-08-30"]
    assert "week of 30 Aban 1405" in page


def test_a_significant_change_is_marked_in_words_and_on_the_chart(manager, survey):
    scores(survey, tehran(2026, 10, 15), *([10] * 10 + [0] * 10))  # NPS 0
    scores(survey, tehran(2026, 11, 15), *([10] * 18 + [0] * 2))  # NPS 80: z ≈ 2.8

    page = get(manager)

    assert attributes(page, "data-change") == ["significant"]
    assert "Significant rise" in page
    assert "Latest month, Nov 2026 (so far): <strong>+80</strong>" in page
    assert "in Oct 2026. Up 80 points: a significant change." in page
    assert attributes(page, "data-significant") == ["up"]
    assert re.search(r'data-point="2026-11" data-significant="up"><polygon', page)
    assert re.search(r'data-point="2026-10"><circle', page)


def test_a_change_within_chance_is_not_called_significant(manager, survey):
    scores(survey, tehran(2026, 10, 15), 10, 10, 0, 8)  # NPS 25
    scores(survey, tehran(2026, 11, 15), 10, 10, 10, 0)  # NPS 50, on four answers each

    page = get(manager)

    assert attributes(page, "data-change") == ["not-significant"]
    assert "No significant change" in page
    assert "Up 25 points: within chance, not a significant change." in page
    assert attributes(page, "data-significant") == []


def test_the_latest_period_without_a_period_before_to_compare_says_so(manager, survey):
    scores(survey, tehran(2026, 11, 15), 10, 9)

    page = get(manager)

    assert attributes(page, "data-change") == ["none"]
    assert "Oct 2026 had no answers to compare with" in page


# --- Choices in the address ------------------------------------------------------------------------


def test_invalid_choices_fall_back_to_the_defaults_with_a_notice(manager, survey):
    scores(survey, tehran(2026, 11, 15), 10)

    page = get(manager, period="year", calendar="mayan", by="colour", since="yesterday")

    assert notices(page) == [
        "There is no period “year”: showing months.",
        "There is no calendar “mayan”: showing the Gregorian one.",
        "There is no way to compare groups “colour”: showing no groups.",
        "“yesterday” is not a date: the range starts as usual.",
    ]
    assert "12 months, Gregorian calendar, the default range" in page
    assert attributes(page, "data-point") == ["2026-11"]


def test_a_range_that_ends_in_the_future_or_starts_after_it_ends_is_put_right(manager):
    assert notices(get(manager, until="2027-03-01")) == ["The range cannot end after today: it ends today."]
    assert notices(get(manager, since="2026-11-01", until="2026-10-01")) == [
        "The range started after it ended: showing the usual range."
    ]


def test_too_many_days_are_counted_by_weeks_instead(survey, shop):
    choices, said = read_choices(_query(period="day", since="2025-01-01", until="2026-11-25"), shop=shop, today=TODAY)

    assert said == ["That range has more than 400 days: showing weeks."]
    assert choices.period == Period.WEEK
    assert choices.spans[0].first_day == date(2024, 12, 30)  # the Monday of the week of 1 January 2025


def test_a_persian_shop_counts_by_the_jalali_calendar_unless_told_otherwise(db):
    shop = SurveyFactory(shop__timezone="Asia/Tehran", shop__default_language="fa").shop

    choices, said = read_choices(_query(), shop=shop, today=TODAY)

    assert (choices.calendar, said) == (Calendar.JALALI, [])
    assert choices.spans[0].label == "1404-10"  # the last 12 Persian months: Dey 1404 to Azar 1405


def _query(**params: str):
    from django.http import QueryDict

    query = QueryDict(mutable=True)
    query.update(params)
    return query


# --- Who may see it ------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_log_in(db):
    response = Client().get("/dashboard/?period=week")

    assert (response.status_code, response["Location"]) == (302, "/login/?next=/dashboard/%3Fperiod%3Dweek")


def test_support_agents_may_not_see_the_numbers(shop):
    agent = User.objects.create_user("agent", is_staff=True)
    Membership.objects.create(user=agent, shop=shop, role=Membership.Role.AGENT)
    client = Client()
    client.force_login(agent)

    response = client.get("/dashboard/")

    assert response.status_code == 403
    assert "The dashboard is for managers" in response.content.decode()
    assert "data-card" not in response.content.decode()


def nav_links(page: str) -> list[str]:
    nav = re.search(r'<nav class="topnav"[^>]*>(.*?)</nav>', page, re.S)
    assert nav, "no top bar navigation on the page"
    return re.findall(r">([^<>]+)</a>", nav.group(1))


@pytest.mark.parametrize(
    ("role", "sees_dashboard"),
    [(Membership.Role.AGENT, False), (Membership.Role.MANAGER, True), (Membership.Role.ADMIN, True)],
)
def test_the_top_bar_offers_the_dashboard_only_to_those_it_lets_in(shop, staff_of, role, sees_dashboard):
    client = Client()
    client.force_login(staff_of(shop, role=role))

    cases = client.get("/cases/")
    dashboard = client.get("/dashboard/")

    assert cases.status_code == 200
    assert ("Dashboard" in nav_links(cases.content.decode())) is sees_dashboard
    assert dashboard.status_code == (200 if sees_dashboard else 403)
    assert ("Dashboard" in nav_links(dashboard.content.decode())) is sees_dashboard
    assert "Cases" in nav_links(cases.content.decode())


def test_an_agent_here_and_manager_elsewhere_is_offered_the_dashboard(shop, staff_of):
    agent = staff_of(shop, role=Membership.Role.AGENT)
    Membership.objects.create(user=agent, shop=SurveyFactory().shop, role=Membership.Role.MANAGER)
    client = Client()
    client.force_login(agent)

    assert "Dashboard" in nav_links(client.get("/cases/").content.decode())


def test_another_shops_manager_cannot_pick_this_shop(shop, survey, staff_of):
    scores(survey, tehran(2026, 11, 15), 10)
    other_shop = SurveyFactory(shop__name="Elsewhere").shop
    client = Client()
    client.force_login(staff_of(other_shop))

    assert client.get("/dashboard/", {"shop": shop.slug}).status_code == 404
    own = get(client)
    assert '<span class="h1-sub"><bdi>Elsewhere</bdi></span>' in own
    assert figure(own, "nps") == "—"


def test_a_manager_of_several_shops_picks_one(shop, survey, staff_of):
    scores(survey, tehran(2026, 11, 15), 0)
    other_shop = SurveyFactory(shop__name="Another shop").shop
    user = staff_of(shop)
    Membership.objects.create(user=user, shop=other_shop, role=Membership.Role.ADMIN)
    client = Client()
    client.force_login(user)

    first = get(client)  # the first by name, until one is picked
    picked = get(client, shop=shop.slug)

    assert '<span class="h1-sub"><bdi>Another shop</bdi></span>' in first
    assert '<span class="h1-sub"><bdi>Tehran Books</bdi></span>' in picked
    assert figure(picked, "nps") == "−100"
    assert '<select name="shop"' in picked


def test_a_superuser_sees_any_shop(shop, survey):
    scores(survey, tehran(2026, 11, 15), 10)
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.com", "a-long-test-password"))

    page = get(client, shop=shop.slug)

    assert figure(page, "nps") == "+100"


# --- Queries: as many for 12 periods (or 3 groups) as for 3 (or 1) ---------------------------------


@pytest.mark.parametrize(("months", "surveys", "cut"), [(3, 1, ""), (12, 3, ""), (3, 1, "survey"), (12, 3, "survey")])
def test_the_page_takes_the_same_queries_however_many_periods_and_groups(
    manager, survey, shop, months, surveys, cut, django_assert_num_queries
):
    all_surveys = [survey, *(SurveyFactory(shop=shop, name=f"Survey {n}") for n in range(surveys - 1))]
    for month in range(months):
        at = tehran(2026 if month < 11 else 2025, (11 - month - 1) % 12 + 1, 10)
        for each in all_surveys:
            scores(each, at, 9, 3)
            scored(each, Question.Kind.CSAT, 4, at=at)
            scored(each, Question.Kind.CES, 6, at=at)
            flag_response(ResponseFactory(invitation__survey=each, submitted_at=at, score=1))
    since = "2026-09-01" if months == 3 else "2025-12-01"

    # Session and user; the user's shops; NPS, CSAT and CES (each its questions, then one aggregate);
    # the response rate; the recovery; with a cut, the NPS by group (its questions, one aggregate);
    # whether the top bar links to the dashboard; the staff member's language (their setting, then
    # their first shop's); what customers talk about (theme counts, comments counted, the latest;
    # the quotes only when there are themes).
    with django_assert_num_queries(19 if cut else 17):
        page = get(manager, since=since, by=cut)

    assert len(attributes(page, "data-point")) == months
    if cut:
        assert len(attributes(page, "data-group")) == surveys
