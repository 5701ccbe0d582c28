"""A shop model's n-gram half as it predicts: plain Python over a fitted model's numbers.

`sentiment.learned` fits TF-IDF over character 2–5-grams and word 1–2-grams, then logistic
regression, with scikit-learn. Its decision function is a sum over the n-grams a comment has:
the TF-IDF weight of each (1 + log count, times its idf, over the vector's L2 norm, for the
characters and the words apart, as the union of two vectorizers does) times the regression's
coefficient. `NgramScorer` keeps only those numbers (n-gram -> idf, idf · coefficient) and
adds them up: the same figure as `pipeline.decision_function` (to float32's rounding), in a
fraction of the time, and it loads from plain pickled dicts in milliseconds where the whole
pipeline took seconds. scikit-learn cuts every comment into n-grams and looks each up anew,
for each vectorizer; here character n-grams never cross a word, so a word's known n-grams and
their sums are worked out once and kept, and a comment adds up its words' sums and corrects
only for n-grams it has more than once.
"""

import math
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from sentiment.persian import normalize

Terms = dict[str, tuple[float, float]]  # n-gram -> (idf, idf · coefficient)


class NgramScorer:
    _WORDS_KEPT = 100_000  # a shop's vocabulary is far smaller; the cache starts afresh past it

    def __init__(
        self, *, intercept: float, char_range: tuple[int, int], word_range: tuple[int, int], word_pattern: str,
        characters: Terms, words: Terms,
    ) -> None:  # fmt: skip
        self.intercept = intercept
        self.char_range = char_range
        self.word_range = word_range
        self.word_pattern = word_pattern
        self.characters = characters
        self.words = words
        self._start()

    def _start(self) -> None:
        self._tokens = re.compile(self.word_pattern)
        # word -> (its known character n-grams, Σ idf·coefficient, Σ idf²), each counted once
        self._known_in: dict[str, tuple[tuple[str, ...], float, float]] = {}

    @classmethod
    def of(cls, pipeline: Any) -> "NgramScorer":
        """From a fitted scikit-learn pipeline: a union of a char_wb and a word TfidfVectorizer
        (sublinear tf, L2 norm, the same preprocessor, `normalize`), then a linear classifier."""
        union, regression = pipeline.steps[0][1], pipeline.steps[-1][1]
        (_, characters), (_, words) = union.transformer_list
        coefficients = regression.coef_[0]
        return cls(
            intercept=float(regression.intercept_[0]),
            char_range=tuple(characters.ngram_range), word_range=tuple(words.ngram_range),
            word_pattern=words.token_pattern,
            characters=_terms(characters, coefficients, 0),
            words=_terms(words, coefficients, len(characters.vocabulary_)),
        )  # fmt: skip

    def __getstate__(self) -> dict[str, Any]:
        # What it learned, not what it has read since: the word cache is rebuilt as it reads.
        return {key: value for key, value in self.__dict__.items() if not key.startswith("_")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._start()

    def log_odds(self, texts: Sequence[str]) -> list[float]:
        """The model's log-odds that each text is positive."""
        return [self._one(normalize(text)) for text in texts]

    def _one(self, text: str) -> float:
        return self.intercept + self._characters(text) + _weighed(self._word_grams(text), self.words)

    def _characters(self, text: str) -> float:
        total = norm = 0.0
        grams: list[str] = []
        for word in text.split():
            known = self._known_in.get(word) or self._learn_word(word)
            grams += known[0]
            total += known[1]
            norm += known[2]
        if len(set(grams)) < len(grams):  # an n-gram twice: its tf is 1 + log(count), not count
            for gram, count in Counter(grams).items():
                if count > 1:
                    idf, weight = self.characters[gram]
                    tf = 1.0 + math.log(count)
                    total += (tf - count) * weight
                    norm += (tf * tf - count) * idf * idf
        return total / math.sqrt(norm) if norm > 1e-12 else 0.0

    def _learn_word(self, word: str) -> tuple[tuple[str, ...], float, float]:
        """scikit-learn's char_wb n-grams of one word (padded with a space either side; a word
        shorter than n counted once whole) that the model knows, and their sums."""
        padded = f" {word} "
        size = len(padded)
        grams = []
        for n in range(self.char_range[0], self.char_range[1] + 1):
            if size <= n:
                grams.append(padded)
                break
            grams += [padded[i : i + n] for i in range(size - n + 1)]
        known, total, norm = [], 0.0, 0.0
        for gram in grams:
            found = self.characters.get(gram)
            if found is not None:
                known.append(gram)
                total += found[1]
                norm += found[0] * found[0]
        entry = (tuple(known), total, norm)
        if len(self._known_in) >= self._WORDS_KEPT:
            self._known_in.clear()
        self._known_in[word] = entry
        return entry

    def _word_grams(self, text: str) -> list[str]:
        tokens = self._tokens.findall(text)
        low, high = self.word_range
        grams = tokens[:] if low == 1 else []
        for n in range(max(low, 2), min(high, len(tokens)) + 1):
            grams += [" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
        return grams


def _terms(vectorizer: Any, coefficients: Any, offset: int) -> Terms:
    idf = vectorizer.idf_
    weights = (idf * coefficients[offset : offset + len(idf)]).tolist()
    idfs = idf.tolist()
    return {term: (idfs[column], weights[column]) for term, column in vectorizer.vocabulary_.items()}


def _weighed(grams: list[str], terms: Terms) -> float:
    """Σ coefficient · tf-idf over the L2 norm, with sublinear tf (1 + log count)."""
    total = norm = 0.0
    for gram, count in Counter(grams).items():
        found = terms.get(gram)
        if found is not None:
            tf = 1.0 + math.log(count)
            norm += (tf * found[0]) ** 2
            total += tf * found[1]
    return total / math.sqrt(norm) if norm else 0.0
