"""The admin's column mapping for any other store's export: upload, see the first rows, map each
column (or leave it), preview what would be stored and rejected, import; remembered per shop."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from surveys.intake.import_mapping import forget_stale_uploads
from surveys.models import ColumnMapping, Order, PendingImport
from tests.factories import ShopFactory
from tests.surveys.test_store_exports import export, first_row

pytestmark = pytest.mark.django_db

IMPORT_URL = "/admin/surveys/order/import/"
# An export plugin's columns, one named in German: no guess knows it, the shop maps it by hand.
HEADER = "Order ID,Order Number,Order Date,Order Status,Order Currency,Order Total Amount,Kunden-Email,Item Name,Note"
FILE = (
    f"{HEADER}\n"
    "727,W-727,2026-11-19 16:28:02,completed,USD,29.35,john@example.com,Woo Single,leave at the door\n"
    "727,W-727,2026-11-19 16:28:02,completed,USD,29.35,john@example.com,Ship Your Idea,\n"
    "728,W-728,2026-11-19 17:00:00,completed,USD,ten,mary@example.com,Woo Single,\n"
)
MAPPING = {
    "column_0": "external_id",
    "column_1": "number",
    "column_2": "placed_at",
    "column_3": "financial_status",
    "column_4": "currency",
    "column_5": "total",
    "column_6": "email",
    "column_7": "product_name",
    "column_8": "",
}


@pytest.fixture
def agent(client, shop, staff_of):
    user = staff_of(shop)
    client.force_login(user)
    return user


def upload(client, shop, content: str, name: str = "orders.csv"):
    return client.post(IMPORT_URL, {"shop": shop.pk, "file": SimpleUploadedFile(name, content.encode())})


def test_an_unknown_layout_is_mapped_previewed_and_imported(client, shop, agent):
    uploaded = upload(client, shop, FILE)
    pending = PendingImport.objects.get()
    map_url = f"{IMPORT_URL}{pending.pk}/map/"
    page = client.get(map_url)

    assert uploaded.status_code == 302
    assert uploaded.url == map_url
    html = page.content.decode()
    assert "leave at the door" in html
    assert "john@example.com" in html
    guessed = {name: page.context["form"][name].value() for name in MAPPING}
    assert guessed["column_0"] == "external_id"
    assert guessed["column_6"] == ""

    previewed = client.post(map_url, MAPPING | {"action": "preview"})

    preview = previewed.context["preview"]
    assert (preview.created, preview.rejected) == (1, 1)
    assert "line 4: total: &#x27;ten&#x27; is not a number" in previewed.content.decode()
    assert "Import 1 orders" in previewed.content.decode()
    assert not Order.objects.exists()  # a preview stores nothing
    assert PendingImport.objects.exists()

    imported = client.post(map_url, MAPPING | {"action": "import"})

    report = imported.context["report"]
    assert (report.created, report.rejected, report.layout) == (1, 1, "your column mapping")
    order = Order.objects.get()
    assert (order.external_id, order.number, order.customer.email, order.lines.count()) == (
        "727",
        "W-727",
        "john@example.com",
        2,
    )
    assert not PendingImport.objects.exists()
    assert ColumnMapping.objects.get(shop=shop).mapping["Kunden-Email"] == "email"


def test_the_next_file_with_the_same_columns_comes_mapped(client, shop, agent):
    upload(client, shop, FILE)
    client.post(f"{IMPORT_URL}{PendingImport.objects.get().pk}/map/", MAPPING | {"action": "import"})

    upload(client, shop, FILE.replace("727", "800"))
    page = client.get(f"{IMPORT_URL}{PendingImport.objects.get().pk}/map/")

    assert {name: page.context["form"][name].value() for name in MAPPING} == MAPPING


@pytest.mark.parametrize(
    ("left_out", "message"),
    [("column_6", "the file has no email or phone column"), ("column_5", "no column holds the order&#x27;s total")],
)
def test_a_mapping_without_what_a_survey_needs_is_said_plainly(client, shop, agent, left_out, message):
    upload(client, shop, FILE)
    map_url = f"{IMPORT_URL}{PendingImport.objects.get().pk}/map/"

    answer = client.post(map_url, MAPPING | {left_out: "", "action": "import"})

    assert answer.status_code == 200
    assert message in answer.content.decode()
    assert not Order.objects.exists()
    assert PendingImport.objects.exists()  # the upload waits for a better mapping


def test_a_file_without_a_currency_column_takes_one_for_every_order(client, shop, agent):
    upload(client, shop, FILE.replace("Order Currency", "Channel"))
    map_url = f"{IMPORT_URL}{PendingImport.objects.get().pk}/map/"
    without = MAPPING | {"column_4": ""}

    refused = client.post(map_url, without | {"action": "preview"})
    imported = client.post(map_url, without | {"currency": "usd", "action": "import"})

    assert "or give the currency of every order" in refused.content.decode()
    assert imported.context["report"].created == 1
    assert Order.objects.get().currency == "USD"
    assert ColumnMapping.objects.get().currency == "USD"


def test_another_shops_upload_cannot_be_opened(client, shop, staff_of):
    stranger_shop = ShopFactory()
    client.force_login(staff_of(stranger_shop))
    pending = PendingImport.objects.create(shop=shop, file_name="orders.csv", text=FILE)

    answer = client.post(f"{IMPORT_URL}{pending.pk}/map/", MAPPING | {"action": "import"})

    assert answer.status_code == 404
    assert not Order.objects.exists()


def test_a_shopify_export_needs_no_mapping(client, shop, agent):
    content = export(first_row("#1001", "5532214001", email="sara@example.com", lineitem_name="Tea")).read()

    answer = upload(client, shop, content, name="orders_export_1.csv")

    assert answer.status_code == 200
    assert (answer.context["report"].created, answer.context["report"].layout) == (1, "Shopify order export")
    assert Order.objects.get().number == "1001"
    assert not PendingImport.objects.exists()


def test_an_upload_left_unmapped_is_deleted_after_a_day(shop):
    old = PendingImport.objects.create(shop=shop, file_name="old.csv", text=FILE)
    PendingImport.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=1, minutes=1))
    recent = PendingImport.objects.create(shop=shop, file_name="new.csv", text=FILE)

    assert forget_stale_uploads() == 1
    assert list(PendingImport.objects.all()) == [recent]
