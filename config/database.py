"""Writing down what has already happened outside the database, despite a dropped connection.

An email handed to the SMTP server, a webhook answered: once done, they cannot be undone, and
if recording them fails the work is claimed again later and done twice. A PostgreSQL restart
(or a failover) drops every connection at once, so the write that follows a send is the one
most likely to meet a dead connection. It gets one more try on a new connection.
"""

import logging
from collections.abc import Callable
from typing import TypeVar

from django.db import InterfaceError, OperationalError, connection

log = logging.getLogger(__name__)

T = TypeVar("T")


def record_done(write: Callable[[], T], *, what: str) -> T:
    """`write()`; if the database dropped the connection, `write()` again on a new one (once).
    Inside a transaction it is not retried: the transaction's work went with the connection."""
    try:
        return write()
    except (OperationalError, InterfaceError):
        if connection.in_atomic_block:
            raise
        log.warning("%s; the database connection was lost, recording it on a new one", what)
        connection.close()
        return write()
