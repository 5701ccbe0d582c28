"""Privacy requests a store passes on (Shopify's mandatory privacy webhooks): the customers a
request names, their data emailed to the shop's admins, and a departed shop's customers erased."""

import json
import logging
from collections.abc import Iterable, Sequence

from django.core.mail import EmailMessage
from django.db.models import Q

from config import mail
from surveys.customer_data.privacy import BATCH, erase_customer, export_customer, pages
from surveys.models import Channel, Customer, Membership, Order, Shop
from surveys.outreach.suppressions import normalise_address
from surveys.phones import region_of

log = logging.getLogger(__name__)

# --- Requests a store passes on (Shopify's mandatory privacy webhooks) ------------------------


def customers_named(shop: Shop, *, emails: Iterable[str] = (), phones: Iterable[str] = (),
                    order_ids: Iterable[str] = ()) -> list[Customer]:  # fmt: skip
    """The shop's customers a store's request names: by email, phone, or the orders it lists."""
    wanted = Q(pk__in=[])
    addresses = {normalise_address(Channel.EMAIL, email) for email in emails if email and email.strip()}
    region = region_of(shop)
    numbers = {normalise_address(Channel.SMS, phone, region=region) for phone in phones if phone and phone.strip()}
    if addresses:
        wanted |= Q(email__in=addresses)
    if numbers:
        wanted |= Q(phone__in=numbers)
    order_ids = [str(order_id) for order_id in order_ids if order_id]
    if order_ids:
        wanted |= Q(pk__in=Order.objects.filter(shop=shop, external_id__in=order_ids).values("customer_id"))
    return list(Customer.objects.filter(wanted, shop=shop).order_by("pk"))


def send_data_request(shop: Shop, customers: Sequence[Customer], *, via: str, request_id: str = "") -> int:
    """Email the shop's admins everything held about these customers (one JSON file), for the
    shop to hand to the customer who asked; how many addresses it went to. Nothing held is said too."""
    to = sorted(
        set(
            Membership.objects.filter(shop=shop, role=Membership.Role.ADMIN, user__is_active=True)
            .exclude(user__email="")
            .values_list("user__email", flat=True)
        )
    )
    if not to:
        log.warning("shop %s: a data request (%s) came, but no shop admin has an email address", shop.pk, via)
        return 0
    exports = [export_customer(customer) for customer in customers]
    body = (
        f"{via} asked for the data {shop.display_name} holds in Bazgasht about a customer"
        f"{f' (request {request_id})' if request_id else ''}. "
        + (
            f"The attached file holds all of it ({len(exports)} customer record(s)): hand it to the customer."
            if exports
            else "Bazgasht holds nothing about them: no customer with that email, phone or order."
        )
    )
    message = mail.message(EmailMessage, f"{shop.display_name}: a customer's data request", body, to=to)
    if exports:
        message.attach("customer-data.json", json.dumps(exports, ensure_ascii=False, indent=2), "application/json")
    message.send()
    log.info("shop %s: data request (%s) answered for %s customer(s), to %s address(es)", shop.pk, via,
             len(exports), len(to))  # fmt: skip
    return len(to)


def erase_shop_customers(shop: Shop, *, via: str, batch: int = BATCH) -> int:
    """Erase every customer of the shop (a store's request once its owner left); how many."""
    erased = 0
    for ids in pages(Customer.objects.filter(shop=shop, anonymised_at__isnull=True), "pk", batch=batch):
        for customer in Customer.objects.filter(pk__in=ids):
            erase_customer(customer, via=via)
            erased += 1
    log.info("shop %s: %s customers erased (%s)", shop.pk, erased, via)
    return erased
