"""Sentiment scoring throughput, one process on one core: figures, not pass/fail.

    .venv/bin/python bench/sentiment.py
    .venv/bin/python bench/sentiment.py --data ../shared/data/sentiment --repeat 3

Rates are per second of the process's CPU time, so per core even on a busy machine. Reads
the labelled development sets (English and Persian customer comments, see
../shared/data/sentiment/README.md) when they are there, or else makes up comments of
similar length from a few phrases. Prints comments/s for each analyzer over the comments of
its language, each on a first pass (the Persian reader's word cache emptied first, as after
a restart) and the best of --repeat passes after that, and for the shop-learned model
(trained on half the SnappFood comments, scoring the other half with `predict_many`).

Then what each answer really runs (`sentiment.domain.read_texts`, as `read_answers` and
`rescore_sentiment` call it, without the database): the analysis, the themes with their own
sentiment and, with a shop model, the model, in batches of 500 comments. Without a shop model
over all the comments of the language; with one, trained on the first half of the language's
first set (VADER's snippets, SnappFood), over its other half, and without the model over that
same half for comparison.
"""

import argparse
import os
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

# One core: keep numpy's thread pools from using the others.
for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

FILES = {
    "en": ["en/vader_amazonReviewSnippets_GroundTruth.txt", "en/uci_amazon_cells_labelled.txt"],
    "fa": ["fa/snappfood_dev.tsv", "fa/sentipers_original.csv"],
}
MADE_UP = {
    "en": ["The parcel arrived late and the box was crushed.", "Works great, really happy with it!",
           "I wish the battery lasted longer, otherwise fine.", "It doesn't charge. Customer service never answered."],
    "fa": ["غذا خیلی خوشمزه بود، ممنون از پیک محترم", "ارسال خیلی دیر بود و غذا سرد رسید",
           "کیفیت گوشی خوبه ولی باتریش زود تموم میشه", "نوشابه نرسید و کسی هم جواب نداد"],
}  # fmt: skip


def comments(data: Path) -> tuple[dict[str, list[str]], dict[str, list[bool]], str]:
    from sentiment.evaluation import read_labelled

    texts: dict[str, list[str]] = {"en": [], "fa": []}
    labels: dict[str, list[bool]] = {"en": [], "fa": []}
    if all((data / name).is_file() for names in FILES.values() for name in names):
        for language, names in FILES.items():
            for name in names:
                labelled = read_labelled(data / name)
                texts[language] += labelled.texts
                if name == names[0]:
                    labels[language] += labelled.labels
        return texts, labels, f"the development sets in {data}"
    for language, phrases in MADE_UP.items():
        texts[language] = [f"{phrases[n % 4]} {n}" for n in range(5000)]
        labels[language] = (
            [n % 4 in (0, 2) for n in range(5000)] if language == "fa" else [n % 4 == 1 for n in range(5000)]
        )
    return texts, labels, "made-up comments (no development sets found)"


def rate(analyze: Callable[[str], object], texts: list[str]) -> float:
    """Comments per second of this process's CPU time: per core, whatever else the machine runs."""
    started = time.process_time()
    for text in texts:
        analyze(text)
    return len(texts) / (time.process_time() - started)


def path_rate(read: Callable[[list[str]], object], texts: list[str], *, batch: int = 500) -> float:
    """Comments per second of CPU time through `read`, given batches of comments as rescoring does."""
    started = time.process_time()
    for start in range(0, len(texts), batch):
        read(texts[start : start + batch])
    return len(texts) / (time.process_time() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "sentiment")
    parser.add_argument("--repeat", type=int, default=2, help="passes after the first; the best is shown")
    args = parser.parse_args()

    import django

    django.setup()
    from sentiment import domain, engine, learned, persian, themes

    texts, labels, source = comments(args.data)
    print(f"comments: {source}; {len(texts['en'])} English, {len(texts['fa'])} Persian")
    print("command:  .venv/bin/python bench/sentiment.py " + " ".join(sys.argv[1:]))
    print(f"{'analyzer':<34} {'language':<8} {'first pass':>12} {'again':>12}")
    analyzers = [
        ("TextBlob alone", engine.analyze_textblob, "en"),
        ("VADER alone", engine.analyze_vader, "en"),
        (f"English [{engine.ENGLISH_VERSION}]", engine.analyze_english, "en"),
        (f"Persian [{engine.PERSIAN_VERSION}]", engine.analyze_persian, "fa"),
        ("analyze(), shipped", engine.analyze, "en"),
        ("analyze(), shipped", engine.analyze, "fa"),
    ]
    for name, analyze, language in analyzers:
        persian._word_form.cache_clear()
        first = rate(analyze, texts[language])
        again = max(rate(analyze, texts[language]) for _ in range(max(1, args.repeat)))
        print(f"{name:<34} {language:<8} {first:8.0f} c/s {again:8.0f} c/s")

    shop_texts = texts["fa"][: len(labels["fa"])]
    half = len(shop_texts) // 2
    model = learned.train(shop_texts[:half], labels["fa"][:half])
    rest = shop_texts[half:]
    started = time.process_time()
    learned.predict_many(model, rest)
    learned_rate = len(rest) / (time.process_time() - started)
    size = len(learned.dumps(model))
    print(f"{'shop-learned model + analyzer':<34} {'fa':<8} {learned_rate:8.0f} c/s   (model: {size / 1e6:.1f} MB)")

    print(f"\n{'per-answer path (read_texts)':<34} {'language':<8} {'first pass':>12} {'again':>12}")
    words = themes.vocabulary()
    trained = {"fa": model}  # the same half of SnappFood
    for language in ("en", "fa"):
        persian._word_form.cache_clear()
        read = partial(domain.read_texts, words=words)
        first = path_rate(read, texts[language])
        again = max(path_rate(read, texts[language]) for _ in range(max(1, args.repeat)))
        print(f"{'analysis + themes':<34} {language:<8} {first:8.0f} c/s {again:8.0f} c/s")
    for language in ("en", "fa"):
        half = len(labels[language]) // 2
        shop_model = trained.get(language) or learned.train(texts[language][:half], labels[language][:half])
        held_out = texts[language][half : len(labels[language])]
        for name, model_for in (
            ("analysis + themes, same comments", None),
            ("+ shop model", {language: shop_model}.get),
        ):
            persian._word_form.cache_clear()
            read = partial(domain.read_texts, words=words, model_for=model_for)
            first = path_rate(read, held_out)
            again = max(path_rate(read, held_out) for _ in range(max(1, args.repeat)))
            print(f"{name:<34} {language:<8} {first:8.0f} c/s {again:8.0f} c/s   ({len(held_out)} held out)")


if __name__ == "__main__":
    main()
