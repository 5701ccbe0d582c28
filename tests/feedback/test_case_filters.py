"""One filter for cases: the work list, the API and the exports find the same cases for the same criteria."""

import csv
import io
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import User

from feedback.casework.filters import CaseFilter, apply
from feedback.casework.flagging import flag_response
from feedback.models import FollowUp
from sentiment.models import AnswerTheme, SentimentScore
from surveys.models import Membership, OrderLine
from tests.factories import ResponseFactory, SurveyFactory

pytestmark = pytest.mark.django_db

Status = FollowUp.Status
Priority = FollowUp.Priority
NOW = datetime(2026, 11, 18, 9, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)


# --- Arrange ---------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


def case_in(survey, *, products: tuple[tuple[str, str], ...] = (), theme: str = "", **fields) -> FollowUp:
    """A flagged detractor whose order holds `products` (SKU, name), its comment about `theme`,
    then `fields` set on its case."""
    response_fields = {key: fields.pop(key) for key in list(fields) if key.startswith(("invitation__", "language"))}
    response = ResponseFactory(invitation__survey=survey, score=2, comment="Not good.", **response_fields)
    case = flag_response(response)
    assert case is not None
    for sku, name in products:
        OrderLine.objects.create(order=response.invitation.order, sku=sku, product_name=name)
    if theme:
        comment = response.answers.exclude(text="").get()
        SentimentScore.objects.create(
            answer=comment, polarity=-0.6, label="negative", confidence=0.9, language="en", analyzer="test"
        )
        AnswerTheme.objects.create(answer=comment, theme=theme, label="negative", polarity=-0.6)
    FollowUp.objects.filter(pk=case.pk).update(**fields)
    return case


def member_of(shop, username: str, role: str) -> User:
    user = User.objects.create_user(username, password="a-long-test-password", is_staff=True)
    Membership.objects.create(user=user, shop=shop, role=role)
    return user


@pytest.fixture
def sara(shop):
    return member_of(shop, "sara", Membership.Role.AGENT)


@pytest.fixture
def manager(client, shop):
    """A manager signed in: they work the list and may take the file."""
    client.force_login(member_of(shop, "mina", Membership.Role.MANAGER))
    return client


@pytest.fixture
def made(survey, sara):
    """Cases that differ in every criterion, and another shop's case that matches most of them."""
    case_in(
        SurveyFactory(),
        products=(("TEA-500", "Golden tea"),),
        invitation__order__customer__name="Leila Hosseini",
    )
    return {
        "tea": case_in(
            survey,
            products=(("TEA-500", "Golden tea"), ("MUG-2", "Mug")),
            theme="delivery",
            language="fa",
            invitation__order__customer__name="Leila Hosseini",
            status=Status.IN_PROGRESS,
            priority=Priority.HIGH,
            assignee=sara,
            due_at=NOW - HOUR,
            reasons=["detractor", "keyword"],
        ),
        "kettle": case_in(
            survey,
            products=(("KETTLE-1", "Steel kettle"),),
            theme="price",
            priority=Priority.URGENT,
            due_at=NOW + HOUR,
            reasons=["detractor"],
        ),
        "big_kettle": case_in(
            survey,
            products=(("KETTLE-10", "Big steel kettle"),),
            status=Status.WAITING,
            priority=Priority.LOW,
            due_at=NOW - HOUR,
            first_contact_at=NOW - 2 * HOUR,
            reasons=["silent_detractor"],
        ),
        "old_tea": case_in(
            survey,
            products=(("tea-500", "Golden tea, old tin"),),
            invitation__order__customer__name="Reza Hosseini",
            status=Status.RESOLVED,
            assignee=sara,
            due_at=NOW - HOUR,
            reasons=["detractor"],
        ),
    }


def on_the_work_list(client, params: dict) -> set[int]:
    response = client.get("/cases/", params)
    assert response.status_code == 200
    return {row.case.pk for row in response.context["rows"]}


def in_the_api(api, params: dict) -> set[int]:
    response = api.get("/api/v1/cases", params)
    assert response.status_code == 200, response.content
    return {item["id"] for item in response.json()["items"]}


def in_the_file(response) -> set[int]:
    assert response.status_code == 200, response.content
    text = b"".join(response.streaming_content).decode("utf-8").removeprefix("\ufeff")
    return {int(row["case_id"]) for row in csv.DictReader(io.StringIO(text))}


def in_the_download(client, shop, params: dict) -> set[int]:
    return in_the_file(client.get("/exports/cases.csv", {"shop": shop.slug, **params}))


# --- The three agree ----------------------------------------------------------------------------

# The same criteria in the work list's words and in the API's, and the cases they must find.
CRITERIA = [
    pytest.param({"status": "all", "product": "golden"}, {"product": "golden"}, {"tea", "old_tea"}, id="product-name"),
    pytest.param(
        {"status": "all", "product": "Tea-500"}, {"product": "Tea-500"}, {"tea", "old_tea"}, id="sku-any-case"
    ),
    pytest.param({"status": "all", "product": "KETTLE-1"}, {"product": "KETTLE-1"}, {"kettle"}, id="sku-exactly"),
    pytest.param({"status": "all", "product": "mug-2"}, {"product": "mug-2"}, {"tea"}, id="any-line-of-the-order"),
    pytest.param({"status": "all", "owner": "none"}, {"assignee": "none"}, {"kettle", "big_kettle"}, id="unassigned"),
    pytest.param({"status": "all", "overdue": "on"}, {"overdue": "true"}, {"tea"}, id="overdue"),
    pytest.param(
        {"status": "all", "reason": "detractor"}, {"reason": "detractor"}, {"tea", "kettle", "old_tea"}, id="reason"
    ),
    pytest.param({"status": "waiting"}, {"status": "waiting"}, {"big_kettle"}, id="one-status"),
    # The list's default, spelled out: without a status the file holds every case, as it always did.
    pytest.param(
        {"status": "active"},
        {"status": ["open", "in_progress", "waiting"]},
        {"tea", "kettle", "big_kettle"},
        id="not-closed",
    ),
    pytest.param(
        {"status": "in_progress", "priority": "2", "language": "fa", "reason": "keyword", "theme": "delivery"},
        {"status": "in_progress", "priority": "high", "language": "fa", "reason": "keyword", "theme": "delivery"},
        {"tea"},
        id="all-at-once",
    ),
]


@pytest.mark.parametrize(("queue_params", "api_params", "expected"), CRITERIA)
def test_the_work_list_the_api_and_the_cases_file_find_the_same_cases(
    manager, api, shop, made, queue_params, api_params, expected
):
    wanted = {made[name].pk for name in expected}

    assert on_the_work_list(manager, queue_params) == wanted
    assert in_the_api(api, api_params) == wanted
    assert in_the_download(manager, shop, queue_params) == wanted


def test_a_colleagues_cases_are_the_same_by_id_on_the_list_and_by_username_in_the_api(manager, api, shop, made, sara):
    wanted = {made["tea"].pk, made["old_tea"].pk}

    assert on_the_work_list(manager, {"status": "all", "owner": sara.pk}) == wanted
    assert in_the_api(api, {"assignee": "sara"}) == wanted
    assert in_the_download(manager, shop, {"status": "all", "owner": sara.pk}) == wanted


def test_a_search_finds_the_same_cases_and_the_file_takes_it_by_the_lists_key(manager, api, shop, made):
    redirect = manager.post("/cases/search/", {"q": "hosseini", "status": "all"})
    query = urlsplit(redirect["Location"]).query
    wanted = {made["tea"].pk, made["old_tea"].pk}

    assert "hosseini" not in query
    assert {row.case.pk for row in manager.get(redirect["Location"]).context["rows"]} == wanted
    assert in_the_api(api, {"q": "hosseini"}) == wanted
    assert in_the_file(manager.get(f"/exports/cases.csv?shop={shop.slug}&{query}")) == wanted


def test_the_cases_file_holds_every_case_without_filters_over_the_api_and_as_a_download(manager, api, shop, made):
    every = {case.pk for case in made.values()}

    assert in_the_api(api, {}) == every
    assert in_the_file(api.get("/api/v1/exports/cases.csv")) == every
    assert in_the_download(manager, shop, {}) == every


def test_a_download_keeps_to_its_days_as_well_as_to_the_filters(manager, api, survey, shop, made):
    yesterday = case_in(survey, products=(("TEA-500", "Golden tea"),))
    FollowUp.objects.filter(pk=yesterday.pk).update(created_at=NOW - timedelta(days=1))
    today = {"since": "2026-11-18", "until": "2026-11-18"}

    assert in_the_file(api.get("/api/v1/exports/cases.csv", today)) == {case.pk for case in made.values()}
    assert in_the_download(manager, shop, {**today, "product": "golden"}) == {made["tea"].pk, made["old_tea"].pk}
    assert in_the_download(manager, shop, {"product": "golden"}) == {made["tea"].pk, made["old_tea"].pk, yesterday.pk}


def test_a_download_refuses_a_filter_it_cannot_read_rather_than_giving_every_case(manager, shop, made):
    refused = manager.get("/exports/cases.csv", {"shop": shop.slug, "owner": "<b>999</b>"})

    assert refused.status_code == 400
    assert refused.content.decode() == "These filters do not make sense: owner."  # the value is not echoed
    assert manager.get("/exports/cases.csv", {"shop": shop.slug, "priority": "9"}).status_code == 400
    assert manager.get("/exports/cases.csv", {"shop": shop.slug, "search": "made-up-key"}).status_code == 400


# --- The rules themselves ------------------------------------------------------------------------


def test_a_product_is_an_sku_exactly_in_any_case_or_part_of_a_name(survey):
    kettle = case_in(survey, products=(("KETTLE-1", "Steel kettle"),))
    case_in(survey, products=(("KETTLE-10", "Big kettle"),))

    def found(product: str) -> list[int]:
        return list(apply(FollowUp.objects.all(), CaseFilter(product=product), now=NOW).values_list("pk", flat=True))

    assert found("kettle-1") == [kettle.pk]
    assert found("ETTLE-1") == []  # part of an SKU is not a match: it would find KETTLE-10 too
    assert found("steel") == [kettle.pk]


def test_no_criteria_narrow_nothing(survey):
    made = {case_in(survey).pk, case_in(survey, status=Status.RESOLVED).pk}

    assert set(apply(FollowUp.objects.all(), CaseFilter(), now=NOW).values_list("pk", flat=True)) == made
