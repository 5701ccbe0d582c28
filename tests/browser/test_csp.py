"""The Content-Security-Policy in a real browser: Chromium reports no violation on the customer's
answer page (with its autosave script), the work list (with its keyboard script), the two-factor
page or the admin's survey editor (with its live preview), and does report one for an inline script."""

import re
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect

from feedback.casework.flagging import flag_response
from surveys.models import Membership
from tests.browser.test_answer_page import sent_link
from tests.factories import ResponseFactory, SurveyFactory

PASSWORD = "a-long-test-password"
# Collected before any of the page's own scripts run (an init script is the browser's, not the page's).
COLLECT_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (event) => {
  const where = `${event.sourceFile}:${event.lineNumber}`;
  window.__csp.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"} at ${where}`);
});
"""


@pytest.fixture
def watched(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1366, "height": 800})
    context.add_init_script(COLLECT_VIOLATIONS)
    page = context.new_page()
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))
    page.csp_console = messages  # type: ignore[attr-defined]
    try:
        yield page
    finally:
        context.close()


def violations(page: Page) -> list[str]:
    reported = page.evaluate("window.__csp")
    console = [text for text in page.csp_console if "Content Security Policy" in text]  # type: ignore[attr-defined]
    return reported + console


def test_the_answer_page_and_its_autosave_run_without_a_violation(live_server, watched: Page) -> None:
    link = sent_link(live_server)

    watched.goto(link.url)
    watched.get_by_role("radio", name="9").check()
    watched.get_by_role("button", name="Next").click()
    comment = watched.get_by_role("textbox").first
    comment.fill("Quick delivery, thank you.")
    expect(watched.locator(".autosave-status")).to_have_text("Your answers so far are saved.", timeout=10_000)

    assert violations(watched) == []


def test_the_work_list_and_its_keyboard_run_without_a_violation(live_server, watched: Page) -> None:
    survey = SurveyFactory()
    agent = User.objects.create_user("sara", password=PASSWORD, is_staff=True)
    Membership.objects.create(user=agent, shop=survey.shop, role=Membership.Role.AGENT)
    case = flag_response(ResponseFactory(invitation__survey=survey, score=1, comment="Broken."))

    watched.goto(f"{live_server.url}/cases/")
    watched.get_by_label("Username").fill("sara")
    watched.get_by_label("Password").fill(PASSWORD)
    watched.get_by_role("button", name="Log in").click()
    watched.wait_for_url("**/cases/")
    watched.keyboard.press("?")  # work.js opens the shortcuts dialog
    expect(watched.get_by_role("dialog")).to_be_visible()
    watched.keyboard.press("Escape")
    watched.goto(f"{live_server.url}/cases/{case.pk}/")
    watched.goto(f"{live_server.url}/account/two-factor/")
    watched.get_by_role("button", name="Set up two-factor sign-in").click()
    expect(watched.locator(".qr svg")).to_be_visible()

    assert violations(watched) == []


def test_the_admins_survey_editor_and_its_preview_run_without_a_violation(live_server, watched: Page) -> None:
    survey = SurveyFactory(questions="standard")
    User.objects.create_superuser("owner", password=PASSWORD)

    watched.goto(f"{live_server.url}/admin/surveys/survey/{survey.pk}/change/")
    watched.get_by_label("Username").fill("owner")
    watched.get_by_label("Password").fill(PASSWORD)
    watched.get_by_role("button", name="Log in").click()
    watched.wait_for_url(f"**/admin/surveys/survey/{survey.pk}/change/")
    watched.get_by_label("Language").select_option("fa")  # admin_preview.js redraws the frame
    frame = watched.frame_locator("#survey-preview")
    expect(frame.locator("html[lang=fa]")).to_be_attached(timeout=10_000)

    assert violations(watched) == []


def test_an_inline_script_is_blocked_and_reported(live_server, watched: Page) -> None:
    # The canary: the assertions above mean something only if a violation would show up.
    link = sent_link(live_server)
    watched.goto(link.url)

    watched.evaluate(
        """() => { const s = document.createElement("script"); s.textContent = "window.__ran = true";
        document.body.append(s); }"""
    )

    assert watched.evaluate("window.__ran === undefined")
    assert any("script-src" in violation for violation in violations(watched))


def test_the_api_docs_run_from_our_own_files_without_a_violation(live_server, watched: Page) -> None:
    watched.goto(f"{live_server.url}/api/v1/docs")

    expect(watched.get_by_role("heading", name=re.compile("Bazgasht API"))).to_be_visible(timeout=15_000)
    assert violations(watched) == []
