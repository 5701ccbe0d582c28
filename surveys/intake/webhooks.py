"""Orders pushed by Shopify and WooCommerce: signatures, payloads and deliveries.

Both platforms sign the exact request body with base64(HMAC-SHA256(secret, body)). The
signature is checked before anything is parsed; a delivery id seen before is dropped; the
order itself is deduplicated by `record_orders` on (shop, order id), so a store resending
the same order under a new delivery id still surveys nobody twice.

The payloads themselves are read by surveys.intake.webhook_payloads."""

import base64
import hashlib
import hmac
import logging
import smtplib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from surveys import tasks
from surveys.customer_data import privacy, store_requests
from surveys.errors import DomainError
from surveys.intake.orders import InvalidOrder, record_orders, update_order
from surveys.intake.webhook_payloads import (
    InvalidWebhook,
    _list,
    _mapping,
    _text,
    parse_shopify_order,
    parse_woocommerce_order,
)
from surveys.models import Order, WebhookDelivery, WebhookSource
from surveys.outreach.planning import schedule_invitations

log = logging.getLogger(__name__)

Platform = WebhookSource.Platform

# The topics that carry an order; anything else a store is subscribed to is acknowledged and ignored.
SHOPIFY_ORDER_TOPICS = frozenset(
    {
        "orders/create",
        "orders/updated",
        "orders/paid",
        "orders/fulfilled",
        "orders/partially_fulfilled",
        "orders/cancelled",
    }
)
# Shopify's mandatory privacy webhooks, which every app must answer (GDPR, CCPA...).
SHOPIFY_PRIVACY_TOPICS = frozenset({"customers/data_request", "customers/redact", "shop/redact"})
# WooCommerce has no "completed" topic: a completed order arrives as order.updated.
WOOCOMMERCE_ORDER_TOPICS = frozenset({"order.created", "order.updated"})


# --- Signatures -------------------------------------------------------------------------


def sign(secret: str, raw_body: bytes) -> str:
    digest = hmac.new(secret.encode(), raw_body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_signature(source: WebhookSource, raw_body: bytes, signature: str, *, now: datetime) -> bool:
    """Whether `signature` signs `raw_body` with the source's secret, or with the previous
    secret while a rotation is under way (until `previous_secret_until`)."""
    secrets = [source.secret]
    if source.previous_secret and source.previous_secret_until is not None and now < source.previous_secret_until:
        secrets.append(source.previous_secret)
    given = signature.strip().encode()
    # Every secret is compared, so the time taken does not tell which one nearly matched.
    matches = [hmac.compare_digest(sign(secret, raw_body).encode(), given) for secret in secrets if secret]
    return bool(given) and any(matches)


# --- Deliveries -------------------------------------------------------------------------


def delivery_key(delivery_id: str, raw_body: bytes) -> str:
    """What tells one delivery from another: the store's delivery id and the body's digest.

    The id alone is not enough: WooCommerce makes X-WC-Webhook-Delivery-ID from the webhook's
    id and the current second, so every delivery of one webhook within a second (a burst of
    new orders, a bulk "mark completed") carries the same one. A true re-delivery repeats both.
    """
    if not delivery_id.strip():
        return ""  # refused: every store sends one
    return f"{delivery_id[:60]}/{hashlib.sha256(raw_body).hexdigest()[:32]}"


def handle_delivery(
    source: WebhookSource, *, topic: str, delivery_id: str, payload: Mapping[str, Any], now: datetime | None = None
) -> str:
    """Take one verified delivery (`delivery_id` as delivery_key makes it); return what happened.

    Side effects: records the delivery (a repeat is dropped unread); stores a new order
    with its customer and lines and schedules its surveys, or sets a known order's
    fulfilment and cancellation times (scheduling the surveys fulfilment triggers,
    cancelling the scheduled ones when cancelled). A payload that cannot be read stores
    nothing, not even the delivery id, so the store's retry is taken in full.
    """
    now = now or timezone.now()
    if source.platform == Platform.SHOPIFY and topic in SHOPIFY_PRIVACY_TOPICS:
        return _privacy_request(source, topic=topic, delivery_id=delivery_id, payload=payload)
    if source.platform == Platform.SHOPIFY:
        if topic not in SHOPIFY_ORDER_TOPICS:
            return "ignored topic"
        reported = parse_shopify_order(payload, topic=topic, now=now)
        origin = Order.Source.SHOPIFY
    else:
        if topic not in WOOCOMMERCE_ORDER_TOPICS:
            return "ignored topic"
        reported = parse_woocommerce_order(payload, now=now)
        origin = Order.Source.WOOCOMMERCE
    with transaction.atomic():
        if not _first_time(source, delivery_id=delivery_id, topic=topic):
            return "duplicate delivery"
        [result] = record_orders(
            source.shop, [reported.order], source=origin, schedule=reported.paid, drop_unreadable_phones=True
        )
        if result.order is None:
            raise InvalidOrder(result.error)
        if result.created:
            return "created"
        # Only times move on a known order: totals and lines stay as first recorded.
        known, order = result.order, reported.order
        update_order(
            known,
            fulfilled_at=order.fulfilled_at,
            cancelled_at=order.cancelled_at,
            reason=reported.cancel_reason if order.cancelled_at else "",
        )
        if reported.paid:
            # An order first seen unpaid is surveyed from the update that shows it paid.
            schedule_invitations(known)
        return "updated"


def _first_time(source: WebhookSource, *, delivery_id: str, topic: str) -> bool:
    """Record the delivery; False if it was recorded before (a repeat, dropped unread). Inside the
    caller's transaction, so a delivery whose work fails is not recorded and the store's retry is taken."""
    if not delivery_id or len(delivery_id) > WebhookDelivery._meta.get_field("delivery_id").max_length:  # type: ignore[operator]
        raise InvalidWebhook("the delivery id is missing or too long")
    try:
        with transaction.atomic():
            WebhookDelivery.objects.create(source=source, delivery_id=delivery_id, topic=topic[:60])
    except IntegrityError:
        return False
    return True


class TryAgainLater(DomainError):
    """The work could not be done now (broker or mail server away); the store retries the delivery."""

    status_code = 503


def _privacy_request(source: WebhookSource, *, topic: str, delivery_id: str, payload: Mapping[str, Any]) -> str:
    """Shopify's privacy webhooks: a customer's data to the shop's admins, a customer erased, or
    every customer of a shop that left the app erased (queued: the store waits five seconds at most).
    The same delivery again is dropped; the erasures are in the audit trail (Erasure, "via")."""
    shop = source.shop
    via = f"Shopify {topic}"
    customer = _mapping(payload.get("customer"), "customer")
    with transaction.atomic():
        if not _first_time(source, delivery_id=delivery_id, topic=topic):
            return "duplicate delivery"
        if topic == "shop/redact":
            # Queued inside the transaction: if the broker is away the delivery is not recorded,
            # the store hears a 503 and sends it again.
            try:
                tasks.erase_shop_customers.delay(shop_id=shop.pk, via=via)
            except OperationalError as error:
                raise TryAgainLater(f"the erasure could not be queued ({error}); send it again") from error
            return "every customer of the shop will be erased"
        named = store_requests.customers_named(
            shop,
            emails=[_text(customer.get("email"))],
            phones=[_text(customer.get("phone"))],
            order_ids=[str(order_id) for order_id in _list(payload.get("orders_to_redact"), "orders_to_redact")]
            + [str(order_id) for order_id in _list(payload.get("orders_requested"), "orders_requested")],
        )
        if topic == "customers/redact":
            for found in named:
                privacy.erase_customer(found, via=via)
            return f"{len(named)} customer(s) erased"
        request = _mapping(payload.get("data_request"), "data_request")
        try:
            store_requests.send_data_request(shop, named, via=via, request_id=_text(request.get("id")))
        except (smtplib.SMTPException, OSError) as error:
            raise TryAgainLater(
                f"the shop's admins could not be emailed ({type(error).__name__}); send it again"
            ) from error
        return f"{len(named)} customer(s) sent to the shop's admins"
