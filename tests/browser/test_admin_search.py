"""The admin's search box in Chromium: what is typed never reaches the address bar."""

import re

from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from tests.browser.test_worklist import LAPTOP, PASSWORD
from tests.factories import CustomerFactory, ShopFactory


def test_searching_customers_keeps_the_email_out_of_the_address_and_the_sort_links(live_server, browser) -> None:
    shop = ShopFactory()
    CustomerFactory(shop=shop, email="roya.ahmadi@example.com", name="Roya Ahmadi")
    CustomerFactory(shop=shop, email="kaveh@example.com", name="Kaveh Rahimi")
    User.objects.create_superuser("owner", "owner@shop.example", PASSWORD)
    context = browser.new_context(viewport=LAPTOP)
    page: Page = context.new_page()
    try:
        page.goto(f"{live_server.url}/admin/surveys/customer/")
        page.get_by_label("Username").fill("owner")
        page.get_by_label("Password").fill(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/admin/surveys/customer/$"))

        page.locator("#searchbar").fill("roya.ahmadi@example.com")
        page.keyboard.press("Enter")

        page.wait_for_url(re.compile(r"/admin/surveys/customer/\?search="))
        assert "roya" not in page.url.lower()
        expect(page.locator("#result_list tbody tr")).to_have_count(1)
        expect(page.locator("#result_list")).to_contain_text("roya.ahmadi@example.com")
        expect(page.locator("#searchbar")).to_have_value("roya.ahmadi@example.com")

        page.locator("#result_list thead th.column-email a").first.click()  # sort by email
        page.wait_for_url(re.compile(r"o=\d"))
        assert "search=" in page.url
        assert "roya" not in page.url.lower()
        expect(page.locator("#result_list tbody tr")).to_have_count(1)
    finally:
        context.close()
