"""The only module that imports a sentiment library.

Plain functions of text: no models, no database, so they are easy to measure.
"""

import re
from dataclasses import dataclass

from textblob import TextBlob

ANALYZER_VERSION = "textblob-0.1"

# Persian and Arabic letters; a comment with more of these than Latin letters is Persian.
_ARABIC_SCRIPT = re.compile(r"[\u0600-\u06FF\u0750-\u077F\uFB50-\uFDFF\uFE70-\uFEFF]")
_LATIN = re.compile(r"[A-Za-z]")

# Polarity closer to zero than this reads as neutral.
NEUTRAL_BAND = 0.1


@dataclass(frozen=True)
class Sentiment:
    polarity: float
    label: str  # negative / neutral / positive / no_signal
    confidence: float
    language: str
    analyzer: str = ANALYZER_VERSION


def detect_language(text: str) -> str:
    arabic = len(_ARABIC_SCRIPT.findall(text))
    latin = len(_LATIN.findall(text))
    if arabic == 0 and latin == 0:
        return "und"
    return "fa" if arabic > latin else "en"


def analyze(text: str) -> Sentiment:
    language = detect_language(text)
    if language != "en":
        # TextBlob knows English words only: anything else would be a confident-looking 0.
        return Sentiment(polarity=0.0, label="no_signal", confidence=0.0, language=language)
    blob_sentiment = TextBlob(text).sentiment
    polarity = float(blob_sentiment.polarity)
    if polarity == 0.0 and blob_sentiment.subjectivity == 0.0:
        # No sentiment word at all, which is not the same as a balanced comment.
        return Sentiment(polarity=0.0, label="no_signal", confidence=0.0, language=language)
    if polarity <= -NEUTRAL_BAND:
        label = "negative"
    elif polarity >= NEUTRAL_BAND:
        label = "positive"
    else:
        label = "neutral"
    return Sentiment(polarity=polarity, label=label, confidence=round(min(1.0, abs(polarity)), 3), language=language)
