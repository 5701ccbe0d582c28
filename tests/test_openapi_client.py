"""A shop developer's client, generated from the OpenAPI schema with openapi-python-client, works
with typed models against a running Bazgasht: every operation is there, bulk orders are typed
(not `list[Any]`), and the report's PDF comes back as a file."""

import importlib
import json
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from types import ModuleType

import pytest
from django.core.files.base import ContentFile

from config.api import api
from reports.models import ReportRun
from surveys.intake.api_keys import create_api_key
from surveys.models import Order
from tests.factories import SurveyFactory

PACKAGE = "bazgasht_client"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    where = tmp_path_factory.mktemp("client")
    schema = where / "openapi.json"
    schema.write_text(json.dumps(api.get_openapi_schema()), encoding="utf-8")
    generator = Path(sys.executable).with_name("openapi-python-client")
    run = subprocess.run(
        [generator, "generate", "--path", schema, "--meta", "none", "--output-path", where / PACKAGE],
        capture_output=True,
        text=True,
        cwd=where,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    # Anything the generator had to leave out of the client is a defect of the schema.
    assert "Warning" not in run.stdout, run.stdout
    sys.path.insert(0, str(where))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(where))
        for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def test_every_operation_of_the_schema_is_in_the_client(generated):
    operations = {
        operation["operationId"]
        for methods in api.get_openapi_schema()["paths"].values()
        for operation in methods.values()
    }
    modules = {
        path.stem for path in Path(generated.__file__).parent.joinpath("api").rglob("*.py") if path.stem != "__init__"
    }

    assert operations <= modules


@pytest.mark.django_db(transaction=True)
def test_a_generated_client_sends_typed_bulk_orders_and_downloads_a_pdf(generated, live_server):
    from bazgasht_client import AuthenticatedClient
    from bazgasht_client.api.orders import surveys_api_create_orders
    from bazgasht_client.api.reports import reports_api_download_report
    from bazgasht_client.models import BulkOrdersIn, BulkOrdersOut, CustomerIn, OrderIn, OrderLineIn
    from bazgasht_client.types import File

    shop = SurveyFactory().shop
    _, key = create_api_key(shop, name="client", scopes=["read", "write", "customers"])
    client = AuthenticatedClient(base_url=live_server.url, token=key, raise_on_unexpected_status=True)
    placed = datetime(2026, 11, 20, 10, tzinfo=UTC)
    orders = [
        OrderIn(
            external_id="5532214001",
            number="1001",
            customer=CustomerIn(email="sara@example.com", phone="0912 123 4567", country="IR"),
            total="129.00",
            currency="IRR",
            placed_at=placed,
            lines=[OrderLineIn(sku="MUG", product_name="Mug", quantity=2, unit_price="64.50")],
        ),
        OrderIn(
            external_id="5532214002",
            customer=CustomerIn(email="reza@example.com"),
            total="9",
            currency="IRR",
            placed_at=placed,
            test=True,
        ),
    ]

    with client:
        answer = surveys_api_create_orders.sync(client=client, body=BulkOrdersIn(orders=orders))

    assert isinstance(answer, BulkOrdersOut)
    assert (answer.created, answer.rejected, [row.status for row in answer.results]) == (2, 0, ["created"] * 2)
    stored = Order.objects.get(external_id="5532214001")
    assert (stored.display_number, stored.customer.phone, stored.lines.get().quantity) == ("1001", "+989121234567", 2)
    assert Order.objects.get(external_id="5532214002").is_test

    run = ReportRun.objects.create(
        shop=shop, period=date(2026, 10, 1), period_end=date(2026, 10, 31), status=ReportRun.Status.DONE
    )
    run.file.save("october.pdf", ContentFile(b"%PDF-1.7 the report"))

    with AuthenticatedClient(base_url=live_server.url, token=key, raise_on_unexpected_status=True) as client:
        pdf = reports_api_download_report.sync(report_id=run.pk, client=client)

    assert isinstance(pdf, File)
    assert pdf.payload.read() == b"%PDF-1.7 the report"


def test_operation_ids_keep_the_names_they_were_published_under():
    # A generated client names its functions by them: moving the code must not rename them.
    paths = api.get_openapi_schema()["paths"].values()
    ids = {operation["operationId"] for methods in paths for operation in methods.values()}
    published = {
        "surveys_api_create_order",
        "surveys_api_create_orders",
        "surveys_privacy_api_erase_customer",
        "feedback_cases_api_list_cases",
        "feedback_alerts_api_set_alert_webhook",
        "feedback_api_get_nps",
        "reports_api_download_report",
    }
    assert published <= ids
    homes = ("intake", "customer_data", "casework", "insights")
    assert not [name for name in ids if any(home in name for home in homes)]
