from django.contrib import admin
from django.urls import include, path

from config.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("", include("feedback.urls")),
    path("", include("reports.urls")),
    path("", include("surveys.urls")),
    path("", include("surveys.unsubscribe_urls")),
    # Email providers' delivery webhooks (bounces, complaints), behind WEBHOOK_SECRET basic auth.
    path("anymail/", include("anymail.urls")),
]
