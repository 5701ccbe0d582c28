"""The dashboard and the reports page at phone, tablet and desktop widths, in English and Persian:
no sideways scrolling of the page, no text over text, no serious axe finding, and on a phone the
chart opens at its newest month. The checks are the work list's (test_staff_on_a_phone.py)."""

from datetime import date, timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Page

from feedback.accounts.models import StaffProfile
from feedback.casework.flagging import flag_response
from feedback.models import Answer
from reports.models import ReportRun
from sentiment.models import AnswerTheme, SentimentScore
from surveys.models import Language, Membership
from tests.browser.test_staff_on_a_phone import LONG_ENGLISH, LONG_PERSIAN, check, sign_in, sized  # noqa: F401
from tests.factories import ResponseFactory, SurveyFactory

COMMENTS = [
    ("fa", LONG_PERSIAN, "delivery", "negative", 2),
    ("en", LONG_ENGLISH, "delivery", "negative", 3),
    ("fa", "بسته‌بندی عالی بود و همه چیز سالم رسید، ممنون از دقتتان.", "packaging", "positive", 10),
    ("en", "Good value for the price, I would buy it again for my brother.", "price", "positive", 9),
    ("fa", "قیمت‌ها نسبت به ماه قبل خیلی بالا رفته و دیگر به‌صرفه نیست.", "price", "negative", 5),
    ("en", "Support answered within the hour and sorted out the wrong size.", "support", "positive", 10),
]


@pytest.fixture
def manager_shop(live_server):
    """A Persian shop with a year of answers, comments on several themes in both languages, a
    case, and two monthly reports."""
    survey = SurveyFactory(
        shop__default_language=Language.PERSIAN, shop__timezone="Asia/Tehran", shop__name="کتاب تهران"
    )
    shop = survey.shop
    manager = User.objects.create_user("maryam", is_staff=True, first_name="Maryam", last_name="Karimi-Tabrizi")
    Membership.objects.create(user=manager, shop=shop, role=Membership.Role.MANAGER)
    now = timezone.now()
    for month in range(12):
        at = now - timedelta(days=30 * month + 2)
        for score in (10, 9, 9, 7, 6, 2)[: 3 + month % 4]:
            ResponseFactory(invitation__survey=survey, submitted_at=at, score=score)
    for number, (language, text, theme, label, score) in enumerate(COMMENTS * 2):
        response = ResponseFactory(
            invitation__survey=survey,
            submitted_at=now - timedelta(days=number * 9, hours=number),
            score=score,
            comment=text,
            language=language,
        )
        answer = Answer.objects.get(response=response, question__kind="comment")
        polarity = 0.6 if label == "positive" else -0.6
        SentimentScore.objects.create(
            answer=answer, polarity=polarity, label=label, confidence=1, language=language, analyzer="test"
        )
        AnswerTheme.objects.create(answer=answer, theme=theme, polarity=polarity, label=label)
        if score <= 3:
            flag_response(response)
    for period, end, status in (
        (date(2026, 9, 23), date(2026, 10, 22), "done"),
        (date(2026, 8, 23), date(2026, 9, 22), "failed"),
    ):
        ReportRun.objects.create(
            shop=shop,
            period=period,
            period_end=end,
            calendar="jalali",
            language="fa",
            status=status,
            error="SMTP refused the message: 550 mailbox unavailable" if status == "failed" else "",
            emailed_at=now if status == "done" else None,
            emailed_to=2,
        )
    return manager


@pytest.mark.parametrize("language", ["en", "fa"])
def test_the_dashboard_and_reports_fit_the_screen(live_server, sized: Page, manager_shop, language) -> None:  # noqa: F811
    page, manager = sized, manager_shop
    StaffProfile.objects.create(user=manager, language=language)
    width = page.viewport_size["width"] if page.viewport_size else 0
    sign_in(page, live_server, manager)

    page.goto(f"{live_server.url}/dashboard/")
    assert page.locator("html").get_attribute("dir") == ("rtl" if language == "fa" else "ltr")
    assert page.locator("[data-theme]").count() >= 3
    assert page.locator("[data-comment]").count() == 10
    check(page, f"dashboard-{language}-{width}")

    page.goto(f"{live_server.url}/reports/")
    assert page.locator("[data-report]").count() == 2
    check(page, f"reports-{language}-{width}")


@pytest.mark.parametrize("language", ["en", "fa"])
def test_on_a_phone_the_chart_opens_at_its_newest_month(live_server, browser, manager_shop, language) -> None:
    StaffProfile.objects.create(user=manager_shop, language=language)
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        sign_in(page, live_server, manager_shop)
        page.goto(f"{live_server.url}/dashboard/")
        frame = page.locator(".chart-frame")
        frame.scroll_into_view_if_needed()

        newest, oldest = (
            page.locator("[data-point]").last.bounding_box(),
            page.locator("[data-point]").first.bounding_box(),
        )
        seen = frame.bounding_box()
        assert newest is not None
        assert oldest is not None
        assert seen is not None
        assert seen["x"] <= newest["x"]
        assert newest["x"] + newest["width"] <= seen["x"] + seen["width"]
        assert oldest["x"] + oldest["width"] < seen["x"], "the chart is wider than a phone: its start scrolls"
    finally:
        context.close()
