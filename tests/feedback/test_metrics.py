from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from feedback.answer_page.answering import submit_answer
from feedback.insights.cuts import Cut
from feedback.insights.metrics import ces_trend, csat_trend, nps_trend, response_rate_trend
from feedback.insights.periods import Calendar, Period, TooManyPeriods, period_spans, periods_back
from feedback.insights.tallies import (
    CesTally,
    CsatTally,
    NpsTally,
    ResponseRate,
    ces_change_t,
    ces_changed_significantly,
    csat_change_z,
    csat_changed_significantly,
    nps_change_z,
    nps_changed_significantly,
    t_975,
)
from feedback.models import Answer, Response
from surveys.models import OrderLine, Question
from tests.factories import CustomerFactory, InvitationFactory, OrderFactory, ResponseFactory, SurveyFactory

# Dates and months against the clock: CI runs these on the days calendars turn.
pytestmark = pytest.mark.calendar

TEHRAN = ZoneInfo("Asia/Tehran")


def tehran(*args: int) -> datetime:
    return datetime(*args, tzinfo=TEHRAN)


def table(rows) -> list[tuple]:
    """(period label, group, tally) per row: what a chart would draw."""
    return [(row.period_label, row.group, row.tally) for row in rows]


# --- NPS maths -----------------------------------------------------------------------------


def test_nps_change_of_24_points_on_100_answers_each_is_significant():
    current = NpsTally(promoters=50, passives=30, detractors=20)  # NPS 30
    previous = NpsTally(promoters=33, passives=40, detractors=27)  # NPS 6

    # Adjusted Wald, n = 103 each. Current: p = 50.75/103, d = 20.75/103, NPS .29126,
    # variance (p + d) − (p − d)² = .60934, se = √(.60934/103) = .07692. Previous: NPS .05825,
    # variance .59370, se .07592. z = .23301 / √(.07692² + .07592²) = 2.156.
    assert nps_change_z(current, previous) == pytest.approx(2.156, abs=0.001)
    assert nps_changed_significantly(current, previous) is True
    assert nps_changed_significantly(previous, current) is True  # a fall as much as a rise


def test_nps_change_of_20_points_on_100_answers_each_is_within_chance():
    current = NpsTally(promoters=50, passives=30, detractors=20)  # NPS 30
    previous = NpsTally(promoters=35, passives=40, detractors=25)  # NPS 10

    assert nps_change_z(current, previous) == pytest.approx(1.801, abs=0.001)
    assert nps_changed_significantly(current, previous) is False


def test_nps_change_needs_answers_in_both_periods():
    some = NpsTally(promoters=50, passives=30, detractors=20)
    none = NpsTally(promoters=0, passives=0, detractors=0)

    assert nps_change_z(some, none) is None
    assert nps_changed_significantly(none, some) is None


def test_same_nps_from_few_answers_is_not_a_change():
    assert nps_change_z(NpsTally(50, 30, 20), NpsTally(5, 3, 2)) == pytest.approx(0.265, abs=0.001)
    assert nps_changed_significantly(NpsTally(50, 30, 20), NpsTally(5, 3, 2)) is False


# --- CSAT and CES: intervals and the tests between two periods ---------------------------------


def test_csat_interval_is_wilsons_score_interval():
    # 8 of 10 satisfied, z = 1.96, z² = 3.8416: 1 + z²/n = 1.38416.
    # Centre (p + z²/2n) / (1 + z²/n) = (0.8 + 0.19208) / 1.38416 = 0.716737.
    # Half-width z·√(p(1 − p)/n + z²/4n²) / (1 + z²/n) = 1.96 · √(0.016 + 0.009604) / 1.38416 = 0.226581.
    low, high = CsatTally(satisfied=8, responses=10).interval

    assert (low, high) == (pytest.approx(49.016, abs=0.001), pytest.approx(94.332, abs=0.001))


def test_csat_interval_is_not_zero_wide_at_100_percent():
    # p = 1, n = 5: centre (1 + 0.38416) / 1.76832 = 0.782754, half 1.96 · √(0.038416) / 1.76832 = 0.217246.
    low, high = CsatTally(satisfied=5, responses=5).interval

    assert (low, high) == (pytest.approx(56.551, abs=0.001), 100.0)
    assert CsatTally(satisfied=0, responses=0).interval is None


def test_csat_change_of_25_points_on_60_answers_each_is_significant():
    current, previous = CsatTally(satisfied=45, responses=60), CsatTally(satisfied=30, responses=60)

    # Pooled p̄ = 75/120 = 0.625; z = (0.75 − 0.5) / √(0.625 · 0.375 · (1/60 + 1/60)) = 0.25 / 0.0883883.
    assert csat_change_z(current, previous) == pytest.approx(2.8284, abs=0.0001)
    assert csat_changed_significantly(current, previous) is True
    assert csat_changed_significantly(previous, current) is True


def test_csat_change_of_20_points_on_10_answers_each_is_within_chance():
    current, previous = CsatTally(satisfied=8, responses=10), CsatTally(satisfied=6, responses=10)

    # p̄ = 0.7; z = 0.2 / √(0.7 · 0.3 · 0.2) = 0.2 / 0.204939.
    assert csat_change_z(current, previous) == pytest.approx(0.9759, abs=0.0001)
    assert csat_changed_significantly(current, previous) is False


def test_csat_change_needs_answers_in_both_periods_and_all_satisfied_twice_is_no_change():
    assert csat_changed_significantly(CsatTally(3, 4), CsatTally(0, 0)) is None
    assert csat_change_z(CsatTally(4, 4), CsatTally(9, 9)) == 0.0


def test_ces_margin_is_students_t_on_the_sample_spread():
    # Scores 3, 5, 5, 7: mean 5, s² = (4 + 0 + 0 + 4) / 3 = 2.6667, se = √(2.6667 / 4) = 0.816497;
    # t(0.975, 3) = 3.18245, margin 3.18245 · 0.816497 = 2.59845. 5 + 2.598 passes 7: the interval stops there.
    tally = CesTally(per_score=(0, 0, 1, 0, 2, 0, 1))

    assert tally.variance == pytest.approx(8 / 3)
    assert tally.margin_of_error == pytest.approx(2.59845, abs=0.00001)
    assert tally.interval == (pytest.approx(2.40155, abs=0.00001), 7.0)


def test_ces_margin_needs_two_answers():
    assert CesTally(per_score=(0, 0, 0, 0, 0, 0, 1)).margin_of_error is None
    assert CesTally(per_score=(0,) * 7).interval is None


def test_ces_change_is_welchs_t_test():
    current = CesTally(per_score=(0, 0, 1, 0, 2, 0, 1))  # 3, 5, 5, 7: mean 5, s² = 8/3
    previous = CesTally(per_score=(2, 2, 0, 0, 0, 0, 0))  # 1, 1, 2, 2: mean 1.5, s² = 1/3

    # s₁²/n₁ = 0.666667, s₂²/n₂ = 0.083333: t = 3.5 / √0.75 = 4.04145; ν = 0.75² / (0.666667²/3 +
    # 0.083333²/3) = 3.7385, rounded down to 3: t(0.975, 3) = 3.18245 < 4.04.
    t, freedom = ces_change_t(current, previous)
    assert (t, freedom) == (pytest.approx(4.04145, abs=0.00001), pytest.approx(3.7385, abs=0.0001))
    assert ces_changed_significantly(current, previous) is True


def test_ces_change_of_one_point_on_four_answers_is_within_chance():
    current = CesTally(per_score=(0, 0, 1, 0, 2, 0, 1))  # 3, 5, 5, 7: mean 5, s² = 8/3
    previous = CesTally(per_score=(0, 1, 0, 2, 0, 1, 0))  # 2, 4, 4, 6: mean 4, s² = 8/3

    # t = 1 / √(2 · 0.666667) = 0.866025 on ν = 6: t(0.975, 6) = 2.44691.
    t, freedom = ces_change_t(current, previous)
    assert (t, freedom) == (pytest.approx(0.866025, abs=0.000001), pytest.approx(6.0))
    assert ces_changed_significantly(current, previous) is False


def test_ces_change_needs_two_answers_in_each_period():
    two = CesTally(per_score=(0, 0, 0, 0, 1, 1, 0))
    assert ces_changed_significantly(two, CesTally(per_score=(0, 0, 0, 0, 0, 0, 1))) is None
    # Neither period varies: the means are the same, or plainly not.
    assert ces_change_t(CesTally((0, 0, 0, 0, 0, 0, 3)), CesTally((0, 0, 0, 0, 0, 0, 2)))[0] == 0.0
    assert ces_changed_significantly(CesTally((0, 0, 0, 0, 0, 0, 3)), CesTally((0, 0, 3, 0, 0, 0, 0))) is True


@pytest.mark.parametrize(
    ("freedom", "t"),
    # Student's t at 0.975, as printed in the tables (and scipy.stats.t.ppf(0.975, ν)).
    [(1, 12.7062), (2, 4.3027), (3, 3.1824), (7, 2.3646), (8, 2.3060), (10, 2.2281), (30, 2.0423), (120, 1.9799)],
)
def test_t_quantile_matches_the_tables(freedom, t):
    assert t_975(freedom) == pytest.approx(t, abs=0.0001)


def test_t_quantile_of_a_welch_fraction_rounds_down_below_8_and_tends_to_z():
    assert t_975(3.7385) == t_975(3)
    assert 1.9996 < t_975(60.5) < 2.0003  # between ν = 61 and ν = 60
    assert t_975(float("inf")) == pytest.approx(1.96, abs=0.0001)


def test_csat_ces_and_response_rate_worked_examples():
    assert CsatTally(satisfied=3, responses=4).score == 75.0
    assert CesTally(per_score=(0, 0, 1, 0, 2, 0, 1)).score == 5.0  # (3 + 5 + 5 + 7) / 4
    assert ResponseRate(sent=8, opened=4, answered=2).answer_rate == 25.0
    assert ResponseRate(sent=8, opened=4, answered=2).open_rate == 50.0
    assert (CsatTally(0, 0).score, CesTally((0,) * 7).score, ResponseRate(0, 0, 0).answer_rate) == (None, None, None)


# --- Periods -------------------------------------------------------------------------------


def test_jalali_months_start_on_the_first_of_the_persian_month_in_the_shops_zone():
    spans = period_spans(
        date(2026, 11, 1), date(2026, 12, 31), period=Period.MONTH, calendar=Calendar.JALALI, tz=TEHRAN
    )

    assert [(span.label, span.start, span.last_day) for span in spans] == [
        ("1405-08", tehran(2026, 10, 23), date(2026, 11, 21)),  # Aban has 30 days
        ("1405-09", tehran(2026, 11, 22), date(2026, 12, 21)),
        ("1405-10", tehran(2026, 12, 22), date(2027, 1, 20)),
    ]


def test_jalali_months_roll_over_the_persian_new_year():
    spans = period_spans(date(2026, 3, 1), date(2026, 3, 25), period=Period.MONTH, calendar=Calendar.JALALI, tz=TEHRAN)

    assert [(span.label, span.first_day) for span in spans] == [
        ("1404-12", date(2026, 2, 20)),
        ("1405-01", date(2026, 3, 21)),
    ]


def test_weeks_start_on_monday_gregorian_and_saturday_jalali():
    wednesday = date(2026, 11, 4)

    gregorian = period_spans(wednesday, wednesday, period=Period.WEEK, calendar=Calendar.GREGORIAN, tz=TEHRAN)
    jalali = period_spans(wednesday, wednesday, period=Period.WEEK, calendar=Calendar.JALALI, tz=TEHRAN)

    assert [(span.label, span.first_day, span.last_day) for span in gregorian] == [
        ("2026-11-02", date(2026, 11, 2), date(2026, 11, 8))
    ]
    assert [(span.label, span.first_day, span.last_day) for span in jalali] == [
        ("1405-08-09", date(2026, 10, 31), date(2026, 11, 6))
    ]


def test_periods_back_counts_whole_periods():
    assert periods_back(date(2026, 11, 15), 12, period=Period.MONTH, calendar=Calendar.GREGORIAN) == date(2025, 12, 1)
    assert periods_back(date(2026, 11, 15), 2, period=Period.MONTH, calendar=Calendar.JALALI) == date(2026, 9, 23)
    assert periods_back(date(2026, 11, 15), 1, period=Period.DAY, calendar=Calendar.GREGORIAN) == date(2026, 11, 15)


def test_a_range_of_too_many_periods_is_refused():
    with pytest.raises(TooManyPeriods, match="more than 400 days"):
        period_spans(date(2020, 1, 1), date(2026, 1, 1), period=Period.DAY, calendar=Calendar.GREGORIAN, tz=TEHRAN)


# --- Trends in the database -----------------------------------------------------------------


@pytest.fixture
def tehran_survey(db):
    return SurveyFactory(shop__timezone="Asia/Tehran")


def test_jalali_month_ends_at_midnight_tehran_time(tehran_survey):
    # 30 Aban 1405 is 21 November 2026.
    ResponseFactory(invitation__survey=tehran_survey, submitted_at=tehran(2026, 11, 21, 23, 59), score=10)
    ResponseFactory(invitation__survey=tehran_survey, submitted_at=tehran(2026, 11, 22, 0, 0), score=0)

    rows = nps_trend(tehran_survey.shop, since=date(2026, 11, 1), until=date(2026, 11, 30), calendar=Calendar.JALALI)

    assert table(rows) == [("1405-08", None, NpsTally(1, 0, 0)), ("1405-09", None, NpsTally(0, 0, 1))]
    assert (rows[1].period_start, rows[1].period_end) == (date(2026, 11, 22), date(2026, 12, 21))


def test_gregorian_month_ends_at_midnight_in_the_shops_zone_not_utc(db):
    tehran_shop = SurveyFactory(shop__timezone="Asia/Tehran")
    utc_shop = SurveyFactory(shop__timezone="UTC")
    before_tehran_midnight = datetime(2026, 10, 31, 20, 29, tzinfo=UTC)  # 23:59 in Tehran
    after_tehran_midnight = datetime(2026, 10, 31, 21, 0, tzinfo=UTC)  # 1 November, 00:30 in Tehran
    for survey in (tehran_shop, utc_shop):
        ResponseFactory(invitation__survey=survey, submitted_at=before_tehran_midnight, score=10)
        ResponseFactory(invitation__survey=survey, submitted_at=after_tehran_midnight, score=0)

    def by_month(survey):
        return table(nps_trend(survey.shop, since=date(2026, 10, 1), until=date(2026, 11, 30)))

    assert by_month(tehran_shop) == [("2026-10", None, NpsTally(1, 0, 0)), ("2026-11", None, NpsTally(0, 0, 1))]
    assert by_month(utc_shop) == [("2026-10", None, NpsTally(1, 0, 1)), ("2026-11", None, NpsTally(0, 0, 0))]


@pytest.mark.parametrize(
    ("calendar", "labels"),
    [(Calendar.GREGORIAN, ["2026-11-02", "2026-11-09"]), (Calendar.JALALI, ["1405-08-09", "1405-08-16"])],
)
def test_weekly_trend_places_a_friday_and_the_weekend_by_the_calendars_week(tehran_survey, calendar, labels):
    ResponseFactory(invitation__survey=tehran_survey, submitted_at=tehran(2026, 11, 6, 12), score=10)  # Friday
    ResponseFactory(invitation__survey=tehran_survey, submitted_at=tehran(2026, 11, 7, 12), score=0)  # Saturday
    ResponseFactory(invitation__survey=tehran_survey, submitted_at=tehran(2026, 11, 9, 12), score=8)  # Monday

    rows = nps_trend(
        tehran_survey.shop, since=date(2026, 11, 6), until=date(2026, 11, 9), period=Period.WEEK, calendar=calendar
    )

    if calendar == Calendar.GREGORIAN:  # weeks from Monday: Friday and Saturday together
        tallies = [NpsTally(1, 0, 1), NpsTally(0, 1, 0)]
    else:  # weeks from Saturday: Saturday and Monday together
        tallies = [NpsTally(1, 0, 0), NpsTally(0, 1, 1)]
    assert table(rows) == list(zip(labels, [None, None], tallies, strict=True))


def test_daily_trend_labels_days_in_the_chosen_calendar(tehran_survey):
    ResponseFactory(invitation__survey=tehran_survey, submitted_at=tehran(2026, 11, 22, 0, 1), score=9)

    gregorian = nps_trend(tehran_survey.shop, since=date(2026, 11, 21), until=date(2026, 11, 22), period=Period.DAY)
    jalali = nps_trend(
        tehran_survey.shop,
        since=date(2026, 11, 21),
        until=date(2026, 11, 22),
        period=Period.DAY,
        calendar=Calendar.JALALI,
    )

    assert table(gregorian) == [("2026-11-21", None, NpsTally(0, 0, 0)), ("2026-11-22", None, NpsTally(1, 0, 0))]
    assert table(jalali) == [("1405-08-30", None, NpsTally(0, 0, 0)), ("1405-09-01", None, NpsTally(1, 0, 0))]


def test_first_row_is_compared_with_the_period_before_the_range(tehran_survey):
    for score in [10] * 10 + [0] * 10:
        ResponseFactory(invitation__survey=tehran_survey, submitted_at=tehran(2026, 9, 15), score=score)  # NPS 0
    for score in [10] * 18 + [0] * 2:
        ResponseFactory(invitation__survey=tehran_survey, submitted_at=tehran(2026, 10, 15), score=score)  # NPS 80
    for score in [10] * 16 + [0] * 4:
        ResponseFactory(invitation__survey=tehran_survey, submitted_at=tehran(2026, 11, 15), score=score)  # NPS 60

    october, november = nps_trend(tehran_survey.shop, since=date(2026, 10, 1), until=date(2026, 11, 30))

    assert (october.period_label, october.previous, october.tally.score) == ("2026-10", NpsTally(10, 0, 10), 80.0)
    assert nps_change_z(october.tally, october.previous) == pytest.approx(2.83, abs=0.01)
    assert (november.previous, november.tally.score) == (NpsTally(18, 0, 2), 60.0)
    assert nps_changed_significantly(november.tally, november.previous) is False


def test_trend_counts_only_the_shops_scored_nps_answers(tehran_survey):
    ResponseFactory(invitation__survey=tehran_survey, submitted_at=tehran(2026, 11, 3), score=9)
    ResponseFactory(invitation__survey=tehran_survey, submitted_at=tehran(2026, 11, 3), comment="no score")
    ResponseFactory(submitted_at=tehran(2026, 11, 3), score=0)  # another shop

    rows = nps_trend(tehran_survey.shop, since=date(2026, 11, 1), until=date(2026, 11, 30))

    assert table(rows) == [("2026-11", None, NpsTally(1, 0, 0))]


def test_trend_without_answers_has_a_row_per_period_and_no_score(tehran_survey):
    rows = nps_trend(tehran_survey.shop, since=date(2026, 9, 1), until=date(2026, 11, 30))

    assert [(row.period_label, row.tally.score, row.tally.margin_of_error) for row in rows] == [
        ("2026-09", None, None),
        ("2026-10", None, None),
        ("2026-11", None, None),
    ]


# --- Cuts ----------------------------------------------------------------------------------

NOVEMBER = {"since": date(2026, 11, 1), "until": date(2026, 11, 30)}
IN_NOVEMBER = tehran(2026, 11, 10)


def cut(survey, by: Cut) -> list[tuple]:
    return [(row.group, row.group_label, row.tally) for row in nps_trend(survey.shop, **NOVEMBER, by=by)]


def test_nps_by_channel(tehran_survey):
    ResponseFactory(invitation__survey=tehran_survey, invitation__channel="sms", submitted_at=IN_NOVEMBER, score=10)
    ResponseFactory(invitation__survey=tehran_survey, invitation__channel="email", submitted_at=IN_NOVEMBER, score=3)

    assert cut(tehran_survey, Cut.CHANNEL) == [
        ("email", "Email", NpsTally(0, 0, 1)),
        ("sms", "SMS", NpsTally(1, 0, 0)),
    ]


def test_nps_by_the_language_answered_in(tehran_survey):
    ResponseFactory(invitation__survey=tehran_survey, language="fa", submitted_at=IN_NOVEMBER, score=10)
    ResponseFactory(invitation__survey=tehran_survey, language="fa", submitted_at=IN_NOVEMBER, score=7)
    ResponseFactory(invitation__survey=tehran_survey, language="en", submitted_at=IN_NOVEMBER, score=3)

    assert cut(tehran_survey, Cut.LANGUAGE) == [
        ("en", "English", NpsTally(0, 0, 1)),
        ("fa", "Persian", NpsTally(1, 1, 0)),
    ]


def test_nps_by_survey(tehran_survey):
    other = SurveyFactory(shop=tehran_survey.shop, name="After delivery")
    ResponseFactory(invitation__survey=tehran_survey, submitted_at=IN_NOVEMBER, score=10)
    ResponseFactory(invitation__survey=other, submitted_at=IN_NOVEMBER, score=2)

    assert cut(tehran_survey, Cut.SURVEY) == [
        (str(other.pk), "After delivery", NpsTally(0, 0, 1)),
        (str(tehran_survey.pk), "After purchase", NpsTally(1, 0, 0)),
    ]


def test_nps_by_product_counts_an_order_once_for_each_product(tehran_survey):
    mug_and_tea = ResponseFactory(invitation__survey=tehran_survey, submitted_at=IN_NOVEMBER, score=10)
    OrderLine.objects.create(order=mug_and_tea.invitation.order, sku="MUG-1", product_name="Mug")
    OrderLine.objects.create(order=mug_and_tea.invitation.order, sku="TEA-1", product_name="Tea")
    two_mugs = ResponseFactory(invitation__survey=tehran_survey, submitted_at=IN_NOVEMBER, score=0)
    OrderLine.objects.create(order=two_mugs.invitation.order, sku="MUG-1", product_name="Mug", quantity=1)
    OrderLine.objects.create(order=two_mugs.invitation.order, sku="MUG-1", product_name="Mug", quantity=2)
    unnamed_sku = ResponseFactory(invitation__survey=tehran_survey, submitted_at=IN_NOVEMBER, score=8)
    OrderLine.objects.create(order=unnamed_sku.invitation.order, sku="", product_name="Gift card")
    ResponseFactory(invitation__survey=tehran_survey, submitted_at=IN_NOVEMBER, score=9)  # no lines

    assert cut(tehran_survey, Cut.PRODUCT) == [
        ("Gift card", "Gift card", NpsTally(0, 1, 0)),
        ("MUG-1", "Mug", NpsTally(1, 0, 1)),
        ("TEA-1", "Tea", NpsTally(1, 0, 0)),
        (None, "No product recorded", NpsTally(1, 0, 0)),
    ]


def test_nps_by_first_time_or_repeat_customer_at_the_time_of_the_order(tehran_survey):
    shop = tehran_survey.shop
    customer = CustomerFactory(shop=shop)
    first = OrderFactory(shop=shop, customer=customer, placed_at=tehran(2026, 10, 1))
    second = OrderFactory(shop=shop, customer=customer, placed_at=tehran(2026, 11, 1))
    ResponseFactory(invitation__survey=tehran_survey, invitation__order=first, submitted_at=IN_NOVEMBER, score=10)
    ResponseFactory(invitation__survey=tehran_survey, invitation__order=second, submitted_at=IN_NOVEMBER, score=0)
    ResponseFactory(invitation__survey=tehran_survey, submitted_at=IN_NOVEMBER, score=8)  # a new customer's one order

    assert cut(tehran_survey, Cut.CUSTOMER_TYPE) == [
        ("first_time", "First-time customers", NpsTally(1, 1, 0)),
        ("repeat", "Repeat customers", NpsTally(0, 0, 1)),
    ]


def test_nps_by_value_tier_puts_the_top_10_percent_then_40_percent_of_spenders_apart(tehran_survey):
    shop = tehran_survey.shop
    # Ten customers spending 100, 200, … 1000: the biggest is the top 10%, the next four the
    # next 40%, the last five the rest. Each answers once; a cancelled order does not count,
    # nor do another shop's customers.
    OrderFactory(total=Decimal(1_000_000))
    for rank, spend in enumerate(range(1000, 0, -100)):
        order = OrderFactory(shop=shop, total=Decimal(spend), placed_at=tehran(2026, 10, 1))
        OrderFactory(shop=shop, customer=order.customer, total=Decimal(5000), cancelled_at=tehran(2026, 10, 2))
        score = 10 if rank == 0 else 8 if rank < 5 else 0
        ResponseFactory(
            invitation__survey=tehran_survey, invitation__order=order, submitted_at=IN_NOVEMBER, score=score
        )

    assert cut(tehran_survey, Cut.VALUE_TIER) == [
        ("top", "Top 10% by lifetime spend", NpsTally(1, 0, 0)),
        ("middle", "Next 40%", NpsTally(0, 4, 0)),
        ("rest", "The other 50%", NpsTally(0, 0, 5)),
    ]


def test_cut_rows_fill_every_period_for_every_group_seen(tehran_survey):
    ResponseFactory(
        invitation__survey=tehran_survey, invitation__channel="sms", submitted_at=tehran(2026, 10, 5), score=9
    )
    ResponseFactory(invitation__survey=tehran_survey, invitation__channel="email", submitted_at=IN_NOVEMBER, score=9)

    rows = nps_trend(tehran_survey.shop, since=date(2026, 10, 1), until=date(2026, 11, 30), by=Cut.CHANNEL)

    assert table(rows) == [
        ("2026-10", "email", NpsTally(0, 0, 0)),
        ("2026-10", "sms", NpsTally(1, 0, 0)),
        ("2026-11", "email", NpsTally(1, 0, 0)),
        ("2026-11", "sms", NpsTally(0, 0, 0)),
    ]
    assert [row.previous for row in rows[2:]] == [NpsTally(0, 0, 0), NpsTally(1, 0, 0)]


def test_a_cut_splits_each_period_exactly_as_the_uncut_trend_counts_it(tehran_survey):
    # Without a cut each period is its own SELECT over its time range; with one, every row is
    # placed by comparing its time with the periods' starts. Both must draw the lines alike.
    for at, channel, score in (
        (tehran(2026, 9, 30, 23, 59, 59), "sms", 10),
        (tehran(2026, 10, 1), "email", 0),
        (tehran(2026, 10, 31, 23, 59, 59), "sms", 8),
        (tehran(2026, 11, 1), "sms", 9),
        (tehran(2026, 11, 30, 23, 59, 59), "email", 9),
        (tehran(2026, 12, 1), "email", 0),
    ):
        ResponseFactory(invitation__survey=tehran_survey, invitation__channel=channel, submitted_at=at, score=score)
    window = {"since": date(2026, 10, 1), "until": date(2026, 11, 30)}

    uncut = nps_trend(tehran_survey.shop, **window)
    by_channel = nps_trend(tehran_survey.shop, **window, by=Cut.CHANNEL)

    def summed(rows, label: str, attribute: str) -> NpsTally:
        tallies = [getattr(row, attribute) for row in rows if row.period_label == label]
        return NpsTally(*(sum(getattr(t, kind) for t in tallies) for kind in ("promoters", "passives", "detractors")))

    assert [(row.period_label, row.tally, row.previous) for row in uncut] == [
        ("2026-10", NpsTally(0, 1, 1), NpsTally(1, 0, 0)),
        ("2026-11", NpsTally(2, 0, 0), NpsTally(0, 1, 1)),
    ]
    for row in uncut:
        assert summed(by_channel, row.period_label, "tally") == row.tally
        assert summed(by_channel, row.period_label, "previous") == row.previous


# --- The cut keys recorded on the response -------------------------------------------------------


def test_a_response_records_its_channel_and_whether_the_customer_had_ordered_before(tehran_survey):
    shop = tehran_survey.shop
    customer = CustomerFactory(shop=shop)
    first = OrderFactory(shop=shop, customer=customer, placed_at=tehran(2026, 10, 1))
    second = OrderFactory(shop=shop, customer=customer, placed_at=tehran(2026, 11, 1))
    # A cancelled order still made the customer a repeat customer, as for the sending rules.
    OrderFactory(shop=shop, customer=customer, placed_at=tehran(2026, 9, 1), cancelled_at=tehran(2026, 9, 2))
    third_party = OrderFactory(shop=shop, placed_at=tehran(2026, 8, 1))  # another customer's: no bearing

    on_first = ResponseFactory(invitation__survey=tehran_survey, invitation__order=first, invitation__channel="sms")
    on_second = ResponseFactory(invitation__survey=tehran_survey, invitation__order=second)
    on_other = ResponseFactory(invitation__survey=tehran_survey, invitation__order=third_party)

    for response in (on_first, on_second, on_other):
        response.refresh_from_db()
    assert [(r.channel, r.repeat_customer) for r in (on_first, on_second, on_other)] == [
        ("sms", True),
        ("email", True),
        ("email", False),
    ]


def test_a_test_order_before_does_not_make_a_repeat_customer(tehran_survey):
    shop = tehran_survey.shop
    customer = CustomerFactory(shop=shop)
    OrderFactory(shop=shop, customer=customer, placed_at=tehran(2026, 10, 1), is_test=True)
    first_real = OrderFactory(shop=shop, customer=customer, placed_at=tehran(2026, 11, 1))

    response = ResponseFactory(invitation__survey=tehran_survey, invitation__order=first_real)

    response.refresh_from_db()
    assert response.repeat_customer is False


def test_answering_by_the_link_records_the_cut_keys(tehran_survey):
    shop = tehran_survey.shop
    customer = CustomerFactory(shop=shop)
    OrderFactory(shop=shop, customer=customer, placed_at=tehran(2026, 10, 1))
    invitation = InvitationFactory(
        survey=tehran_survey,
        order=OrderFactory(shop=shop, customer=customer, placed_at=tehran(2026, 11, 1)),
        channel="sms",
        status="sent",
    )

    response = submit_answer(invitation, score=3)

    response.refresh_from_db()
    assert (response.channel, response.repeat_customer) == ("sms", True)
    today = response.submitted_at.astimezone(TEHRAN).date()
    rows = nps_trend(shop, since=today, until=today, by=Cut.CUSTOMER_TYPE)
    assert [(row.group, row.tally) for row in rows] == [("repeat", NpsTally(0, 0, 1))]


def test_the_cut_keys_stay_as_they_were_when_the_customer_answered(tehran_survey):
    shop = tehran_survey.shop
    order = OrderFactory(shop=shop, placed_at=tehran(2026, 10, 1))
    response = ResponseFactory(
        invitation__survey=tehran_survey, invitation__order=order, submitted_at=IN_NOVEMBER, score=10
    )

    # An older order imported later does not make the answer a repeat customer's after the fact,
    # and nothing else may write the copies: the database undoes it.
    OrderFactory(shop=shop, customer=order.customer, placed_at=tehran(2025, 1, 1))
    Response.objects.filter(pk=response.pk).update(channel="sms", repeat_customer=True)
    response.refresh_from_db()
    response.save()

    response.refresh_from_db()
    assert (response.channel, response.repeat_customer) == ("email", False)
    assert cut(tehran_survey, Cut.CUSTOMER_TYPE) == [("first_time", "First-time customers", NpsTally(1, 0, 0))]
    assert cut(tehran_survey, Cut.CHANNEL) == [("email", "Email", NpsTally(1, 0, 0))]


# --- CSAT, CES, response rate ----------------------------------------------------------------


def scored(survey, kind: str, score: int, *, at: datetime, **invitation: object) -> None:
    question, _ = Question.objects.get_or_create(survey=survey, kind=kind, defaults={"text": kind})
    response = ResponseFactory(
        invitation__survey=survey, submitted_at=at, **{f"invitation__{k}": v for k, v in invitation.items()}
    )
    Answer.objects.create(response=response, question=question, score=score)


def test_csat_is_the_share_of_fours_and_fives(tehran_survey):
    for score in (5, 4, 3, 1):
        scored(tehran_survey, Question.Kind.CSAT, score, at=IN_NOVEMBER)
    scored(tehran_survey, Question.Kind.CSAT, 5, at=tehran(2026, 10, 31))

    [row] = csat_trend(tehran_survey.shop, **NOVEMBER)

    assert (row.tally, row.tally.score, row.previous.score) == (CsatTally(satisfied=2, responses=4), 50.0, 100.0)


def test_ces_is_the_mean_score_by_group(tehran_survey):
    scored(tehran_survey, Question.Kind.CES, 7, at=IN_NOVEMBER, channel="sms")
    scored(tehran_survey, Question.Kind.CES, 2, at=IN_NOVEMBER, channel="email")
    scored(tehran_survey, Question.Kind.CES, 3, at=IN_NOVEMBER, channel="email")

    rows = ces_trend(tehran_survey.shop, **NOVEMBER, by=Cut.CHANNEL)

    assert [(row.group, row.tally.responses, row.tally.score) for row in rows] == [("email", 2, 2.5), ("sms", 1, 7.0)]


def test_response_rate_follows_the_invitations_sent_in_the_period(tehran_survey):
    def invitation(sent_at, **fields):
        InvitationFactory(survey=tehran_survey, sent_at=sent_at, status="sent", **fields)

    invitation(IN_NOVEMBER)
    invitation(IN_NOVEMBER, opened_at=IN_NOVEMBER)
    invitation(IN_NOVEMBER, opened_at=IN_NOVEMBER, answered_at=tehran(2026, 12, 2))  # answered later: still counts
    invitation(IN_NOVEMBER, answered_at=IN_NOVEMBER)  # answered by a link whose opening went unrecorded
    invitation(tehran(2026, 10, 20), answered_at=tehran(2026, 10, 20))
    InvitationFactory(survey=tehran_survey, status="scheduled")  # not sent

    [row] = response_rate_trend(tehran_survey.shop, **NOVEMBER)

    assert row.tally == ResponseRate(sent=4, opened=3, answered=2)
    assert (row.tally.open_rate, row.tally.answer_rate, row.previous.answer_rate) == (75.0, 50.0, 100.0)


def test_response_rate_by_customer_language(tehran_survey):
    persian = CustomerFactory(shop=tehran_survey.shop, language="fa")
    InvitationFactory(
        survey=tehran_survey, order__customer=persian, sent_at=IN_NOVEMBER, answered_at=IN_NOVEMBER, status="answered"
    )
    InvitationFactory(survey=tehran_survey, sent_at=IN_NOVEMBER, status="sent")

    rows = response_rate_trend(tehran_survey.shop, **NOVEMBER, by=Cut.LANGUAGE)

    assert [(row.group, row.tally) for row in rows] == [
        ("en", ResponseRate(sent=1, opened=0, answered=0)),
        ("fa", ResponseRate(sent=1, opened=1, answered=1)),
    ]


# --- One query, however many periods and groups ------------------------------------------------


def answered_everything(survey, *, at: datetime, channel: str) -> None:
    """An invitation sent and answered at `at`, its order of one product, every scale answered."""
    response = ResponseFactory(
        invitation__survey=survey, invitation__channel=channel, invitation__sent_at=at, submitted_at=at, score=9
    )
    OrderLine.objects.create(order=response.invitation.order, sku=f"SKU-{channel}")
    for kind in (Question.Kind.CSAT, Question.Kind.CES):
        question, _ = Question.objects.get_or_create(survey=survey, kind=kind, defaults={"text": kind})
        Answer.objects.create(response=response, question=question, score=5)


@pytest.mark.parametrize("cut_by", [None, *Cut])
@pytest.mark.parametrize("periods", [1, 3])
def test_a_trend_takes_the_same_queries_however_many_periods_and_groups(
    tehran_survey, cut_by, periods, django_assert_num_queries
):
    for month in range(periods):
        for channel in ["email", "sms", "email"][:periods]:
            answered_everything(tehran_survey, at=tehran(2026, 11 - month, 10), channel=channel)
    since = date(2026, 12 - periods, 1)

    # Scores: the shop's questions of the kind, then one aggregate. Response rate: one aggregate.
    for trend, queries in ((nps_trend, 2), (csat_trend, 2), (ces_trend, 2), (response_rate_trend, 1)):
        with django_assert_num_queries(queries):
            rows = trend(tehran_survey.shop, since=since, until=date(2026, 11, 30), by=cut_by)
        assert len({row.period_label for row in rows}) == periods
        assert sum(row.tally.responses if hasattr(row.tally, "responses") else row.tally.sent for row in rows) == (
            periods * min(periods, 3)
        )


# --- answer.submitted_at, kept by the database --------------------------------------------------


def test_an_answer_carries_its_responses_time_however_it_is_saved(tehran_survey):
    response = ResponseFactory(invitation__survey=tehran_survey, submitted_at=IN_NOVEMBER, score=9)
    comment = tehran_survey.questions.get(kind="comment")
    # As the answer page saves: bulk_create, an upsert, no signals.
    Answer.objects.bulk_create(
        [Answer(response=response, question=comment, text="Quick delivery")],
        update_conflicts=True,
        unique_fields=["response", "question"],
        update_fields=["score", "text", "choices"],
    )

    assert set(response.answers.values_list("submitted_at", flat=True)) == {IN_NOVEMBER}


def test_an_answers_time_follows_its_response_and_cannot_be_set_apart(tehran_survey):
    response = ResponseFactory(invitation__survey=tehran_survey, submitted_at=IN_NOVEMBER, score=9)
    answer = response.answers.get()

    response.submitted_at = tehran(2026, 10, 2)
    response.save()
    Answer.objects.filter(pk=answer.pk).update(submitted_at=tehran(2020, 1, 1))

    answer.refresh_from_db()
    assert answer.submitted_at == tehran(2026, 10, 2)
