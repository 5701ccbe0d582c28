"""Sentiment's app: on start-up it registers its part of a customer's data (privacy hooks)."""

from django.apps import AppConfig


class SentimentConfig(AppConfig):
    name = "sentiment"

    def ready(self) -> None:
        from sentiment import privacy as sentiment_privacy
        from surveys.customer_data import privacy

        privacy.register(sentiment_privacy.PERSONAL_DATA)
