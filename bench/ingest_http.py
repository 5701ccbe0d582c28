"""Orders in over real HTTP: gunicorn workers, concurrent clients posting to /orders/bulk.

    createdb -h 127.0.0.1 -U postgres bazgasht_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bazgasht_bench SECRET_KEY=bench HTTPS=false \\
        .venv/bin/python bench/ingest_http.py --orders 100000 --workers 2 --clients 2

How a shop's import really arrives: 1,000 orders a call, a few calls at once, to several
web processes. Prints orders/s end to end (HTTP, JSON, auth, validation, storage,
scheduling) and the same rows through Django's bulk_create alone, in one process.
Figures, not pass/fail; it deletes what it made.
"""

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from sending import bulk_create_alone, order_payload  # noqa: E402 - beside this file


def post(url: str, key: str, body: bytes) -> int:
    request = urllib.request.Request(  # noqa: S310 - our own local server
        url, data=body, method="POST", headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=120) as answer:  # noqa: S310
        return json.loads(answer.read())["created"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--clients", type=int, default=2, help="calls under way at once")
    parser.add_argument("--port", type=int, default=8077)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from surveys.intake.api_keys import create_api_key
    from surveys.models import Question, Shop, Survey

    call_command("migrate", verbosity=0)
    stamp = int(time.time())
    shop = Shop.objects.create(name="Bench", slug=f"bench-http-{stamp}", send_from_hour=0, send_until_hour=24)
    baseline_shop = Shop.objects.create(name="Baseline", slug=f"baseline-http-{stamp}")
    survey = Survey.objects.create(shop=shop, name="bench", trigger="purchase", delay=timezone.timedelta(0))
    Question.objects.create(survey=survey, kind="nps", text="How likely?")
    _, key = create_api_key(shop, name="bench")
    placed_at = timezone.now().isoformat()
    batches = [range(start, min(start + 1000, args.orders)) for start in range(0, args.orders, 1000)]
    bodies = [json.dumps({"orders": [order_payload(n, placed_at) for n in batch]}).encode() for batch in batches]

    env = {**os.environ, "ALLOWED_HOSTS": "127.0.0.1", "DEBUG": "false"}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--workers", str(args.workers),
         "--bind", f"127.0.0.1:{args.port}", "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{args.port}/api/v1/orders/bulk"
    try:
        time.sleep(3)
        post(url, key, json.dumps({"orders": [order_payload(-1, placed_at)]}).encode())  # warm the workers
        started = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            created = sum(pool.map(lambda body: post(url, key, body), bodies))
        ingest = time.perf_counter() - started
        assert created == args.orders, created

        raw = bulk_create_alone(baseline_shop, batches)
    finally:
        server.terminate()
        server.wait()
        shop.delete()
        baseline_shop.delete()

    print(f"orders: {args.orders}, gunicorn workers: {args.workers}, concurrent calls: {args.clients}")
    print(f"POST /orders/bulk over HTTP:     {args.orders / ingest:8.0f} orders/s")
    print(f"raw bulk_create, one process:    {args.orders / raw:8.0f} orders/s")
    print(f"ingestion / raw:                 {raw / ingest:8.2f}")


if __name__ == "__main__":
    main()
