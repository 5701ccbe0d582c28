"""The data of shops, their customers, orders, surveys and invitations, one module a subject.

Everything is re-exported here, so `from surveys.models import Shop` is the way in, as Django
expects of an app's models."""

from surveys.models.customers import Channel, Consent, Customer, Erasure, Suppression
from surveys.models.intake import ColumnMapping, PendingImport, WebhookDelivery, WebhookSource
from surveys.models.orders import Order, OrderLine, OrderQuerySet
from surveys.models.shops import (
    ApiKey,
    ApiScope,
    Language,
    Membership,
    Shop,
    default_api_scopes,
    one_shop,
    validate_phone_region,
    validate_timezone,
)
from surveys.models.surveys import SCALES, Invitation, Question, Scale, Survey

__all__ = [
    "SCALES",
    "ApiKey",
    "ApiScope",
    "Channel",
    "ColumnMapping",
    "Consent",
    "Customer",
    "Erasure",
    "Invitation",
    "Language",
    "Membership",
    "Order",
    "OrderLine",
    "OrderQuerySet",
    "PendingImport",
    "Question",
    "Scale",
    "Shop",
    "Suppression",
    "Survey",
    "WebhookDelivery",
    "WebhookSource",
    "default_api_scopes",
    "one_shop",
    "validate_phone_region",
    "validate_timezone",
]
