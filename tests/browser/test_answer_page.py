"""The customer's answer page in a real browser: keyboard only, right to left, axe, autosave, target size."""

import os
from datetime import timedelta
from pathlib import Path
from typing import NamedTuple

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Locator, Page, expect

from feedback.answer_page import answering
from feedback.models import Answer, Response
from surveys.models import Invitation
from surveys.outreach.tokens import hash_token, new_token
from tests.browser.conftest import PHONE, axe_violations
from tests.factories import InvitationFactory, SurveyFactory

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
VAZIRMATN_LOADED = (
    "[...document.fonts].some(font => font.family.replaceAll('\"', '') === 'Vazirmatn' && font.status === 'loaded')"
)


class SentLink(NamedTuple):
    invitation: Invitation
    token: str
    url: str


def sent_link(live_server, *, language: str = "en") -> SentLink:
    """A sent invitation for the standard survey (NPS first, then the score band's questions)."""
    token = new_token()
    invitation = InvitationFactory(
        survey=SurveyFactory(questions="standard"),
        status=Invitation.Status.SENT,
        token_hash=hash_token(token),
        sent_at=timezone.now(),
        expires_at=timezone.now() + timedelta(days=30),
        order__customer__language=language,
    )
    return SentLink(invitation, token, f"{live_server.url}/s/{token}/")


def confirm_score(link: SentLink, score: int) -> None:
    """What "Next" on the first step stores, done directly: for tests about the second step."""
    opened = answering.open_link(link.token)
    assert opened.lead is not None
    answering.save_answers(opened, {opened.lead.pk: score}, language=link.invitation.customer.language, finish=False)


def stored_answers(invitation: Invitation) -> dict[str, object]:
    return {
        answer.question.text: answer.score if answer.score is not None else (answer.choices or answer.text)
        for answer in Answer.objects.filter(response__invitation=invitation).select_related("question")
    }


def tab_to(page: Page, target: Locator, *, limit: int = 30) -> None:
    """Press Tab until `target` has the focus, as someone without a mouse would."""
    expect(target).to_have_count(1)
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"{limit} presses of Tab never reached {target}")


def press(page: Page, key: str, *, times: int) -> None:
    for _ in range(times):
        page.keyboard.press(key)


def score_box(page: Page, score: int) -> Locator:
    """A score's drawn box: the label around its invisible radio, so the part that takes the taps."""
    return page.locator(f"label.scale-option:has(input[value='{score}'])")


def outline_style(locator: Locator) -> str:
    return locator.evaluate("element => getComputedStyle(element).outlineStyle")


def save_screenshot(page: Page, directory: Path, name: str) -> Path:
    path = directory / name
    page.screenshot(path=path, full_page=True)
    # Kept for a person to look at, e.g. as a CI artefact.
    if extra := os.environ.get("BROWSER_SCREENSHOTS_DIR"):
        Path(extra).mkdir(parents=True, exist_ok=True)
        (Path(extra) / name).write_bytes(path.read_bytes())
    return path


# --- Keyboard only ------------------------------------------------------------------------


def test_an_english_survey_can_be_answered_end_to_end_with_the_keyboard_alone(live_server, page: Page) -> None:
    link = sent_link(live_server)
    page.goto(link.url)

    # Step 1: into the score group, then arrows pick the score.
    tab_to(page, page.get_by_role("radio", name="Not at all likely"))
    press(page, "ArrowRight", times=3)
    expect(page.get_by_role("radio", name="3", exact=True)).to_be_checked()
    # The radio itself is invisible; its drawn box shows the focus.
    assert outline_style(page.locator("input:focus + .face")) == "solid"
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Next")).to_be_focused()
    assert outline_style(page.get_by_role("button", name="Next")) == "solid"
    page.keyboard.press("Enter")
    page.wait_for_url(f"{link.url}more/?lang=en")

    # Step 2: the detractor's questions.
    tab_to(page, page.get_by_role("checkbox", name="Delivery was late"))
    page.keyboard.press("Space")
    tab_to(page, page.get_by_role("textbox", name="What should we improve?"))
    page.keyboard.type("The parcel came a week late.")
    tab_to(page, page.get_by_role("button", name="Send my answer"))
    page.keyboard.press("Enter")

    page.wait_for_url(f"{link.url}thanks/?lang=en")
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    response = Response.objects.get(invitation=link.invitation)
    assert response.completed_at is not None
    assert response.language == "en"
    assert stored_answers(link.invitation) == {
        "How likely are you to recommend us to a friend or colleague?": 3,
        "What went wrong?": ["late"],
        "What should we improve?": "The parcel came a week late.",
    }


def test_a_persian_survey_reads_right_to_left_in_vazirmatn(live_server, page: Page, tmp_path: Path) -> None:
    link = sent_link(live_server, language="fa")

    page.goto(link.url)
    page.wait_for_function("document.fonts.check('16px Vazirmatn')")

    # 0 starts the scale, and a Persian line starts on the right.
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    zero, ten = score_box(page, 0), score_box(page, 10)
    expect(zero).to_have_text("۰, اصلاً احتمال ندارد")
    expect(ten).to_have_text("۱۰, خیلی زیاد")
    assert zero.bounding_box()["x"] > ten.bounding_box()["x"]
    assert page.evaluate("getComputedStyle(document.body).fontFamily").startswith("Vazirmatn")
    # check() is also true for a family no @font-face names; this is not.
    assert page.evaluate(VAZIRMATN_LOADED)
    screenshot = save_screenshot(page, tmp_path, "answer-persian-step-1.png")
    assert screenshot.read_bytes().startswith(PNG_SIGNATURE)


def test_a_persian_survey_can_be_answered_end_to_end_with_the_keyboard_alone(live_server, page: Page) -> None:
    link = sent_link(live_server, language="fa")
    page.goto(link.url)

    # Step 1: on a right-to-left line, the left arrow moves on to the next score.
    tab_to(page, page.get_by_role("radio", name="اصلاً احتمال ندارد"))
    press(page, "ArrowLeft", times=9)
    expect(page.get_by_role("radio", name="۹", exact=True)).to_be_checked()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="بعدی")).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{link.url}more/?lang=fa")

    # Step 2: the promoter's questions.
    tab_to(page, page.get_by_role("textbox", name="چه چیزی را بیشتر از همه پسندیدید؟"))
    page.keyboard.type("بسته‌بندی عالی بود")
    tab_to(page, page.get_by_role("radio", name="بله"))
    page.keyboard.press("Space")
    tab_to(page, page.get_by_role("button", name="ارسال پاسخ"))
    page.keyboard.press("Enter")

    page.wait_for_url(f"{link.url}thanks/?lang=fa")
    expect(page.get_by_role("heading", name="سپاسگزاریم!")).to_be_visible()
    response = Response.objects.get(invitation=link.invitation)
    assert response.completed_at is not None
    assert response.language == "fa"
    assert stored_answers(link.invitation) == {
        "How likely are you to recommend us to a friend or colleague?": 9,
        "What did you like most?": "بسته‌بندی عالی بود",
        "Was the product as described?": ["yes"],
    }


# --- Accessibility scans -----------------------------------------------------------------


@pytest.mark.parametrize(("language", "step"), [("en", 1), ("en", 2), ("fa", 1), ("fa", 2)])
def test_each_answer_step_has_no_serious_accessibility_violations(
    live_server, page: Page, language: str, step: int
) -> None:
    link = sent_link(live_server, language=language)
    if step == 2:
        confirm_score(link, 3)

    page.goto(link.url if step == 1 else f"{link.url}more/")

    expect(page.locator("form")).to_be_visible()
    assert axe_violations(page) == []


def test_the_thank_you_page_has_no_serious_accessibility_violations(live_server, page: Page) -> None:
    link = sent_link(live_server)
    answering.submit_answer(link.invitation, score=3, comment="Late again.")

    page.goto(f"{link.url}thanks/")

    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    assert axe_violations(page) == []


def test_a_step_showing_an_error_has_no_serious_accessibility_violations(live_server, page: Page) -> None:
    link = sent_link(live_server)
    page.goto(link.url)

    page.get_by_role("button", name="Next").click()

    expect(page.get_by_role("alert")).to_be_focused()
    expect(page.get_by_text("Please choose a score.")).to_be_visible()
    assert axe_violations(page) == []


# --- Autosave and resume -----------------------------------------------------------------


def test_an_autosaved_comment_is_there_when_the_link_is_opened_again(live_server, browser: Browser, page: Page) -> None:
    link = sent_link(live_server)
    confirm_score(link, 3)
    page.goto(f"{link.url}more/")

    page.get_by_role("textbox", name="What should we improve?").press_sequentially("Nobody answered my email.")
    expect(page.get_by_role("status")).to_have_text("Your answers so far are saved.")

    # Another tab or phone: nothing shared with the first page but the link.
    context = browser.new_context(viewport=PHONE)
    try:
        again = context.new_page()
        again.goto(link.url)
        again.wait_for_url(f"{link.url}more/")
        expect(again.get_by_role("textbox", name="What should we improve?")).to_have_value("Nobody answered my email.")
    finally:
        context.close()
    assert Response.objects.get(invitation=link.invitation).completed_at is None
    assert stored_answers(link.invitation)["What should we improve?"] == "Nobody answered my email."


# --- Target size -------------------------------------------------------------------------


def test_every_score_option_is_at_least_24_px_square_on_a_phone(live_server, page: Page) -> None:
    link = sent_link(live_server)

    page.goto(link.url)
    sizes = {score: score_box(page, score).bounding_box() for score in range(11)}

    assert page.viewport_size == PHONE
    expect(page.get_by_role("radio")).to_have_count(len(sizes))
    too_small = {
        score: (box["width"], box["height"]) for score, box in sizes.items() if min(box["width"], box["height"]) < 24
    }
    assert too_small == {}


def test_loading_the_page_is_not_opening_it_a_persons_first_act_is(live_server, page: Page) -> None:
    link = sent_link(live_server)

    # A mail scanner with a browser: loads the page, runs its scripts, waits; never taps or types.
    page.goto(link.url)
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(500)
    link.invitation.refresh_from_db()
    loaded = (link.invitation.status, link.invitation.opened_at)

    with page.expect_response(lambda response: response.url.endswith("/seen/")) as told:
        page.keyboard.press("Tab")  # the person's first key

    assert loaded == ("sent", None)
    assert told.value.status == 204
    link.invitation.refresh_from_db()
    assert link.invitation.status == "opened"
    assert link.invitation.opened_at is not None
