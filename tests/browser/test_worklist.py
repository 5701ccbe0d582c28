"""The support team's work list in a real browser, worked from the keyboard on a laptop-sized window."""

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from feedback.casework.flagging import flag_response
from feedback.models import CaseEvent, CaseNote, FollowUp
from surveys.models import Membership
from tests.browser.conftest import axe_violations
from tests.factories import ResponseFactory, SurveyFactory

LAPTOP = {"width": 1366, "height": 800}
PASSWORD = "a-long-test-password"


@pytest.fixture
def laptop(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def team(live_server):
    """A shop with an agent and three cases: a high one due soon, an urgent one due later, a low one."""
    survey = SurveyFactory()
    agent = User.objects.create_user(
        "sara", password=PASSWORD, is_staff=True, first_name="Sara", last_name="Ahmadi", email="sara@shop.example"
    )
    Membership.objects.create(user=agent, shop=survey.shop, role=Membership.Role.AGENT)
    now = timezone.now()

    def case(name: str, priority: int, due_in: timedelta) -> FollowUp:
        response = ResponseFactory(
            invitation__survey=survey, invitation__order__customer__name=name, score=2, comment=f"{name} is unhappy."
        )
        follow_up = flag_response(response)
        assert follow_up is not None
        FollowUp.objects.filter(pk=follow_up.pk).update(priority=priority, due_at=now + due_in)
        return follow_up

    high = case("Noah Wilson", FollowUp.Priority.HIGH, timedelta(hours=1))
    urgent = case("Leila Hosseini", FollowUp.Priority.URGENT, -timedelta(hours=2, minutes=10))
    low = case("Emma Brown", FollowUp.Priority.LOW, timedelta(hours=30))
    return {"agent": agent, "urgent": urgent, "high": high, "low": low}


def log_in(page: Page, live_server) -> None:
    page.goto(f"{live_server.url}/cases/")
    page.wait_for_url("**/login/?next=/cases/")
    expect(page.get_by_label("Username")).to_be_focused()
    page.keyboard.type("sara")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/cases/")


def test_an_agent_works_the_most_urgent_case_from_the_keyboard(live_server, laptop: Page, team, mailbox) -> None:
    page, urgent = laptop, team["urgent"]
    log_in(page, live_server)

    rows = page.locator("[data-row]")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("Leila Hosseini")
    expect(rows.first).to_contain_text("Urgent")
    expect(rows.first.locator(".due-overdue")).to_have_text("overdue 2 h")

    # j to the first row, c to claim it: back on the queue, the same row keeps the focus.
    page.keyboard.press("j")
    expect(rows.first).to_be_focused()
    page.keyboard.press("c")
    page.wait_for_url(f"{live_server.url}/cases/#case-{urgent.pk}")
    expect(page.get_by_role("status")).to_contain_text(f"Case #{urgent.pk} is yours.")
    expect(page.locator(f"#case-{urgent.pk}")).to_be_focused()
    expect(page.locator(f"#case-{urgent.pk}")).to_contain_text("You")
    assert CaseEvent.objects.filter(follow_up=urgent, action="assigned", actor=team["agent"]).exists()

    # Enter opens the case.
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/cases/{urgent.pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Leila Hosseini")

    # n writes a note; Tab reaches its button.
    page.keyboard.press("n")
    note_box = page.get_by_role("textbox", name="Internal note")
    expect(note_box).to_be_focused()
    page.keyboard.type("Called her, no answer. Trying again at five.")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/cases/{urgent.pk}/#note")
    expect(page.get_by_role("status")).to_contain_text("Note added.")
    expect(page.locator("#timeline")).to_contain_text("Called her, no answer.")

    # r replies by email: the customer's mail arrives, with the agent to answer to.
    page.keyboard.press("r")
    expect(page.get_by_role("textbox", name="Reply to the customer by email")).to_be_focused()
    page.keyboard.type("We are sorry: a replacement is on its way.")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/cases/{urgent.pk}/#reply")
    [message] = mailbox.wait_for(1)
    assert message["To"] == urgent.response.customer.email
    assert message["Reply-To"] == "sara@shop.example"
    assert "a replacement is on its way" in message.get_content()

    # Resolve it.
    page.get_by_label("Outcome").select_option(label="Goodwill given")
    page.get_by_label("Goodwill", exact=True).select_option(label="Replacement")
    page.get_by_label("Goodwill details").fill("Sent a new one, order R-1")
    page.get_by_role("button", name="Close the case").click()
    page.wait_for_url(f"{live_server.url}/cases/{urgent.pk}/#resolve")
    expect(page.get_by_role("status")).to_contain_text("Case closed: goodwill given.")

    urgent.refresh_from_db()
    assert (urgent.status, urgent.resolution, urgent.goodwill) == ("resolved", "goodwill", "replacement")
    assert list(CaseNote.objects.filter(follow_up=urgent).values_list("kind", flat=True)) == ["note", "reply"]
    assert [event.action for event in CaseEvent.objects.filter(follow_up=urgent)] == [
        "flagged",
        "assigned",
        "note",
        "reply",
        "resolved",
    ]


def test_shortcuts_never_fire_while_typing_and_escape_leaves_the_field(live_server, laptop: Page, team) -> None:
    page = laptop
    log_in(page, live_server)

    page.keyboard.press("/")
    search = page.get_by_label("Search")
    expect(search).to_be_focused()
    page.keyboard.type("jkcx")
    expect(search).to_have_value("jkcx")
    expect(page.locator("[data-row]:focus")).to_have_count(0)
    page.keyboard.press("Escape")
    expect(search).not_to_be_focused()

    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(page.locator("[data-row]").nth(1)).to_be_focused()
    page.keyboard.press("x")
    expect(page.locator("[data-row]").nth(1).locator("[data-select]")).to_be_checked()
    page.keyboard.press("k")
    expect(page.locator("[data-row]").first).to_be_focused()

    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    page.keyboard.press("o")
    page.wait_for_url(f"{live_server.url}/cases/{team['urgent'].pk}/")
    page.keyboard.press("n")
    note_box = page.get_by_role("textbox", name="Internal note")
    page.keyboard.type("r and n are letters here")
    expect(note_box).to_have_value("r and n are letters here")
    page.keyboard.press("Escape")
    expect(note_box).not_to_be_focused()
    page.keyboard.press("r")
    expect(page.get_by_role("textbox", name="Reply to the customer by email")).to_be_focused()


def test_the_queue_and_a_case_have_no_serious_accessibility_problems(live_server, laptop: Page, team) -> None:
    page = laptop
    FollowUp.objects.filter(pk=team["high"].pk).update(assignee=team["agent"], status="in_progress")
    page.goto(f"{live_server.url}/login/")
    assert axe_violations(page) == []

    log_in(page, live_server)
    assert axe_violations(page) == []

    page.goto(f"{live_server.url}/cases/{team['urgent'].pk}/")
    assert axe_violations(page) == []


def test_searching_from_the_keyboard_keeps_the_name_out_of_the_address(live_server, laptop: Page, team) -> None:
    page = laptop
    log_in(page, live_server)

    page.keyboard.press("/")
    page.keyboard.type("hosseini")
    page.keyboard.press("Enter")

    page.wait_for_url(re.compile(r"/cases/\?.*search="))
    expect(page.locator("[data-row]")).to_have_count(1)
    expect(page.locator("[data-row]").first).to_contain_text("Leila Hosseini")
    expect(page.get_by_label("Search")).to_have_value("hosseini")
    assert "hosseini" not in page.url.lower()
