"""Learning from a shop's own customers: the only module that imports scikit-learn.

A shop's comments, labelled positive or negative by the shop (a staff correction, say),
teach a small model its customers' words: TF-IDF over character 2–5-grams (which see
through Persian spelling variants and attached suffixes) and word 1–2-grams, then logistic
regression. At prediction time it is stacked with the shipped analyzer (`engine.analyze`):
z = a·(the model's log-odds) + b·(the analyzer's log-odds) + c, with a, b, c fitted on
out-of-fold predictions over the training comments, so a model trained on few comments
leans on the analyzer and one trained on many leans on itself.

A trained model keeps only the numbers its prediction needs (`sentiment.ngrams`): it predicts
without scikit-learn, and its bytes are plain dicts that load in milliseconds.

Plain functions; storing a model (`dumps` → bytes, e.g. in a BinaryField) and deciding
when to retrain are the caller's. `loads` unpickles: give it only bytes this application
wrote itself.
"""

import io
import json
import math
import pickle
import random
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import joblib
import numpy as np
import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline, make_pipeline, make_union

from sentiment import engine, evaluation
from sentiment.engine import Sentiment
from sentiment.evaluation import Scores, score_predictions, score_results
from sentiment.ngrams import NgramScorer
from sentiment.persian import normalize

LEARNED_VERSION = "shop-1"
MIN_PER_LABEL = 10  # fewer examples of either label than this teach nothing worth stacking
_MAGIC = b"bazgasht-sentiment-model\n"
_STACK_FOLDS = 5


class NotEnoughExamples(ValueError):
    pass


class IncompatibleModel(ValueError):
    """The bytes were written by another model format (or, for the first format, another
    scikit-learn version): retrain."""


@dataclass
class ShopModel:
    scorer: NgramScorer  # text -> log-odds of positive from the shop's own comments
    weights: tuple[float, float, float]  # stacking: model log-odds, analyzer log-odds, bias
    trained_on: int
    positives: int
    version: str = LEARNED_VERSION


@dataclass(frozen=True)
class HeldOut:
    """How a model trained on part of a labelled set did on the rest."""

    train_count: int
    test_count: int
    learned: Scores  # the shop model stacked with the analyzer, as `predict` uses it
    ngrams_alone: Scores  # the n-gram model without the analyzer
    analyzer_alone: Scores  # the shipped analyzer on the same test comments
    truth: list[bool]  # the test comments' labels, and each reading of them
    results: list[Sentiment]
    alone: list[float]
    analyses: list[Sentiment]


def train(texts: Sequence[str], labels: Sequence[bool | str], *, seed: int = 0) -> ShopModel:
    """Train on (text, label) pairs; a label is True/"positive" or False/"negative".

    Raises NotEnoughExamples with fewer than MIN_PER_LABEL comments of either label."""
    positive = [_is_positive(label) for label in labels]
    if len(texts) != len(positive):
        raise ValueError(f"{len(texts)} texts but {len(positive)} labels")
    positives = sum(positive)
    if min(positives, len(positive) - positives) < MIN_PER_LABEL:
        raise NotEnoughExamples(
            f"need {MIN_PER_LABEL} comments of each label, got {positives} positive and "
            f"{len(positive) - positives} negative"
        )
    texts = list(texts)
    pipeline = _pipeline(seed).fit(texts, positive)
    folds = StratifiedKFold(n_splits=_STACK_FOLDS, shuffle=True, random_state=seed)
    out_of_fold = cross_val_predict(_pipeline(seed), texts, positive, cv=folds, method="decision_function")
    analyzer = [_analyzer_log_odds(text) for text in texts]
    stacker = LogisticRegression().fit([[m, a] for m, a in zip(out_of_fold, analyzer, strict=True)], positive)
    weights = (float(stacker.coef_[0][0]), float(stacker.coef_[0][1]), float(stacker.intercept_[0]))
    return ShopModel(scorer=NgramScorer.of(pipeline), weights=weights, trained_on=len(texts), positives=positives)


def predict(model: ShopModel, text: str) -> Sentiment:
    return predict_many(model, [text])[0]


def predict_many(
    model: ShopModel, texts: Sequence[str], *, analyses: Sequence[Sentiment] | None = None
) -> list[Sentiment]:
    """The shop model stacked with the shipped analyzer, one result a text; `analyses` are
    `engine.analyze` of the texts when the caller has them already."""
    if not texts:
        return []
    own = model.scorer.log_odds(texts)
    bases = analyses if analyses is not None else [engine.analyze(text) for text in texts]
    results = []
    for text, model_z, base in zip(texts, own, bases, strict=True):
        if not text.strip():
            results.append(base)
            continue
        z = model.weights[0] * float(model_z) + model.weights[1] * _log_odds(base.polarity) + model.weights[2]
        polarity = round(math.tanh(z / 2), 4)
        results.append(
            Sentiment(
                polarity=polarity, label=engine.label_for(polarity), confidence=round(abs(polarity), 3),
                language=base.language, analyzer=f"{model.version}+{base.analyzer}"[:40],
            )
        )  # fmt: skip
    return results


def hold_out(texts: Sequence[str], labels: Sequence[bool], *, train_share: float = 0.5, seed: int = 0) -> HeldOut:
    """Train on a stratified, seeded share of the comments; score on the rest."""
    if not 0 < train_share < 1:
        raise ValueError("train_share must be between 0 and 1")
    by_label: dict[bool, list[int]] = {True: [], False: []}
    for index, label in enumerate(labels):
        by_label[bool(label)].append(index)
    shuffler = random.Random(seed)  # noqa: S311 - a reproducible split, not a secret
    train_rows, test_rows = [], []
    for rows in by_label.values():
        shuffler.shuffle(rows)
        cut = round(len(rows) * train_share)
        train_rows += rows[:cut]
        test_rows += rows[cut:]
    return _held_out(texts, labels, [(sorted(train_rows), sorted(test_rows))], seed=seed)


def cross_validate(texts: Sequence[str], labels: Sequence[bool], *, folds: int = 5, seed: int = 0) -> HeldOut:
    """k-fold: every comment is scored once by a model that did not see it."""
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    splits = [(list(train), list(test)) for train, test in splitter.split(list(texts), [bool(y) for y in labels])]
    return _held_out(texts, labels, splits, seed=seed)


def _held_out(
    texts: Sequence[str], labels: Sequence[bool], splits: list[tuple[list[int], list[int]]], *, seed: int
) -> HeldOut:
    parts = [
        train_and_test(
            [texts[i] for i in train_rows],
            [labels[i] for i in train_rows],
            [texts[i] for i in test_rows],
            [labels[i] for i in test_rows],
            seed=seed,
        )
        for train_rows, test_rows in splits
    ]
    truth = [label for part in parts for label in part.truth]
    stacked = [result for part in parts for result in part.results]
    alone = [polarity for part in parts for polarity in part.alone]
    analyzer = [result for part in parts for result in part.analyses]
    return _scored(sum(part.train_count for part in parts) // len(parts), truth, stacked, alone, analyzer)


def train_and_test(
    train_texts: Sequence[str], train_labels: Sequence[bool], test_texts: Sequence[str], test_labels: Sequence[bool],
    *, seed: int = 0,
) -> HeldOut:  # fmt: skip
    """A model trained on one labelled set and measured on another (`sentiment_eval --train`)."""
    model = train(train_texts, train_labels, seed=seed)
    analyses = [engine.analyze(text) for text in test_texts]
    stacked = predict_many(model, test_texts, analyses=analyses)
    alone = [math.tanh(z / 2) for z in model.scorer.log_odds(test_texts)]
    return _scored(len(train_texts), [bool(label) for label in test_labels], stacked, alone, analyses)


def _scored(
    train_count: int, truth: list[bool], stacked: list[Sentiment], alone: list[float], analyses: list[Sentiment]
) -> HeldOut:
    polarities = [result.polarity for result in stacked]
    return HeldOut(
        train_count=train_count,
        test_count=len(truth),
        learned=score_predictions([p > 0 for p in polarities], polarities, truth),
        ngrams_alone=score_predictions([p > 0 for p in alone], alone, truth),
        analyzer_alone=score_results(analyses, truth),
        truth=truth,
        results=stacked,
        alone=alone,
        analyses=analyses,
    )


# --- storing ---------------------------------------------------------------------------------


_FORMAT = 2  # 1: the whole scikit-learn pipeline through joblib, 2: the scorer's numbers


def dumps(model: ShopModel) -> bytes:
    header = {"format": _FORMAT, "version": model.version}
    payload = zlib.compress(pickle.dumps(model, protocol=5), 6)
    return _MAGIC + json.dumps(header).encode() + b"\n" + payload


def loads(data: bytes) -> ShopModel:
    """Raises IncompatibleModel for bytes of another format, or of the first format written
    by another scikit-learn version."""
    if not data.startswith(_MAGIC):
        raise IncompatibleModel("not a Bazgasht sentiment model")
    header_line, _, payload = data[len(_MAGIC) :].partition(b"\n")
    try:
        header = json.loads(header_line)
    except ValueError:
        raise IncompatibleModel("unreadable model header") from None
    if header.get("format") == _FORMAT:
        try:
            model = pickle.loads(zlib.decompress(payload))  # noqa: S301 - our own bytes
        except (zlib.error, pickle.UnpicklingError, AttributeError, EOFError) as error:
            raise IncompatibleModel(f"unreadable model: {error}") from None
    elif header.get("format") == 1 and header.get("sklearn") == sklearn.__version__:
        # Stored before models kept only their numbers: the same model, read the slow way once.
        model = joblib.load(io.BytesIO(payload))
        if isinstance(model, ShopModel) and "pipeline" in model.__dict__:
            model.scorer = NgramScorer.of(model.__dict__.pop("pipeline"))
    else:
        raise IncompatibleModel(f"model written by {header}, this is scikit-learn {sklearn.__version__}: retrain")
    if not isinstance(model, ShopModel) or not isinstance(getattr(model, "scorer", None), NgramScorer):
        raise IncompatibleModel("payload is not a ShopModel")
    return model


# --- fitting the analyzers' weights -------------------------------------------------------------


def fit_weights(
    rows: Sequence[dict[str, float]], labels: Sequence[bool], *, groups: Sequence[str] | None = None
) -> dict[str, float]:
    """Logistic-regression weights (and "bias") for feature rows such as
    `engine.english_features`; with `groups`, each group (a labelled set) weighs the same
    however many rows it has. Rounded to two decimals, as shipped in `engine`."""
    names = list(rows[0])
    matrix = [[row[name] for name in names] for row in rows]
    sizes: dict[str, int] = {}
    for group in groups or []:
        sizes[group] = sizes.get(group, 0) + 1
    sample_weight = None
    if groups is not None:
        sample_weight = [len(rows) / (len(sizes) * sizes[group]) for group in groups]
    classifier = LogisticRegression(C=1.0, max_iter=1000)
    classifier.fit(matrix, [bool(label) for label in labels], sample_weight=sample_weight)
    weights = {"bias": round(float(classifier.intercept_[0]), 2)}
    weights.update({name: round(float(value), 2) for name, value in zip(names, classifier.coef_[0], strict=True)})
    return weights


# --- internals ---------------------------------------------------------------------------------


def _pipeline(seed: int) -> Pipeline:
    characters = TfidfVectorizer(
        preprocessor=normalize, analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True,
        max_features=60_000, dtype=np.float32,
    )  # fmt: skip
    words = TfidfVectorizer(
        preprocessor=normalize, analyzer="word", ngram_range=(1, 2), sublinear_tf=True, max_features=40_000,
        dtype=np.float32, token_pattern=r"\w+",  # noqa: S106 - a regular expression, not a password
    )  # fmt: skip
    features = make_union(characters, words)
    return make_pipeline(features, LogisticRegression(C=1.0, max_iter=2000, random_state=seed))


def _is_positive(label: bool | str) -> bool:
    if isinstance(label, bool):
        return label
    if label in ("positive", "negative"):
        return label == "positive"
    raise ValueError(f"label must be positive or negative, got {label!r}")


def _analyzer_log_odds(text: str) -> float:
    return _log_odds(engine.analyze(text).polarity)


def _log_odds(polarity: float) -> float:
    """The analyzers report tanh(z / 2); this is z back."""
    return 2 * math.atanh(max(-0.9999, min(0.9999, polarity)))


def refit(fit_on: Sequence[evaluation.LabelledSet], target: evaluation.LabelledSet) -> tuple[dict[str, float], Scores]:
    """The language's weights fitted afresh on `fit_on` (each set weighing the same), and
    how they do on `target`: the cross-set check of the shipped fit. As in the shipped fit,
    comments with nothing found are left out: they are no_signal whatever the weights."""
    if any(labelled.language != target.language for labelled in fit_on):
        raise ValueError("fit on sets of the target's language")
    rows, labels, groups = [], [], []
    for index, labelled in enumerate(fit_on):
        for (features, found), label in zip(evaluation.features_of(labelled), labelled.labels, strict=True):
            if found:
                rows.append(features)
                labels.append(label)
                groups.append(labelled.name or str(index))
    weights = fit_weights(rows, labels, groups=groups)
    results = [
        engine.from_log_odds(engine.log_odds(features, weights), found, language=target.language, analyzer="refit")
        for features, found in evaluation.features_of(target)
    ]
    return weights, evaluation.score_results(results, target.labels)
