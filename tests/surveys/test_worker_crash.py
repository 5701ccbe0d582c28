import re
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from surveys.intake.orders import CustomerDetails, record_order
from surveys.models import Invitation
from surveys.outreach import sending
from tests.conftest import body_of, kill_worker, wait_until

CUSTOMERS = 30


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_loses_nothing_and_doubles_at_most_the_email_in_flight(celery_worker, mailbox, shop):
    mailbox.delay = 0.15  # a slow SMTP server, so the kill lands mid-batch
    for number in range(CUSTOMERS):
        record_order(
            shop,
            external_id=f"A-{number}",
            customer=CustomerDetails(email=f"c{number}@example.com"),
            total=Decimal("10"),
            currency="EUR",
            placed_at=timezone.now(),
        )

    mailbox.wait_for(5, timeout=60)
    kill_worker(celery_worker)
    stranded = Invitation.objects.filter(status=Invitation.Status.SENDING).count()
    # Another worker takes the dead one's claims over once their lease has run out.
    past_the_lease = sending.CLAIM_LEASE + timedelta(seconds=1)
    wait_until(lambda: sending.send_due_invitations(now=timezone.now() + past_the_lease) == 0
               or not Invitation.objects.exclude(status=Invitation.Status.SENT).exists(),
               what="the stranded invitations to be sent")  # fmt: skip

    assert stranded > 0, "the worker was not killed mid-batch"
    assert set(Invitation.objects.values_list("status", flat=True)) == {"sent"}
    received = Counter(message["To"] for message in mailbox.messages)
    assert set(received) == {f"c{number}@example.com" for number in range(CUSTOMERS)}
    # The one email the SMTP server had taken but not yet confirmed when the worker died
    # can go out again; nothing else may. Sent again, it is the same message: same link,
    # same Message-ID (which mail providers show once).
    assert sum(received.values()) - CUSTOMERS <= 1
    for address in (address for address, count in received.items() if count > 1):
        copies = [message for message in mailbox.messages if message["To"] == address]
        assert len({message["Message-ID"] for message in copies}) == 1
        assert len({re.search(r"/s/[\w-]+/", body_of(message)).group(0) for message in copies}) == 1
