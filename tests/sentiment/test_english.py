import pytest

from sentiment.english import read_cues, tokenize, with_general_words

# A stand-in for VADER's word list (-4..4), which `sentiment.engine` hands the reader.
GENERAL = with_general_words({"good": 2.0, "great": 4.0, "problems": -2.0, "die": -2.0, "no": -1.2})


def test_tokenize_writes_apostrophes_back_into_contractions():
    assert tokenize("Dont buy it, it doesn’t work!") == ["don't", "buy", "it", ",", "it", "doesn't", "work", "!"]


@pytest.mark.parametrize(
    ("text", "positive", "negative"),
    [
        ("sturdy", 1.5, 0.0),
        ("no complaints", 1.5, 0.0),  # a phrase beats the negator inside it
        ("very sturdy", 1.95, 0.0),
        ("slightly flimsy", 0.0, 0.9),
        ("sturdy but it broke", 0.75, 2.25),  # what follows "but" counts more
        ("don't buy", 0.0, 2.5),
        ("too small and too loud", 0.0, 2.0),
        ("we sent the unit back", 0.0, 2.0),
        ("i'd recommend against it", 0.0, 2.5),  # the longest phrase wins
    ],
)
def test_read_cues_weighs_the_customer_lexicon(text, positive, negative):
    cues = read_cues(text)

    assert (cues.positive, cues.negative) == (pytest.approx(positive), pytest.approx(negative))


@pytest.mark.parametrize(
    ("text", "negated_positive", "negated_negative", "balance"),
    [
        ("not sturdy", 1.5, 0.0, -1.05),  # negation turns praise round, a little softer
        ("i have had no real problems with it", 0.0, 1.5, 0.75),  # "no" negates, it is not a complaint
        ("the phone refused to die", 0.0, 1.5, 0.75),
        ("it is not slow or noisy", 0.0, 2.0, 1.0),  # the negation goes on past "or"
        ("not slow, noisy", 0.0, 1.0, -0.5),  # but not past the end of the clause
        ("it barely works", 1.0, 0.0, -0.7),  # a diminisher turns round as a negator does
        ("with very minimal problems", 0.0, 1.5, 0.75),
        ("few problems", 0.0, 1.5, 0.75),
    ],
)
def test_read_cues_turns_round_what_a_negator_reaches(text, negated_positive, negated_negative, balance):
    cues = read_cues(text, lexicon=GENERAL)

    assert (cues.negated_positive, cues.negated_negative, cues.balance) == (
        pytest.approx(negated_positive), pytest.approx(negated_negative), pytest.approx(balance)
    )  # fmt: skip


def test_a_little_and_a_few_only_soften():
    assert read_cues("a little slow").negative == pytest.approx(0.6)
    assert read_cues("a few problems", lexicon=GENERAL).negative == pytest.approx(1.5)
    assert read_cues("i rarely use the zoom").bare_negations == 0  # no complaint in it


def test_read_cues_keeps_wished_for_praise_apart():
    wish = read_cues("a bigger screen would make it great", lexicon=GENERAL)
    praise = read_cues("the bigger screen makes it great", lexicon=GENERAL)

    # What is only wished for counts a little against: the product lacks it.
    assert (wish.wanted, wish.positive, wish.balance) == (pytest.approx(3.0), 0.0, pytest.approx(-0.9))
    assert (praise.wanted, praise.positive) == (0.0, pytest.approx(3.0))


def test_general_words_sit_under_the_customer_lexicon_without_negators():
    lexicon = with_general_words({"good": 2.0, "no": -1.2, "sturdy": -4.0})

    assert lexicon.valences["good"] == pytest.approx(1.5)  # VADER's -4..4 onto -3..3
    assert lexicon.valences["sturdy"] == 1.5  # the customer lexicon's reading wins
    assert "no" not in lexicon.valences


def test_read_cues_counts_negators_that_reach_no_sentiment_word():
    assert read_cues("It doesn't turn on. The light never comes on").bare_negations == 2
    assert read_cues("It isn't good", lexicon=GENERAL).bare_negations == 0
    assert read_cues("It failed to charge").bare_negations == 1
    assert read_cues("Where is my order?").questions == 1
