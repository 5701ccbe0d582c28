"""The one NinjaAPI: routers, API-key auth and the mapping of domain errors to HTTP."""

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.security import HttpBearer

from feedback.api import router as metrics_router
from feedback.cases_api import router as cases_router
from surveys.api import router as orders_router
from surveys.domain import api_key_for
from surveys.errors import DomainError
from surveys.models import Shop


class ApiKeyAuth(HttpBearer):
    """`Authorization: Bearer <key>`; the request acts for the key's shop."""

    def authenticate(self, request: HttpRequest, token: str) -> Shop | None:
        key = api_key_for(token)
        if key is None:
            return None
        # The key's name goes into audit trails ("via API key shopify").
        request.api_key_name = key.name  # type: ignore[attr-defined]
        return key.shop


api = NinjaAPI(
    title="Bazgasht API",
    version="1",
    description="Orders in, surveys out, and the numbers that come back.",
    auth=ApiKeyAuth(),
    urls_namespace="api",
)
api.add_router("/", orders_router)
api.add_router("/", metrics_router)
api.add_router("/", cases_router)


@api.exception_handler(DomainError)
def domain_error(request: HttpRequest, error: DomainError) -> HttpResponse:
    return api.create_response(request, {"detail": error.message}, status=error.status_code)
