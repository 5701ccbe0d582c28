"""Reading the customers' comments: each answer's sentiment and themes (through sentiment's
analyzers), the examples a shop's own model learns from (comments labelled by the customer's
own score), retraining those models and reading history again."""

from collections.abc import Callable, Iterable
from itertools import islice

from django.db.models import OuterRef, Q, QuerySet, Subquery

from feedback.models import Answer
from sentiment import domain as sentiment
from sentiment.models import SentimentScore
from surveys.models import Shop


def score_answer(answer: Answer) -> SentimentScore:
    """Score one comment and tag its themes; scoring again replaces both."""
    return sentiment.read_answer(answer.pk, answer.text, shop_id=answer.response.shop_id)


def _commented(shop: Shop, language: str) -> Q:
    return Q(response__shop=shop, sentiment__language=language) & ~Q(text="")


def examples_of(shop: Shop, language: str) -> sentiment.Examples:
    """The shop's comments in a language, labelled by the customer's own score.

    NPS 0–6 / CSAT 1–2 say negative, NPS 9–10 / CSAT 4–5 positive; passives teach nothing.
    """

    def lead(kind: str) -> Subquery:
        return Subquery(
            Answer.objects.filter(response=OuterRef("response"), question__kind=kind, score__isnull=False).values(
                "score"
            )[:1]
        )

    rows = (
        Answer.objects.filter(_commented(shop, language))
        .annotate(nps=lead("nps"), csat=lead("csat"))
        .filter(Q(nps__lte=6) | Q(nps__gte=9) | Q(nps__isnull=True, csat__lte=2) | Q(nps__isnull=True, csat__gte=4))
        .values_list("text", "nps", "csat")
    )
    texts, positive = [], []
    for text, nps, csat in rows.iterator(chunk_size=2000):
        texts.append(text)
        positive.append(nps >= 9 if nps is not None else csat >= 4)
    return sentiment.Examples(texts=texts, positive=positive)


def needs_training(shop: Shop, language: str) -> bool:
    """No model yet, or enough new scored comments since the last one."""
    return sentiment.needs_training(shop, language, comments=Answer.objects.filter(_commented(shop, language)).count())


def train_shop_model(shop: Shop, language: str) -> bool:
    """Train the shop's model for a language from its customers' comments; whether one was stored."""
    return sentiment.train_shop_model(shop, language, examples_of(shop, language)) is not None


def retrain_shop_models() -> int:
    """Each shop's model per language, trained again where enough new scored comments came in."""
    trained = 0
    for shop in Shop.objects.all():
        for language in sentiment.LANGUAGES:
            if needs_training(shop, language) and train_shop_model(shop, language):
                trained += 1
    return trained


# Answers read together in `rescore`: each batch is one transaction, one upsert of scores and
# one model prediction per shop and language.
RESCORE_BATCH = 500


# (answer id, text, shop id, stored label, polarity and analyzer, or None where never scored)
Stored = tuple[int, str, int, str | None, float | None, str | None]


def answers_to_rescore(shop: Shop | None = None) -> QuerySet[Answer, Stored]:
    """Every comment (of one shop, or all), oldest first, as rows of only what `rescore` reads:
    plain tuples, not model instances (a third of the time of reading them went on building
    three objects a comment)."""
    answers = Answer.objects.exclude(text="").order_by("pk")
    if shop is not None:
        answers = answers.filter(response__shop=shop)
    return answers.values_list(
        "pk", "text", "response__shop_id", "sentiment__label", "sentiment__polarity", "sentiment__analyzer"
    )


def rescore(answers: Iterable[Stored], *, progress: Callable[[int], None] | None = None) -> tuple[int, int]:
    """Score the answers (rows of `answers_to_rescore`) again, in batches; returns (scored,
    changed). `progress` hears every batch."""
    scored = changed = 0
    rows = iter(answers)
    while batch := list(islice(rows, RESCORE_BATCH)):
        after = sentiment.read_answers([sentiment.Comment(pk, text, shop_id) for pk, text, shop_id, *_ in batch])
        scored += len(batch)
        changed += sum(row[3:] != (n.label, n.polarity, n.analyzer) for row, n in zip(batch, after, strict=True))
        if progress is not None:
            progress(scored)
    if progress is not None:
        progress(scored)
    return scored, changed
