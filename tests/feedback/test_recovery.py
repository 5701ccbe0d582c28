"""Did it work: the recovery survey after a resolved case, and customers who came back."""

from datetime import timedelta

import pytest
from django.utils import timezone

from feedback.casework import cases
from feedback.casework.flagging import flag_response
from feedback.casework.recovery import came_back, recovery
from feedback.models import CaseEvent, FlagRules
from surveys.models import Invitation, Survey
from surveys.outreach.planning import plan_invitations
from tests.factories import OrderFactory, ResponseFactory, SurveyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def case():
    return flag_response(ResponseFactory(score=2, comment="Late again."))


@pytest.fixture
def agent(case, staff_of):
    return staff_of(case.shop)


@pytest.fixture
def recovery_survey(case):
    survey = SurveyFactory(shop=case.shop, name="Did we fix it?", purpose=Survey.Purpose.RECOVERY)
    FlagRules.objects.create(shop=case.shop, recovery_survey=survey, recovery_after_days=10)
    return survey


def test_resolving_a_case_plans_the_recovery_survey_some_days_later(case, agent, recovery_survey):
    resolved_at = timezone.now()

    cases.resolve(case, resolution="fixed", by=agent, now=resolved_at)

    invitation = Invitation.objects.get(survey=recovery_survey)
    assert invitation.order == case.response.invitation.order
    assert invitation.status == "scheduled"
    assert invitation.send_at >= resolved_at + timedelta(days=10)
    assert CaseEvent.objects.filter(follow_up=case, action="recovery_planned").exists()


def test_resolving_again_after_a_reopen_plans_no_second_survey(case, agent, recovery_survey):
    cases.resolve(case, resolution="fixed", by=agent)
    cases.move(case, "in_progress", by=agent)
    cases.resolve(case, resolution="fixed", by=agent)

    assert Invitation.objects.filter(survey=recovery_survey).count() == 1


def test_a_customer_we_could_not_reach_gets_no_recovery_survey(case, agent, recovery_survey):
    cases.resolve(case, resolution="unreachable", by=agent)

    assert not Invitation.objects.filter(survey=recovery_survey).exists()


def test_a_recovery_survey_is_never_sent_for_an_order(case, recovery_survey):
    order = OrderFactory(shop=case.shop)

    planned = plan_invitations(case.shop, [order])

    assert {invitation.survey.purpose for invitation in planned} == {"order"}


def test_the_recovery_survey_is_sent_despite_the_throttle(case, agent, recovery_survey, mailbox):
    from surveys.outreach.sending import send_due_invitations

    Invitation.objects.filter(pk=case.response.invitation_id).update(sent_at=timezone.now() - timedelta(days=3))
    cases.resolve(case, resolution="fixed", by=agent)

    send_due_invitations(now=timezone.now() + timedelta(days=11))

    invitation = Invitation.objects.get(survey=recovery_survey)
    assert invitation.status == "sent", invitation.reason
    assert len(mailbox.wait_for(1)) == 1


def test_a_customer_who_ordered_after_the_resolution_came_back(case, agent):
    cases.resolve(case, resolution="fixed", by=agent)
    customer = case.response.customer
    OrderFactory(shop=case.shop, customer=customer, placed_at=case.resolved_at - timedelta(days=1))
    again = OrderFactory(shop=case.shop, customer=customer, placed_at=case.resolved_at + timedelta(days=5))

    assert came_back(case) == again


def test_a_test_order_after_the_resolution_is_not_coming_back(case, agent):
    cases.resolve(case, resolution="fixed", by=agent)
    customer = case.response.customer
    OrderFactory(shop=case.shop, customer=customer, placed_at=case.resolved_at + timedelta(days=1), is_test=True)

    figures = recovery(case.shop_id, since=case.created_at - timedelta(days=1), until=case.created_at + timedelta(1))

    assert (came_back(case), figures.resolved, figures.came_back) == (None, 1, 0)


def test_recovery_figures_count_contact_resolution_and_return(agent, case):
    survey = case.response.survey
    other = flag_response(ResponseFactory(score=1, invitation__survey=survey))
    third = flag_response(ResponseFactory(score=0, invitation__survey=survey))
    flagged = case.created_at
    cases.move(case, "waiting", by=agent, now=flagged + timedelta(hours=2))
    cases.resolve(case, resolution="fixed", by=agent, now=flagged + timedelta(hours=10))
    cases.move(other, "waiting", by=agent, now=flagged + timedelta(hours=4))
    cases.resolve(other, resolution="explained", by=agent, now=flagged + timedelta(hours=20))
    OrderFactory(shop=case.shop, customer=case.response.customer, placed_at=flagged + timedelta(days=3))

    figures = recovery(case.shop_id, since=flagged - timedelta(days=1), until=flagged + timedelta(days=1))

    assert (figures.cases, figures.contacted, figures.resolved, figures.came_back) == (3, 2, 2, 1)
    assert figures.recovery_rate == 0.5
    # Rounded: each case was flagged a few milliseconds after the first.
    assert abs(figures.time_to_first_contact - timedelta(hours=3)) < timedelta(seconds=5)
    assert abs(figures.time_to_resolution - timedelta(hours=15)) < timedelta(seconds=5)
    assert third.status == "open"


def test_the_case_page_says_whether_the_customer_came_back(case, agent, client):
    client.force_login(agent)
    cases.resolve(case, resolution="fixed", by=agent)
    before = client.get(f"/cases/{case.pk}/").content.decode()
    OrderFactory(
        shop=case.shop, customer=case.response.customer, external_id="B-9", placed_at=timezone.now() + timedelta(days=1)
    )

    after = client.get(f"/cases/{case.pk}/").content.decode()

    assert "<dt>Came back</dt><dd>not yet</dd>" in before
    assert "yes: order #B-9" in after
