"""Fit the general English n-gram model (`sentiment.general_english`) and the English weights.

    .venv/bin/python bench/english_learn.py             # fit, print the weights and the checks
    .venv/bin/python bench/english_learn.py --write     # also write sentiment/lexicons/en_learned.tsv

Trains on VADER's ground-truth tweets, movie-review snippets and NYT editorial snippets (from the
vaderSentiment 3.3.2 source distribution, fetched from the package index with `pip download`
into a temporary folder unless --vader names an unpacked `hutto_ICWSM_2014` folder) and UCI's
Amazon phone sentences (../shared/data/sentiment, read there, never copied). VADER's Amazon
snippets are never trained on here. Then:
- fits `sentiment.engine.ENGLISH_GAP` (how the model's log-odds read a comment the lexical
  reading finds nothing in) on those of the same texts, the model's input out-of-fold, each
  set weighing the same, and prints it;
- measures the analyzer on VADER's Amazon snippets and on UCI (5-fold: the model and the
  weights fitted again without the fold) with lexical weights fitted here too, so that
  nothing measured was fitted on; then as shipped (the lexical weights fitted on the
  development sets, see sentiment/engine.py) on the snippets, and on their odd half with
  lexical weights fitted on the even half and UCI (bench/english_fit.py's split).
Needs scikit-learn, as `sentiment.learned` does.
"""

import argparse
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

VADER_SETS = ("tweets", "movieReviewSnippets", "nytEditorialSnippets")
OUTPUT = ROOT / "sentiment" / "lexicons" / "en_learned.tsv"
HEADER = """\
# The general English n-gram model of sentiment.general_english: gram<TAB>idf<TAB>idf x coefficient.
# Numbers fitted by bench/english_learn.py (logistic regression, C=1, balanced classes, over binary
# TF-IDF of words and word pairs, min_df 2) on labelled text that is not Bazgasht's:
#   VADER's ground-truth tweets, movie-review and NYT editorial snippets, Hutto & Gilbert,
#   "VADER: A Parsimonious Rule-based Model for Sentiment Analysis of Social Media Text",
#   ICWSM 2014 (MIT licence, vaderSentiment 3.3.2 source distribution);
#   UCI "Sentiment Labelled Sentences", Amazon part, Kotzias et al., "From Group to Individual
#   Labels using Deep Features", KDD 2015 (CC BY 4.0).
# No sentence of those sets is here, only words and pairs with the numbers fitted on them.
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "sentiment")
    parser.add_argument("--vader", type=Path, help="an unpacked hutto_ICWSM_2014 folder (else pip download)")
    parser.add_argument("--write", action="store_true", help=f"write {OUTPUT.relative_to(ROOT)}")
    args = parser.parse_args()

    import django

    django.setup()
    from sentiment.evaluation import LabelledSet, read_labelled

    folder = args.vader or _fetch_vader(Path(tempfile.mkdtemp()))
    sets = [_vader_set(folder / f"{name}_GroundTruth.txt", name, LabelledSet) for name in VADER_SETS]
    uci = read_labelled(args.data / "en" / "uci_amazon_cells_labelled.txt")
    uci.name = "UCI"
    amazon = read_labelled(args.data / "en" / "vader_amazonReviewSnippets_GroundTruth.txt")
    texts = [text for labelled in [*sets, uci] for text in labelled.texts]
    labels = [label for labelled in [*sets, uci] for label in labelled.labels]
    groups = [labelled.name for labelled in [*sets, uci] for _ in labelled.texts]
    print(f"trained on {len(texts):,} sentences: " + ", ".join(f"{s.name} {len(s.texts):,}" for s in [*sets, uci]))
    print("command: .venv/bin/python bench/english_learn.py")

    model, lexical, gap = fit(texts, labels, groups)
    print("lexical weights fitted here (not shipped): " + repr(lexical))
    print("ENGLISH_GAP = " + repr(gap))
    print(f"{'measured on':<40} {'macroF1':>7} {'AUC':>6}")
    scores = measure(model, lexical, gap, amazon.texts, amazon.labels)
    print(f"{'VADER Amazon snippets (all fitted here)':<40} {scores.macro_f1:7.3f} {scores.auc:6.3f}")
    scores = cross_validate_uci(texts, labels, groups)
    print(f"{'UCI Amazon phones (all fitted here, 5-fold)':<40} {scores.macro_f1:7.3f} {scores.auc:6.3f}")
    # As shipped: the lexical weights fitted on the development sets (sentiment.engine says how),
    # the model as fitted here, the gap weights as shipped (the fitted weight, no bias); the odd
    # half measured with lexical weights fitted on the even half and UCI (bench/english_fit.py's
    # split), never on itself.
    from bench.english_fit import VADER_FILE, _by_review
    from sentiment import engine
    from sentiment.learned import refit

    even, odd = _by_review(args.data / VADER_FILE, LabelledSet)
    for name, weights, target in [
        ("shipped weights, VADER Amazon snippets", engine.ENGLISH_WEIGHTS, amazon),
        ("even half + UCI weights, odd half", refit([even, uci], odd)[0], odd),
    ]:
        scores = measure(model, weights, engine.ENGLISH_GAP, target.texts, target.labels)
        print(f"{name:<40} {scores.macro_f1:7.3f} {scores.auc:6.3f}")
    if args.write:
        write(model)
        print(f"wrote {OUTPUT.relative_to(ROOT)}")


def _fetch_vader(into: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "vaderSentiment==3.3.2", "--no-binary", ":all:", "--no-deps",
         "-q", "-d", str(into)],
        check=True,
    )  # fmt: skip
    with tarfile.open(next(into.glob("vaderSentiment-3.3.2.tar.gz"))) as dist:
        inner = dist.extractfile("vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz")
        assert inner is not None
        with tarfile.open(fileobj=inner) as resources:
            resources.extractall(into, filter="data")
    return into / "hutto_ICWSM_2014"


def _vader_set(path: Path, name: str, labelled_set: type):
    """`id<TAB>mean<TAB>text` with the mean of human ratings -4..4; |mean| < 0.2 left out, as
    `sentiment.evaluation` does for the Amazon snippets."""
    labelled = labelled_set(name=name, format="vader", language="en")
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split("\t", 2)
        if len(parts) == 3 and abs(float(parts[1])) >= 0.2:
            labelled.texts.append(parts[2].replace("&amp;", "&"))
            labelled.labels.append(float(parts[1]) > 0)
    return labelled


def _pipeline():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from sentiment.general_english import grams

    vectorizer = TfidfVectorizer(analyzer=grams, min_df=2, binary=True)
    return make_pipeline(vectorizer, LogisticRegression(C=1.0, max_iter=3000, class_weight="balanced"))


def fit(texts: list[str], labels: list[bool], groups: list[str]):
    """The n-gram model on everything; the lexical weights on the texts the reading finds
    something in, and the gap weights on the others with the model's input out-of-fold."""
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    from sentiment import engine
    from sentiment.learned import fit_weights

    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    out_of_fold = cross_val_predict(_pipeline(), texts, labels, cv=folds, method="decision_function")
    found_rows: tuple[list, list, list] = ([], [], [])
    gap_rows: tuple[list, list, list] = ([], [], [])
    for text, label, group, learned in zip(texts, labels, groups, out_of_fold, strict=True):
        features, found = engine.english_features(text)
        rows = found_rows if found else gap_rows
        rows[0].append(features if found else engine.english_gap(text, learned=float(learned))[0])
        rows[1].append(label)
        rows[2].append(group)
    lexical = fit_weights(found_rows[0], found_rows[1], groups=found_rows[2])
    gap = fit_weights(gap_rows[0], gap_rows[1], groups=gap_rows[2])
    return _pipeline().fit(texts, labels), lexical, gap


def readings(model, lexical: dict[str, float], gap: dict[str, float], texts: list[str]) -> list:
    """engine.english_evidence's readings with this model and these weights."""
    from sentiment import engine

    results = []
    for text, learned in zip(texts, model.decision_function(texts), strict=True):
        features, found = engine.english_features(text)
        if found:
            z = engine.log_odds(features, lexical)
        else:
            inputs, found = engine.english_gap(text, learned=float(learned))
            z = engine.log_odds(inputs, gap)
        results.append(engine.from_log_odds(z, found, language="en", analyzer="fit"))
    return results


def measure(model, lexical: dict[str, float], gap: dict[str, float], texts: list[str], labels: list[bool]):
    from sentiment.evaluation import score_results

    return score_results(readings(model, lexical, gap, texts), labels)


def cross_validate_uci(texts: list[str], labels: list[bool], groups: list[str]):
    """Every UCI sentence scored once, by a model and weights fitted without its fifth."""
    from sklearn.model_selection import StratifiedKFold

    from sentiment.evaluation import score_results

    uci = [i for i, group in enumerate(groups) if group == "UCI"]
    others = [i for i, group in enumerate(groups) if group != "UCI"]
    truth, results = [], []
    for train, test in StratifiedKFold(n_splits=5, shuffle=True, random_state=0).split(uci, [labels[i] for i in uci]):
        rows = others + [uci[i] for i in train]
        model, lexical, gap = fit([texts[i] for i in rows], [labels[i] for i in rows], [groups[i] for i in rows])
        held = [uci[i] for i in test]
        results += readings(model, lexical, gap, [texts[i] for i in held])
        truth += [labels[i] for i in held]
    return score_results(results, truth)


def write(model) -> None:
    vectorizer, regression = model.steps[0][1], model.steps[-1][1]
    idf = vectorizer.idf_
    weights = idf * regression.coef_[0]
    lines = [HEADER, f"__intercept__\t0\t{regression.intercept_[0]:.5f}\n"]
    for gram, column in sorted(vectorizer.vocabulary_.items()):
        if "\t" not in gram:
            lines.append(f"{gram}\t{idf[column]:.4f}\t{weights[column]:.5f}\n")
    OUTPUT.write_text("".join(lines), encoding="utf-8")


if __name__ == "__main__":
    main()
