"""Orders in and surveys out, against a local SMTP sink: figures, not pass/fail.

    createdb -h 127.0.0.1 -U postgres bazgasht_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bazgasht_bench DEBUG=false SECRET_KEY=bench HTTPS=false \\
        .venv/bin/python bench/sending.py --orders 100000 --emails 10000
    (the same with --smtp-latency-ms 20: a relay that takes 20 ms a message, as real ones do)
    BAZGASHT_VAR_DIR=/tmp/bazgasht-bench DEBUG=false SECRET_KEY=bench HTTPS=false .venv/bin/python bench/sending.py

Point it at a database of its own (SQLite in BAZGASHT_VAR_DIR, or DATABASE_URL): it migrates
it, and deletes the rows it made when done. Prints, each beside its raw baseline:
- orders/s through `POST /api/v1/orders/bulk` (1,000 a call, through Django, ninja, auth and
  validation) against Django's `bulk_create` of the same customers, orders and lines alone;
- emails/s through `send_due_invitations` (claims, rules, templates, SMTP) against Django's
  SMTP backend sending the same number of messages of the same size alone.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def order_payload(number: int, placed_at: str) -> dict[str, object]:
    return {
        "external_id": f"B-{number}",
        "total": "49.90",
        "currency": "EUR",
        "placed_at": placed_at,
        "customer": {"email": f"c{number}@example.com", "name": f"Customer {number}"},
        "lines": [{"sku": "MUG-1", "product_name": "Mug", "quantity": 1, "unit_price": "49.90"}],
    }


def bulk_create_alone(shop: object, batches: list[range]) -> float:
    """Seconds Django's bulk_create alone takes to store the same customers, orders and lines."""
    from django.utils import timezone

    from surveys.models import Customer, Order, OrderLine

    started = time.perf_counter()
    now = timezone.now()
    for batch in batches:
        customers = Customer.objects.bulk_create(
            Customer(shop=shop, email=f"c{n}@example.com", name=f"Customer {n}") for n in batch
        )
        orders = Order.objects.bulk_create(
            Order(shop=shop, customer=customer, external_id=f"B-{n}", total=Decimal("49.90"), currency="EUR",
                  placed_at=now)
            for n, customer in zip(batch, customers, strict=True)
        )  # fmt: skip
        OrderLine.objects.bulk_create(
            OrderLine(order=order, sku="MUG-1", product_name="Mug", unit_price=Decimal("49.90")) for order in orders
        )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--emails", type=int, default=None, help="how many to send (default: all orders)")
    parser.add_argument("--smtp-latency-ms", type=float, default=0, help="how long the sink takes over a message")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.core.mail import EmailMultiAlternatives, get_connection
    from django.core.management import call_command
    from django.test import Client
    from django.utils import timezone

    from surveys.intake.api_keys import create_api_key
    from surveys.models import Invitation, Question, Shop, Survey
    from surveys.outreach.emails import build_invitation_email
    from surveys.outreach.sending import send_due_invitations

    call_command("migrate", verbosity=0)
    settings.ALLOWED_HOSTS = ["testserver"]
    # The SMTP sink in a process of its own, as a mail server would be, so it does not
    # share this process's interpreter lock with the sender.
    sink = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("smtp_sink.py")), "--port", "8025",
         "--latency-ms", str(args.smtp_latency_ms)],
    )  # fmt: skip
    time.sleep(1)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 8025

    stamp = int(time.time())
    shop = Shop.objects.create(name="Bench", slug=f"bench-{stamp}", send_from_hour=0, send_until_hour=24)
    baseline_shop = Shop.objects.create(name="Baseline", slug=f"baseline-{stamp}")
    try:
        survey = Survey.objects.create(shop=shop, name="bench", trigger="purchase", delay=timezone.timedelta(0))
        Question.objects.create(survey=survey, kind="nps", text="How likely?")
        _, key = create_api_key(shop, name="bench")
        client = Client(headers={"Authorization": f"Bearer {key}"})
        placed_at = timezone.now().isoformat()
        batches = [range(start, min(start + 1000, args.orders)) for start in range(0, args.orders, 1000)]

        # The bodies are encoded before the clock starts: a shop's store does that work, not Bazgasht.
        bodies = [json.dumps({"orders": [order_payload(number, placed_at) for number in batch]}) for batch in batches]
        started = time.perf_counter()
        for body in bodies:
            answer = client.post("/api/v1/orders/bulk", body, content_type="application/json")
            assert answer.status_code == 200, answer.content[:500]
        ingest = time.perf_counter() - started
        assert Invitation.objects.filter(shop=shop, status="scheduled").count() == args.orders

        raw_ingest = bulk_create_alone(baseline_shop, batches)

        emails = min(args.emails or args.orders, args.orders)
        Invitation.objects.filter(shop=shop).exclude(
            pk__in=Invitation.objects.filter(shop=shop).order_by("pk").values("pk")[:emails]
        ).delete()
        sample = Invitation.objects.filter(shop=shop).select_related("shop", "customer", "order", "survey").first()
        started = time.perf_counter()
        sent = 0
        while batch_sent := send_due_invitations(limit=500):
            sent += batch_sent
        sending = time.perf_counter() - started
        assert Invitation.objects.filter(shop=shop, status="sent").count() == emails

        # Django's SMTP backend alone: the same messages (rendered once, outside the clock)
        # built and sent one by one over one connection, as an app without Bazgasht would.
        sample_message = build_invitation_email(sample, token="x" * 43)
        subject, text = sample_message.subject, sample_message.body
        html, _ = sample_message.alternatives[0]
        started = time.perf_counter()
        with get_connection() as connection:
            for number in range(emails):
                message = EmailMultiAlternatives(subject, text, to=[f"c{number}@example.com"], connection=connection)
                message.attach_alternative(html, "text/html")
                message.send()
        raw = time.perf_counter() - started
    finally:
        shop.delete()
        baseline_shop.delete()
        sink.terminate()

    db = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    print(f"database: {db}, orders: {args.orders}, emails: {emails}, SMTP latency: {args.smtp_latency_ms:g} ms")
    print(f"ingestion, POST /orders/bulk:       {args.orders / ingest:8.0f} orders/s")
    print(f"raw bulk_create, same rows:         {args.orders / raw_ingest:8.0f} orders/s")
    print(f"ingestion / raw:                    {raw_ingest / ingest:8.2f}")
    print(f"sending, send_due_invitations:      {sent / sending:8.0f} emails/s")
    print(f"raw Django SMTP backend, same mail: {emails / raw:8.0f} emails/s")
    print(f"sending / raw:                      {raw / sending:8.2f}")


if __name__ == "__main__":
    main()
