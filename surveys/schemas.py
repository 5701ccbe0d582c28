"""The surveys app's API schemas: orders in (one or in bulk), order events, and a customer's export and erasure."""

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Literal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from ninja import Field, Schema
from pydantic import AfterValidator, BaseModel, ConfigDict, SkipValidation, model_validator

from surveys.models import Invitation, Order


def _email(value: str) -> str:
    # Django's validator: the same rule the Customer model applies, and far cheaper than
    # email-validator's (the bulk API checks a thousand addresses a call).
    try:
        validate_email(value)
    except DjangoValidationError:
        raise ValueError("value is not a valid email address") from None
    return value


Email = Annotated[str, AfterValidator(_email), Field(max_length=254, json_schema_extra={"format": "email"})]


# Input schemas are plain pydantic models: ninja's Schema adds a wrapper for reading ORM
# objects that only output needs, and it costs a third of the bulk API's time.
class CustomerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email | None = None
    phone: str | None = Field(
        None,
        max_length=32,
        description="As the customer wrote it (+98 912 123 4567, 09121234567, ۰۹۱۲۱۲۳۴۵۶۷); stored in E.164. "
        "Without a country code it is read in the shop's phone region.",
        examples=["+98 912 123 4567"],
    )
    name: str = Field("", max_length=200)
    country: str = Field(
        "",
        pattern=r"^([A-Za-z]{2})?$",
        description="The country of the customer's address (ISO 3166-1, for example IR): a phone number "
        "without its country code is read there, not in the shop's phone region.",
    )
    language: Literal["en", "fa"] | None = None
    consent: Literal["granted", "not_granted", "withdrawn"] | None = Field(
        None,
        description="What the customer said about being contacted: opted in (granted), did not opt in "
        "(not_granted) or opted out (withdrawn). Left out: unchanged. See the shop's consent basis.",
    )
    consent_at: datetime | None = Field(
        None, description="When they said so, with a UTC offset; the order's time if left out."
    )

    @model_validator(mode="after")
    def _consent_time_is_aware(self) -> "CustomerIn":
        _require_offset("consent_at", self.consent_at)
        return self


# Real time zones lie within these; PostgreSQL refuses offsets past ±15:59 (the fuzz test sent
# -19:10 and got a 500), and far years overflow when moved to UTC.
MAX_UTC_OFFSET = timedelta(hours=14)
EARLIEST_YEAR, LATEST_YEAR = 1900, 2199


def _require_offset(name: str, value: datetime | None) -> None:
    if value is None:
        return
    offset = value.utcoffset()
    if offset is None:
        raise ValueError(f"{name} must include a UTC offset, for example 2026-10-21T14:30:00+03:30")
    if abs(offset) > MAX_UTC_OFFSET:
        raise ValueError(f"{name} has a UTC offset beyond ±14:00")
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"{name} must be between the years {EARLIEST_YEAR} and {LATEST_YEAR}")


class OrderLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field("", max_length=100)
    product_name: str = Field("", max_length=300)
    quantity: int = Field(1, ge=1, le=1_000_000)
    unit_price: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2)


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    external_id: str = Field(..., min_length=1, max_length=100, description="The store's id of the order.")
    number: str = Field(
        "", max_length=100, description="The order number the customer knows, if the store has one beside its id."
    )
    customer: CustomerIn
    total: Decimal = Field(..., ge=0, max_digits=14, decimal_places=2)
    currency: str = Field(..., pattern=r"^[A-Za-z]{3}$", description="ISO 4217 code, for example IRR or EUR.")
    placed_at: datetime = Field(..., description="With a UTC offset.")
    fulfilled_at: datetime | None = Field(None, description="Shipped or handed over.")
    delivered_at: datetime | None = None
    lines: list[OrderLineIn] = Field([], max_length=500, description="Products, for surveys that filter by SKU.")
    test: bool = Field(False, description="A test order: stored, never surveyed and never counted.")

    @model_validator(mode="after")
    def _times_are_aware(self) -> "OrderIn":
        for name in ("placed_at", "fulfilled_at", "delivered_at"):
            _require_offset(name, getattr(self, name))
        return self


class OrderEventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event: Literal["fulfilled", "delivered", "cancelled", "refunded"]
    at: datetime | None = Field(None, description="When it happened, with a UTC offset; now if left out.")
    reason: str = Field("", max_length=200, description="Kept with cancelled invitations.")

    @model_validator(mode="after")
    def _time_is_aware(self) -> "OrderEventIn":
        _require_offset("at", self.at)
        return self


class InvitationOut(Schema):
    id: int
    survey_id: int
    channel: str
    status: str = Field(
        ...,
        description="scheduled → sending → sent → opened → answered, or cancelled / suppressed / throttled / "
        "expired / bounced / failed (see `reason`).",
    )
    send_at: datetime
    sent_at: datetime | None
    opened_at: datetime | None
    answered_at: datetime | None
    reminded_at: datetime | None
    expires_at: datetime | None
    closed_at: datetime | None
    reason: str


class OrderOut(Schema):
    id: int
    external_id: str
    number: str
    customer_id: int
    total: Decimal
    currency: str
    placed_at: datetime
    fulfilled_at: datetime | None
    delivered_at: datetime | None
    cancelled_at: datetime | None
    source: str
    test: bool = Field(..., alias="is_test", description="A test order: never surveyed or counted.")
    invitations: list[InvitationOut]

    @staticmethod
    def resolve_invitations(order: Order) -> list[Invitation]:
        return list(order.invitations.all())


MAX_BULK_LINES = 20_000


MAX_BULK_ORDERS = 1000


class BulkOrdersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Each item is checked on its own by the endpoint (as an OrderIn), so one bad order never
    # loses the others; the schema still says each is an OrderIn, so generated clients send typed
    # orders. Hence no validation here beyond the call's size.
    orders: Annotated[list[OrderIn], SkipValidation] = Field(
        ..., json_schema_extra={"minItems": 1, "maxItems": MAX_BULK_ORDERS}
    )

    @model_validator(mode="after")
    def _fits_in_a_call(self) -> "BulkOrdersIn":
        items: object = self.orders
        if not isinstance(items, list):
            raise ValueError("orders must be a list of orders")
        if not 1 <= len(items) <= MAX_BULK_ORDERS:
            raise ValueError(f"a call carries 1 to {MAX_BULK_ORDERS:,} orders, not {len(items):,}")
        # With the body's limit (DATA_UPLOAD_MAX_MEMORY_SIZE, 10 MiB): 1,000 orders of 20 lines fit.
        lines = sum(
            len(item["lines"]) for item in items if isinstance(item, dict) and isinstance(item.get("lines"), list)
        )
        if lines > MAX_BULK_LINES:
            raise ValueError(f"a call may carry at most {MAX_BULK_LINES:,} order lines in all, not {lines:,}")
        return self


class BulkOrderResult(BaseModel):
    index: int
    external_id: str | None
    status: Literal["created", "duplicate", "conflict", "rejected"]
    order_id: int | None = None
    errors: list[str] = []


class BulkOrdersOut(BaseModel):
    created: int
    duplicates: int
    conflicts: int
    rejected: int
    results: list[BulkOrderResult]


# --- Privacy: a customer's export and erasure ------------------------------------------


class CustomerLookupIn(BaseModel):
    """Exactly one of the customer's id, email or phone. In the body, not the URL: addresses
    in URLs end up in access logs."""

    model_config = ConfigDict(extra="forbid")

    id: int | None = Field(None, ge=1, description="The customer's id (as in `customer_id` of an order).")
    email: str | None = Field(None, min_length=3, max_length=254)
    phone: str | None = Field(None, min_length=4, max_length=32)

    @model_validator(mode="after")
    def _exactly_one(self) -> "CustomerLookupIn":
        if sum(value is not None for value in (self.id, self.email, self.phone)) != 1:
            raise ValueError("give exactly one of id, email or phone")
        return self


class ErasureOut(Schema):
    customer_id: int
    erased_at: datetime
    invitations_cancelled: int = Field(..., description="Surveys not sent yet, now cancelled.")
    links_closed: int = Field(..., description="Survey links sent and not answered, now closed.")
    answers_cleared: int = Field(..., description="Comments and other texts blanked (their scores stay).")
    notes_cleared: int = Field(..., description="Case notes, replies and the customer's messages erased.")
    cases: int = Field(..., description="Cases of the customer; each records the erasure in its trail.")
