"""Prometheus metrics at /metrics, in the plain text exposition format (version 0.0.4).

Two kinds of figures, both readable by any web process, so one scrape of any of them is the
whole installation's:
- counts read from the database at scrape time (invitations by status, responses, cases) and the
  queue's depth read from Redis: gauges, since erasure and retention can lower them;
- task durations: a histogram per task and outcome that every worker process, on any machine,
  adds to in one Redis hash (config/celery.py's task_prerun/task_postrun signals). Redis'
  HINCRBY is atomic, so N processes simply add up; prometheus_client's multiprocess mode would
  add up the processes of one machine only. Without Redis (development) no durations are kept.

Behind a bearer token (METRICS_TOKEN); without one set the page does not exist (404).
"""

import hmac
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import cache
from pathlib import Path

import redis
from django.conf import settings
from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Seconds; reports take tens of seconds to render, a sweep of 500 emails about a minute.
TASK_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
# kombu's Redis transport keeps a queue's prioritised messages in keys beside its own.
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")

_started: dict[str, float] = {}


# --- Task durations, written by every worker ---------------------------------------------


def task_started(task_id: str) -> None:
    _started[task_id] = time.perf_counter()


def task_finished(task_id: str, task_name: str, state: str) -> None:
    """Adds one task's duration to the shared histogram; a Redis hiccup never fails the task."""
    started = _started.pop(task_id, None)
    if started is None or not settings.REDIS_URL:
        return
    seconds = time.perf_counter() - started
    field = f"{task_name}|{state}"
    # MULTI/EXEC: a scrape never sees a bucket counted without its total.
    pipe = _redis().pipeline(transaction=True)
    for bound in TASK_BUCKETS:
        if seconds <= bound:
            pipe.hincrby(_histogram_key(), f"{field}|{bound}", 1)
    pipe.hincrby(_histogram_key(), f"{field}|count", 1)
    pipe.hincrbyfloat(_histogram_key(), f"{field}|sum", seconds)
    # A worker's sign of life: the beat hands it a sweep every SEND_SWEEP_SECONDS, so on a live
    # installation this is never older than that (plus a sweep's run).
    pipe.set(_last_task_key(), repr(time.time()))
    try:
        pipe.execute()
    except redis.RedisError as error:
        logger.warning("task duration not recorded: %s", error)


def _histogram_key() -> str:
    # Per queue: installations sharing one Redis (CELERY_QUEUE) keep their figures apart.
    return f"bazgasht:metrics:{settings.CELERY_TASK_DEFAULT_QUEUE}:task_seconds"


def _last_task_key() -> str:
    return f"bazgasht:metrics:{settings.CELERY_TASK_DEFAULT_QUEUE}:last_task_at"


@cache
def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


# --- The exposition -----------------------------------------------------------------------


class Exposition:
    """Lines of the text format: each metric's HELP and TYPE once, then its samples."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def metric(self, name: str, kind: str, help_text: str, samples: Iterable[tuple[dict[str, str], float]]) -> None:
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            self.sample(name, labels, value)

    def sample(self, name: str, labels: dict[str, str], value: float) -> None:
        shown = ",".join(f'{key}="{_escape(str(label))}"' for key, label in labels.items())
        self.lines.append(f"{name}{{{shown}}} {_number(value)}" if shown else f"{name} {_number(value)}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def age(moment: datetime | None, now: datetime) -> float:
    return max(0.0, round((now - moment).total_seconds(), 1)) if moment else 0.0


# What each app counts from the database, registered by the app (its AppConfig.ready): this
# module is plumbing and knows no app's models.
_database_sources: list[Callable[[Exposition, datetime], None]] = []


def count_from_database(source: Callable[[Exposition, datetime], None]) -> Callable[[Exposition, datetime], None]:
    """Register an app's gauges read at scrape time; each source is a few grouped counts."""
    if source not in _database_sources:
        _database_sources.append(source)
    return source


def database_metrics(out: Exposition) -> None:
    now = timezone.now()
    for source in _database_sources:
        source(out, now)


def broker_metrics(out: Exposition) -> None:
    """The queue's depth, and the task histogram where Redis keeps one."""
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    stored: dict[bytes, bytes] = {}
    if settings.REDIS_URL:
        pipe = _redis().pipeline(transaction=False)
        for suffix in _PRIORITY_SUFFIXES:
            pipe.llen(queue + suffix)
        pipe.hgetall(_histogram_key())
        pipe.get(_last_task_key())
        *lengths, stored, last_task = pipe.execute()
        depth = sum(lengths)
        if last_task is not None:
            out.metric(
                "bazgasht_worker_last_task_seconds",
                "gauge",
                "Seconds since a worker, any worker, last finished a task: its sign of life.",
                [({"queue": queue}, round(max(0.0, time.time() - float(last_task)), 1))],
            )
    else:
        # The development file broker: one file a message, named "<time>_<uuid>.<queue>.msg".
        folder = Path(str(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]))
        depth = sum(1 for _ in folder.glob(f"*.{queue}.msg"))
    out.metric(
        "bazgasht_queue_depth",
        "gauge",
        "Celery tasks waiting in the broker (Redis LLEN of the queue), not yet taken by a worker.",
        [({"queue": queue}, depth)],
    )
    histograms: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    for raw_field, raw_value in stored.items():
        task, state, part = raw_field.decode().rsplit("|", 2)
        histograms[(task, state)][part] = float(raw_value)
    out.lines.append("# HELP bazgasht_task_duration_seconds How long Celery tasks ran, by task and final state.")
    out.lines.append("# TYPE bazgasht_task_duration_seconds histogram")
    for (task, state), parts in sorted(histograms.items()):
        labels = {"task": task, "state": state}
        for bound in TASK_BUCKETS:
            out.sample("bazgasht_task_duration_seconds_bucket", {**labels, "le": str(bound)}, parts.get(str(bound), 0))
        out.sample("bazgasht_task_duration_seconds_bucket", {**labels, "le": "+Inf"}, parts.get("count", 0))
        out.sample("bazgasht_task_duration_seconds_sum", labels, parts.get("sum", 0))
        out.sample("bazgasht_task_duration_seconds_count", labels, parts.get("count", 0))


def exposition() -> str:
    """Every metric; a source that cannot be read is reported down rather than failing the scrape."""
    out = Exposition()
    up: dict[str, bool] = {}
    try:
        database_metrics(out)
        up["database"] = True
    except DatabaseError as error:
        logger.warning("metrics: the database could not be read: %s", type(error).__name__)
        up["database"] = False
    try:
        broker_metrics(out)
        up["broker"] = True
    except (redis.RedisError, OSError) as error:
        logger.warning("metrics: the broker could not be read: %s", error)
        up["broker"] = False
    out.metric(
        "bazgasht_metrics_source_up",
        "gauge",
        "Whether this scrape could read each source (1) or not (0).",
        (({"source": source}, int(ok)) for source, ok in up.items()),
    )
    return out.text()


@never_cache
@require_safe
def metrics_view(request: HttpRequest) -> HttpResponse:
    token = settings.METRICS_TOKEN
    if not token:
        raise Http404
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        response = HttpResponse("a valid bearer token is needed\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(exposition(), content_type=CONTENT_TYPE)
