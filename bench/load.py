"""A bounded load test: customers answering surveys and a shop's store posting orders, at the same time.

    .venv/bin/python bench/load.py --answers 1000 --orders 1000 --users 16 --workers 4

(PostgreSQL at 127.0.0.1:5432 and Redis are all it needs, as for bench/answer_page.py, whose set-up
and generic form client it reuses: database bazgasht_bench, Redis db 12, the Celery queue bench-load
with no worker, bench/settings.py's rate limits out of the way. It deletes what it made.)

gunicorn serves the app on 127.0.0.1; `--users` closed-loop clients take the next piece of work
when their last one is done, answers and orders interleaved, so both kinds run at once for a
fixed amount of work:
- an answer: GET /s/<token>/?score=9, the score POST, then every redirect and further form to
  the thank-you page (bench/answer_page.py's generic client), each a fresh sent invitation;
- an order: POST /api/v1/orders, one order, with the shop's API key.
It prints each kind's error rate, p50 and p99, and checks that nothing was lost: the answers and
orders in the database must equal the ones the server accepted. Figures, not pass/fail (but it
exits 1 if anything accepted is missing).

Why no locust: it runs on gevent, whose monkey-patching this process (Django, psycopg for the set-up
and the counts) would share; a thread per user with http.client is enough at this scale.
"""

import argparse
import http.client
import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
# Before answer_page's own defaults: this bench's queue, so its leftovers never meet that one's.
os.environ.setdefault("CELERY_QUEUE", "bench-load")

from answer_page import (  # noqa: E402 - beside this file, after the environment above
    BENCH_ENV,
    Connection,
    Reply,
    answer,
    create_database,
    create_invitations,
    machine_cpu,
    page_form,
    percentile,
)

PLACED_AT = "2026-11-20T10:00:00+00:00"


@dataclass
class Tally:
    """Every request of a kind: (milliseconds, status; 0 for no answer at all)."""

    requests: dict[str, list[tuple[float, int]]] = field(default_factory=dict)
    answers: Counter[str] = field(default_factory=Counter)
    orders_created: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, milliseconds: float, status: int) -> None:
        with self.lock:
            self.requests.setdefault(kind, []).append((milliseconds, status))


def do_answer(connection: Connection, token: str, tally: Tally, max_requests: int) -> None:
    cookies: dict[str, str] = {}

    def fetch(method: str, url: str, data: list[tuple[str, str]] | None) -> Reply:
        return connection.fetch(cookies, method, url, data)

    url = f"/s/{token}/?score=9"
    try:
        page = fetch("GET", url, None)
    except OSError:
        tally.add("answer page GET", 0.0, 0)
        return
    tally.add("answer page GET", page.seconds * 1000, page.status)
    form = page_form(page.body, url) if page.status == 200 else None
    if form is None:
        with tally.lock:
            tally.answers[f"no form ({page.status})"] += 1
        return
    try:
        done = answer(fetch, url, form, max_requests=max_requests)
    except OSError:
        tally.add("answer POST", 0.0, 0)
        with tally.lock:
            tally.answers["connection failed"] += 1
        return
    first_post = next(reply for method, reply in done if method == "POST")
    for method, reply in done:
        tally.add("answer POST" if method == "POST" else "answer GET after POST", reply.seconds * 1000, reply.status)
    last = done[-1][1]
    with tally.lock:
        # The score's POST stores the response (a redirect to the next step); the thank-you page ends it.
        tally.answers[
            "score accepted" if first_post.status in (302, 303) else f"score refused ({first_post.status})"
        ] += 1
        if last.status == 200 and page_form(last.body, last.url) is None:
            tally.answers["reached thank-you"] += 1


def do_order(port: int, key: str, number: int, tally: Tally) -> None:
    body = json.dumps({
        "external_id": f"L-{number}", "total": "49.90", "currency": "EUR", "placed_at": PLACED_AT,
        "customer": {"email": f"load{number}@example.com", "name": f"Customer {number}"},
    }).encode()  # fmt: skip
    started = time.perf_counter()
    status = 0
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.request(
            "POST", "/api/v1/orders", body=body,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )  # fmt: skip
        response = connection.getresponse()
        response.read()
        status = response.status
        connection.close()
    except OSError:
        pass
    tally.add("order POST", (time.perf_counter() - started) * 1000, status)
    if status == 201:
        with tally.lock:
            tally.orders_created += 1


def wait_for(port: int, *, seconds: float = 60) -> None:
    """Until gunicorn answers its liveness check."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            probe = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            probe.request("GET", "/healthz")
            probe.getresponse().read()
            probe.close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--answers", type=int, default=1000, help="customers answering, one invitation each")
    parser.add_argument("--orders", type=int, default=1000, help="orders posted, one request each")
    parser.add_argument("--users", type=int, default=16, help="concurrent closed-loop clients")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--max-requests", type=int, default=12, help="requests one answer may take, at most")
    parser.add_argument("--port", type=int, default=8079)
    args = parser.parse_args()

    create_database()
    import django

    django.setup()
    import redis
    from django.conf import settings
    from django.core.management import call_command

    from feedback.models import Response
    from surveys.intake.api_keys import create_api_key
    from surveys.models import Order

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    shop, tokens = create_invitations(args.answers)
    _, key = create_api_key(shop, name="load")
    # Answers and orders interleaved, so both kinds are under way at every moment.
    work: queue.SimpleQueue[tuple[str, object]] = queue.SimpleQueue()
    for index in range(max(args.answers, args.orders)):
        if index < args.answers:
            work.put(("answer", tokens[index]))
        if index < args.orders:
            work.put(("order", index))

    tally = Tally()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--workers", str(args.workers),
         "--bind", f"127.0.0.1:{args.port}", "--log-level", "warning"],
        cwd=ROOT, env=os.environ.copy(),
    )  # fmt: skip
    try:
        wait_for(args.port)

        def user() -> None:
            connection = Connection(args.port)
            try:
                while True:
                    try:
                        kind, item = work.get_nowait()
                    except queue.Empty:
                        return
                    if kind == "answer":
                        do_answer(connection, str(item), tally, args.max_requests)
                    else:
                        do_order(args.port, key, int(str(item)), tally)
            finally:
                connection.close()

        machine_started = machine_cpu()
        started = time.perf_counter()
        with ThreadPoolExecutor(args.users) as pool:
            for future in [pool.submit(user) for _ in range(args.users)]:
                future.result()
        seconds = time.perf_counter() - started
        busy, total = (now - then for now, then in zip(machine_cpu(), machine_started, strict=True))

        stored_responses = Response.objects.filter(shop=shop).count()
        completed_responses = Response.objects.filter(shop=shop, completed_at__isnull=False).count()
        # The shop's own orders behind the invitations (B-…) were made by the set-up, not posted.
        stored_orders = Order.objects.filter(shop=shop, external_id__startswith="L-").count()
    finally:
        server.terminate()
        server.wait()
        Response.objects.filter(shop=shop).delete()
        shop.delete()
        broker = redis.Redis.from_url(settings.REDIS_URL)
        queued = broker.llen(settings.CELERY_TASK_DEFAULT_QUEUE)
        broker.delete(settings.CELERY_TASK_DEFAULT_QUEUE)

    lost = report(args, tally, seconds=seconds, machine_busy=busy / total if total else 0.0, queued=queued,
                  stored=(stored_responses, completed_responses, stored_orders))  # fmt: skip
    sys.exit(1 if lost else 0)


def report(
    args: argparse.Namespace, tally: Tally, *, seconds: float, machine_busy: float, queued: int,
    stored: tuple[int, int, int],
) -> bool:  # fmt: skip
    """Prints the figures; True if anything the server accepted is missing from the database."""
    print(f"gunicorn: {args.workers} sync workers on {os.cpu_count()} cores, shared with this load generator, "
          "PostgreSQL, Redis and whatever else runs on the machine")  # fmt: skip
    print(f"load: {args.users} closed-loop clients; {args.answers} answers and {args.orders} orders interleaved, "
          f"in {seconds:.1f} s; the whole machine was {machine_busy:.0%} busy")  # fmt: skip
    print()
    print(f"{'':<24}{'requests':>9}{'req/s':>8}{'errors':>8}{'p50 ms':>9}{'p99 ms':>9}   [statuses]")
    for kind in ("answer page GET", "answer POST", "answer GET after POST", "order POST"):
        rows = tally.requests.get(kind, [])
        errors = sum(1 for _, status in rows if status == 0 or status >= 400)
        latencies = [milliseconds for milliseconds, status in rows if status]
        statuses = ", ".join(
            f"{status or 'no answer'}: {count}" for status, count in sorted(Counter(s for _, s in rows).items())
        )
        rate = errors / len(rows) if rows else 0.0
        print(f"{kind:<24}{len(rows):>9}{len(rows) / seconds:>8.0f}{rate:>8.2%}"
              f"{percentile(latencies, 0.5):>9.1f}{percentile(latencies, 0.99):>9.1f}   [{statuses}]")  # fmt: skip
    responses, completed, orders = stored
    accepted, finished = tally.answers["score accepted"], tally.answers["reached thank-you"]
    print()
    print(f"answers: {dict(tally.answers)}")
    print(f"nothing lost: responses stored {responses} = scores accepted {accepted}: {responses == accepted}; "
          f"completed {completed} >= thank-you pages {finished}: {completed >= finished}; "
          f"orders stored {orders} = 201s {tally.orders_created}: {orders == tally.orders_created}")  # fmt: skip
    print(f"Celery tasks queued (no worker ran; deleted): {queued}")
    defaults = {**BENCH_ENV, "CELERY_QUEUE": "bench-load"}
    changed = [f"{name}={os.environ[name]}" for name, value in defaults.items() if os.environ[name] != value]
    options = f"--answers {args.answers} --orders {args.orders} --users {args.users} --workers {args.workers}"
    print("reproduce: " + " ".join([*changed, ".venv/bin/python bench/load.py", options]))
    return responses != accepted or completed < finished or orders != tally.orders_created


if __name__ == "__main__":
    main()
