from django.apps import AppConfig


class SentimentConfig(AppConfig):
    name = "sentiment"

    def ready(self) -> None:
        from sentiment import privacy as sentiment_privacy
        from surveys import privacy

        privacy.register(sentiment_privacy.PERSONAL_DATA)
