"""A small shop never pays for a big one: the work list's and the cuts' queries read the shop's
own rows, through indexes that lead with the shop, never the whole installation's."""

import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from feedback.insights.cuts import Cut
from feedback.insights.metrics import nps_trend
from feedback.models import Answer, FollowUp, Response
from sentiment.models import AnswerTheme
from surveys.models import Customer, Invitation, Membership, Order, OrderLine, Shop
from tests.factories import SurveyFactory

pytestmark = pytest.mark.django_db

BIG, SMALL = 300, 12
# The tables that grow with the shops: a query of the small shop reads its own rows of them only.
GROWING = (
    "feedback_followup",
    "feedback_response",
    "feedback_answer",
    "surveys_invitation",
    "surveys_order",
    "surveys_orderline",
    "surveys_customer",
    "sentiment_answertheme",
)
QUEUE_URLS = [
    "/cases/",
    "/cases/?status=all&sort=newest",
    "/cases/?sort=value",
    "/cases/?sort=due&overdue=on",
    "/cases/?owner=none&priority=1",
    "/cases/?product=SKU-3",
    "/cases/?theme=delivery",
    "/cases/?language=fa",
]


def shop_with_cases(count: int, *, name: str) -> Shop:
    """A shop with `count` flagged responses, each of its own customer and order (one line), an
    NPS answer and a comment; written in bulk, as few queries as the rows allow."""
    survey = SurveyFactory(shop__name=name, shop__slug=name)
    shop, nps, comment = survey.shop, survey.questions.get(kind="nps"), survey.questions.get(kind="comment")
    now = timezone.now()
    customers = Customer.objects.bulk_create(
        Customer(shop=shop, email=f"{name}-{i}@example.com", name=f"{name.title()} customer {i}") for i in range(count)
    )
    orders = Order.objects.bulk_create(
        Order(
            shop=shop,
            customer=customer,
            external_id=f"{name}-{i}",
            total=Decimal(10 + i % 40),
            currency="EUR",
            placed_at=now - timedelta(days=20),
        )
        for i, customer in enumerate(customers)
    )
    OrderLine.objects.bulk_create(
        OrderLine(order=order, sku=f"SKU-{i % 5}", product_name=f"Product {i % 5}") for i, order in enumerate(orders)
    )
    invitations = Invitation.objects.bulk_create(
        Invitation(
            shop=shop,
            survey=survey,
            order=order,
            customer=order.customer,
            status=Invitation.Status.ANSWERED,
            send_at=now - timedelta(days=10),
            sent_at=now - timedelta(days=10),
        )
        for order in orders
    )
    responses = Response.objects.bulk_create(
        Response(
            invitation=invitation,
            shop=shop,
            survey=survey,
            customer=invitation.customer,
            submitted_at=now - timedelta(days=9, hours=i % 100),
            language="fa" if i % 3 == 0 else "en",
        )
        for i, invitation in enumerate(invitations)
    )
    answers = Answer.objects.bulk_create(
        answer
        for i, response in enumerate(responses)
        for answer in (
            Answer(response=response, question=nps, score=i % 7),
            Answer(response=response, question=comment, text="Late again."),
        )
    )
    AnswerTheme.objects.bulk_create(
        AnswerTheme(answer=answer, theme="delivery", polarity=-0.5, label="negative")
        for i, answer in enumerate(answers)
        if answer.text and i % 4 == 1
    )
    FollowUp.objects.bulk_create(
        FollowUp(
            response=response,
            shop=shop,
            reasons=["detractor"],
            priority=1 + i % 4,
            due_at=now + timedelta(hours=i % 50 - 25),
            status=[FollowUp.Status.OPEN, FollowUp.Status.IN_PROGRESS, FollowUp.Status.RESOLVED][i % 3],
            customer_spend=Decimal(i % 90),
        )
        for i, response in enumerate(responses)
    )
    return shop


@pytest.fixture
def shops() -> tuple[Shop, Shop]:
    big = shop_with_cases(BIG, name="big")
    small = shop_with_cases(SMALL, name="small")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return big, small


@pytest.fixture
def agent(shops: tuple[Shop, Shop]) -> User:
    user = User.objects.create_user("sara", password="a-long-test-password", is_staff=True)
    Membership.objects.create(user=user, shop=shops[1], role=Membership.Role.AGENT)
    return user


def listed(response: Any) -> list[int]:
    return [row.case.pk for row in response.context["rows"]]


# --- What the small shop's agent sees (both databases) ------------------------------------


def test_the_small_shops_work_list_shows_exactly_its_cases(client, shops, agent):
    small = shops[1]
    client.force_login(agent)

    every = client.get("/cases/?status=all")
    active = client.get("/cases/")

    assert sorted(listed(every)) == sorted(FollowUp.objects.filter(shop=small).values_list("pk", flat=True))
    assert sorted(listed(active)) == sorted(
        FollowUp.objects.filter(shop=small).exclude(status=FollowUp.Status.RESOLVED).values_list("pk", flat=True)
    )
    assert active.context["summary"] == {"active": 8, "overdue": 8, "unassigned": 8, "mine": 0}
    assert {row.case.response.customer.name for row in every.context["rows"]} == {
        f"Small customer {i}" for i in range(SMALL)
    }


def test_the_small_shops_work_list_filters_find_its_cases_only(client, shops, agent):
    small = shops[1]
    client.force_login(agent)
    small_cases = FollowUp.objects.filter(shop=small, status__in=["open", "in_progress", "waiting"])

    by_product = listed(client.get("/cases/?product=SKU-3"))
    by_language = listed(client.get("/cases/?language=fa"))
    by_theme = listed(client.get("/cases/?theme=delivery"))
    by_search = listed(client.get(client.post("/cases/search/", {"q": "customer 7"})["Location"]))

    assert sorted(by_product) == sorted(
        small_cases.filter(response__invitation__order__lines__sku="SKU-3").values_list("pk", flat=True)
    )
    assert sorted(by_language) == sorted(small_cases.filter(response__language="fa").values_list("pk", flat=True))
    assert by_search == list(
        small_cases.filter(response__customer__name="Small customer 7").values_list("pk", flat=True)
    )
    assert by_theme
    assert sorted(by_theme) == sorted(
        small_cases.filter(response__answers__themes__theme="delivery").values_list("pk", flat=True)
    )


# --- How the database reads it (PostgreSQL) ----------------------------------------------


def plans_of(run: Callable[[], object]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each SELECT `run` makes, with its plan (EXPLAIN ANALYZE, as JSON)."""
    with CaptureQueriesContext(connection) as queries:
        run()
    with connection.cursor() as cursor:
        # The tables are small: left to itself PostgreSQL rightly reads them whole. With
        # sequential scans off, a plan that reads only the shop's rows is chosen where an index
        # makes one possible; a query whose shape needs the other shops' rows still reads them.
        cursor.execute("SET enable_seqscan = off")
        try:
            for query in queries.captured_queries:
                sql = query["sql"]
                if sql.lstrip().upper().startswith("SELECT") and any(table in sql for table in GROWING):
                    cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
                    plan = cursor.fetchone()[0]
                    yield sql, (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
        finally:
            cursor.execute("RESET enable_seqscan")


def scans(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if "Relation Name" in node:
        yield node
    for child in node.get("Plans", []):
        yield from scans(child)


def rows_read(node: dict[str, Any]) -> float:
    """The rows a scan took from its table: kept and thrown away, in every loop."""
    kept = node.get("Actual Rows", 0)
    dropped = node.get("Rows Removed by Filter", 0) + node.get("Rows Removed by Index Recheck", 0)
    return (kept + dropped) * node.get("Actual Loops", 1)


def assert_reads_only_the_shops_rows(run: Callable[[], object], small: Shop) -> int:
    """Every scan of a growing table goes through an index and reads no more rows than the small
    shop has there (the big shop has 25 times as many); the shop's cases, responses and orders
    are found by an index on the shop. Returns how many queries were checked."""
    own = {
        "feedback_followup": FollowUp.objects.filter(shop=small).count(),
        "feedback_response": Response.objects.filter(shop=small).count(),
        "feedback_answer": Answer.objects.filter(response__shop=small).count(),
        "surveys_invitation": Invitation.objects.filter(shop=small).count(),
        "surveys_order": Order.objects.filter(shop=small).count(),
        "surveys_orderline": OrderLine.objects.filter(order__shop=small).count(),
        "surveys_customer": Customer.objects.filter(shop=small).count(),
        "sentiment_answertheme": AnswerTheme.objects.filter(answer__response__shop=small).count(),
    }
    checked = 0
    for sql, plan in plans_of(run):
        checked += 1
        for scan in scans(plan):
            table = scan["Relation Name"]
            if table not in own:
                continue
            where = f"{scan['Node Type']} on {table} in {sql[:400]}"
            assert scan["Node Type"] != "Seq Scan", where
            assert rows_read(scan) <= own[table], f"{where}: {rows_read(scan)} rows read, the shop has {own[table]}"
    return checked


@pytest.mark.postgresql_only(reason="reads PostgreSQL's query plans")
@pytest.mark.parametrize("url", QUEUE_URLS)
def test_the_work_list_reads_only_the_small_shops_rows(client, shops, agent, url):
    client.force_login(agent)

    checked = assert_reads_only_the_shops_rows(lambda: client.get(url), shops[1])

    assert checked >= 3  # the page's cases, their count and the summary at least


@pytest.mark.postgresql_only(reason="reads PostgreSQL's query plans")
def test_the_work_list_search_reads_only_the_small_shops_rows(client, shops, agent):
    client.force_login(agent)
    found = client.post("/cases/search/", {"q": "customer 7"})

    checked = assert_reads_only_the_shops_rows(lambda: client.get(found["Location"]), shops[1])

    assert checked >= 3


@pytest.mark.postgresql_only(reason="reads PostgreSQL's query plans")
@pytest.mark.parametrize("cut", [Cut.PRODUCT, Cut.VALUE_TIER])
def test_the_dashboards_cuts_read_only_the_small_shops_rows(shops, cut):
    small = shops[1]
    today = timezone.now().date()

    checked = assert_reads_only_the_shops_rows(
        lambda: nps_trend(small, since=today - timedelta(days=60), until=today, by=cut), small
    )

    assert checked >= 1
