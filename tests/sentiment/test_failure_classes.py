"""The ways a lexicon reader gets customers wrong (issue 21's classes), in sentences of our own:
negation that emphasises, faint praise, praise in negative words, complaints in polite ones,
Persian written apart, thanks after a complaint, delay stated plainly, and Finglish."""

import pytest

from sentiment import engine

COMPLAINTS = [
    # "never" before "so", "such" or a comparative emphasises
    "I have never been treated so badly by a shop",
    "Never had such a cold pizza in my life",
    "I've never been so disappointed with an order",
    # faint praise and comparison
    "Average at best.",
    "The burger was fair at best",
    "Really good at best, if you are not hungry",
    "I've had better from the supermarket",
    "The packaging leaves a lot to be desired",
    "Nothing special, not worth the price",
    "Mediocre at best, won't be back",
    # complaints in polite or helpful words, and sarcasm
    "Thanks for losing my parcel",
    "Thank you for the late delivery and the broken box",
    "Great service #sarcasm",
    # Persian: the negative prefix written apart, neither-nor, delay, thanks after a complaint
    "بسته بندی نا مناسب بود",
    "نه غذا گرم بود نه نوشابه سرد",
    "سفارش دو ساعت بعد رسید",
    "سه ساعت معطل شدیم",
    "یک کالای اشتباه فرستادید، ممنون",
    "غذا سرد بود. مرسی",
    # Finglish
    "ghaza sard bood va dir resid",
    "kheili bimaze bood",
    "khoob nabood",
]
PRAISE = [
    "Can't wait to order again!",
    "This shop never lets me down",
    "You won't be disappointed",
    "Never had a better steak",
    "Couldn't be happier with it",
    "Can't fault the delivery",
    "Great food, thanks!",
    "غذا عالی بود، ممنون",
    "ghaza aali bood, mamnoon",
    "kheyli khoshmaze bood",
]


@pytest.mark.parametrize("text", COMPLAINTS)
def test_complaints_read_as_complaints(text):
    result = engine.analyze(text)

    assert result.label == "negative", result


@pytest.mark.parametrize("text", PRAISE)
def test_praise_reads_as_praise(text):
    result = engine.analyze(text)

    assert result.label == "positive", result


def test_the_flag_rule_is_one_predicate_with_the_shops_default():
    from feedback.models import FlagRules

    assert FlagRules._meta.get_field("comment_polarity_at_most").default == engine.FLAG_AT_MOST
    assert engine.is_negative_comment(engine.analyze("Thanks for losing my parcel"))
    assert not engine.is_negative_comment(engine.analyze("Can't wait to order again!"))
    assert not engine.is_negative_comment(engine.Sentiment(0.0, "no_signal", 0.0, "en"))
