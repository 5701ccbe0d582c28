"""Fixed-window rate limits, counted in Redis when there is one (shared by every web process).

With Redis unreachable the limits are not counted and every request goes through: a customer's
answer matters more than a limit, and the outage is logged (once a minute per process).
"""

import logging
import time
from dataclasses import dataclass
from functools import cache

import redis
from django.conf import settings
from django.core.cache import cache as django_cache


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int


def hit(scope: str, key: str, *, rate: tuple[int, int]) -> Verdict:
    """Count one request for `key` and say whether it stays within `rate` (requests, seconds)."""
    limit, seconds = rate
    now = int(time.time())
    window = now - now % seconds
    counter = f"bazgasht:rate:{scope}:{key}:{window}"
    count = _count(counter, seconds + 1)
    return Verdict(allowed=count <= limit, retry_after=window + seconds - now)


def _count(counter: str, ttl: int) -> int:
    if settings.REDIS_URL:
        # One round trip: this runs on every request of the answer page.
        pipe = _redis().pipeline(transaction=False)
        pipe.set(counter, 0, ex=ttl, nx=True)  # starts the window's counter with its expiry
        pipe.incr(counter)
        try:
            _, count = pipe.execute()
        except redis.RedisError as error:
            _warn_unreachable(error)
            return 0
        return int(count)
    # Without Redis each process counts alone (development on one machine).
    django_cache.add(counter, 0, timeout=ttl)
    try:
        return django_cache.incr(counter)
    except ValueError:  # expired between add() and incr()
        django_cache.add(counter, 1, timeout=ttl)
        return 1


log = logging.getLogger(__name__)
_warned_at = 0.0


def _warn_unreachable(error: redis.RedisError) -> None:
    global _warned_at
    if time.monotonic() - _warned_at >= 60 or not _warned_at:
        _warned_at = time.monotonic()
        log.warning("rate limits are not counted: Redis is unreachable (%s)", error)


@cache
def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
