"""Orders in and surveys out, against a local SMTP sink: figures, not pass/fail.

    BAZGASHT_VAR_DIR=/tmp/bazgasht-bench DEBUG=true .venv/bin/python bench/sending.py --orders 2000
    createdb -h 127.0.0.1 -U postgres bazgasht_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bazgasht_bench DEBUG=true .venv/bin/python bench/sending.py

Point it at a database of its own (SQLite in BAZGASHT_VAR_DIR, or DATABASE_URL): it migrates
it, and deletes the rows it made when done.
Prints orders/s through `record_order`, emails/s through `send_due_invitations`, and the
raw rate of Django's SMTP backend sending the same number of similar messages.
"""

import argparse
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=2000)
    args = parser.parse_args()

    import django

    django.setup()
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Sink
    from django.conf import settings
    from django.core.mail import EmailMultiAlternatives, get_connection
    from django.core.management import call_command
    from django.utils import timezone

    from surveys.domain import CustomerDetails, record_order, send_due_invitations
    from surveys.models import Question, Shop, Survey

    call_command("migrate", verbosity=0)
    sink = Controller(Sink(), hostname="127.0.0.1", port=8025)
    sink.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 8025

    shop = Shop.objects.create(name="Bench", slug=f"bench-{int(time.time())}")
    try:
        survey = Survey.objects.create(shop=shop, name="bench", delay=timezone.timedelta(0))
        Question.objects.create(survey=survey, kind="nps", text="How likely?")
        now = timezone.now()

        started = time.perf_counter()
        for number in range(args.orders):
            record_order(
                shop,
                external_id=f"B-{number}",
                customer=CustomerDetails(email=f"c{number}@example.com"),
                total=Decimal("10.00"),
                currency="EUR",
                placed_at=now,
            )
        ingest = time.perf_counter() - started

        started = time.perf_counter()
        sent = 0
        while batch := send_due_invitations(limit=500):
            sent += batch
        sending = time.perf_counter() - started

        started = time.perf_counter()
        with get_connection() as connection:
            for number in range(args.orders):
                message = EmailMultiAlternatives(
                    "How was it?", "x" * 600, to=[f"c{number}@example.com"], connection=connection
                )
                message.attach_alternative("<p>" + "x" * 2500 + "</p>", "text/html")
                message.send()
        raw = time.perf_counter() - started
    finally:
        shop.delete()
        sink.stop()

    db = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    print(f"database: {db}, orders: {args.orders}, sent: {sent}")
    print(f"ingestion (record_order, one at a time): {args.orders / ingest:8.0f} orders/s")
    print(f"sending (send_due_invitations):          {sent / sending:8.0f} emails/s")
    print(f"raw Django SMTP backend, same count:     {args.orders / raw:8.0f} emails/s")
    print(f"sending / raw:                           {raw / sending:8.2f}")


if __name__ == "__main__":
    main()
