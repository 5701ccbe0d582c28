"""The shipped analyzers on the labelled development sets in ../shared (see its README):
a guard against a change to a lexicon or a weight that quietly loses what was measured."""

from pathlib import Path

import pytest

from sentiment import engine
from sentiment.evaluation import read_labelled, score_results

DEV_SETS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "sentiment"
pytestmark = pytest.mark.skipif(not DEV_SETS.is_dir(), reason="no development sets in ../shared")


@pytest.mark.parametrize(
    ("name", "analyzer", "macro_f1"),
    [
        ("en/vader_amazonReviewSnippets_GroundTruth.txt", engine.analyze_english, 0.79),
        ("en/uci_amazon_cells_labelled.txt", engine.analyze_english, 0.92),
        ("fa/snappfood_dev.tsv", engine.analyze_persian, 0.80),
        ("fa/sentipers_original.csv", engine.analyze_persian, 0.75),
    ],
)
def test_shipped_analyzers_keep_their_dev_set_figures(name, analyzer, macro_f1):
    labelled = read_labelled(DEV_SETS / name)

    scores = score_results([analyzer(text) for text in labelled.texts], labelled.labels)

    assert scores.macro_f1 == pytest.approx(macro_f1, abs=0.01)
