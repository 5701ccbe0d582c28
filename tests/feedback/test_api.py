from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from feedback.insights.tallies import NpsTally
from feedback.models import Answer
from surveys.models import Question
from tests.factories import InvitationFactory, ResponseFactory

# Dates and months against the clock: CI runs these on the days calendars turn.
pytestmark = pytest.mark.calendar

TEHRAN = ZoneInfo("Asia/Tehran")

# The shop the `api` client acts for is in Asia/Tehran (see tests/factories.py).
LAST_OF_ABAN = datetime(2026, 11, 21, 23, 59, tzinfo=TEHRAN)
FIRST_OF_AZAR = datetime(2026, 11, 22, 0, 0, tzinfo=TEHRAN)


def test_nps_trend_gives_a_row_per_jalali_month_and_channel(api, survey):
    for score in (10, 9, 3):
        ResponseFactory(invitation__survey=survey, invitation__channel="email", submitted_at=LAST_OF_ABAN, score=score)
    ResponseFactory(invitation__survey=survey, invitation__channel="sms", submitted_at=FIRST_OF_AZAR, score=10)

    response = api.get("/api/v1/metrics/nps/trend?since=2026-11-01&until=2026-11-30&calendar=jalali&by=channel")

    assert response.status_code == 200
    aban = {"period_start": "2026-10-23", "period_end": "2026-11-21", "period_label": "1405-08"}
    azar = {"period_start": "2026-11-22", "period_end": "2026-12-21", "period_label": "1405-09"}
    nothing = {"responses": 0, "promoters": 0, "passives": 0, "detractors": 0, "nps": None, "margin_of_error": None}
    assert response.json() == [
        {
            **aban,
            "group": "email",
            "group_label": "Email",
            "responses": 3,
            "promoters": 2,
            "passives": 0,
            "detractors": 1,
            "nps": 33.3,
            "margin_of_error": round(NpsTally(2, 0, 1).margin_of_error, 1),
            "previous_nps": None,
            "changed_significantly": None,
        },
        {**aban, "group": "sms", "group_label": "SMS", **nothing, "previous_nps": None, "changed_significantly": None},
        {
            **azar,
            "group": "email",
            "group_label": "Email",
            **nothing,
            "previous_nps": 33.3,
            "changed_significantly": None,
        },
        {
            **azar,
            "group": "sms",
            "group_label": "SMS",
            "responses": 1,
            "promoters": 1,
            "passives": 0,
            "detractors": 0,
            "nps": 100.0,
            "margin_of_error": round(NpsTally(1, 0, 0).margin_of_error, 1),
            "previous_nps": None,
            "changed_significantly": None,
        },
    ]


def test_nps_trend_defaults_to_the_last_twelve_months(api, survey, time_machine):
    time_machine.move_to("2026-11-15T12:00:00Z", tick=False)
    ResponseFactory(invitation__survey=survey, score=9)

    rows = api.get("/api/v1/metrics/nps/trend").json()

    assert [row["period_label"] for row in rows] == ["2025-12", *(f"2026-{month:02}" for month in range(1, 12))]
    assert (rows[-1]["responses"], rows[-1]["group"], rows[-1]["group_label"]) == (1, None, "All")


def test_csat_trend_reports_the_share_of_satisfied_answers(api, survey):
    csat = Question.objects.create(survey=survey, kind=Question.Kind.CSAT, text="Satisfied?")
    for score in (5, 4, 2):
        response = ResponseFactory(invitation__survey=survey, submitted_at=LAST_OF_ABAN)
        Answer.objects.create(response=response, question=csat, score=score)

    [row] = api.get("/api/v1/metrics/csat/trend?since=2026-11-01&until=2026-11-30").json()

    assert row == {
        "period_start": "2026-11-01",
        "period_end": "2026-11-30",
        "period_label": "2026-11",
        "group": None,
        "group_label": "All",
        "responses": 3,
        "satisfied": 2,
        "csat": 66.7,
        # Wilson, 2 of 3 (z² = 3.8416): (0.6667 + 0.6403 ± 1.96 · √(0.0741 + 0.1067)) / 2.2805.
        "csat_low": 20.8,
        "csat_high": 93.9,
        "previous_csat": None,
        "changed_significantly": None,
    }


def test_ces_trend_reports_the_mean_effort(api, survey):
    ces = Question.objects.create(survey=survey, kind=Question.Kind.CES, text="How easy?")
    for score in (7, 6, 6):
        response = ResponseFactory(invitation__survey=survey, submitted_at=LAST_OF_ABAN)
        Answer.objects.create(response=response, question=ces, score=score)

    [row] = api.get("/api/v1/metrics/ces/trend?since=2026-11-01&until=2026-11-30").json()

    assert (row["responses"], row["ces"], row["previous_ces"]) == (3, 6.33, None)
    # s² = (0.444 + 0.111 + 0.111) / 2 = 1/3, se = √(1/9) = 1/3, t(0.975, 2) = 4.30265.
    assert (row["margin_of_error"], row["changed_significantly"]) == (1.43, None)


def test_response_rate_trend_follows_sent_opened_answered(api, survey):
    InvitationFactory(survey=survey, status="sent", sent_at=LAST_OF_ABAN)
    InvitationFactory(survey=survey, status="opened", sent_at=LAST_OF_ABAN, opened_at=LAST_OF_ABAN)
    InvitationFactory(
        survey=survey, status="answered", sent_at=LAST_OF_ABAN, opened_at=LAST_OF_ABAN, answered_at=FIRST_OF_AZAR
    )
    InvitationFactory(survey=survey, status="answered", sent_at=FIRST_OF_AZAR, answered_at=FIRST_OF_AZAR)

    rows = api.get("/api/v1/metrics/response-rate/trend?since=2026-11-01&until=2026-11-30&calendar=jalali").json()

    assert [
        (row["period_label"], row["sent"], row["opened"], row["answered"], row["open_rate"], row["answer_rate"])
        for row in rows
    ] == [("1405-08", 3, 2, 1, 66.7, 33.3), ("1405-09", 1, 1, 1, 100.0, 100.0)]
    assert rows[1]["previous_answer_rate"] == 33.3


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("since=2026-11-01&until=2026-10-01", "since must not be after until"),
        ("period=year", "Input should be 'day', 'week' or 'month'"),
        ("calendar=hijri", "Input should be 'gregorian' or 'jalali'"),
        ("by=colour", "Input should be 'channel', 'language', 'survey', 'product', 'customer_type' or 'value_tier'"),
        ("since=2020-01-01&until=2026-01-01&period=day", "makes more than 400 days"),
        ("since=yesterday", "Input should be a valid date"),
    ],
)
@pytest.mark.parametrize("metric", ["nps", "csat", "ces", "response-rate"])
def test_trends_reject_bad_input_with_a_clear_message(api, metric, query, message):
    response = api.get(f"/api/v1/metrics/{metric}/trend?{query}")

    assert response.status_code == 422
    assert message in response.content.decode()


def test_trends_show_only_the_asking_shops_numbers(api, other_api, survey):
    ResponseFactory(invitation__survey=survey, submitted_at=LAST_OF_ABAN, score=10)
    InvitationFactory(survey=survey, status="sent", sent_at=LAST_OF_ABAN)
    november = "since=2026-11-01&until=2026-11-30"

    mine = api.get(f"/api/v1/metrics/nps/trend?{november}").json()
    theirs = other_api.get(f"/api/v1/metrics/nps/trend?{november}").json()
    their_rates = other_api.get(f"/api/v1/metrics/response-rate/trend?{november}&by=channel").json()

    assert [row["responses"] for row in mine] == [1]
    assert [row["responses"] for row in theirs] == [0]
    assert their_rates == []


def test_trends_need_an_api_key(client, survey):
    assert client.get("/api/v1/metrics/nps/trend").status_code == 401


@pytest.mark.parametrize("count", [1, 3])
def test_nps_trend_queries_do_not_grow_with_periods_or_groups(api, survey, count, django_assert_num_queries):
    for month in range(count):
        for channel in ["email", "sms", "email"][:count]:
            submitted_at = datetime(2026, 11 - month, 10, tzinfo=TEHRAN)
            ResponseFactory(invitation__survey=survey, invitation__channel=channel, submitted_at=submitted_at, score=9)
    since = f"2026-{12 - count:02}-01"

    with django_assert_num_queries(4):  # key look-up, its last-used stamp, the shop's NPS questions, one aggregate
        rows = api.get(f"/api/v1/metrics/nps/trend?since={since}&until=2026-11-30&by=channel").json()

    assert len(rows) == count * min(count, 2)
