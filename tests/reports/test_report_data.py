"""The monthly report's figures, built without WeasyPrint and checked against the database."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import translation

from feedback.casework.flagging import flag_response
from feedback.domain import analyse_response
from feedback.insights.periods import Calendar
from feedback.insights.tallies import NpsTally
from feedback.models import FollowUp
from reports.data import monthly_report_data
from reports.flagged import Sla
from reports.pdf import _flagged_for_reading
from reports.returning import stage_of
from surveys.models import OrderLine
from tests.factories import CustomerFactory, OrderFactory, ResponseFactory, SurveyFactory

# Dates and months against the clock: CI runs these on the days calendars turn.
pytestmark = pytest.mark.calendar

TEHRAN = ZoneInfo("Asia/Tehran")
OCTOBER = date(2026, 10, 1)
NOW = datetime(2026, 11, 2, 9, tzinfo=TEHRAN)


def at(month: int, day: int, hour: int = 12, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, tzinfo=TEHRAN)


def answered(survey, when, score, comment="", *, customer=None, flag=False, **order):  # type: ignore[no-untyped-def]
    """A response submitted `when`; flagged (as the shop's rules decide) at that time too."""
    order = {"placed_at": when - timedelta(days=2), **order}
    order_fields = {f"invitation__order__{key}": value for key, value in order.items()}
    if customer is not None:
        order_fields["invitation__order__customer"] = customer
    response = ResponseFactory(
        invitation__survey=survey,
        invitation__sent_at=when - timedelta(hours=3),
        submitted_at=when,
        score=score,
        comment=comment or None,
        **order_fields,
    )
    if flag:
        with time_machine.travel(when, tick=False):
            analyse_response(response) if comment else flag_response(response)
    return response


@pytest.fixture
def survey(db):  # type: ignore[no-untyped-def]
    return SurveyFactory(shop__name="Gol Shop", shop__slug="gol", shop__timezone="Asia/Tehran")


def test_headline_counts_the_month_in_the_shops_time_zone(survey):
    # October in Tehran: from 1 Oct 00:00 +03:30 to 1 Nov 00:00 +03:30.
    for when, score in [(at(10, 1, 0), 10), (at(10, 5), 9), (at(10, 9), 7), (at(10, 31, 23), 2)]:
        answered(survey, when, score)
    answered(survey, at(9, 30, 23), 0)  # September, though October already in UTC+0… no: 20:30 UTC
    answered(survey, at(11, 1, 0), 0)  # November in Tehran, still 31 October in UTC

    report = monthly_report_data(survey.shop, month=OCTOBER, now=NOW)

    nps = report.headline.nps
    assert (nps.promoters, nps.passives, nps.detractors) == (2, 1, 1)
    assert nps.score == 25.0
    assert report.headline.responses == 4
    assert report.distribution == [0, 0, 1, 0, 0, 0, 0, 1, 0, 1, 1]
    assert report.month.label == "2026-10"
    assert report.headline.funnel.sent == 4  # sent three hours before each answer
    assert report.headline.funnel.answered == 0  # the factory's invitations record no answered_at


def test_changes_against_last_month_and_last_year_say_whether_they_are_real(survey):
    for score in [10] * 20 + [0] * 20:
        answered(survey, at(10, 10), score)
    for _ in range(40):
        answered(survey, at(9, 10), 0)
    for score in (9, 9, 10, 7, 6):
        answered(survey, at(10, 10, year=2025), score)

    headline = monthly_report_data(survey.shop, month=OCTOBER, now=NOW).headline

    # NPS 0 from 40 answers against −100 from 40: z ≈ 5.9, real.
    assert headline.vs_previous_month.previous == NpsTally(0, 0, 40)
    assert headline.vs_previous_month.points == 100.0
    assert headline.vs_previous_month.significant is True
    # Against 40 from five answers a year ago: adjusted-Wald z ≈ −0.79, within the margin.
    assert headline.vs_last_year.previous == NpsTally(3, 1, 1)
    assert headline.vs_last_year.points == -40.0
    assert headline.vs_last_year.significant is False


def test_the_trend_has_twelve_months_ending_with_the_reported_one(survey):
    answered(survey, at(11, 15, year=2025), 10)
    answered(survey, at(10, 15), 0)

    trend = monthly_report_data(survey.shop, month=OCTOBER, now=NOW).trend

    assert [point.label for point in trend] == [f"2025-{m:02d}" for m in (11, 12)] + [
        f"2026-{m:02d}" for m in range(1, 11)
    ]
    assert trend[0].nps.score == 100.0
    assert trend[-1].nps.score == -100.0
    assert all(point.nps.responses == 0 for point in trend[1:-1])


def test_a_jalali_month_runs_from_its_first_day(survey):
    # Aban 1405 is 23 Oct – 21 Nov 2026.
    answered(survey, at(10, 22, 23), 0)
    answered(survey, at(10, 23, 0), 10)
    answered(survey, at(11, 21, 23), 9)
    answered(survey, at(11, 22, 0), 0)

    report = monthly_report_data(survey.shop, month=date(2026, 11, 1), calendar=Calendar.JALALI, now=NOW)

    assert report.month.label == "1405-08"
    assert (report.month.first_day, report.month.last_day) == (date(2026, 10, 23), date(2026, 11, 21))
    assert report.headline.nps == NpsTally(2, 0, 0)
    assert len(report.trend) == 12
    assert report.trend[0].label == "1404-09"


def test_themes_count_mentions_with_their_feeling_and_find_what_is_rising(survey):
    # The three months before: packaging in 3 comments of 30.
    for month in (7, 8, 9):
        for number in range(10):
            answered(survey, at(month, 5 + number), 9, "Lovely colours, thank you" if number else "Nice box")
    # October: packaging in 8 comments of 20, negatively; delivery praised twice.
    for number in range(8):
        answered(survey, at(10, 2 + number), 3, "The box was crushed and the packaging torn")
    for number in range(2):
        answered(survey, at(10, 12 + number), 10, "Fast delivery, excellent")
    for number in range(10):
        answered(survey, at(10, 15 + number), 8, "Lovely colours, thank you")
    for response in survey.shop.responses.all():
        analyse_response(response)

    report = monthly_report_data(survey.shop, month=OCTOBER, now=NOW)

    assert report.comments == 20
    themes = {row.theme: row for row in report.themes}
    packaging = themes["packaging"]
    assert (packaging.mentions, packaging.negative, packaging.positive) == (8, 8, 0)
    assert packaging.share == 40.0
    assert packaging.baseline_share == 10.0
    assert packaging.rising is True
    assert (themes["delivery"].mentions, themes["delivery"].positive) == (2, 2)
    assert themes["delivery"].rising is False  # 2 of 20 against none before: not enough to tell
    assert report.themes[0].theme == "packaging"  # the most mentioned first


def test_quotes_are_the_clearest_comments_each_from_another_customer_and_said_once(survey):
    customer = CustomerFactory(shop=survey.shop)
    answered(survey, at(10, 2), 10, "Absolutely wonderful service, I love this shop!", customer=customer)
    answered(survey, at(10, 3), 10, "Absolutely wonderful service, I love this shop!", customer=customer)
    answered(survey, at(10, 4), 10, "Absolutely wonderful service, I love this shop!")
    answered(survey, at(10, 5), 9, "Good quality, arrived on time and well packed.")
    answered(survey, at(10, 6), 1, "Terrible. Broken on arrival and nobody answers my emails.")
    answered(survey, at(10, 7), 1, "Bad")  # too short to quote
    for response in survey.shop.responses.all():
        analyse_response(response)

    report = monthly_report_data(survey.shop, month=OCTOBER, now=NOW)

    assert {quote.text for quote in report.praise} == {
        "Absolutely wonderful service, I love this shop!",
        "Good quality, arrived on time and well packed.",
    }
    assert report.praise[0].polarity >= report.praise[1].polarity > 0
    assert [(quote.text, quote.score) for quote in report.complaints] == [
        ("Terrible. Broken on arrival and nobody answers my emails.", 1)
    ]


def test_the_persian_edition_quotes_persian_comments_first(survey):
    answered(survey, at(10, 2), 10, "Absolutely wonderful service, I love this shop!")
    answered(survey, at(10, 3), 10, "Perfect, amazing quality, the best shop ever!")
    answered(survey, at(10, 4), 9, "کیفیت خوب بود و به موقع رسید، ممنون")
    answered(survey, at(10, 5), 1, "Terrible. Broken on arrival and nobody answers my emails.")
    answered(survey, at(10, 6), 2, "بسته خراب رسید و کسی جواب نداد")
    for response in survey.shop.responses.all():
        analyse_response(response)

    persian = monthly_report_data(survey.shop, month=OCTOBER, now=NOW, language="fa")
    english = monthly_report_data(survey.shop, month=OCTOBER, now=NOW, language="en")

    assert persian.praise[0].text == "کیفیت خوب بود و به موقع رسید، ممنون"
    assert persian.complaints[0].text == "بسته خراب رسید و کسی جواب نداد"
    assert english.praise[0].text != "کیفیت خوب بود و به موقع رسید، ممنون"
    assert english.complaints[0].text == "Terrible. Broken on arrival and nobody answers my emails."
    assert len(persian.praise) == len(english.praise) == 3


def test_products_with_enough_answers_are_compared_with_the_rest_of_the_shop(survey):
    for number in range(12):
        response = answered(survey, at(10, 1 + number), 2, "The zipper broke, poor quality")
        OrderLine.objects.create(order=response.invitation.order, sku="BAG-1", product_name="Travel bag")
    for number in range(30):
        response = answered(survey, at(10, 1 + number % 28), 10)
        OrderLine.objects.create(order=response.invitation.order, sku="MUG-1", product_name="Mug")
    for number in range(3):  # too few to say anything
        response = answered(survey, at(10, 2 + number), 0)
        OrderLine.objects.create(order=response.invitation.order, sku="PEN-1", product_name="Pen")
    for response in survey.shop.responses.all():
        analyse_response(response)

    products = monthly_report_data(survey.shop, month=OCTOBER, now=NOW).products

    assert [(row.product, row.nps.responses, row.nps.score) for row in products] == [
        ("Mug", 30, 100.0),
        ("Travel bag", 12, -100.0),
    ]
    assert [row.below_the_rest for row in products] == [False, True]
    assert products[1].top_complaint == "quality"


def test_flagged_customers_with_their_case_and_whether_they_came_back(survey):
    late = answered(survey, at(10, 3, 10), 1, "Broken, I want a refund", flag=True, external_id="A-1")
    on_time = answered(survey, at(10, 4, 10), 2, flag=True, external_id="A-2")
    never = answered(survey, at(10, 5, 10), 0, flag=True, external_id="A-3")
    answered(survey, at(9, 20), 0, flag=True)  # September's
    answered(survey, at(10, 6), 10, flag=True)  # a promoter: not flagged
    late_case, on_time_case = late.follow_up, on_time.follow_up
    FollowUp.objects.filter(pk=late_case.pk).update(
        first_contact_at=late_case.due_at + timedelta(hours=1),
        status=FollowUp.Status.RESOLVED,
        resolved_at=at(10, 8),
        resolution=FollowUp.Resolution.GOODWILL,
        goodwill=FollowUp.Goodwill.REFUND,
    )
    FollowUp.objects.filter(pk=on_time_case.pk).update(
        first_contact_at=at(10, 4, 11), status=FollowUp.Status.RESOLVED, resolved_at=at(10, 4, 15)
    )
    OrderFactory(shop=survey.shop, customer=late.customer, placed_at=at(10, 20))  # bought again
    OrderFactory(shop=survey.shop, customer=on_time.customer, placed_at=at(10, 1))  # before: not again

    report = monthly_report_data(survey.shop, month=OCTOBER, now=NOW)

    assert [row.order for row in report.flagged] == ["A-1", "A-2", "A-3"]
    first, second, third = report.flagged
    assert first.reasons == ["detractor", "negative_comment", "keyword"]
    assert (first.comment, first.score, first.came_back, first.sla) == ("Broken, I want a refund", 1, True, Sla.LATE)
    assert (first.resolution, first.goodwill) == ("goodwill", "refund")
    assert (second.came_back, second.sla, second.time_to_first_contact) == (False, Sla.MET, timedelta(hours=1))
    assert (third.came_back, third.sla, third.time_to_first_contact) == (None, Sla.OVERDUE, None)
    assert third.customer == never.customer.name
    assert (report.sla.met, report.sla.late, report.sla.overdue, report.sla.met_rate) == (1, 1, 1, 100 / 3)
    assert third.answered_at == at(10, 5, 10)
    assert (report.recovery.cases, report.recovery.resolved, report.recovery.came_back) == (3, 2, 1)


def test_the_list_says_when_each_customer_answered_and_a_closed_case_has_no_sla_to_miss(survey):
    open_case = answered(survey, at(10, 3, 10), 1, flag=True, external_id="A-1").follow_up
    settled = answered(survey, at(10, 5, 10), 0, flag=True, external_id="A-2").follow_up
    # Closed after its due time without anyone contacting the customer: not "never contacted".
    FollowUp.objects.filter(pk=settled.pk).update(status=FollowUp.Status.NO_CONTACT, resolved_at=at(10, 25))

    report = monthly_report_data(survey.shop, month=OCTOBER, now=NOW, calendar=Calendar.JALALI)
    first, second = report.flagged
    with translation.override("fa"):
        listed = [_flagged_for_reading(row, calendar=Calendar.JALALI, tz=TEHRAN) for row in (first, second)]

    assert (first.sla, second.sla) == (Sla.OVERDUE, Sla.NONE)
    assert (report.sla.overdue, report.sla.late, report.sla.met) == (1, 0, 0)  # "1 never contacted": the open one
    assert "پاسخ در ۱۱ مهر ۱۴۰۵" in listed[0]["who"]  # 3 October 2026
    assert "بدون مسئول" in listed[0]["what"]  # open: nobody yet
    assert "بدون مسئول" not in listed[1]["what"]  # closed: nobody owning it is no news
    assert open_case.pk == first.case_id


def test_retention_counts_returning_customers_and_revenue_at_risk(survey):
    shop = survey.shop
    loyal, new, unhappy = (CustomerFactory(shop=shop) for _ in range(3))
    OrderFactory(shop=shop, customer=loyal, placed_at=at(3, 1), total=Decimal("100"))
    OrderFactory(shop=shop, customer=loyal, placed_at=at(10, 2), total=Decimal("300"))
    OrderFactory(shop=shop, customer=new, placed_at=at(10, 3), total=Decimal("100"))
    OrderFactory(shop=shop, customer=new, placed_at=at(10, 4), total=Decimal("50"), cancelled_at=at(10, 5))
    OrderFactory(shop=shop, customer=unhappy, placed_at=at(10, 6), total=Decimal("80"), currency="EUR")
    OrderFactory(shop=shop, customer=unhappy, placed_at=at(10, 7), total=Decimal("999"), currency="USD")
    answered(survey, at(10, 9), 0, customer=unhappy, flag=True, total=Decimal("20"))

    retention = monthly_report_data(shop, month=OCTOBER, now=NOW).retention

    assert retention.currency == "EUR"
    # October, in euros, not cancelled: loyal 300 (returning), new 100, unhappy 80 and 20 (the second returning).
    assert (retention.orders, retention.revenue, retention.customers) == (4, Decimal("500"), 3)
    assert (retention.returning_customers, retention.returning_revenue) == (2, Decimal("320"))
    assert retention.returning_revenue_share == 64.0
    assert (retention.year_customers, retention.year_repeat_customers, retention.year_orders) == (3, 2, 5)
    assert retention.purchase_frequency == 5 / 3
    assert (retention.at_risk_customers, retention.revenue_at_risk) == (1, Decimal("100"))
    assert retention.stage.key == "starting"


def test_a_flagged_top_spender_is_marked_as_revenue_at_risk(survey):
    for day in range(1, 20):
        OrderFactory(shop=survey.shop, placed_at=at(9, day), total=Decimal("50"))
    big = answered(survey, at(10, 9), 0, flag=True, total=Decimal("900"))
    small = answered(survey, at(10, 10), 0, flag=True, total=Decimal("5"))

    rows = {row.case_id: row for row in monthly_report_data(survey.shop, month=OCTOBER, now=NOW).flagged}

    assert (rows[big.follow_up.pk].top_percent, rows[small.follow_up.pk].top_percent) == (5, None)
    with translation.override("en"):
        line = _flagged_for_reading(rows[big.follow_up.pk])["who"]
    assert line.endswith(" · top 5% by spend")


def test_test_orders_are_not_counted(survey):
    shop = survey.shop
    customer = CustomerFactory(shop=shop)
    # The store's test orders, months back and this month, in a currency the shop does not sell in.
    OrderFactory(shop=shop, customer=customer, placed_at=at(3, 1), total=Decimal("5"), currency="USD", is_test=True)
    for day in (2, 3):
        OrderFactory(shop=shop, placed_at=at(10, day), total=Decimal("1"), currency="USD", is_test=True)
    OrderFactory(shop=shop, customer=customer, placed_at=at(10, 4), total=Decimal("70"), currency="EUR")

    retention = monthly_report_data(shop, month=OCTOBER, now=NOW).retention

    assert (retention.currency, retention.orders, retention.revenue, retention.customers) == ("EUR", 1, 70, 1)
    assert (retention.returning_customers, retention.year_orders) == (0, 1)
    assert retention.stage.key == "new"  # no real order before October


@pytest.mark.parametrize(
    ("orders", "history", "stage", "effort"),
    [
        (40, False, "new", 0),
        (0, True, "starting", 15),
        (9, True, "starting", 15),
        (10, True, "one_a_day", 30),
        (99, True, "one_a_day", 30),
        (100, True, "ten_a_day", 50),
        (499, True, "ten_a_day", 50),
        (500, True, "established", None),
    ],
)
def test_stage_by_orders_a_month(orders, history, stage, effort):
    assert (stage_of(orders, has_history=history).key, stage_of(orders, has_history=history).effort) == (stage, effort)


@pytest.mark.parametrize("flagged", [1, 4])
def test_queries_do_not_grow_with_the_flagged(survey, flagged, django_assert_num_queries):
    for number in range(flagged):
        response = answered(survey, at(10, 5 + number), 1, "Broken and late", flag=True)
        OrderLine.objects.create(order=response.invitation.order, sku=f"SKU-{number}", product_name="Thing")
    with django_assert_num_queries(22):
        report = monthly_report_data(survey.shop, month=OCTOBER, now=NOW)

    assert len(report.flagged) == flagged
