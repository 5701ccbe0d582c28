from celery import shared_task

from surveys import domain

BATCH = 500


@shared_task(name="surveys.tasks.send_due_invitations")
def send_due_invitations() -> int:
    claimed = domain.send_due_invitations(limit=BATCH)
    if claimed == BATCH:
        # More may be waiting: carry on now rather than at the next beat.
        send_due_invitations.delay()
    return claimed
