"""The shipped analyzers on the labelled development sets in ../shared (see its README):
floors, a guard against a change to a lexicon or a weight that quietly loses what was
measured (an improvement passes; raise the floor with it), and against docs/using.md
("Sentiment and themes") giving figures below those guarded here."""

import re
from pathlib import Path

import pytest

from sentiment import engine
from sentiment.evaluation import read_labelled, score_results

ROOT = Path(__file__).resolve().parents[2]
DEV_SETS = ROOT.parent / "shared" / "data" / "sentiment"
# Binary macro-F1 floors, a little under what the shipped analyzers measure.
FIGURES = [
    ("en/vader_amazonReviewSnippets_GroundTruth.txt", engine.analyze_english, 0.815),
    ("en/uci_amazon_cells_labelled.txt", engine.analyze_english, 0.92),
    ("fa/snappfood_dev.tsv", engine.analyze_persian, 0.805),
    ("fa/sentipers_original.csv", engine.analyze_persian, 0.75),
]
# Each set's row in docs/using.md's table.
ROWS = {
    "en/vader_amazonReviewSnippets_GroundTruth.txt": "Amazon review snippets (en)",
    "en/uci_amazon_cells_labelled.txt": "Amazon phone reviews (en)",
    "fa/snappfood_dev.tsv": "SnappFood (fa)",
    "fa/sentipers_original.csv": "SentiPers (fa)",
}


@pytest.mark.skipif(not DEV_SETS.is_dir(), reason="no development sets in ../shared")
@pytest.mark.parametrize(("name", "analyzer", "macro_f1"), FIGURES)
def test_shipped_analyzers_stay_above_their_dev_set_floors(name, analyzer, macro_f1):
    labelled = read_labelled(DEV_SETS / name)

    scores = score_results([analyzer(text) for text in labelled.texts], labelled.labels)

    assert scores.macro_f1 >= macro_f1


@pytest.mark.parametrize(("name", "analyzer", "macro_f1"), FIGURES)
def test_the_documented_figures_are_above_the_floors(name, analyzer, macro_f1):
    using = (ROOT / "docs" / "using.md").read_text()
    [row] = [line for line in using.splitlines() if line.startswith(f"| {ROWS[name]} |")]
    shipped = row.split("|")[4]  # set, TextBlob, VADER, shipped, shop model

    assert macro_f1 <= float(re.sub(r"[^\d.]", "", shipped)) < macro_f1 + 0.05
