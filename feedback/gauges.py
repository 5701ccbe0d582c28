"""What /metrics counts of answers and cases: responses (and those waiting to be read) and cases
by status, open and overdue (registered with config.metrics by feedback/apps.py)."""

from datetime import datetime

from django.db.models import Count, Min, Q

from config.metrics import Exposition, age
from feedback.casework.cases import overdue_now
from feedback.models import FollowUp, Response


def response_gauges(out: Exposition, now: datetime) -> None:
    """One pass over the responses (an aggregate, no rows fetched)."""
    responses = Response.objects.aggregate(
        total=Count("pk"),
        completed=Count("pk", filter=Q(completed_at__isnull=False)),
        unread=Count("pk", filter=Q(analysis_wanted_at__isnull=False)),
        oldest_unread=Min("analysis_wanted_at"),
    )
    out.metric("bazgasht_responses", "gauge", "Responses stored (a score was sent).", [({}, responses["total"])])
    out.metric(
        "bazgasht_responses_completed",
        "gauge",
        "Responses whose customer reached the thank-you page.",
        [({}, responses["completed"])],
    )
    out.metric(
        "bazgasht_responses_unread",
        "gauge",
        "Responses whose answers wait to be read (sentiment, flags); it grows while the broker is away.",
        [({}, responses["unread"])],
    )
    out.metric(
        "bazgasht_oldest_unread_response_seconds",
        "gauge",
        "How long the longest-waiting unread response has waited to be read (0: none waits).",
        [({}, age(responses["oldest_unread"], now))],
    )


def case_gauges(out: Exposition, now: datetime) -> None:
    """One grouped count over the cases."""
    cases = {
        row["status"]: row
        for row in FollowUp.objects.values("status").annotate(
            count=Count("pk"), overdue=Count("pk", filter=overdue_now(now))
        )
    }
    out.metric(
        "bazgasht_cases",
        "gauge",
        "Follow-up cases by status.",
        (({"status": status}, cases.get(status, {}).get("count", 0)) for status in FollowUp.Status.values),
    )
    closed = {FollowUp.Status.RESOLVED, FollowUp.Status.NO_CONTACT}
    out.metric(
        "bazgasht_cases_open",
        "gauge",
        "Cases not yet resolved (open, in progress, waiting on the customer).",
        [({}, sum(row["count"] for status, row in cases.items() if status not in closed))],
    )
    out.metric(
        "bazgasht_cases_overdue",
        "gauge",
        "Open cases past their due time without a first contact.",
        [({}, sum(row["overdue"] for row in cases.values()))],
    )
