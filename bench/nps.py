"""NPS per month over 24 months for a shop with a million responses, on PostgreSQL: figures, not pass/fail.

    createdb -h 127.0.0.1 -U postgres bazgasht_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bazgasht_bench DEBUG=false SECRET_KEY=bench HTTPS=false \\
        .venv/bin/python bench/nps.py --responses 1000000 --rounds 3

It migrates the database, then makes a shop in Asia/Tehran with that many responses spread
evenly over the last 24 months (an NPS answer each, a comment on one in three) and their
customers, orders, order lines and invitations, written by INSERT … SELECT generate_series
(two minutes for a million), and vacuums and analyses the tables as autovacuum would.
Then, each the median (and best) of --runs after one warm-up, through the same connection:
- nps_trend(shop, 24 months, period=month): the look-up of the shop's NPS questions, the one
  query (a SELECT per month over its stretch of the answers' index, joined by UNION ALL) and
  laying out the rows, against the same query written by hand in SQL (a LATERAL join over the
  month starts; cursor.execute + fetchall): the ratio is the ORM's and Python's share;
- the same with PostgreSQL's parallel workers off, as on a machine whose cores are busy;
- the same for Jalali months;
- for comparison, the query one would write first: GROUP BY date_trunc in the shop's zone
  (Gregorian) or width_bucket over the month starts (Jalali), and the query joined to
  responses, as it had to be before answer.submitted_at (feedback 0004);
- the API, GET /api/v1/metrics/nps/trend, through Django, ninja and the key check;
- response_rate_trend over the same months (a million invitations);
- every cut (channel, language, survey, product, customer type, value tier), of 3 runs, and by
  hand the channel and customer-type cuts as they were before the response recorded them
  (feedback 0007): joined to invitations, and to orders with a look for an earlier one a row.
With --rounds N it measures N times and keeps each line's lowest median: the machine is shared,
and another's work only ever slows a figure. The load average is printed with the figures.
It deletes its rows when done; --keep leaves them (and a later run with the same
--responses reuses them), for EXPLAIN ANALYZE.
"""

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

MONTHS = 24
TABLES = ("surveys_customer", "surveys_order", "surveys_orderline", "surveys_invitation", "feedback_response",
          "feedback_answer")  # fmt: skip

# The same counts written by hand: the shop's NPS questions (their ids looked up beforehand, as
# nps_trend does, so PostgreSQL plans both with the same row estimates), each month counted over
# its own stretch of answer_scored_time_idx by a LATERAL subquery. Both calendars: the month
# bounds are passed in.
HAND_WRITTEN = """
    SELECT m.i AS month, c.promoters, c.passives, c.detractors
    FROM unnest(%(starts)s::timestamptz[], %(ends)s::timestamptz[]) WITH ORDINALITY AS m(since, until, i)
    CROSS JOIN LATERAL (
        SELECT count(*) FILTER (WHERE a.score >= 9) AS promoters,
               count(*) FILTER (WHERE a.score BETWEEN 7 AND 8) AS passives,
               count(*) FILTER (WHERE a.score <= 6) AS detractors
        FROM feedback_answer a
        WHERE a.question_id = ANY(%(questions)s) AND a.score IS NOT NULL
          AND a.submitted_at >= m.since AND a.submitted_at < m.until
    ) c
"""
# What one would write first: one pass over the range, grouped by the month of each row, by
# date_trunc in the shop's zone (Gregorian) or width_bucket over the month starts (Jalali).
GROUPED = """
    SELECT {month} AS month,
           count(*) FILTER (WHERE a.score >= 9) AS promoters,
           count(*) FILTER (WHERE a.score BETWEEN 7 AND 8) AS passives,
           count(*) FILTER (WHERE a.score <= 6) AS detractors
    FROM feedback_answer a
    WHERE a.question_id = ANY(%(questions)s) AND a.score IS NOT NULL
      AND a.submitted_at >= %(since)s AND a.submitted_at < %(until)s
    GROUP BY 1
"""
GROUPED_GREGORIAN = GROUPED.format(month="date_trunc('month', a.submitted_at AT TIME ZONE %(tz)s)")
GROUPED_JALALI = GROUPED.format(month="width_bucket(a.submitted_at, %(starts)s::timestamptz[])")
# The same without answer.submitted_at (before migration feedback 0004): answers joined to responses.
JOINED = """
    SELECT date_trunc('month', r.submitted_at AT TIME ZONE %(tz)s) AS month,
           count(*) FILTER (WHERE a.score >= 9) AS promoters,
           count(*) FILTER (WHERE a.score BETWEEN 7 AND 8) AS passives,
           count(*) FILTER (WHERE a.score <= 6) AS detractors
    FROM feedback_answer a
    JOIN feedback_response r ON r.id = a.response_id
    JOIN surveys_question q ON q.id = a.question_id
    WHERE r.shop_id = %(shop)s AND q.kind = 'nps' AND a.score IS NOT NULL
      AND r.submitted_at >= %(since)s AND r.submitted_at < %(until)s
    GROUP BY 1
"""
# Two cuts as nps_trend counted them before the response recorded their keys (feedback 0007):
# the channel from the invitation, and for the customer type the order and a look for an
# earlier order of the customer on every row.
CUT_BEFORE = """
    SELECT date_trunc('month', a.submitted_at AT TIME ZONE %(tz)s) AS month, {group} AS grp,
           count(*) FILTER (WHERE a.score >= 9) AS promoters,
           count(*) FILTER (WHERE a.score BETWEEN 7 AND 8) AS passives,
           count(*) FILTER (WHERE a.score <= 6) AS detractors
    FROM feedback_answer a
    JOIN feedback_response r ON r.id = a.response_id
    JOIN surveys_invitation i ON i.id = r.invitation_id
    {join}
    WHERE a.question_id = ANY(%(questions)s) AND a.score IS NOT NULL
      AND a.submitted_at >= %(since)s AND a.submitted_at < %(until)s
    GROUP BY 1, 2
"""
CHANNEL_BEFORE = CUT_BEFORE.format(group="i.channel", join="")
CUSTOMER_TYPE_BEFORE = CUT_BEFORE.format(
    group="EXISTS (SELECT 1 FROM surveys_order e WHERE e.customer_id = o.customer_id AND e.placed_at < o.placed_at)",
    join="JOIN surveys_order o ON o.id = i.order_id",
)


def insert_select(model: Any, columns: dict[str, str], source: str, params: dict[str, Any]) -> None:
    """INSERT INTO the model's table SELECT … FROM `source`: the SQL given for some fields,
    every other field's default (now() for auto times), so new fields with defaults need no change here."""
    from django.db import connection

    names, expressions = [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        names.append(field.column)
        if field.attname in columns:
            expressions.append(columns[field.attname])
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            expressions.append("now()")
        else:
            key = f"default_{field.column}"
            params[key] = field.get_db_prep_save(field.get_default(), connection)
            expressions.append(f"%({key})s")
    sql = f"INSERT INTO {model._meta.db_table} ({', '.join(names)}) SELECT {', '.join(expressions)} FROM {source}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def make_data(shop: Any, survey: Any, *, responses: int, first: datetime, last: datetime) -> None:
    """Customers (a quarter as many as responses), an order, line, invitation, response and NPS
    answer per response, a comment on a third; times spread evenly from `first` to `last`."""
    from django.db import connection

    from feedback.models import Answer, Response
    from surveys.models import Customer, Invitation, Order, OrderLine

    customers = max(responses // 4, 1)
    nps = survey.questions.get(kind="nps")
    comment = survey.questions.get(kind="comment")
    step = (last - first) / responses
    p = {"shop": shop.pk, "survey": survey.pk, "n": responses, "customers": customers, "first": first, "step": step}
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.42)")
    insert_select(
        Customer,
        {
            "shop_id": "%(shop)s",
            "email": "'c' || g || '@example.com'",
            "name": "'Customer ' || g",
            "language": "CASE WHEN g %% 10 < 3 THEN 'fa' ELSE 'en' END",
        },
        "generate_series(1, %(customers)s) g",
        p,
    )
    # Order g belongs to the shop's (g mod customers)-th customer.
    insert_select(
        Order,
        {
            "shop_id": "%(shop)s",
            "customer_id": "c.id",
            "external_id": "'N-' || g",
            "total": "round((10 + random() * 490)::numeric, 2)",
            "currency": "'EUR'",
            "placed_at": "%(first)s::timestamptz + %(step)s * g - interval '10 days'",
            "source": "'demo'",
        },
        "generate_series(1, %(n)s) g JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k "
        "FROM surveys_customer WHERE shop_id = %(shop)s) c ON c.k = g %% %(customers)s",
        p,
    )
    insert_select(
        OrderLine,
        {
            "order_id": "o.id",
            "sku": "'SKU-' || (o.id %% 50)",
            "product_name": "'Product ' || (o.id %% 50)",
            "quantity": "1",
            "unit_price": "o.total",
        },
        "surveys_order o WHERE o.shop_id = %(shop)s",
        p,
    )
    insert_select(
        Invitation,
        {
            "shop_id": "%(shop)s",
            "customer_id": "o.customer_id",
            "order_id": "o.id",
            "survey_id": "%(survey)s",
            "channel": "CASE WHEN o.id %% 5 = 0 THEN 'sms' ELSE 'email' END",
            "status": "'answered'",
            "send_at": "o.placed_at + interval '9 days'",
            "sent_at": "o.placed_at + interval '9 days'",
            "opened_at": "o.placed_at + interval '10 days'",
            "answered_at": "o.placed_at + interval '10 days'",
        },
        "surveys_order o WHERE o.shop_id = %(shop)s",
        p,
    )
    insert_select(
        Response,
        {
            "invitation_id": "i.id",
            "shop_id": "%(shop)s",
            "survey_id": "%(survey)s",
            "customer_id": "i.customer_id",
            "submitted_at": "i.answered_at",
            "completed_at": "i.answered_at",
            "language": "CASE WHEN i.id %% 10 < 3 THEN 'fa' ELSE 'en' END",
        },
        "surveys_invitation i WHERE i.shop_id = %(shop)s",
        p,
    )
    # Scores shaped like a real shop's: about half promoters, a fifth detractors.
    p["nps"], p["comment"] = nps.pk, comment.pk
    insert_select(
        Answer,
        {
            "response_id": "r.id",
            "question_id": "%(nps)s",
            "score": "(ARRAY[0,2,4,5,6,6,7,7,8,8,8,9,9,9,9,10,10,10,10,10])[1 + floor(random() * 20)::int]",
        },
        "feedback_response r WHERE r.shop_id = %(shop)s",
        p,
    )
    insert_select(
        Answer,
        {"response_id": "r.id", "question_id": "%(comment)s", "text": "'Fine, thanks.'"},
        "feedback_response r WHERE r.shop_id = %(shop)s AND r.id %% 3 = 0",
        p,
    )


def analyse() -> None:
    """What autovacuum would have done by now: statistics, and the visibility map that lets
    PostgreSQL answer from an index alone."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"VACUUM ANALYZE {table}")


def delete_data(shop: Any) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM feedback_answer WHERE response_id IN (SELECT id FROM feedback_response WHERE shop_id = %s)",
            [shop.pk],
        )
        for table in ("feedback_response", "surveys_invitation"):
            cursor.execute(f"DELETE FROM {table} WHERE shop_id = %s", [shop.pk])  # noqa: S608
        cursor.execute(
            "DELETE FROM surveys_orderline WHERE order_id IN (SELECT id FROM surveys_order WHERE shop_id = %s)",
            [shop.pk],
        )
        for table in ("surveys_order", "surveys_customer"):
            cursor.execute(f"DELETE FROM {table} WHERE shop_id = %s", [shop.pk])  # noqa: S608
    shop.delete()


Timing = tuple[float, float]


def timed(call: Callable[[], object], runs: int) -> Timing:
    """Median and best milliseconds of `runs` calls, after one to warm the caches."""
    call()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--rounds", type=int, default=1, help="measure this many times, keep each line's best median")
    parser.add_argument("--keep", action="store_true", help="leave the rows for EXPLAIN (and the next run)")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from feedback.insights.periods import Calendar, Period, periods_back
    from surveys.intake.api_keys import create_api_key
    from surveys.models import Question, Shop, Survey

    if connection.vendor != "postgresql":
        sys.exit("bench/nps.py measures PostgreSQL: set DATABASE_URL")
    call_command("migrate", verbosity=0)
    settings.ALLOWED_HOSTS = ["testserver"]

    slug = f"bench-nps-{args.responses}"
    shop = Shop.objects.filter(slug=slug).first()
    today = datetime.now(tz=ZoneInfo("Asia/Tehran")).date()
    since = periods_back(today, MONTHS, period=Period.MONTH, calendar=Calendar.GREGORIAN)
    if shop is None or not shop.responses.exists():
        if shop is not None:
            delete_data(shop)
        shop = Shop.objects.create(name="Bench NPS", slug=slug, timezone="Asia/Tehran")
        survey = Survey.objects.create(shop=shop, name="bench")
        Question.objects.create(survey=survey, kind="nps", text="How likely?", position=0)
        Question.objects.create(survey=survey, kind="comment", text="Why?", position=1)
        started = time.perf_counter()
        first = datetime.combine(since, datetime.min.time(), tzinfo=shop.tz)
        make_data(shop, survey, responses=args.responses, first=first, last=datetime.now(tz=shop.tz))
        print(f"made {args.responses:,} responses in {time.perf_counter() - started:.0f} s")
    analyse()
    try:
        _, key = create_api_key(shop, name="bench")
        client = Client(headers={"Authorization": f"Bearer {key}"})
        check(shop, since=since, until=today)
        rounds = [measure(shop, client, since=since, until=today, runs=args.runs) for _ in range(args.rounds)]
    finally:
        if not args.keep:
            delete_data(shop)

    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"database: PostgreSQL {connection.pg_version // 10000}, shop: {shop.slug} (Asia/Tehran), "
          f"responses: {args.responses:,}, {MONTHS} months from {since}")  # fmt: skip
    print(
        f"median (best) of {args.runs} runs (cuts: of 3), the lowest median of {args.rounds} round(s); "
        f"{os.cpu_count()} CPUs, load average {load}"
    )
    print("nps_trend's counts checked equal to the hand-written SQL's, and the cuts' to the joins they replace")
    for name in rounds[0]:
        ours = min((figures[name][0] for figures in rounds), key=lambda timing: timing[0])
        line = f"{name:<50} {ours[0]:7.1f} ms ({ours[1]:6.1f})"
        raws = [figures[name][1] for figures in rounds]
        if raws[0] is not None:
            raw = min((timing for timing in raws if timing is not None), key=lambda timing: timing[0])
            line += f"   hand-written SQL {raw[0]:7.1f} ms ({raw[1]:6.1f})   ratio {ours[0] / raw[0]:4.2f}"
        print(line)


def months(shop: Any, *, since: date, until: date, calendar: Any) -> list[Any]:
    """The months nps_trend counts: those asked for, and the one before to compare the first with."""
    from feedback.insights.periods import Period, period_spans, period_start

    lead_day = period_start(since, period=Period.MONTH, calendar=calendar) - timedelta(days=1)
    return period_spans(lead_day, until, period=Period.MONTH, calendar=calendar, tz=shop.tz)


def sql_params(shop: Any, *, since: date, until: date, calendar: Any) -> dict[str, Any]:
    from surveys.models import Question

    spans = months(shop, since=since, until=until, calendar=calendar)
    return {
        "tz": shop.timezone,
        "shop": shop.pk,
        "questions": list(Question.objects.filter(survey__shop=shop, kind="nps").values_list("pk", flat=True)),
        "since": spans[0].start,
        "until": spans[-1].end,
        "starts": [span.start for span in spans],
        "ends": [span.end for span in spans],
    }


def fetch(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def check(shop: Any, *, since: date, until: date) -> None:
    """A fast answer must be the right one: nps_trend's counts against the hand-written SQL's, in
    both calendars, and the channel and customer-type cuts against the joins they replaced."""
    from feedback.insights.cuts import Cut
    from feedback.insights.metrics import nps_trend
    from feedback.insights.periods import Calendar

    for calendar in Calendar:
        params = sql_params(shop, since=since, until=until, calendar=calendar)
        rows = nps_trend(shop, since=since, until=until, calendar=calendar)
        ours = [(row.tally.promoters, row.tally.passives, row.tally.detractors) for row in rows]
        by_hand = [tuple(found[1:]) for found in sorted(fetch(HAND_WRITTEN, params))][1:]
        assert ours == by_hand, f"{calendar}: nps_trend counted {ours}, the SQL {by_hand}"
    params = sql_params(shop, since=since, until=until, calendar=Calendar.GREGORIAN)
    for cut, sql, key in (
        (Cut.CHANNEL, CHANNEL_BEFORE, str),
        (Cut.CUSTOMER_TYPE, CUSTOMER_TYPE_BEFORE, lambda repeat: "repeat" if repeat else "first_time"),
    ):
        rows = nps_trend(shop, since=since, until=until, by=cut)
        ours_cut = {
            (row.period_start, row.group): (row.tally.promoters, row.tally.passives, row.tally.detractors)
            for row in rows
            if row.tally.responses
        }
        first = rows[0].period_start
        before = {
            (month.date(), key(group)): tuple(counts)
            for month, group, *counts in fetch(sql, params)
            if month.date() >= first
        }
        assert ours_cut == before, f"by {cut}: nps_trend counted {ours_cut}, the joins {before}"


def measure(shop: Any, client: Any, *, since: date, until: date, runs: int) -> dict[str, tuple[Timing, Timing | None]]:
    from django.db import connection

    from feedback.insights.cuts import Cut
    from feedback.insights.metrics import nps_trend, response_rate_trend
    from feedback.insights.periods import Calendar

    def hand_written(sql: str, params: dict[str, Any]) -> Callable[[], object]:
        return lambda: fetch(sql, params)

    def serial(call: Callable[[], object]) -> Callable[[], object]:
        """The call with PostgreSQL's parallel workers off: one core, as when the others are busy."""

        def run() -> object:
            with connection.cursor() as cursor:
                cursor.execute("SET max_parallel_workers_per_gather = 0")
            try:
                return call()
            finally:
                with connection.cursor() as cursor:
                    cursor.execute("RESET max_parallel_workers_per_gather")

        return run

    gregorian = sql_params(shop, since=since, until=until, calendar=Calendar.GREGORIAN)
    jalali = sql_params(shop, since=since, until=until, calendar=Calendar.JALALI)

    def gregorian_trend() -> object:
        return nps_trend(shop, since=since, until=until)

    figures: dict[str, tuple[Timing, Timing | None]] = {
        "nps_trend, Gregorian months": (
            timed(gregorian_trend, runs),
            timed(hand_written(HAND_WRITTEN, gregorian), runs),
        ),
        "nps_trend, Gregorian months, no parallel workers": (
            timed(serial(gregorian_trend), runs),
            timed(serial(hand_written(HAND_WRITTEN, gregorian)), runs),
        ),
        "nps_trend, Jalali months": (
            timed(lambda: nps_trend(shop, since=since, until=until, calendar=Calendar.JALALI), runs),
            timed(hand_written(HAND_WRITTEN, jalali), runs),
        ),
        "SQL: GROUP BY date_trunc (Gregorian)": (timed(hand_written(GROUPED_GREGORIAN, gregorian), runs), None),
        "SQL: GROUP BY width_bucket (Jalali)": (timed(hand_written(GROUPED_JALALI, jalali), runs), None),
        "SQL: joined to responses (before feedback 0004)": (timed(hand_written(JOINED, gregorian), runs), None),
        "GET /api/v1/metrics/nps/trend (Gregorian)": (
            timed(lambda: client.get(f"/api/v1/metrics/nps/trend?since={since}&until={until}"), runs),
            None,
        ),
        "response_rate_trend, Gregorian months": (
            timed(lambda: response_rate_trend(shop, since=since, until=until), runs),
            None,
        ),
    }
    for cut in Cut:
        figures[f"nps_trend by {cut}"] = (
            timed(lambda cut=cut: nps_trend(shop, since=since, until=until, by=cut), 3),
            None,
        )
    figures["SQL: by channel, before feedback 0007"] = (timed(hand_written(CHANNEL_BEFORE, gregorian), 3), None)
    figures["SQL: by customer_type, before feedback 0007"] = (
        timed(hand_written(CUSTOMER_TYPE_BEFORE, gregorian), 3),
        None,
    )
    return figures


if __name__ == "__main__":
    main()
