"""How the English weights (`sentiment.engine.ENGLISH_WEIGHTS`) generalise: figures, not pass/fail.

    .venv/bin/python bench/english_fit.py
    .venv/bin/python bench/english_fit.py --data ../shared/data/sentiment

Fits the English weights as shipped (both development sets, each weighing the same) and
prints them, then macro-F1 / AUC of weights fitted on one set and measured on the other,
and a check on the lexicons as well as the weights: the VADER snippets split by review
(even-numbered reviews, the half whose mistakes were read while writing the lexicons, and
odd-numbered ones, only ever measured), weights fitted on the even half and UCI. Needs
scikit-learn (as `sentiment.learned` does); reads the sets from ../shared, never copies them.
"""

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

VADER_FILE = "en/vader_amazonReviewSnippets_GroundTruth.txt"
UCI_FILE = "en/uci_amazon_cells_labelled.txt"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "sentiment")
    args = parser.parse_args()

    import django

    django.setup()
    from sentiment import engine
    from sentiment.evaluation import LabelledSet, read_labelled, score_results
    from sentiment.learned import refit

    vader, uci = read_labelled(args.data / VADER_FILE), read_labelled(args.data / UCI_FILE)
    vader.name, uci.name = "VADER snippets", "UCI cells"
    even, odd = _by_review(args.data / VADER_FILE, LabelledSet)
    print(f"English analyzer {engine.ENGLISH_VERSION}; command: .venv/bin/python bench/english_fit.py")
    print(f"shipped weights: {_format(engine.ENGLISH_WEIGHTS)}")
    weights, _ = refit([vader, uci], vader)
    print(f"refitted:        {_format(weights)}")
    print(f"{'fitted on':<34} {'measured on':<20} {'macroF1':>7} {'AUC':>6}")
    for labelled in (vader, uci, even, odd):
        scores = score_results([engine.analyze_english(text) for text in labelled.texts], labelled.labels)
        print(f"{'shipped weights':<34} {labelled.name:<20} {scores.macro_f1:7.3f} {scores.auc:6.3f}")
    for fit_on, target in [([uci], vader), ([vader], uci), ([even, uci], even), ([even, uci], odd)]:
        _, scores = refit(fit_on, target)
        names = " + ".join(labelled.name for labelled in fit_on)
        print(f"{names:<34} {target.name:<20} {scores.macro_f1:7.3f} {scores.auc:6.3f}")


def _by_review(path: Path, labelled_set: type) -> tuple:
    """The VADER snippets (`review_sentence<TAB>mean<TAB>text`) of even- and odd-numbered
    reviews, the neutral ones (|mean| < 0.2) left out as `sentiment.evaluation` does."""
    even = labelled_set(name="VADER, even reviews", format="vader", language="en")
    odd = labelled_set(name="VADER, odd reviews", format="vader", language="en")
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        if not line.strip():
            continue
        snippet, mean, text = line.split("\t", 2)
        if abs(float(mean)) < 0.2:
            continue
        half = even if int(snippet.split("_")[0]) % 2 == 0 else odd
        half.texts.append(text)
        half.labels.append(float(mean) > 0)
    return even, odd


def _format(weights: dict[str, float]) -> str:
    return ", ".join(f"{name} {value:+.2f}" for name, value in weights.items())


if __name__ == "__main__":
    main()
