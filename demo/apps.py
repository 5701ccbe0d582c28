"""The demo shop's app: it has no models, only the `setup_demo` command."""

from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "demo"
    verbose_name = "Demo shop"
