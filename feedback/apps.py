"""Feedback's app: on start-up it registers its /metrics gauges and its part of a customer's data
(privacy hooks)."""

from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "feedback"
    verbose_name = "Feedback and follow-up"

    def ready(self) -> None:
        from config import metrics
        from feedback import privacy as feedback_privacy
        from feedback.gauges import case_gauges, response_gauges
        from surveys.customer_data import privacy

        metrics.count_from_database(response_gauges)
        metrics.count_from_database(case_gauges)
        privacy.register(feedback_privacy.PERSONAL_DATA)
