from typing import TYPE_CHECKING

from sentiment import engine
from sentiment.models import SentimentScore

if TYPE_CHECKING:
    from feedback.models import Answer


def score_answer(answer: "Answer") -> SentimentScore:
    """Score one comment; scoring again (say, with a newer analyzer) replaces the old score."""
    result = engine.analyze(answer.text)
    score, _ = SentimentScore.objects.update_or_create(
        answer=answer,
        defaults={
            "polarity": result.polarity,
            "label": result.label,
            "confidence": result.confidence,
            "language": result.language,
            "analyzer": result.analyzer,
        },
    )
    return score
