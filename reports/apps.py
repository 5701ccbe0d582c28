from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"

    def ready(self) -> None:
        from reports import privacy as reports_privacy
        from surveys import privacy

        privacy.register(reports_privacy.PERSONAL_DATA)
