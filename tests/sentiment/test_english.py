import pytest

from sentiment.english import read_cues, tokenize


def test_tokenize_writes_apostrophes_back_into_contractions():
    assert tokenize("Dont buy it, it doesn’t work!") == ["don't", "buy", "it", ",", "it", "doesn't", "work", "!"]


@pytest.mark.parametrize(
    ("text", "positive", "negative"),
    [
        ("sturdy", 1.5, 0.0),
        ("not sturdy", 0.0, 1.05),  # negation turns praise round, a little softer
        ("no complaints", 1.5, 0.0),  # a phrase beats the negator inside it
        ("very sturdy", 1.95, 0.0),
        ("slightly flimsy", 0.0, 0.9),
        ("sturdy but it broke", 0.75, 2.25),  # what follows "but" counts more
        ("don't buy", 0.0, 2.5),
    ],
)
def test_read_cues_weighs_the_customer_lexicon(text, positive, negative):
    cues = read_cues(text)

    assert (cues.positive, cues.negative) == (pytest.approx(positive), pytest.approx(negative))


def test_read_cues_counts_negators_that_reach_no_sentiment_word():
    assert read_cues("It doesn't turn on. The light never comes on").bare_negations == 2
    assert read_cues("It isn't good", sentiment_words={"good"}).bare_negations == 0
    assert read_cues("Where is my order?").questions == 1
