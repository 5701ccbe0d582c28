"""What /metrics counts of sending: invitations by status and the longest wait of a due one
(registered with config.metrics by surveys/apps.py)."""

from datetime import datetime

from django.db.models import Count, Min, Q

from config.metrics import Exposition, age
from surveys.models import Invitation


def invitation_gauges(out: Exposition, now: datetime) -> None:
    """Two queries, each one pass over its table or index (grouped counts, no rows fetched)."""
    by_status = {
        row["status"]: row
        for row in Invitation.objects.values("status").annotate(
            count=Count("pk"), sent=Count("pk", filter=Q(sent_at__isnull=False))
        )
    }
    out.metric(
        "bazgasht_invitations",
        "gauge",
        "Invitations by current status (scheduled, sending, sent, opened, answered, failed, ...).",
        (({"status": status}, by_status.get(status, {}).get("count", 0)) for status in Invitation.Status.values),
    )
    out.metric(
        "bazgasht_invitations_sent",
        "gauge",
        "Invitations that went out (sent at some time), whatever their status now.",
        [({}, sum(row["sent"] for row in by_status.values()))],
    )
    # Due and not sent: with workers and the scheduler running this stays within a sweep or two.
    oldest_due = Invitation.objects.filter(status=Invitation.Status.SCHEDULED, send_at__lte=now).aggregate(
        at=Min("send_at")
    )["at"]
    out.metric(
        "bazgasht_oldest_due_invitation_seconds",
        "gauge",
        "How long the longest-waiting invitation has been due without being sent (0: none waits).",
        [({}, age(oldest_due, now))],
    )
