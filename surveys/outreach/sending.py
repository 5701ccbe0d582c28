"""Surveys out: due invitations claimed exactly once, checked again at the moment of sending
(suppressions, consent, sending hours, the throttle), sent by email or SMS, and marked sent
the moment the server takes them; failures retried with backoff."""

import logging
import re
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.mail import get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Max, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from config.database import record_done
from surveys.models import (
    Channel,
    Customer,
    Invitation,
    Survey,
)
from surveys.outreach.emails import answer_url, build_invitation_email
from surveys.outreach.planning import (
    MAX_THROTTLE_DAYS,
    give_link,
    link_of,
    next_sending_time,
    refusal_of,
    throttle_reason,
)
from surveys.outreach.suppressions import suppressed_among
from surveys.outreach.tokens import hash_token

log = logging.getLogger(__name__)

# A claimed invitation whose worker vanished is retried after this long.
CLAIM_LEASE = timedelta(minutes=10)
MAX_SEND_ATTEMPTS = 5


# --- Surveys out -------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimedInvitation:
    invitation: Invitation
    token: str  # The link token in clear: it lives only until the message is sent.


def _due(now: datetime) -> Q:
    # Scheduled rows whose time has come, and claims whose worker vanished.
    return Q(status=Invitation.Status.SCHEDULED, send_at__lte=now) | Q(
        status=Invitation.Status.SENDING, claimed_at__lt=now - CLAIM_LEASE
    )


def claim_due_invitations(*, now: datetime, limit: int) -> list[ClaimedInvitation]:
    """Take up to `limit` due invitations for sending, each with its link token.

    Each row goes to exactly one caller: rows another sweep holds are skipped
    (SKIP LOCKED on PostgreSQL; SQLite lets one writer in at a time). The expiry is
    stored with the claim, so the link works the moment the message lands; a row
    claimed again (a retry, a dead worker's claim) gets the same link as before.
    One whose customer another sweep is surveying now, or surveyed within the throttle,
    is throttled instead (see _throttled_while_claiming).
    """
    with transaction.atomic():
        invitations = lock_for_sending(Invitation.objects.filter(_due(now)).order_by("send_at"), limit=limit)
        invitations = _throttled_while_claiming(invitations, now=now)
        claimed = []
        relinked = []
        for invitation in invitations:
            if not invitation.token_nonce:  # made before links were derived, or by hand
                give_link(invitation)
                relinked.append(invitation)
            token = link_of(invitation)
            if hash_token(token) != invitation.token_hash:
                # SECRET_KEY changed since the link was made: the message carries the link the
                # key derives now, so that is the one that must open.
                invitation.token_hash = hash_token(token)
                relinked.append(invitation)
            invitation.status = Invitation.Status.SENDING
            invitation.claimed_at = now
            invitation.attempts += 1
            invitation.expires_at = now + invitation.survey.valid_for
            claimed.append(ClaimedInvitation(invitation, token))
        # What all rows share goes in one UPDATE a survey (bulk_update would build a CASE
        # per field and row); the link was fixed when the invitation was planned.
        for survey_id in {invitation.survey_id for invitation in invitations}:
            same_survey = [invitation for invitation in invitations if invitation.survey_id == survey_id]
            Invitation.objects.filter(pk__in=[invitation.pk for invitation in same_survey]).update(
                status=Invitation.Status.SENDING,
                claimed_at=now,
                attempts=F("attempts") + 1,
                expires_at=same_survey[0].expires_at,
            )
        Invitation.objects.bulk_update(relinked, ["token_nonce", "token_hash"], batch_size=500)
    return claimed


def _throttled_while_claiming(invitations: list[Invitation], *, now: datetime) -> list[Invitation]:
    """The invitations to claim now. One whose customer another transaction holds (a sweep's
    claim, an erasure) waits for the next round; one whose customer is being surveyed by another
    sweep, or was within the shop's throttle, is closed as throttled.

    The database decides, not two readers: the customers' rows are locked with the claim, so a
    second sweep reaching for another survey of the same customer finds the row taken and leaves
    that survey for its next round, when it sees the first one's. Without this both saw "not
    surveyed yet" and both sent. Taken rows are skipped, not waited for: an erasure locks the
    customer before their invitations, a sweep the other way round, and neither must deadlock.
    """
    customer_ids = {invitation.customer_id for invitation in invitations}
    if not customer_ids:
        return invitations
    ours = set(
        Customer.objects.select_for_update(skip_locked=True).filter(pk__in=customer_ids).values_list("pk", flat=True)
    )
    invitations = [invitation for invitation in invitations if invitation.customer_id in ours]
    surveyed: dict[int, datetime] = {}
    for customer_id, at in (
        Invitation.objects.filter(customer_id__in=ours)
        .exclude(pk__in=[invitation.pk for invitation in invitations])
        .filter(
            Q(status=Invitation.Status.SENDING, claimed_at__gte=now - CLAIM_LEASE)
            | Q(sent_at__gt=now - timedelta(days=MAX_THROTTLE_DAYS))
        )
        .annotate(at=Coalesce("sent_at", "claimed_at"))
        .values_list("customer_id", "at")
    ):
        surveyed[customer_id] = max(at, surveyed.get(customer_id, at))
    kept = []
    for invitation in invitations:
        at = surveyed.get(invitation.customer_id)
        recent = at is not None and at > now - timedelta(days=invitation.shop.throttle_days)
        if recent and invitation.survey.purpose != Survey.Purpose.RECOVERY:
            assert at is not None
            _close(invitation, Invitation.Status.THROTTLED, throttle_reason(invitation.shop, at), now=now)
        else:
            kept.append(invitation)
    return kept


def lock_for_sending(invitations: QuerySet[Invitation], *, limit: int) -> list[Invitation]:
    """Up to `limit` of these rows, locked for this transaction; rows another sweep holds are skipped."""
    return list(
        invitations.select_related("shop", "customer", "order", "survey")
        # Lock the invitation rows only, not the shops and customers joined in.
        .select_for_update(skip_locked=True, of=("self",))[:limit]
    )


def send_due_invitations(*, now: datetime | None = None, limit: int = 500) -> int:
    """Claim up to `limit` due invitations and send them (email over one SMTP connection).

    Returns how many were claimed. Safe to run in several workers at once. Before
    sending, each is checked again: a cancelled order, a suppressed address or a
    customer surveyed within the throttle closes it instead, and one due outside the
    shop's sending hours waits for their next opening. When the SMTP server
    cannot be reached, the claimed emails go back with a backoff and the error is
    raised for the task to log.
    """
    now = now or timezone.now()
    claimed = claim_due_invitations(now=now, limit=limit)
    if not claimed:
        return 0
    tried: set[int] = set()
    try:
        sendable = _check_before_sending(claimed, now=now)
        emails = [item for item in sendable if item.invitation.channel == Channel.EMAIL]
        for item in sendable:
            if item.invitation.channel == Channel.SMS:
                tried.add(item.invitation.pk)
                _send_sms(item, now=now)
        if emails:
            _send_emails(emails, now=now, tried=tried)
    except Exception:
        _release_untried(claimed, tried=tried)
        raise
    return len(claimed)


def _release_untried(claimed: list[ClaimedInvitation], *, tried: set[int]) -> None:
    """A batch that stopped half way (the database went away for longer than a restart) hands
    back the claims it had not tried, so the next sweep sends them rather than the lease's end.
    The one in flight stays claimed: it may have gone out."""
    untried = [item.invitation.pk for item in claimed if item.invitation.pk not in tried]
    if not untried:
        return
    try:
        released = record_done(
            lambda: Invitation.objects.filter(pk__in=untried, status=Invitation.Status.SENDING).update(
                status=Invitation.Status.SCHEDULED, claimed_at=None
            ),
            what=f"{len(untried)} unsent invitations handed back",
        )
    except DatabaseError:
        log.warning("%s claimed invitations could not be handed back; their claims lapse after the lease", len(untried))
    else:
        log.info("%s claimed invitations handed back for the next sweep", released)


def _check_before_sending(claimed: list[ClaimedInvitation], *, now: datetime) -> list[ClaimedInvitation]:
    """The rules once more at send time, for the whole batch in two queries."""
    suppressed = suppressed_among(
        {
            (
                item.invitation.shop_id,
                item.invitation.channel,
                item.invitation.customer.address_for(item.invitation.channel),
            )
            for item in claimed
        }
    )
    batch_ids = [item.invitation.pk for item in claimed]
    last_sent = dict(
        Invitation.objects.filter(
            customer_id__in={item.invitation.customer_id for item in claimed},
            sent_at__gt=now - timedelta(days=MAX_THROTTLE_DAYS),
        )
        .exclude(pk__in=batch_ids)
        .values("customer_id")
        .annotate(last=Max("sent_at"))
        .values_list("customer_id", "last")
    )
    sendable = []
    for item in claimed:
        invitation = item.invitation
        shop, customer = invitation.shop, invitation.customer
        address = customer.address_for(invitation.channel)
        surveyed_on = last_sent.get(customer.pk)
        if invitation.order.cancelled_at is not None:
            _close(invitation, Invitation.Status.CANCELLED, "the order was cancelled", now=now)
        elif not address:
            _close(
                invitation, Invitation.Status.CANCELLED, f"the customer has no {invitation.channel} address", now=now
            )
        elif refusal := refusal_of(shop, customer, invitation.channel, suppressed):
            _close(invitation, Invitation.Status.SUPPRESSED, refusal, now=now)
        elif (
            surveyed_on is not None
            and surveyed_on > now - timedelta(days=shop.throttle_days)
            # The shop asked this customer to be asked again, after their complaint was handled.
            and invitation.survey.purpose != Survey.Purpose.RECOVERY
        ):
            _close(invitation, Invitation.Status.THROTTLED, throttle_reason(shop, surveyed_on), now=now)
        elif (opening := next_sending_time(shop, now)) > now:
            # Due while the shop's sending hours were closed (a backlog after an outage, a claim
            # taken over after its lease): it waits for the next opening rather than waking anyone.
            Invitation.objects.filter(pk=invitation.pk).update(
                status=Invitation.Status.SCHEDULED, claimed_at=None, send_at=opening
            )
        else:
            # A second invitation for the same customer later in this batch is throttled by this one.
            last_sent[customer.pk] = now
            sendable.append(item)
    return sendable


def _send_emails(items: list[ClaimedInvitation], *, now: datetime, tried: set[int]) -> None:
    connection = get_connection()
    try:
        connection.open()
    except (smtplib.SMTPException, OSError) as error:
        for item in items:
            _retry_later(item.invitation, error=error, now=now)
        raise
    try:
        for item in items:
            tried.add(item.invitation.pk)
            send_invitation(item.invitation, token=item.token, connection=connection, now=now)
    finally:
        connection.close()


def send_invitation(invitation: Invitation, *, token: str, connection: BaseEmailBackend, now: datetime) -> None:
    """Email a claimed invitation.

    Side effects: marks the row sent; on an SMTP error puts it back with a backoff,
    or marks it failed when retrying cannot help (a refused address, too many tries).
    """
    try:
        build_invitation_email(invitation, token=token, connection=connection).send()
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as error:
        _close(invitation, Invitation.Status.FAILED, f"rejected: {error_text(error, invitation)}", now=now)
    except (smtplib.SMTPException, OSError) as error:
        _retry_later(invitation, error=error, now=now)
    else:
        _mark_sent(invitation)


def _send_sms(item: ClaimedInvitation, *, now: datetime) -> None:
    from surveys.outreach import sms

    invitation = item.invitation
    try:
        text = sms.build_invitation_sms(invitation, url=answer_url(item.token))
        sms.get_gateway().send(to=invitation.customer.phone, text=text)
    except (sms.SmsRejected, sms.SmsTooLong) as error:
        _close(invitation, Invitation.Status.FAILED, f"rejected: {error_text(error, invitation)}", now=now)
    except sms.SmsUnavailable as error:
        _retry_later(invitation, error=error, now=now)
    else:
        _mark_sent(invitation)


def _mark_sent(invitation: Invitation) -> None:
    """Record the send at once, row by row: a crash right after doubles one email at most.

    One plain statement, as this runs once per message: building it through the ORM
    cost more than the database did. The email is out by now: left "sending" by a dropped
    connection, the row would go out a second time once its claim lapsed (`record_done`).
    """
    sent_at = timezone.now()
    reminder = invitation.survey.reminder_after
    statement = (
        f"UPDATE {Invitation._meta.db_table} SET status = %s, sent_at = %s, remind_at = %s, reason = ''"  # noqa: S608 - the table name is ours
        " WHERE id = %s AND status = %s"
    )
    remind_at = next_sending_time(invitation.shop, sent_at + reminder) if reminder else None
    values: list[str | int | datetime | None] = [
        Invitation.Status.SENT, sent_at, remind_at, invitation.pk, Invitation.Status.SENDING
    ]  # fmt: skip

    def write() -> None:
        with connection.cursor() as cursor:
            cursor.execute(statement, values)

    record_done(write, what=f"invitation {invitation.pk} sent")


def _retry_later(invitation: Invitation, *, error: Exception, now: datetime) -> None:
    text = error_text(error, invitation)
    log.warning("invitation %s not sent (attempt %s): %s", invitation.pk, invitation.attempts, text)
    if invitation.attempts >= MAX_SEND_ATTEMPTS:
        _close(invitation, Invitation.Status.FAILED, f"gave up: {text}", now=now)
        return
    Invitation.objects.filter(pk=invitation.pk).update(
        status=Invitation.Status.SCHEDULED,
        send_at=next_sending_time(invitation.shop, now + timedelta(minutes=2**invitation.attempts)),
        reason=text[:500],
    )


def error_text(error: Exception, invitation: Invitation) -> str:
    """A sending error in words, without the customer's address: mail servers quote the
    recipient back, and the text goes into the log and the reason staff read."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        text = "; ".join(
            f"{code} {message.decode(errors='replace') if isinstance(message, bytes) else message}"
            for code, message in error.recipients.values()
        )
    else:
        text = str(error)
    address = invitation.customer.address_for(invitation.channel)
    return re.sub(re.escape(address), "<address>", text, flags=re.IGNORECASE) if address else text


def _close(invitation: Invitation, status: str, reason: str, *, now: datetime) -> None:
    Invitation.objects.filter(pk=invitation.pk).update(status=status, closed_at=now, reason=reason[:500])
