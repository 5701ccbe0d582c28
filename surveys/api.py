from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Status
from pydantic import ValidationError

from surveys import domain
from surveys.errors import NotFound
from surveys.models import Order, Shop
from surveys.queries import orders_of
from surveys.schemas import BulkOrderResult, BulkOrdersIn, BulkOrdersOut, OrderEventIn, OrderIn, OrderOut

router = Router(tags=["orders"])


@router.post("/orders", response={200: OrderOut, 201: OrderOut})
def create_order(request: HttpRequest, payload: OrderIn) -> Status:
    """Record an order and schedule its surveys. Idempotent on `external_id`:
    posting the same order again answers 200 with the stored order and changes nothing."""
    order, created = _record(request.auth, payload)  # type: ignore[attr-defined]
    return Status(201 if created else 200, order)


@router.post("/orders/bulk", response=BulkOrdersOut)
def create_orders(request: HttpRequest, payload: BulkOrdersIn) -> dict[str, Any]:
    """Record up to 1,000 orders. Each is answered on its own, in the order sent:
    created, duplicate (already stored, nothing changed) or rejected with the reasons."""
    results = [_record_item(request.auth, index, item) for index, item in enumerate(payload.orders)]  # type: ignore[attr-defined]
    return {
        "created": sum(result.status == "created" for result in results),
        "duplicates": sum(result.status == "duplicate" for result in results),
        "rejected": sum(result.status == "rejected" for result in results),
        "results": results,
    }


@router.get("/orders/{external_id}", response=OrderOut)
def get_order(request: HttpRequest, external_id: str) -> object:
    order = orders_of(request.auth).prefetch_related("invitations").filter(external_id=external_id).first()  # type: ignore[attr-defined]
    if order is None:
        raise NotFound("no such order")
    return order


@router.post("/orders/{external_id}/events", response=OrderOut)
def record_order_event(request: HttpRequest, external_id: str, payload: OrderEventIn) -> object:
    """Tell Bazgasht what happened to an order: `fulfilled` or `delivered` starts the surveys
    that wait for it; `cancelled` or `refunded` cancels the surveys not sent yet.
    Safe to repeat: the first time given for each event stays."""
    order = orders_of(request.auth).filter(external_id=external_id).first()  # type: ignore[attr-defined]
    if order is None:
        raise NotFound("no such order")
    at = payload.at or timezone.now()
    times = {"fulfilled": "fulfilled_at", "delivered": "delivered_at"}
    if payload.event in times:
        domain.update_order(order, **{times[payload.event]: at})
    else:
        domain.update_order(order, cancelled_at=at, reason=payload.reason or f"the order was {payload.event}")
    return orders_of(request.auth).prefetch_related("invitations").get(pk=order.pk)  # type: ignore[attr-defined]


def _record(shop: Shop, payload: OrderIn) -> tuple[Order, bool]:
    customer = payload.customer
    return domain.record_order(
        shop,
        external_id=payload.external_id,
        customer=domain.CustomerDetails(
            email=customer.email or "", phone=customer.phone or "", name=customer.name, language=customer.language or ""
        ),
        total=payload.total,
        currency=payload.currency,
        placed_at=payload.placed_at,
        fulfilled_at=payload.fulfilled_at,
        delivered_at=payload.delivered_at,
        lines=[domain.OrderLineDetails(**line.dict()) for line in payload.lines],
    )


def _record_item(shop: Shop, index: int, item: object) -> BulkOrderResult:
    external_id = item.get("external_id") if isinstance(item, dict) else None
    external_id = external_id if isinstance(external_id, str) else None
    try:
        order, created = _record(shop, OrderIn.model_validate(item))
    except ValidationError as error:
        messages = [f"{'.'.join(map(str, e['loc'])) or 'order'}: {e['msg']}" for e in error.errors()]
        return BulkOrderResult(index=index, external_id=external_id, status="rejected", errors=messages)
    except domain.InvalidOrder as error:
        return BulkOrderResult(index=index, external_id=external_id, status="rejected", errors=[error.message])
    return BulkOrderResult(
        index=index, external_id=order.external_id, status="created" if created else "duplicate", order_id=order.pk
    )
