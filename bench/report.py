"""The monthly report at scale: time and peak memory to build and render a month's PDF.

    createdb -h 127.0.0.1 -U postgres bazgasht_bench_report
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bazgasht_bench_report DEBUG=false SECRET_KEY=bench HTTPS=false \\
        .venv/bin/python bench/report.py --sizes 1000,2500,5000,10000

For each size it makes a shop (Asia/Tehran) whose October 2026 has that many answered surveys
(an NPS answer each, a comment on six in ten with its sentiment and themes, one in five flagged
with a worked case: 2,000 flagged at 10,000), eleven months before it with a fifth as many, and
orders from returning customers; then VACUUM ANALYZE, as autovacuum would. Each report is then
made in a fresh process, as a worker makes it, in English and in Persian (right to left, Persian
digits: the slower edition to lay out), printing: building the data (the SQL), the
template, WeasyPrint's layout and its PDF writing, the pages, the file size and the process's
peak memory (ru_maxrss, the whole process: Python, Django and WeasyPrint). Target (issue 7):
10,000 answers and 2,000 flagged in under 15 s and 600 MB. The shops are deleted at the end unless --keep.
"""

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

TEHRAN = ZoneInfo("Asia/Tehran")
TABLES = ("surveys_customer", "surveys_order", "surveys_orderline", "surveys_invitation", "feedback_response",
          "feedback_answer", "feedback_followup", "sentiment_sentimentscore", "sentiment_answertheme")  # fmt: skip
MONTH = date(2026, 10, 1)
COMMENTS = {
    "detractor": [
        "The parcel arrived broken and nobody answered my emails.",
        "Delivery took three weeks, far too slow. I want a refund.",
        "Wrong size sent twice, the box was crushed. Very disappointing.",
        "بسته خراب رسید و پشتیبانی جواب نداد",
    ],
    "passive": ["It was fine, nothing special.", "Good product but the packaging was damaged.", "قیمت کمی گران بود"],
    "promoter": [
        "Great quality and fast delivery, thank you!",
        "Excellent service, I will definitely order again.",
        "کیفیت عالی و ارسال سریع، ممنون",
    ],
}
THEMES = {"detractor": ["delivery", "support", "quality"], "passive": ["packaging", "price"], "promoter": ["quality"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--sizes", default="1000,2500,5000,10000", help="answered surveys in the month, comma separated"
    )
    parser.add_argument("--keep", action="store_true", help="leave the shops in the database")
    parser.add_argument("--languages", default="en,fa", help="the editions to make: en, fa or both")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # internal: measure one shop in this process
    args = parser.parse_args()

    import django

    django.setup()
    if args.measure:
        print(json.dumps(measure(args.measure, language=args.languages)))
        return

    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    print(f"{'answers':>8} {'flagged':>8} {'edition':>7} {'data s':>7} {'html s':>7} {'layout s':>8} {'pdf s':>6} "
          f"{'total s':>8} {'pages':>6} {'MB file':>8} {'peak MB':>8}")  # fmt: skip
    slugs = []
    for size in [int(part) for part in args.sizes.split(",")]:
        slug = f"bench-report-{size}"
        slugs.append(slug)
        made = make_shop(slug, size)
        analyse()
        for language in args.languages.split(","):
            command = [sys.executable, __file__, "--measure", slug, "--languages", language]
            output = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT).stdout
            result = json.loads(output.splitlines()[-1])
            total = result["data"] + result["html"] + result["layout"] + result["pdf"]
            print(
                f"{size:>8} {made:>8} {language:>7} {result['data']:>7.2f} {result['html']:>7.2f} "
                f"{result['layout']:>8.2f} {result['pdf']:>6.2f} {total:>8.2f} {result['pages']:>6} "
                f"{result['bytes'] / 1e6:>8.2f} {result['peak_mb']:>8.0f}",
                flush=True,
            )
    print(f"load average {os.getloadavg()[0]:.2f}; command: {' '.join(sys.argv)}")
    if not args.keep:
        from surveys.models import Shop

        Shop.objects.filter(slug__in=slugs).delete()


def measure(slug: str, *, language: str) -> dict[str, float]:
    """Make the report of one shop's month in `language`, each stage timed, in this (fresh) process."""
    from django.utils import translation
    from weasyprint import HTML

    from reports.data import monthly_report_data
    from reports.pdf import _fonts_dir, report_html
    from surveys.models import Shop

    shop = Shop.objects.get(slug=slug)
    started = time.perf_counter()
    report = monthly_report_data(shop, month=MONTH, language=language)
    built = time.perf_counter()
    with translation.override(report.language):
        html = report_html(report)
    templated = time.perf_counter()
    document = HTML(string=html, base_url=f"{_fonts_dir()}/").render()
    laid_out = time.perf_counter()
    pdf = document.write_pdf()
    written = time.perf_counter()
    return {
        "data": built - started,
        "html": templated - built,
        "layout": laid_out - templated,
        "pdf": written - laid_out,
        "pages": len(document.pages),
        "bytes": len(pdf or b""),
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def make_shop(slug: str, size: int) -> int:
    """The shop and its history, written in bulk; returns how many of the month are flagged."""
    from django.db import transaction

    from feedback.models import Answer, FollowUp, Response
    from sentiment.models import AnswerTheme, SentimentScore
    from surveys.models import Customer, Invitation, Order, OrderLine, Question, Shop, Survey
    from surveys.standard_questions import add_standard_questions

    Shop.objects.filter(slug=slug).delete()
    rng = random.Random(size)
    with transaction.atomic():
        shop = Shop.objects.create(name=f"Bench shop {size}", slug=slug, timezone="Asia/Tehran", brand_color="#0f766e")
        Shop.objects.filter(pk=shop.pk).update(created_at=datetime(2024, 1, 1, tzinfo=TEHRAN))
        survey = Survey.objects.create(shop=shop, name="After purchase")
        add_standard_questions(survey)
        nps = Question.objects.get(survey=survey, kind=Question.Kind.NPS)
        comment = Question.objects.filter(survey=survey, kind=Question.Kind.COMMENT).order_by("position", "pk").first()
        customers = Customer.objects.bulk_create(
            Customer(shop=shop, email=f"c{number}@example.com", name=f"Customer {number}")
            for number in range(int(size * 0.8) + 50)
        )
        # The month's answers, and a fifth as many in each of the eleven months before.
        moments = [_moment_in(MONTH, rng) for _ in range(size)]
        for back in range(1, 12):
            first = date(MONTH.year - (MONTH.month - back <= 0), (MONTH.month - back - 1) % 12 + 1, 1)
            moments += [_moment_in(first, rng) for _ in range(size // 5)]
        orders = Order.objects.bulk_create(
            Order(
                shop=shop,
                customer=customers[min(int(rng.expovariate(1 / (len(customers) / 3))), len(customers) - 1)],
                external_id=f"B-{number}",
                total=Decimal(rng.randrange(100, 20000)) / 10,
                currency="EUR",
                placed_at=moment - timedelta(days=3),
            )
            for number, moment in enumerate(moments)
        )
        OrderLine.objects.bulk_create(
            OrderLine(order=order, sku=f"SKU-{rng.randrange(12)}", product_name=f"Product {rng.randrange(12)}")
            for order in orders
        )
        invitations = Invitation.objects.bulk_create(
            Invitation(
                shop=shop,
                customer=order.customer,
                order=order,
                survey=survey,
                status=Invitation.Status.ANSWERED,
                send_at=moment - timedelta(hours=5),
                sent_at=moment - timedelta(hours=5),
                opened_at=moment - timedelta(hours=1),
                answered_at=moment,
            )
            for order, moment in zip(orders, moments, strict=True)
        )
        responses = Response.objects.bulk_create(
            Response(
                invitation=invitation,
                shop=shop,
                survey=survey,
                customer=invitation.customer,
                submitted_at=moment,
                completed_at=moment,
            )
            for invitation, moment in zip(invitations, moments, strict=True)
        )
        scores = [rng.choices(range(11), weights=[3, 2, 2, 2, 3, 4, 5, 8, 10, 11, 10])[0] for _ in responses]
        Answer.objects.bulk_create(
            Answer(response=response, question=nps, score=score)
            for response, score in zip(responses, scores, strict=True)
        )
        commented = [(response, score) for response, score in zip(responses, scores, strict=True) if rng.random() < 0.6]
        comments = Answer.objects.bulk_create(
            Answer(response=response, question=comment, text=rng.choice(COMMENTS[_band(score)]))
            for response, score in commented
        )
        SentimentScore.objects.bulk_create(
            SentimentScore(
                answer=answer,
                polarity=(score - 5) / 5,
                label="negative" if score <= 6 else "positive" if score >= 9 else "neutral",
                confidence=0.8,
                language="en",
                analyzer="bench",
            )
            for answer, (_, score) in zip(comments, commented, strict=True)
        )
        AnswerTheme.objects.bulk_create(
            AnswerTheme(
                answer=answer,
                theme=rng.choice(THEMES[_band(score)]),
                polarity=(score - 5) / 5,
                label="negative" if score <= 6 else "positive",
            )
            for answer, (_, score) in zip(comments, commented, strict=True)
            if rng.random() < 0.7
        )
        # Flagged: a fifth of the month's answers, worked on as a support team does.
        month_responses = responses[:size]
        flagged = rng.sample(month_responses, size // 5)
        cases = []
        for response in flagged:
            case = FollowUp(
                response=response,
                shop=shop,
                reasons=["detractor", "negative_comment"] if rng.random() < 0.6 else ["detractor"],
                priority=rng.choice([1, 2, 3, 3, 4]),
                due_at=response.submitted_at + timedelta(hours=rng.choice([4, 8, 24, 72])),
                customer_orders=rng.randrange(1, 6),
                customer_spend=Decimal(rng.randrange(100, 50000)) / 10,
            )
            if rng.random() < 0.8:
                case.first_contact_at = response.submitted_at + timedelta(hours=rng.uniform(0.5, 40))
                case.status = FollowUp.Status.RESOLVED
                case.resolved_at = case.first_contact_at + timedelta(hours=rng.uniform(1, 72))
                case.resolution = rng.choice(list(FollowUp.Resolution.values))
            cases.append(case)
        made = FollowUp.objects.bulk_create(cases)
        FollowUp.objects.filter(pk__in=[case.pk for case in made]).update(created_at=_created_at_is_submitted_at())
    return len(made)


def analyse() -> None:
    """What autovacuum would do after a bulk load: fresh statistics, so the plans are the real ones."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"VACUUM ANALYZE {table}")


def _created_at_is_submitted_at():  # type: ignore[no-untyped-def]
    from django.db.models import OuterRef, Subquery

    from feedback.models import Response

    return Subquery(Response.objects.filter(pk=OuterRef("response_id")).values("submitted_at")[:1])


def _band(score: int) -> str:
    return "detractor" if score <= 6 else "passive" if score <= 8 else "promoter"


def _moment_in(first: date, rng: random.Random) -> datetime:
    return datetime(first.year, first.month, 1, tzinfo=TEHRAN) + timedelta(seconds=rng.uniform(0, 27.9 * 86400))


if __name__ == "__main__":
    main()
