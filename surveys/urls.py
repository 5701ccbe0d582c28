"""The pages of surveys: the stores' webhooks and the SMS provider's callbacks."""

from django.urls import path

from surveys.intake import views
from surveys.models import WebhookSource

urlpatterns = [
    path(
        "webhooks/shopify/<slug:shop_slug>/",
        views.receive_webhook,
        {"platform": WebhookSource.Platform.SHOPIFY},
        name="shopify_webhook",
    ),
    path(
        "webhooks/woocommerce/<slug:shop_slug>/",
        views.receive_webhook,
        {"platform": WebhookSource.Platform.WOOCOMMERCE},
        name="woocommerce_webhook",
    ),
    path("sms/kavenegar/<str:token>/", views.receive_sms_reply, name="sms_reply"),
]
