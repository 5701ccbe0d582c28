"""Surveys' app: on start-up it registers its system checks, the email provider's tracking signal
and its /metrics gauges."""

from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "surveys"
    verbose_name = "Shops and surveys"

    def ready(self) -> None:
        from anymail.signals import tracking

        from config import metrics
        from surveys import checks  # noqa: F401 - registers the system checks
        from surveys.gauges import invitation_gauges
        from surveys.outreach.suppressions import on_provider_tracking

        # Bounces, complaints and unsubscribes reported by the email provider's webhook.
        tracking.connect(on_provider_tracking, dispatch_uid="surveys.provider_tracking")
        metrics.count_from_database(invitation_gauges)
