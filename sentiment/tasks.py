from celery import shared_task

from sentiment.domain import LANGUAGES, needs_training, train_shop_model
from surveys.models import Shop


@shared_task(name="sentiment.tasks.retrain_shop_models")
def retrain_shop_models() -> int:
    """Train each shop's own model per language when enough new scored comments came in."""
    trained = 0
    for shop in Shop.objects.all():
        for language in LANGUAGES:
            if needs_training(shop, language) and train_shop_model(shop, language) is not None:
                trained += 1
    return trained
