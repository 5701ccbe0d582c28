"""The CSV files an import reads: Bazgasht's own columns, Shopify's order export (recognised by
its header) and any other file through a column mapping, each read as one `Layout`."""

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from surveys.errors import DomainError
from surveys.intake.csv_cells import (
    CURRENCY_CODE,
    amount_cell,
    country_cell,
    currency_cell,
    email_cell,
    language_cell,
    phone_cell,
    quantity_cell,
    text_cell,
    time_cell,
)
from surveys.models import Shop
from surveys.outreach.consent import parse_consent

MAX_ROWS = 50_000

ORDER_COLUMNS = (
    "number",
    "email",
    "phone",
    "name",
    "country",
    "language",
    "consent",
    "consent_at",
    "financial_status",
    "total",
    "currency",
    "placed_at",
    "fulfilled_at",
    "delivered_at",
    "cancelled_at",
)
LINE_COLUMNS = ("sku", "product_name", "quantity", "unit_price")
COLUMNS = ("external_id", *ORDER_COLUMNS, *LINE_COLUMNS)
REQUIRED_COLUMNS = ("external_id", "total", "currency", "placed_at")
# What a survey needs: a way to reach the customer. A file with neither column is refused.
CONTACT_COLUMNS = ("email", "phone")

# Shopify's order export (Shopify Help Center, "Exporting orders"): its columns that Bazgasht
# reads, by lower-case name. `Name` (#1001) is on every row of an order and is the number the
# customer knows; `Id` is on the first row only. Where two columns give one field, the first
# one filled wins (Phone, else Billing Phone; Billing Name, else Shipping Name).
SHOPIFY_EXPORT = {
    "name": "number",
    "id": "external_id",
    "email": "email",
    "phone": "phone",
    "billing phone": "phone",
    "shipping phone": "phone",
    "billing name": "name",
    "shipping name": "name",
    "billing country": "country",
    "shipping country": "country",
    "accepts marketing": "consent",
    "financial status": "financial_status",
    "currency": "currency",
    "total": "total",
    "created at": "placed_at",
    "fulfilled at": "fulfilled_at",
    "cancelled at": "cancelled_at",
    "lineitem quantity": "quantity",
    "lineitem name": "product_name",
    "lineitem price": "unit_price",
    "lineitem sku": "sku",
}
SHOPIFY_SIGNATURE = frozenset({"name", "financial status", "created at", "lineitem name", "total"})
# Required on the order, which is not the same as on every row: see the module docstring.
REQUIRED_ORDER_FIELDS = ("total", "currency", "placed_at")
TIME_COLUMNS = ("placed_at", "fulfilled_at", "delivered_at", "cancelled_at", "consent_at")


class CsvFileError(DomainError):
    """The file as a whole cannot be imported; nothing was stored."""


@dataclass(frozen=True)
class Layout:
    """Which of Bazgasht's fields each column of a file holds (None: left out), and which of
    them makes rows one order."""

    name: str
    fields: tuple[str | None, ...]
    group_by: str = "external_id"
    # The currency of every order, for a file that has no currency column (a mapping may say).
    currency: str = ""

    def holds(self, name: str) -> bool:
        return name in self.fields or (name == "currency" and bool(self.currency))


def layout_for(header: list[str], mapping: dict[str, str] | None = None, *, currency: str = "") -> Layout:
    """The layout of a file with this header: by `mapping` (column → field, as made in the
    admin, with `currency` for every order if no column holds it), Shopify's order export, or
    Bazgasht's own columns. CsvFileError says what is wrong."""
    names = [name.strip() for name in header]
    lower = [name.lower() for name in names]
    if mapping is not None:
        fields = tuple(mapping.get(name) or None for name in names)
        unknown = sorted({field for field in fields if field and field not in COLUMNS})
        if unknown:
            raise CsvFileError(f"the mapping names unknown field(s): {', '.join(unknown)}")
        if currency and not CURRENCY_CODE.match(currency):
            raise CsvFileError(f"{currency!r} is not a 3-letter currency code such as EUR or IRR")
        group_by = "external_id" if "external_id" in fields else "number"
        layout = Layout("your column mapping", fields, group_by, currency.upper())
    elif set(lower) >= SHOPIFY_SIGNATURE:
        layout = Layout("Shopify order export", tuple(SHOPIFY_EXPORT.get(name) for name in lower), "number")
    else:
        layout = Layout("Bazgasht columns", tuple(_check_header(lower)))
    _check_layout(layout)
    return layout


def _check_layout(layout: Layout) -> None:
    if layout.group_by == "number" and not layout.holds("number"):
        raise CsvFileError("no column holds the order's external_id or number: map one of them")
    missing = [name for name in REQUIRED_ORDER_FIELDS if not layout.holds(name)]
    if missing:
        raise CsvFileError(
            f"no column holds the order's {', '.join(missing)}: map a column to each"
            + (" (or give the currency of every order)" if missing == ["currency"] else "")
        )
    if not any(layout.holds(name) for name in CONTACT_COLUMNS):
        raise CsvFileError(
            "the file has no email or phone column, so nobody could be asked about these orders. "
            "Export the orders with the customer's email or phone (in WooCommerce, not the Analytics "
            "export, which leaves them out), or map the column that holds them."
        )


def _check_header(header: list[str]) -> list[str]:
    columns = [name.strip().lower() for name in header]
    problems = []
    unknown = [name for name in columns if name not in COLUMNS]
    if unknown:
        problems.append(f"unknown column(s): {', '.join(repr(name) for name in unknown)}")
    repeated = sorted({name for name in columns if columns.count(name) > 1})
    if repeated:
        problems.append(f"column(s) given twice: {', '.join(repeated)}")
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        problems.append(f"missing required column(s): {', '.join(missing)}")
    if problems:
        raise CsvFileError(
            f"the header (line 1) is wrong: {'; '.join(problems)}. Known columns: {', '.join(COLUMNS)}. "
            "Shopify's order export is read as it is; another store's file can be imported by mapping "
            "its columns in the admin (Orders → Import orders)."
        )
    return columns


def cell_parsers(shop: Shop) -> dict[str, Callable[[str], Any]]:
    in_shop_time = partial(time_cell, tz=shop.tz)
    return {
        "external_id": partial(text_cell, max_length=100),
        # Shopify's "#1001": the customer knows it as 1001 (as the webhooks store it).
        "number": lambda value: text_cell(value.removeprefix("#"), max_length=100),
        "email": email_cell,
        "phone": phone_cell,
        "name": partial(text_cell, max_length=200),
        "country": country_cell,
        "language": language_cell,
        "consent": parse_consent,
        "financial_status": lambda value: text_cell(value.lower().replace(" ", "_"), max_length=40),
        "total": amount_cell,
        "currency": currency_cell,
        **dict.fromkeys(TIME_COLUMNS, in_shop_time),
        "sku": partial(text_cell, max_length=100),
        "product_name": partial(text_cell, max_length=300),
        "quantity": quantity_cell,
        "unit_price": amount_cell,
    }
