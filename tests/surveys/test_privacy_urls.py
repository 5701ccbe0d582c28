"""Admin search keeps what staff search for (names, emails, phone numbers) out of URLs: the
form is POSTed, the words stay in the session and the URL carries a key to them."""

import re
from html import unescape

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import User
from django.test import Client

from config.searches import SearchOutsideUrls
from surveys.models import Customer, Membership
from tests.factories import CustomerFactory, ShopFactory

EMAIL = "roya.ahmadi@example.com"
CUSTOMERS = "/admin/surveys/customer/"


@pytest.fixture
def shop_with_customers(db):
    shop = ShopFactory()
    CustomerFactory(shop=shop, email=EMAIL, name="Roya Ahmadi")
    CustomerFactory(shop=shop, email="kaveh@example.com", name="Kaveh Ahmadi")
    CustomerFactory(shop=shop, email="someone@example.com", name="Someone Else")
    return shop


def search(client: Client, path: str, words: str, **hidden: str):
    return client.post(path, {"_search": "1", "q": words, **hidden})


def listed_emails(page) -> set[str]:
    return set(re.findall(r"[\w.]+@example\.com", page.content.decode())) - {"staff@example.com"}


def links_of(page) -> list[str]:
    return [unescape(href) for href in re.findall(r'href="([^"]*)"', page.content.decode())]


def test_a_search_redirects_to_a_url_without_the_words_and_lists_what_it_found(client, staff_of, shop_with_customers):
    client.force_login(staff_of(shop_with_customers))

    sent = search(client, CUSTOMERS, EMAIL)
    page = client.get(sent["Location"])

    assert sent.status_code == 302
    assert "roya" not in sent["Location"].lower()
    assert "search=" in sent["Location"]
    assert listed_emails(page) == {EMAIL}
    assert f'value="{EMAIL}"' in page.content.decode()  # the box still shows the words
    # Sorting, filters and the links to each customer carry the key, never the words.
    assert links_of(page)
    assert not [link for link in links_of(page) if "roya" in link.lower() or "q=" in link]
    key = re.search(r"search=([\w-]+)", sent["Location"]).group(1)
    assert any(f"search%3D{key}" in link for link in links_of(page) if "/change/" in link)


def test_filters_and_sorting_are_kept_with_the_search(client, staff_of, shop_with_customers):
    client.force_login(staff_of(shop_with_customers))

    sent = search(client, CUSTOMERS, "ahmadi", o="-2")
    page = client.get(sent["Location"])

    assert "o=-2" in sent["Location"]
    assert listed_emails(page) == {EMAIL, "kaveh@example.com"}


def test_an_empty_search_shows_everything_again(client, staff_of, shop_with_customers):
    client.force_login(staff_of(shop_with_customers))
    first = search(client, CUSTOMERS, "ahmadi")["Location"]

    cleared = search(client, first, "  ")

    assert cleared["Location"] == CUSTOMERS
    assert len(listed_emails(client.get(cleared["Location"]))) == 3


def test_a_key_from_another_session_finds_nothing_and_says_so(client, staff_of, shop_with_customers):
    user = staff_of(shop_with_customers)
    client.force_login(user)
    location = search(client, CUSTOMERS, EMAIL)["Location"]
    other = Client()
    other.force_login(user)

    page = other.get(location, follow=True)

    assert len(listed_emails(page)) == 3  # the whole list, not someone else's search
    assert "That search belongs to another session" in page.content.decode()


def test_the_search_form_is_posted(client, staff_of, shop_with_customers):
    client.force_login(staff_of(shop_with_customers))

    page = client.get(CUSTOMERS)

    form = re.search(r'<form id="changelist-search" method="(\w+)"', page.content.decode())
    assert form.group(1) == "post"


def test_an_action_on_all_that_a_search_found_acts_on_those_only(client, staff_of, shop_with_customers):
    """A changelist's other POSTs are its actions: the search form is told apart by its flag."""
    client.force_login(staff_of(shop_with_customers, role=Membership.Role.ADMIN))
    location = search(client, CUSTOMERS, "ahmadi")["Location"]
    found = Customer.objects.filter(name__endswith="Ahmadi")

    export = client.post(location, {"action": "export_data", "select_across": "1", "index": "0",
                                    ACTION_CHECKBOX_NAME: [str(found[0].pk)]})  # fmt: skip

    assert export.status_code == 200
    exported = {one["customer"]["email"] for one in export.json()["customers"]}
    assert exported == {EMAIL, "kaveh@example.com"}


def test_staff_accounts_are_searched_the_same_way(client, db):
    boss = User.objects.create_superuser("boss", "staff@example.com", "a-long-test-password")
    User.objects.create_user("nasrin", "nasrin.tehrani@example.com", "a-long-test-password")
    client.force_login(boss)

    sent = search(client, "/admin/auth/user/", "tehrani")

    assert "tehrani" not in sent["Location"]
    assert "nasrin" in client.get(sent["Location"]).content.decode()


def test_every_admin_list_with_a_search_box_keeps_the_words_out_of_urls():
    searchable = [model_admin for model_admin in admin.site._registry.values() if model_admin.search_fields]

    assert searchable
    assert [type(model_admin).__name__ for model_admin in searchable
            if not isinstance(model_admin, SearchOutsideUrls)] == []  # fmt: skip


def test_searching_a_list_needs_the_right_to_see_it(client, staff_of, shop_with_customers):
    client.force_login(staff_of(shop_with_customers, role=Membership.Role.AGENT))

    assert search(client, "/admin/surveys/apikey/", "shopify").status_code == 403  # a shop admin's page
    assert search(client, "/admin/feedback/loginfailure/", "nasrin").status_code == 403  # a superuser's


def test_the_form_as_a_browser_sends_it_passes_the_csrf_check(staff_of, shop_with_customers):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(staff_of(shop_with_customers))
    form = re.search(r'<form id="changelist-search".*?</form>', browser.get(CUSTOMERS).content.decode(), re.S).group(0)
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form))

    sent = browser.post(CUSTOMERS, {**fields, "q": EMAIL})

    assert sent.status_code == 302
    assert listed_emails(browser.get(sent["Location"])) == {EMAIL}
