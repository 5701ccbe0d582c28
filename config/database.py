"""Writing down what has already happened outside the database, despite a dropped connection.

An email handed to the SMTP server, a webhook answered: once done, they cannot be undone, and
if recording them fails the work is claimed again later and done twice. A PostgreSQL restart
(or a failover) drops every connection at once, so the write that follows a send is the one
most likely to meet a dead connection, and for a few seconds a new one is refused too ("the
database system is shutting down", "... is starting up"). The write is tried again on a new
connection, with growing pauses, for up to RIDE_OUT_SECONDS.
"""

import contextlib
import logging
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import DatabaseError, InterfaceError, OperationalError, connection

log = logging.getLogger(__name__)

T = TypeVar("T")

# A restart or a failover takes a few seconds; longer than this and the claim's lease, not this
# process, takes over (the work may then be done twice, which is what this keeps rare).
RIDE_OUT_SECONDS = 30.0
FIRST_PAUSE, LONGEST_PAUSE = 0.25, 4.0


def record_done(write: Callable[[], T], *, what: str, ride_out: float = RIDE_OUT_SECONDS) -> T:
    """`write()`; if the database dropped the connection, `write()` again on a new one until it
    goes in or `ride_out` seconds have passed. Inside a transaction it is not retried: the
    transaction's work went with the connection."""
    try:
        return write()
    except (OperationalError, InterfaceError):
        if connection.in_atomic_block:
            raise
    log.warning("%s; the database connection was lost, recording it on a new one", what)
    deadline = time.monotonic() + ride_out
    pause = FIRST_PAUSE
    while True:
        with contextlib.suppress(DatabaseError):
            connection.close()
        try:
            return write()
        except (OperationalError, InterfaceError) as error:
            if time.monotonic() + pause > deadline:
                log.error("%s; not recorded, the database did not come back within %ss", what, ride_out)
                raise
            log.info("%s; the database is not back yet (%s), trying again in %ss", what, type(error).__name__, pause)
            time.sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE)
