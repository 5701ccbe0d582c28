from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "feedback"
    verbose_name = "Feedback and follow-up"

    def ready(self) -> None:
        from config import metrics
        from feedback.gauges import case_gauges, response_gauges

        metrics.count_from_database(response_gauges)
        metrics.count_from_database(case_gauges)
