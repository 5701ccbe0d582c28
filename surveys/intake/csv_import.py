"""Import a shop's past orders from the CSV its store exported.

Three layouts are read: Bazgasht's own columns (below); Shopify's order export as Shopify
documents it, recognised by its header; and any other file through a column mapping (each of
its columns holds one of Bazgasht's fields, or nothing), made in the admin and remembered.

One row per order line; rows sharing an `external_id` are one order, consecutive
or not (in Shopify's export, rows sharing a `Name`, as its `Id` is on the first row only).
Order-level cells may be left blank on an order's later rows (Shopify's
export does that); a value given there must agree with the order's first one.
Times without a UTC offset, and plain dates, are read in the shop's time zone.
A file that cannot give what a survey needs, an email or a phone column, is refused.

The whole file is read and checked before anything is stored, so a file-level
problem (a wrong header, too many rows, not UTF-8) stores nothing. Each order is
then stored in batches through `record_orders`, which answers for each on its own:
one bad row never loses the others.

The layouts are in surveys.intake.csv_layouts, the cells' parsers in surveys.intake.csv_cells."""

import csv
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TextIO

from surveys.intake.csv_layouts import (
    LINE_COLUMNS,
    MAX_ROWS,
    ORDER_COLUMNS,
    REQUIRED_ORDER_FIELDS,
    CsvFileError,
    Layout,
    cell_parsers,
    layout_for,
)
from surveys.intake.orders import CustomerDetails, InvalidOrder, NewOrder, OrderLineDetails, Recorded, record_orders
from surveys.models import Order, Shop

# Orders stored per transaction: a few queries per batch, not per order.
BATCH_SIZE = 500
# A store's payment states of an order that is not (or no longer) a purchase: stored, not surveyed.
UNPAID_STATUSES = frozenset({"pending", "authorized", "expired", "voided", "refunded", "unpaid", "failed"})


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

    layout: str = "Bazgasht columns"

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
    key: str  # What makes rows one order: the external_id, or in Shopify's export the Name.
    order: dict[str, Any]  # The order-level cells given on this row, parsed.
    given: set[str]  # The cells not blank on this row, parsed or not.
    item: OrderLineDetails | None
    errors: list[str]


@dataclass
class _PendingOrder:
    key: str
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
    mapping: dict[str, str] | None = None,
    currency: str = "",
) -> ImportReport:
    """Store the orders of a CSV export (text lines, header first) and report on each.

    Historical orders are stored without surveys unless `schedule_surveys` is set
    (even then, only orders recent enough for a survey still to be open get one).
    An order already stored is counted as a duplicate and left unchanged.
    An order whose payment state is not a purchase (UNPAID_STATUSES) is stored and not surveyed.
    `mapping` (column name → field) reads a file in any other layout, `currency` giving the
    currency of every order where no column does (see layout_for).
    Raises CsvFileError, storing nothing, when the file cannot be read as a whole.
    Side effects: creates customers, orders, their lines and any invitations.
    """
    layout, pending, rejections = _read(shop, rows, mapping, currency)
    report = ImportReport(rejections=rejections, layout=layout.name)
    ready = []
    for order in pending.values():
        missing = [
            f"{name}: required"
            for name in REQUIRED_ORDER_FIELDS
            if name not in order.given and not (name == "currency" and layout.currency)
        ]
        if order.errors or missing:
            where = _lines_label(order.lines)
            reasons = (*order.errors, *(f"{where}: {problem}" for problem in missing))
            report.rejections.append(Rejection(tuple(order.lines), _external_id(order), reasons))
        else:
            ready.append(order)
    for paid in (True, False):
        chosen = [order for order in ready if _is_paid(order) == paid]
        for start in range(0, len(chosen), BATCH_SIZE):
            batch = chosen[start : start + BATCH_SIZE]
            _store_batch(shop, batch, layout, report, source, schedule_surveys and paid)
    report.rejections.sort(key=lambda rejection: rejection.lines)
    return report


def _is_paid(order: _PendingOrder) -> bool:
    return str(order.fields.get("financial_status", "")) not in UNPAID_STATUSES


def _external_id(order: _PendingOrder) -> str:
    # Shopify's export without its Id column: the order is known by its number.
    return str(order.fields.get("external_id") or order.fields.get("number") or order.key)


def _store_batch(
    shop: Shop, batch: list[_PendingOrder], layout: Layout, report: ImportReport, source: str, schedule: bool
) -> None:
    results = _store(shop, [_new_order(order, layout) for order in batch], source=source, schedule=schedule)
    for order, result in zip(batch, results, strict=True):
        if result.order is None:
            reason = f"{_lines_label(order.lines)}: {result.error}"
            report.rejections.append(Rejection(tuple(order.lines), _external_id(order), (reason,)))
        elif result.created:
            report.created += 1
        else:
            report.duplicates += 1


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


def _new_order(order: _PendingOrder, layout: Layout) -> NewOrder:
    fields = order.fields
    return NewOrder(
        external_id=_external_id(order),
        customer=CustomerDetails(
            email=fields.get("email", ""),
            phone=fields.get("phone", ""),
            name=fields.get("name", ""),
            country=fields.get("country", ""),
            language=fields.get("language", ""),
            consent=fields.get("consent", ""),
            consent_at=fields.get("consent_at"),
        ),
        total=fields["total"],
        currency=fields.get("currency") or layout.currency,
        placed_at=fields["placed_at"],
        fulfilled_at=fields.get("fulfilled_at"),
        delivered_at=fields.get("delivered_at"),
        cancelled_at=fields.get("cancelled_at"),
        lines=order.items,
        number=fields.get("number", ""),
    )


def _read(
    shop: Shop, rows: Iterable[str], mapping: dict[str, str] | None, currency: str
) -> tuple[Layout, dict[str, _PendingOrder], list[Rejection]]:
    """Parse and group the whole file; the parsed orders are the only copy kept in memory."""
    lines = iter(rows)
    try:
        header_line = next(lines, "").removeprefix("\ufeff")
        if not header_line.strip():
            raise CsvFileError("the first line is empty; it must name the columns")
        delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
        reader = csv.reader(itertools.chain([header_line], lines), delimiter=delimiter)
        layout = layout_for(next(reader), mapping, currency=currency)
        parsers = cell_parsers(shop)
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
                row = _parse_row(parsers, layout, line, values)
                if row.key:
                    _add(pending, row)
                else:
                    rejections.append(Rejection((row.line,), "", tuple(row.errors)))
            line = reader.line_num + 1
    except UnicodeDecodeError as error:
        raise CsvFileError("the file is not UTF-8 text; in Excel, save it as “CSV UTF-8 (comma delimited)”") from error
    except csv.Error as error:
        raise CsvFileError(f"the file is not readable CSV: {error}") from error
    return layout, pending, rejections


def _parse_row(parsers: dict[str, Callable[[str], Any]], layout: Layout, line: int, values: list[str]) -> _Row:
    if len(values) != len(layout.fields):
        keys = [value.strip() for name, value in zip(layout.fields, values, strict=False) if name == layout.group_by]
        error = f"line {line}: {len(values)} values, but the header names {len(layout.fields)} columns"
        # Which cell is which cannot be told, so none is reported missing on top of this.
        return _Row(line, next(filter(None, keys), ""), {}, {name for name in layout.fields if name}, None, [error])
    cells: dict[str, str] = {}
    for name, value in zip(layout.fields, values, strict=True):
        if name and value.strip() and not cells.get(name):  # two columns for one field: the first filled
            cells[name] = value.strip()
    key = cells.get(layout.group_by, "")
    parsed: dict[str, Any] = {}
    errors = [] if key else [f"line {line}: {layout.group_by}: required"]
    for name, cell in cells.items():
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
    order = {name: parsed[name] for name in ("external_id", *ORDER_COLUMNS) if name in parsed}
    return _Row(line, key, order, set(cells), item, errors)


def _add(pending: dict[str, _PendingOrder], row: _Row) -> None:
    order = pending.get(row.key)
    if order is None:
        pending[row.key] = _PendingOrder(
            key=row.key,
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
