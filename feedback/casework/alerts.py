"""Alerts for the most urgent cases: an email to whoever must act, and a signed webhook.

The webhook body is JSON with a "text" line, so a Slack (or Mattermost, Rocket.Chat)
incoming-webhook URL shows it as a message as is; other receivers check the signature:
X-Bazgasht-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the shop's secret>,
the timestamp in X-Bazgasht-Timestamp (reject old ones to stop replays). While a secret is being
rotated the header carries two signatures, comma-separated: one matching is enough.
Every attempt is logged (AlertDelivery).

An alert is a row (Alert), due until it went out: a worker claims it as it claims invitations,
and a failure sets the time of the next try (30 s, 1 min, 2 min ... about two hours in all).
The scheduler's sweep picks up what is due, so a lost broker message loses no alert and a
message delivered twice sends none twice (Celery's own retries waited in the broker, beyond
Redis' visibility timeout).
"""

import hashlib
import hmac
import http.client
import json
import logging
import secrets
import smtplib
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from config import mail
from config.database import record_done
from feedback.accounts.staff import language_of
from feedback.casework import outbound
from feedback.casework.flagging import rules_for
from feedback.models import Alert, AlertDelivery, CaseEvent, FlagRules, FollowUp
from surveys.errors import DomainError
from surveys.localise import format_moment, format_number
from surveys.models import Language

log = logging.getLogger(__name__)

WEBHOOK_TIMEOUT = 10
# An alert's tries: the first at once, then after 30 s, 1 min, 2 min ... (about two hours in all).
MAX_ALERT_ATTEMPTS = 9
FIRST_ALERT_RETRY = timedelta(seconds=30)
# A claim older than this is a dead worker's: the alert is taken over.
ALERT_LEASE = timedelta(minutes=5)
_SCALE_NAMES = {"nps": "NPS", "csat": "CSAT", "ces": "CES", "stars": "stars"}


class WebhookFailed(DomainError):
    """The alert webhook could not be delivered (it is retried)."""

    status_code = 502


def wants_alert(case: FollowUp) -> bool:
    return case.priority <= rules_for(case.shop).alert_at_priority and not case.is_closed


def alert_text(case: FollowUp, *, language: str = Language.ENGLISH) -> str:
    """One line on the case, in `language`: who, what score, why, when it is due, the link."""
    response = case.response
    customer = response.customer
    tz = case.shop.tz
    with translation.override(language):
        lead = next((a for a in response.answers.all() if a.score is not None), None)
        score = ""
        if lead is not None:
            scale = _SCALE_NAMES.get(lead.question.kind, lead.question.kind)
            score = ", " + _("%(scale)s %(score)s") % {"scale": scale, "score": format_number(lead.score, language)}
        reasons = _(", ").join(
            str(FollowUp.Reason(code).label) for code in case.reasons if code in FollowUp.Reason.values
        )
        due = ""
        if case.due_at:
            when = format_moment(case.due_at, language, tz=tz, year=False, weekday=True)
            due = _(", due %(when)s") % {"when": when}
        return _(
            "[%(priority)s] %(shop)s: %(customer)s%(score)s on order #%(order)s (%(reasons)s)%(due)s. %(link)s"
        ) % {
            "priority": case.get_priority_display(),
            "shop": case.shop.display_name,
            "customer": customer.name or customer.email or customer.phone,
            "score": score,
            "order": response.invitation.order.display_number,
            "reasons": reasons,
            "due": due,
            "link": case_url(case),
        }


def case_url(case: FollowUp) -> str:
    return settings.PUBLIC_URL + reverse("case", kwargs={"case_id": case.pk})


def email_alert(case: FollowUp) -> str | None:
    """Email the case's owner, else the shop's on-call address; the address it went to."""
    rules = rules_for(case.shop)
    to = (case.assignee.email if case.assignee else "") or rules.alert_email
    if not to:
        return None
    # In the language its reader works in: the owner's, else the shop's.
    language = language_of(case.assignee) if case.assignee else case.shop.default_language
    text = alert_text(case, language=language)
    customer = case.response.customer
    with translation.override(language):
        subject = _("[%(priority)s] %(shop)s: %(customer)s needs a call") % {
            "priority": case.get_priority_display(),
            "shop": case.shop.display_name,
            "customer": customer.name or customer.email,
        }
    mail.message(EmailMessage, subject, text, to=[to]).send()
    record_done(
        lambda: CaseEvent.objects.create(follow_up=case, action="alerted", detail={"email": to}),
        what=f"case {case.pk} alerted by email",
    )
    return to


def signing_secrets(rules: FlagRules, *, at: datetime | None = None) -> list[str]:
    """The secrets a webhook is signed with now: the current one, and the previous one until its end."""
    at = at or timezone.now()
    found = [rules.alert_webhook_secret] if rules.alert_webhook_secret else []
    until = rules.alert_webhook_previous_secret_until
    if rules.alert_webhook_previous_secret and until is not None and at < until:
        found.append(rules.alert_webhook_previous_secret)
    return found


def signature_header(body: bytes, *, timestamp: str, secrets_: list[str]) -> str:
    """The signature header: one "sha256=<hex>", or several comma-separated while a secret is being
    rotated (the current secret's first); a receiver accepts the request if any of them matches."""
    return ", ".join(
        "sha256=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        for secret in secrets_
    )


def rotate_webhook_secret(rules: FlagRules, *, keep_previous: timedelta) -> str:
    """A new random signing secret, returned once. The old one keeps signing for `keep_previous`
    (zero: stops at once), so the receiver can switch without missing an alert."""
    new = secrets.token_urlsafe(32)
    if rules.alert_webhook_secret and keep_previous > timedelta(0):
        rules.alert_webhook_previous_secret = rules.alert_webhook_secret
        rules.alert_webhook_previous_secret_until = timezone.now() + keep_previous
    else:
        rules.alert_webhook_previous_secret = ""
        rules.alert_webhook_previous_secret_until = None
    rules.alert_webhook_secret = new
    rules.save()
    return new


def webhook_alert(case: FollowUp, *, now: float | None = None, attempt: int = 1) -> bool:
    """POST the alert to the shop's webhook; raises WebhookFailed for a retry. False if none is set.

    Side effects: an AlertDelivery row for the attempt, whatever its outcome (the delivery log),
    and an "alerted" CaseEvent once it is delivered.
    """
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
    signing = signing_secrets(rules)
    if signing:
        headers["X-Bazgasht-Signature"] = signature_header(body, timestamp=timestamp, secrets_=signing)
    started = time.monotonic()
    status: int | None = None
    error = refused = ""
    try:
        status = outbound.post(rules.alert_webhook_url, body, headers, timeout=WEBHOOK_TIMEOUT)
    except outbound.Refused as inside:
        refused = error = str(inside)
    except (OSError, UnicodeError, http.client.HTTPException) as failure:
        error = f"the alert webhook did not answer: {failure}"
    if status is not None and status >= 300:
        error = f"the alert webhook answered HTTP {status}"
    duration_ms = 0 if refused else int((time.monotonic() - started) * 1000)

    def write() -> None:
        with transaction.atomic():  # the log row and the event together, so a retry writes each once
            AlertDelivery.objects.create(
                shop=case.shop,
                follow_up=case,
                url=rules.alert_webhook_url,
                attempt=attempt,
                outcome=AlertDelivery.Outcome.FAILED if error else AlertDelivery.Outcome.DELIVERED,
                http_status=status,
                error=error[:300],
                duration_ms=duration_ms,
                signatures=0 if refused else len(signing),
            )
            if not error:
                CaseEvent.objects.create(follow_up=case, action="alerted", detail={"webhook": status})

    record_done(write, what=f"case {case.pk}: alert webhook attempt {attempt}")
    if refused:  # logged, and not tried again: it would be refused every time
        return False
    if error:
        raise WebhookFailed(error)
    return True


# --- Alerts as rows: queued, claimed, tried again ----------------------------------------------


def queue_alert(case: FollowUp, *, now: datetime | None = None) -> Alert:
    """The case's alert, due now unless it is queued already (a case alerts once)."""
    alert, _ = Alert.objects.get_or_create(
        follow_up=case, defaults={"shop": case.shop, "due_at": now or timezone.now()}
    )
    return alert


def send_due_alerts(*, now: datetime | None = None, case_id: int | None = None, limit: int = 50) -> int:
    """Claim the alerts that are due (of one case, or all) and send them; how many were tried."""
    now = now or timezone.now()
    claimed = _claim_due_alerts(now=now, case_id=case_id, limit=limit)
    for alert in claimed:
        _send(alert, now=now)
    return len(claimed)


def _claim_due_alerts(*, now: datetime, case_id: int | None, limit: int) -> list[Alert]:
    due = Alert.objects.filter(finished_at__isnull=True, due_at__lte=now).filter(
        Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - ALERT_LEASE)
    )
    if case_id is not None:
        due = due.filter(follow_up_id=case_id)
    with transaction.atomic():
        alerts = list(due.select_for_update(skip_locked=True).order_by("due_at")[:limit])
        Alert.objects.filter(pk__in=[alert.pk for alert in alerts]).update(claimed_at=now)
    return alerts


def _send(alert: Alert, *, now: datetime) -> None:
    """Email and webhook, each once (the case's "alerted" events say what went out already)."""
    case = FollowUp.objects.select_related("shop", "assignee", "response__customer").get(pk=alert.follow_up_id)
    alert.attempts += 1
    alert.claimed_at = None
    if not wants_alert(case):
        alert.finished_at, alert.error = now, "no longer wanted (the case was closed or its priority lowered)"
    else:
        sent = list(CaseEvent.objects.filter(follow_up=case, action="alerted").values_list("detail", flat=True))
        try:
            if not any("email" in detail for detail in sent):
                email_alert(case)
            if not any("webhook" in detail for detail in sent):
                webhook_alert(case, attempt=alert.attempts)
        except (WebhookFailed, smtplib.SMTPException, OSError) as failure:
            alert.error = str(failure)[:300]
            if alert.attempts >= MAX_ALERT_ATTEMPTS:
                alert.finished_at = now
                alert.error = f"gave up: {alert.error}"[:300]
            else:
                alert.due_at = now + FIRST_ALERT_RETRY * 2 ** (alert.attempts - 1)
            log.warning("case %s: alert attempt %s failed: %s", case.pk, alert.attempts, alert.error)
        else:
            alert.finished_at, alert.error = now, ""
    record_done(
        lambda: alert.save(update_fields=["attempts", "claimed_at", "finished_at", "error", "due_at"]),
        what=f"case {alert.follow_up_id}: alert attempt {alert.attempts}",
    )
