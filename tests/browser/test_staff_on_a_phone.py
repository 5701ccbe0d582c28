"""The work list and the case page at phone, tablet and desktop widths, in English and Persian:
no sideways scrolling of the page, no text drawn over other text, and no serious axe finding."""

import os
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Browser, Page

from feedback.accounts.models import StaffProfile
from feedback.casework.flagging import flag_response
from feedback.models import Answer, FollowUp
from surveys.models import Language, Membership, OrderLine, Question
from tests.browser.conftest import axe_violations
from tests.factories import ResponseFactory, SurveyFactory

WIDTHS = (360, 390, 768, 1024, 1366)
# Screenshots at a phone's and a laptop's width, to look at (not compared): BAZGASHT_SHOTS=/some/folder.
SHOTS = Path(os.environ["BAZGASHT_SHOTS"]) if os.environ.get("BAZGASHT_SHOTS") else None

LONG_PERSIAN = (
    "سفارشم با پنج روز تأخیر رسید و جعبه‌اش کاملاً له شده بود؛ دو تا از لیوان‌ها شکسته بودند و هر بار که با "
    "پشتیبانی تماس گرفتم کسی جواب نداد. دیگر از این فروشگاه خرید نمی‌کنم مگر اینکه پولم را پس بدهید."
)
LONG_ENGLISH = (
    "The courier left the parcel in the rain, the manual was soaked and the charger does not fit the socket; "
    "I wrote twice and nobody answered, which is worse than the broken charger itself."
)

# Every text box on the page, line by line (a Range's client rects), clipped by the boxes that
# hide their overflow (an ellipsis, a two-line clamp): the text a person actually sees.
OVERLAPS = """
() => {
  const boxes = [];
  let index = 0;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.textContent.trim()) continue;
    index += 1;
    const element = node.parentElement;
    // A closed <details> lays out its content but does not show it.
    const unseen = '.vh, [hidden], dialog:not([open]), details:not([open]) > :not(summary), script, style';
    if (element.closest(unseen)) continue;
    if (getComputedStyle(element).visibility === 'hidden') continue;
    const clips = [];
    for (let up = element; up && up !== document.body; up = up.parentElement) {
      const style = getComputedStyle(up);
      if (style.overflowX !== 'visible' || style.overflowY !== 'visible') clips.push(up.getBoundingClientRect());
    }
    const range = document.createRange();
    range.selectNodeContents(node);
    for (const rect of range.getClientRects()) {
      let [left, top, right, bottom] = [rect.left, rect.top, rect.right, rect.bottom];
      for (const clip of clips) {
        left = Math.max(left, clip.left); top = Math.max(top, clip.top);
        right = Math.min(right, clip.right); bottom = Math.min(bottom, clip.bottom);
      }
      const text = node.textContent.trim().slice(0, 30);
      if (right - left > 1 && bottom - top > 1) boxes.push({node: index, left, top, right, bottom, text});
    }
  }
  const found = [];
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i], b = boxes[j];
      if (a.node === b.node) continue;  // one text's own lines and bidi runs
      // A pixel of tolerance each way: glyph boxes of neighbouring lines may touch.
      const width = Math.min(a.right, b.right) - Math.max(a.left, b.left);
      const height = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
      if (width > 2 && height > 2) found.push(`${a.text} × ${b.text}`);
    }
  }
  return found;
}
"""


@pytest.fixture
def shop_with_cases(live_server):
    """A Persian shop with a day's work: long comments in both languages, many reasons, a bought order."""
    survey = SurveyFactory(shop__default_language=Language.PERSIAN, shop__timezone="Asia/Tehran")
    csat = Question.objects.create(
        survey=survey, kind=Question.Kind.CSAT, position=2, text="How was the delivery?", text_fa="ارسال چطور بود؟"
    )
    agent = User.objects.create_user(
        "sara", is_staff=True, first_name="Sara", last_name="Ahmadi-Khorasani", email="sara.ahmadi@shop.example"
    )
    Membership.objects.create(user=agent, shop=survey.shop, role=Membership.Role.AGENT)
    now = timezone.now()
    cases = []
    for number, (name, comment, language) in enumerate(
        [
            ("مریم حسینی‌نژاد", LONG_PERSIAN, "fa"),
            ("Jonathan Whitaker-Montgomery", LONG_ENGLISH, "en"),
            ("علی رضایی", "بد بود", "fa"),
            ("Emma Brown", "", "en"),
        ]
    ):
        response = ResponseFactory(
            invitation__survey=survey,
            invitation__order__customer__name=name,
            invitation__order__customer__email=f"a.very.long.address.{number}@customer-mail.example",
            score=1,
            comment=comment,
            language=language,
        )
        Answer.objects.create(response=response, question=csat, score=1)
        case = flag_response(response)
        assert case is not None
        FollowUp.objects.filter(pk=case.pk).update(
            reasons=["detractor", "low_csat", "negative_comment", "keyword", "repeat_low"],
            keywords=["شکسته", "broken"],
            due_at=now + timedelta(hours=number * 5 - 3),
            assignee=agent if number == 1 else None,
        )
        order = response.invitation.order
        OrderLine.objects.create(
            order=order,
            sku="GLS-6",
            product_name="مجموعهٔ شش‌تایی لیوان بلور دست‌ساز",
            quantity=2,
            unit_price=Decimal("1250000"),
        )
        OrderLine.objects.create(order=order, sku="USB-C-65W", product_name="65 W USB-C charger", quantity=1)
        cases.append(case)
    return {"agent": agent, "cases": cases}


@pytest.fixture(params=WIDTHS, ids=lambda width: f"{width}px")
def sized(request, browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": request.param, "height": 900})
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def sign_in(page: Page, live_server, agent: User) -> None:
    client = Client()
    client.force_login(agent)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


def check(page: Page, name: str) -> None:
    width = page.viewport_size["width"] if page.viewport_size else 0
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), f"{name} scrolls sideways"
    assert page.evaluate(OVERLAPS) == [], f"{name} draws text over text"
    assert axe_violations(page) == []
    if SHOTS is not None and width in (390, 1366):
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("language", ["en", "fa"])
def test_the_work_list_and_a_case_fit_the_screen(live_server, sized: Page, shop_with_cases, language) -> None:
    page, agent = sized, shop_with_cases["agent"]
    StaffProfile.objects.create(user=agent, language=language)
    width = page.viewport_size["width"] if page.viewport_size else 0
    sign_in(page, live_server, agent)

    page.goto(f"{live_server.url}/cases/")
    assert page.locator("html").get_attribute("dir") == ("rtl" if language == "fa" else "ltr")
    assert page.locator("[data-row]").count() == 4
    check(page, f"queue-{language}-{width}")

    page.goto(f"{live_server.url}/cases/{shop_with_cases['cases'][0].pk}/")
    check(page, f"case-{language}-{width}")


def test_j_and_enter_still_open_a_case_on_a_phone(live_server, sized: Page, shop_with_cases) -> None:
    page = sized
    sign_in(page, live_server, shop_with_cases["agent"])
    page.goto(f"{live_server.url}/cases/")

    page.keyboard.press("j")
    page.keyboard.press("Enter")

    page.wait_for_url(f"{live_server.url}/cases/*/")
    assert page.locator("html").get_attribute("lang") == "fa"
