"""CSAT's and CES's intervals and significance flags through the metrics API."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from feedback.models import Answer
from surveys.models import Question
from tests.factories import ResponseFactory

# Dates and months against the clock: CI runs these on the days calendars turn.
pytestmark = pytest.mark.calendar

TEHRAN = ZoneInfo("Asia/Tehran")
IN_OCTOBER = datetime(2026, 10, 10, 12, tzinfo=TEHRAN)
IN_NOVEMBER = datetime(2026, 11, 10, 12, tzinfo=TEHRAN)
TWO_MONTHS = "since=2026-10-01&until=2026-11-30"


def answers(survey, kind: str, at: datetime, *scores: int) -> None:
    question, _ = Question.objects.get_or_create(survey=survey, kind=kind, defaults={"text": kind})
    for score in scores:
        Answer.objects.create(
            response=ResponseFactory(invitation__survey=survey, submitted_at=at), question=question, score=score
        )


def test_csat_trend_flags_a_significant_change_with_each_months_interval(api, survey):
    answers(survey, Question.Kind.CSAT, IN_OCTOBER, 5, 4, 2, 2, 1, 3, 2, 2, 1, 3)  # 2 of 10 satisfied
    answers(survey, Question.Kind.CSAT, IN_NOVEMBER, 5, 5, 5, 5, 4, 4, 4, 5, 5, 1)  # 9 of 10

    october, november = api.get(f"/api/v1/metrics/csat/trend?{TWO_MONTHS}").json()

    # Wilson, 2 of 10: (0.2 + 0.19208 ± 1.96 · √(0.016 + 0.009604)) / 1.38416 = 0.283262 ± 0.226581.
    assert (october["csat"], october["csat_low"], october["csat_high"]) == (20.0, 5.7, 51.0)
    # 9 of 10: (0.9 + 0.19208 ± 1.96 · √(0.009 + 0.009604)) / 1.38416 = 0.788984 ± 0.193114.
    assert (november["csat"], november["csat_low"], november["csat_high"]) == (90.0, 59.6, 98.2)
    # p̄ = 0.55: z = 0.7 / √(0.2475 · 0.2) = 3.146.
    assert (november["previous_csat"], november["changed_significantly"]) == (20.0, True)
    assert october["changed_significantly"] is None  # September had no answers


def test_ces_trend_gives_the_margin_and_calls_a_small_move_within_chance(api, survey):
    answers(survey, Question.Kind.CES, IN_OCTOBER, 3, 5, 5, 7)
    answers(survey, Question.Kind.CES, IN_NOVEMBER, 2, 4, 4, 6)

    october, november = api.get(f"/api/v1/metrics/ces/trend?{TWO_MONTHS}").json()

    # Each month: s² = 8/3, se = √(8/3 / 4) = 0.816497, t(0.975, 3) = 3.18245: margin 2.598.
    assert (october["ces"], october["margin_of_error"]) == (5.0, 2.6)
    assert (november["ces"], november["margin_of_error"], november["previous_ces"]) == (4.0, 2.6, 5.0)
    # Welch: t = 1 / √(2 · 0.666667) = 0.866 on 6 degrees of freedom, below 2.447.
    assert november["changed_significantly"] is False
