"""Reminders and expiry: one reminder to who has not answered, with a link of its own, and
links closed when their survey's time is up."""

import logging
import smtplib
from datetime import datetime

from django.core.mail import get_connection
from django.db import transaction
from django.utils import timezone

from surveys.models import (
    Channel,
    Invitation,
)
from surveys.outreach.emails import build_invitation_email
from surveys.outreach.planning import next_sending_time, refusal_of
from surveys.outreach.sending import ClaimedInvitation, error_text, lock_for_sending
from surveys.outreach.suppressions import suppressed_among
from surveys.outreach.tokens import hash_token, new_token

log = logging.getLogger(__name__)

# --- Reminders and expiry ----------------------------------------------------------


def send_due_reminders(*, now: datetime | None = None, limit: int = 500) -> int:
    """Send the one reminder each unopened, unanswered invitation may get, inside the shop's
    sending hours (one due outside them waits for their next opening).

    A reminder is claimed by stamping `reminded_at` before sending, so it goes out
    at most once; one lost to a crash is not retried (better silent than twice).
    """
    now = now or timezone.now()
    with transaction.atomic():
        due = lock_for_sending(
            Invitation.objects.filter(
                # Reminders go by email only: a second text message costs the shop and annoys more.
                channel=Channel.EMAIL,
                status=Invitation.Status.SENT,
                reminded_at__isnull=True,
                remind_at__lte=now,
                expires_at__gt=now,
            ).order_by("remind_at"),
            limit=limit,
        )
        claimed, later = [], []
        for invitation in due:
            opening = next_sending_time(invitation.shop, now)
            if opening > now:
                # Not at night either: the reminder waits for the shop's sending hours.
                invitation.remind_at = opening
                later.append(invitation)
                continue
            token = new_token()
            invitation.reminded_at = now
            invitation.reminder_token_hash = hash_token(token)
            claimed.append(ClaimedInvitation(invitation, token))
        sending = [item.invitation for item in claimed]
        Invitation.objects.bulk_update(sending, ["reminded_at", "reminder_token_hash"], batch_size=500)
        Invitation.objects.bulk_update(later, ["remind_at"], batch_size=500)
    suppressed = suppressed_among(
        {(item.invitation.shop_id, Channel.EMAIL, item.invitation.customer.email) for item in claimed}
    )
    sendable = [
        item
        for item in claimed
        if item.invitation.customer.email
        and not refusal_of(item.invitation.shop, item.invitation.customer, Channel.EMAIL, suppressed)
    ]
    if sendable:
        connection = get_connection()
        with connection:
            for item in sendable:
                try:
                    build_invitation_email(
                        item.invitation, token=item.token, reminder=True, connection=connection
                    ).send()
                except (smtplib.SMTPException, OSError) as error:
                    log.warning(
                        "reminder for invitation %s not sent: %s",
                        item.invitation.pk,
                        error_text(error, item.invitation),
                    )
    return len(claimed)


def expire_invitations(*, now: datetime | None = None) -> int:
    """Close the invitations whose link has expired unanswered."""
    now = now or timezone.now()
    return Invitation.objects.filter(
        status__in=[Invitation.Status.SENT, Invitation.Status.OPENED], expires_at__lte=now
    ).update(status=Invitation.Status.EXPIRED, closed_at=now, reason="no answer before the link expired")
