from celery import shared_task

from surveys import domain

BATCH = 500


@shared_task(name="surveys.tasks.send_due_invitations")
def send_due_invitations() -> int:
    """The scheduler's sweep: due surveys, due reminders, and links that expired."""
    claimed = domain.send_due_invitations(limit=BATCH)
    reminded = domain.send_due_reminders(limit=BATCH)
    domain.expire_invitations()
    if claimed == BATCH or reminded == BATCH:
        # More may be waiting: carry on now rather than at the next beat.
        send_due_invitations.delay()
    return claimed
