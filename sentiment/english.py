"""What the general English lexicons miss in shop feedback, in plain Python.

TextBlob and VADER are imported in `sentiment.engine` only. This module reads the project's
own customer-review lexicon (`lexicons/en_customer.tsv`: faults, returns, delivery, and the
wishes and warnings that mean something is wrong), with negation ("not sturdy", "no
complaints"), intensifiers ("very", "slightly") and "but" ("nice, but it broke"), and
counts what a complaint looks like when it has no sentiment word at all: a negated verb
("it doesn't turn on"), a question.
"""

import re
from collections.abc import Container
from dataclasses import dataclass

from sentiment.lexicons import load_lexicon

LEXICON = load_lexicon("en_customer.tsv")
_LONGEST_TERM = max(term.count(" ") + 1 for term in LEXICON)
_PHRASE_STARTS = frozenset(term.split()[0] for term in LEXICON if " " in term)

_TOKEN = re.compile(r"[a-z0-9]+(?:['\-][a-z]+)*|[.,;:!?()]")
_CLAUSE_END = frozenset(".,;:!?()")
# Besides these, every word ending in n't.
NEGATORS = frozenset(
    ["not", "no", "never", "nothing", "none", "nobody", "nowhere", "neither", "nor", "without", "cannot"]
)
_STRONGER = ["very", "really", "so", "extremely", "super", "incredibly", "absolutely", "totally", "completely"]
_STRONGER += ["highly", "truly", "most", "especially", "particularly", "amazingly", "exceptionally", "utterly"]
_WEAKER = ["somewhat", "slightly", "fairly", "kinda", "rather", "little", "bit", "partly", "barely", "hardly"]
BOOSTERS = {**dict.fromkeys(_STRONGER, 1.3), **dict.fromkeys(_WEAKER, 0.6)}
# How far a negator reaches, in words, and what it does to a word it reaches: "not good" is
# milder than "bad", "not bad" milder still than "good" (VADER's figures are close to these).
NEGATION_SCOPE = 3
NEGATED_POSITIVE = -0.7
NEGATED_NEGATIVE = -0.5
# After "but" the writer says what they mean: "good sound but it broke in a week".
BEFORE_BUT, AFTER_BUT = 0.5, 1.5


@dataclass(frozen=True)
class Cues:
    positive: float  # sums of the customer lexicon's valences, negation and intensity applied
    negative: float
    bare_negations: int  # negators with no sentiment word in reach: "it doesn't turn on"
    questions: int
    matches: int  # customer-lexicon terms found


def tokenize(text: str) -> list[str]:
    tokens = _TOKEN.findall(text.lower().replace("’", "'"))
    return [_CONTRACTIONS.get(token, token) for token in tokens]


# People type "dont"; the lexicon is written with the apostrophe.
_CONTRACTIONS = {
    word.replace("'", ""): word
    for word in (
        *["don't", "doesn't", "didn't", "isn't", "wasn't", "aren't", "weren't", "won't", "wouldn't"],
        *["couldn't", "shouldn't", "hasn't", "haven't", "hadn't", "can't", "ain't"],
    )
}


def is_negator(token: str) -> bool:
    return token in NEGATORS or token.endswith("n't")


def read_cues(text: str, *, sentiment_words: Container[str] = frozenset()) -> Cues:
    """Score `text` with the customer lexicon; `sentiment_words` are other lexicons' words,
    so a negator that reaches one of them is not counted as a bare negation."""
    tokens = tokenize(text)
    but_at = max((i for i, word in enumerate(tokens) if word == "but"), default=-1)
    positive = negative = 0.0
    matches = bare = 0
    negated_until = -1  # index of the last token a negator reaches
    negation_found_word = True
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token in _CLAUSE_END:
            if not negation_found_word:
                bare += 1
                negation_found_word = True
            negated_until = -1
            i += 1
            continue
        term, length = _match(tokens, i)
        if term is None and is_negator(token):
            if not negation_found_word:
                bare += 1
            negated_until, negation_found_word = i + NEGATION_SCOPE, False
            i += 1
            continue
        if term is not None:
            value = LEXICON[term]
            booster = BOOSTERS.get(tokens[i - 1], 1.0) if i else 1.0
            value *= booster
            if i <= negated_until:
                value *= NEGATED_POSITIVE if value > 0 else NEGATED_NEGATIVE
                negation_found_word = True
            if but_at >= 0:
                value *= AFTER_BUT if i > but_at else BEFORE_BUT
            if value > 0:
                positive += value
            else:
                negative -= value
            matches += 1
        elif i <= negated_until and token in sentiment_words:
            negation_found_word = True
        i += length
    if not negation_found_word:
        bare += 1
    return Cues(positive=positive, negative=negative, bare_negations=bare, questions=text.count("?"), matches=matches)


def _match(tokens: list[str], start: int) -> tuple[str | None, int]:
    longest = min(_LONGEST_TERM, len(tokens) - start) if tokens[start] in _PHRASE_STARTS else 1
    for length in range(longest, 0, -1):
        term = " ".join(tokens[start : start + length])
        if term in LEXICON:
            return term, length
    return None, 1
