"""The one NinjaAPI: routers, API-key auth with scopes, and the mapping of domain errors to HTTP."""

from typing import Any, cast

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.operation import Operation
from ninja.security import HttpBearer

from feedback.casework.alerts_api import router as webhooks_router
from feedback.casework.api import router as cases_router
from feedback.insights.api import router as metrics_router
from reports.api import router as reports_router
from surveys.customer_data.api import router as customers_router
from surveys.errors import DomainError
from surveys.intake.api import router as orders_router
from surveys.intake.api_keys import api_key_for
from surveys.models import ApiScope, Shop
from surveys.requests import ShopRequest

# Which scopes each endpoint needs, decided by one rule so a new endpoint cannot be left out:
#   /webhooks/…                              webhooks  (reads too: the URL and log say where complaints go)
#   what only reveals (GET, POST customers/export)       read
#   what changes (POST, PUT, PATCH, DELETE)              write
#   and, where personal data is revealed or changed      customers as well
#   (cases and their notes, exports, monthly reports, customers' export and erasure)
# tests/test_security_api.py checks every operation in the OpenAPI schema against it.
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
WEBHOOKS_PREFIX = "webhooks/"
PERSONAL_PREFIXES = ("cases", "exports/", "reports", "customers/")
# POSTed (it takes an address in the body, kept out of URLs and logs) but changes nothing.
READS_BY_POST = ("customers/export",)
SCOPES_DOC = (
    "Scopes: `read` for what only reveals (every GET, and POST /customers/export), `write` for what "
    "changes, `customers` as well wherever personal data is revealed or changed (cases, notes, exports, "
    "reports, customers), and `webhooks` for everything under /webhooks/ (reads included). A key without "
    "a scope an endpoint needs gets a 403."
)


class MissingScope(DomainError):
    """This API key may not do that."""

    status_code = 403


def scopes_for(method: str, path: str) -> set[str]:
    """The scopes an API request needs; `path` is relative to the API root (orders/A-1, webhooks/alerts)."""
    if path.startswith(WEBHOOKS_PREFIX):
        return {ApiScope.WEBHOOKS}
    reveals_only = method.upper() in SAFE_METHODS or path in READS_BY_POST
    needed: set[str] = {ApiScope.READ if reveals_only else ApiScope.WRITE}
    if path.startswith(PERSONAL_PREFIXES):
        needed.add(ApiScope.CUSTOMERS)
    return needed


class ApiKeyAuth(HttpBearer):
    """`Authorization: Bearer <key>`; the request acts for the key's shop, within the key's scopes."""

    openapi_description = SCOPES_DOC

    def authenticate(self, request: HttpRequest, token: str) -> Shop | None:
        key = api_key_for(token)
        if key is None:
            return None
        missing = sorted(scopes_for(request.method or "GET", _api_path(request)) - set(key.scopes))
        if missing:
            raise MissingScope(f"this API key lacks the {' and '.join(missing)} scope{'s' if len(missing) > 1 else ''}")
        # From here on the request is a ShopRequest: ninja puts the shop returned on `request.auth`.
        cast(ShopRequest, request).api_key_name = key.name
        return key.shop


def _api_path(request: HttpRequest) -> str:
    match = request.resolver_match
    route = match.route if match is not None else request.path_info.lstrip("/")
    return route.removeprefix(API_ROOT)


API_ROOT = "api/v1/"

# What every endpoint may answer besides its success, so the schema tells clients (and the
# schemathesis run in tests/test_security_fuzz.py holds the API to it).
ERROR_RESPONSES = {
    "400": "The body is not JSON, or a rule refused the request.",
    "401": "No valid API key.",
    "403": "The API key lacks the scope this endpoint needs.",
    "404": "Not there, or not this shop's.",
    "422": "Invalid input: `detail` lists each problem with its field.",
}
CONFLICT = {"409": "The change conflicts with the current state (a case's status, for example)."}


# Where each API module lived when its operation ids were first published. An id names a
# generated client's function (bazgasht_client.api.orders.surveys_api_create_order), so it is
# part of the API's contract and stays put when the code moves.
PUBLISHED_MODULES = {
    "surveys.intake.api": "surveys.api",
    "surveys.customer_data.api": "surveys.privacy_api",
    "feedback.casework.api": "feedback.cases_api",
    "feedback.casework.alerts_api": "feedback.alerts_api",
    "feedback.insights.api": "feedback.api",
}


class BazgashtAPI(NinjaAPI):
    def get_openapi_operation_id(self, operation: Operation) -> str:
        module = operation.view_func.__module__
        return f"{PUBLISHED_MODULES.get(module, module)}_{operation.view_func.__name__}".replace(".", "_")

    def get_openapi_schema(self, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(**kwargs)
        schema["components"].setdefault("schemas", {})["Error"] = {
            "type": "object",
            "properties": {"detail": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "object"}}]}},
            "required": ["detail"],
        }
        error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        for item in schema["paths"].values():
            for method, operation in item.items():
                errors = ERROR_RESPONSES | (CONFLICT if method.upper() not in SAFE_METHODS else {})
                for status, text in errors.items():
                    operation["responses"].setdefault(status, {"description": text, **error})
        return schema


api = BazgashtAPI(
    title="Bazgasht API",
    version="1",
    description="Orders in, surveys out, and the numbers that come back.\n\n" + SCOPES_DOC,
    auth=ApiKeyAuth(),
    urls_namespace="api",
)
api.add_router("/", orders_router)
api.add_router("/", metrics_router)
api.add_router("/", cases_router)
api.add_router("/", reports_router)
api.add_router("/", customers_router)
api.add_router("/", webhooks_router)


@api.exception_handler(DomainError)
def domain_error(request: HttpRequest, error: DomainError) -> HttpResponse:
    return api.create_response(request, {"detail": error.message}, status=error.status_code)
