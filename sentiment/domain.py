"""Scoring comments, tagging their themes, and learning from each shop's own customers."""

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from sentiment import engine, learned, themes
from sentiment.models import AnswerTheme, LearnedModel, SentimentScore, Theme

if TYPE_CHECKING:
    from feedback.models import Answer
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


def score_answer(answer: "Answer") -> SentimentScore:
    """Score one comment and tag its themes; scoring again replaces both."""
    shop_id = answer.response.shop_id
    result = analyze(answer.text, shop_id=shop_id)
    with transaction.atomic():
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
        AnswerTheme.objects.filter(answer=answer).delete()
        AnswerTheme.objects.bulk_create(
            AnswerTheme(answer=answer, theme=mention.theme, polarity=mention.polarity, label=mention.label)
            for mention in themes.themes_of(answer.text, vocabulary_of(shop_id))
        )
    return score


def analyze(text: str, *, shop_id: int) -> engine.Sentiment:
    """The shop's own model for the text's language when it has one that beats the analyzer."""
    model = _shop_model(shop_id, engine.detect_language(text))
    return learned.predict(model, text) if model is not None else engine.analyze(text)


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
    texts: list[str]
    positive: list[bool]


def examples_of(shop: "Shop", language: str) -> Examples:
    """The shop's comments in a language, labelled by the customer's own score.

    NPS 0–6 / CSAT 1–2 say negative, NPS 9–10 / CSAT 4–5 positive; passives teach nothing.
    """
    from feedback.models import Answer

    def lead(kind: str) -> Subquery:
        return Subquery(
            Answer.objects.filter(response=OuterRef("response"), question__kind=kind, score__isnull=False).values(
                "score"
            )[:1]
        )

    rows = (
        Answer.objects.filter(response__shop=shop, sentiment__language=language)
        .exclude(text="")
        .annotate(nps=lead("nps"), csat=lead("csat"))
        .filter(Q(nps__lte=6) | Q(nps__gte=9) | Q(nps__isnull=True, csat__lte=2) | Q(nps__isnull=True, csat__gte=4))
        .values_list("text", "nps", "csat")
    )
    texts, positive = [], []
    for text, nps, csat in rows.iterator(chunk_size=2000):
        texts.append(text)
        positive.append(nps >= 9 if nps is not None else csat >= 4)
    return Examples(texts=texts, positive=positive)


def train_shop_model(shop: "Shop", language: str, *, now: datetime | None = None) -> LearnedModel | None:
    """Train (or retrain) the shop's model for a language, if it has enough scored comments.

    The held-out figures are measured first (80% train, 20% test, seeded); the stored model
    is then trained on everything. It is used only while it beats the analyzer held out.
    """
    examples = examples_of(shop, language)
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


def needs_training(shop: "Shop", language: str) -> bool:
    """No model yet, or enough new scored comments since the last one."""
    from feedback.models import Answer

    current = LearnedModel.objects.filter(shop=shop, language=language).values_list("examples", flat=True).first()
    said = Answer.objects.filter(response__shop=shop, sentiment__language=language).exclude(text="").count()
    if current is None:
        return said >= MIN_EXAMPLES
    return said >= current * (1 + RETRAIN_GROWTH)


# --- Re-scoring history ---------------------------------------------------------------


def rescore(
    answers: "Iterator[Answer] | list[Answer]", *, progress: Callable[[int], None] | None = None
) -> tuple[int, int]:
    """Score the answers again; returns (scored, changed). `progress` hears every batch."""
    scored = changed = 0
    for answer in answers:
        before = getattr(answer, "sentiment", None)
        previous = (before.label, before.polarity, before.analyzer) if before is not None else None
        after = score_answer(answer)
        scored += 1
        changed += previous != (after.label, after.polarity, after.analyzer)
        if progress is not None and scored % 100 == 0:
            progress(scored)
    if progress is not None:
        progress(scored)
    return scored, changed


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]
