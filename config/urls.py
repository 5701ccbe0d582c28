"""The URLs: the API, the admin, health and metrics, and each app's pages (the only module besides
config/api.py that imports the apps)."""

import warnings

from anymail import urls as anymail_urls
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import ImproperlyConfigured
from django.urls import URLPattern, include, path
from django.utils.translation import gettext_lazy as _

from config import health, metrics
from config.api import api
from feedback.accounts import views as signin_views


def _usable(pattern: URLPattern) -> bool:
    """Whether an email provider's webhook view can run with these settings (its own signing
    secret, boto3 for Amazon SES): one that cannot answered every request with a 500."""
    view = pattern.callback
    try:
        with warnings.catch_warnings():  # a provider's notices ("support dropped") are for its requests
            warnings.simplefilter("ignore")
            # as_view() puts these on the function it returns; the stubs type a callback as a bare callable.
            view.view_class(**view.view_initkwargs)  # type: ignore[attr-defined]
    except ImproperlyConfigured:  # Anymail's configuration errors, a missing boto3 included
        return False
    return True


# Only the providers' tracking webhooks (Bazgasht reads no inbound mail) that can run; not the
# deprecated "sendinblue" alias of Brevo's.
provider_webhooks = [
    pattern
    for pattern in anymail_urls.urlpatterns
    if isinstance(pattern, URLPattern)
    and str(pattern.name).endswith("tracking_webhook")
    and not str(pattern.name).startswith("sendinblue")
    and _usable(pattern)
    # Mandrill's view reads its key only when a request comes, so it is checked here.
    and (not str(pattern.name).startswith("mandrill") or "MANDRILL_WEBHOOK_KEY" in settings.ANYMAIL)
]

# The admin is Bazgasht's: its own name, and "View site" going to the work list.
admin.site.site_header = admin.site.site_title = "Bazgasht"
admin.site.index_title = _("Shop settings")
admin.site.site_url = "/cases/"

urlpatterns = [
    # Health checks and metrics for load balancers and monitoring (config/health.py, config/metrics.py).
    path("healthz", health.liveness, name="healthz"),
    path("readyz", health.readiness, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    # One way in for staff: the admin's login page sends to ours, which applies the lockout and
    # asks for the two-factor code (feedback/accounts/views.py); `next` comes along.
    path("admin/login/", signin_views.admin_sign_in),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("", include("feedback.urls")),
    path("", include("reports.urls")),
    path("", include("surveys.urls")),
    path("", include("surveys.outreach.unsubscribe_urls")),
    # Email providers' delivery webhooks (bounces, complaints), behind WEBHOOK_SECRET basic auth.
    path("anymail/", include((provider_webhooks, "anymail"))),
]

# API clients get JSON even for a request Django refuses before routing it (a bad Host header).
handler400 = "config.security.bad_request"
