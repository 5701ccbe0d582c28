"""Who may open what: every staff page and download, for each role in the shop and for another shop."""

import pytest
from django.contrib.auth.models import User

from feedback.flagging import flag_response
from surveys.models import Membership
from tests.factories import ResponseFactory, ShopFactory

pytestmark = pytest.mark.django_db

AGENT, MANAGER, ADMIN = Membership.Role.AGENT, Membership.Role.MANAGER, Membership.Role.ADMIN


@pytest.fixture
def case():
    return flag_response(ResponseFactory(score=1, comment="Broken."))


def member(shop, role):
    user = User.objects.create_user(f"{role}-{shop.slug}", password="a-long-test-password", is_staff=True)
    Membership.objects.create(user=user, shop=shop, role=role)
    return user


def pages(case):
    slug = case.shop.slug
    return {
        "queue": ("get", "/cases/"),
        "case": ("get", f"/cases/{case.pk}/"),
        "note": ("post", f"/cases/{case.pk}/note/"),
        "dashboard": ("get", f"/dashboard/?shop={slug}"),
        "responses csv": ("get", f"/exports/responses.csv?shop={slug}"),
        "cases csv": ("get", f"/exports/cases.csv?shop={slug}"),
    }


# The work list is for everyone in the shop; the numbers for managers and shop admins.
EXPECTED = {
    AGENT: {"queue": 200, "case": 200, "note": 302, "dashboard": 403, "responses csv": 403, "cases csv": 403},
    MANAGER: {"queue": 200, "case": 200, "note": 302, "dashboard": 200, "responses csv": 200, "cases csv": 200},
    ADMIN: {"queue": 200, "case": 200, "note": 302, "dashboard": 200, "responses csv": 200, "cases csv": 200},
}


@pytest.mark.parametrize("role", [AGENT, MANAGER, ADMIN])
def test_each_role_opens_what_it_needs_and_nothing_more(client, case, role):
    client.force_login(member(case.shop, role))

    statuses = {
        name: getattr(client, method)(url, {"text": "Called, no answer."} if method == "post" else None).status_code
        for name, (method, url) in pages(case).items()
    }

    assert statuses == EXPECTED[role]


@pytest.mark.parametrize("role", [AGENT, MANAGER, ADMIN])
def test_staff_of_another_shop_reach_none_of_its_cases_or_numbers(client, case, role):
    client.force_login(member(ShopFactory(), role))

    statuses = {
        name: getattr(client, method)(url, {"text": "x"} if method == "post" else None).status_code
        for name, (method, url) in pages(case).items()
    }
    queue = client.get("/cases/").content.decode()

    assert statuses["case"] == statuses["note"] == 404
    assert statuses["dashboard"] in (403, 404)
    assert statuses["responses csv"] in (403, 404)
    assert statuses["cases csv"] in (403, 404)
    assert f"/cases/{case.pk}/" not in queue


def test_anonymous_visitors_are_sent_to_the_login_page_everywhere(client, case):
    for name, (method, url) in pages(case).items():
        answer = getattr(client, method)(url)
        assert answer.status_code == 302, name
        assert answer["Location"].startswith("/login/"), name
