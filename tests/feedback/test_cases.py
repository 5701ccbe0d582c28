"""Working a case: every change is allowed or refused clearly, and lands in the audit trail."""

import pytest
from django.contrib.auth.models import User

from feedback.casework import cases
from feedback.casework.flagging import flag_response
from feedback.models import CaseEvent, CaseNote, FollowUp
from tests.factories import ResponseFactory, ShopFactory

pytestmark = [pytest.mark.django_db, pytest.mark.calendar]


@pytest.fixture
def case():
    return flag_response(ResponseFactory(score=2, comment="Late again."))


@pytest.fixture
def agent(case, staff_of):
    user = staff_of(case.shop)
    user.email = "sara@shop.example"
    user.save()
    return user


def trail(case):
    return list(CaseEvent.objects.filter(follow_up=case).values_list("action", "actor__username", "detail"))


def test_claiming_makes_the_case_mine_and_in_progress(case, agent):
    cases.claim(case, by=agent)

    case.refresh_from_db()
    assert (case.assignee, case.status) == (agent, "in_progress")
    assert trail(case)[-1] == ("assigned", agent.username, {"to": agent.username})


def test_bulk_assigning_to_a_colleague_leaves_the_status(case, agent):
    colleague = User.objects.create_user("reza", is_staff=True)
    other = flag_response(ResponseFactory(score=1, invitation__survey=case.response.survey))

    cases.assign([case, other], to=colleague, by=agent)

    assert set(FollowUp.objects.values_list("assignee__username", "status")) == {("reza", "open")}
    assert CaseEvent.objects.filter(action="assigned").count() == 2


def test_waiting_on_the_customer_counts_as_first_contact(case, agent):
    cases.move(case, FollowUp.Status.WAITING, by=agent)

    assert case.first_contact_at is not None
    assert trail(case)[-1] == ("status", agent.username, {"old": "open", "new": "waiting"})


def test_resolving_records_what_was_done_and_any_goodwill(case, agent):
    cases.resolve(case, resolution="goodwill", goodwill="coupon", goodwill_note="SORRY20", by=agent)

    case.refresh_from_db()
    assert (case.status, case.resolution, case.goodwill, case.goodwill_note) == (
        "resolved",
        "goodwill",
        "coupon",
        "SORRY20",
    )
    assert case.resolved_at is not None


def test_an_unreachable_customer_closes_as_no_contact(case, agent):
    cases.resolve(case, resolution="unreachable", by=agent)

    assert case.status == "no_contact"


def test_a_closed_case_must_be_reopened_before_it_changes_again(case, agent):
    cases.resolve(case, resolution="fixed", by=agent)

    with pytest.raises(cases.CaseError, match="already closed"):
        cases.resolve(case, resolution="fixed", by=agent)
    with pytest.raises(cases.CaseError, match="cannot become Waiting on customer"):
        cases.move(case, FollowUp.Status.WAITING, by=agent)
    cases.move(case, FollowUp.Status.IN_PROGRESS, by=agent)

    assert (case.status, case.resolved_at, case.resolution) == ("in_progress", None, "")


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (lambda case, agent: cases.resolve(case, resolution="magic", by=agent), "not a resolution"),
        (lambda case, agent: cases.resolve(case, resolution="fixed", goodwill="cash", by=agent), "not a goodwill"),
        (lambda case, agent: cases.add_note(case, "   ", by=agent), "needs some text"),
        (lambda case, agent: cases.add_note(case, "x" * 10001, by=agent), "at most 10000"),
    ],
    ids=["resolution", "goodwill", "empty-note", "long-note"],
)
def test_bad_changes_are_refused_and_change_nothing(case, agent, change, error):
    before = trail(case)

    with pytest.raises(cases.CaseError, match=error):
        change(case, agent)

    case.refresh_from_db()
    assert case.status == "open"
    assert trail(case) == before
    assert not CaseNote.objects.exists()


def test_a_reply_reaches_the_customer_with_the_agent_as_reply_to_and_is_logged(case, agent, mailbox):
    note = cases.reply(case, "Sorry! A new one is on its way.", by=agent)

    [message] = mailbox.wait_for(1)
    assert message["To"] == case.response.customer.email
    assert message["Reply-To"] == "sara@shop.example"
    assert f"#{case.response.invitation.order.external_id}" in message["Subject"]
    assert "A new one is on its way." in message.get_content()
    assert note.kind == "reply"
    case.refresh_from_db()
    assert case.first_contact_at is not None
    assert trail(case)[-1][:2] == ("reply", agent.username)


def test_staff_see_only_their_shops_cases(case, staff_of):
    outsider = staff_of(ShopFactory())

    assert list(cases.cases_of(outsider)) == []
    assert list(cases.cases_of(staff_of(case.shop))) == [case]
