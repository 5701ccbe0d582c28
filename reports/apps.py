"""Reports' app: on start-up it registers its part of a customer's data (privacy hooks)."""

from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"

    def ready(self) -> None:
        from reports import privacy as reports_privacy
        from surveys.customer_data import privacy

        privacy.register(reports_privacy.PERSONAL_DATA)
