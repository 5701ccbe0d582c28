"""The work list over the API: /api/v1/cases, a case, its changes and its notes."""

import base64
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from feedback.casework import cases
from feedback.casework.flagging import flag_response
from feedback.models import Answer, CaseEvent, CaseNote, FollowUp
from sentiment.models import AnswerTheme, SentimentScore
from surveys.models import Membership, OrderLine, Question
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


def case_in(survey, *, score: int = 2, comment: str = "", **fields) -> FollowUp:
    """A flagged response of the survey's shop (NPS 2: a detractor), then `fields` set on its case."""
    response_fields = {key: fields.pop(key) for key in list(fields) if key.startswith(("invitation__", "language"))}
    case = flag_response(ResponseFactory(invitation__survey=survey, score=score, comment=comment, **response_fields))
    assert case is not None
    if fields:
        FollowUp.objects.filter(pk=case.pk).update(**fields)
        case.refresh_from_db()
    return case


def member_of(shop, username: str, role: str = Membership.Role.AGENT) -> User:
    user = User.objects.create_user(username, password="a-long-test-password", is_staff=True)
    Membership.objects.create(user=user, shop=shop, role=role)
    return user


def themed(case: FollowUp, *themes: tuple[str, str, float]) -> None:
    """Score the case's comment negative and give it themes."""
    comment = case.response.answers.exclude(text="").get()
    SentimentScore.objects.create(
        answer=comment, polarity=-0.6, label="negative", confidence=0.9, language="en", analyzer="test"
    )
    for theme, label, polarity in themes:
        AnswerTheme.objects.create(answer=comment, theme=theme, label=label, polarity=polarity)


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["items"]]


def trail(case: FollowUp) -> list[tuple[str, str | None, dict]]:
    return list(CaseEvent.objects.filter(follow_up=case).values_list("action", "actor__username", "detail"))


def patch(api, case: FollowUp, body: dict):
    return api.patch(f"/api/v1/cases/{case.pk}", json.dumps(body), content_type="application/json")


@pytest.fixture
def sara(shop):
    return member_of(shop, "sara")


# --- The list ----------------------------------------------------------------------------


def test_cases_list_gives_each_case_with_its_customer_order_lead_and_themes(api, survey, sara):
    case = case_in(
        survey,
        comment="The box came crushed.\nAnd late.",
        invitation__order__external_id="A-77",
        invitation__order__customer__name="Maryam Rahimi",
        invitation__order__customer__email="maryam@example.com",
        invitation__order__customer__phone="+98 912 000 0000",
        priority=Priority.HIGH,
        due_at=NOW - HOUR,
        assignee=sara,
        customer_orders=4,
        customer_spend=Decimal("812.50"),
        keywords=["broken"],
    )
    themed(case, ("delivery", "negative", -0.7), ("packaging", "negative", -0.4))

    response = api.get("/api/v1/cases")

    assert response.status_code == 200
    assert response.json() == {
        "items": [
            {
                "id": case.pk,
                "priority": "high",
                "status": "open",
                "reasons": ["detractor"],
                "keywords": ["broken"],
                "due_at": "2026-11-18T08:30:00Z",
                "overdue": True,
                "assignee": "sara",
                "created_at": "2026-11-18T09:30:00Z",
                "first_contact_at": None,
                "resolved_at": None,
                "resolution": None,
                "goodwill": None,
                "goodwill_note": "",
                "customer": {
                    "name": "Maryam Rahimi",
                    "email": "maryam@example.com",
                    "phone": "+98 912 000 0000",
                    "orders": 4,
                    "spend": "812.50",
                    "rank": 100,  # the shop's only customer: as much as all of them
                },
                "order": "A-77",
                "lead": {"kind": "nps", "score": 2},
                "comment": "The box came crushed.",
                "themes": [
                    {"theme": "delivery", "label": "negative", "polarity": -0.7},
                    {"theme": "packaging", "label": "negative", "polarity": -0.4},
                ],
            }
        ],
        "next_cursor": None,
    }


def test_cases_list_orders_by_priority_then_due_time_with_none_last_then_id(api, survey):
    low = case_in(survey, priority=Priority.LOW, due_at=NOW)
    high_no_due = case_in(survey, priority=Priority.HIGH, due_at=None)
    high_later = case_in(survey, priority=Priority.HIGH, due_at=NOW + 2 * HOUR)
    high_sooner = case_in(survey, priority=Priority.HIGH, due_at=NOW + HOUR)
    high_sooner_too = case_in(survey, priority=Priority.HIGH, due_at=NOW + HOUR)
    urgent = case_in(survey, priority=Priority.URGENT, due_at=NOW + 5 * HOUR)

    assert ids(api.get("/api/v1/cases")) == [
        urgent.pk,
        high_sooner.pk,
        high_sooner_too.pk,
        high_later.pk,
        high_no_due.pk,
        low.pk,
    ]


def test_cases_list_filters_by_one_or_several_statuses(api, survey):
    open_case = case_in(survey)
    waiting = case_in(survey, status=Status.WAITING)
    resolved = case_in(survey, status=Status.RESOLVED)

    assert ids(api.get("/api/v1/cases?status=waiting")) == [waiting.pk]
    assert sorted(ids(api.get("/api/v1/cases?status=open&status=resolved"))) == [open_case.pk, resolved.pk]
    assert sorted(ids(api.get("/api/v1/cases"))) == [open_case.pk, waiting.pk, resolved.pk]


def test_cases_list_filters_by_priority_word(api, survey):
    urgent = case_in(survey, priority=Priority.URGENT)
    case_in(survey, priority=Priority.LOW)

    assert ids(api.get("/api/v1/cases?priority=urgent")) == [urgent.pk]
    assert api.get("/api/v1/cases?priority=1").status_code == 422


def test_cases_list_filters_by_assignee_username_or_none(api, survey, sara, shop):
    reza = member_of(shop, "reza")
    saras = case_in(survey, assignee=sara)
    case_in(survey, assignee=reza)
    nobodys = case_in(survey)

    assert ids(api.get("/api/v1/cases?assignee=sara")) == [saras.pk]
    assert ids(api.get("/api/v1/cases?assignee=none")) == [nobodys.pk]


def test_cases_list_filters_overdue_cases_in_and_out(api, survey):
    overdue = case_in(survey, due_at=NOW - HOUR)
    contacted = case_in(survey, due_at=NOW - HOUR, first_contact_at=NOW - 2 * HOUR)
    closed = case_in(survey, due_at=NOW - HOUR, status=Status.RESOLVED)
    not_yet = case_in(survey, due_at=NOW + HOUR)
    no_deadline = case_in(survey, due_at=None)

    assert ids(api.get("/api/v1/cases?overdue=true")) == [overdue.pk]
    assert sorted(ids(api.get("/api/v1/cases?overdue=false"))) == [contacted.pk, closed.pk, not_yet.pk, no_deadline.pk]


def test_cases_list_filters_by_reason_without_matching_a_longer_code(api, survey):
    detractor = case_in(survey, reasons=["detractor", "keyword"])
    case_in(survey, reasons=["silent_detractor"])

    assert ids(api.get("/api/v1/cases?reason=detractor")) == [detractor.pk]


def test_cases_list_filters_by_theme(api, survey):
    about_delivery = case_in(survey, comment="Slow.")
    themed(about_delivery, ("delivery", "negative", -0.5))
    about_price = case_in(survey, comment="Dear.")
    themed(about_price, ("price", "negative", -0.5))

    assert ids(api.get("/api/v1/cases?theme=delivery")) == [about_delivery.pk]


def test_cases_list_filters_by_language(api, survey):
    persian = case_in(survey, language="fa")
    case_in(survey, language="en")

    assert ids(api.get("/api/v1/cases?language=fa")) == [persian.pk]


def test_cases_list_filters_by_product_sku_on_the_order(api, survey):
    with_kettle = case_in(survey)
    OrderLine.objects.create(order=with_kettle.response.invitation.order, sku="KETTLE-1")
    OrderLine.objects.create(order=with_kettle.response.invitation.order, sku="MUG-2")
    other = case_in(survey)
    OrderLine.objects.create(order=other.response.invitation.order, sku="MUG-2")

    assert ids(api.get("/api/v1/cases?product=KETTLE-1")) == [with_kettle.pk]
    assert sorted(ids(api.get("/api/v1/cases?product=MUG-2"))) == [with_kettle.pk, other.pk]


def test_cases_list_searches_customer_name_email_and_order_number(api, survey):
    maryam = case_in(survey, invitation__order__customer__name="Maryam Rahimi")
    by_email = case_in(survey, invitation__order__customer__email="ali@shop-client.example")
    by_order = case_in(survey, invitation__order__external_id="FA-9001")

    assert ids(api.get("/api/v1/cases?q=rahimi")) == [maryam.pk]
    assert ids(api.get("/api/v1/cases?q=shop-client")) == [by_email.pk]
    assert ids(api.get("/api/v1/cases?q=%23FA-9001")) == [by_order.pk]


def test_cases_list_shows_only_the_keys_shop(api, other_api, survey):
    case_in(survey)

    assert ids(other_api.get("/api/v1/cases")) == []


# --- Cursor pagination --------------------------------------------------------------------


def test_cases_pages_list_every_case_once_while_new_cases_arrive(api, survey):
    made = [
        case_in(survey, priority=priority, due_at=due)
        for priority, due in [
            (Priority.URGENT, NOW + HOUR),
            (Priority.HIGH, None),
            (Priority.HIGH, NOW + HOUR),
            (Priority.HIGH, NOW + HOUR),
            (Priority.NORMAL, NOW - HOUR),
            (Priority.NORMAL, None),
            (Priority.LOW, NOW),
        ]
    ]
    seen: list[int] = []
    cursor = None
    arrivals = iter(
        [
            # One that sorts before everything (already passed), one in the middle, one at the end.
            {"priority": Priority.URGENT, "due_at": NOW},
            {"priority": Priority.NORMAL, "due_at": NOW},
            {"priority": Priority.LOW, "due_at": None},
        ]
    )
    added = []
    for _ in range(10):
        page = api.get("/api/v1/cases", {"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        if arrival := next(arrivals, None):
            added.append(case_in(survey, **arrival))

    assert len(seen) == len(set(seen))
    assert {case.pk for case in made} <= set(seen)
    passed, middle, last = added
    assert passed.pk not in seen
    assert {middle.pk, last.pk} <= set(seen)
    # Cases with no due time come last on every database (SQLite puts NULL first unless told).
    queue = FollowUp.objects.order_by("priority", F("due_at").asc(nulls_last=True), "pk")
    assert seen == sorted(seen, key=[case.pk for case in queue].index)


def test_cases_pages_are_limited_to_200(api, survey):
    case_in(survey)

    assert api.get("/api/v1/cases?limit=201").status_code == 422
    assert api.get("/api/v1/cases?limit=0").status_code == 422


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        base64.urlsafe_b64encode(b'{"a": 1}').decode(),
        base64.urlsafe_b64encode(b'[1, "2026-11-18T09:30:00", 3]').decode(),
    ],
)
def test_cases_list_refuses_a_cursor_it_did_not_give(api, survey, cursor):
    response = api.get("/api/v1/cases", {"cursor": cursor})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "cursor"]


def count_queries(api, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert api.get(url).status_code == 200
    return len(queries)


def test_cases_list_makes_as_many_queries_for_three_cases_as_for_one(api, survey, sara, django_assert_num_queries):
    themed(case_in(survey, comment="Late.", assignee=sara), ("delivery", "negative", -0.5))
    api.get("/api/v1/cases")  # the key's first use of the minute records it: not counted
    one = count_queries(api, "/api/v1/cases")
    themed(case_in(survey, comment="Broken.", assignee=sara), ("quality", "negative", -0.5))
    case_in(survey, comment="Meh.")

    with django_assert_num_queries(one):
        response = api.get("/api/v1/cases")

    assert len(response.json()["items"]) == 3


# --- One case ----------------------------------------------------------------------------


def test_a_case_has_every_answer_with_sentiment_and_themes_its_notes_and_events(api, survey, sara):
    choice = Question.objects.create(
        survey=survey,
        kind=Question.Kind.MULTIPLE,
        position=2,
        text="What went wrong?",
        options=[{"value": "late", "en": "Late"}, {"value": "damaged", "en": "Damaged"}],
    )
    case = case_in(survey, comment="دیر رسید و جعبه خراب بود")
    Answer.objects.create(response=case.response, question=choice, choices=["late", "damaged"])
    themed(case, ("delivery", "negative", -0.7))
    cases.add_note(case, "Called, no answer.", by=sara)

    response = api.get(f"/api/v1/cases/{case.pk}")

    body = response.json()
    assert response.status_code == 200
    assert body["answers"] == [
        {
            "question": "How likely…?",
            "kind": "nps",
            "score": 2,
            "choices": [],
            "text": "",
            "sentiment": None,
            "themes": [],
        },
        {
            "question": "Why?",
            "kind": "comment",
            "score": None,
            "choices": [],
            "text": "دیر رسید و جعبه خراب بود",
            "sentiment": {"label": "negative", "polarity": -0.6},
            "themes": [{"theme": "delivery", "label": "negative", "polarity": -0.7}],
        },
        {
            "question": "What went wrong?",
            "kind": "multiple",
            "score": None,
            "choices": ["late", "damaged"],
            "text": "",
            "sentiment": None,
            "themes": [],
        },
    ]
    [note] = CaseNote.objects.filter(follow_up=case)
    assert body["notes"] == [
        {
            "id": note.pk,
            "kind": "note",
            "author": "sara",
            "text": "Called, no answer.",
            "created_at": "2026-11-18T09:30:00Z",
        }
    ]
    assert [(event["action"], event["actor"]) for event in body["events"]] == [("flagged", None), ("note", "sara")]
    assert body["comment"] == "دیر رسید و جعبه خراب بود"


def test_another_shops_key_gets_a_404_for_a_case(api, other_api, survey):
    case = case_in(survey)

    assert other_api.get(f"/api/v1/cases/{case.pk}").status_code == 404
    assert patch(other_api, case, {"status": "waiting"}).status_code == 404
    assert other_api.get(f"/api/v1/cases/{case.pk}/notes").status_code == 404
    assert (
        other_api.post(f"/api/v1/cases/{case.pk}/notes", {"text": "x"}, content_type="application/json").status_code
        == 404
    )
    case.refresh_from_db()
    assert (case.status, list(case.notes.all())) == (Status.OPEN, [])


def test_a_case_makes_as_many_queries_for_three_notes_and_answers_as_for_one(
    api, survey, sara, django_assert_num_queries
):
    case = case_in(survey, comment="Late.")
    cases.add_note(case, "One.", by=sara)
    api.get(f"/api/v1/cases/{case.pk}")
    one = count_queries(api, f"/api/v1/cases/{case.pk}")
    themed(case, ("delivery", "negative", -0.5), ("price", "negative", -0.2))
    cases.add_note(case, "Two.", by=sara)
    cases.add_note(case, "Three.", by=None)

    with django_assert_num_queries(one):
        response = api.get(f"/api/v1/cases/{case.pk}")

    assert len(response.json()["notes"]) == 3


# --- Changing a case -----------------------------------------------------------------------


def test_patch_status_moves_the_case_and_records_it_without_an_actor(api, survey):
    case = case_in(survey)

    response = patch(api, case, {"status": "waiting"})

    case.refresh_from_db()
    assert response.status_code == 200
    assert (response.json()["status"], case.status, case.first_contact_at) == ("waiting", Status.WAITING, NOW)
    assert trail(case)[-1] == ("status", None, {"old": "open", "new": "waiting", "via": "API key test"})
    assert response.json()["events"][-1]["action"] == "status"


def test_patch_to_the_status_the_case_has_changes_nothing(api, survey):
    case = case_in(survey, status=Status.IN_PROGRESS)

    response = patch(api, case, {"status": "in_progress"})

    assert response.status_code == 200
    assert [action for action, _, _ in trail(case)] == ["flagged"]


def test_patch_a_move_the_status_does_not_allow_is_a_409_with_the_reason(api, survey):
    case = case_in(survey, status=Status.RESOLVED, resolution=FollowUp.Resolution.FIXED)

    response = patch(api, case, {"status": "waiting"})

    case.refresh_from_db()
    assert response.status_code == 409
    assert response.json() == {"detail": "a case that is resolved cannot become Waiting on customer"}
    assert case.status == Status.RESOLVED


def test_patch_resolution_closes_the_case_with_goodwill(api, survey):
    case = case_in(survey)

    response = patch(api, case, {"resolution": "goodwill", "goodwill": "coupon", "goodwill_note": "SORRY10"})

    case.refresh_from_db()
    assert response.status_code == 200
    assert (case.status, case.resolution, case.goodwill, case.goodwill_note, case.resolved_at) == (
        Status.RESOLVED,
        "goodwill",
        "coupon",
        "SORRY10",
        NOW,
    )
    assert trail(case)[-1] == (
        "resolved",
        None,
        {"old": "open", "new": "resolved", "resolution": "goodwill", "goodwill": "coupon", "via": "API key test"},
    )


def test_patch_unreachable_gives_up_on_the_case(api, survey):
    case = case_in(survey)

    response = patch(api, case, {"status": "no_contact", "resolution": "unreachable"})

    assert (response.status_code, response.json()["status"]) == (200, "no_contact")


def test_patch_closing_a_closed_case_is_a_409(api, survey):
    case = case_in(survey, status=Status.RESOLVED, resolution=FollowUp.Resolution.FIXED)

    response = patch(api, case, {"resolution": "explained"})

    assert (response.status_code, response.json()) == (409, {"detail": "the case is already closed; reopen it first"})


def test_patch_assignee_gives_the_case_to_a_colleague_and_null_takes_it_back(api, survey, sara):
    case = case_in(survey, status=Status.IN_PROGRESS)

    given = patch(api, case, {"assignee": "sara"})
    case.refresh_from_db()
    assert (given.status_code, given.json()["assignee"], case.assignee) == (200, "sara", sara)

    taken = patch(api, case, {"assignee": None})
    case.refresh_from_db()
    assert (taken.status_code, taken.json()["assignee"], case.assignee) == (200, None, None)
    assert trail(case)[-2:] == [
        ("assigned", None, {"to": "sara", "via": "API key test"}),
        ("assigned", None, {"to": None, "via": "API key test"}),
    ]


def test_patch_moves_and_assigns_an_open_case_in_one_request(api, survey, sara):
    case = case_in(survey)

    response = patch(api, case, {"status": "in_progress", "assignee": "sara"})

    case.refresh_from_db()
    assert response.status_code == 200
    assert (case.status, case.assignee) == (Status.IN_PROGRESS, sara)
    assert trail(case)[1:] == [
        ("status", None, {"old": "open", "new": "in_progress", "via": "API key test"}),
        ("assigned", None, {"to": "sara", "via": "API key test"}),
    ]


def test_patch_assigns_an_open_case_and_the_trail_names_the_api_key(api, survey, sara):
    case = case_in(survey)

    response = patch(api, case, {"assignee": "sara"})

    case.refresh_from_db()
    assert response.status_code == 200
    assert (case.assignee, case.status) == (sara, Status.OPEN)
    assert trail(case)[-1][0] == "assigned"
    assert case.events.last().detail == {"to": "sara", "via": "API key test"}


def test_patch_is_all_or_nothing(api, survey, shop):
    case = case_in(survey)
    member_of(SurveyFactory().shop, "stranger")

    response = patch(api, case, {"status": "in_progress", "assignee": "stranger"})

    case.refresh_from_db()
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "payload", "assignee"]
    assert (case.status, case.assignee, [action for action, _, _ in trail(case)]) == (Status.OPEN, None, ["flagged"])


@pytest.mark.parametrize(
    "body",
    [
        {"priority": "urgent"},
        {"status": "closed"},
        {"status": "resolved"},
        {"status": "waiting", "resolution": "fixed"},
        {"resolution": "unreachable", "status": "resolved"},
        {"goodwill": "coupon"},
        {"resolution": "fixed", "goodwill_note": "x" * 301},
    ],
)
def test_patch_with_an_unknown_field_or_inconsistent_values_is_a_422(api, survey, body):
    case = case_in(survey)

    response = patch(api, case, body)

    assert response.status_code == 422
    assert [action for action, _, _ in trail(case)] == ["flagged"]


# --- Notes -------------------------------------------------------------------------------


def test_notes_are_listed_and_added_without_an_author(api, survey, sara):
    case = case_in(survey)
    cases.add_note(case, "First call.", by=sara)

    added = api.post(f"/api/v1/cases/{case.pk}/notes", {"text": "  From the CRM  "}, content_type="application/json")
    listed = api.get(f"/api/v1/cases/{case.pk}/notes")

    note = CaseNote.objects.get(text="From the CRM")
    assert added.status_code == 201
    assert added.json() == {
        "id": note.pk,
        "kind": "note",
        "author": None,
        "text": "From the CRM",
        "created_at": "2026-11-18T09:30:00Z",
    }
    assert [(item["author"], item["text"]) for item in listed.json()] == [
        ("sara", "First call."),
        (None, "From the CRM"),
    ]
    assert trail(case)[-1] == ("note", None, {"note": note.pk, "via": "API key test"})


@pytest.mark.parametrize("body", [{"text": "   "}, {"text": "x" * 10001}, {"text": "hi", "kind": "reply"}, {}])
def test_a_note_without_text_too_long_or_with_other_fields_is_a_422(api, survey, body):
    case = case_in(survey)

    response = api.post(f"/api/v1/cases/{case.pk}/notes", body, content_type="application/json")

    assert response.status_code == 422
    assert not CaseNote.objects.filter(follow_up=case).exists()


# --- Documentation ---------------------------------------------------------------------------


def test_openapi_documents_the_case_and_export_endpoints_with_schemas(client):
    schema = client.get("/api/v1/openapi.json").json()

    paths = schema["paths"]
    assert {
        "/api/v1/cases",
        "/api/v1/cases/{case_id}",
        "/api/v1/cases/{case_id}/notes",
        "/api/v1/exports/responses.csv",
        "/api/v1/exports/cases.csv",
    } <= set(paths)
    assert set(paths["/api/v1/cases/{case_id}"]) == {"get", "patch"}
    parameters = {parameter["name"] for parameter in paths["/api/v1/cases"]["get"]["parameters"]}
    assert {"status", "priority", "assignee", "overdue", "reason", "theme", "language", "product", "q"} <= parameters
    assert {"cursor", "limit"} <= parameters
    components = schema["components"]["schemas"]
    assert {"items", "next_cursor"} <= set(components["CasePage"]["properties"])
    assert {"answers", "notes", "events", "customer", "lead"} <= set(components["CaseDetailOut"]["properties"])
    assert components["CasePatchIn"]["additionalProperties"] is False
    assert components["NoteIn"]["additionalProperties"] is False
    assert "text/csv" in paths["/api/v1/exports/cases.csv"]["get"]["responses"]["200"]["content"]
