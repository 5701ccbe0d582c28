"""Where Bazgasht may send a shop's alert webhooks: not inside the network it runs in.

A shop admin (or a key with the webhooks scope) sets the URL; the worker then POSTs to it from
inside the operator's network. Pointed at 127.0.0.1, a cloud metadata address or a private host,
that would let the shop reach what only the server can (server-side request forgery). The URL is
checked when it is set (an address written as digits, or a local name) and again before each
send, after resolving the name (which may have changed since). Operators whose chat server is on
their own network allow it with ALERT_WEBHOOK_PRIVATE_ADDRESSES=true.
"""

import ipaddress
import socket
import urllib.parse

from django.conf import settings
from django.core.exceptions import ValidationError

LOCAL_NAMES = ("localhost", ".localhost", ".local", ".internal", ".localdomain")


def webhook_target_problem(url: str, *, resolve: bool) -> str:
    """Why alerts may not go to `url` ("" if they may). With `resolve`, the name is looked up too;
    a name that does not resolve is no problem here: the send fails and is retried as any other."""
    if not url or settings.ALERT_WEBHOOK_PRIVATE_ADDRESSES:
        return ""
    try:
        parts = urllib.parse.urlsplit(url)
        host = (parts.hostname or "").rstrip(".")
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return "the alert webhook URL is not a valid URL"
    if not host:
        return "the alert webhook URL has no host"
    if host == LOCAL_NAMES[0] or host.endswith(LOCAL_NAMES[1:]):
        return _inside(host)
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        if not resolve:
            return ""
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            return ""
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found]
    inside = next((address for address in addresses if not address.is_global), None)
    if inside is None:
        return ""
    return _inside(host if str(inside) == host else f"{host} ({inside})")


def _inside(where: str) -> str:
    return (
        f"the alert webhook points inside the server's network ({where}); "
        "an operator can allow that with ALERT_WEBHOOK_PRIVATE_ADDRESSES=true"
    )


def validate_webhook_target(url: str) -> None:
    """The model field's validator (admin forms): the check without a name lookup."""
    problem = webhook_target_problem(url, resolve=False)
    if problem:
        raise ValidationError(problem)
