"""System checks (`manage.py check`, and before runserver and migrate) for what settings alone
cannot see: an email provider whose package is not installed fails only when the first survey
goes out, and a provider's tracking webhook without its signing key refuses every report."""

from typing import Any

from django.conf import settings
from django.core import checks
from django.utils.module_loading import import_string

# django-anymail's providers that need a package of their own, and Bazgasht's install extra for it.
PROVIDER_EXTRAS = {
    "amazon_ses": "amazon-ses",  # boto3
    "postal": "postal",  # cryptography, to verify its webhooks
    "resend": "resend",  # svix, to verify its webhooks
    "sendgrid": "sendgrid",  # cryptography, to verify signed event webhooks
}
# Providers whose tracking webhooks (bounces, complaints) are verified by a key of their own.
SIGNING_KEYS = {"mailgun": "MAILGUN_WEBHOOK_SIGNING_KEY", "postal": "POSTAL_WEBHOOK_KEY"}


def _provider(backend: str) -> str:
    # "anymail.backends.amazon_ses.EmailBackend" → "amazon_ses"
    parts = backend.split(".")
    return parts[2] if len(parts) == 4 and parts[:2] == ["anymail", "backends"] else ""


@checks.register(checks.Tags.compatibility)
def email_provider_is_installed(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    backend = settings.EMAIL_BACKEND
    provider = _provider(backend)
    problems: list[checks.CheckMessage] = []
    try:
        import_string(backend)
    except ImportError as error:
        extra = PROVIDER_EXTRAS.get(provider)
        hint = (
            f"Install Bazgasht with its {extra!r} extra: pip install -e '.[{extra}]' (see README, Email)."
            if extra
            else "Check EMAIL_BACKEND's spelling (see README, Email)."
        )
        problems.append(
            checks.Error(f"EMAIL_BACKEND={backend} cannot be loaded: {error}", hint=hint, id="bazgasht.E001")
        )
    key = SIGNING_KEYS.get(provider)
    if key and not settings.ANYMAIL.get(key):
        problems.append(
            checks.Warning(
                f"{provider}'s bounce and complaint webhook needs its signing key: without ANYMAIL_{key}, "
                "every report is refused and bounced addresses keep being surveyed.",
                hint=f"Set ANYMAIL_{key} to the key in {provider}'s dashboard (see README, Email).",
                id="bazgasht.W001",
            )
        )
    return problems
