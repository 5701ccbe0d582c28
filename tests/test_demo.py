"""The demo shop `setup_demo` makes looks like a real shop's month: cases flagged when their
customers answered, each due by its SLA from then, the old ones worked and resolved."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from feedback.models import FollowUp


@pytest.mark.django_db
def test_the_demo_shops_cases_are_due_from_when_they_were_flagged(capsys):
    call_command("setup_demo")

    cases = list(FollowUp.objects.filter(shop__slug="demo"))
    now = timezone.now()

    assert len(cases) > 20
    # A due time counts from the flag: the longest SLA, in business hours, is some days long.
    assert all(case.created_at < case.due_at <= case.created_at + timedelta(days=21) for case in cases)
    old = [case for case in cases if case.created_at < now - timedelta(days=30)]
    assert old
    assert all(case.due_at < now for case in old)
    resolved = [case for case in old if case.status == FollowUp.Status.RESOLVED]
    assert len(resolved) > len(old) / 2
    assert "demo" in capsys.readouterr().out
