"""Fixed-window rate limits on the shared cache (Redis in production)."""

import time
from dataclasses import dataclass

from django.core.cache import cache
from django.http import HttpRequest


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int


def hit(scope: str, key: str, *, rate: tuple[int, int]) -> Verdict:
    """Count one request for `key` and say whether it stays within `rate` (requests, seconds)."""
    limit, seconds = rate
    now = int(time.time())
    window = now - now % seconds
    counter = f"rate:{scope}:{key}:{window}"
    # add() is a no-op if the counter exists; incr() is atomic on Redis.
    cache.add(counter, 0, timeout=seconds + 1)
    try:
        count = cache.incr(counter)
    except ValueError:  # expired between add() and incr()
        cache.add(counter, 1, timeout=seconds + 1)
        count = 1
    return Verdict(allowed=count <= limit, retry_after=window + seconds - now)


def client_address(request: HttpRequest, *, proxy_hops: int) -> str:
    """The client's address: REMOTE_ADDR, or the entry our own proxies added to X-Forwarded-For."""
    if proxy_hops:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxy_hops:
            return forwarded[-proxy_hops]
    return request.META.get("REMOTE_ADDR", "")
