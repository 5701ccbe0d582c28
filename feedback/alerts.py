"""Alerts for the most urgent cases: an email to whoever must act, and a signed webhook.

The webhook body is JSON with a "text" line, so a Slack (or Mattermost, Rocket.Chat)
incoming-webhook URL shows it as a message as is; other receivers check the signature:
X-Bazgasht-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the shop's secret>,
the timestamp in X-Bazgasht-Timestamp (reject old ones to stop replays).
"""

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request

from django.conf import settings
from django.core.mail import EmailMessage
from django.urls import reverse

from feedback.flagging import rules_for
from feedback.models import CaseEvent, FollowUp
from surveys.errors import DomainError

WEBHOOK_TIMEOUT = 10
_SCALE_NAMES = {"nps": "NPS", "csat": "CSAT", "ces": "CES", "stars": "stars"}


class WebhookFailed(DomainError):
    """The alert webhook could not be delivered (it is retried)."""

    status_code = 502


def wants_alert(case: FollowUp) -> bool:
    return case.priority <= rules_for(case.shop).alert_at_priority and not case.is_closed


def alert_text(case: FollowUp) -> str:
    response = case.response
    customer = response.customer
    lead = next((a for a in response.answers.all() if a.score is not None), None)
    score = f", {_SCALE_NAMES.get(lead.question.kind, lead.question.kind)} {lead.score}" if lead else ""
    reasons = ", ".join(FollowUp.Reason(code).label for code in case.reasons if code in FollowUp.Reason.values)
    due = f", due {case.due_at.astimezone(case.shop.tz):%a %H:%M}" if case.due_at else ""
    return (
        f"[{case.get_priority_display()}] {case.shop.display_name}: {customer.name or customer.email or customer.phone}"
        f"{score} on order #{response.invitation.order.external_id} ({reasons}){due}. {case_url(case)}"
    )


def case_url(case: FollowUp) -> str:
    return settings.PUBLIC_URL + reverse("case", kwargs={"case_id": case.pk})


def email_alert(case: FollowUp) -> str | None:
    """Email the case's owner, else the shop's on-call address; the address it went to."""
    rules = rules_for(case.shop)
    to = (case.assignee.email if case.assignee else "") or rules.alert_email
    if not to:
        return None
    text = alert_text(case)
    customer = case.response.customer
    who = customer.name or customer.email
    subject = f"[{case.get_priority_display()}] {case.shop.display_name}: {who} needs a call"
    EmailMessage(subject=subject, body=text, to=[to]).send()
    CaseEvent.objects.create(follow_up=case, action="alerted", detail={"email": to})
    return to


def webhook_alert(case: FollowUp, *, now: float | None = None) -> bool:
    """POST the alert to the shop's webhook; raises WebhookFailed for a retry. False if none is set."""
    rules = rules_for(case.shop)
    if not rules.alert_webhook_url:
        return False
    body = json.dumps(
        {
            "text": alert_text(case),
            "case": {
                "id": case.pk,
                "shop": case.shop.slug,
                "priority": case.get_priority_display().lower(),
                "reasons": case.reasons,
                "due_at": case.due_at.isoformat() if case.due_at else None,
                "url": case_url(case),
            },
        },
        ensure_ascii=False,
    ).encode()
    timestamp = str(int(now if now is not None else time.time()))
    headers = {"Content-Type": "application/json", "X-Bazgasht-Timestamp": timestamp}
    if rules.alert_webhook_secret:
        digest = hmac.new(rules.alert_webhook_secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
        headers["X-Bazgasht-Signature"] = f"sha256={digest.hexdigest()}"
    request = urllib.request.Request(rules.alert_webhook_url, data=body, headers=headers, method="POST")  # noqa: S310 - the shop's own https URL
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT) as answer:  # noqa: S310
            status = answer.status
    except urllib.error.HTTPError as error:
        status = error.code
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        raise WebhookFailed(f"the alert webhook did not answer: {error}") from None
    if status >= 300:
        raise WebhookFailed(f"the alert webhook answered HTTP {status}")
    CaseEvent.objects.create(follow_up=case, action="alerted", detail={"webhook": status})
    return True
