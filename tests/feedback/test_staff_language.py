"""The staff pages in each staff member's language: their own choice, else their shop's; Persian
right to left with Persian digits and Jalali dates; what staff and customers type read in its
own direction."""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import User

from feedback.accounts.models import StaffProfile
from feedback.accounts.staff import language_of
from surveys.localise import format_day, format_duration, format_moment, format_number, format_percent, zone_name
from surveys.models import Language, Membership
from tests.factories import ShopFactory
from tests.feedback.test_worklist import case_in, member_of

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 7, 10, 30, tzinfo=UTC)  # 16 Azar 1405, 14:00 in Tehran


@pytest.fixture
def persian_shop(shop):
    shop.default_language = Language.PERSIAN
    shop.timezone = "Asia/Tehran"
    shop.save(update_fields=["default_language", "timezone"])
    return shop


def html_of(response) -> str:
    return response.content.decode()


def test_a_staff_member_reads_the_pages_in_their_shops_language_by_default(client, persian_shop):
    agent = member_of(persian_shop, "sara")
    client.force_login(agent)

    page = html_of(client.get("/cases/"))

    assert language_of(agent) == "fa"
    assert '<html lang="fa" dir="rtl">' in page
    assert "پرونده‌ها" in page


def test_the_first_shop_a_person_works_for_decides_and_nobodys_shop_means_english(persian_shop):
    english_shop = ShopFactory(default_language=Language.ENGLISH)
    both = member_of(english_shop, "reza")
    Membership.objects.create(user=both, shop=persian_shop, role=Membership.Role.AGENT)
    nowhere = User.objects.create_user("ops", is_staff=True, is_superuser=True)

    assert (language_of(both), language_of(nowhere)) == ("en", "en")


def test_the_language_switch_keeps_the_choice_on_the_account(client, persian_shop):
    agent = member_of(persian_shop, "sara")
    client.force_login(agent)

    response = client.post("/account/language/", {"language": "en", "next": "/cases/?status=all"})

    assert response["Location"] == "/cases/?status=all"
    assert StaffProfile.objects.get(user=agent).language == "en"
    page = html_of(client.get("/cases/"))
    assert '<html lang="en" dir="ltr">' in page
    assert ">فارسی</button>" in page  # the way back


def test_the_language_switch_refuses_a_language_it_does_not_know_and_a_foreign_next(client, persian_shop):
    agent = member_of(persian_shop, "sara")
    client.force_login(agent)

    response = client.post("/account/language/", {"language": "de", "next": "https://elsewhere.example/"})

    assert response["Location"] == "/cases/"
    assert not StaffProfile.objects.filter(user=agent).exists()


def test_an_empty_choice_goes_back_to_the_shops_language(client, persian_shop):
    agent = member_of(persian_shop, "sara")
    StaffProfile.objects.create(user=agent, language="en")
    client.force_login(agent)

    client.post("/account/language/", {"language": ""})

    assert language_of(User.objects.get(pk=agent.pk)) == "fa"


@time_machine.travel(NOW, tick=False)
def test_the_work_list_in_persian_has_persian_digits_words_and_text_in_its_own_direction(client, persian_shop, survey):
    agent = member_of(persian_shop, "sara")
    case_in(survey, comment="Late again.", due_at=NOW - timedelta(hours=3), created_at=NOW - timedelta(days=2))
    client.force_login(agent)

    page = html_of(client.get("/cases/"))

    assert "۳ ساعت دیرکرد" in page  # overdue 3 h, in words
    assert "پرچم‌خورده ۲ روز پیش" in page  # flagged 2 days ago
    assert "منتقد" in page  # Detractor
    assert "<strong>۱</strong> باز" in page
    assert 'dir="auto" lang="en" title="Late again."' in page  # the customer's English comment stays left to right
    assert re.search(r'<input type="search"[^>]*dir="auto"', page)
    assert "Vazirmatn-Regular.woff2" in page


@time_machine.travel(NOW, tick=False)
def test_the_case_page_in_persian_has_jalali_dates_and_the_zone_by_name(client, persian_shop, survey):
    agent = member_of(persian_shop, "sara")
    case = case_in(survey, comment="دیر رسید.", language="fa", created_at=NOW)
    client.force_login(agent)

    page = html_of(client.get(f"/cases/{case.pk}/"))

    assert "۱۶ آذر ۱۴۰۵، ۱۴:۰۰" in page  # flagged, in Tehran's time
    assert "زمان‌ها به وقت فروشگاه است (وقت تهران)." in page
    for typed in ('id="note-text"', 'id="reply-text"', 'name="note"', 'name="goodwill_note"'):
        assert re.search(typed + r'[^>]*dir="auto"|dir="auto"[^>]*' + typed, page), typed
    assert '<blockquote class="comment" dir="auto" lang="fa">دیر رسید.</blockquote>' in page


def test_the_sign_in_page_speaks_the_browsers_language(client):
    page = html_of(client.get("/login/", headers={"accept-language": "fa"}))

    assert '<html lang="fa" dir="rtl">' in page
    assert "ورود به بازگشت" in page


def test_one_module_formats_numbers_durations_days_and_zones_in_both_languages():
    tehran, zone = NOW, ZoneInfo("Asia/Tehran")
    assert (format_duration(timedelta(days=2, hours=3), "fa"), format_duration(timedelta(days=2), "en")) == (
        "۲ روز",
        "2 days",
    )
    assert format_duration(timedelta(minutes=25), "en", short=True) == "25 min"
    assert (format_number(1234.5, "fa", places=2), format_percent(12, "fa"), format_percent(12, "en")) == (
        "۱٬۲۳۴٫۵۰",
        "۱۲٪",
        "12%",
    )
    assert format_day(tehran, "fa", tz=zone) == "۱۶ آذر ۱۴۰۵"
    assert format_moment(tehran, "en", tz=zone, weekday=True, year=False) == "Mon 7 Dec, 14:00"
    assert format_moment(tehran, "fa", tz=zone, weekday=True, year=False) == "دوشنبه ۱۶ آذر، ۱۴:۰۰"
    assert (zone_name("Asia/Tehran", "fa"), zone_name("Asia/Tehran", "en")) == ("وقت تهران", "Tehran time")
