"""Where Bazgasht may send a shop's alert webhooks, and the sending: not inside its own network.

A shop admin (or a key with the webhooks scope) sets the URL; the worker then POSTs to it from
inside the operator's network. Pointed at 127.0.0.1, a cloud metadata address or a private host,
that would let the shop reach what only the server can (server-side request forgery). So:

- the URL is checked when it is set (an address written as digits, or a local name);
- at each send the name is resolved once, every address it has must be public, and the
  connection goes to an address so checked: a name that answers differently a moment later
  (DNS rebinding) cannot slip an inside address in between the check and the connection;
- redirects are not followed: a 3xx is the receiver's answer (a failure), not a new target.

Operators whose chat server is on their own network allow it with
ALERT_WEBHOOK_PRIVATE_ADDRESSES=true. The connection is direct (no HTTP proxy from the
environment): a proxy would resolve the name itself, after the check.
"""

import http.client
import ipaddress
import socket
import ssl
import urllib.parse

from django.conf import settings
from django.core.exceptions import ValidationError

LOCAL_NAMES = ("localhost", ".localhost", ".local", ".internal", ".localdomain")


class Refused(Exception):
    """The target is inside the server's network: not tried, and not worth trying again."""


def webhook_target_problem(url: str) -> str:
    """Why alerts may not go to `url` ("" if they may), from the URL alone: its name is looked
    up at each send (`post`), where the answer counts."""
    if not url:
        return ""
    try:
        _addresses(url, resolve=False)
    except Refused as refused:
        return str(refused)
    return ""


def validate_webhook_target(url: str) -> None:
    """The model field's validator (admin forms)."""
    problem = webhook_target_problem(url)
    if problem:
        raise ValidationError(problem)


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> int:
    """POST `body` to `url` and return the HTTP status, connecting only to addresses that were
    checked. Raises Refused (inside the network) or OSError (no answer: worth retrying)."""
    parts = urllib.parse.urlsplit(url)
    addresses = _addresses(url, resolve=True)
    port = _port(parts)
    connection_class = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
    target = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
    failure: OSError = OSError(f"{parts.hostname} has no address")
    for address in addresses:  # in the resolver's order, as a browser tries them
        connection = connection_class(parts.hostname or "", port, address=address, timeout=timeout)
        try:
            connection.connect()
        except OSError as error:
            failure = error
            connection.close()
            continue
        try:
            connection.request("POST", target, body=body, headers=headers)
            return connection.getresponse().status
        finally:
            connection.close()
    raise failure


def _addresses(url: str, *, resolve: bool) -> list[str]:
    """The addresses alerts to `url` may connect to (empty without `resolve` for a name), each
    checked; raises Refused naming an inside one."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = (parts.hostname or "").rstrip(".")
        port = _port(parts)
    except ValueError:
        raise Refused("the alert webhook URL is not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        raise Refused("the alert webhook URL must start with http:// or https://")
    if not host:
        raise Refused("the alert webhook URL has no host")
    private_allowed = settings.ALERT_WEBHOOK_PRIVATE_ADDRESSES
    if not private_allowed and (host == LOCAL_NAMES[0] or host.endswith(LOCAL_NAMES[1:])):
        raise Refused(_inside(host))
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        if not resolve:
            return []
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found]
    inside = next((address for address in addresses if is_inside(address)), None)
    if inside is not None and not private_allowed:
        raise Refused(_inside(host if str(inside) == host else f"{host} ({inside})"))
    return list(dict.fromkeys(str(address) for address in addresses))


def is_inside(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Loopback, private, link-local (cloud metadata), reserved: anything not on the internet."""
    return not address.is_global


def _port(parts: urllib.parse.SplitResult) -> int:
    return parts.port or (443 if parts.scheme == "https" else 80)


def _inside(where: str) -> str:
    return (
        f"the alert webhook points inside the server's network ({where}); "
        "an operator can allow that with ALERT_WEBHOOK_PRIVATE_ADDRESSES=true"
    )


class _PinnedHTTP(http.client.HTTPConnection):
    """A connection to `address` for a URL naming `host`: the Host header says `host`."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """As _PinnedHTTP, over TLS: the certificate is checked against `host`, not the address."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        self.tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self.tls)
        self.address = address

    def connect(self) -> None:
        plain = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self.tls.wrap_socket(plain, server_hostname=self.host)
