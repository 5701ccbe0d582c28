"""The monthly report as managers get it: the PDF (English and Persian), its schedule, the email
exactly once, failures tried again, the archive and the API."""

from datetime import date, datetime, timedelta
from io import BytesIO
from zoneinfo import ZoneInfo

import pypdfium2
import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from feedback.casework.flagging import flag_response
from feedback.insights.periods import Calendar
from reports import domain
from reports.data import monthly_report_data
from reports.models import ReportRun, ReportSchedule
from reports.pdf import render_monthly_report
from surveys.intake.api_keys import create_api_key
from surveys.models import Language, Membership
from tests.conftest import drop_database_connection_while_receiving, wait_until
from tests.factories import ResponseFactory, ShopFactory, SurveyFactory

# Dates and months against the clock: CI runs these on the days calendars turn.
pytestmark = pytest.mark.calendar

TEHRAN = ZoneInfo("Asia/Tehran")
OCTOBER = date(2026, 10, 1)


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)


@pytest.fixture
def october(db):  # type: ignore[no-untyped-def]
    """Gol Shop (Tehran) with five October answers, one flagged detractor, and a manager."""
    survey = SurveyFactory(
        shop__name="Gol Shop", shop__slug="gol", shop__timezone="Asia/Tehran", shop__brand_color="#7a1f5c"
    )
    survey.shop.created_at = datetime(2025, 1, 1, tzinfo=TEHRAN)
    survey.shop.save(update_fields=["created_at"])
    for day, score in [(1, 10), (5, 9), (9, 7), (12, 10)]:
        ResponseFactory(invitation__survey=survey, submitted_at=datetime(2026, 10, day, 9, tzinfo=TEHRAN), score=score)
    when = datetime(2026, 10, 20, 18, tzinfo=TEHRAN)
    detractor = ResponseFactory(
        invitation__survey=survey,
        invitation__order__customer__name="Reza Karimi",
        invitation__order__customer__email="reza@example.com",
        invitation__order__external_id="A-4242",
        submitted_at=when,
        score=2,
        comment="Box arrived crushed.",
    )
    with time_machine.travel(when, tick=False):
        flag_response(detractor)
    return survey.shop


@pytest.fixture
def manager(october, staff_of):  # type: ignore[no-untyped-def]
    user = staff_of(october, role=Membership.Role.MANAGER)
    user.email = "manager@gol.example"
    user.save(update_fields=["email"])
    return user


# --- The PDF ----------------------------------------------------------------------------------


def test_the_english_pdf_says_what_the_database_holds(october):
    report = monthly_report_data(october, month=OCTOBER)
    text = pdf_text(render_monthly_report(report))

    assert "Gol Shop" in text
    assert "October 2026" in text
    # NPS (3 promoters, 1 passive, 1 detractor of 5) = 40, margin from the adjusted Wald interval.
    assert report.headline.nps.score == 40.0
    assert f"40 ±{round(report.headline.nps.margin_of_error)}" in text
    # Every flagged customer: who, then why and what was done (nobody has contacted Reza yet).
    assert "Reza Karimi · reza@example.com · order A-4242 · score 2" in text
    assert "Detractor (NPS 0–6)" in text
    assert "— nobody yet · Open · overdue" in text
    # The list is no table: its header runs in the margin of its own pages, and only there.
    pages = [page.extract_text() for page in PdfReader(BytesIO(render_monthly_report(report))).pages]
    header = "Flagged customers: name · email · order · score, then why and what we did"
    assert [header in page for page in pages] == ["Reza Karimi" in page for page in pages]
    assert "How satisfied are our customers?" in text
    assert "Are customers coming back?" in text


def test_a_fall_is_said_once_by_its_word_not_by_a_word_and_a_minus(october):
    survey = october.surveys.get()
    for day in range(1, 21):
        ResponseFactory(invitation__survey=survey, submitted_at=datetime(2026, 9, day, 9, tzinfo=TEHRAN), score=10)
    for day in range(1, 11):
        ResponseFactory(invitation__survey=survey, submitted_at=datetime(2026, 10, day, 10, tzinfo=TEHRAN), score=1)
    report = monthly_report_data(october, month=OCTOBER)

    text = " ".join(pdf_text(render_monthly_report(report)).split())

    fall = report.headline.vs_previous_month.points
    assert fall is not None
    assert fall < 0
    assert report.headline.vs_previous_month.significant
    assert f"Down {round(-fall)} points on last month" in text
    assert f"Down −{round(-fall)}" not in text
    assert f"Down -{round(-fall)}" not in text


def test_the_persian_edition_is_persian_right_to_left_with_jalali_dates(october):
    # Mehr 1405: 23 Sep – 22 Oct 2026.
    report = monthly_report_data(october, month=OCTOBER, calendar=Calendar.JALALI, language=Language.PERSIAN)
    pdf = render_monthly_report(report)
    text = pdf_text(pdf)

    assert "English" not in text
    assert "How satisfied" not in text  # every heading translated
    # The Jalali month with Persian digits (text comes out of the PDF in visual order).
    assert "مهر" in text
    assert "۱۴۰۵" in text
    assert "۴۰" in text  # the NPS
    assert "منتقد" in text  # a reason, translated
    # Latin tokens stay in order inside right-to-left text (not "4242-A").
    assert "A-4242" in text
    assert "reza@example.com" in text
    fonts = {
        str(font["/BaseFont"])
        for page in PdfReader(BytesIO(pdf)).pages
        for font in page["/Resources"]["/Font"].values()
    }
    assert any("Vazirmatn" in font for font in fonts)  # embedded, not the reader's fallback


def test_page_images_show_the_cover_in_the_shops_colour(october, tmp_path):
    """Renders every page of both editions to PNG (kept in the test's folder to look at)."""
    for language in (Language.ENGLISH, Language.PERSIAN):
        pdf = render_monthly_report(monthly_report_data(october, month=OCTOBER, language=language))
        document = pypdfium2.PdfDocument(pdf)
        assert len(document) >= 5  # cover, satisfaction, themes, flagged, retention
        images = [page.render(scale=0.5).to_pil() for page in document]
        for number, image in enumerate(images, start=1):
            image.save(tmp_path / f"{language}-{number}.png")
        cover = images[0].convert("RGB")
        assert cover.getpixel((cover.width // 2, 20)) == (0x7A, 0x1F, 0x5C)  # the band in the brand colour
        # Every page has something on it (not a blank page from a bad break).
        assert all(image.convert("L").getextrema()[0] < 128 for image in images)


# --- Schedule and delivery ---------------------------------------------------------------------


def test_a_report_is_due_at_seven_on_the_first_and_starts_once(october, django_capture_on_commit_callbacks):
    assert domain.start_due_reports(now=datetime(2026, 11, 1, 6, 59, tzinfo=TEHRAN)) == []
    assert not ReportRun.objects.exists()

    ids = domain.start_due_reports(now=datetime(2026, 11, 1, 7, 0, tzinfo=TEHRAN))

    run = ReportRun.objects.get()
    assert ids == [run.pk]
    assert (run.period, run.period_end, run.calendar, run.language) == (
        OCTOBER,
        date(2026, 10, 31),
        "gregorian",
        "en",
    )
    assert run.email_wanted is True
    domain.make_report(run.pk)
    assert domain.start_due_reports(now=datetime(2026, 11, 1, 7, 15, tzinfo=TEHRAN)) == []
    assert ReportRun.objects.count() == 1


def test_a_jalali_shop_gets_its_month_on_its_own_day_and_hour(october):
    ReportSchedule.objects.create(shop=october, calendar="jalali", day=3, hour=9, language=Language.PERSIAN)
    # 1 Azar 1405 = 22 Nov 2026; the 3rd is 24 Nov.
    assert domain.start_due_reports(now=datetime(2026, 11, 24, 8, 59, tzinfo=TEHRAN)) == []

    domain.start_due_reports(now=datetime(2026, 11, 24, 9, 0, tzinfo=TEHRAN))

    run = ReportRun.objects.get()
    assert (run.period, run.period_end, run.calendar, run.language) == (
        date(2026, 10, 23),
        date(2026, 11, 21),
        "jalali",
        "fa",
    )


def test_no_report_for_a_month_before_the_shop_existed_or_when_switched_off(db):
    ShopFactory()  # created now: last month it did not exist
    ReportSchedule.objects.create(shop=ShopFactory(created_at=datetime(2020, 1, 1, tzinfo=TEHRAN)), enabled=False)

    assert domain.start_due_reports() == []


def test_the_managers_get_the_pdf_by_email_once(october, manager, mailbox):
    run = domain.request_report(october, month=OCTOBER, email=True, enqueue=False)
    domain.make_report(run.pk)

    [message] = mailbox.wait_for(1)
    assert message["To"] == "manager@gol.example"
    assert message["Subject"] == "Gol Shop: customer report for October 2026"
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "gol-2026-10-en.pdf"
    assert "Reza Karimi" in pdf_text(attachment.get_content())
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert f"/reports/{run.pk}/download/" in body
    assert "Net Promoter Score: 40" in body
    run.refresh_from_db()
    assert (run.status, run.emailed_to, run.email_wanted) == ("done", 1, False)

    # Made again: the file is replaced, nobody is emailed a second time …
    domain.make_report(domain.request_report(october, month=OCTOBER, enqueue=False).pk)
    # … unless asked to.
    domain.make_report(domain.request_report(october, month=OCTOBER, email=True, enqueue=False).pk)
    assert len(mailbox.wait_for(2)) == 2
    assert ReportRun.objects.count() == 1


@pytest.mark.postgresql_only(reason="drops a PostgreSQL connection")
@pytest.mark.django_db(transaction=True)
def test_a_report_emailed_while_the_database_restarted_is_done_and_not_emailed_again(october, manager, mailbox):
    run = domain.request_report(october, month=OCTOBER, email=True, enqueue=False)
    drop_database_connection_while_receiving(mailbox)

    domain.make_report(run.pk)

    run.refresh_from_db()
    assert (run.status, run.emailed_to, run.email_wanted) == ("done", 1, False)
    assert domain.make_report(run.pk) is None  # nothing left to claim: no second email
    assert len(mailbox.messages) == 1


def test_the_persian_email_is_persian(october, manager, mailbox):
    run = domain.request_report(october, month=OCTOBER, language=Language.PERSIAN, email=True, enqueue=False)
    domain.make_report(run.pk)

    [message] = mailbox.wait_for(1)
    assert str(message["Subject"]).strip() == "Gol Shop: گزارش مشتریان اکتبر ۲۰۲۶"
    assert "پیوست" in message.get_body(preferencelist=("plain",)).get_content()


def test_smtp_down_the_run_fails_and_is_tried_again_with_backoff(october, manager, mailbox, settings):
    port = settings.EMAIL_PORT
    settings.EMAIL_PORT = 9  # nothing listens there
    start = datetime(2026, 11, 1, 7, 0, tzinfo=TEHRAN)
    [run_id] = domain.start_due_reports(now=start)

    run = domain.make_report(run_id, now=start)

    assert run is not None
    assert run.status == "failed"
    assert run.error.startswith("email: ConnectionRefusedError")
    assert run.next_attempt_at == start + timedelta(minutes=5)
    assert run.file  # the PDF is made and kept: managers can download it meanwhile
    assert domain.start_due_reports(now=start + timedelta(minutes=4)) == []
    assert domain.start_due_reports(now=start + timedelta(minutes=5)) == [run_id]
    run = domain.make_report(run_id, now=start + timedelta(minutes=5))
    assert run is not None
    assert run.next_attempt_at == start + timedelta(minutes=15)

    settings.EMAIL_PORT = port
    run = domain.make_report(run_id, now=start + timedelta(minutes=15))

    assert run is not None
    assert (run.status, run.error, run.attempts) == ("done", "", 3)
    assert len(mailbox.wait_for(1)) == 1


def test_a_run_whose_worker_died_is_picked_up_again(october):
    run = domain.request_report(october, month=OCTOBER, enqueue=False)
    started = datetime(2026, 11, 2, 8, 0, tzinfo=TEHRAN)
    ReportRun.objects.filter(pk=run.pk).update(status="running", started_at=started)

    assert domain.make_report(run.pk, now=started + timedelta(minutes=10)) is None  # still someone's
    assert domain.start_due_reports(now=started + timedelta(minutes=31)) == [run.pk]
    assert domain.make_report(run.pk, now=started + timedelta(minutes=31)).status == "done"


# --- The command line -------------------------------------------------------------------------


def test_the_command_writes_the_pdf(october, tmp_path):
    out = tmp_path / "october.pdf"

    call_command("monthly_report", shop="gol", month="2026-10", out=out)

    assert "Reza Karimi" in pdf_text(out.read_bytes())
    assert ReportRun.objects.get(shop=october).status == "done"


def test_a_report_the_command_wrote_is_done_and_not_made_again_by_the_scheduler(october, tmp_path, time_machine):
    time_machine.move_to(datetime(2026, 11, 1, 8, tzinfo=TEHRAN), tick=False)  # the scheduled one is due too
    [scheduled] = domain.start_due_reports()

    call_command("monthly_report", shop="gol", month="2026-10", out=tmp_path / "october.pdf")

    run = ReportRun.objects.get()
    assert (run.pk, run.status, run.next_attempt_at) == (scheduled, "done", None)
    assert domain.start_due_reports() == []
    assert domain.make_report(run.pk) is None  # the queued task finds nothing left to do


def test_the_command_takes_a_jalali_month(october, tmp_path):
    out = tmp_path / "aban.pdf"

    call_command("monthly_report", shop="gol", month="1405-07", calendar="jalali", language="fa", out=out)

    text = pdf_text(out.read_bytes())
    assert "مهر" in text
    assert "۱۴۰۵" in text
    assert ReportRun.objects.get().period == date(2026, 9, 23)


@pytest.mark.parametrize(
    ("now", "calendar", "period"),
    [
        # 1 December, 01:00 in Tehran: still 30 November in UTC, but November is over there.
        (datetime(2026, 12, 1, 1, tzinfo=TEHRAN), "gregorian", date(2026, 11, 1)),
        # 16 Azar 1405: last month is Aban, which began on 23 October.
        (datetime(2026, 12, 7, 12, tzinfo=TEHRAN), "jalali", date(2026, 10, 23)),
        # 1 Farvardin 1406 (21 March 2027): last month is Esfand 1405.
        (datetime(2027, 3, 21, 9, tzinfo=TEHRAN), "jalali", date(2027, 2, 20)),
    ],
)
def test_without_a_month_the_command_makes_last_months_report_in_the_shops_calendar(
    october, tmp_path, time_machine, now, calendar, period
):
    time_machine.move_to(now, tick=False)

    call_command("monthly_report", shop="gol", calendar=calendar, out=tmp_path / "last.pdf")

    assert ReportRun.objects.get().period == period
    assert (tmp_path / "last.pdf").read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"shop": "gol", "month": "2026-13"}, "A month looks like 2026-10"),
        ({"shop": "gol", "month": "1405-8", "calendar": "jalali"}, "A month looks like 1405-08"),
        ({"shop": "gol", "month": "2099-01"}, "has not begun yet"),
        ({"shop": "nope", "month": "2026-10"}, "no shop"),
    ],
)
def test_the_command_explains_bad_arguments(october, options, error):
    with pytest.raises(CommandError, match=error):
        call_command("monthly_report", **options)


# --- The archive: managers only -----------------------------------------------------------------


def test_managers_list_make_and_download_reports(october, manager, client, django_capture_on_commit_callbacks):
    client.force_login(manager)
    with django_capture_on_commit_callbacks():  # queued for a worker; made here below
        response = client.post(
            reverse("report_make"),
            {"shop": "gol", "month": "2026-10", "calendar": "gregorian", "language": "en"},
        )
    assert response.status_code == 302
    run = ReportRun.objects.get()
    assert run.requested_by == manager
    domain.make_report(run.pk)

    page = client.get(reverse("report_archive"))
    download = client.get(reverse("report_download", args=[run.pk]))

    assert page.status_code == 200
    assert "October 2026" in page.content.decode()
    assert download.status_code == 200
    assert download["Content-Disposition"] == 'attachment; filename="gol-2026-10-en.pdf"'
    assert "Reza Karimi" in pdf_text(b"".join(download.streaming_content))


@pytest.mark.parametrize(("calendar", "month"), [("gregorian", "2026-11"), ("jalali", "1405-08")])
def test_the_archive_offers_last_month_of_the_shops_calendar(october, manager, client, time_machine, calendar, month):
    # 16 Azar 1405: last Jalali month is Aban (1405-08), though 30 November fell in Azar.
    time_machine.move_to(datetime(2026, 12, 7, 12, tzinfo=TEHRAN), tick=False)
    ReportSchedule.objects.create(shop=october, calendar=calendar)
    client.force_login(manager)

    assert f'value="{month}"' in client.get(reverse("report_archive")).content.decode()


def test_the_archive_says_when_a_failed_run_is_tried_again(october, manager, client, time_machine):
    time_machine.move_to(datetime(2026, 11, 2, 9, tzinfo=TEHRAN), tick=False)
    waiting = ReportRun.objects.create(
        shop=october, period=OCTOBER, period_end=date(2026, 10, 31), status="failed", error="email: refused",
        attempts=1, next_attempt_at=timezone.now() + timedelta(minutes=20),
    )  # fmt: skip
    client.force_login(manager)

    assert "trying again in 20\xa0minutes" in client.get(reverse("report_archive")).content.decode()
    time_machine.shift(timedelta(minutes=25))
    assert "trying again shortly" in client.get(reverse("report_archive")).content.decode()
    waiting.attempts, waiting.next_attempt_at = domain.MAX_ATTEMPTS, None
    waiting.save()
    page = client.get(reverse("report_archive")).content.decode()
    assert "email: refused" in page
    assert "trying again" not in page


def test_agents_and_other_shops_do_not_see_reports(october, staff_of, client):
    run = domain.make_report_now(october, month=OCTOBER)
    agent = staff_of(october, role=Membership.Role.AGENT)
    stranger = staff_of(ShopFactory(), role=Membership.Role.MANAGER)

    assert client.get(reverse("report_download", args=[run.pk])).status_code == 302  # to the login
    client.force_login(agent)
    assert client.get(reverse("report_archive")).status_code == 403
    assert client.get(reverse("report_download", args=[run.pk])).status_code == 404
    client.force_login(stranger)
    assert client.get(reverse("report_download", args=[run.pk])).status_code == 404
    assert client.post(reverse("report_regenerate", args=[run.pk])).status_code == 404
    assert "gol" not in client.get(reverse("report_archive")).content.decode()


# --- The API: 202 and a run to poll, made by a real worker ------------------------------------


@pytest.fixture
def gol_api(october):  # type: ignore[no-untyped-def]
    _, key = create_api_key(october, name="reports")
    return Client(headers={"Authorization": f"Bearer {key}"})


def test_the_api_makes_a_report_on_demand(gol_api, other_api, celery_worker):
    api = gol_api
    response = api.post("/api/v1/reports", {"month": "2026-10"}, content_type="application/json")

    assert response.status_code == 202
    report = response.json()
    assert (report["month"], report["status"], report["language"]) == ("2026-10", "pending", "en")
    done = wait_until(
        lambda: (found := api.get(report["poll_url"]).json())["status"] == "done" and found, what="the report"
    )
    pdf = api.get(done["pdf_url"])
    assert pdf.status_code == 200
    assert "Reza Karimi" in pdf_text(b"".join(pdf.streaming_content))
    assert [found["id"] for found in api.get("/api/v1/reports").json()] == [report["id"]]
    assert other_api.get(report["poll_url"]).status_code == 404
    assert other_api.get("/api/v1/reports").json() == []


def test_the_api_explains_a_bad_month(gol_api):
    response = gol_api.post("/api/v1/reports", {"month": "October"}, content_type="application/json")

    assert response.status_code == 422
    assert "A month looks like 2026-10" in response.json()["detail"]


def test_extra_recipients_must_be_addresses_and_get_the_report(october, manager, mailbox):
    schedule = ReportSchedule(shop=october, extra_recipients="owner@gol.example\nnot an address")
    with pytest.raises(ValidationError, match="Not an email address: not an address"):
        schedule.full_clean()
    schedule.extra_recipients = "owner@gol.example\nManager@Gol.example"
    schedule.full_clean()
    schedule.save()

    domain.make_report(domain.request_report(october, month=OCTOBER, email=True, enqueue=False).pk)

    [message] = mailbox.wait_for(1)
    assert message["To"] == "manager@gol.example, owner@gol.example"  # the manager once, however capitalised
