"""Themes with their own sentiment, shop-learned models in use, and re-scoring history."""

import random

import pytest
from django.core.management import call_command

from feedback import comments
from feedback.models import Answer
from sentiment import engine, themes
from sentiment.models import AnswerTheme, LearnedModel, SentimentScore, Theme
from tests.factories import ResponseFactory, SurveyFactory


def mentions(text, extra=None):
    return {mention.theme: mention.label for mention in themes.themes_of(text, themes.vocabulary(extra))}


def test_each_theme_gets_the_sentiment_of_its_own_words():
    assert mentions("Fast delivery, great job. But the box was crushed and the packaging awful.") == {
        "delivery": "positive",
        "packaging": "negative",
    }


def test_persian_themes_are_found_through_spelling_variants():
    # Arabic yeh, a ZWNJ and a plural suffix: still packaging and delivery to a Persian reader.
    found = mentions("ارسال خیلی سریع و عالی بود ولي بسته\u200cبندی‌ها افتضاح و داغون بود")

    assert found == {"delivery": "positive", "packaging": "negative"}


def test_a_word_inside_another_word_is_no_mention():
    assert "delivery" not in mentions("I bought the latest model and love it")


def test_a_shop_adds_its_own_theme_and_words():
    extra = {"gift_wrapping": {"en": ["gift wrap"], "fa": ["کادوپیچ"]}, "delivery": {"en": ["snapp"]}}

    assert mentions("The gift wrap was lovely", extra) == {"gift_wrapping": "positive"}
    assert "delivery" in mentions("Snapp guy was late and rude", extra)


@pytest.mark.django_db
def test_scoring_a_comment_stores_its_themes_and_scoring_again_replaces_them():
    response = ResponseFactory(score=3, comment="The courier was rude and the price too high.")
    answer = response.answers.get(question__kind="comment")
    Theme.objects.create(shop=response.shop, name="courier_manners", keywords_en="rude")

    comments.score_answer(answer)
    comments.score_answer(answer)

    assert set(AnswerTheme.objects.values_list("theme", "label")) == {
        ("delivery", "negative"),
        ("support", "negative"),
        ("courier_manners", "negative"),
        ("price", "negative"),
    }
    assert SentimentScore.objects.get(answer=answer).label == "negative"


# --- A shop's own model -------------------------------------------------------------------

# Finglish slang (Persian in Latin letters) that no lexicon knows: the shipped analyzers find
# nothing in it, which is exactly where a shop's own customers teach what the words mean.
_GOOD = ["ghol bood", "tarakundi", "harf nadasht", "tak bood", "ghol bood, harf nadasht"]
_BAD = ["dige nemikharam", "chert bood", "halam beham khord", "pashimoon shodam", "bikhial"]


def finglish_history(shop, count, seed=0):
    rng = random.Random(seed)
    survey = SurveyFactory(shop=shop)
    for _ in range(count):
        happy = rng.random() < 0.5
        comment = f"{rng.choice(_GOOD if happy else _BAD)} {rng.choice(['', '!', ' :)', ' ..'])}".strip()
        score = rng.choice([9, 10] if happy else [0, 2, 4])
        response = ResponseFactory(score=score, comment=comment, invitation__survey=survey)
        comments.score_answer(response.answers.get(question__kind="comment"))


@pytest.mark.django_db
def test_a_shop_model_needs_enough_of_its_customers_scored_comments():
    response = ResponseFactory(score=9, comment="ali bood")
    comments.score_answer(response.answers.get(question__kind="comment"))

    assert not comments.train_shop_model(response.shop, "en")
    assert not comments.needs_training(response.shop, "en")


@pytest.mark.django_db
def test_the_scheduler_trains_a_shop_model_that_reads_its_customers_and_records_how_well():
    shop = SurveyFactory().shop
    finglish_history(shop, 220)

    trained = comments.retrain_shop_models()
    model = LearnedModel.objects.get(shop=shop, language="en")
    response = ResponseFactory(score=2, comment="chert bood, pashimoon shodam", invitation__survey__shop=shop)
    score = comments.score_answer(response.answers.get(question__kind="comment"))

    assert trained == 1
    assert (model.examples, model.held_out_count) == (220, 44)
    assert model.held_out_macro_f1 > model.analyzer_macro_f1
    assert model.beats_analyzer
    assert score.label == "negative"
    assert score.analyzer.startswith("shop-1+")
    # Nothing new to learn from: the next run leaves it alone.
    assert comments.retrain_shop_models() == 0


@pytest.mark.django_db
def test_rescoring_history_reports_what_changed(capsys):
    response = ResponseFactory(score=2, comment="Terrible, the parcel was broken.")
    answer = response.answers.get(question__kind="comment")
    SentimentScore.objects.create(
        answer=answer, polarity=0.5, label="positive", confidence=0.5, language="en", analyzer="textblob-0.1"
    )

    call_command("rescore_sentiment")

    output = capsys.readouterr()
    assert "Re-scored 1 comments; 1 read differently now." in output.out
    assert "1/1 comments" in output.err
    score = SentimentScore.objects.get(answer=answer)
    assert (score.label, score.analyzer) == ("negative", engine.ENGLISH_VERSION)
    assert Answer.objects.get(pk=answer.pk).themes.filter(theme="quality").exists()
    call_command("rescore_sentiment", "--shop", response.shop.slug)
    assert "Re-scored 1 comments; 0 read differently now." in capsys.readouterr().out
