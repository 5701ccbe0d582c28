"""Security plumbing: the client's address, session expiry, headers, and NULs.

The sign-in rules and the authentication backend that applies them are in feedback.accounts.signin.
"""

import logging
import re
import time
from collections.abc import Callable
from itertools import accumulate

import csp.middleware
from csp.constants import SELF
from csp.middleware import PolicyParts
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.utils.cache import add_never_cache_headers
from django.views import defaults

logger = logging.getLogger(__name__)

# Session keys the sign-in pages set and the expiry middleware reads.
SIGNED_IN_AT = "signed_in_at"
SEEN_AT = "seen_at"
# The idle clock is written to the session at most this often, not on every request.
SEEN_RESOLUTION_SECONDS = 60


def client_address(request: HttpRequest, *, proxy_hops: int) -> str:
    """The client's address: REMOTE_ADDR, or the entry our own proxies added to X-Forwarded-For."""
    if proxy_hops:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxy_hops:
            return forwarded[-proxy_hops]
    return request.META.get("REMOTE_ADDR", "")


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return client_address(request, proxy_hops=settings.TRUSTED_PROXY_HOPS) or None


def mark_signed_in(request: HttpRequest) -> None:
    """Start the session's clocks (called by the sign-in pages right after login())."""
    now = int(time.time())
    request.session[SIGNED_IN_AT] = now
    request.session[SEEN_AT] = now


class SessionExpiryMiddleware:
    """Signs staff out after SESSION_IDLE_SECONDS without a request, and SESSION_COOKIE_AGE after
    signing in whatever they do. (Django's own expiry slides forward each time the session is
    saved, so on its own it is not a hard limit.) Costs one session write a minute, at most."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        seen = request.session.get(SEEN_AT)
        if seen is not None:
            now = int(time.time())
            signed_in = request.session.get(SIGNED_IN_AT, seen)
            if now - seen > settings.SESSION_IDLE_SECONDS or now - signed_in > settings.SESSION_COOKIE_AGE:
                logout(request)
                messages.info(request, "You were signed out after a while without activity. Please sign in again.")
            elif now - seen >= SEEN_RESOLUTION_SECONDS:
                request.session[SEEN_AT] = now
        return self.get_response(request)


class CSPMiddleware(csp.middleware.CSPMiddleware):
    """django-csp's Content-Security-Policy (settings.CONTENT_SECURITY_POLICY: no inline or
    third-party scripts), with frame-ancestors following X-Frame-Options.

    A view that may be framed by our own pages says so once, with Django's
    @xframe_options_sameorigin (the admin's live preview); it then gets frame-ancestors 'self'
    too, every other page 'none'. get_policy_parts is django-csp's documented hook for this. A
    view's own @csp_replace of frame-ancestors wins. Sits above XFrameOptionsMiddleware, so it
    sees that header on the way out. (With DEBUG on, django-csp leaves Django's debug 404 and 500
    pages without the header, as they carry inline script; with DEBUG off every page has it.)
    """

    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if response.get("X-Frame-Options", "DENY").upper() == "SAMEORIGIN":
            parts.replace = {"frame-ancestors": [SELF], **(parts.replace or {})}
        return parts


class SecurityHeadersMiddleware:
    """Permissions-Policy, and no caching of what was asked for as someone."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
        if _for_someone(request) and "no-store" not in response.get("Cache-Control", ""):
            # Staff pages, exports, report PDFs and API answers hold customers' data: no browser
            # cache on a shared computer nor a proxy keeps a copy.
            add_never_cache_headers(response)
        return response


def _for_someone(request: HttpRequest) -> bool:
    """Whether the request was made as someone: a signed-in staff member or an API key."""
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated) or "Authorization" in request.headers


class RefuseUnsafeInputMiddleware:
    """A request that would break a query or a parser gets a 400 saying why, before any view runs.

    - A NUL character in its path, query or JSON body: PostgreSQL cannot store or even compare
      NUL in text, so such a value would end in a 500 at the first query that used it. Forms
      refuse it on their own (Django's ProhibitNullCharactersValidator); this covers what reaches
      a query without a form: the API's JSON, store webhooks and every URL.
    - A JSON body nested deeper than MAX_JSON_DEPTH: no payload Bazgasht reads (orders, store
      webhooks, provider callbacks) comes near it, and a few hundred brackets would otherwise make
      a parser recurse until it gives up.

    - A JSON body over DATA_UPLOAD_MAX_MEMORY_SIZE: a 413 naming the limit (Django's own answer
      is a bare 400).

    The first two are read from the body's text without parsing it (one regular expression and a count of
    brackets outside strings), so the check costs the same on any body and cannot recurse.
    """

    NUL_MESSAGE = "text may not contain NUL characters (\\u0000)"
    MAX_JSON_DEPTH = 32
    DEPTH_MESSAGE = f"JSON may not be nested more than {MAX_JSON_DEPTH} levels deep"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        status, problem = self._problem(request)
        if not problem:
            return self.get_response(request)
        logger.warning("refused a request to %s: %s", request.path[:100], problem)
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": problem}, status=status)
        return HttpResponse(problem, status=status, content_type="text/plain; charset=utf-8")

    @classmethod
    def _problem(cls, request: HttpRequest) -> tuple[int, str]:
        if "\x00" in request.path or "%00" in request.META.get("QUERY_STRING", ""):
            return 400, cls.NUL_MESSAGE
        if request.content_type != "application/json":
            return 200, ""
        try:
            body = request.body
        except RequestDataTooBig:
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            return 413, f"the body is larger than {limit:,} bytes ({limit / 2**20:g} MiB); send less a request"
        if b"\x00" in body or _ESCAPED_NUL.search(body):
            return 400, cls.NUL_MESSAGE
        if json_depth(body) > cls.MAX_JSON_DEPTH:
            return 400, cls.DEPTH_MESSAGE
        return 200, ""


# \u0000 in a JSON string, but not \\u0000 (an escaped backslash, then the letters u0000).
_ESCAPED_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000", re.IGNORECASE)
# A JSON string, escapes and all: brackets inside one do not nest.
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_OPENING, _CLOSING = b"[{", b"]}"
_NOT_A_BRACKET = bytes(set(range(256)) - set(_OPENING + _CLOSING))


def json_depth(body: bytes) -> int:
    """How deep the brackets of a JSON text nest (0 for a bare value), counted without parsing."""
    brackets = _JSON_STRING.sub(b"", body).translate(None, _NOT_A_BRACKET)
    return max(accumulate(1 if byte in _OPENING else -1 for byte in brackets), default=0)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 400 (a forged or missing Host header, say) in the API's own JSON for API paths, so
    clients always get what the schema documents; the plain page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "bad request"}, status=400)
    return defaults.bad_request(request, exception)
