from datetime import date, datetime
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from pypdf import PdfReader

from feedback.flagging import flag_response
from reports.data import month_bounds, monthly_report_data
from reports.domain import generate_monthly_report, start_due_monthly_reports
from reports.models import ReportRun
from tests.factories import ResponseFactory, ShopFactory, SurveyFactory

TEHRAN = ZoneInfo("Asia/Tehran")


@pytest.fixture
def october(db):
    """A shop with four October answers (one detractor flagged) and one in November."""
    survey = SurveyFactory(shop__name="Gol Shop", shop__slug="gol", shop__timezone="Asia/Tehran")
    for day, score in [(1, 10), (5, 9), (9, 7)]:
        ResponseFactory(invitation__survey=survey, submitted_at=datetime(2026, 10, day, 9, tzinfo=TEHRAN), score=score)
    detractor = ResponseFactory(
        invitation__survey=survey,
        invitation__order__customer__name="Reza Karimi",
        invitation__order__external_id="A-4242",
        submitted_at=datetime(2026, 10, 31, 23, 30, tzinfo=TEHRAN),
        score=2,
        comment="Box arrived crushed.",
    )
    flag_response(detractor)
    flag_response(
        ResponseFactory(invitation__survey=survey, submitted_at=datetime(2026, 11, 1, 0, 30, tzinfo=TEHRAN), score=0)
    )
    return survey.shop


def test_month_bounds_follow_the_shops_time_zone(october):
    since, until = month_bounds(october, date(2026, 10, 1))

    assert (since.isoformat(), until.isoformat()) == ("2026-10-01T00:00:00+03:30", "2026-11-01T00:00:00+03:30")


def test_monthly_report_data_counts_and_lists_the_flagged(october):
    data = monthly_report_data(october, month=date(2026, 10, 1))

    assert data["nps"]["responses"] == 4
    assert (data["nps"]["promoters"], data["nps"]["passives"], data["nps"]["detractors"]) == (2, 1, 1)
    assert data["nps"]["score"] == 25.0
    [flagged] = data["flagged"]
    assert (flagged["customer"], flagged["order"], flagged["score"], flagged["comment"]) == (
        "Reza Karimi",
        "A-4242",
        2,
        "Box arrived crushed.",
    )
    assert (flagged["reasons"], flagged["status"], flagged["owner"]) == (["Detractor (NPS 0–6)"], "Open", "")


@pytest.mark.parametrize("flagged", [1, 3])
def test_monthly_report_data_queries_do_not_grow_with_flagged(db, flagged, django_assert_num_queries):
    survey = SurveyFactory()
    for _ in range(flagged):
        flag_response(
            ResponseFactory(invitation__survey=survey, submitted_at=datetime(2026, 10, 9, tzinfo=TEHRAN), score=1)
        )

    with django_assert_num_queries(4):  # tally, sent count, follow-ups with joins, answers
        data = monthly_report_data(survey.shop, month=date(2026, 10, 1))

    assert len(data["flagged"]) == flagged


def test_monthly_report_command_writes_a_pdf_naming_the_flagged(october, tmp_path):
    out = tmp_path / "october.pdf"

    call_command("monthly_report", shop="gol", month="2026-10", out=out)

    text = "\n".join(page.extract_text() for page in PdfReader(BytesIO(out.read_bytes())).pages)
    assert "Gol Shop" in text
    assert "October 2026" in text
    assert "Reza Karimi" in text
    assert "A-4242" in text
    run = ReportRun.objects.get(shop=october)
    assert (run.status, run.period) == ("done", date(2026, 10, 1))


def test_generating_again_replaces_the_file(october):
    first = generate_monthly_report(october, month=date(2026, 10, 1))
    second = generate_monthly_report(october, month=date(2026, 10, 1))

    storage = second.file.storage
    folder = second.file.name.rsplit("/", 1)[0]
    assert ReportRun.objects.count() == 1
    assert storage.listdir(folder)[1] == [second.file.name.rsplit("/", 1)[1]]
    assert first.file.name != second.file.name


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"shop": "gol", "month": "2026-13"}, "--month must look like"),
        ({"shop": "nope", "month": "2026-10"}, "no shop"),
    ],
)
def test_monthly_report_command_explains_bad_arguments(october, options, error):
    with pytest.raises(CommandError, match=error):
        call_command("monthly_report", **options)


def test_monthly_reports_start_once_after_seven_on_the_first(db, time_machine):
    shop = ShopFactory(timezone="Asia/Tehran")

    time_machine.move_to(datetime(2026, 11, 1, 6, 59, tzinfo=TEHRAN), tick=False)
    assert start_due_monthly_reports() == 0
    time_machine.move_to(datetime(2026, 11, 1, 7, 0, tzinfo=TEHRAN), tick=False)
    assert start_due_monthly_reports() == 1
    assert start_due_monthly_reports() == 0

    assert list(ReportRun.objects.values_list("shop", "period", "status")) == [(shop.pk, date(2026, 10, 1), "pending")]


def test_reports_download_only_for_their_shop(client, staff_of):
    mine, theirs = ShopFactory(), ShopFactory()
    my_report = generate_monthly_report(mine, month=date(2026, 10, 1))
    their_report = generate_monthly_report(theirs, month=date(2026, 10, 1))
    client.force_login(staff_of(mine))

    ok = client.get(f"/reports/{my_report.pk}/download/")
    hidden = client.get(f"/reports/{their_report.pk}/download/")

    assert ok.status_code == 200
    assert b"".join(ok.streaming_content).startswith(b"%PDF")
    assert hidden.status_code == 404
