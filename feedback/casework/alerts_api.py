"""The alert webhook over the API: where it goes, its signing secret, and its delivery log.

Every endpoint here needs an API key with the `webhooks` scope, reads included: the URL and
the log say where a shop's complaints are sent (config/api.py maps /webhooks/ to that scope).
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from pydantic import BaseModel, ConfigDict

from feedback.casework import alerts
from feedback.casework.flagging import rules_for
from feedback.casework.outbound import webhook_target_problem
from feedback.models import AlertDelivery, FlagRules
from surveys.errors import DomainError
from surveys.models import Shop

router = Router(tags=["webhooks"])


class AlertWebhookOut(Schema):
    url: str = Field(description="Where alerts are POSTed; empty: no webhook.")
    signed: bool = Field(description="Whether a signing secret is set (the secret itself is never shown again).")
    previous_secret_until: datetime | None = Field(
        description="Until then alerts also carry a signature made with the previous secret."
    )


class AlertWebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        ..., max_length=500, pattern=r"^(https?://\S+)?$", description="An http(s) URL; empty turns alerts off."
    )


class SecretRotationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    keep_previous_hours: int = Field(
        24, ge=0, le=720, description="How long the old secret still signs alerts (0: not at all)."
    )


class SecretOut(Schema):
    secret: str = Field(description="The new signing secret. Shown only in this answer.")
    previous_secret_until: datetime | None


class DeliveryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(50, ge=1, le=200)


class DeliveryOut(Schema):
    id: int
    case_id: int = Field(alias="follow_up_id")
    url: str
    attempt: int
    outcome: AlertDelivery.Outcome
    http_status: int | None
    error: str
    duration_ms: int
    at: datetime


@router.get("/webhooks/alerts", response=AlertWebhookOut)
def get_alert_webhook(request: HttpRequest) -> dict[str, object]:
    return _webhook_out(rules_for(_shop(request)))


@router.put("/webhooks/alerts", response=AlertWebhookOut)
def set_alert_webhook(request: HttpRequest, payload: AlertWebhookIn) -> dict[str, object]:
    """Point alerts at a URL (a Slack incoming-webhook URL works as is), or turn them off with ""."""
    problem = webhook_target_problem(payload.url)
    if problem:
        raise DomainError(problem)
    with transaction.atomic():
        rules = _saved_rules(_shop(request))
        rules.alert_webhook_url = payload.url
        rules.save(update_fields=["alert_webhook_url"])
    return _webhook_out(rules)


@router.post("/webhooks/alerts/secret", response=SecretOut)
def rotate_alert_secret(request: HttpRequest, payload: SecretRotationIn) -> dict[str, object]:
    """A new signing secret, returned once; the old one also signs for `keep_previous_hours`."""
    with transaction.atomic():
        rules = _saved_rules(_shop(request))
        secret = alerts.rotate_webhook_secret(rules, keep_previous=timedelta(hours=payload.keep_previous_hours))
    return {"secret": secret, "previous_secret_until": rules.alert_webhook_previous_secret_until}


@router.get("/webhooks/alerts/deliveries", response=list[DeliveryOut])
def list_alert_deliveries(request: HttpRequest, query: Query[DeliveryQuery]) -> list[AlertDelivery]:
    """The newest delivery attempts first: each try, its HTTP status or error, and how long it took."""
    return list(AlertDelivery.objects.filter(shop=_shop(request)).order_by("-at", "-pk")[: query.limit])


def _shop(request: HttpRequest) -> Shop:
    shop = request.auth  # type: ignore[attr-defined]
    assert isinstance(shop, Shop)
    return shop


def _saved_rules(shop: Shop) -> FlagRules:
    rules, _ = FlagRules.objects.select_for_update().get_or_create(shop=shop)
    return rules


def _webhook_out(rules: FlagRules) -> dict[str, object]:
    return {
        "url": rules.alert_webhook_url,
        "signed": bool(rules.alert_webhook_secret),
        "previous_secret_until": rules.alert_webhook_previous_secret_until,
    }
