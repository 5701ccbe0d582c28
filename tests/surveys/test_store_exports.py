"""A store's own order export, imported as it comes: Shopify's by its header, any other file by a
column mapping (the admin's steps are in test_import_mapping)."""

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from surveys.intake.csv_import import import_orders
from surveys.intake.csv_layouts import CsvFileError
from surveys.models import Invitation, Order

# Shopify's order export, its columns in Shopify's order (Shopify Help Center, "Exporting orders").
SHOPIFY_HEADER = [
    "Name", "Email", "Financial Status", "Paid at", "Fulfillment Status", "Fulfilled at", "Accepts Marketing",
    "Currency", "Subtotal", "Shipping", "Taxes", "Total", "Discount Code", "Discount Amount", "Shipping Method",
    "Created at", "Lineitem quantity", "Lineitem name", "Lineitem price", "Lineitem compare at price",
    "Lineitem sku", "Lineitem requires shipping", "Lineitem taxable", "Lineitem fulfillment status", "Billing Name",
    "Billing Street", "Billing Address1", "Billing Address2", "Billing Company", "Billing City", "Billing Zip",
    "Billing Province", "Billing Country", "Billing Phone", "Shipping Name", "Shipping Street", "Shipping Address1",
    "Shipping Address2", "Shipping Company", "Shipping City", "Shipping Zip", "Shipping Province", "Shipping Country",
    "Shipping Phone", "Notes", "Note Attributes", "Cancelled at", "Payment Method", "Payment Reference",
    "Refunded Amount", "Vendor", "Outstanding Balance", "Employee", "Location", "Device ID", "Id", "Tags",
    "Risk Level", "Source", "Lineitem discount", "Tax 1 Name", "Tax 1 Value", "Tax 2 Name", "Tax 2 Value",
    "Tax 3 Name", "Tax 3 Value", "Tax 4 Name", "Tax 4 Value", "Tax 5 Name", "Tax 5 Value", "Phone",
    "Receipt Number", "Duties", "Billing Province Name", "Shipping Province Name", "Payment ID",
    "Payment Terms Name", "Next Payment Due At", "Payment References",
]  # fmt: skip


def shopify_row(**cells: str) -> list[str]:
    unknown = set(cells) - {name.lower().replace(" ", "_") for name in SHOPIFY_HEADER}
    assert not unknown, unknown
    return [cells.get(name.lower().replace(" ", "_"), "") for name in SHOPIFY_HEADER]


def first_row(name: str, order_id: str, **cells: str) -> list[str]:
    """An order's first row: Shopify writes the order-level cells, and its Id, on this one only."""
    order = {
        "name": name,
        "financial_status": "paid",
        "paid_at": "2026-11-20 10:05:00 +0330",
        "fulfillment_status": "unfulfilled",
        "accepts_marketing": "no",
        "currency": "IRR",
        "subtotal": "1200000.00",
        "shipping": "0.00",
        "taxes": "0.00",
        "total": "1200000.00",
        "shipping_method": "Standard",
        "created_at": "2026-11-20 10:00:00 +0330",
        "billing_zip": "'1969614311",  # Shopify's apostrophe, so spreadsheets keep the zeros
        "billing_country": "IR",
        "payment_method": "manual",
        "outstanding_balance": "0.00",
        "id": order_id,
        "risk_level": "Low",
        "source": "web",
    }
    return shopify_row(**(order | cells))


def line_row(name: str, **cells: str) -> list[str]:
    """An order's next line item: the Name and the line's cells, nothing else."""
    return shopify_row(name=name, created_at="2026-11-20 10:00:00 +0330", **cells)


def export(*rows: list[str], header: list[str] = SHOPIFY_HEADER) -> io.StringIO:
    out = io.StringIO()
    out.write("\ufeff")  # as Shopify writes it
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    out.seek(0)
    return out


@pytest.fixture
def now(time_machine):
    time_machine.move_to(datetime(2026, 11, 20, 8, tzinfo=UTC), tick=False)


def test_a_shopify_order_export_is_imported_as_it_comes(shop, survey, now):
    shop.sms_enabled = True
    shop.save()
    file = export(
        first_row(
            "#1001", "5532214001", email="Sara@Example.com", billing_name="Sara Ahmadi", accepts_marketing="yes",
            lineitem_quantity="2", lineitem_name="Mug - Blue", lineitem_price="400000.00", lineitem_sku="MUG-B",
            fulfilled_at="2026-11-21 09:00:00 +0330", fulfillment_status="fulfilled",
        ),
        line_row("#1001", lineitem_quantity="1", lineitem_name="Tea", lineitem_price="400000.00", lineitem_sku="TEA"),
        first_row(
            "#1002", "5532214002", email="", billing_name="Reza", billing_phone="0912 123 4567", phone="",
            lineitem_quantity="1", lineitem_name="Tea", lineitem_price="90000.00", total="90000.00",
        ),
        first_row(
            "#1003", "5532214003", email="mina@example.com", financial_status="pending",
            lineitem_quantity="1", lineitem_name="Tea", lineitem_price="90000.00", total="90000.00",
        ),
        first_row(
            "#1004", "5532214004", email="ali@example.com", cancelled_at="2026-11-20 11:00:00 +0330",
            financial_status="refunded", lineitem_quantity="1", lineitem_name="Tea", lineitem_price="9.00",
            total="9.00",
        ),
    )  # fmt: skip

    report = import_orders(shop, file, schedule_surveys=True)

    assert (report.layout, report.created, report.rejections) == ("Shopify order export", 4, [])
    orders = {order.number: order for order in Order.objects.select_related("customer")}
    sara = orders["1001"]
    assert (sara.external_id, sara.total, sara.currency) == ("5532214001", Decimal("1200000.00"), "IRR")
    assert sara.placed_at == datetime(2026, 11, 20, 6, 30, tzinfo=UTC)
    assert sara.fulfilled_at == datetime(2026, 11, 21, 5, 30, tzinfo=UTC)
    assert list(sara.lines.order_by("pk").values_list("sku", "product_name", "quantity", "unit_price")) == [
        ("MUG-B", "Mug - Blue", 2, Decimal("400000.00")),
        ("TEA", "Tea", 1, Decimal("400000.00")),
    ]
    # Billing Name is the customer; Name is the order number, not a person.
    assert (sara.customer.name, sara.customer.email, sara.customer.consent) == (
        "Sara Ahmadi",
        "sara@example.com",
        "granted",
    )
    assert (orders["1002"].customer.phone, orders["1002"].customer.email) == ("+989121234567", "")
    assert orders["1004"].cancelled_at == datetime(2026, 11, 20, 7, 30, tzinfo=UTC)
    surveyed = set(Invitation.objects.values_list("order__number", flat=True))
    # Paid and open: surveyed (#1002 by SMS); #1003 is not paid yet and #1004 was refunded.
    assert surveyed == {"1001", "1002"}


def test_an_export_imported_again_stores_nothing_twice(shop, now):
    file = export(first_row("#1001", "5532214001", email="sara@example.com", lineitem_name="Tea"))
    import_orders(shop, file)
    file.seek(0)

    again = import_orders(shop, file)

    assert (again.created, again.duplicates, Order.objects.count()) == (0, 1, 1)


def test_an_export_without_the_id_column_knows_orders_by_their_number(shop, now):
    header = [name for name in SHOPIFY_HEADER if name != "Id"]
    row = first_row("#1001", "", email="sara@example.com", lineitem_name="Tea")
    file = export([cell for name, cell in zip(SHOPIFY_HEADER, row, strict=True) if name != "Id"], header=header)

    report = import_orders(shop, file)

    assert report.created == 1
    assert Order.objects.values_list("external_id", "number").get() == ("1001", "1001")


def test_a_bad_row_names_its_line_and_the_order_keeps_none_of_it(shop, now):
    file = export(
        first_row("#1001", "5532214001", email="sara@example.com", lineitem_name="Tea", lineitem_quantity="1"),
        line_row("#1001", lineitem_name="Mug", lineitem_quantity="many"),
        first_row("#1002", "5532214002", email="reza@example.com", lineitem_name="Tea"),
    )

    report = import_orders(shop, file)

    assert report.created == 1
    [rejection] = report.rejections
    assert (rejection.external_id, rejection.lines) == ("5532214001", (2, 3))
    assert rejection.reasons == ("line 3: quantity: 'many' is not a whole number from 1 to 1,000,000",)


# --- Any other file, by a column mapping ---------------------------------------------------------

# A WooCommerce export plugin's defaults (names differ from plugin to plugin: hence a mapping).
WOO_HEADER = ["Order ID", "Order Number", "Order Date", "Order Status", "Order Currency", "Order Total Amount",
              "Billing First Name", "Billing Email Address", "Billing Phone", "Billing Country", "Item Name",
              "Quantity", "Item Cost"]  # fmt: skip
WOO_MAPPING = {
    "Order ID": "external_id",
    "Order Number": "number",
    "Order Date": "placed_at",
    "Order Currency": "currency",
    "Order Total Amount": "total",
    "Billing First Name": "name",
    "Billing Email Address": "email",
    "Billing Phone": "phone",
    "Billing Country": "country",
    "Item Name": "product_name",
    "Quantity": "quantity",
    "Item Cost": "unit_price",
}


def test_any_export_is_imported_through_a_column_mapping(shop, now):
    file = export(
        ["727", "727", "2026-11-19 16:28:02", "wc-completed", "USD", "29.35", "John", "john@example.com",
         "(650) 253-0000", "US", "Woo Single #1", "2", "3.00"],
        ["727", "727", "2026-11-19 16:28:02", "wc-completed", "USD", "29.35", "John", "john@example.com",
         "(650) 253-0000", "US", "Ship Your Idea", "1", "12.00"],
        header=WOO_HEADER,
    )  # fmt: skip

    report = import_orders(shop, file, mapping=WOO_MAPPING)

    assert (report.layout, report.created, report.rejections) == ("your column mapping", 1, [])
    order = Order.objects.select_related("customer").get()
    assert (order.external_id, order.total, order.currency, order.lines.count()) == ("727", Decimal("29.35"), "USD", 2)
    assert (order.customer.name, order.customer.phone) == ("John", "+16502530000")
    assert order.placed_at == datetime(2026, 11, 19, 12, 58, 2, tzinfo=UTC)  # no offset: Tehran time


def test_without_a_mapping_another_stores_export_is_refused_with_the_way_out(shop):
    with pytest.raises(CsvFileError, match="by mapping its columns in the admin"):
        import_orders(shop, export(header=WOO_HEADER))


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        # WooCommerce's Analytics export: no email, no phone.
        ({name: field for name, field in WOO_MAPPING.items() if field not in ("email", "phone")}, "no email or phone"),
        ({name: field for name, field in WOO_MAPPING.items() if field != "total"}, "no column holds the order's total"),
        (
            {name: field for name, field in WOO_MAPPING.items() if field not in ("number", "external_id")},
            "no column holds the order's external_id or number",
        ),
        (WOO_MAPPING | {"Order Status": "status"}, "unknown field"),
    ],
)
def test_a_mapping_that_cannot_give_what_a_survey_needs_is_refused(shop, mapping, message):
    with pytest.raises(CsvFileError, match=message):
        import_orders(shop, export(header=WOO_HEADER), mapping=mapping)

    assert not Order.objects.exists()
