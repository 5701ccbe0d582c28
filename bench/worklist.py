"""A small shop beside big ones, on PostgreSQL: the work list and the dashboard's cuts. Figures, not pass/fail.

    createdb -h 127.0.0.1 -U postgres bazgasht_bench_wl
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bazgasht_bench_wl DEBUG=false SECRET_KEY=bench HTTPS=false \\
        .venv/bin/python bench/worklist.py --cases 5000 --others 50000
    DATABASE_URL=... .venv/bin/python bench/worklist.py --cuts --responses 1000000

The work list (the default): it migrates the database, then makes a shop with --cases cases
and, beside it, shops of 10,000 cases each up to --others, every case a flagged response with
its customer, order, line, invitation, NPS answer (a comment and a theme on a third), written
by INSERT … SELECT generate_series (bench/nps.py's builder), and vacuums and analyses the
tables. Then it signs in as the small shop's agent and times GET /cases/ through Django's test
Client (the view, its queries and the template) with the default filters and with each filter
that reads another table, --runs times after one warm-up: the median and p95 of the whole
request, and the median of its SQL's time (the queries' own durations, as Django records them).
--explain prints the plans of the default page's queries (EXPLAIN ANALYZE).

--cuts: bench/nps.py's shop of --responses responses over 24 months (made as nps.py makes it,
or nps.py's own when it was left with --keep), and nps_trend over those months by product and
by value tier, as the dashboard asks for them: median and p95 of --runs after one warm-up.

It deletes its rows when done; --keep leaves them (and the next run with the same sizes
reuses them).
"""

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from bench.nps import MONTHS, analyse, delete_data, insert_select, make_data

OTHER_SHOP_CASES = 10_000
WORK_TABLES = ("feedback_followup", "sentiment_answertheme")
# The work list as an agent opens it, and with each filter that reads beyond the cases' table.
QUEUE_URLS = {
    "the queue (not closed, most urgent first)": "/cases/",
    "every status, newest first": "/cases/?status=all&sort=newest",
    "most valuable customer first": "/cases/?sort=value",
    "page 20 of every status": "/cases/?status=all&page=20",
    "overdue, nobody's": "/cases/?overdue=on&owner=none",
    "by product (SKU)": "/cases/?product=SKU-7",
    "by product (part of a name)": "/cases/?product=duct 7",
    "by theme": "/cases/?theme=delivery",
    "by language": "/cases/?language=fa",
}


def make_shop(slug: str, *, responses: int, tz: str = "Asia/Tehran") -> Any:
    """A shop (with an NPS and a comment question) and bench/nps.py's data over the last 24 months."""
    from feedback.insights.periods import Calendar, Period, periods_back
    from surveys.models import Question, Shop, Survey

    shop = Shop.objects.create(name=slug.replace("-", " ").title(), slug=slug, timezone=tz)
    survey = Survey.objects.create(shop=shop, name="bench")
    Question.objects.create(survey=survey, kind="nps", text="How likely?", position=0)
    Question.objects.create(survey=survey, kind="comment", text="Why?", position=1)
    today = datetime.now(tz=shop.tz).date()
    since = periods_back(today, MONTHS, period=Period.MONTH, calendar=Calendar.GREGORIAN)
    first = datetime.combine(since, datetime.min.time(), tzinfo=shop.tz)
    make_data(shop, survey, responses=responses, first=first, last=datetime.now(tz=shop.tz))
    return shop


def make_cases(shop: Any) -> None:
    """A case for every response of the shop (a mix of priorities, statuses, deadlines and
    spends), and the theme "delivery" on every comment."""
    from feedback.models import FollowUp
    from sentiment.models import AnswerTheme

    p: dict[str, Any] = {"shop": shop.pk}
    insert_select(
        FollowUp,
        {
            "response_id": "r.id",
            "shop_id": "%(shop)s",
            "reasons": """'["detractor"]'::jsonb""",
            "priority": "1 + r.id %% 4",
            "due_at": "now() + (r.id %% 97 - 48) * interval '1 hour'",
            "status": "(ARRAY['open','open','in_progress','waiting','resolved','no_contact'])[1 + r.id %% 6]",
            "customer_orders": "1 + r.id %% 5",
            "customer_spend": "(r.id %% 1000)::numeric",
            "created_at": "r.submitted_at",
        },
        "feedback_response r WHERE r.shop_id = %(shop)s",
        p,
    )
    insert_select(
        AnswerTheme,
        {"answer_id": "a.id", "theme": "'delivery'", "polarity": "-0.5", "label": "'negative'"},
        "feedback_answer a JOIN feedback_response r ON r.id = a.response_id "
        "WHERE r.shop_id = %(shop)s AND a.text <> ''",
        p,
    )


def delete_shop(shop: Any) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM feedback_followup WHERE shop_id = %s", [shop.pk])
        cursor.execute(
            "DELETE FROM sentiment_answertheme WHERE answer_id IN (SELECT a.id FROM feedback_answer a "
            "JOIN feedback_response r ON r.id = a.response_id WHERE r.shop_id = %s)",
            [shop.pk],
        )
    delete_data(shop)


def worklist_shops(cases: int, others: int) -> list[Any]:
    """The small shop first, then the others; made unless a run with --keep left them."""
    from surveys.models import Shop

    wanted = [(f"bench-wl-small-{cases}", cases)]
    wanted += [(f"bench-wl-other-{i}", OTHER_SHOP_CASES) for i in range(others // OTHER_SHOP_CASES)]
    shops = []
    for slug, size in wanted:
        shop = Shop.objects.filter(slug=slug).first()
        if shop is not None and shop.follow_ups.count() != size:
            delete_shop(shop)
            shop = None
        if shop is None:
            started = time.perf_counter()
            shop = make_shop(slug, responses=size)
            make_cases(shop)
            print(f"made {slug}: {size:,} cases in {time.perf_counter() - started:.0f} s")
        shops.append(shop)
    return shops


def agent_of(shop: Any) -> Any:
    from django.contrib.auth.models import User

    from surveys.models import Membership

    user, _ = User.objects.get_or_create(username=f"agent-{shop.slug}", defaults={"is_staff": True})
    Membership.objects.get_or_create(user=user, shop=shop, defaults={"role": Membership.Role.AGENT})
    return user


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def timed_request(client: Any, url: str, runs: int) -> tuple[float, float, float, int]:
    """Median and p95 of the whole request (ms), the median of its SQL's time (ms), its queries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    assert client.get(url).status_code == 200, url
    totals, sql = [], []
    count = 0
    for _ in range(runs):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url)
            totals.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, url
        sql.append(sum(float(query["time"]) for query in queries.captured_queries) * 1000)
        count = len(queries)
    return statistics.median(totals), percentile(totals, 0.95), statistics.median(sql), count


def explain_page(client: Any, url: str) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    with connection.cursor() as cursor:
        for query in queries.captured_queries:
            if not query["sql"].lstrip().upper().startswith("SELECT"):
                continue
            cursor.execute(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) {query['sql']}")
            print(f"\n-- {query['sql'][:300]}")
            print("\n".join(row[0] for row in cursor.fetchall()))


def bench_worklist(args: argparse.Namespace) -> None:
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    settings.ALLOWED_HOSTS = ["testserver"]
    shops = worklist_shops(args.cases, args.others)
    analyse()
    with connection.cursor() as cursor:
        for table in WORK_TABLES:
            cursor.execute(f"VACUUM ANALYZE {table}")
    small = shops[0]
    client = Client()
    client.force_login(agent_of(small))
    try:
        urls = dict(QUEUE_URLS)
        found = client.post("/cases/search/", {"q": "Customer 12"})
        urls["search (customer, email or order)"] = found["Location"]
        if args.explain:
            explain_page(client, "/cases/")
        figures = {name: timed_request(client, url, args.runs) for name, url in urls.items()}
    finally:
        if not args.keep:
            for shop in shops:
                delete_shop(shop)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    with connection.cursor() as cursor:
        cursor.execute("SHOW random_page_cost")
        print(f"random_page_cost = {cursor.fetchone()[0]}")
    print(
        f"database: PostgreSQL {connection.pg_version // 10000}; the agent's shop: {args.cases:,} cases, "
        f"beside {len(shops) - 1} shop(s) of {OTHER_SHOP_CASES:,}; {os.cpu_count()} CPUs, load average {load}"
    )
    print(f"GET /cases/ through Django's test Client, {args.runs} runs after one warm-up (ms)")
    print(f"{'':<44} {'median':>7} {'p95':>7} {'SQL':>7} queries")
    for name, (median, p95, sql, count) in figures.items():
        print(f"{name:<44} {median:7.1f} {p95:7.1f} {sql:7.1f} {count:4d}")


def bench_cuts(args: argparse.Namespace) -> None:
    from feedback.insights.cuts import Cut
    from feedback.insights.metrics import nps_trend
    from feedback.insights.periods import Calendar, Period, periods_back
    from surveys.models import Shop

    slug = f"bench-nps-{args.responses}"  # bench/nps.py's, so either bench reuses the other's rows
    shop = Shop.objects.filter(slug=slug).first()
    if shop is None or not shop.responses.exists():
        if shop is not None:
            delete_data(shop)
        started = time.perf_counter()
        shop = make_shop(slug, responses=args.responses)
        print(f"made {args.responses:,} responses in {time.perf_counter() - started:.0f} s")
    analyse()
    today = datetime.now(tz=ZoneInfo(shop.timezone)).date()
    since = periods_back(today, MONTHS, period=Period.MONTH, calendar=Calendar.GREGORIAN)

    def cut(by: Cut) -> Callable[[], object]:
        return lambda: nps_trend(shop, since=since, until=today, by=by)

    try:
        figures = {}
        for by in (Cut.PRODUCT, Cut.VALUE_TIER):
            cut(by)()
            times = []
            for _ in range(args.runs):
                started = time.perf_counter()
                cut(by)()
                times.append((time.perf_counter() - started) * 1000)
            figures[by] = (statistics.median(times), percentile(times, 0.95))
    finally:
        if not args.keep:
            delete_data(shop)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(
        f"shop: {slug}, {args.responses:,} responses over {MONTHS} months; {os.cpu_count()} CPUs, load average {load}"
    )
    for by, (median, p95) in figures.items():
        print(f"nps_trend by {by:<12} median {median:7.1f} ms   p95 {p95:7.1f} ms   ({args.runs} runs)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=5_000, help="the agent's shop's cases")
    parser.add_argument("--others", type=int, default=50_000, help="the other shops' cases, 10,000 a shop")
    parser.add_argument("--cuts", action="store_true", help="time the dashboard's cuts instead")
    parser.add_argument("--responses", type=int, default=1_000_000, help="with --cuts: the shop's responses")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--explain", action="store_true", help="print the default page's query plans")
    parser.add_argument("--keep", action="store_true", help="leave the rows for EXPLAIN (and the next run)")
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit("bench/worklist.py measures PostgreSQL: set DATABASE_URL")
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # the page's static tags, as served
    print(f"$ .venv/bin/python bench/worklist.py {' '.join(sys.argv[1:])}")
    if args.cuts:
        bench_cuts(args)
    else:
        bench_worklist(args)


if __name__ == "__main__":
    main()
