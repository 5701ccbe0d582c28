"""CSV exports of responses and cases: over the API and as staff downloads."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from feedback.casework import cases
from feedback.casework.flagging import flag_response
from feedback.insights import exports
from feedback.models import Answer, FollowUp
from sentiment.models import AnswerTheme, SentimentScore
from surveys.models import Membership, Question
from tests.factories import ResponseFactory, SurveyFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 18, 9, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


def answered(survey, *, score: int = 9, comment: str = "", **fields):
    return ResponseFactory(invitation__survey=survey, score=score, comment=comment, **fields)


def scored(response, label: str, polarity: float, *themes: tuple[str, str]) -> None:
    comment = response.answers.exclude(text="").get()
    SentimentScore.objects.create(
        answer=comment, polarity=polarity, label=label, confidence=0.9, language="fa", analyzer="test"
    )
    for theme, theme_label in themes:
        AnswerTheme.objects.create(answer=comment, theme=theme, label=theme_label, polarity=polarity)


def downloaded(response) -> tuple[str, list[dict[str, str]]]:
    """The raw text (BOM included) and the rows as dicts."""
    assert response.status_code == 200, response
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = b"".join(response.streaming_content).decode("utf-8")
    return text, list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def member_of(shop, username: str, role: str) -> User:
    user = User.objects.create_user(username, password="a-long-test-password", is_staff=True)
    Membership.objects.create(user=user, shop=shop, role=role)
    return user


# --- Responses ---------------------------------------------------------------------------


def test_responses_csv_has_a_bom_and_a_row_per_response_with_every_answer(api, survey):
    choice = Question.objects.create(
        survey=survey,
        kind=Question.Kind.MULTIPLE,
        position=2,
        text="What went wrong?",
        options=[{"value": "late", "en": "Late", "fa": "دیر"}, {"value": "damaged", "en": "Damaged"}],
    )
    unhappy = answered(
        survey,
        score=3,
        comment="بسته دیر رسید و خراب بود",
        language="fa",
        invitation__order__external_id="5532214001",
        invitation__order__number="1001",
        invitation__order__customer__name="مریم رحیمی",
        invitation__order__customer__email="maryam@example.com",
    )
    Answer.objects.create(response=unhappy, question=choice, choices=["late", "damaged"])
    scored(unhappy, "negative", -0.6, ("delivery", "negative"), ("quality", "negative"))
    case = flag_response(unhappy)
    assert case is not None
    partial = answered(survey, score=10, completed_at=None)

    text, rows = downloaded(api.get("/api/v1/exports/responses.csv"))

    assert text.startswith("\ufeffresponse_id,submitted_at_utc,")
    assert list(rows[0]) == [
        *exports.RESPONSE_COLUMNS,
        "How likely…?",
        "Why?",
        "What went wrong?",
        *exports.RESPONSE_TAIL_COLUMNS,
    ]
    assert rows == [
        {
            "response_id": str(unhappy.pk),
            "submitted_at_utc": "2026-11-18T09:30:00+00:00",
            "submitted_at_local": "2026-11-18T13:00:00+03:30",
            "completed": "yes",
            "language": "fa",
            "survey": "After purchase",
            "customer_name": "مریم رحیمی",
            "customer_email": "maryam@example.com",
            "order": "5532214001",
            "order_number": "1001",
            "lead_kind": "nps",
            "lead_score": "3",
            "How likely…?": "3",
            "Why?": "بسته دیر رسید و خراب بود",
            "What went wrong?": "Late;Damaged",
            "comment_sentiment": "negative",
            "comment_polarity": "-0.6",
            "themes": "delivery:negative;quality:negative",
            "case_id": str(case.pk),
        },
        {
            **dict.fromkeys(rows[1], ""),
            "response_id": str(partial.pk),
            "submitted_at_utc": "2026-11-18T09:30:00+00:00",
            "submitted_at_local": "2026-11-18T13:00:00+03:30",
            "completed": "no",
            "language": "en",
            "survey": "After purchase",
            "customer_name": partial.customer.name,
            "customer_email": partial.customer.email,
            "order": partial.invitation.order.external_id,
            "order_number": partial.invitation.order.external_id,  # no number beside the id: the id
            "lead_kind": "nps",
            "lead_score": "10",
            "How likely…?": "10",
        },
    ]


def test_responses_csv_keeps_to_the_days_asked_for_in_the_shops_time_zone(api, survey):
    # 2026-11-17 in Tehran runs from 2026-11-16T20:30Z to 2026-11-17T20:30Z.
    before = answered(survey, submitted_at=datetime(2026, 11, 16, 20, 29, tzinfo=UTC))
    first = answered(survey, submitted_at=datetime(2026, 11, 16, 20, 30, tzinfo=UTC))
    last = answered(survey, submitted_at=datetime(2026, 11, 17, 20, 29, tzinfo=UTC))
    after = answered(survey, submitted_at=datetime(2026, 11, 17, 20, 30, tzinfo=UTC))

    response = api.get("/api/v1/exports/responses.csv?since=2026-11-17&until=2026-11-17")

    _, rows = downloaded(response)
    assert [int(row["response_id"]) for row in rows] == [first.pk, last.pk]
    assert (
        response["Content-Disposition"]
        == f'attachment; filename="responses-{survey.shop.slug}-2026-11-17-2026-11-17.csv"'
    )
    assert {before.pk, after.pk}.isdisjoint(int(row["response_id"]) for row in rows)
    assert api.get("/api/v1/exports/responses.csv?since=2026-11-18&until=2026-11-17").status_code == 422


def test_responses_csv_holds_only_the_keys_shop(api, other_api, survey):
    answered(survey)

    _, rows = downloaded(other_api.get("/api/v1/exports/responses.csv"))

    assert rows == []


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        b"".join(client.get(url).streaming_content)
    return len(queries)


def test_responses_csv_makes_as_many_queries_for_three_responses_as_for_one(api, survey, django_assert_num_queries):
    scored(answered(survey, score=2, comment="Bad."), "negative", -0.5, ("delivery", "negative"))
    flag_response(survey.shop.responses.get())
    count_queries(api, "/api/v1/exports/responses.csv")  # the key's first use of the minute records it
    one = count_queries(api, "/api/v1/exports/responses.csv")
    scored(answered(survey, score=3, comment="Meh."), "negative", -0.4, ("price", "negative"))
    answered(survey, score=10)

    with django_assert_num_queries(one):
        text = b"".join(api.get("/api/v1/exports/responses.csv").streaming_content).decode()

    assert len(text.strip().splitlines()) == 4


# --- Cases -------------------------------------------------------------------------------


def test_cases_csv_has_a_row_per_case_with_its_tags_and_notes(api, survey, shop):
    sara = member_of(shop, "sara", Membership.Role.AGENT)
    response = answered(
        survey,
        score=1,
        comment="کلاهبرداری! پول را پس بدهید",
        language="fa",
        invitation__order__external_id="FA-7",
        invitation__order__customer__name="علی",
        invitation__order__customer__phone="+98 912 111 2222",
    )
    scored(response, "negative", -0.8, ("refund", "negative"))
    case = flag_response(response)
    assert case is not None
    FollowUp.objects.filter(pk=case.pk).update(due_at=NOW - timedelta(hours=1))
    cases.add_note(case, "تماس گرفتم، جواب نداد.", by=sara)
    cases.add_note(case, "Sent from the CRM.", by=None)

    _, rows = downloaded(api.get("/api/v1/exports/cases.csv"))

    case.refresh_from_db()
    [row] = rows
    assert list(row) == exports.CASE_COLUMNS
    assert row == {
        "case_id": str(case.pk),
        "response_id": str(response.pk),
        "created_at_utc": "2026-11-18T09:30:00+00:00",
        "created_at_local": "2026-11-18T13:00:00+03:30",
        "priority": case.get_priority_display().lower(),
        "status": "open",
        "reasons": ";".join(case.reasons),
        "keywords": ";".join(case.keywords),
        "themes": "refund:negative",
        "due_at_utc": "2026-11-18T08:30:00+00:00",
        "overdue": "yes",
        "assignee": "",
        "first_contact_at_utc": "",
        "resolved_at_utc": "",
        "resolution": "",
        "goodwill": "",
        "goodwill_note": "",
        "customer_name": "علی",
        "customer_email": response.customer.email,
        "customer_phone": "'+98 912 111 2222",
        "customer_orders": "1",
        "customer_spend": "49.90",
        "order": "FA-7",
        "order_number": "FA-7",
        "language": "fa",
        "lead_kind": "nps",
        "lead_score": "1",
        "comment": "کلاهبرداری! پول را پس بدهید",
        "notes": "[2026-11-18T09:30:00+00:00 sara, note] تماس گرفتم، جواب نداد.\n"
        "[2026-11-18T09:30:00+00:00 Bazgasht, note] Sent from the CRM.",
    }
    assert {"detractor", "keyword"} <= set(row["reasons"].split(";"))
    assert "کلاهبرداری" in row["keywords"].split(";")


def test_cases_csv_makes_as_many_queries_for_three_cases_as_for_one(api, survey, shop, django_assert_num_queries):
    sara = member_of(shop, "sara", Membership.Role.AGENT)

    def flagged(comment: str) -> None:
        response = answered(survey, score=2, comment=comment)
        scored(response, "negative", -0.5, ("delivery", "negative"))
        case = flag_response(response)
        assert case is not None
        cases.add_note(case, f"About {comment}", by=sara)
        cases.assign([case], to=sara, by=sara)

    flagged("One.")
    count_queries(api, "/api/v1/exports/cases.csv")
    one = count_queries(api, "/api/v1/exports/cases.csv")
    flagged("Two.")
    flagged("Three.")

    with django_assert_num_queries(one):
        _, rows = downloaded(api.get("/api/v1/exports/cases.csv"))

    assert [row["assignee"] for row in rows] == ["sara"] * 3


# --- CSV injection -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://evil.example")', '\'=HYPERLINK("http://evil.example")'),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Fine = good", "Fine = good"),
        ("", ""),
        (-0.6, -0.6),
        (3, 3),
    ],
)
def test_safe_cell_defuses_text_a_spreadsheet_would_run(value, cell):
    assert exports.safe_cell(value) == cell


def test_exports_defuse_formulas_from_customers(api, survey):
    answered(
        survey,
        score=2,
        comment='=HYPERLINK("http://evil.example","click")',
        invitation__order__customer__name="@SUM(1+1)",
    )

    _, rows = downloaded(api.get("/api/v1/exports/responses.csv"))

    assert rows[0]["customer_name"] == "'@SUM(1+1)"
    assert rows[0]["Why?"] == '\'=HYPERLINK("http://evil.example","click")'


# --- Staff downloads -----------------------------------------------------------------------


def test_staff_download_sends_anonymous_visitors_to_log_in(client, shop):
    response = client.get(f"/exports/responses.csv?shop={shop.slug}")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=/exports/responses.csv")


def test_staff_download_is_refused_to_an_agent(client, shop):
    client.force_login(member_of(shop, "agent", Membership.Role.AGENT))

    response = client.get(f"/exports/cases.csv?shop={shop.slug}")

    assert response.status_code == 403


def test_staff_download_of_a_shop_the_manager_does_not_belong_to_is_a_404(client, survey):
    answered(survey)
    client.force_login(member_of(SurveyFactory().shop, "elsewhere", Membership.Role.MANAGER))

    response = client.get(f"/exports/responses.csv?shop={survey.shop.slug}")

    assert response.status_code == 404


@pytest.mark.parametrize("role", [Membership.Role.MANAGER, Membership.Role.ADMIN])
def test_staff_download_gives_a_manager_or_admin_the_file(client, survey, role):
    mine = answered(survey, comment="عالی بود")
    answered(SurveyFactory())  # another shop's answer, not in the file
    client.force_login(member_of(survey.shop, "boss", role))

    response = client.get(f"/exports/responses.csv?shop={survey.shop.slug}&since=2026-11-18&until=2026-11-18")

    text, rows = downloaded(response)
    assert text.startswith("\ufeff")
    assert [(int(row["response_id"]), row["Why?"]) for row in rows] == [(mine.pk, "عالی بود")]
    assert response["Content-Disposition"] == (
        f'attachment; filename="responses-{survey.shop.slug}-2026-11-18-2026-11-18.csv"'
    )


def test_staff_download_gives_a_superuser_any_shop(client, survey):
    case = flag_response(answered(survey, score=0))
    assert case is not None
    client.force_login(User.objects.create_superuser("root", password="a-long-test-password"))

    _, rows = downloaded(client.get(f"/exports/cases.csv?shop={survey.shop.slug}"))

    assert [int(row["case_id"]) for row in rows] == [case.pk]


def test_staff_download_needs_a_shop_and_sane_dates(client, shop):
    client.force_login(member_of(shop, "boss", Membership.Role.MANAGER))

    assert client.get("/exports/cases.csv").status_code == 400
    assert client.get(f"/exports/cases.csv?shop={shop.slug}&since=yesterday").status_code == 400
    assert client.get(f"/exports/cases.csv?shop={shop.slug}&since=2026-11-18&until=2026-11-01").status_code == 400
