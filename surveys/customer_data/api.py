"""A customer's data by API: the export of everything held about them, and their erasure."""

from typing import Any

from ninja import Router

from surveys.customer_data import privacy
from surveys.models import Customer, Shop
from surveys.requests import ShopRequest
from surveys.schemas import CustomerLookupIn, ErasureOut

router = Router(tags=["customers"])


@router.post("/customers/export", response=dict[str, Any])
def export_customer(request: ShopRequest, payload: CustomerLookupIn) -> dict[str, Any]:
    """Everything held about one customer (by id, email or phone), as JSON: their details,
    orders, invitations, answers with their sentiment and themes, cases with notes, and
    suppression-list entries. A POST so that no address goes into a URL."""
    return privacy.export_customer(_customer(request.auth, payload))


@router.post("/customers/erase", response=ErasureOut)
def erase_customer(request: ShopRequest, payload: CustomerLookupIn) -> privacy.Erased:
    """Erase one customer (by id, email or phone): their details, comments and case notes are
    erased, scores and orders stay for the numbers, surveys not yet sent are cancelled and
    their addresses are never surveyed again. Safe to repeat (by id, once erased)."""
    customer = _customer(request.auth, payload)
    return privacy.erase_customer(customer, via=f"API key {request.api_key_name}")


def _customer(shop: Shop, payload: CustomerLookupIn) -> Customer:
    return privacy.find_customer(shop, customer_id=payload.id, email=payload.email or "", phone=payload.phone or "")
