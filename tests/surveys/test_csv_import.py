import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from surveys.intake.csv_import import Rejection, import_orders
from surveys.intake.csv_layouts import MAX_ROWS, CsvFileError
from surveys.models import Customer, Invitation, Membership, Order, OrderLine
from tests.conftest import ON_POSTGRESQL
from tests.factories import ShopFactory

# Dates and months against the clock: CI runs these on the days calendars turn.
pytestmark = pytest.mark.calendar

HEADER = (
    "external_id,email,phone,name,language,total,currency,placed_at,fulfilled_at,sku,product_name,quantity,unit_price"
)


def rows(*lines: str) -> io.StringIO:
    return io.StringIO("\n".join(lines) + "\n")


def stored_orders(shop) -> dict[str, Order]:
    return {order.external_id: order for order in Order.objects.filter(shop=shop).select_related("customer")}


def lines_of(order: Order) -> list[tuple[str, str, int, Decimal | None]]:
    return list(order.lines.order_by("pk").values_list("sku", "product_name", "quantity", "unit_price"))


def test_import_stores_orders_lines_and_customers(shop):
    report = import_orders(
        shop,
        rows(
            HEADER,
            'A-1,Sara@Example.com,,Sara Ahmadi,fa,"1,234.50",eur,2024-03-01T10:00:00+03:30,2024-03-02T09:00:00Z,'
            "MUG,Mug,2,617.25",
            "A-2,,+98 912 123 4567,Reza,,20,IRR,2024-03-05T08:00:00+00:00,,,,,",
        ),
    )

    assert (report.created, report.duplicates, report.rejected) == (2, 0, 0)
    orders = stored_orders(shop)
    first, second = orders["A-1"], orders["A-2"]
    assert (first.total, first.currency, first.source) == (Decimal("1234.50"), "EUR", Order.Source.CSV)
    assert first.placed_at == datetime(2024, 3, 1, 6, 30, tzinfo=UTC)
    assert first.fulfilled_at == datetime(2024, 3, 2, 9, 0, tzinfo=UTC)
    assert (first.delivered_at, first.cancelled_at) == (None, None)
    assert (first.customer.email, first.customer.name, first.customer.language) == (
        "sara@example.com",
        "Sara Ahmadi",
        "fa",
    )
    assert lines_of(first) == [("MUG", "Mug", 2, Decimal("617.25"))]
    assert (second.total, second.currency) == (Decimal("20.00"), "IRR")
    assert (second.customer.email, second.customer.phone, second.customer.language) == ("", "+989121234567", "en")
    assert lines_of(second) == []
    assert report.as_text() == "2 orders created, 0 already stored (duplicates), 0 rejected."


def test_import_keeps_good_rows_and_names_each_bad_line(shop):
    report = import_orders(
        shop,
        rows(
            "external_id,email,total,currency,placed_at,quantity",
            "G-1,a@example.com,10,EUR,2024-01-01T10:00:00Z,",
            "B-1,b@example.com,abc,EUR,2024-01-01T10:00:00Z,",
            "B-2,not-an-email,10,EURO,yesterday,0",
            ",c@example.com,10,EUR,2024-01-01T10:00:00Z,",
            "B-3,d@example.com,10,EUR,,",
            "B-4,e@example.com,-5,EUR,2024-01-01T10:00:00Z,",
            "B-5,e@example.com,10,EUR",
            "G-2,f@example.com,12.5,usd,2024-01-02,",
        ),
    )

    assert sorted(stored_orders(shop)) == ["G-1", "G-2"]
    assert (report.created, report.duplicates, report.rejected) == (2, 0, 6)
    assert report.rejections == [
        Rejection((3,), "B-1", ("line 3: total: 'abc' is not a number (write it like 1234.50 or 1,234.50)",)),
        Rejection(
            (4,),
            "B-2",
            (
                "line 4: email: 'not-an-email' is not an email address",
                "line 4: currency: 'EURO' is not a 3-letter currency code such as EUR or IRR",
                "line 4: placed_at: 'yesterday' is not a date or time "
                "(write it like 2026-10-21T14:30:00+03:30 or 2026-10-21)",
                "line 4: quantity: '0' is not a whole number from 1 to 1,000,000",
            ),
        ),
        Rejection((5,), "", ("line 5: external_id: required",)),
        Rejection((6,), "B-3", ("line 6: placed_at: required",)),
        Rejection((7,), "B-4", ("line 7: total: '-5' is negative",)),
        Rejection((8,), "B-5", ("line 8: 4 values, but the header names 6 columns",)),
    ]
    text = report.as_text()
    assert text.startswith("2 orders created, 0 already stored (duplicates), 6 rejected.\nRejected:\n")
    assert "  B-1 — line 3: total: 'abc' is not a number" in text
    assert "  (no external_id) — line 5: external_id: required" in text


def test_import_twice_counts_duplicates_and_changes_nothing(shop):
    data = (
        HEADER,
        "A-1,sara@example.com,,Sara,,10.00,EUR,2024-03-01T10:00:00Z,,MUG,Mug,1,10.00",
        "A-2,reza@example.com,,Reza,,20.00,EUR,2024-03-02T10:00:00Z,,,,,",
    )
    import_orders(shop, rows(*data))
    before = list(Order.objects.values_list("pk", "total", "placed_at", "customer_id"))

    report = import_orders(shop, rows(*[line.replace("10.00", "99.00") for line in data]))

    assert (report.created, report.duplicates, report.rejected) == (0, 2, 0)
    assert list(Order.objects.values_list("pk", "total", "placed_at", "customer_id")) == before
    assert OrderLine.objects.count() == 1
    assert Customer.objects.filter(shop=shop).count() == 2


def test_import_reads_excel_bom_and_semicolons(shop):
    data = (
        "\ufeffExternal_ID;Email;Total;Currency;Placed_At\r\nA-1;sara@example.com;1.234,50;EUR;2024-03-01T10:00:00Z\r\n"
    )
    data += "A-2;reza@example.com;12.50;EUR;2024-03-01T11:00:00Z\r\n"

    report = import_orders(shop, io.StringIO(data, newline=""))

    assert report.created == 1
    assert stored_orders(shop)["A-2"].total == Decimal("12.50")
    # A decimal comma is refused rather than guessed at: "1.234,50" could be either.
    assert report.rejections == [
        Rejection((2,), "A-1", ("line 2: total: '1.234,50' is not a number (write it like 1234.50 or 1,234.50)",))
    ]


def test_import_reads_persian_and_arabic_digits(shop):
    report = import_orders(
        shop,
        rows(
            "external_id,phone,total,currency,placed_at,quantity,unit_price",
            "A-1,۰۹۱۲۱۲۳۴۵۶۷,۱٬۲۳۴٫۵۰,IRR,۲۰۲۴-۰۳-۰۱T۱۰:۰۰:۰۰+۰۳:۳۰,۳,۴۱۱٫۵۰",
            "A-2,,٤٥,IRR,2024-03-01T10:00:00Z,,",
        ),
    )

    assert report.created == 2
    orders = stored_orders(shop)
    assert orders["A-1"].total == Decimal("1234.50")
    assert orders["A-1"].placed_at == datetime(2024, 3, 1, 6, 30, tzinfo=UTC)
    assert orders["A-1"].customer.phone == "+989121234567"  # read in the shop's region, Iran
    assert lines_of(orders["A-1"]) == [("", "", 3, Decimal("411.50"))]
    assert orders["A-2"].total == Decimal("45.00")


def test_import_reads_times_without_offset_in_shop_timezone(shop):
    assert shop.timezone == "Asia/Tehran"  # UTC+03:30 all year

    import_orders(
        shop,
        rows(
            "external_id,email,total,currency,placed_at,delivered_at",
            "A-1,a@example.com,10,EUR,2024-03-01 10:00,2024-03-05",
            "A-2,b@example.com,10,EUR,2024-03-01T10:00:00+01:00,2024-03-05T00:00:00Z",
        ),
    )

    orders = stored_orders(shop)
    assert orders["A-1"].placed_at == datetime(2024, 3, 1, 6, 30, tzinfo=UTC)
    assert orders["A-1"].delivered_at == datetime(2024, 3, 4, 20, 30, tzinfo=UTC)  # midnight in Tehran
    assert orders["A-2"].placed_at == datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    assert orders["A-2"].delivered_at == datetime(2024, 3, 5, 0, 0, tzinfo=UTC)


def test_import_groups_rows_of_one_order_consecutive_or_not(shop):
    report = import_orders(
        shop,
        rows(
            HEADER,
            "A-1,sara@example.com,,Sara,,30.00,EUR,2024-03-01T10:00:00Z,,MUG,Mug,2,10.00",
            "A-1,,,,,,,,,TEA,Tea,1,10.00",
            "A-2,reza@example.com,,Reza,,5.00,EUR,2024-03-02T10:00:00Z,,PEN,Pen,1,5.00",
            # A later row may repeat the order's values (in another spelling) and add a missing one.
            'A-1,Sara@example.com,,,,"30",eur,2024-03-01T13:30:00+03:30,2024-03-03T10:00:00Z,CUP,"Cup,\nlarge",1,',
        ),
    )

    assert (report.created, report.rejected) == (2, 0)
    orders = stored_orders(shop)
    assert lines_of(orders["A-1"]) == [
        ("MUG", "Mug", 2, Decimal("10.00")),
        ("TEA", "Tea", 1, Decimal("10.00")),
        ("CUP", "Cup,\nlarge", 1, None),
    ]
    assert orders["A-1"].fulfilled_at == datetime(2024, 3, 3, 10, 0, tzinfo=UTC)
    assert lines_of(orders["A-2"]) == [("PEN", "Pen", 1, Decimal("5.00"))]


def test_import_rejects_an_order_whose_rows_disagree(shop):
    report = import_orders(
        shop,
        rows(
            HEADER,
            "A-1,sara@example.com,,Sara,,10.00,EUR,2024-03-01T10:00:00Z,,MUG,Mug,1,10.00",
            "A-2,reza@example.com,,Reza,,5.00,EUR,2024-03-02T10:00:00Z,,,,,",
            "A-1,,,,,12,,,,TEA,Tea,1,2.00",
            '"A-1",other@example.com,,,,,,,,,,,',
        ),
    )

    assert sorted(stored_orders(shop)) == ["A-2"]
    assert report.rejections == [
        Rejection(
            (2, 4, 5),
            "A-1",
            (
                "line 4: total: '12' differs from '10.00' on line 2 of the same order",
                "line 5: email: 'other@example.com' differs from 'sara@example.com' on line 2 of the same order",
            ),
        )
    ]
    assert "A-1 — line 4: total: '12' differs from '10.00'" in report.as_text()


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (
            "external_id,totl,currency,placed_at",
            "the header (line 1) is wrong: unknown column(s): 'totl'; missing required column(s): total. "
            "Known columns: external_id, number, email, phone, name, country, language, consent, consent_at, "
            "financial_status, total, currency, placed_at, fulfilled_at, delivered_at, cancelled_at, sku, "
            "product_name, quantity, unit_price. Shopify's order export is read as it is; another store's file can "
            "be imported by mapping its columns in the admin (Orders → Import orders).",
        ),
        (
            "external_id,total,currency,placed_at,Total",
            "the header (line 1) is wrong: column(s) given twice: total. "
            "Known columns: external_id, number, email, phone, name, country, language, consent, consent_at, "
            "financial_status, total, currency, placed_at, fulfilled_at, delivered_at, cancelled_at, sku, "
            "product_name, quantity, unit_price. Shopify's order export is read as it is; another store's file can "
            "be imported by mapping its columns in the admin (Orders → Import orders).",
        ),
    ],
)
def test_import_refuses_a_wrong_header_and_stores_nothing(shop, header, message):
    with pytest.raises(CsvFileError) as raised:
        import_orders(shop, rows(header, "A-1,10,EUR,2024-03-01T10:00:00Z,10"))

    assert raised.value.message == message
    assert not Order.objects.exists()


def test_import_refuses_an_empty_file(shop):
    with pytest.raises(CsvFileError, match="the first line is empty; it must name the columns"):
        import_orders(shop, io.StringIO(""))


def test_import_refuses_more_than_max_rows_and_stores_nothing(shop):
    def too_many():
        yield "external_id,email,total,currency,placed_at\n"
        for number in range(MAX_ROWS + 1):
            yield f"A-{number},a@example.com,10,EUR,2024-03-01T10:00:00Z\n"

    with pytest.raises(CsvFileError) as raised:
        import_orders(shop, too_many())

    assert raised.value.message == "the file has more than 50,000 rows; split it into smaller files and import each"
    assert not Order.objects.exists()


def recent_and_old_orders() -> io.StringIO:
    recent = datetime.now(UTC).replace(microsecond=0).isoformat()
    return rows(
        "external_id,email,total,currency,placed_at",
        f"NEW-1,sara@example.com,10,EUR,{recent}",
        "OLD-1,reza@example.com,10,EUR,2020-01-01T10:00:00Z",
    )


def test_import_surveys_nobody_by_default(survey):
    report = import_orders(survey.shop, recent_and_old_orders())

    assert report.created == 2
    assert not Invitation.objects.exists()


def test_import_surveys_recent_orders_when_asked(survey):
    report = import_orders(survey.shop, recent_and_old_orders(), schedule_surveys=True)

    assert report.created == 2
    assert list(Invitation.objects.values_list("order__external_id", "survey", "status")) == [
        ("NEW-1", survey.pk, Invitation.Status.SCHEDULED)
    ]


@pytest.mark.parametrize(("orders", "batches"), [(20, 1), (600, 2)])
def test_import_stores_orders_in_a_few_queries_per_batch(shop, django_assert_max_num_queries, orders, batches):
    data = [HEADER]
    for number in range(orders):
        placed = f"2024-03-01T10:{number % 60:02}:00Z"
        data.append(f"A-{number},c{number}@example.com,,C {number},,20.00,EUR,{placed},,MUG,Mug,1,10.00")
        data.append(f"A-{number},,,,,,,,,TEA,Tea,1,10.00")

    # Per batch of up to 500 orders, in record_orders: look for stored orders, look for
    # their customers, create the missing customers, the orders, their lines, and a
    # savepoint around it all (2 queries). On SQLite Django 5.2 splits each insert at 999
    # parameters (Django 6.0 reads SQLite's real limit): 500 orders' three inserts take 17.
    with django_assert_max_num_queries((7 if ON_POSTGRESQL else 17) * batches):
        report = import_orders(shop, rows(*data))

    assert report.created == orders
    assert OrderLine.objects.filter(order__shop=shop).count() == 2 * orders


# --- The command ----------------------------------------------------------------------


def test_import_orders_command_prints_the_report_and_writes_rejects(shop, tmp_path):
    file = tmp_path / "orders.csv"
    file.write_text(
        "external_id;email;total;currency;placed_at\r\n"
        "A-1;sara@example.com;10.00;EUR;2024-03-01T10:00:00Z\r\n"
        "A-2;reza@example.com;ten;EUR;2024-03-01T10:00:00Z\r\n",
        encoding="utf-8-sig",
    )
    rejects = tmp_path / "rejects.csv"
    out = io.StringIO()

    call_command("import_orders", str(file), shop=shop.slug, rejects=str(rejects), stdout=out)

    assert out.getvalue() == (
        "1 orders created, 0 already stored (duplicates), 1 rejected.\n"
        "Rejected:\n"
        "  A-2 — line 3: total: 'ten' is not a number (write it like 1234.50 or 1,234.50)\n"
        f"Rejected orders written to {rejects}.\n"
    )
    assert list(stored_orders(shop)) == ["A-1"]
    assert not Invitation.objects.exists()
    with rejects.open(newline="") as written:
        assert list(csv.reader(written)) == [
            ["lines", "external_id", "reasons"],
            ["3", "A-2", "line 3: total: 'ten' is not a number (write it like 1234.50 or 1,234.50)"],
        ]


def test_import_orders_command_schedules_surveys_when_asked(survey, tmp_path):
    file = tmp_path / "orders.csv"
    file.write_text(recent_and_old_orders().getvalue(), encoding="utf-8")

    call_command("import_orders", str(file), "--schedule-surveys", shop=survey.shop.slug, stdout=io.StringIO())

    assert list(Invitation.objects.values_list("order__external_id", flat=True)) == ["NEW-1"]


def test_import_orders_command_fails_on_unknown_shop_missing_file_or_wrong_header(shop, tmp_path):
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("id,total\nA-1,10\n", encoding="utf-8")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("external_id,name,total,currency,placed_at\nA-1,Zoë,10,EUR,2024-03-01\n".encode("latin-1"))

    with pytest.raises(CommandError, match="no shop with the slug 'nope'"):
        call_command("import_orders", str(wrong), shop="nope")
    with pytest.raises(CommandError, match=r"cannot read .*missing\.csv: No such file or directory"):
        call_command("import_orders", str(tmp_path / "missing.csv"), shop=shop.slug)
    with pytest.raises(CommandError, match=r"wrong\.csv: the header \(line 1\) is wrong: unknown column\(s\): 'id'"):
        call_command("import_orders", str(wrong), shop=shop.slug)
    with pytest.raises(CommandError, match=r"latin\.csv: the file is not UTF-8 text"):
        call_command("import_orders", str(latin), shop=shop.slug)
    assert not Order.objects.exists()


# --- The admin upload -------------------------------------------------------------------

IMPORT_URL = "/admin/surveys/order/import/"
UPLOAD = (
    "\ufeffexternal_id;email;total;currency;placed_at\r\n"
    "A-1;sara@example.com;10.00;EUR;2024-03-01T10:00:00Z\r\n"
    "A-2;reza@example.com;ten;EUR;2024-03-01T10:00:00Z\r\n"
).encode()


@pytest.mark.parametrize("memory_size", [2_621_440, 10], ids=["in-memory", "on-disk"])
def test_admin_import_stores_the_orders_and_shows_the_report(client, shop, staff_of, settings, memory_size):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = memory_size  # Small uploads stay in memory, larger go to a temp file.
    user = staff_of(shop)
    assert user.has_perm("surveys.add_order")
    client.force_login(user)

    listing = client.get("/admin/surveys/order/")
    response = client.post(
        IMPORT_URL, {"shop": shop.pk, "file": SimpleUploadedFile("orders.csv", UPLOAD, content_type="text/csv")}
    )

    assert reverse("admin:surveys_order_import") == IMPORT_URL
    assert f'href="{IMPORT_URL}"' in listing.content.decode()
    assert response.status_code == 200
    assert response.context["report"].rejections == [
        Rejection((3,), "A-2", ("line 3: total: 'ten' is not a number (write it like 1234.50 or 1,234.50)",))
    ]
    page = response.content.decode()
    assert '<strong id="created">1</strong>' in page
    assert '<strong id="rejected">1</strong>' in page
    assert "line 3: total: &#x27;ten&#x27; is not a number" in page
    assert list(stored_orders(shop)) == ["A-1"]
    assert not Invitation.objects.exists()


def test_admin_import_shows_a_file_it_cannot_read_on_the_form(client, shop, staff_of):
    client.force_login(staff_of(shop))

    response = client.post(IMPORT_URL, {"shop": shop.pk, "file": SimpleUploadedFile("orders.csv", b"\xff\xfeid")})

    assert response.context["report"] is None
    assert response.context["form"].errors["file"][0].startswith("the file is not UTF-8 text")
    assert not Order.objects.exists()


def test_admin_import_refuses_a_shop_the_user_does_not_belong_to(client, shop, staff_of):
    other = ShopFactory()
    client.force_login(staff_of(other))

    form_page = client.get(IMPORT_URL)
    response = client.post(IMPORT_URL, {"shop": shop.pk, "file": SimpleUploadedFile("orders.csv", UPLOAD)})

    assert list(form_page.context["form"].fields["shop"].queryset) == [other]
    assert response.context["report"] is None
    assert "shop" in response.context["form"].errors
    assert not Order.objects.exists()


def test_admin_import_requires_the_add_order_permission(client, shop):
    user = User.objects.create_user("viewer", password="a-long-test-password", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename="view_order"))
    Membership.objects.create(user=user, shop=shop)
    client.force_login(user)

    listing = client.get("/admin/surveys/order/")
    response = client.post(IMPORT_URL, {"shop": shop.pk, "file": SimpleUploadedFile("orders.csv", UPLOAD)})

    assert listing.status_code == 200
    assert IMPORT_URL not in listing.content.decode()
    assert response.status_code == 403
    assert not Order.objects.exists()
