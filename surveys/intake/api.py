"""Orders in over the API: one at a time, in bulk, and what happened to them since (events)."""

from dataclasses import dataclass
from typing import Annotated, Any

from django.urls import register_converter
from django.utils import timezone
from ninja import Path, Router, Status
from pydantic import ValidationError

from surveys.errors import NotFound
from surveys.intake import orders
from surveys.models import Order, Shop
from surveys.queries import orders_of
from surveys.requests import ShopRequest
from surveys.schemas import BulkOrderResult, BulkOrdersIn, BulkOrdersOut, OrderEventIn, OrderIn, OrderOut

router = Router(tags=["orders"])
# The same limit as OrderIn.external_id: a longer one cannot name a stored order.
ExternalId = Annotated[str, Path(max_length=100)]


@router.post("/orders", response={200: OrderOut, 201: OrderOut})
def create_order(request: ShopRequest, payload: OrderIn) -> Status:
    """Record an order and schedule its surveys. Idempotent on `external_id`:
    posting the same order again answers 200 with the stored order and changes nothing."""
    order, created = _record(request.auth, payload)
    return Status(201 if created else 200, order)


@router.post("/orders/bulk", response=BulkOrdersOut)
def create_orders(request: ShopRequest, payload: BulkOrdersIn) -> dict[str, Any]:
    """Record up to 1,000 orders. Each is answered on its own, in the order sent:
    created, duplicate (already stored, nothing changed), conflict (its external_id came
    earlier in the call with other details; nothing changed) or rejected with the reasons."""
    checked: list[OrderIn | list[str] | Conflict] = [_check_item(item) for item in payload.orders]
    # An id given again in the same call with other details is a conflict, not a duplicate:
    # the sender has two versions of one order, and the first one is the one stored.
    first: dict[str, tuple[int, OrderIn]] = {}
    for index, item in enumerate(checked):
        if isinstance(item, OrderIn):
            earlier = first.setdefault(item.external_id, (index, item))
            if earlier[1] != item:
                checked[index] = Conflict(earlier[0])
    valid = [(index, item) for index, item in enumerate(checked) if isinstance(item, OrderIn)]
    recorded = dict(
        zip(
            [index for index, _ in valid],
            orders.record_orders(request.auth, [_new_order(item) for _, item in valid]),
            strict=True,
        )
    )
    results = [
        _bulk_result(index, raw, checked[index], recorded.get(index)) for index, raw in enumerate(payload.orders)
    ]
    return {
        "created": sum(result.status == "created" for result in results),
        "duplicates": sum(result.status == "duplicate" for result in results),
        "conflicts": sum(result.status == "conflict" for result in results),
        "rejected": sum(result.status == "rejected" for result in results),
        "results": results,
    }


class OrderNumberConverter:
    """An order number in a URL, "/" and all (INV/2026/0042); Django's `path` stops at a line
    break, which then got an HTML 404 instead of the API's JSON one."""

    regex = r"[\s\S]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(OrderNumberConverter, "order_number")


# The events route comes first, or the order's own route would take ".../events" as part of the number.
@router.post("/orders/{order_number:external_id}/events", response=OrderOut)
def record_order_event(request: ShopRequest, external_id: ExternalId, payload: OrderEventIn) -> object:
    """Tell Bazgasht what happened to an order: `fulfilled` or `delivered` starts the surveys
    that wait for it; `cancelled` or `refunded` cancels the surveys not sent yet.
    Safe to repeat: the first time given for each event stays."""
    order = orders_of(request.auth).filter(external_id=external_id).first()
    if order is None:
        raise NotFound("no such order")
    at = payload.at or timezone.now()
    if payload.event == "fulfilled":
        orders.update_order(order, fulfilled_at=at)
    elif payload.event == "delivered":
        orders.update_order(order, delivered_at=at)
    else:
        orders.update_order(order, cancelled_at=at, reason=payload.reason or f"the order was {payload.event}")
    return orders_of(request.auth).prefetch_related("invitations").get(pk=order.pk)


@router.get("/orders/{order_number:external_id}", response=OrderOut)
def get_order(request: ShopRequest, external_id: ExternalId) -> object:
    order = orders_of(request.auth).prefetch_related("invitations").filter(external_id=external_id).first()
    if order is None:
        raise NotFound("no such order")
    return order


def _record(shop: Shop, payload: OrderIn) -> tuple[Order, bool]:
    [result] = orders.record_orders(shop, [_new_order(payload)])
    if result.order is None:
        raise orders.InvalidOrder(result.error)
    return result.order, result.created


def _new_order(payload: OrderIn) -> orders.NewOrder:
    customer = payload.customer
    return orders.NewOrder(
        external_id=payload.external_id,
        number=payload.number,
        customer=orders.CustomerDetails(
            email=customer.email or "",
            phone=customer.phone or "",
            name=customer.name,
            country=customer.country,
            language=customer.language or "",
            consent=customer.consent or "",
            consent_at=customer.consent_at,
        ),
        total=payload.total,
        currency=payload.currency,
        placed_at=payload.placed_at,
        fulfilled_at=payload.fulfilled_at,
        delivered_at=payload.delivered_at,
        lines=[orders.OrderLineDetails(**line.model_dump()) for line in payload.lines],
        is_test=payload.test,
    )


@dataclass(frozen=True)
class Conflict:
    """The item repeats the external id of the one at `index` in the same call, with other details."""

    index: int


def _check_item(item: object) -> OrderIn | list[str]:
    try:
        return OrderIn.model_validate(item)
    except ValidationError as error:
        return [f"{'.'.join(map(str, e['loc'])) or 'order'}: {e['msg']}" for e in error.errors()]


def _bulk_result(
    index: int, raw: object, checked: OrderIn | list[str] | Conflict, recorded: orders.Recorded | None
) -> BulkOrderResult:
    external_id = raw.get("external_id") if isinstance(raw, dict) else None
    external_id = external_id if isinstance(external_id, str) else None
    if isinstance(checked, list):
        return BulkOrderResult(index=index, external_id=external_id, status="rejected", errors=checked)
    if isinstance(checked, Conflict):
        error = f"order {checked.index} of this call has the same external_id with other details; that one counts"
        return BulkOrderResult(index=index, external_id=external_id, status="conflict", errors=[error])
    assert recorded is not None
    if recorded.order is None:
        return BulkOrderResult(index=index, external_id=external_id, status="rejected", errors=[recorded.error])
    return BulkOrderResult(
        index=index,
        external_id=recorded.order.external_id,
        status="created" if recorded.created else "duplicate",
        order_id=recorded.order.pk,
    )
