"""Reading a comment for a shop (its own model when it has a good one), storing the reading of an
answer, and training a shop's model from examples it is given.

Which answers to read, and what the customers' scores teach, is feedback's knowledge
(feedback/comments.py): this app never imports feedback. Its per-answer rows refer to
feedback's Answer by the model's name only."""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import NamedTuple

from django.db import transaction
from django.utils import timezone

from sentiment import engine, learned, themes
from sentiment.models import AnswerTheme, LearnedModel, SentimentScore, Theme
from surveys.models import Shop

logger = logging.getLogger(__name__)

# A shop model needs this many of its customers' scored comments in a language (and a
# fair share of both kinds): fewer teach it the sample, not the customers.
MIN_EXAMPLES = 200
MIN_PER_LABEL = 50
# Retrain once this much more has been said since the last training.
RETRAIN_GROWTH = 0.2
LANGUAGES = ("en", "fa")


# --- Scoring ------------------------------------------------------------------------


class Comment(NamedTuple):
    """An answer's comment, with the shop whose themes and model read it."""

    answer_id: int
    text: str
    shop_id: int


@dataclass(frozen=True)
class Reading:
    """How a comment reads: its sentiment and each theme it mentions."""

    sentiment: engine.Sentiment
    themes: list[themes.ThemeMention]


def read_answer(answer_id: int, text: str, *, shop_id: int) -> SentimentScore:
    """Score one answer's comment and tag its themes; reading again replaces both."""
    return read_answers([Comment(answer_id, text, shop_id)])[0]


def read_answers(comments: Sequence[Comment]) -> list[SentimentScore]:
    """Score answers' comments and tag their themes, one score per comment; reading again
    replaces both. Each shop's comments are read together: its words and models are loaded
    once, and its model reads all the comments of its language at once.

    Side effects, in one transaction: each answer's SentimentScore is inserted or updated
    (one upsert for all) and its AnswerTheme rows replaced (one delete, one insert)."""
    by_shop: dict[int, list[Comment]] = {}
    for comment in comments:
        by_shop.setdefault(comment.shop_id, []).append(comment)
    scores: dict[int, SentimentScore] = {}
    tags: dict[int, list[AnswerTheme]] = {}
    for shop_id, shops_comments in by_shop.items():
        readings = read_texts(
            [comment.text for comment in shops_comments],
            words=vocabulary_of(shop_id),
            model_for=partial(_shop_model, shop_id),
        )
        for comment, reading in zip(shops_comments, readings, strict=True):
            result = reading.sentiment
            scores[comment.answer_id] = SentimentScore(
                answer_id=comment.answer_id, polarity=result.polarity, label=result.label,
                confidence=result.confidence, language=result.language, analyzer=result.analyzer,
            )  # fmt: skip
            tags[comment.answer_id] = [
                AnswerTheme(
                    answer_id=comment.answer_id, theme=mention.theme, polarity=mention.polarity, label=mention.label
                )
                for mention in reading.themes
            ]
    with transaction.atomic():
        SentimentScore.objects.bulk_create(
            scores.values(),
            update_conflicts=True,
            unique_fields=["answer"],
            update_fields=["polarity", "label", "confidence", "language", "analyzer", "scored_at"],
        )
        AnswerTheme.objects.filter(answer_id__in=list(tags)).delete()
        AnswerTheme.objects.bulk_create(tag for answer_tags in tags.values() for tag in answer_tags)
    return [scores[comment.answer_id] for comment in comments]


def read_texts(
    texts: Sequence[str],
    *,
    words: themes.Vocabulary,
    model_for: Callable[[str], learned.ShopModel | None] | None = None,
) -> list[Reading]:
    """Each text's sentiment and themes: the per-answer reading, without the database.
    `model_for(language)` is the shop's model for a language, if it has one that beats the
    analyzer; it is asked once a language, and reads all the texts of its language at once."""
    analyses = [engine.analyze(text) for text in texts]
    return [
        Reading(sentiment=sentiment, themes=themes.themes_of(text, words, analysis=analysis))
        for text, analysis, sentiment in zip(
            texts, analyses, _with_models(texts, analyses, model_for or _no_model), strict=True
        )
    ]


def _no_model(language: str) -> None:
    return None


def _with_models(
    texts: Sequence[str],
    analyses: list[engine.Sentiment],
    model_for: Callable[[str], learned.ShopModel | None],
) -> list[engine.Sentiment]:
    # The analyzer's language is detect_language's: the model of the text's language reads it.
    by_language: dict[str, list[int]] = {}
    for index, analysis in enumerate(analyses):
        by_language.setdefault(analysis.language, []).append(index)
    results = list(analyses)
    for language, indexes in by_language.items():
        model = model_for(language)
        if model is None:
            continue
        predicted = learned.predict_many(
            model, [texts[index] for index in indexes], analyses=[analyses[index] for index in indexes]
        )
        for index, result in zip(indexes, predicted, strict=True):
            results[index] = result
    return results


def vocabulary_of(shop_id: int) -> themes.Vocabulary:
    extra = {
        theme.name: {"en": _lines(theme.keywords_en), "fa": _lines(theme.keywords_fa)}
        for theme in Theme.objects.filter(shop_id=shop_id)
    }
    return themes.vocabulary(extra)


# Loaded models by (shop, language), with the training time they were loaded at: a worker
# unpickles a model once, and again only after it was retrained.
_loaded: dict[tuple[int, str], tuple[datetime, learned.ShopModel]] = {}


def _shop_model(shop_id: int, language: str) -> learned.ShopModel | None:
    row = (
        LearnedModel.objects.filter(shop_id=shop_id, language=language)
        .values("pk", "trained_at", "held_out_macro_f1", "analyzer_macro_f1")
        .first()
    )
    if row is None or row["held_out_macro_f1"] <= row["analyzer_macro_f1"]:
        return None
    cached = _loaded.get((shop_id, language))
    if cached is not None and cached[0] == row["trained_at"]:
        return cached[1]
    blob = LearnedModel.objects.filter(pk=row["pk"]).values_list("model", flat=True).get()
    try:
        model = learned.loads(bytes(blob))
    except learned.IncompatibleModel:
        logger.warning("shop %s's %s model was trained by another scikit-learn; retrain it", shop_id, language)
        return None
    _loaded[(shop_id, language)] = (row["trained_at"], model)
    return model


# --- Learning from the shop's customers ---------------------------------------------------


@dataclass(frozen=True)
class Examples:
    """Comments and whether each one's customer was happy."""

    texts: list[str]
    positive: list[bool]


def train_shop_model(
    shop: Shop, language: str, examples: Examples, *, now: datetime | None = None
) -> LearnedModel | None:
    """Train (or retrain) the shop's model for a language, if the examples are enough.

    The held-out figures are measured first (80% train, 20% test, seeded); the stored model
    is then trained on everything. It is used only while it beats the analyzer held out.
    """
    positives = sum(examples.positive)
    if len(examples.texts) < MIN_EXAMPLES or min(positives, len(examples.texts) - positives) < MIN_PER_LABEL:
        return None
    measured = learned.hold_out(examples.texts, examples.positive, train_share=0.8, seed=0)
    model = learned.train(examples.texts, examples.positive, seed=0)
    stored, _ = LearnedModel.objects.update_or_create(
        shop=shop,
        language=language,
        defaults={
            "trained_at": now or timezone.now(),
            "examples": len(examples.texts),
            "positives": positives,
            "held_out_count": measured.test_count,
            "held_out_accuracy": measured.learned.accuracy,
            "held_out_macro_f1": measured.learned.macro_f1,
            "analyzer_macro_f1": measured.analyzer_alone.macro_f1,
            "model": learned.dumps(model),
        },
    )
    logger.info("trained %s", stored)
    return stored


def forget_shop_models(shop: Shop, languages: set[str]) -> None:
    """Delete the shop's models for these languages (their vocabulary holds words of comments
    that were erased); the scheduler trains new ones from what is left."""
    LearnedModel.objects.filter(shop=shop, language__in=languages).delete()


def needs_training(shop: Shop, language: str, *, comments: int) -> bool:
    """No model yet, or enough new scored comments (`comments` now) since the last one."""
    current = LearnedModel.objects.filter(shop=shop, language=language).values_list("examples", flat=True).first()
    if current is None:
        return comments >= MIN_EXAMPLES
    return comments >= current * (1 + RETRAIN_GROWTH)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]
