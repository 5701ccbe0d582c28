"""Retention: what a shop keeps longer than it chose is anonymised daily, numbers intact."""

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.core.files.base import ContentFile

from config.celery import app
from feedback.casework import cases
from feedback.casework.flagging import flag_response
from feedback.insights.tallies import nps_tally
from feedback.models import Answer, CaseNote
from reports.models import ReportRun
from surveys import tasks
from surveys.customer_data import privacy, retention
from surveys.customer_data.retention import apply_retention, months_before
from surveys.models import Customer, Invitation, Shop, Suppression
from surveys.outreach.suppressions import MARKER_PREFIX, suppress, suppressed_among
from tests.factories import CustomerFactory, InvitationFactory, OrderFactory, ResponseFactory

# Dates and months against the clock: CI runs these on the days calendars turn.
pytestmark = pytest.mark.calendar

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
OLD = datetime(2025, 9, 10, 12, 0, tzinfo=UTC)  # 14 months before NOW
RECENT = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)


def answered(survey, customer, *, when, score, comment, external_id):
    order = OrderFactory(shop=survey.shop, customer=customer, external_id=external_id, placed_at=when)
    invitation = InvitationFactory(survey=survey, order=order, customer=customer, status="answered", sent_at=when)
    return ResponseFactory(invitation=invitation, submitted_at=when, score=score, comment=comment)


@pytest.fixture
def keeps_a_year(survey, time_machine):
    shop = survey.shop
    shop.retention_months = 12
    shop.save()
    time_machine.move_to(OLD, tick=False)  # so rows made "then" carry then's created_at
    return shop


@pytest.fixture
def history(keeps_a_year, survey, time_machine):
    """An old customer seen only 14 months ago; a loyal one who answered then and recently."""
    gone = CustomerFactory(shop=keeps_a_year, email="gone@example.com", name="Gone Customer")
    loyal = CustomerFactory(shop=keeps_a_year, email="loyal@example.com", name="Loyal Customer")
    old_gone = answered(survey, gone, when=OLD, score=2, comment="Old complaint from gone", external_id="O-1")
    old_loyal = answered(survey, loyal, when=OLD, score=9, comment="Old praise from loyal", external_id="O-2")
    case = flag_response(old_gone)
    cases.add_note(case, "Old note about gone", by=None)
    cases.resolve(case, resolution="explained", by=None)
    suppress(keeps_a_year, channel="email", address="bounced@example.com", reason=Suppression.Reason.BOUNCED)
    time_machine.move_to(RECENT, tick=False)
    recent = answered(survey, loyal, when=RECENT, score=10, comment="Recent praise from loyal", external_id="R-1")
    time_machine.move_to(NOW, tick=False)
    return {"gone": gone, "loyal": loyal, "old_gone": old_gone, "old_loyal": old_loyal, "recent": recent, "case": case}


def texts():
    return dict(
        Answer.objects.exclude(question__kind="nps").values_list("response__invitation__order__external_id", "text")
    )


def test_months_before_keeps_the_day_or_takes_the_months_last():
    assert months_before(datetime(2026, 11, 20, tzinfo=UTC), 12) == datetime(2025, 11, 20, tzinfo=UTC)
    assert months_before(datetime(2026, 3, 31, tzinfo=UTC), 1) == datetime(2026, 2, 28, tzinfo=UTC)
    assert months_before(datetime(2026, 1, 15, tzinfo=UTC), 25) == datetime(2023, 12, 15, tzinfo=UTC)


@pytest.mark.django_db
def test_retention_anonymises_what_is_older_than_the_shop_keeps(history, keeps_a_year):
    done = apply_retention(keeps_a_year, now=NOW)

    assert texts() == {"O-1": "", "O-2": "", "R-1": "Recent praise from loyal"}
    assert CaseNote.objects.get().text == privacy.ERASED_TEXT
    gone, loyal = Customer.objects.get(pk=history["gone"].pk), Customer.objects.get(pk=history["loyal"].pk)
    assert (gone.email, gone.name, gone.anonymised_at) == ("", "", NOW)
    # Ordered within the year: kept, though their old comment is gone.
    assert (loyal.email, loyal.anonymised_at) == ("loyal@example.com", None)
    assert (done.answers, done.notes, done.customers, done.suppressions) == (2, 1, 1, 1)
    keeps_a_year.refresh_from_db()
    assert keeps_a_year.retention_applied_until == months_before(NOW, 12)


@pytest.mark.django_db
def test_retention_keeps_every_number(history, keeps_a_year):
    year = {"since": OLD - timedelta(days=1), "until": NOW}
    before = (nps_tally(keeps_a_year, **year), Answer.objects.count(), Invitation.objects.count())

    apply_retention(keeps_a_year, now=NOW)

    assert (nps_tally(keeps_a_year, **year), Answer.objects.count(), Invitation.objects.count()) == before
    assert before[0].responses == 3


@pytest.mark.django_db
def test_retention_keeps_suppressed_addresses_suppressed_as_hashes(history, keeps_a_year):
    apply_retention(keeps_a_year, now=NOW)

    [address] = Suppression.objects.values_list("address", flat=True)
    assert address.startswith(MARKER_PREFIX)
    assert suppressed_among({(keeps_a_year.pk, "email", "bounced@example.com")}) == {
        (keeps_a_year.pk, "email", "bounced@example.com"): "bounced"
    }


@pytest.mark.django_db
def test_retention_in_small_batches_does_the_same_and_running_again_does_nothing(history, keeps_a_year):
    first = apply_retention(keeps_a_year, now=NOW, batch=1)
    snapshot = list(Customer.objects.order_by("pk").values()), texts()

    again = apply_retention(keeps_a_year, now=NOW + timedelta(hours=1), batch=1)

    assert (first.answers, first.notes, first.customers, first.suppressions) == (2, 1, 1, 1)
    assert (again.answers, again.notes, again.customers, again.suppressions, again.reports) == (0, 0, 0, 0, 0)
    assert (list(Customer.objects.order_by("pk").values()), texts()) == snapshot


@pytest.mark.django_db
def test_retention_spares_a_customer_with_a_survey_still_open_or_an_open_case(keeps_a_year, survey, time_machine):
    waiting = CustomerFactory(shop=keeps_a_year, email="waiting@example.com")
    order = OrderFactory(shop=keeps_a_year, customer=waiting, placed_at=OLD)
    InvitationFactory(survey=survey, order=order, customer=waiting, status="sent", sent_at=OLD)
    unresolved = CustomerFactory(shop=keeps_a_year, email="unresolved@example.com")
    flag_response(answered(survey, unresolved, when=OLD, score=0, comment="Awful", external_id="O-9"))
    resolved = CustomerFactory(shop=keeps_a_year, email="resolved@example.com")
    case = flag_response(answered(survey, resolved, when=OLD, score=0, comment="Awful", external_id="O-8"))
    cases.resolve(case, resolution="fixed", by=None)
    time_machine.move_to(NOW, tick=False)

    apply_retention(keeps_a_year, now=NOW)

    kept = set(Customer.objects.filter(anonymised_at__isnull=True).values_list("email", flat=True))
    assert kept == {"waiting@example.com", "unresolved@example.com"}
    assert Customer.objects.filter(anonymised_at=NOW).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("months", [None, 0])
def test_a_shop_that_keeps_everything_is_left_alone(history, keeps_a_year, months):
    keeps_a_year.retention_months = months
    keeps_a_year.save()

    done = apply_retention(keeps_a_year, now=NOW)

    assert done == retention.Retained()
    assert texts()["O-1"] == "Old complaint from gone"


@pytest.mark.django_db
@pytest.mark.parametrize("purge", [True, False])
def test_old_report_pdfs_are_purged_only_when_the_shop_says_so(keeps_a_year, purge):
    keeps_a_year.retention_purges_reports = purge
    keeps_a_year.save()
    old = ReportRun.objects.create(
        shop=keeps_a_year, period=OLD.date().replace(day=1), period_end=OLD.date().replace(day=30), status="done"
    )
    old.file.save("old.pdf", ContentFile(b"%PDF old"))
    kept = ReportRun.objects.create(
        shop=keeps_a_year, period=RECENT.date(), period_end=RECENT.date().replace(day=31), status="done"
    )
    kept.file.save("recent.pdf", ContentFile(b"%PDF recent"))
    name = old.file.name

    done = apply_retention(keeps_a_year, now=NOW)

    old.refresh_from_db()
    assert done.reports == (1 if purge else 0)
    assert (old.file.name == "", old.file.storage.exists(name)) == ((True, False) if purge else (False, True))
    kept.refresh_from_db()
    assert kept.file.storage.exists(kept.file.name)


@pytest.mark.django_db
def test_the_daily_task_runs_each_shops_retention(history, keeps_a_year):
    assert settings.CELERY_BEAT_SCHEDULE["apply-retention"] == {
        "task": "surveys.tasks.start_retention",
        "schedule": 24 * 3600.0,
    }
    assert {"surveys.tasks.start_retention", "surveys.tasks.apply_retention"} <= set(app.tasks)
    Shop.objects.filter(pk=keeps_a_year.pk).update(retention_applied_until=None)

    tasks.apply_retention.apply(kwargs={"shop_id": keeps_a_year.pk}).get()
    tasks.apply_retention.apply(kwargs={"shop_id": 0}).get()  # a shop deleted since: nothing

    assert texts()["O-1"] == ""
    assert Customer.objects.get(pk=history["gone"].pk).anonymised_at is not None
