from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from ninja import Field, Schema
from pydantic import ConfigDict, EmailStr, model_validator


class CustomerIn(Schema):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr | None = Field(None, max_length=254)
    phone: str | None = Field(None, max_length=32, pattern=r"^\+?[0-9 ()\-]{4,32}$")
    name: str = Field("", max_length=200)
    language: Literal["en", "fa"] | None = None


class OrderIn(Schema):
    model_config = ConfigDict(extra="forbid")

    external_id: str = Field(..., min_length=1, max_length=100, description="The shop's own order number.")
    customer: CustomerIn
    total: Decimal = Field(..., ge=0, max_digits=14, decimal_places=2)
    currency: str = Field(..., pattern=r"^[A-Za-z]{3}$", description="ISO 4217 code, for example IRR or EUR.")
    placed_at: datetime = Field(..., description="With a UTC offset.")
    fulfilled_at: datetime | None = None

    @model_validator(mode="after")
    def _times_are_aware(self) -> "OrderIn":
        for name in ("placed_at", "fulfilled_at"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} must include a UTC offset, for example 2026-10-21T14:30:00+03:30")
        return self


class InvitationOut(Schema):
    id: int
    survey_id: int
    channel: str
    status: str
    send_at: datetime
    sent_at: datetime | None


class OrderOut(Schema):
    id: int
    external_id: str
    customer_id: int
    total: Decimal
    currency: str
    placed_at: datetime
    fulfilled_at: datetime | None
    invitations: list[InvitationOut]

    @staticmethod
    def resolve_invitations(order: object) -> list[object]:
        return list(order.invitations.all())  # type: ignore[attr-defined]


class BulkOrdersIn(Schema):
    model_config = ConfigDict(extra="forbid")

    # Items are checked one by one (see OrderIn), so one bad row never loses the others.
    orders: list[Any] = Field(..., min_length=1, max_length=1000)


class BulkOrderResult(Schema):
    index: int
    external_id: str | None
    status: Literal["created", "duplicate", "rejected"]
    order_id: int | None = None
    errors: list[str] = []


class BulkOrdersOut(Schema):
    created: int
    duplicates: int
    rejected: int
    results: list[BulkOrderResult]
