import io
import json
import pickle

import joblib
import pytest
import sklearn

from sentiment import learned
from sentiment.ngrams import NgramScorer

# Finglish slang (Persian in Latin letters) that no lexicon knows, not even the analyzer's
# Finglish words: what a shop's own customers write and only a model of their comments learns.
GOOD = ["ghol bood, harf nadasht", "tak bood", "tarakundi, dametoon", "harf nadasht"]
BAD = ["chert bood", "pashimoon shodam", "halam beham khord", "dige nemikharam"]


def synthetic(count: int) -> tuple[list[str], list[bool]]:
    texts, labels = [], []
    for number in range(count):
        texts += [f"{GOOD[number % 4]} {number}", f"{BAD[number % 4]} {number}"]
        labels += [True, False]
    return texts, labels


def test_train_predict_and_round_trip_through_bytes():
    texts, labels = synthetic(30)

    model = learned.train(texts, ["positive" if label else "negative" for label in labels])
    restored = learned.loads(learned.dumps(model))

    for trained in (model, restored):
        positive, negative = learned.predict_many(trained, ["ghol bood", "chert bood o pashimoon"])
        assert (positive.label, negative.label) == ("positive", "negative")
        assert positive.analyzer == f"{learned.LEARNED_VERSION}+{learned.engine.ENGLISH_VERSION}"
        assert len(positive.analyzer) <= 40  # SentimentScore.analyzer's max_length
    assert learned.predict(restored, "aali bood") == learned.predict(model, "aali bood")
    assert (restored.trained_on, restored.positives) == (60, 30)


def test_train_needs_enough_comments_of_each_label():
    with pytest.raises(learned.NotEnoughExamples):
        learned.train(["aali"] * 20 + ["bad"] * 3, [True] * 20 + [False] * 3)
    with pytest.raises(ValueError, match="positive or negative"):
        learned.train(["x"] * 30, ["neutral"] * 30)


def test_loads_refuses_foreign_or_outdated_bytes():
    texts, labels = synthetic(15)
    data = learned.dumps(learned.train(texts, labels))
    header, _, payload = data[len(learned._MAGIC) :].partition(b"\n")
    outdated = learned._MAGIC + header.replace(b'"format": 2', b'"format": 1, "sklearn": "0.1"') + b"\n" + payload

    with pytest.raises(learned.IncompatibleModel, match="retrain"):
        learned.loads(outdated)
    with pytest.raises(learned.IncompatibleModel):
        learned.loads(b"not a model")


def test_hold_out_and_cross_validation_score_unseen_comments():
    texts, labels = synthetic(30)

    split = learned.hold_out(texts, labels, train_share=0.5, seed=1)
    folds = learned.cross_validate(texts, labels, folds=3, seed=1)

    assert (split.train_count, split.test_count) == (30, 30)
    assert (folds.train_count, folds.test_count) == (40, 60)
    for held_out in (split, folds):
        assert held_out.learned.macro_f1 > 0.9
        assert held_out.analyzer_alone.macro_f1 < 0.7  # the shipped analyzer cannot read this slang


def test_fit_weights_finds_the_signal_and_its_sign():
    rows = [{"good": 1.0, "noise": 0.3}, {"good": 0.0, "noise": 0.3}] * 20 + [{"good": 1.0, "noise": 0.0}] * 5
    labels = [True, False] * 20 + [True] * 5

    weights = learned.fit_weights(rows, labels, groups=["a", "b"] * 20 + ["c"] * 5)

    assert set(weights) == {"bias", "good", "noise"}
    assert weights["good"] > 1 > abs(weights["noise"])


def test_the_scorer_gives_the_fitted_pipelines_own_figures():
    texts, labels = synthetic(30)
    texts += ["ghol ghol ghol bood", "bood bood", "a", "", "   ", "غذا سرد سرد بود", "tak-tak bood!! 12"]
    labels += [True, True, False, False, True, False, True]
    pipeline = learned._pipeline(0).fit(texts, labels)

    scorer = NgramScorer.of(pipeline)
    restored = pickle.loads(pickle.dumps(scorer))  # noqa: S301 - its own bytes

    for each in (scorer, restored):
        assert each.log_odds(texts) == pytest.approx(list(pipeline.decision_function(texts)), abs=1e-4)


def test_models_stored_the_first_way_still_load():
    texts, labels = synthetic(15)
    model = learned.train(texts, labels)
    old = learned.ShopModel(scorer=None, weights=model.weights, trained_on=30, positives=15)
    del old.scorer
    old.__dict__["pipeline"] = learned._pipeline(0).fit(texts, labels)
    buffer = io.BytesIO()
    joblib.dump(old, buffer)
    header = json.dumps({"format": 1, "version": "shop-1", "sklearn": sklearn.__version__}).encode()

    loaded = learned.loads(learned._MAGIC + header + b"\n" + buffer.getvalue())

    assert learned.predict(loaded, "ghol bood").label == "positive"
