"""The repeat-customer rule is written twice: in Python for the survey filters
(surveys.outreach.planning.is_repeat_customer) and in SQL, by the trigger that records it on each response
(feedback migration 0013). Here both read the same order histories and must agree, on SQLite and
on PostgreSQL: earlier and later orders, test orders before and after, two orders at one moment,
another customer's order, and a customer's only order."""

from datetime import timedelta

import pytest

from surveys.outreach.planning import first_order_times, is_repeat_customer
from tests.factories import CustomerFactory, OrderFactory, ResponseFactory, SurveyFactory
from tests.feedback.test_metrics import tehran

# Each customer's orders as (days after the start, is a test order).
HISTORIES = [
    [(0, False)],
    [(0, False), (10, False)],
    [(0, True), (10, False)],
    [(0, False), (10, True), (20, False)],
    [(0, True), (5, True), (10, False), (20, False)],
    [(0, False), (0, False)],  # two orders at the same moment: neither came before the other
    [(0, True), (0, False), (3, False)],
    [(10, False), (0, False)],  # stored in another order than they were placed
    [(0, True)],
]


@pytest.mark.django_db
def test_the_trigger_and_the_survey_filters_agree_on_who_is_a_repeat_customer():
    survey = SurveyFactory()
    start = tehran(2026, 9, 1)
    orders = []
    for history in HISTORIES:
        customer = CustomerFactory(shop=survey.shop)
        orders += [
            OrderFactory(shop=survey.shop, customer=customer, placed_at=start + timedelta(days=days), is_test=is_test)
            for days, is_test in history
        ]
    OrderFactory(shop=survey.shop, placed_at=start - timedelta(days=30))  # another customer's: no bearing
    # Both read the history as it stands when the response is stored (the trigger: as the shop
    # knew it then), so every order is in before the first response.
    responses = [ResponseFactory(invitation__survey=survey, invitation__order=order) for order in orders]

    first_order_at = first_order_times({response.invitation.order.customer_id for response in responses})
    recorded, by_python = [], []
    for response in responses:
        response.refresh_from_db()
        recorded.append(response.repeat_customer)
        by_python.append(is_repeat_customer(response.invitation.order, first_order_at))

    assert recorded == by_python
    # The histories cover both answers, and the ties and test orders that make them differ.
    assert recorded.count(True) >= 6
    assert recorded.count(False) >= 6
