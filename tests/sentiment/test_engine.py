import pytest

from sentiment import engine
from sentiment.engine import analyze, detect_language


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Great service", "en"),
        ("ارسال خیلی دیر بود", "fa"),
        ("سفارش A-1001 خیلی دیر رسید", "fa"),
        ("گوشی Samsung Galaxy خوبه", "fa"),
        ("The کباب was cold and the driver was rude", "en"),
        ("12345 !!", "und"),
        ("😍😍", "und"),
    ],
)
def test_detect_language_by_which_script_has_more_words(text, language):
    assert detect_language(text) == language


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("The parcel arrived broken and support never answered.", "negative"),
        ("Excellent quality, fast delivery, thank you!", "positive"),
        ("Works great, sturdy and well made.", "positive"),
        ("Save your money, it stopped working after a week.", "negative"),
        ("It doesn't turn on.", "negative"),
        ("Not bad at all, no complaints.", "positive"),
        ("I wish it had a longer cable.", "negative"),
        ("I have had no real problems with it.", "positive"),
        ("It is not slow or noisy.", "positive"),
        ("Too small and too loud.", "negative"),
        ("We sent it back.", "negative"),
        ("Thanks for nothing.", "negative"),
    ],
)
def test_analyze_labels_clear_english_comments(text, label):
    result = analyze(text)

    assert (result.label, result.language, result.analyzer) == (label, "en", engine.ENGLISH_VERSION)
    assert (result.polarity > 0) == (label == "positive")
    assert result.confidence == pytest.approx(abs(result.polarity), abs=1e-3)


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("غذا خیلی خوشمزه و داغ بود، ممنون", "positive"),
        ("غذا سرد بود و پیک یک ساعت دیر رسید", "negative"),
        ("اصلا راضی نیستم", "negative"),
        ("كيفيت عالي بود 👌", "positive"),  # Arabic letters, as some keyboards type them
        ("نوشابه نرسید", "negative"),
        ("هیچ مشکلی نداشت، دستتون درد نکنه", "positive"),
    ],
)
def test_analyze_labels_clear_persian_comments(text, label):
    result = analyze(text)

    assert (result.label, result.language, result.analyzer) == (label, "fa", engine.PERSIAN_VERSION)


def test_a_comment_with_nothing_to_go_on_is_no_signal_not_neutral():
    # English words the general model never saw either: a plain fact it knows is read by it.
    for text, language in [("Qwzx vbnm.", "en"), ("سفارش شماره ۱۲ را گرفتم", "fa"), ("12345", "und")]:
        result = analyze(text)

        assert (result.label, result.polarity, result.confidence, result.language) == (
            "no_signal", 0.0, 0.0, language
        )  # fmt: skip


def test_a_plain_english_fact_is_read_by_the_general_model_without_a_lean_to_praise():
    delay = analyze("It took three weeks to arrive.")
    fact = analyze("I ordered a phone.")

    assert delay.label == "negative"
    assert fact.label == "neutral"
    assert 0 < fact.polarity < 0.2


def test_analyze_reads_both_parts_of_a_mixed_comment():
    result = analyze("غذا عالی بود but the delivery was very late and the box was broken")

    assert result.language == "en"
    assert result.label == "negative"
    assert result.analyzer == f"{engine.ENGLISH_VERSION}+{engine.PERSIAN_VERSION}"


def test_analyze_reads_emoji_alone():
    assert analyze("👍👍").label == "positive"
    assert analyze("😡").label == "negative"


def test_english_reads_vader_with_the_projects_overrides_and_the_baseline_without():
    text = "I had to call tech support twice and they promised a fix."

    assert engine.analyze_vader(text).label == "positive"  # VADER as published: "support", "promised" are praise
    assert engine.analyze_english(text).label == "negative"


def test_textblob_and_vader_alone_see_nothing_in_persian():
    for baseline in (engine.analyze_textblob, engine.analyze_vader):
        result = baseline("غذا خیلی خوشمزه بود")

        assert (result.polarity, result.label) == (0.0, "no_signal")


def test_polarity_is_log_odds_through_tanh():
    positive = engine.from_log_odds(2.0, True, language="en", analyzer="x")
    negative = engine.from_log_odds(-0.2, True, language="en", analyzer="x")

    assert (positive.polarity, positive.label) == (pytest.approx(0.7616, abs=1e-4), "positive")
    assert (negative.polarity, negative.label) == (pytest.approx(-0.0997, abs=1e-4), "neutral")


def test_shipped_weights_use_every_feature_of_their_analyzer():
    english, _ = engine.english_features("fine")
    persian, _ = engine.persian_features("خوب")

    assert set(engine.ENGLISH_WEIGHTS) == {"bias", *english}
    assert set(engine.PERSIAN_WEIGHTS) == {"bias", *persian}
