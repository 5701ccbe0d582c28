"""Surveys' Celery tasks, thin: the sending sweep (surveys, reminders, expiry), retention, and
forgetting stale uploads."""

from celery import shared_task

from surveys.customer_data import retention, store_requests
from surveys.intake import import_mapping
from surveys.models import Shop
from surveys.outreach import reminders, sending

BATCH = 500


@shared_task(name="surveys.tasks.send_due_invitations")
def send_due_invitations() -> int:
    """The scheduler's sweep: due surveys, due reminders, and links that expired."""
    claimed = sending.send_due_invitations(limit=BATCH)
    reminded = reminders.send_due_reminders(limit=BATCH)
    reminders.expire_invitations()
    if claimed == BATCH or reminded == BATCH:
        # More may be waiting: carry on now rather than at the next beat.
        send_due_invitations.delay()
    return claimed


@shared_task(name="surveys.tasks.start_retention")
def start_retention() -> int:
    """Daily: one retention task per shop that keeps answers and customers for a limited time;
    order files uploaded and never mapped are deleted too."""
    import_mapping.forget_stale_uploads()
    shop_ids = list(Shop.objects.filter(retention_months__gt=0).values_list("pk", flat=True))
    for shop_id in shop_ids:
        apply_retention.delay(shop_id=shop_id)
    return len(shop_ids)


@shared_task(name="surveys.tasks.apply_retention")
def apply_retention(*, shop_id: int) -> None:
    shop = Shop.objects.filter(pk=shop_id).first()
    if shop is None:
        return
    retention.apply_retention(shop)


@shared_task(name="surveys.tasks.erase_shop_customers")
def erase_shop_customers(*, shop_id: int, via: str) -> int:
    """Every customer of a shop whose owner left the store's app (Shopify's shop/redact)."""
    shop = Shop.objects.filter(pk=shop_id).first()
    return store_requests.erase_shop_customers(shop, via=via) if shop is not None else 0
