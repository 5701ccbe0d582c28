"""The support team's work list: the queue and one case, through the Django client."""

import re
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from feedback.casework import queue, worklist
from feedback.casework.flagging import flag_response
from feedback.models import CaseEvent, CaseNote, FollowUp
from sentiment.models import SentimentScore
from surveys.models import Membership
from tests.factories import CustomerFactory, OrderFactory, ResponseFactory, SurveyFactory

pytestmark = [pytest.mark.django_db, pytest.mark.calendar]

Status = FollowUp.Status
Priority = FollowUp.Priority
HOUR = timedelta(hours=1)


# --- Arrange ---------------------------------------------------------------------------


def case_in(survey, *, score: int = 2, comment: str = "", **fields) -> FollowUp:
    """A flagged response of the survey's shop (NPS 2: a detractor), then `fields` set on its case."""
    response_fields = {key: fields.pop(key) for key in list(fields) if key.startswith(("invitation__", "language"))}
    case = flag_response(ResponseFactory(invitation__survey=survey, score=score, comment=comment, **response_fields))
    assert case is not None
    if fields:
        FollowUp.objects.filter(pk=case.pk).update(**fields)
        case.refresh_from_db()
    return case


def member_of(shop, username: str, **details) -> User:
    user = User.objects.create_user(username, password="a-long-test-password", is_staff=True, **details)
    Membership.objects.create(user=user, shop=shop, role=Membership.Role.AGENT)
    return user


@pytest.fixture
def agent(shop):
    return member_of(shop, "sara", first_name="Sara", last_name="Ahmadi", email="sara@shop.example")


@pytest.fixture
def colleague(shop):
    return member_of(shop, "reza", first_name="Reza", last_name="Karimi", email="reza@shop.example")


@pytest.fixture
def signed_in(client, agent):
    client.force_login(agent)
    return client


@pytest.fixture
def case(survey):
    return case_in(survey, comment="Late again.\nAnd the box was open.")


def listed(response) -> list[int]:
    return [row.case.pk for row in response.context["rows"]]


def trail(case) -> list[tuple[str, str | None, dict]]:
    return list(CaseEvent.objects.filter(follow_up=case).values_list("action", "actor__username", "detail"))


def queue_url(**params) -> str:
    return "/cases/" + (f"?{urlencode(params)}" if params else "")


# --- The queue -------------------------------------------------------------------------


def test_the_queue_lists_open_work_most_urgent_first_then_soonest_due(signed_in, survey):
    now = timezone.now()
    high_later = case_in(survey, priority=Priority.HIGH, due_at=now + 5 * HOUR)
    urgent = case_in(survey, priority=Priority.URGENT, due_at=now + 3 * HOUR)
    high_sooner = case_in(survey, priority=Priority.HIGH, due_at=now + HOUR)
    waiting = case_in(survey, priority=Priority.LOW, status=Status.WAITING)
    case_in(survey, priority=Priority.URGENT, status=Status.RESOLVED)
    case_in(survey, priority=Priority.URGENT, status=Status.NO_CONTACT)

    response = signed_in.get("/cases/")

    assert response.status_code == 200
    assert listed(response) == [urgent.pk, high_sooner.pk, high_later.pk, waiting.pk]
    assert response.context["summary"] == {"active": 4, "overdue": 0, "unassigned": 4, "mine": 0}


def test_the_queue_shows_closed_cases_when_asked(signed_in, survey):
    open_case = case_in(survey)
    resolved = case_in(survey, status=Status.RESOLVED)
    no_contact = case_in(survey, status=Status.NO_CONTACT)

    assert listed(signed_in.get(queue_url(status="resolved"))) == [resolved.pk]
    assert listed(signed_in.get(queue_url(status="no_contact"))) == [no_contact.pk]
    assert set(listed(signed_in.get(queue_url(status="all")))) == {open_case.pk, resolved.pk, no_contact.pk}


def test_the_queue_filters_by_priority(signed_in, survey):
    urgent = case_in(survey, priority=Priority.URGENT)
    case_in(survey, priority=Priority.LOW)

    assert listed(signed_in.get(queue_url(priority=1))) == [urgent.pk]


def test_the_queue_filters_by_owner_me_nobody_or_a_colleague(signed_in, survey, agent, colleague):
    mine = case_in(survey, assignee=agent)
    theirs = case_in(survey, assignee=colleague)
    nobodys = case_in(survey)

    assert listed(signed_in.get(queue_url(owner="me"))) == [mine.pk]
    assert listed(signed_in.get(queue_url(owner="none"))) == [nobodys.pk]
    assert listed(signed_in.get(queue_url(owner=colleague.pk))) == [theirs.pk]


def test_the_queue_filters_cases_overdue_for_their_first_contact(signed_in, survey):
    now = timezone.now()
    overdue = case_in(survey, due_at=now - 2 * HOUR)
    case_in(survey, due_at=now + HOUR)
    case_in(survey, due_at=now - 2 * HOUR, first_contact_at=now - 3 * HOUR)  # contacted in time
    case_in(survey, due_at=now - 2 * HOUR, status=Status.RESOLVED)

    response = signed_in.get(queue_url(overdue="on", status="all"))

    assert listed(response) == [overdue.pk]


def test_an_overdue_case_says_by_how_long_in_words(signed_in, survey):
    case_in(survey, due_at=timezone.now() - timedelta(hours=2, minutes=5))

    response = signed_in.get("/cases/")

    [row] = response.context["rows"]
    assert (row.due.state, row.due.text) == ("overdue", "overdue 2 h")
    assert 'class="due due-overdue"' in response.text
    assert response.context["summary"]["overdue"] == 1


def test_the_queue_filters_by_reason_without_mixing_up_similar_codes(signed_in, survey):
    detractor = case_in(survey, reasons=["detractor", "keyword"])
    silent = case_in(survey, reasons=["silent_detractor"])

    assert listed(signed_in.get(queue_url(reason="detractor"))) == [detractor.pk]
    assert listed(signed_in.get(queue_url(reason="silent_detractor"))) == [silent.pk]
    assert listed(signed_in.get(queue_url(reason="keyword"))) == [detractor.pk]


def test_the_queue_filters_by_the_answers_language(signed_in, survey):
    persian = case_in(survey, language="fa", comment="خراب رسید")
    case_in(survey, language="en")

    response = signed_in.get(queue_url(language="fa"))

    assert listed(response) == [persian.pk]
    assert 'dir="auto" lang="fa"' in response.text


def test_the_queue_searches_customer_name_email_and_order_number(signed_in, survey):
    leila = case_in(survey, invitation__order__customer__name="Leila Hosseini")
    mina = case_in(survey, invitation__order__customer__email="mina@example.org")
    order = case_in(survey, invitation__order__external_id="WEB-7781")
    case_in(survey)

    assert listed(searched(signed_in, "hosseini")) == [leila.pk]
    assert listed(searched(signed_in, "MINA@example")) == [mina.pk]
    assert listed(searched(signed_in, "#web-7781")) == [order.pk]
    assert listed(searched(signed_in, "nobody like this")) == []


def searched(client, text: str, **filters: str):
    """The filter form as the page sends it: POSTed, then the work list it redirects to."""
    redirect = client.post("/cases/search/", {"q": text, "status": "active", **filters})
    assert redirect.status_code == 302
    return client.get(redirect["Location"])


def test_a_search_never_puts_what_was_typed_in_a_url(signed_in, survey):
    # Names, emails and order numbers are personal data: access logs and browser history keep URLs.
    for number in range(55):  # two pages of them
        case_in(survey, invitation__order__customer__email=f"sara.{number}@example.org")
    redirect = signed_in.post("/cases/search/", {"q": "sara", "owner": "none", "status": "active"})
    page = signed_in.get(redirect["Location"])

    assert "sara" not in redirect["Location"]
    assert "owner=none" in redirect["Location"]  # the other filters stay in the URL
    assert len(listed(page)) == 50
    links = re.findall(r'(?:href="|name="back" value=")([^"]*)"', page.content.decode())
    assert any("search=" in link for link in links)  # sorting, the next page and `back` keep the search
    assert not [link for link in links if "sara" in link.lower()]
    assert re.search(r'name="q"[^>]*value="sara"', page.content.decode())  # the search box shows it
    next_link = re.search(r'href="([^"]*)" rel="next"', page.content.decode()).group(1).replace("&amp;", "&")
    next_page = signed_in.get("/cases/" + next_link)
    assert len(listed(next_page)) == 5


def test_a_search_key_from_another_session_finds_nothing_and_says_so(signed_in, survey):
    case_in(survey, invitation__order__customer__name="Leila Hosseini")
    case_in(survey)

    page = signed_in.get(queue_url(search="made-up-key", q="hosseini"))

    assert len(listed(page)) == 2  # neither the unknown key nor a typed ?q= filters
    assert "That search belongs to another session" in page.content.decode()


def test_the_queue_sorts_by_due_time_or_newest(signed_in, survey):
    now = timezone.now()
    first = case_in(survey, priority=Priority.LOW, due_at=now + HOUR)
    second = case_in(survey, priority=Priority.URGENT, due_at=now + 2 * HOUR)
    third = case_in(survey, priority=Priority.HIGH, due_at=None)

    assert listed(signed_in.get(queue_url(sort="due"))) == [first.pk, second.pk, third.pk]
    assert listed(signed_in.get(queue_url(sort="newest"))) == [third.pk, second.pk, first.pk]
    assert listed(signed_in.get(queue_url(sort="priority"))) == [second.pk, third.pk, first.pk]


def test_the_queue_sorts_by_what_the_customer_is_worth_and_the_case_says_their_rank(signed_in, survey):
    small = case_in(survey, customer_spend=Decimal("20"), customer_rank=90)
    big = case_in(survey, customer_spend=Decimal("4000"), customer_rank=3)

    page = signed_in.get(f"/cases/{big.pk}/").content.decode()

    assert listed(signed_in.get(queue_url(sort="value"))) == [big.pk, small.pk]
    assert '<strong id="customer-rank">top 3&nbsp;% by spend</strong>' in page


def test_a_filter_value_that_makes_no_sense_falls_back_to_its_default(signed_in, survey):
    case = case_in(survey)

    response = signed_in.get(queue_url(priority=9, sort="sideways", status="lost", owner="999"))

    assert response.status_code == 200
    assert listed(response) == [case.pk]


def test_the_queue_pages_fifty_cases_at_a_time_keeping_the_filters(signed_in, survey, monkeypatch):
    assert queue.PAGE_SIZE == 50
    monkeypatch.setattr(worklist, "PAGE_SIZE", 2)
    now = timezone.now()
    made = [case_in(survey, priority=Priority.HIGH, due_at=now + n * HOUR) for n in range(3)]

    first = signed_in.get(queue_url(priority=2))
    second = signed_in.get(queue_url(priority=2, page=2))

    assert listed(first) == [made[0].pk, made[1].pk]
    assert listed(second) == [made[2].pk]
    assert 'href="?priority=2&amp;page=2"' in first.text
    # A claim or an assignment made on page 2 comes back to page 2.
    assert 'name="back" value="priority=2&amp;page=2"' in second.text


def test_a_row_shows_score_first_line_of_the_comment_reasons_owner_and_status(signed_in, survey, agent):
    case_in(
        survey,
        score=3,
        comment="Broken on arrival.\nSecond line is not shown.",
        assignee=agent,
        status=Status.IN_PROGRESS,
        reasons=["detractor", "keyword"],
        invitation__order__external_id="A-42",
        invitation__order__customer__name="Emma Brown",
    )

    response = signed_in.get("/cases/")

    [row] = response.context["rows"]
    assert (row.lead.score, row.lead.highest, row.comment) == (3, 10, "Broken on arrival.")
    assert row.reasons == ["Detractor", "Warning word"]
    page = response.text
    assert "Emma Brown" in page
    assert "#A-42" in page
    assert "Second line" not in page
    assert ">You</strong>" in page
    assert "In progress" in page


def test_the_shop_filter_appears_only_for_staff_of_several_shops(client, survey, agent):
    other = SurveyFactory()
    Membership.objects.create(user=agent, shop=other.shop)
    here, there = case_in(survey), case_in(other)
    client.force_login(agent)

    response = client.get(queue_url(shop=other.shop.pk))

    assert listed(response) == [there.pk]
    assert 'name="shop"' in response.text
    Membership.objects.filter(user=agent, shop=other.shop).delete()
    alone = client.get("/cases/")
    assert listed(alone) == [here.pk]
    assert 'name="shop"' not in alone.text


# --- Claiming and assigning from the queue -----------------------------------------------


def test_claiming_from_the_queue_makes_the_case_mine_and_returns_to_the_same_filters(signed_in, case, agent):
    response = signed_in.post(f"/cases/{case.pk}/claim/", {"back": "priority=2&owner=none&page=1"})

    assert response.status_code == 302
    assert response["Location"] == f"/cases/?priority=2&owner=none&page=1#case-{case.pk}"
    case.refresh_from_db()
    assert (case.assignee, case.status) == (agent, Status.IN_PROGRESS)
    assert trail(case)[-1] == ("assigned", "sara", {"to": "sara"})
    assert "is yours" in signed_in.get(response["Location"]).text


def test_the_way_back_to_the_queue_can_only_lead_to_the_queue(signed_in, case):
    response = signed_in.post(f"/cases/{case.pk}/claim/", {"back": "https://evil.example/?x=1"})

    assert response["Location"].startswith("/cases/?")


def test_a_case_a_colleague_claimed_first_is_not_taken_from_the_queue(signed_in, case, colleague):
    FollowUp.objects.filter(pk=case.pk).update(assignee=colleague)
    before = trail(case)

    response = signed_in.post(f"/cases/{case.pk}/claim/", {"back": ""})

    assert response.status_code == 409
    assert "Reza Karimi took case" in response.text
    case.refresh_from_db()
    assert case.assignee == colleague
    assert trail(case) == before


def test_taking_over_a_colleagues_case_on_its_page_is_deliberate_and_allowed(signed_in, case, agent, colleague):
    FollowUp.objects.filter(pk=case.pk).update(assignee=colleague)

    response = signed_in.post(f"/cases/{case.pk}/claim/")

    assert response["Location"] == f"/cases/{case.pk}/"
    case.refresh_from_db()
    assert case.assignee == agent
    assert trail(case)[-1][:2] == ("assigned", "sara")


def test_bulk_assign_gives_the_selected_cases_to_a_colleague_and_keeps_the_filters(signed_in, survey, colleague):
    first, second, untouched = case_in(survey), case_in(survey), case_in(survey)

    response = signed_in.post(
        "/cases/assign/", {"cases": [first.pk, second.pk], "to": colleague.pk, "back": "reason=detractor"}
    )

    assert response["Location"] == "/cases/?reason=detractor"
    assert set(FollowUp.objects.filter(assignee=colleague).values_list("pk", flat=True)) == {first.pk, second.pk}
    assert trail(first)[-1] == ("assigned", "sara", {"to": "reza"})
    assert trail(second)[-1] == ("assigned", "sara", {"to": "reza"})
    assert not CaseEvent.objects.filter(follow_up=untouched, action="assigned").exists()
    assert "2 cases assigned to Reza Karimi." in signed_in.get(response["Location"]).text


def test_bulk_assign_to_nobody_unassigns(signed_in, survey, colleague):
    case = case_in(survey, assignee=colleague)

    signed_in.post("/cases/assign/", {"cases": [case.pk], "to": "none", "back": ""})

    case.refresh_from_db()
    assert case.assignee is None
    assert trail(case)[-1] == ("assigned", "sara", {"to": None})


def test_bulk_assign_without_a_person_is_refused_and_keeps_the_selection(signed_in, survey):
    first, second = case_in(survey), case_in(survey)

    response = signed_in.post("/cases/assign/", {"cases": [first.pk], "to": "", "back": "priority=2"})

    assert response.status_code == 422
    assert "Choose who gets the cases." in response.text
    assert response.context["selected"] == {str(first.pk)}
    assert re.search(rf'value="{first.pk}" id="select-{first.pk}"[^>]*checked', response.text)
    assert not re.search(rf'value="{second.pk}" id="select-{second.pk}"[^>]*checked', response.text)
    assert not CaseEvent.objects.filter(action="assigned").exists()


def test_bulk_assign_without_cases_is_refused(signed_in, survey, colleague):
    case_in(survey)

    response = signed_in.post("/cases/assign/", {"to": colleague.pk, "back": ""})

    assert response.status_code == 422
    assert "Select the cases to assign first." in response.text


def test_bulk_assign_cannot_reach_another_shops_cases_or_staff(signed_in, survey, colleague):
    other = SurveyFactory()
    foreign_case = case_in(other)
    stranger = member_of(other.shop, "stranger")
    mine = case_in(survey)

    foreign = signed_in.post("/cases/assign/", {"cases": [foreign_case.pk], "to": colleague.pk, "back": ""})
    to_stranger = signed_in.post("/cases/assign/", {"cases": [mine.pk], "to": stranger.pk, "back": ""})

    assert (foreign.status_code, to_stranger.status_code) == (422, 422)
    assert not CaseEvent.objects.filter(action="assigned").exists()


def test_bulk_assign_refuses_a_colleague_who_does_not_work_for_every_selected_shop(client, survey, agent, colleague):
    other = SurveyFactory()
    Membership.objects.create(user=agent, shop=other.shop)
    here, there = case_in(survey), case_in(other)
    client.force_login(agent)

    response = client.post("/cases/assign/", {"cases": [here.pk, there.pk], "to": colleague.pk, "back": ""})

    assert response.status_code == 422
    assert f"Reza Karimi does not work for {other.shop.display_name}." in response.text
    assert not CaseEvent.objects.filter(action="assigned").exists()


# --- One case ------------------------------------------------------------------------------


def test_the_case_page_shows_the_customer_their_answers_and_their_history(signed_in, survey):
    customer = CustomerFactory(shop=survey.shop, name="Mina Jafari", phone="+989121234567")
    earlier_order = OrderFactory(shop=survey.shop, customer=customer, external_id="A-1", total=Decimal("20.00"))
    earlier = ResponseFactory(
        invitation__survey=survey,
        invitation__order=earlier_order,
        score=9,
        comment="Lovely the first time.",
        submitted_at=timezone.now() - timedelta(days=40),
    )
    case = case_in(
        survey,
        comment="The box was crushed.",
        invitation__order__customer=customer,
        invitation__order__external_id="A-2",
        invitation__order__total=Decimal("80.50"),
        keywords=["crushed"],
    )
    SentimentScore.objects.create(
        answer=case.response.answers.get(text__startswith="The box"),
        polarity=-0.62,
        label="negative",
        confidence=0.8,
        language="en",
        analyzer="test",
    )

    response = signed_in.get(f"/cases/{case.pk}/")

    page = response.text
    assert response.status_code == 200
    for shown in ("Mina Jafari", customer.email, "+989121234567", "#A-1", "#A-2", "How likely…?", "Why?"):
        assert shown in page
    assert (response.context["order_count"], response.context["spend"]) == (2, Decimal("100.50"))
    assert "The box was crushed." in page
    assert "Negative" in page
    assert "-0.62" in page
    assert "Detractor (NPS 0–6)" in page
    assert "crushed</mark>" in page
    [previous] = response.context["earlier"]
    assert (previous.response, previous.lead.score, previous.comment) == (earlier, 9, "Lovely the first time.")
    assert [moment.what for moment in response.context["timeline"]] == ["Flagged (High): Detractor (NPS 0–6)"]


def test_the_case_page_offers_only_the_moves_the_case_can_make(signed_in, case):
    response = signed_in.get(f"/cases/{case.pk}/")

    choices = [value for value, _ in response.context["status_form"].fields["status"].choices]
    assert choices == [Status.IN_PROGRESS, Status.WAITING]


def test_a_note_is_added_and_the_page_comes_back_with_a_message(signed_in, case):
    response = signed_in.post(f"/cases/{case.pk}/note/", {"text": "Called, no answer."})

    assert response.status_code == 302
    assert response["Location"] == f"/cases/{case.pk}/#note"
    note = CaseNote.objects.get(follow_up=case)
    assert (note.kind, note.text, note.author.username) == ("note", "Called, no answer.", "sara")
    assert trail(case)[-1] == ("note", "sara", {"note": note.pk})
    page = signed_in.get(response["Location"]).text
    assert "Note added." in page
    assert "Called, no answer." in page


def test_an_empty_note_comes_back_with_the_error(signed_in, case):
    response = signed_in.post(f"/cases/{case.pk}/note/", {"text": "   "})

    assert response.status_code == 422
    assert "This field is required." in response.text
    assert not CaseNote.objects.exists()


def test_a_reply_reaches_the_customer_with_the_agent_as_reply_to(signed_in, case, mailbox):
    response = signed_in.post(f"/cases/{case.pk}/reply/", {"text": "Sorry! A new one is on its way."})

    assert response["Location"] == f"/cases/{case.pk}/#reply"
    [message] = mailbox.wait_for(1)
    assert message["To"] == case.response.customer.email
    assert message["Reply-To"] == "sara@shop.example"
    assert "A new one is on its way." in message.get_content()
    assert trail(case)[-1][:2] == ("reply", "sara")
    case.refresh_from_db()
    assert case.first_contact_at is not None
    assert f"Reply sent to {case.response.customer.email}." in signed_in.get(response["Location"]).text


def test_a_reply_to_a_customer_without_email_shows_why_and_keeps_the_text(signed_in, survey, mailbox):
    case = case_in(survey, invitation__order__customer__email="", invitation__order__customer__phone="+98912")

    response = signed_in.post(f"/cases/{case.pk}/reply/", {"text": "Dear customer, about your order…"})

    assert response.status_code == 409
    assert "the customer left no email address" in response.text
    assert "Dear customer, about your order…</textarea>" in response.text
    assert not CaseNote.objects.exists()
    assert mailbox.messages == []


def test_a_reply_the_mail_server_refuses_is_not_kept(signed_in, survey, mailbox):
    case = case_in(survey, invitation__order__customer__email="nobody@example.com")

    response = signed_in.post(f"/cases/{case.pk}/reply/", {"text": "Hello?"})

    assert response.status_code == 502
    assert "nothing was sent" in response.text
    assert "Hello?</textarea>" in response.text
    assert not CaseNote.objects.exists()


def test_moving_the_case_to_waiting_logs_it(signed_in, case):
    response = signed_in.post(f"/cases/{case.pk}/status/", {"status": "waiting"})

    assert response["Location"] == f"/cases/{case.pk}/#status"
    case.refresh_from_db()
    assert case.status == Status.WAITING
    assert trail(case)[-1] == ("status", "sara", {"old": "open", "new": "waiting"})


def test_a_move_the_case_cannot_make_is_refused_and_changes_nothing(signed_in, case):
    response = signed_in.post(f"/cases/{case.pk}/status/", {"status": "resolved"})

    assert response.status_code == 422
    assert "Select a valid choice." in response.text
    case.refresh_from_db()
    assert case.status == Status.OPEN
    assert [action for action, *_ in trail(case)] == ["flagged"]


def test_assigning_on_the_case_page_to_a_colleague_and_back_to_nobody(signed_in, case, colleague):
    signed_in.post(f"/cases/{case.pk}/assign/", {"to": colleague.pk})
    case.refresh_from_db()
    assert case.assignee == colleague

    response = signed_in.post(f"/cases/{case.pk}/assign/", {"to": "none"})

    assert response["Location"] == f"/cases/{case.pk}/#assign"
    case.refresh_from_db()
    assert case.assignee is None
    assert [detail for action, _, detail in trail(case) if action == "assigned"] == [{"to": "reza"}, {"to": None}]


def test_resolving_records_the_outcome_goodwill_and_a_closing_note(signed_in, case):
    response = signed_in.post(
        f"/cases/{case.pk}/resolve/",
        {"resolution": "goodwill", "goodwill": "coupon", "goodwill_note": "SORRY20", "note": "Sent a coupon."},
    )

    assert response["Location"] == f"/cases/{case.pk}/#resolve"
    case.refresh_from_db()
    assert (case.status, case.resolution, case.goodwill, case.goodwill_note) == (
        Status.RESOLVED,
        "goodwill",
        "coupon",
        "SORRY20",
    )
    assert [action for action, *_ in trail(case)] == ["flagged", "resolved", "note"]
    assert CaseNote.objects.get(follow_up=case).text == "Sent a coupon."
    page = signed_in.get(response["Location"]).text
    assert "Case closed: goodwill given." in page
    assert "Reopen" in page


def test_resolving_a_closed_case_is_refused_with_the_reason_and_the_form_kept(signed_in, case):
    sent = {"resolution": "fixed", "goodwill": "refund", "goodwill_note": "12 EUR back", "note": ""}
    signed_in.post(f"/cases/{case.pk}/resolve/", sent)
    before = trail(case)

    response = signed_in.post(f"/cases/{case.pk}/resolve/", sent | {"resolution": "explained"})

    assert response.status_code == 409
    assert "the case is already closed; reopen it first" in response.text
    assert 'value="12 EUR back"' in response.text
    assert trail(case) == before


def test_resolving_without_an_outcome_is_refused(signed_in, case):
    response = signed_in.post(f"/cases/{case.pk}/resolve/", {"resolution": "", "goodwill": ""})

    assert response.status_code == 422
    case.refresh_from_db()
    assert case.status == Status.OPEN


# --- Who may see what ------------------------------------------------------------------


def every_page(case) -> list[tuple[str, str, dict]]:
    return [
        ("get", "/cases/", {}),
        ("get", f"/cases/{case.pk}/", {}),
        ("post", f"/cases/{case.pk}/claim/", {"back": ""}),
        ("post", "/cases/assign/", {"cases": [case.pk], "to": "none", "back": ""}),
        ("post", f"/cases/{case.pk}/note/", {"text": "hi"}),
        ("post", f"/cases/{case.pk}/reply/", {"text": "hi"}),
        ("post", f"/cases/{case.pk}/status/", {"status": "waiting"}),
        ("post", f"/cases/{case.pk}/assign/", {"to": "none"}),
        ("post", f"/cases/{case.pk}/resolve/", {"resolution": "fixed"}),
    ]


PAGES = ["queue", "case", "claim", "bulk-assign", "note", "reply", "status", "assign", "resolve"]


@pytest.mark.parametrize("index", range(len(PAGES)), ids=PAGES)
def test_anonymous_visitors_are_sent_to_the_login_page(client, case, index):
    method, url, data = every_page(case)[index]

    response = getattr(client, method)(url, data)

    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")
    assert [action for action, *_ in trail(case)] == ["flagged"]


@pytest.mark.parametrize("index", range(len(PAGES)), ids=PAGES)
def test_signed_in_users_who_are_not_staff_are_refused(client, case, index):
    customer_user = User.objects.create_user("shopper", password="a-long-test-password")
    Membership.objects.create(user=customer_user, shop=case.shop)  # even with a membership
    client.force_login(customer_user)
    method, url, data = every_page(case)[index]

    response = getattr(client, method)(url, data)

    assert response.status_code == 403
    assert "This page is for the support team" in response.text
    assert [action for action, *_ in trail(case)] == ["flagged"]


@pytest.mark.parametrize("index", range(1, len(PAGES)), ids=PAGES[1:])
def test_staff_of_another_shop_cannot_reach_a_case(client, case, index):
    outsider = member_of(SurveyFactory().shop, "outsider")
    client.force_login(outsider)
    method, url, data = every_page(case)[index]

    response = getattr(client, method)(url, data)

    # The bulk form does not know the case at all: an invalid choice, not a 404.
    assert response.status_code == (422 if url == "/cases/assign/" else 404)
    assert [action for action, *_ in trail(case)] == ["flagged"]
    assert not CaseNote.objects.exists()


def test_staff_of_another_shop_do_not_see_its_cases_in_the_queue(client, case):
    outsider = member_of(SurveyFactory().shop, "outsider")
    client.force_login(outsider)

    response = client.get("/cases/")

    assert listed(response) == []
    assert response.context["summary"]["active"] == 0


def test_a_superuser_sees_every_shops_cases(client, case):
    other = case_in(SurveyFactory())
    client.force_login(User.objects.create_superuser("root", password="a-long-test-password"))

    assert set(listed(client.get("/cases/"))) == {case.pk, other.pk}
    assert client.get(f"/cases/{other.pk}/").status_code == 200


def test_logging_in_leads_to_the_queue_and_logging_out_to_the_login_page(client, agent):
    assert client.get("/login/").status_code == 200

    response = client.post("/login/", {"username": "sara", "password": "a-long-test-password"})

    assert response["Location"] == "/cases/"
    assert client.get("/cases/").status_code == 200
    assert client.post("/logout/")["Location"] == "/login/"
    assert client.get("/cases/").status_code == 302


# --- Query counts do not grow with the rows --------------------------------------------------


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_queue_makes_as_many_queries_for_three_cases_as_for_one(
    signed_in, survey, agent, colleague, django_assert_num_queries
):
    case_in(survey, comment="One.", assignee=agent)
    one = count_queries(signed_in, "/cases/")
    case_in(survey, comment="Two.", assignee=colleague)
    case_in(survey, comment="Three.", reasons=["detractor", "keyword"], language="fa")
    assert queue.PAGE_SIZE >= 3

    with django_assert_num_queries(one):
        response = signed_in.get("/cases/")

    assert len(response.context["rows"]) == 3


def test_the_case_page_makes_as_many_queries_for_three_notes_orders_and_surveys_as_for_one(
    signed_in, survey, agent, colleague, django_assert_num_queries
):
    from feedback.casework import cases

    customer = CustomerFactory(shop=survey.shop)
    case = case_in(survey, comment="Broken.", invitation__order__customer=customer)

    def add_history(author):
        cases.add_note(case, f"Note by {author}", by=author)
        cases.assign([case], to=author, by=author)
        earlier = ResponseFactory(
            invitation__survey=survey,
            invitation__order__customer=customer,
            score=5,
            comment="Meh.",
            submitted_at=timezone.now() - timedelta(days=30),
        )
        flag_response(earlier)

    add_history(agent)
    one = count_queries(signed_in, f"/cases/{case.pk}/")
    add_history(colleague)
    add_history(member_of(survey.shop, "mina"))

    with django_assert_num_queries(one):
        response = signed_in.get(f"/cases/{case.pk}/")

    assert len(response.context["earlier"]) == 3
    assert response.context["order_count"] == 4
    assert len([moment for moment in response.context["timeline"] if moment.kind == "note"]) == 3


def test_the_case_page_shows_what_the_comment_is_about(signed_in, survey):
    from feedback.comments import score_answer

    case = case_in(survey, comment="Fast delivery, but the box was crushed.")
    score_answer(case.response.answers.get(question__kind="comment"))

    page = signed_in.get(f"/cases/{case.pk}/").content.decode()

    assert "<li>delivery: positive</li>" in page
    assert "<li>packaging: negative</li>" in page


def test_the_queue_filters_by_theme_and_product(signed_in, survey):
    from feedback.comments import score_answer
    from surveys.models import OrderLine

    about_delivery = case_in(survey, comment="The courier was two days late.")
    about_price = case_in(survey, comment="Far too expensive for what it is.")
    for case in (about_delivery, about_price):
        score_answer(case.response.answers.get(question__kind="comment"))
    OrderLine.objects.create(order=about_price.response.invitation.order, sku="TEA-500", product_name="Golden tea")

    delivery = signed_in.get("/cases/?theme=delivery").content.decode()
    tea = signed_in.get("/cases/?product=golden").content.decode()
    sku = signed_in.get("/cases/?product=tea-500").content.decode()

    assert f"/cases/{about_delivery.pk}/" in delivery
    assert f"/cases/{about_price.pk}/" not in delivery
    assert f"/cases/{about_price.pk}/" in tea
    assert f"/cases/{about_delivery.pk}/" not in tea
    assert f"/cases/{about_price.pk}/" in sku


# --- What the pages show: what was bought, when it was flagged, which question scored low ------


def test_the_case_page_shows_what_the_customer_bought(signed_in, survey):
    from surveys.models import OrderLine

    case = case_in(survey, comment="The lamp came broken.")
    order = case.response.invitation.order
    OrderLine.objects.create(
        order=order, sku="LMP-1", product_name="Desk lamp", quantity=2, unit_price=Decimal("19.90")
    )
    OrderLine.objects.create(order=order, sku="", product_name="Bulb", quantity=6)

    page = signed_in.get(f"/cases/{case.pk}/").text

    lines = re.findall(r"<tr>\s*<td><bdi>([^<]+)</bdi>.*?</td>\s*<td class=\"num\">(\d+)</td>", page, re.S)
    assert lines == [("Desk lamp", "2"), ("Bulb", "6")]
    assert "19.90 EUR" in page


def test_the_case_page_with_many_lines_makes_as_many_queries_as_with_one(signed_in, survey, django_assert_num_queries):
    from surveys.models import OrderLine

    case = case_in(survey, comment="Broken.")
    order = case.response.invitation.order
    OrderLine.objects.create(order=order, product_name="One", quantity=1)
    one = count_queries(signed_in, f"/cases/{case.pk}/")
    OrderLine.objects.bulk_create([OrderLine(order=order, product_name=f"More {n}", quantity=n) for n in range(1, 3)])

    with django_assert_num_queries(one):
        signed_in.get(f"/cases/{case.pk}/")


def test_the_queue_says_when_each_case_was_flagged(signed_in, survey):
    now = timezone.now()
    case_in(survey, created_at=now - timedelta(hours=5, minutes=10))

    response = signed_in.get("/cases/")

    [row] = response.context["rows"]
    assert row.flagged == "5 h"
    assert "flagged 5 h ago" in response.text


def test_low_csat_says_which_question_scored_low(signed_in, survey):
    from feedback.models import Answer
    from surveys.models import Question

    question = Question.objects.create(survey=survey, kind=Question.Kind.CSAT, position=2, text="How was the delivery?")
    response = ResponseFactory(invitation__survey=survey, score=9)
    Answer.objects.create(response=response, question=question, score=1)
    case = flag_response(response)
    assert case is not None
    assert case.reasons == ["low_csat"]

    queue_page = signed_in.get("/cases/").text
    case_page = signed_in.get(f"/cases/{case.pk}/").text

    assert "<li>Low CSAT: \u2068How was the delivery?\u2069 1/5</li>" in queue_page
    assert "<li>Low satisfaction (CSAT 1–2): \u2068How was the delivery?\u2069 1/5</li>" in case_page


def test_a_refused_reply_leaves_no_first_contact_on_the_page(signed_in, survey, mailbox):
    # The mail server refuses this address: nothing was sent, so nobody was contacted.
    case = case_in(survey, invitation__order__customer__email="nobody@example.com")

    response = signed_in.post(f"/cases/{case.pk}/reply/", {"text": "Hello?"})

    assert response.status_code == 502
    assert "First contact" not in response.text
    assert response.context["due"].state != "met"
    case.refresh_from_db()
    assert case.first_contact_at is None
