"""Importing another store's export in the admin: upload it, see its first rows, say which of
Bazgasht's fields each column holds (or leave it out), preview what would be stored and what
rejected, then import. The mapping is remembered for the shop, for its next file with the same
columns. Bazgasht's own columns and Shopify's order export need no mapping (surveys.intake.csv_import).
"""

import csv
import hashlib
import io
import itertools
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from surveys.intake.csv_import import ImportReport, import_orders
from surveys.intake.csv_layouts import COLUMNS, CsvFileError, layout_for
from surveys.models import ColumnMapping, PendingImport, Shop

# An upload nobody mapped is deleted after this long: it holds customers' details.
KEEP_UPLOADS = timedelta(days=1)
SAMPLE_ROWS = 5

FIELD_LABELS = {
    "external_id": "Order id (the store's)",
    "number": "Order number (the customer's)",
    "email": "Customer email",
    "phone": "Customer phone",
    "name": "Customer name",
    "country": "Customer country (code, as IR)",
    "language": "Customer language (en, fa)",
    "consent": "Agreed to be contacted (yes/no)",
    "consent_at": "When they agreed",
    "financial_status": "Payment status (paid, pending…)",
    "total": "Order total",
    "currency": "Currency (IRR, EUR…)",
    "placed_at": "Order date",
    "fulfilled_at": "Shipped on",
    "delivered_at": "Delivered on",
    "cancelled_at": "Cancelled on",
    "sku": "Product SKU",
    "product_name": "Product name",
    "quantity": "Quantity",
    "unit_price": "Unit price",
}
assert set(FIELD_LABELS) == set(COLUMNS)

# First guesses for a column never mapped before, by its name in lower case (the shop corrects them).
_GUESSES = {
    "order id": "external_id", "order_id": "external_id", "id": "external_id", "شناسه سفارش": "external_id",
    "order number": "number", "order no": "number", "order #": "number", "شماره سفارش": "number",
    "email": "email", "billing email": "email", "billing email address": "email", "customer email": "email",
    "ایمیل": "email", "phone": "phone", "billing phone": "phone", "mobile": "phone", "تلفن": "phone",
    "موبایل": "phone", "customer name": "name", "billing name": "name", "billing first name": "name", "نام": "name",
    "billing country": "country", "country": "country", "order status": "financial_status",
    "status": "financial_status", "total": "total", "order total": "total", "order total amount": "total",
    "مبلغ": "total", "currency": "currency", "order currency": "currency", "order date": "placed_at",
    "date": "placed_at", "created at": "placed_at", "date created": "placed_at", "تاریخ": "placed_at",
    "sku": "sku", "item sku": "sku", "product name": "product_name", "item name": "product_name",
    "quantity": "quantity", "qty": "quantity", "item cost": "unit_price", "price": "unit_price",
}  # fmt: skip


def decode(data: bytes) -> str:
    """The uploaded file as text (UTF-8, with or without Excel's byte-order mark)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CsvFileError("the file is not UTF-8 text; in Excel, save it as “CSV UTF-8 (comma delimited)”") from None


def rows_of(text: str) -> io.StringIO:
    # newline="" keeps quoted line breaks for csv, as open(..., newline="") does.
    return io.StringIO(text, newline="")


def first_rows(text: str, count: int = SAMPLE_ROWS) -> tuple[list[str], list[list[str]]]:
    """The header and the first `count` rows, to show beside the mapping."""
    lines = rows_of(text)
    header_line = lines.readline()
    if not header_line.strip():
        raise CsvFileError("the first line is empty; it must name the columns")
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    reader = csv.reader(itertools.chain([header_line], lines), delimiter=delimiter)
    try:
        header = [name.strip() for name in next(reader)]
        return header, list(itertools.islice(reader, count))
    except csv.Error as error:
        raise CsvFileError(f"the file is not readable CSV: {error}") from error


def needs_mapping(header: list[str]) -> bool:
    """Whether the file is in neither Bazgasht's own layout nor Shopify's export."""
    try:
        layout_for(header)
    except CsvFileError:
        return True
    return False


def _key(header: list[str]) -> str:
    return hashlib.sha256("\x1f".join(header).encode()).hexdigest()


def suggested(shop: Shop, header: list[str]) -> tuple[dict[str, str], str]:
    """The mapping (and currency) remembered for this header, else what the shop's other
    mappings and the column names suggest."""
    known = ColumnMapping.objects.filter(shop=shop, header_key=_key(header)).first()
    if known is not None:
        return {
            name: field for name, field in known.mapping.items() if name in header and field in COLUMNS
        }, known.currency
    learned: dict[str, str] = {}
    for mapping in ColumnMapping.objects.filter(shop=shop).order_by("updated_at").values_list("mapping", flat=True):
        learned |= mapping  # the newest wins
    guesses = {}
    for name in header:
        field = learned.get(name) or _GUESSES.get(name.strip().lower())
        if field in COLUMNS:
            guesses[name] = field
    return guesses, ""


def remember(shop: Shop, header: list[str], mapping: dict[str, str], currency: str = "") -> None:
    ColumnMapping.objects.update_or_create(
        shop=shop, header_key=_key(header), defaults={"header": header, "mapping": mapping, "currency": currency}
    )


class _Preview(Exception):
    """Raised to roll the preview's writes back."""


def preview(
    shop: Shop, text: str, mapping: dict[str, str], *, currency: str = "", schedule_surveys: bool
) -> ImportReport:
    """What importing would do, to the order: stored, already there, rejected with the reasons.
    The import runs in full and is rolled back, so the preview says what the database would."""
    report = ImportReport()
    try:
        with transaction.atomic():
            report = import_orders(
                shop, rows_of(text), mapping=mapping, currency=currency, schedule_surveys=schedule_surveys
            )
            raise _Preview
    except _Preview:
        return report


def run(pending: PendingImport, mapping: dict[str, str], *, currency: str = "") -> ImportReport:
    """Import the upload with this mapping, remember the mapping, and delete the upload."""
    report = import_orders(
        pending.shop,
        rows_of(pending.text),
        mapping=mapping,
        currency=currency,
        schedule_surveys=pending.schedule_surveys,
    )
    header, _ = first_rows(pending.text, 0)
    remember(pending.shop, header, mapping, currency)
    pending.delete()
    return report


def forget_stale_uploads(now: datetime | None = None) -> int:
    """Delete uploads left unmapped for a day; how many."""
    cutoff = (now or timezone.now()) - KEEP_UPLOADS
    deleted, _ = PendingImport.objects.filter(created_at__lt=cutoff).delete()
    return deleted
