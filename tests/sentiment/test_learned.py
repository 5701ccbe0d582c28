import pytest

from sentiment import learned

# Finglish (Persian in Latin letters), which neither shipped analyzer reads: what a shop's
# own customers write and only a model of their comments can learn.
GOOD = ["ghaza kheili khoshmaze bood", "mersi, aali bood", "peyk kheili mo'adab bood", "khoshmaze o dagh"]
BAD = ["ghaza sard o bimaze bood", "aftezah bood, dir resid", "peyk bad-akhlagh bood", "bimaze o sard"]


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
        positive, negative = learned.predict_many(trained, ["khoshmaze bood", "kheili sard o bimaze"])
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
    outdated = learned._MAGIC + header.replace(b'"sklearn": "', b'"sklearn": "0.') + b"\n" + payload

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
        assert held_out.analyzer_alone.macro_f1 < 0.7  # the shipped analyzer cannot read Finglish


def test_fit_weights_finds_the_signal_and_its_sign():
    rows = [{"good": 1.0, "noise": 0.3}, {"good": 0.0, "noise": 0.3}] * 20 + [{"good": 1.0, "noise": 0.0}] * 5
    labels = [True, False] * 20 + [True] * 5

    weights = learned.fit_weights(rows, labels, groups=["a", "b"] * 20 + ["c"] * 5)

    assert set(weights) == {"bias", "good", "noise"}
    assert weights["good"] > 1 > abs(weights["noise"])
