from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from tests.browser.conftest import axe_violations


def test_admin_login_by_keyboard_reaches_the_index(live_server, page: Page) -> None:
    User.objects.create_superuser("owner", password="a-long-test-password")
    page.goto(f"{live_server.url}/admin/login/")

    # The login form puts the cursor in Username itself (autofocus); from there, keys only.
    expect(page.get_by_label("Username")).to_be_focused()
    page.keyboard.type("owner")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type("a-long-test-password")
    page.keyboard.press("Enter")

    page.wait_for_url(f"{live_server.url}/admin/")
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()


def test_admin_login_page_axe_scan_runs(live_server, page: Page) -> None:
    page.goto(f"{live_server.url}/admin/login/")

    violations = axe_violations(page)

    # Django's own page, not ours: report what axe finds (-s shows it) without failing on it.
    print(violations)
    assert isinstance(violations, list)
