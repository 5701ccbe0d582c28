"""A shop's retention over a million responses, on PostgreSQL: figures, not pass/fail.

    createdb -h 127.0.0.1 -U postgres bazgasht_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bazgasht_bench DEBUG=false SECRET_KEY=bench HTTPS=false \\
        .venv/bin/python bench/retention.py --responses 1000000

It makes a shop with that many responses over the last 24 months (bench/nps.py's data: a
quarter as many customers, an order, line, invitation, response and NPS answer each, a
comment on one in three) and a suppression-list entry for one customer in a hundred, sets a
12-month retention, and times surveys.customer_data.retention.apply_retention:
- the first run, which anonymises the older half (comments blanked, customers whose last
  order is older than a year anonymised, old suppression addresses hashed), batch by batch;
- the next day's run, which finds (almost) nothing left to do;
and checks that the NPS over the 24 months is the same before and after.
It deletes its rows when done; --keep leaves them.
"""

import argparse
import os
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from bench.nps import analyse, delete_data, make_data


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from feedback.insights.tallies import nps_tally
    from feedback.models import Answer
    from surveys.customer_data.retention import apply_retention
    from surveys.models import Customer, Question, Shop, Suppression, Survey

    if connection.vendor != "postgresql":
        sys.exit("bench/retention.py measures PostgreSQL: set DATABASE_URL")
    call_command("migrate", verbosity=0)
    slug = f"bench-retention-{args.responses}"
    old = Shop.objects.filter(slug=slug).first()
    if old is not None:
        _delete(old, delete_data)
    shop = Shop.objects.create(name="Bench retention", slug=slug, timezone="Asia/Tehran")
    survey = Survey.objects.create(shop=shop, name="bench")
    Question.objects.create(survey=survey, kind="nps", text="How likely?", position=0)
    Question.objects.create(survey=survey, kind="comment", text="Why?", position=1)
    now = datetime.now(tz=ZoneInfo("UTC"))
    started = time.perf_counter()
    make_data(shop, survey, responses=args.responses, first=now - timedelta(days=730), last=now)
    with connection.cursor() as cursor:
        # A customer's four orders follow each other (bench/nps.py spreads them over the two
        # years), so that half the customers are last seen over a year ago.
        # Customer ids are consecutive: make_data inserts them in one statement.
        cursor.execute("SELECT min(id) FROM surveys_customer WHERE shop_id = %s", [shop.pk])
        first_customer = cursor.fetchone()[0]
        cursor.execute(
            "UPDATE surveys_order o SET customer_id = %(first)s + r.k FROM (SELECT id, "
            "(row_number() OVER (ORDER BY placed_at, id) - 1) / 4 AS k FROM surveys_order WHERE shop_id = %(shop)s) r "
            "WHERE o.id = r.id",
            {"shop": shop.pk, "first": first_customer},
        )
        cursor.execute(
            "UPDATE surveys_invitation i SET customer_id = o.customer_id FROM surveys_order o "
            "WHERE o.id = i.order_id AND i.shop_id = %s",
            [shop.pk],
        )
        cursor.execute(
            "UPDATE feedback_response r SET customer_id = i.customer_id FROM surveys_invitation i "
            "WHERE i.id = r.invitation_id AND r.shop_id = %s",
            [shop.pk],
        )
        # Customers were made just now; as they would have been, date each by its first order.
        cursor.execute(
            "UPDATE surveys_customer c SET created_at = o.first FROM (SELECT customer_id, min(placed_at) AS first "
            "FROM surveys_order WHERE shop_id = %s GROUP BY customer_id) o WHERE o.customer_id = c.id",
            [shop.pk],
        )
        cursor.execute(
            "INSERT INTO surveys_suppression (shop_id, channel, address, reason, detail, created_at) "
            "SELECT shop_id, 'email', email, 'unsubscribed', '', created_at FROM surveys_customer "
            "WHERE shop_id = %s AND id %% 100 = 0",
            [shop.pk],
        )
    analyse()
    print(f"made {args.responses:,} responses in {time.perf_counter() - started:.0f} s")
    span = {"since": now - timedelta(days=740), "until": now + timedelta(days=1)}
    before = nps_tally(shop, **span)
    comments = Answer.objects.filter(response__shop=shop).exclude(text="").count()

    shop.retention_months = 12
    shop.save()
    try:
        for label, moment in (("first run", now), ("next day", now + timedelta(days=1))):
            started = time.perf_counter()
            done = apply_retention(shop, now=moment, batch=args.batch)
            seconds = time.perf_counter() - started
            touched = done.answers + done.notes + done.customers + done.suppressions
            rate = f", {touched / seconds:,.0f} rows/s" if touched else ""
            print(
                f"{label}: {seconds:.1f} s: {done.answers:,} comments, {done.customers:,} customers, "
                f"{done.suppressions:,} suppressions anonymised{rate}"
            )
            shop.refresh_from_db()
        after = nps_tally(shop, **span)
        left = Answer.objects.filter(response__shop=shop).exclude(text="").count()
        print(f"comments {comments:,} → {left:,} kept; customers anonymised "
              f"{Customer.objects.filter(shop=shop, anonymised_at__isnull=False).count():,} of "
              f"{Customer.objects.filter(shop=shop).count():,}; hashed suppressions "
              f"{Suppression.objects.filter(shop=shop, address__startswith='sha256:').count():,}")  # fmt: skip
        print(f"NPS {before.score:.2f} over {before.responses:,} answers before, {after.score:.2f} over "
              f"{after.responses:,} after: {'the same' if before == after else 'DIFFERENT'}")  # fmt: skip
    finally:
        if not args.keep:
            _delete(shop, delete_data)


def _delete(shop, delete_data) -> None:  # type: ignore[no-untyped-def]
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM surveys_suppression WHERE shop_id = %s", [shop.pk])
    delete_data(shop)


if __name__ == "__main__":
    main()
