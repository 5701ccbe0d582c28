from django.http import HttpRequest
from ninja import Router, Status

from surveys import domain
from surveys.errors import NotFound
from surveys.queries import orders_of
from surveys.schemas import OrderIn, OrderOut

router = Router(tags=["orders"])


@router.post("/orders", response={200: OrderOut, 201: OrderOut})
def create_order(request: HttpRequest, payload: OrderIn) -> Status:
    """Record an order and schedule its surveys. Idempotent on `external_id`:
    posting the same order again answers 200 with the stored order and changes nothing."""
    customer = payload.customer
    order, created = domain.record_order(
        request.auth,  # type: ignore[attr-defined]
        external_id=payload.external_id,
        customer=domain.CustomerDetails(
            email=customer.email or "", phone=customer.phone or "", name=customer.name, language=customer.language or ""
        ),
        total=payload.total,
        currency=payload.currency,
        placed_at=payload.placed_at,
        fulfilled_at=payload.fulfilled_at,
    )
    return Status(201 if created else 200, order)


@router.get("/orders/{external_id}", response=OrderOut)
def get_order(request: HttpRequest, external_id: str) -> object:
    order = orders_of(request.auth).prefetch_related("invitations").filter(external_id=external_id).first()  # type: ignore[attr-defined]
    if order is None:
        raise NotFound("no such order")
    return order
