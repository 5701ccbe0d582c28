"""`rescore_sentiment` throughput on PostgreSQL, with and without shop models: figures, not pass/fail.

    createdb -h 127.0.0.1 -U postgres bazgasht_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bazgasht_bench DEBUG=false SECRET_KEY=bench HTTPS=false \\
        .venv/bin/python bench/rescore.py --comments 10000

Makes a shop with that many comments (bench/nps.py's data, three responses a comment), half
English and half Persian, their texts taken in turn from the labelled development sets in
../shared/data/sentiment (read there, never copied), and runs what the command runs
(`feedback.comments.rescore` over the command's query) three times:
- the first reading (no score stored yet: every score and theme tag is inserted);
- again, every score there already (upserted, tags replaced);
- with a shop model for each language (trained, as bench/sentiment.py trains it, on the first
  half of VADER's snippets and of SnappFood, and stored as the scheduler stores it).
Prints comments per second of wall time and of this process's CPU (PostgreSQL's own CPU is
not in the second). It deletes its rows when done; --keep leaves them.
"""

import argparse
import os
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

# One core: keep numpy's thread pools from using the others.
for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--comments", type=int, default=10_000)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "sentiment")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from bench.nps import make_data
    from bench.sentiment import FILES
    from sentiment.evaluation import read_labelled
    from surveys.models import Question, Shop, Survey

    if connection.vendor != "postgresql":
        sys.exit("bench/rescore.py measures PostgreSQL: set DATABASE_URL")
    sets = {language: [read_labelled(args.data / name) for name in names] for language, names in FILES.items()}
    call_command("migrate", verbosity=0)
    slug = f"bench-rescore-{args.comments}"
    old = Shop.objects.filter(slug=slug).first()
    if old is not None:
        _delete(old)
    shop = Shop.objects.create(name="Bench rescore", slug=slug, timezone="Asia/Tehran")
    survey = Survey.objects.create(shop=shop, name="bench")
    Question.objects.create(survey=survey, kind="nps", text="How likely?", position=0)
    Question.objects.create(survey=survey, kind="comment", text="Why?", position=1)
    now = datetime.now(tz=ZoneInfo("UTC"))
    make_data(shop, survey, responses=3 * args.comments, first=now - timedelta(days=365), last=now)
    texts = {language: [text for one in labelled for text in one.texts] for language, labelled in sets.items()}
    count = _write_comments(shop, texts)
    print(f"{count:,} comments (half English, half Persian) on PostgreSQL; command: .venv/bin/python bench/rescore.py "
          f"--comments {args.comments}")  # fmt: skip
    print(f"{'run':<44} {'wall':>14} {'CPU (this process)':>22}")
    try:
        _run("first reading (nothing stored)", shop, count)
        _run("again (every score stored)", shop, count)
        _train_models(shop, sets)
        _run("with a shop model for each language", shop, count)
    finally:
        if not args.keep:
            _delete(shop)


def _write_comments(shop, texts: dict[str, list[str]]) -> int:
    from feedback.models import Answer

    answers = list(Answer.objects.filter(response__shop=shop).exclude(text="").only("pk", "text").order_by("pk"))
    languages = ("en", "fa")
    for index, answer in enumerate(answers):
        pool = texts[languages[index % 2]]
        answer.text = pool[(index // 2) % len(pool)]
    Answer.objects.bulk_update(answers, ["text"], batch_size=2000)
    return len(answers)


def _run(name: str, shop, count: int) -> None:
    from feedback.comments import answers_to_rescore, rescore

    answers = answers_to_rescore(shop)  # what rescore_sentiment --shop reads
    wall, cpu = time.perf_counter(), time.process_time()
    scored, _ = rescore(answers.iterator(chunk_size=500))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert scored == count, (scored, count)
    print(f"{name:<44} {count / wall:8,.0f} c/s {count / cpu:14,.0f} c/s")


def _train_models(shop, sets) -> None:
    from sentiment import domain

    for language, labelled in sets.items():
        first = labelled[0]
        half = len(first.texts) // 2
        examples = domain.Examples(texts=first.texts[:half], positive=first.labels[:half])
        stored = domain.train_shop_model(shop, language, examples)
        if stored is None or not stored.beats_analyzer:
            sys.exit(f"the {language} model does not beat the analyzer: nothing to measure")


def _delete(shop) -> None:
    from django.db import connection

    from bench.nps import delete_data

    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM sentiment_answertheme WHERE answer_id IN (SELECT a.id FROM feedback_answer a "
            "JOIN feedback_response r ON r.id = a.response_id WHERE r.shop_id = %s)",
            [shop.pk],
        )
        cursor.execute(
            "DELETE FROM sentiment_sentimentscore WHERE answer_id IN (SELECT a.id FROM feedback_answer a "
            "JOIN feedback_response r ON r.id = a.response_id WHERE r.shop_id = %s)",
            [shop.pk],
        )
    delete_data(shop)


if __name__ == "__main__":
    main()
