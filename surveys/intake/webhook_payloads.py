"""What Shopify and WooCommerce send, read: an order webhook's JSON becomes a `WebhookOrder` (the
order, its customer and lines, its state), or a clear error naming the field that is wrong."""

import html
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone

from surveys.errors import DomainError
from surveys.intake.orders import CustomerDetails, NewOrder, OrderLineDetails
from surveys.models import Customer, Language, OrderLine
from surveys.outreach.consent import shopify_consent, woocommerce_consent

log = logging.getLogger(__name__)

WOOCOMMERCE_CANCELLED_STATUSES = frozenset({"cancelled", "refunded"})
# Not a purchase yet: stored, but surveyed only once an update shows it paid.
WOOCOMMERCE_UNPAID_STATUSES = frozenset({"pending", "failed", "on-hold", "checkout-draft"})
# Shopify's financial_status before the money is in (an authorised card is not yet charged; a
# bank transfer or cash on delivery is pending): stored, surveyed once an update shows it paid.
SHOPIFY_UNPAID_STATUSES = frozenset({"pending", "authorized", "expired"})


class InvalidWebhook(DomainError):
    """The webhook's payload is not an order we can read."""

    status_code = 422


class WebhookNotJson(InvalidWebhook):
    """The webhook's body is not a JSON object."""

    status_code = 400


@dataclass(frozen=True)
class WebhookOrder:
    """An order as a store reported it, with what the store says beside it."""

    order: NewOrder
    cancel_reason: str = ""
    # Not a purchase yet (WooCommerce's pending, on-hold, failed; Shopify's pending, authorized):
    # stored, not surveyed.
    paid: bool = True


def load_payload(raw_body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(raw_body)
    except (UnicodeDecodeError, ValueError) as error:
        raise WebhookNotJson(f"the body is not JSON: {error}") from error
    if not isinstance(payload, dict):
        raise WebhookNotJson("the body must be a JSON object")
    return payload


# --- Payloads ---------------------------------------------------------------------------


def parse_shopify_order(payload: Mapping[str, Any], *, topic: str, now: datetime) -> WebhookOrder:
    """Read a Shopify order webhook (orders/create, /updated, /fulfilled, /cancelled…).

    Since API 2022-10 the customer's name, email and phone are protected data and arrive
    as null unless the app is approved: such an order is read with an empty customer.
    """
    customer = _mapping(payload.get("customer"), "customer")
    fulfilled_at = None
    if topic == "orders/fulfilled" or payload.get("fulfillment_status") == "fulfilled":
        # The order is fulfilled when its last shipment left.
        shipped = [
            _datetime(item.get("created_at"), "fulfillments.created_at")
            for item in _list(payload.get("fulfillments"), "fulfillments")
            if isinstance(item, Mapping) and item.get("status", "success") == "success" and item.get("created_at")
        ]
        fulfilled_at = max(shipped, default=now)
    cancelled_at = _optional_datetime(payload.get("cancelled_at"), "cancelled_at")
    if topic == "orders/cancelled" and cancelled_at is None:
        cancelled_at = now
    cancel_reason = _text(payload.get("cancel_reason"))
    consent, consent_time = shopify_consent(payload, customer)
    order = NewOrder(
        external_id=_order_id(payload),
        # "#1030", what the customer sees (its id is 2998557704341); shops may change its prefix.
        number=_text(payload.get("name")).removeprefix("#") or _text(payload.get("order_number")),
        customer=_customer(
            email=_text(payload.get("email")) or _text(payload.get("contact_email")) or _text(customer.get("email")),
            phone=_text(payload.get("phone")) or _text(customer.get("phone")),
            name=f"{_text(customer.get('first_name'))} {_text(customer.get('last_name'))}",
            language=_language(_text(payload.get("customer_locale"))),
            country=_country(
                payload.get("billing_address"), payload.get("shipping_address"), customer.get("default_address")
            ),
            consent=consent,
            consent_at=_optional_datetime(consent_time, "customer.email_marketing_consent.consent_updated_at"),
        ),
        total=_decimal(_required(payload, "total_price"), "total_price"),
        currency=_currency(payload),
        placed_at=_datetime(_required(payload, "created_at"), "created_at"),
        lines=tuple(
            _line(
                item,
                sku=item.get("sku"),
                # `name` carries the variant too ("IPod Nano - 8gb - green").
                name=item.get("name") or item.get("title"),
                price=item.get("price"),
            )
            for item in _line_items(payload)
        ),
        fulfilled_at=fulfilled_at,
        cancelled_at=cancelled_at,
        # A test order (Shopify's "send test notification" sample, a test payment gateway's order).
        is_test=payload.get("test") is True,
    )
    reason = f"order cancelled in Shopify ({cancel_reason})" if cancel_reason else "order cancelled in Shopify"
    paid = _text(payload.get("financial_status")).lower() not in SHOPIFY_UNPAID_STATUSES
    return WebhookOrder(order, cancel_reason=reason, paid=paid)


def parse_woocommerce_order(payload: Mapping[str, Any], *, now: datetime) -> WebhookOrder:
    """Read a WooCommerce order webhook (the body is the REST v3 order resource).

    WooCommerce knows no customer language, and its `*_gmt` times carry no offset: they are UTC.
    """
    billing = _mapping(payload.get("billing"), "billing")
    shipping = _mapping(payload.get("shipping"), "shipping")
    status = _text(payload.get("status"))
    fulfilled_at = cancelled_at = None
    if status == "completed":
        fulfilled_at = _optional_datetime(payload.get("date_completed_gmt"), "date_completed_gmt", naive_is_utc=True)
        fulfilled_at = fulfilled_at or now
    elif status in WOOCOMMERCE_CANCELLED_STATUSES:
        cancelled_at = _optional_datetime(payload.get("date_modified_gmt"), "date_modified_gmt", naive_is_utc=True)
        cancelled_at = cancelled_at or now
    order = NewOrder(
        external_id=_order_id(payload),
        number=_text(payload.get("number")),
        customer=_customer(
            email=_text(billing.get("email")),
            phone=_text(billing.get("phone")),
            name=f"{_text(billing.get('first_name'))} {_text(billing.get('last_name'))}",
            language="",
            country=_text(billing.get("country")) or _text(shipping.get("country")),
            consent=woocommerce_consent(payload),
        ),
        total=_decimal(_required(payload, "total"), "total"),
        currency=_currency(payload),
        placed_at=_datetime(_required(payload, "date_created_gmt"), "date_created_gmt", naive_is_utc=True),
        # WooCommerce stores product names HTML-escaped ("Ship Your Idea &ndash; Black").
        lines=tuple(
            _line(item, sku=item.get("sku"), name=html.unescape(_text(item.get("name"))), price=item.get("price"))
            for item in _line_items(payload)
        ),
        fulfilled_at=fulfilled_at,
        cancelled_at=cancelled_at,
    )
    return WebhookOrder(
        order, cancel_reason=f"order {status} in WooCommerce", paid=status not in WOOCOMMERCE_UNPAID_STATUSES
    )


def _required(payload: Mapping[str, Any], key: str) -> Any:
    value = payload.get(key)
    if value is None or value == "":
        raise InvalidWebhook(f"{key} is missing")
    return value


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _mapping(value: Any, field: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidWebhook(f"{field} must be an object")
    return value


def _list(value: Any, field: str) -> Sequence[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidWebhook(f"{field} must be a list")
    return value


def _order_id(payload: Mapping[str, Any]) -> str:
    # Shopify's ids are 64-bit integers: kept as text, never through a float.
    value = _required(payload, "id")
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.isdigit())):
        raise InvalidWebhook(f"id must be a whole number, not {value!r}")
    return str(int(value))


def _decimal(value: Any, field: str) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidWebhook(f"{field} is not a number: {value!r}") from None
    if isinstance(value, bool) or not number.is_finite():
        raise InvalidWebhook(f"{field} is not a number: {value!r}")
    return number.quantize(Decimal("0.01"))


def _datetime(value: Any, field: str, *, naive_is_utc: bool = False) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise InvalidWebhook(f"{field} is not a date and time: {value!r}") from None
    if timezone.is_naive(moment):
        if not naive_is_utc:
            raise InvalidWebhook(f"{field} has no UTC offset: {value!r}")
        moment = moment.replace(tzinfo=UTC)
    return moment


def _optional_datetime(value: Any, field: str, *, naive_is_utc: bool = False) -> datetime | None:
    return None if value in (None, "") else _datetime(value, field, naive_is_utc=naive_is_utc)


def _currency(payload: Mapping[str, Any]) -> str:
    currency = _text(_required(payload, "currency"))
    if len(currency) != 3 or not currency.isalpha():
        raise InvalidWebhook(f"currency must be a three-letter code, not {currency!r}")
    return currency.upper()


def _language(locale: str) -> str:
    # Shopify sends "en", "fa-IR", "pt-BR"…; only the languages Bazgasht speaks are kept.
    code = locale.replace("_", "-").split("-")[0].lower()
    return code if code in Language.values else ""


def _customer(
    *,
    email: str,
    phone: str,
    name: str,
    language: str,
    country: str = "",
    consent: str = "",
    consent_at: datetime | None = None,
) -> CustomerDetails:
    # A malformed address or phone would only fail later, at sending: the order is still
    # worth keeping, so the unusable detail is dropped instead of the whole order. The log
    # says so without the value: personal data stays out of logs.
    try:
        validate_email(email)
    except ValidationError:
        if email:
            log.warning("webhook order with an unusable email; stored without it")
        email = ""
    if len(phone) > Customer._meta.get_field("phone").max_length:  # type: ignore[operator]
        log.warning("webhook order with an unusable phone (%d characters); stored without it", len(phone))
        phone = ""
    return CustomerDetails(
        email=email,
        phone=phone,
        name=name.strip()[:200],
        language=language,
        country=country,
        consent=consent,
        consent_at=consent_at,
    )


def _country(*addresses: Any) -> str:
    """The first of Shopify's addresses that names its country ("US")."""
    for address in addresses:
        if isinstance(address, Mapping) and (code := _text(address.get("country_code"))):
            return code
    return ""


def _line_items(payload: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
    items = _list(payload.get("line_items"), "line_items")
    if not all(isinstance(item, Mapping) for item in items):
        raise InvalidWebhook("line_items must be a list of objects")
    return items


def _line(item: Mapping[str, Any], *, sku: Any, name: Any, price: Any) -> OrderLineDetails:
    quantity = item.get("quantity", 1)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
        raise InvalidWebhook(f"line_items.quantity must be a whole number, not {quantity!r}")
    return OrderLineDetails(
        sku=_text(sku)[: OrderLine._meta.get_field("sku").max_length],
        product_name=_text(name)[: OrderLine._meta.get_field("product_name").max_length],
        quantity=quantity,
        unit_price=None if price in (None, "") else _decimal(price, "line_items.price"),
    )
