"""Health endpoints for load balancers and orchestrators: no auth, no personal data, cheap.

- `/healthz` (liveness): the process answers. No I/O at all, so a slow database never gets a
  healthy web process restarted.
- `/readyz` (readiness): the database and the broker answer, each with its latency; 503 and the
  part that failed otherwise, so the balancer stops sending traffic to a process that cannot work.

Neither counts against a rate limit (those are the answer page's). A failure's details go to
the log; the answer names only the kind of error, since anyone can call these.
"""

import logging
import os
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)

# A probe must answer well within the balancer's own timeout (often 5 s).
BROKER_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class Check:
    ok: bool
    milliseconds: float
    error: str = ""

    def as_dict(self) -> dict[str, object]:
        answer: dict[str, object] = {"ok": self.ok, "ms": round(self.milliseconds, 1)}
        if self.error:
            answer["error"] = self.error
        return answer


def check_database(db: BaseDatabaseWrapper = connection) -> Check:
    started = time.perf_counter()
    try:
        with db.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        logger.warning("readiness: the database failed: %s", type(error).__name__, exc_info=True)
        return Check(False, _since(started), type(error).__name__)
    return Check(True, _since(started))


def check_broker(url: str | None = None) -> Check:
    """The Celery broker: Redis answers PING; the development file broker's folder is writable."""
    url = url or settings.CELERY_BROKER_URL
    started = time.perf_counter()
    if url.startswith("filesystem://"):
        folder = Path(str(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]))
        if folder.is_dir() and os.access(folder, os.W_OK):
            return Check(True, _since(started))
        logger.warning("readiness: the broker folder %s is missing or not writable", folder)
        return Check(False, _since(started), "folder not writable")
    try:
        _redis(url).ping()
    except redis.RedisError as error:
        logger.warning("readiness: the broker failed: %s", error)
        return Check(False, _since(started), type(error).__name__)
    return Check(True, _since(started))


@cache
def _redis(url: str) -> redis.Redis:
    # One client (and connection pool) per process: a probe every few seconds reuses its connection.
    return redis.Redis.from_url(
        url, socket_timeout=BROKER_TIMEOUT_SECONDS, socket_connect_timeout=BROKER_TIMEOUT_SECONDS
    )


def _since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


@never_cache
@require_safe
def liveness(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readiness(request: HttpRequest) -> JsonResponse:
    checks = {"database": check_database(), "broker": check_broker()}
    failed = sorted(name for name, check in checks.items() if not check.ok)
    body = {
        "status": "fail" if failed else "ok",
        "failed": failed,
        "checks": {name: check.as_dict() for name, check in checks.items()},
    }
    return JsonResponse(body, status=503 if failed else 200)
