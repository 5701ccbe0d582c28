"""A general English n-gram model, learned from openly licensed labelled text and shipped as numbers.

The English analyzer's lexicons know words; what people mean by common turns of phrase
("you get what you pay for", "go for it", "look elsewhere") is learned better from labelled
text. This model is logistic regression over TF-IDF of the comment's words and word pairs
(binary counts, L2 norm), a word a negator reaches marked as such ("not_good"). It was fitted
by `bench/english_learn.py` on VADER's ground-truth tweets, movie-review snippets and NYT
editorial snippets (Hutto & Gilbert, ICWSM 2014; MIT, from the vaderSentiment source
distribution) and UCI's Amazon phone-review sentences (Kotzias et al., KDD 2015; CC BY 4.0).
VADER's Amazon review snippets were kept out of it: they measure it. Its numbers are in
`lexicons/en_learned.tsv` (`gram<TAB>idf<TAB>idf · coefficient`); no text of those sets is.

`sentiment.engine` reads its log-odds as one input of the English analyzer, beside TextBlob,
VADER and the project's own reading.
"""

import math
from functools import cache
from itertools import pairwise
from pathlib import Path

from sentiment.english import is_negator, tokenize

_FILE = Path(__file__).resolve().parent / "lexicons" / "en_learned.tsv"
_CLAUSE_END = frozenset(".,;:!?()")
_NEGATION_REACH = 3
INTERCEPT = "__intercept__"


def grams(text: str) -> list[str]:
    """The words and word pairs the model reads: lower case, punctuation left out, a word
    within three of a negator (in its clause) written "not_word"."""
    words: list[str] = []
    reach = 0
    for token in tokenize(text):
        if token in _CLAUSE_END:
            reach = 0
            continue
        if is_negator(token):
            words.append(token)
            reach = _NEGATION_REACH
            continue
        words.append(f"not_{token}" if reach else token)
        reach = max(reach - 1, 0)
    return words + [f"{first} {second}" for first, second in pairwise(words)]


@cache
def _model() -> tuple[float, dict[str, tuple[float, float]]]:
    intercept = 0.0
    terms: dict[str, tuple[float, float]] = {}
    for line in _FILE.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        gram, idf, weight = line.split("\t")
        if gram == INTERCEPT:
            intercept = float(weight)
        else:
            terms[gram] = (float(idf), float(weight))
    return intercept, terms


def evidence(text: str) -> tuple[float, bool]:
    """The model's log-odds that the text is praise, and whether it knew any of its words (if
    not, the log-odds are its intercept alone)."""
    intercept, terms = _model()
    total = norm = 0.0
    for gram in set(grams(text)):
        found = terms.get(gram)
        if found is not None:
            norm += found[0] * found[0]
            total += found[1]
    return intercept + (total / math.sqrt(norm) if norm else 0.0), norm > 0
