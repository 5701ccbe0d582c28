"""Webhook endpoints: Shopify and WooCommerce push their orders here; the SMS provider, replies."""

import re
import secrets

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from surveys.errors import DomainError
from surveys.intake import webhook_payloads, webhooks
from surveys.models import WebhookSource
from surveys.outreach import sms

# (signature, topic, delivery id) headers per platform.
_HEADERS: dict[str, tuple[str, str, str]] = {
    WebhookSource.Platform.SHOPIFY: ("X-Shopify-Hmac-Sha256", "X-Shopify-Topic", "X-Shopify-Webhook-Id"),
    WebhookSource.Platform.WOOCOMMERCE: ("X-WC-Webhook-Signature", "X-WC-Webhook-Topic", "X-WC-Webhook-Delivery-ID"),
}
# WooCommerce tests a new webhook with this unsigned form body and saves it only on a 200.
_WOOCOMMERCE_PING = re.compile(rb"webhook_id=\d+")


@csrf_exempt
@require_POST
def receive_webhook(request: HttpRequest, shop_slug: str, platform: str) -> JsonResponse:
    found = WebhookSource.objects.select_related("shop").filter(shop__slug=shop_slug, platform=platform).first()
    # A shop that does not exist, or has not set up this platform, is answered as a wrong
    # signature is (after the same HMAC work): the answers do not tell which shops are here.
    source = found or WebhookSource(platform=platform, secret=secrets.token_urlsafe(32))
    signature_header, topic_header, delivery_header = _HEADERS[source.platform]
    signature = request.headers.get(signature_header, "")
    if not signature and platform == WebhookSource.Platform.WOOCOMMERCE and _WOOCOMMERCE_PING.fullmatch(request.body):
        return JsonResponse({"detail": "ping received"})
    # The signature covers the raw bytes: nothing is parsed before it is checked.
    if not webhooks.verify_signature(source, request.body, signature, now=timezone.now()) or found is None:
        return JsonResponse({"detail": f"missing or invalid {signature_header}"}, status=401)
    try:
        outcome = webhooks.handle_delivery(
            source,
            topic=request.headers.get(topic_header, ""),
            delivery_id=webhooks.delivery_key(request.headers.get(delivery_header, ""), request.body),
            payload=webhook_payloads.load_payload(request.body),
        )
    except DomainError as error:
        return JsonResponse({"detail": error.message}, status=error.status_code)
    return JsonResponse({"detail": outcome})


@csrf_exempt
@require_http_methods(["GET", "POST"])
def receive_sms_reply(request: HttpRequest, token: str) -> HttpResponse:
    """Kavenegar forwards each text sent to the shop's line here (`from`, `to`, `message`,
    `messageid`, by GET or POST as set in its panel). A stop reply ("لغو۱۱", "11", "STOP")
    unsubscribes the number; anything else is acknowledged and dropped."""
    expected = settings.SMS_INBOUND_TOKEN
    if not expected or not secrets.compare_digest(token.encode(), expected.encode()):
        raise Http404
    fields = request.POST if request.method == "POST" else request.GET
    sender, text = fields.get("from", ""), fields.get("message", "")
    if sender and text:
        sms.take_reply(sender, text)
    return HttpResponse("ok", content_type="text/plain")
