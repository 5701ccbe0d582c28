from pathlib import Path

import pytest

from sentiment import lexicons
from sentiment.lexicons import load_lexicon
from sentiment.persian import VERB_FORMS, negated_verb, normalize, read_cues, tokenize


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("كيفيت عالي", "کیفیت عالی"),  # Arabic kaf and yeh
        ("می‌کنم", "میکنم"),  # zero-width non-joiner
        ("می کنم", "میکنم"),  # the same prefix written apart
        ("نمی کنم", "نمیکنم"),
        ("بی کیفیت", "بیکیفیت"),
        ("خوشمزه ترین", "خوشمزهترین"),
        ("۱۲۳ و ٤٥", "123 و 45"),  # Persian and Arabic digits
        ("عاااالی", "عالی"),  # letters stretched for emphasis
        ("خیـــلی", "خیلی"),  # tatweel
        ("مُرَتَّب", "مرتب"),  # short vowels and shadda
        ("تأخیر آمد", "تاخیر امد"),
    ],
)
def test_normalize_gives_one_spelling(text, normalized):
    assert normalize(text) == normalized


def test_tokenize_keeps_clause_ends():
    assert tokenize(normalize("خوب بود، ولی دیر رسید!")) == ["خوب", "بود", "،", "ولی", "دیر", "رسید", "!"]


@pytest.mark.parametrize("verb", ["نبود", "نیست", "نیستم", "نمیکنم", "ندارد", "نداره", "نرسید", "نیومد", "نمیاد"])
def test_negated_verbs_are_found(verb):
    assert negated_verb(verb)


@pytest.mark.parametrize("word", ["بود", "است", "دارم", "نان", "نوشابه", "نمونه", "نرم", "نظر", "بد", "بده", "با"])
def test_other_words_are_not_negated_verbs(word):
    assert not negated_verb(word)


def test_verb_forms_map_to_infinitives():
    assert VERB_FORMS["نداشتم"] == ("داشتن", True)
    assert VERB_FORMS["میرسه"] == ("رسیدن", False)


@pytest.mark.parametrize(
    ("text", "sign"),
    [
        ("خوب بود", 1),
        ("خوب نبود", -1),  # the negated verb after the word turns it round
        ("کیفیت خوبی نداشت", -1),
        ("بد نبود", 1),
        ("دوست داشتم", 1),
        ("دوست نداشتم", -1),  # a verb phrase in the lexicon, negated
        ("پیشنهاد نمی‌کنم", -1),
        ("بدون مشکل رسید", 1),  # بدون turns round the word after it
        ("حرف نداشت", 1),  # a fixed negated phrase is praise
        ("خسته نباشید", 1),
        ("به درد نمیخوره", -1),
        ("خوب بود ولی دیر رسید", -1),  # after ولی counts more
    ],
)
def test_read_cues_handles_negation_and_contrast(text, sign):
    cues = read_cues(text)

    assert cues.matches
    assert (cues.positive - cues.negative) * sign > 0


def test_a_negated_verb_with_nothing_to_turn_round_is_a_complaint_of_its_own():
    cues = read_cues("جواب ندادن و بسته هم نیومد")

    assert (cues.bare_negations, cues.matches) == (1, 1)  # جواب ندادن is in the lexicon; نیومد is bare


def test_emphasis_and_suffixes():
    plain = read_cues("خوشمزه").positive

    assert read_cues("خیلی خوشمزه").positive > plain
    assert read_cues("نسبتا خوشمزه").positive < plain
    assert read_cues("خوشمزه‌ترین").positive == plain
    assert read_cues("غذاش خوشمزست").positive == plain  # خوشمزه + است


def test_emoji_count_as_cues():
    assert read_cues("😍😍").positive > read_cues("😍").positive > 0
    assert read_cues("غذا 😡").negative > 0


def test_words_that_only_look_like_sentiment_are_not_read_alone():
    assert read_cues("نرم افزار گوشی").silent


def test_lexicons_say_whose_work_they_are():
    for name in ("fa_customer.tsv", "en_customer.tsv", "en_vader_overrides.tsv", "emoji.tsv"):
        assert load_lexicon(name)
        header = (Path(lexicons.__file__).parent / name).read_text(encoding="utf-8")[:800]
        assert "Bazgasht's own work" in header
        assert "AGPL-3.0-or-later" in header
