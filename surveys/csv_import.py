"""Import a shop's past orders from the CSV its store exported.

One row per order line; rows sharing an `external_id` are one order, consecutive
or not. Order-level cells may be left blank on an order's later rows (Shopify's
export does that); a value given there must agree with the order's first one.
Times without a UTC offset, and plain dates, are read in the shop's time zone.

The whole file is read and checked before anything is stored, so a file-level
problem (a wrong header, too many rows, not UTF-8) stores nothing. Each order is
then stored in batches through `record_orders`, which answers for each on its own:
one bad row never loses the others.
"""

import csv
import itertools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from decimal import Decimal
from functools import partial
from typing import Any, TextIO

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone

from surveys import phones
from surveys.consent import parse_consent
from surveys.domain import CustomerDetails, InvalidOrder, NewOrder, OrderLineDetails, Recorded, record_orders
from surveys.errors import DomainError
from surveys.models import Language, Order, Shop

MAX_ROWS = 50_000
# Orders stored per transaction: a few queries per batch, not per order.
BATCH_SIZE = 500

ORDER_COLUMNS = (
    "number",
    "email",
    "phone",
    "name",
    "language",
    "consent",
    "consent_at",
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
# Required on the order, which is not the same as on every row: see the module docstring.
REQUIRED_ORDER_FIELDS = ("total", "currency", "placed_at")
TIME_COLUMNS = ("placed_at", "fulfilled_at", "delivered_at", "cancelled_at", "consent_at")

# Persian and Arabic-Indic digits, and the Arabic decimal and thousands separators.
_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩٫٬", "01234567890123456789.,")
# "1234.50" or "1,234.50"; a lone comma ("12,50") is refused rather than guessed at.
_NUMBER = re.compile(r"^-?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$")
_CURRENCY = re.compile(r"^[A-Za-z]{3}$")
_MAX_AMOUNT = Decimal("1e12")  # Order.total has 14 digits, 2 of them after the point.


class CsvFileError(DomainError):
    """The file as a whole cannot be imported; nothing was stored."""


@dataclass(frozen=True)
class Rejection:
    lines: tuple[int, ...]
    external_id: str
    reasons: tuple[str, ...]  # Each names the line(s) it is about.

    @property
    def lines_text(self) -> str:
        return ", ".join(map(str, self.lines))


@dataclass
class ImportReport:
    created: int = 0
    duplicates: int = 0
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.rejections)

    def as_text(self) -> str:
        text = [
            f"{self.created} orders created, {self.duplicates} already stored (duplicates), {self.rejected} rejected."
        ]
        if self.rejections:
            text.append("Rejected:")
            for rejection in self.rejections:
                name = rejection.external_id or "(no external_id)"
                text.extend(f"  {name} — {reason}" for reason in rejection.reasons)
        return "\n".join(text)

    def write_rejections(self, out: TextIO) -> None:
        """The rejected orders as CSV (lines, external_id, reasons), to fix and import again."""
        writer = csv.writer(out)
        writer.writerow(["lines", "external_id", "reasons"])
        for rejection in self.rejections:
            writer.writerow([rejection.lines_text, rejection.external_id, "; ".join(rejection.reasons)])


@dataclass
class _Row:
    line: int
    external_id: str
    order: dict[str, Any]  # The order-level cells given on this row, parsed.
    given: set[str]  # The cells not blank on this row, parsed or not.
    item: OrderLineDetails | None
    errors: list[str]


@dataclass
class _PendingOrder:
    external_id: str
    lines: list[int]
    fields: dict[str, Any]
    field_lines: dict[str, int]  # Where each order-level value was first given.
    given: set[str]
    items: list[OrderLineDetails]
    errors: list[str]


def import_orders(
    shop: Shop,
    rows: Iterable[str] | TextIO,
    *,
    schedule_surveys: bool = False,
    source: str = Order.Source.CSV,
) -> ImportReport:
    """Store the orders of a CSV export (text lines, header first) and report on each.

    Historical orders are stored without surveys unless `schedule_surveys` is set
    (even then, only orders recent enough for a survey still to be open get one).
    An order already stored is counted as a duplicate and left unchanged.
    Raises CsvFileError, storing nothing, when the file cannot be read as a whole.
    Side effects: creates customers, orders, their lines and any invitations.
    """
    pending, rejections = _read(shop, rows)
    report = ImportReport(rejections=rejections)
    ready = []
    for order in pending.values():
        missing = [f"{name}: required" for name in REQUIRED_ORDER_FIELDS if name not in order.given]
        if order.errors or missing:
            where = _lines_label(order.lines)
            reasons = (*order.errors, *(f"{where}: {problem}" for problem in missing))
            report.rejections.append(Rejection(tuple(order.lines), order.external_id, reasons))
        else:
            ready.append(order)
    for start in range(0, len(ready), BATCH_SIZE):
        batch = ready[start : start + BATCH_SIZE]
        results = _store(shop, [_new_order(order) for order in batch], source=source, schedule=schedule_surveys)
        for order, result in zip(batch, results, strict=True):
            if result.order is None:
                reason = f"{_lines_label(order.lines)}: {result.error}"
                report.rejections.append(Rejection(tuple(order.lines), order.external_id, (reason,)))
            elif result.created:
                report.created += 1
            else:
                report.duplicates += 1
    report.rejections.sort(key=lambda rejection: rejection.lines)
    return report


def _store(shop: Shop, new_orders: list[NewOrder], *, source: str, schedule: bool) -> list[Recorded]:
    try:
        return record_orders(shop, new_orders, source=source, schedule=schedule)
    except InvalidOrder:
        # The batch could not be stored (a concurrent write, twice, or a clash between
        # its customers): one order at a time, so that one does not take the others with it.
        results = []
        for new in new_orders:
            try:
                [result] = record_orders(shop, [new], source=source, schedule=schedule)
            except InvalidOrder as error:
                result = Recorded(None, error=error.message)
            results.append(result)
        return results


def _new_order(order: _PendingOrder) -> NewOrder:
    fields = order.fields
    return NewOrder(
        external_id=order.external_id,
        customer=CustomerDetails(
            email=fields.get("email", ""),
            phone=fields.get("phone", ""),
            name=fields.get("name", ""),
            language=fields.get("language", ""),
            consent=fields.get("consent", ""),
            consent_at=fields.get("consent_at"),
        ),
        total=fields["total"],
        currency=fields["currency"],
        placed_at=fields["placed_at"],
        fulfilled_at=fields.get("fulfilled_at"),
        delivered_at=fields.get("delivered_at"),
        cancelled_at=fields.get("cancelled_at"),
        lines=order.items,
        number=fields.get("number", ""),
    )


def _read(shop: Shop, rows: Iterable[str]) -> tuple[dict[str, _PendingOrder], list[Rejection]]:
    """Parse and group the whole file; the parsed orders are the only copy kept in memory."""
    lines = iter(rows)
    try:
        header_line = next(lines, "").removeprefix("\ufeff")
        if not header_line.strip():
            raise CsvFileError("the first line is empty; it must name the columns")
        delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
        reader = csv.reader(itertools.chain([header_line], lines), delimiter=delimiter)
        columns = _check_header(next(reader))
        parsers = _cell_parsers(shop)
        pending: dict[str, _PendingOrder] = {}
        rejections: list[Rejection] = []
        count = 0
        line = 2  # Where the next row starts: a quoted cell may span lines.
        for values in reader:
            if any(cell.strip() for cell in values):
                count += 1
                if count > MAX_ROWS:
                    raise CsvFileError(
                        f"the file has more than {MAX_ROWS:,} rows; split it into smaller files and import each"
                    )
                row = _parse_row(parsers, columns, line, values)
                if row.external_id:
                    _add(pending, row)
                else:
                    rejections.append(Rejection((row.line,), "", tuple(row.errors)))
            line = reader.line_num + 1
    except UnicodeDecodeError as error:
        raise CsvFileError("the file is not UTF-8 text; in Excel, save it as “CSV UTF-8 (comma delimited)”") from error
    except csv.Error as error:
        raise CsvFileError(f"the file is not readable CSV: {error}") from error
    return pending, rejections


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
        raise CsvFileError(f"the header (line 1) is wrong: {'; '.join(problems)}. Known columns: {', '.join(COLUMNS)}")
    return columns


def _parse_row(parsers: dict[str, Callable[[str], Any]], columns: list[str], line: int, values: list[str]) -> _Row:
    if len(values) != len(columns):
        external_id = dict(zip(columns, values, strict=False)).get("external_id", "").strip()
        error = f"line {line}: {len(values)} values, but the header names {len(columns)} columns"
        # Which cell is which cannot be told, so none is reported missing on top of this.
        return _Row(line, external_id, {}, set(columns), None, [error])
    cells = {name: value.strip() for name, value in zip(columns, values, strict=True)}
    parsed: dict[str, Any] = {}
    errors = [] if cells["external_id"] else [f"line {line}: external_id: required"]
    for name, cell in cells.items():
        if cell:
            try:
                parsed[name] = parsers[name](cell)
            except ValueError as error:
                errors.append(f"line {line}: {name}: {error}")
    item = None
    if any(cells.get(name) for name in LINE_COLUMNS):
        item = OrderLineDetails(
            sku=parsed.get("sku", ""),
            product_name=parsed.get("product_name", ""),
            quantity=parsed.get("quantity", 1),
            unit_price=parsed.get("unit_price"),
        )
    order = {name: parsed[name] for name in ORDER_COLUMNS if name in parsed}
    given = {name for name, cell in cells.items() if cell}
    return _Row(line, cells["external_id"], order, given, item, errors)


def _cell_parsers(shop: Shop) -> dict[str, Callable[[str], Any]]:
    in_shop_time = partial(_time, tz=shop.tz)
    return {
        "external_id": partial(_text, max_length=100),
        "number": partial(_text, max_length=100),
        "email": _email,
        "phone": _phone,
        "name": partial(_text, max_length=200),
        "language": _language,
        "consent": parse_consent,
        "total": _amount,
        "currency": _currency,
        **dict.fromkeys(TIME_COLUMNS, in_shop_time),
        "sku": partial(_text, max_length=100),
        "product_name": partial(_text, max_length=300),
        "quantity": _quantity,
        "unit_price": _amount,
    }


def _add(pending: dict[str, _PendingOrder], row: _Row) -> None:
    order = pending.get(row.external_id)
    if order is None:
        pending[row.external_id] = _PendingOrder(
            external_id=row.external_id,
            lines=[row.line],
            fields=dict(row.order),
            field_lines=dict.fromkeys(row.order, row.line),
            given=set(row.given),
            items=[row.item] if row.item else [],
            errors=list(row.errors),
        )
        return
    order.lines.append(row.line)
    order.given |= row.given
    order.errors.extend(row.errors)
    if row.item:
        order.items.append(row.item)
    for name, value in row.order.items():
        if name not in order.fields:
            order.fields[name] = value
            order.field_lines[name] = row.line
        elif order.fields[name] != value:
            order.errors.append(
                f"line {row.line}: {name}: {_show(value)} differs from {_show(order.fields[name])} "
                f"on line {order.field_lines[name]} of the same order"
            )


def _lines_label(lines: list[int]) -> str:
    return f"line {lines[0]}" if len(lines) == 1 else f"lines {', '.join(map(str, lines))}"


def _show(value: Any) -> str:
    return repr(value.isoformat() if isinstance(value, datetime) else str(value))


# --- Cells: each parser returns the value or raises ValueError saying what is wrong ---


def _text(value: str, *, max_length: int) -> str:
    if len(value) > max_length:
        raise ValueError(f"longer than {max_length} characters")
    return value


def _email(value: str) -> str:
    if len(value) > 254:
        raise ValueError("longer than 254 characters")
    try:
        validate_email(value)
    except ValidationError:
        raise ValueError(f"{value!r} is not an email address") from None
    return value.lower()


def _phone(value: str) -> str:
    # Read into E.164, in the shop's region, as the order is recorded (surveys.phones).
    if len(value) > phones.MAX_TYPED_LENGTH:
        raise ValueError(f"{value[: phones.MAX_TYPED_LENGTH]!r}… is too long for a phone number")
    return value


def _language(value: str) -> str:
    language = value.lower()
    if language not in Language.values:
        raise ValueError(f"{value!r} is not one of {', '.join(Language.values)}")
    return language


def _currency(value: str) -> str:
    if not _CURRENCY.match(value):
        raise ValueError(f"{value!r} is not a 3-letter currency code such as EUR or IRR")
    return value.upper()


def _amount(value: str) -> Decimal:
    number = value.translate(_DIGITS).replace(" ", "")
    if not _NUMBER.match(number):
        raise ValueError(f"{value!r} is not a number (write it like 1234.50 or 1,234.50)")
    amount = Decimal(number.replace(",", ""))
    if amount < 0:
        raise ValueError(f"{value!r} is negative")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError(f"{value!r} has more than 2 decimal places")
    if amount >= _MAX_AMOUNT:
        raise ValueError(f"{value!r} is too large")
    return amount


def _quantity(value: str) -> int:
    number = value.translate(_DIGITS)
    if not number.isascii() or not number.isdigit() or not 1 <= int(number) <= 1_000_000:
        raise ValueError(f"{value!r} is not a whole number from 1 to 1,000,000")
    return int(number)


def _time(value: str, *, tz: tzinfo) -> datetime:
    """ISO 8601; without an offset (or a plain date, read as midnight) it is shop time."""
    try:
        moment = datetime.fromisoformat(value.translate(_DIGITS))
    except ValueError:
        raise ValueError(
            f"{value!r} is not a date or time (write it like 2026-10-21T14:30:00+03:30 or 2026-10-21)"
        ) from None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, tz)
    return moment
