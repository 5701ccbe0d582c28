"""The managers' dashboard in a real browser: read on a laptop, switched to the Jalali calendar
from the keyboard, and on a phone; screenshots in /tmp/shots-dash/ for a person to look at."""

import re
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from feedback.casework.flagging import flag_response
from feedback.insights.periods import Calendar, Period, period_spans, periods_back
from feedback.models import FollowUp
from surveys.models import Membership
from tests.browser.conftest import PHONE, axe_violations
from tests.factories import ResponseFactory, SurveyFactory

LAPTOP = {"width": 1366, "height": 900}
PASSWORD = "a-long-test-password"
SHOTS = Path(tempfile.gettempdir()) / "shots-dash"
# Promoters, passives and detractors for each of the last 12 months, oldest first; None: no answers.
MONTHS = [(6, 3, 4), (7, 2, 4), (5, 4, 5), (8, 3, 3), None, (6, 4, 4), (9, 3, 3), (7, 3, 4), (8, 2, 4), (7, 4, 3),
          (4, 3, 8), (16, 3, 1)]  # fmt: skip


@pytest.fixture
def laptop(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def shop(live_server):
    """A year of answers, one month without any and a last month much better than the one before."""
    survey = SurveyFactory(shop__name="Tehran Books", shop__timezone="Asia/Tehran")
    shop = survey.shop
    now = timezone.now()
    today = now.astimezone(shop.tz).date()
    since = periods_back(today, 12, period=Period.MONTH, calendar=Calendar.GREGORIAN)
    spans = period_spans(since, today, period=Period.MONTH, calendar=Calendar.GREGORIAN, tz=shop.tz)
    for span, month in zip(spans, MONTHS, strict=True):
        if month is None:
            continue
        at = min(span.start + timedelta(days=3, hours=10), now - timedelta(minutes=5))
        for score, times in zip((10, 8, 2), month, strict=True):
            for _ in range(times):
                ResponseFactory(invitation__survey=survey, submitted_at=at, score=score)
    for hours in (3, 30):
        case = flag_response(ResponseFactory(invitation__survey=survey, score=1))
        assert case is not None
        FollowUp.objects.filter(pk=case.pk).update(first_contact_at=now + timedelta(hours=hours))
    manager = User.objects.create_user("maryam", password=PASSWORD, is_staff=True, first_name="Maryam")
    Membership.objects.create(user=manager, shop=shop, role=Membership.Role.MANAGER)
    return shop


def log_in(page: Page, live_server) -> None:
    page.goto(f"{live_server.url}/dashboard/")
    page.wait_for_url("**/login/?next=/dashboard/")
    page.get_by_label("Username").fill("maryam")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/dashboard/")


def test_a_manager_reads_the_year_and_switches_to_the_jalali_calendar_by_keyboard(live_server, laptop: Page, shop):
    page = laptop
    SHOTS.mkdir(exist_ok=True)
    log_in(page, live_server)

    expect(page.get_by_role("heading", level=1)).to_contain_text("Dashboard")
    expect(page.locator("[data-point]")).to_have_count(11)
    expect(page.locator("[data-gap]")).to_have_count(1)
    expect(page.locator("[data-change]")).to_contain_text("Significant rise")
    page.screenshot(path=SHOTS / "gregorian-laptop.png", full_page=True)
    assert axe_violations(page) == []

    # From the period menu: Tab into the calendar's radio group, the arrow picks Jalali, Tab on to Show.
    page.get_by_label("Period").focus()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Gregorian")).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_label("Jalali (Persian)")).to_be_checked()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Compare groups by")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Show")).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*calendar=jalali.*"))

    expect(page.get_by_label("Jalali (Persian)")).to_be_checked()
    expect(page.locator(".range-line")).to_contain_text("Jalali (Persian) calendar")
    labels = page.locator("[data-x-label]").all_text_contents()
    assert set(labels) & {"Farvardin", "Ordibehesht", "Khordad", "Tir", "Mordad", "Shahrivar", "Mehr", "Aban", "Azar",
                          "Dey", "Bahman", "Esfand"} == set(labels)  # fmt: skip
    page.get_by_text("The numbers behind the chart").click()
    expect(page.locator("[data-periods] tbody tr").first).to_be_visible()
    page.screenshot(path=SHOTS / "jalali-laptop.png", full_page=True)
    assert axe_violations(page) == []


def test_the_dashboard_on_a_phone_with_groups(live_server, phone: Page, shop):
    page = phone
    SHOTS.mkdir(exist_ok=True)
    log_in(page, live_server)

    page.get_by_label("Compare groups by").select_option(label="Channel")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r".*by=channel.*"))

    expect(page.locator("[data-group]")).to_have_count(1)
    expect(page.locator("[data-group]")).to_contain_text("Email")
    page.screenshot(path=SHOTS / "channel-phone.png", full_page=True)
    assert axe_violations(page) == []
