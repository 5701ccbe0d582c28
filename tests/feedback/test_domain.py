from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from feedback.casework.flagging import flag_response
from feedback.domain import analyse_response
from feedback.insights.tallies import NpsTally, nps_tally
from feedback.models import FollowUp
from sentiment import engine
from sentiment.models import SentimentScore
from tests.factories import ResponseFactory, ShopFactory, SurveyFactory

TEHRAN = ZoneInfo("Asia/Tehran")


def test_nps_worked_example_with_margin_of_error():
    tally = NpsTally(promoters=5, passives=3, detractors=2)

    assert tally.responses == 10
    assert tally.score == 30.0
    # Adjusted Wald: n = 13, p = 5.75/13, d = 2.75/13, variance = (p + d) - (p - d)^2.
    assert tally.margin_of_error == pytest.approx(42.128, abs=0.001)


def test_nps_margin_shrinks_with_more_answers():
    tally = NpsTally(promoters=50, passives=30, detractors=20)

    assert tally.score == 30.0
    assert tally.margin_of_error == pytest.approx(15.075, abs=0.001)


def test_nps_of_no_answers_is_unknown_not_zero():
    tally = NpsTally(promoters=0, passives=0, detractors=0)

    assert (tally.score, tally.margin_of_error) == (None, None)


@pytest.mark.django_db
def test_nps_tally_counts_the_shops_answers_in_the_period_only():
    survey = SurveyFactory(shop__timezone="Asia/Tehran")
    shop = survey.shop
    october = [datetime(2026, 10, 1, 0, 0, tzinfo=TEHRAN), datetime(2026, 10, 31, 23, 59, tzinfo=TEHRAN)]
    for submitted_at, score in zip(october, [10, 3], strict=True):
        ResponseFactory(invitation__survey=survey, submitted_at=submitted_at, score=score)
    ResponseFactory(invitation__survey=survey, submitted_at=datetime(2026, 11, 1, 0, 0, tzinfo=TEHRAN), score=0)
    ResponseFactory(invitation__survey=survey, submitted_at=datetime(2026, 9, 30, 23, 59, tzinfo=TEHRAN), score=0)
    ResponseFactory(invitation__survey=SurveyFactory(), submitted_at=october[0], score=0)  # another shop
    ResponseFactory(invitation__survey=survey, submitted_at=october[0], comment="no score given")

    tally = nps_tally(shop, since=datetime(2026, 10, 1, tzinfo=TEHRAN), until=datetime(2026, 11, 1, tzinfo=TEHRAN))

    assert tally == NpsTally(promoters=1, passives=0, detractors=1)


@pytest.mark.django_db
@pytest.mark.parametrize(("score", "flagged"), [(0, True), (6, True), (7, False), (10, False)])
def test_flag_response_flags_detractors_only(score, flagged):
    response = ResponseFactory(score=score)

    follow_up = flag_response(response)

    assert (follow_up is not None) == flagged
    assert FollowUp.objects.filter(response=response).exists() == flagged
    if flagged:
        assert (follow_up.reasons, follow_up.status, follow_up.shop) == (["detractor"], "open", response.shop)


@pytest.mark.django_db
def test_analysing_twice_keeps_one_follow_up_and_one_score():
    response = ResponseFactory(score=2, comment="Terrible service, the box was broken.")

    analyse_response(response)
    analyse_response(response)

    assert FollowUp.objects.count() == 1
    score = SentimentScore.objects.get()
    assert (score.label, score.language, score.analyzer) == ("negative", "en", engine.ENGLISH_VERSION)
    assert score.polarity < 0


@pytest.mark.django_db
def test_metrics_nps_endpoint_reports_score_margin_and_denominator(api, survey, time_machine):
    time_machine.move_to("2026-11-15T12:00:00Z", tick=False)
    for score in [10, 9, 8, 2]:
        ResponseFactory(invitation__survey=survey, score=score)
    ResponseFactory(invitation__survey=survey, submitted_at=datetime(2026, 9, 1, tzinfo=TEHRAN), score=0)

    body = api.get("/api/v1/metrics/nps").json()

    assert body == {
        "since": "2026-10-17",
        "until": "2026-11-15",
        "nps": 25.0,
        "margin_of_error": pytest.approx(NpsTally(2, 1, 1).margin_of_error, abs=0.05),
        "responses": 4,
        "promoters": 2,
        "passives": 1,
        "detractors": 1,
    }


@pytest.mark.django_db
def test_metrics_nps_endpoint_rejects_a_backwards_period(api):
    response = api.get("/api/v1/metrics/nps?since=2026-11-01&until=2026-10-01")

    assert response.status_code == 422
    assert "since must not be after until" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("responses", [1, 3])
def test_metrics_nps_queries_do_not_grow_with_answers(api, survey, responses, django_assert_num_queries):
    for _ in range(responses):
        ResponseFactory(invitation__survey=survey, score=9)

    with django_assert_num_queries(3):  # key look-up, its last-used stamp, one aggregate
        assert api.get("/api/v1/metrics/nps").json()["responses"] == responses


def test_another_shop_has_its_own_nps(db):
    answered = ResponseFactory(submitted_at=datetime(2026, 10, 9, tzinfo=TEHRAN), score=10)
    other = ShopFactory()
    october = {"since": datetime(2026, 10, 1, tzinfo=TEHRAN), "until": datetime(2026, 11, 1, tzinfo=TEHRAN)}

    assert nps_tally(answered.shop, **october) == NpsTally(promoters=1, passives=0, detractors=0)
    assert nps_tally(other, **october) == NpsTally(promoters=0, passives=0, detractors=0)
