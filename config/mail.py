"""Every email's headers that carry what people typed (a customer's name, an order number, a
shop's name) are made here.

A line break in a header would end it and let the rest pass as headers of its own; Django
refuses such a subject with BadHeaderError, which lost urgent alerts and broke case replies for
an order number with a newline in it. Intake cleans names and refuses control characters in
order numbers (surveys.intake.orders), and here every subject and display name is made one line
whatever was stored before.
"""

import re
from email.headerregistry import Address
from email.utils import parseaddr
from typing import Any, TypeVar

from django.core.mail import EmailMessage

# C0 and C1 control characters and Unicode's line and paragraph separators.
_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")

Message = TypeVar("Message", bound=EmailMessage)


def has_control_characters(text: str) -> bool:
    """Whether the text holds a line break, a tab or another control character."""
    return _BREAKS.search(text) is not None


def one_line(text: str) -> str:
    """The text as one line: every control character a space, runs of spaces one."""
    return " ".join(_BREAKS.sub(" ", text).split())


def named_address(name: str, address: str) -> str:
    """'Name <address>' with the name made one line (and quoted or encoded as it needs)."""
    _, addr_spec = parseaddr(address)
    return str(Address(display_name=one_line(name), addr_spec=addr_spec)) if addr_spec else address


def message(kind: type[Message], subject: str, body: str, *, to: list[str], **options: Any) -> Message:
    """An email of `kind` (EmailMessage, AnymailMessage ...) whose subject is one line, whatever
    the text it was made from."""
    return kind(subject=one_line(subject), body=body, to=to, **options)
