import pytest

from sentiment.engine import analyze, detect_language


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Great service", "en"),
        ("ارسال خیلی دیر بود", "fa"),
        ("سفارش A-1001 خیلی دیر رسید", "fa"),
        ("12345 !!", "und"),
    ],
)
def test_detect_language_by_script(text, language):
    assert detect_language(text) == language


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("The parcel arrived broken and support never answered.", "negative"),
        ("Excellent quality, fast delivery, thank you!", "positive"),
        ("I ordered a phone.", "no_signal"),
    ],
)
def test_analyze_labels_english_comments(text, label):
    result = analyze(text)

    assert result.label == label
    assert result.language == "en"
    assert -1 <= result.polarity <= 1
    assert (result.polarity < 0) == (label == "negative")


def test_analyze_does_not_pretend_to_read_persian():
    result = analyze("بسته شکسته رسید و کسی جواب نداد")

    assert (result.label, result.polarity, result.confidence, result.language) == ("no_signal", 0.0, 0.0, "fa")
