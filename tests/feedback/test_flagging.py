"""Which answers become cases, with what priority and due time."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from feedback.casework.flagging import due_time, flag_response, found_keywords, priority_for
from feedback.models import Answer, CaseEvent, FlagRules, FollowUp
from sentiment.models import SentimentScore
from surveys.models import Question
from tests.factories import OrderFactory, ResponseFactory, SurveyFactory

TEHRAN = ZoneInfo("Asia/Tehran")
pytestmark = pytest.mark.django_db


def scored(response, polarity):
    """Give the response's comment the sentiment the analyzer would have given it."""
    answer = response.answers.get(question__kind="comment")
    label = "negative" if polarity < 0 else "positive"
    SentimentScore.objects.create(
        answer=answer, polarity=polarity, label=label, confidence=abs(polarity), language="en", analyzer="t"
    )
    return response


def test_a_detractor_is_flagged_with_its_reason_priority_and_due_time():
    response = ResponseFactory(score=2)

    case = flag_response(response)

    assert case.reasons == ["detractor"]
    assert case.priority == FollowUp.Priority.HIGH  # severity 3: a score of 0–3
    assert case.due_at is not None
    assert CaseEvent.objects.get(follow_up=case).action == "flagged"


@pytest.mark.parametrize("score", [7, 8, 9, 10])
def test_a_passive_or_promoter_without_a_bad_comment_is_not_flagged(score):
    assert flag_response(ResponseFactory(score=score, comment="Fine.")) is None
    assert not FollowUp.objects.exists()


def test_a_promoter_with_a_clearly_negative_comment_is_a_silent_detractor():
    response = scored(ResponseFactory(score=9, comment="The courier threw the parcel at me."), -0.7)

    case = flag_response(response)

    assert case.reasons == ["silent_detractor"]


def test_a_detractors_negative_comment_adds_its_reason_and_severity():
    response = scored(ResponseFactory(score=5, comment="Slow and rude."), -0.6)

    case = flag_response(response)

    assert case.reasons == ["detractor", "negative_comment"]
    assert case.priority == FollowUp.Priority.HIGH  # 2 + 1


def test_warning_words_are_found_in_english_and_persian_whatever_the_letters():
    rules = FlagRules()

    assert found_keywords("I want a REFUND now", rules.keyword_list) == ["refund"]
    # Arabic yeh and kaf, a zero-width non-joiner: the same word to a Persian reader.
    assert found_keywords("کالا خراب بود، مي\u200cخواهم مرجوع کنم", rules.keyword_list) == ["مرجوع", "خراب"]
    assert found_keywords("دیگر خريد نمي کنم", rules.keyword_list) == ["دیگر خرید نمی کنم"]
    assert found_keywords("All good, thanks", rules.keyword_list) == []


def test_a_keyword_makes_a_low_score_urgent_and_is_shown_on_the_case():
    case = flag_response(ResponseFactory(score=1, comment="It arrived broken, I want a refund."))

    assert case.reasons == ["detractor", "keyword"]
    assert sorted(case.keywords) == ["broken", "refund"]
    assert case.priority == FollowUp.Priority.URGENT  # 3 + 2


def test_low_csat_is_flagged():
    survey = SurveyFactory(questions=False)
    csat = Question.objects.create(survey=survey, kind=Question.Kind.CSAT, text="Satisfied?")
    response = ResponseFactory(invitation__survey=survey)
    Answer.objects.create(response=response, question=csat, score=1)

    assert flag_response(response).reasons == ["low_csat"]


def test_a_second_low_score_from_the_same_customer_is_flagged():
    first = ResponseFactory(score=4)
    second = ResponseFactory(
        score=5,
        invitation__order__customer=first.customer,
        invitation__survey=first.survey,
        submitted_at=first.submitted_at + timedelta(days=30),
    )

    case = flag_response(second)

    assert case.reasons == ["detractor", "repeat_low"]


def test_a_loyal_customer_comes_first():
    response = ResponseFactory(score=5)
    OrderFactory.create_batch(3, shop=response.shop, customer=response.customer, total=Decimal("10"))

    case = flag_response(response)

    assert (case.customer_orders, case.customer_spend) == (4, Decimal("79.90"))
    assert case.priority == FollowUp.Priority.HIGH  # severity 2, but loyal


def shop_of_twenty(response):
    """19 other customers, one order of 50 each: with the response's customer, 20 in all."""
    for _ in range(19):
        OrderFactory(shop=response.shop, total=Decimal("50"))


def test_a_customer_among_the_shops_top_spenders_comes_first_on_their_first_order():
    response = ResponseFactory(score=5, invitation__order__total=Decimal("900"))
    shop_of_twenty(response)

    case = flag_response(response)

    assert (case.customer_orders, case.customer_spend, case.customer_rank) == (1, Decimal("900"), 5)  # 1 of 20
    assert case.priority == FollowUp.Priority.HIGH  # severity 2, but in the shop's top tenth by spend


def test_an_ordinary_spender_is_ranked_and_not_raised():
    response = ResponseFactory(score=5, invitation__order__total=Decimal("50"))
    shop_of_twenty(response)

    case = flag_response(response)

    assert (case.customer_rank, case.priority) == (100, FollowUp.Priority.NORMAL)  # all 20 spent as much


def test_the_top_spender_rule_can_be_turned_off():
    response = ResponseFactory(score=5, invitation__order__total=Decimal("900"))
    shop_of_twenty(response)
    FlagRules.objects.create(shop=response.shop, top_customers_percent=None)

    case = flag_response(response)

    assert (case.customer_rank, case.priority) == (5, FollowUp.Priority.NORMAL)


def test_a_shop_can_turn_rules_off():
    response = ResponseFactory(score=3)
    FlagRules.objects.create(shop=response.shop, nps_at_most=None)

    assert flag_response(response) is None


def test_judging_again_adds_reasons_and_raises_priority_never_lowers_it():
    response = ResponseFactory(score=6, comment="meh")
    case = flag_response(response)
    Answer.objects.filter(response=response, question__kind="comment").update(text="I will ask for a refund")

    again = flag_response(response)

    assert again.pk == case.pk
    assert again.reasons == ["detractor", "keyword"]
    assert again.priority < case.priority
    assert again.due_at <= case.due_at
    assert list(CaseEvent.objects.values_list("action", flat=True)) == ["flagged", "reflagged"]


def test_reasons_read_in_rule_order_whichever_reading_found_them_first():
    # The comment was read before its sentiment score existed (a reading racing the answer page).
    response = ResponseFactory(score=3, comment="It arrived broken and nobody answered.")
    assert flag_response(response).reasons == ["detractor", "keyword"]

    again = flag_response(scored(response, -0.8))

    assert again.reasons == ["detractor", "negative_comment", "keyword"]


@pytest.mark.parametrize(
    ("severity", "loyal", "priority"),
    [(5, False, 1), (3, True, 1), (3, False, 2), (0, True, 2), (2, False, 3), (1, False, 4)],
)
def test_priority_weighs_severity_against_loyalty(severity, loyal, priority):
    assert priority_for(severity, loyal=loyal) == priority


def test_the_sla_counts_business_hours_only():
    rules = FlagRules(business_from_hour=9, business_until_hour=17, working_days="6,7,1,2,3")  # Saturday–Wednesday

    # Wednesday 16:00 in Tehran + 4 business hours: 1 hour on Wednesday, 3 on Saturday.
    wednesday = datetime(2026, 11, 25, 16, 0, tzinfo=TEHRAN)
    assert due_time(wednesday, hours=4, rules=rules, tz=TEHRAN) == datetime(2026, 11, 28, 12, 0, tzinfo=TEHRAN)
    # Flagged at night: the clock starts when the office opens.
    night = datetime(2026, 11, 23, 23, 30, tzinfo=TEHRAN)
    assert due_time(night, hours=2, rules=rules, tz=TEHRAN) == datetime(2026, 11, 24, 11, 0, tzinfo=TEHRAN)
    # 24 business hours are three working days.
    monday = datetime(2026, 11, 23, 9, 0, tzinfo=TEHRAN)
    assert due_time(monday, hours=24, rules=rules, tz=TEHRAN) == datetime(2026, 11, 25, 17, 0, tzinfo=TEHRAN)
