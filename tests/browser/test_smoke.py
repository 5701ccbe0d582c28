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
    expect(page.get_by_role("heading", name="Shop settings")).to_be_visible()


def test_the_axe_scan_catches_a_page_that_breaks_the_rules(live_server, page: Page) -> None:
    # A canary: the scans of our own pages assert "no violations", which means something only
    # if the scan really reports them. An image without text and a nameless button are critical.
    page.goto(f"{live_server.url}/admin/login/")
    page.evaluate("""() => document.body.insertAdjacentHTML("beforeend", '<img src="x.png"><button></button>')""")

    rules = {violation.rule for violation in axe_violations(page)}

    assert {"image-alt", "button-name"} <= rules
