"""The alert webhook over the API: where it goes, its signing secret, and its delivery log.

Every endpoint here needs an API key with the `webhooks` scope, reads included: the URL and
the log say where a shop's complaints are sent (config/api.py maps /webhooks/ to that scope).
"""

from datetime import timedelta

from django.db import transaction
from ninja import Query, Router

from feedback.casework import alerts
from feedback.casework.flagging import rules_for
from feedback.casework.outbound import webhook_target_problem
from feedback.casework.schemas import (
    AlertWebhookIn,
    AlertWebhookOut,
    DeliveryOut,
    DeliveryQuery,
    SecretOut,
    SecretRotationIn,
)
from feedback.models import AlertDelivery, FlagRules
from surveys.errors import DomainError
from surveys.models import Shop
from surveys.requests import ShopRequest

router = Router(tags=["webhooks"])


@router.get("/webhooks/alerts", response=AlertWebhookOut)
def get_alert_webhook(request: ShopRequest) -> dict[str, object]:
    return _webhook_out(rules_for(request.auth))


@router.put("/webhooks/alerts", response=AlertWebhookOut)
def set_alert_webhook(request: ShopRequest, payload: AlertWebhookIn) -> dict[str, object]:
    """Point alerts at a URL (a Slack incoming-webhook URL works as is), or turn them off with ""."""
    problem = webhook_target_problem(payload.url)
    if problem:
        raise DomainError(problem)
    with transaction.atomic():
        rules = _saved_rules(request.auth)
        rules.alert_webhook_url = payload.url
        rules.save(update_fields=["alert_webhook_url"])
    return _webhook_out(rules)


@router.post("/webhooks/alerts/secret", response=SecretOut)
def rotate_alert_secret(request: ShopRequest, payload: SecretRotationIn) -> dict[str, object]:
    """A new signing secret, returned once; the old one also signs for `keep_previous_hours`."""
    with transaction.atomic():
        rules = _saved_rules(request.auth)
        secret = alerts.rotate_webhook_secret(rules, keep_previous=timedelta(hours=payload.keep_previous_hours))
    return {"secret": secret, "previous_secret_until": rules.alert_webhook_previous_secret_until}


@router.get("/webhooks/alerts/deliveries", response=list[DeliveryOut])
def list_alert_deliveries(request: ShopRequest, query: Query[DeliveryQuery]) -> list[AlertDelivery]:
    """The newest delivery attempts first: each try, its HTTP status or error, and how long it took."""
    return list(AlertDelivery.objects.filter(shop=request.auth).order_by("-at", "-pk")[: query.limit])


def _saved_rules(shop: Shop) -> FlagRules:
    rules, _ = FlagRules.objects.select_for_update().get_or_create(shop=shop)
    return rules


def _webhook_out(rules: FlagRules) -> dict[str, object]:
    return {
        "url": rules.alert_webhook_url,
        "signed": bool(rules.alert_webhook_secret),
        "previous_secret_until": rules.alert_webhook_previous_secret_until,
    }
