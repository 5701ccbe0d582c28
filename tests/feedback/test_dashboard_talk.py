"""The dashboard's "what customers talk about" and latest comments (feedback.insights.talk), and
the dashboard and the reports page in Persian: right to left, Persian digits, Jalali dates."""

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.test import Client

from feedback.accounts.models import StaffProfile
from feedback.casework.flagging import flag_response
from feedback.insights.talk import latest_comments, talk_of
from feedback.models import Answer, Response
from reports.models import ReportRun
from sentiment.models import AnswerTheme, SentimentScore
from tests.factories import ResponseFactory, SurveyFactory

pytestmark = pytest.mark.calendar

TEHRAN = ZoneInfo("Asia/Tehran")
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=TEHRAN)
# The dashboard's default range on NOW (Gregorian): December 2025 to now; the stretch before it
# is as long, so it starts in late 2024.
SINCE = datetime(2025, 12, 1, tzinfo=TEHRAN)
IN_RANGE = datetime(2026, 10, 10, 9, 0, tzinfo=TEHRAN)
BEFORE = datetime(2025, 6, 10, 9, 0, tzinfo=TEHRAN)

PERSIAN_DELIVERY = "ارسال خیلی دیر رسید و بسته هم خیس شده بود."
ENGLISH_DELIVERY = "The delivery took nine days, far too long for a small parcel."


@pytest.fixture(autouse=True)
def _frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def survey(db):
    return SurveyFactory(shop__timezone="Asia/Tehran", shop__name="Tehran Books")


@pytest.fixture
def shop(survey):
    return survey.shop


@pytest.fixture
def manager(shop, staff_of) -> User:
    return staff_of(shop)


def comment(survey, text: str, *, at: datetime, score: int = 8, language: str = "en", themes=()) -> Response:
    """A scored comment, read as the analyzer would: its language and its themes (theme, label)."""
    response = ResponseFactory(invitation__survey=survey, submitted_at=at, score=score, comment=text, language=language)
    answer = Answer.objects.get(response=response, question__kind="comment")
    SentimentScore.objects.create(
        answer=answer, polarity=0.0, label="neutral", confidence=1.0, language=language, analyzer="test"
    )
    for theme, label in themes:
        polarity = {"negative": -0.6, "positive": 0.6}.get(label, 0.0)
        AnswerTheme.objects.create(answer=answer, theme=theme, polarity=polarity, label=label)
    return response


def page_of(user: User, path: str = "/dashboard/", **params: str) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(path, params)
    assert response.status_code == 200
    return response.content.decode()


# --- What customers talk about --------------------------------------------------------------


def test_themes_are_counted_with_their_sentiment_and_the_change_from_before(survey, shop):
    for label in ("negative", "negative", "positive"):
        comment(survey, ENGLISH_DELIVERY, at=IN_RANGE, themes=[("delivery", label)])
    comment(survey, ENGLISH_DELIVERY, at=BEFORE, themes=[("delivery", "negative")])
    comment(survey, "Fair price for what you get, honestly.", at=IN_RANGE, themes=[("price", "positive")])
    comment(survey, "Too expensive last year, cheaper now", at=BEFORE, themes=[("price", "negative")])
    comment(
        survey,
        "Old news from long ago about delivery",
        at=datetime(2023, 1, 1, tzinfo=TEHRAN),
        themes=[("delivery", "negative")],
    )

    talk = talk_of(shop, since=SINCE, until=NOW, reader="en")

    assert talk.comments == 4
    assert [(line.theme, line.mentions, line.positive, line.negative, line.previous) for line in talk.themes] == [
        ("delivery", 3, 1, 2, 1),
        ("price", 1, 1, 0, 1),
    ]
    assert [line.change for line in talk.themes] == [2, 0]
    assert talk.themes[0].mood == "negative"
    assert talk.themes[0].label == "Delivery"


def test_quotes_come_in_the_readers_language_first_each_in_its_own(survey, shop):
    comment(survey, ENGLISH_DELIVERY, at=IN_RANGE, themes=[("delivery", "negative")])
    comment(survey, PERSIAN_DELIVERY, at=IN_RANGE, language="fa", themes=[("delivery", "negative")])
    comment(survey, "Delivery was fast and the courier was kind.", at=IN_RANGE, themes=[("delivery", "positive")])
    comment(
        survey, "بسته سالم و زودتر از موعد رسید، ممنون.", at=IN_RANGE, language="fa", themes=[("delivery", "positive")]
    )

    persian = talk_of(shop, since=SINCE, until=NOW, reader="fa").themes[0].quotes
    english = talk_of(shop, since=SINCE, until=NOW, reader="en").themes[0].quotes

    assert len(persian) == len(english) == 3
    assert [quote.language for quote in persian[:2]] == ["fa", "fa"]
    assert [quote.language for quote in english[:2]] == ["en", "en"]
    assert PERSIAN_DELIVERY in [quote.text for quote in persian]


def test_the_same_words_from_two_customers_are_quoted_once(survey, shop):
    for _ in range(3):
        comment(survey, ENGLISH_DELIVERY, at=IN_RANGE, themes=[("delivery", "negative")])
    comment(survey, "Delivery was fast and the courier was kind.", at=IN_RANGE, themes=[("delivery", "positive")])

    [delivery] = talk_of(shop, since=SINCE, until=NOW, reader="en").themes

    assert delivery.mentions == 4
    assert sorted(quote.text for quote in delivery.quotes) == sorted(
        [ENGLISH_DELIVERY, "Delivery was fast and the courier was kind."]
    )


def test_the_page_shows_themes_with_their_change_and_quotes_set_in_their_own_direction(survey, shop, manager):
    comment(survey, PERSIAN_DELIVERY, at=IN_RANGE, language="fa", themes=[("delivery", "negative")])
    comment(survey, ENGLISH_DELIVERY, at=IN_RANGE, themes=[("delivery", "negative")])

    page = page_of(manager)

    section = re.search(r'<li class="theme-line" data-theme="delivery">(.*?)</li>\s*\n\s*(?:</ol>|<li)', page, re.S)
    assert section, "no delivery theme on the page"
    assert "<strong data-mentions>2</strong>" in section.group(1)
    assert "<span data-theme-change>+2</span>" in section.group(1)
    assert f'<q lang="fa" dir="auto" data-quote>{PERSIAN_DELIVERY}</q>' in page
    assert "100% negative, 0% positive" in page


def test_the_theme_queries_do_not_grow_with_the_themes(survey, shop, django_assert_num_queries):
    for theme in ("delivery", "price", "quality"):
        comment(survey, f"Something long enough about {theme}.", at=IN_RANGE, themes=[(theme, "negative")])

    # Theme counts, the quotes (one window query), the comments counted.
    with django_assert_num_queries(3):
        talk = talk_of(shop, since=SINCE, until=NOW, reader="en")
    assert len(talk.themes) == 3


# --- The latest comments --------------------------------------------------------------------


def test_the_latest_comments_are_the_ten_newest_with_score_and_case(survey, shop, manager, django_assert_num_queries):
    for day in range(1, 13):
        comment(survey, f"Comment of day {day}", at=datetime(2026, 11, day, 10, tzinfo=TEHRAN), score=9)
    unhappy = comment(survey, "بد بود، دیگر نمی‌خرم", at=datetime(2026, 11, 20, tzinfo=TEHRAN), score=1, language="fa")
    case = flag_response(unhappy)
    assert case is not None

    with django_assert_num_queries(1):
        latest = latest_comments(shop, since=SINCE, until=NOW)

    assert [item.text for item in latest] == ["بد بود، دیگر نمی‌خرم"] + [f"Comment of day {d}" for d in range(12, 3, -1)]
    assert (latest[0].score, latest[0].score_kind, latest[0].case_id, latest[0].language) == (1, "nps", case.pk, "fa")
    assert latest[1].case_id is None
    page = page_of(manager)
    assert f'href="/cases/{case.pk}/"' in page
    assert '<p class="latest-text" lang="fa" dir="auto">بد بود، دیگر نمی‌خرم</p>' in page


# --- In Persian -----------------------------------------------------------------------------


def test_the_dashboard_in_persian_reads_right_to_left_in_persian_digits_and_jalali_dates(survey, shop, manager):
    StaffProfile.objects.create(user=manager, language="fa")
    User.objects.filter(pk=manager.pk).update(first_name="مریم")  # the header names her, not her login
    for score in (10, 10, 9, 3):
        ResponseFactory(invitation__survey=survey, submitted_at=IN_RANGE, score=score)
    comment(survey, PERSIAN_DELIVERY, at=IN_RANGE, language="fa", themes=[("delivery", "negative")])

    page = page_of(manager, calendar="jalali")

    assert '<html lang="fa" dir="rtl">' in page
    assert "مشتری‌ها از چه می‌گویند" in page
    assert "تازه‌ترین نظرها" in page
    # NPS of 10, 10, 9, 3, 8 (the comment's own score): 3 promoters, 1 detractor of 5 = +40.
    assert re.search(r'data-figure="nps">\u2066\+۴۰\u2069<', page)
    assert "۴ آذر ۱۴۰۵، ۱۲:۰۰" in page  # the "as of" line, Jalali
    assert "وقت تهران" in page
    assert re.search(r'data-picked="since">[۰-۹]+ [آ-ی]+ ۱۴۰[۴۵]<', page)
    assert "Net Promoter Score" not in page
    assert not re.search(r"data-figure=\"[a-z-]+\">[^<]*[0-9]", page), "a figure in Latin digits"
    assert re.findall(r"[^\s<>]*[0-9][^\s<>]*", visible_text(page)) == []


def visible_text(page: str) -> str:
    """The page's text as read: no tags, no attributes (where Latin digits belong: dates, lengths)."""
    return re.sub(r"<[^>]*>", " ", re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S))


def test_the_jalali_mode_in_english_says_jalali_dates_in_its_pickers_and_as_of_line(survey, manager):
    page = page_of(manager, calendar="jalali", since="2026-10-23", until="2026-11-21")

    assert "As of 4 Azar 1405, 12:00, shop time (Tehran time)." in page
    assert '<span class="picked" data-picked="since">1 Aban 1405</span>' in page
    assert '<span class="picked" data-picked="until">30 Aban 1405</span>' in page


def test_the_reports_page_in_persian(shop, manager):
    StaffProfile.objects.create(user=manager, language="fa")
    User.objects.filter(pk=manager.pk).update(first_name="مریم")
    ReportRun.objects.create(
        shop=shop,
        period=date(2026, 10, 23),
        period_end=date(2026, 11, 21),
        calendar="jalali",
        language="fa",
        status="done",
    )

    page = page_of(manager, "/reports/")

    assert '<html lang="fa" dir="rtl">' in page
    assert "<h1>گزارش‌های ماهانه</h1>" in page
    assert '<td class="report-month">آبان ۱۴۰۵</td>' in page
    assert '<span class="status r-done">آماده</span>' in page
    assert "Monthly reports" not in page
    assert re.findall(r"[^\s<>]*[0-9][^\s<>]*", visible_text(page)) == []
