"""API keys: scopes on every endpoint, revocation, last use; and a length limit on every text input."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from config.api import api, scopes_for
from surveys.intake.api_keys import create_api_key
from surveys.intake.orders import CustomerDetails, record_order
from surveys.models import ApiKey, ApiScope, Membership
from tests.factories import ShopFactory

pytestmark = pytest.mark.django_db

SCHEMA = api.get_openapi_schema()
OPERATIONS = [
    (method.upper(), path)
    for path, item in SCHEMA["paths"].items()
    for method in item
    if method in ("get", "post", "put", "patch", "delete")
]


def client_for(shop, scopes):
    _, raw = create_api_key(shop, name="-".join(scopes) or "none", scopes=scopes)
    return Client(headers={"Authorization": f"Bearer {raw}"})


def call(client, method, path, body=None):
    url = re.sub(r"\{[^}]+\}", "1", path)  # any id: a 404 is fine, only 401/403 matter here
    kwargs = {"content_type": "application/json", "data": body or {}} if method != "GET" else {}
    return getattr(client, method.lower())(url, **kwargs)


def test_the_scope_rule_covers_every_kind_of_endpoint():
    assert scopes_for("GET", "orders/A-1") == {"read"}
    assert scopes_for("POST", "orders") == {"write"}
    assert scopes_for("GET", "metrics/nps") == {"read"}
    # Personal data: what reveals it needs read, what changes it write, and both customers as well.
    assert scopes_for("GET", "exports/cases.csv") == {"read", "customers"}
    assert scopes_for("GET", "cases") == {"read", "customers"}
    assert scopes_for("PATCH", "cases/3") == {"write", "customers"}
    assert scopes_for("DELETE", "cases/3/notes") == {"write", "customers"}
    assert scopes_for("GET", "reports/3/pdf") == {"read", "customers"}
    assert scopes_for("POST", "customers/export") == {"read", "customers"}  # POSTed, but only reveals
    assert scopes_for("POST", "customers/erase") == {"write", "customers"}
    assert scopes_for("GET", "webhooks/alerts") == {"webhooks"}
    assert scopes_for("PUT", "webhooks/alerts") == {"webhooks"}


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_every_endpoint_refuses_a_key_without_each_scope_it_needs_and_admits_one_with_them(method, path):
    needed = scopes_for(method, path.removeprefix("/api/v1/"))
    shop = ShopFactory()

    for scope in sorted(needed):
        refused = call(client_for(shop, [other for other in ApiScope.values if other != scope]), method, path)
        assert refused.status_code == 403
        assert refused.json() == {"detail": f"this API key lacks the {scope} scope"}
    admitted = call(client_for(shop, sorted(needed)), method, path)
    assert admitted.status_code not in (401, 403), admitted.content[:300]


def test_a_write_only_key_cannot_export_a_customer_and_says_which_scopes_it_lacks(shop):
    record_order(shop, external_id="P-1", customer=CustomerDetails(email="p@example.com", name="Parisa"), total=1,
                 currency="EUR", placed_at=timezone.now())  # fmt: skip
    body = {"email": "p@example.com"}

    writer = client_for(shop, ["write"]).post("/api/v1/customers/export", body, content_type="application/json")
    allowed = client_for(shop, ["read", "customers"]).post(
        "/api/v1/customers/export", body, content_type="application/json"
    )

    assert (writer.status_code, writer.json()) == (403, {"detail": "this API key lacks the customers and read scopes"})
    assert "Parisa" not in writer.content.decode()
    assert allowed.status_code == 200
    assert "Parisa" in allowed.content.decode()


def test_a_read_only_key_reads_orders_but_cannot_record_one(shop):
    reader = client_for(shop, ["read"])
    order = {
        "external_id": "R-1",
        "total": "10.00",
        "currency": "EUR",
        "placed_at": "2026-11-20T10:00:00+00:00",
        "customer": {"email": "r@example.com"},
    }

    refused = reader.post("/api/v1/orders", order, content_type="application/json")
    writer_answer = client_for(shop, ["write"]).post("/api/v1/orders", order, content_type="application/json")
    read_back = reader.get("/api/v1/orders/R-1")

    assert refused.status_code == 403
    assert writer_answer.status_code == 201
    assert read_back.status_code == 200
    assert read_back.json()["external_id"] == "R-1"


def test_new_keys_read_write_and_see_customers_but_do_not_touch_webhooks_unless_given_that_scope(shop):
    key, _ = create_api_key(shop, name="default")

    assert key.scopes == ["read", "write", "customers"]
    with pytest.raises(ValueError, match="unknown API scopes: admin"):
        create_api_key(shop, name="typo", scopes=["read", "admin"])


def test_a_revoked_key_is_refused_at_once(shop):
    key, raw = create_api_key(shop, name="old")
    client = Client(headers={"Authorization": f"Bearer {raw}"})
    before = client.get("/api/v1/metrics/nps")

    ApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())
    after = client.get("/api/v1/metrics/nps")

    assert before.status_code == 200
    assert after.status_code == 401


def test_last_use_is_written_at_most_once_a_minute(shop, django_assert_num_queries):
    key, raw = create_api_key(shop, name="busy")
    client = Client(headers={"Authorization": f"Bearer {raw}"})
    start = timezone.now()

    with time_machine.travel(start, tick=False):
        client.get("/api/v1/metrics/nps")
    first = ApiKey.objects.get(pk=key.pk).last_used_at
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        client.get("/api/v1/metrics/nps")
    unchanged = ApiKey.objects.get(pk=key.pk).last_used_at
    with time_machine.travel(start + timedelta(minutes=2), tick=False):
        client.get("/api/v1/metrics/nps")
    later = ApiKey.objects.get(pk=key.pk).last_used_at

    assert first == start
    assert unchanged == start
    assert later == start + timedelta(minutes=2)


def test_the_admin_makes_a_scoped_key_shows_it_once_and_lists_its_last_use(client, shop, staff_of):
    client.force_login(staff_of(shop, role=Membership.Role.ADMIN))

    added = client.post(
        "/admin/surveys/apikey/add/", {"shop": shop.pk, "name": "reporting", "scopes": ["read"]}, follow=True
    )
    key = ApiKey.objects.get(name="reporting")
    raw = re.search(r"The new key is (bz_\S+)", added.content.decode()).group(1)
    used = Client(headers={"Authorization": f"Bearer {raw}"}).get("/api/v1/metrics/nps")
    listing = client.get("/admin/surveys/apikey/").content.decode()
    again = client.get(f"/admin/surveys/apikey/{key.pk}/change/").content.decode()

    assert key.scopes == ["read"]
    assert raw.startswith(key.prefix)
    assert key.key_hash not in added.content.decode()
    assert used.status_code == 200
    assert ApiKey.objects.get(pk=key.pk).last_used_at is not None
    assert "Last used at" in listing.replace("last used at", "Last used at")
    assert raw not in again


def test_the_admin_revokes_keys(client, shop, staff_of):
    key, raw = create_api_key(shop, name="leaked")
    client.force_login(staff_of(shop, role=Membership.Role.ADMIN))

    client.post("/admin/surveys/apikey/", {"action": "revoke", "_selected_action": [key.pk]})

    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None
    assert Client(headers={"Authorization": f"Bearer {raw}"}).get("/api/v1/metrics/nps").status_code == 401


# --- Every free-text input has a length limit ---------------------------------------------


def _resolve(node):
    while isinstance(node, dict) and "$ref" in node:
        node = SCHEMA["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _bounded_pattern(pattern):
    """An anchored pattern without an open-ended repeat (like ^[A-Za-z]{3}$) bounds the length."""
    bare = re.sub(r"\\.", "x", pattern)
    return bare.startswith("^") and bare.endswith("$") and not re.search(r"[*+]|\{\d+,\}", bare)


def _unbounded_strings(node, where, seen=()):
    """Paths to string inputs with neither maxLength nor a closed set of values."""
    node = _resolve(node)
    if not isinstance(node, dict) or id(node) in seen:
        return
    seen = (*seen, id(node))
    if node.get("type") == "string" and not (
        "maxLength" in node
        or "enum" in node
        or "const" in node
        or node.get("format") in ("date", "date-time")
        or _bounded_pattern(node.get("pattern", ""))
    ):
        yield where
    for key in ("anyOf", "oneOf", "allOf"):
        options = [_resolve(option) for option in node.get(key, [])]
        # A decimal is "a number or a string" (pydantic checks its digits), not free text.
        if {"number", "string"} <= {option.get("type") for option in options}:
            continue
        for index, option in enumerate(options):
            yield from _unbounded_strings(option, f"{where}[{key}{index}]", seen)
    for name, prop in node.get("properties", {}).items():
        yield from _unbounded_strings(prop, f"{where}.{name}", seen)
    if "items" in node:
        yield from _unbounded_strings(node["items"], f"{where}[]", seen)


def test_every_text_the_api_takes_has_a_length_limit():
    unbounded = []
    for path, item in SCHEMA["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                unbounded += _unbounded_strings(parameter["schema"], f"{method} {path} {parameter['name']}")
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body:
                unbounded += _unbounded_strings(body, f"{method} {path} body")

    assert unbounded == [], "\n".join(unbounded)


def test_a_request_django_refuses_early_is_still_json_on_the_api(client):
    api_answer = client.get("/api/v1/metrics/nps", HTTP_HOST="evil.example")
    page = client.get("/login/", HTTP_HOST="evil.example")

    assert api_answer.status_code == 400
    assert api_answer.json() == {"detail": "bad request"}
    assert page.status_code == 400
    assert page["Content-Type"].startswith("text/html")
