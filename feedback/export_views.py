"""The CSV downloads for shop managers: /exports/responses.csv and /exports/cases.csv?shop=<slug>.

Exports carry every customer's name and email, so only a shop's managers and admins (and
superusers) may take them; a support agent sees cases one at a time on the work list.
"""

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import User
from django.contrib.auth.views import redirect_to_login
from django.http import (
    Http404,
    HttpRequest,
    HttpResponseBadRequest,
    HttpResponseForbidden,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET
from pydantic import ValidationError

from feedback import exports
from feedback.schemas import PeriodQuery
from surveys.models import Membership, Shop
from surveys.queries import shops_of

EXPORTING_ROLES = {Membership.Role.MANAGER, Membership.Role.ADMIN}


def csv_download(rows: Iterable[list[Any]], *, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(exports.csv_lines(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def export_filename(kind: str, shop: Shop, period: PeriodQuery) -> str:
    dates = "-".join(str(day) for day in (period.since, period.until) if day)
    return f"{kind}-{shop.slug}{'-' + dates if dates else ''}.csv"


@require_GET
def responses_csv(request: HttpRequest) -> HttpResponseBase:
    return _export(request, "responses")


@require_GET
def cases_csv(request: HttpRequest) -> HttpResponseBase:
    return _export(request, "cases")


def _export(request: HttpRequest, kind: str) -> HttpResponseBase:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), login_url=reverse("login"))
    assert isinstance(request.user, User)
    if not request.user.is_staff:
        return render(request, "work/forbidden.html", status=403)
    slug = request.GET.get("shop", "")
    if not slug:
        return HttpResponseBadRequest("Say which shop to export: ?shop=<the shop's slug>.")
    shop = _shop_for(request.user, slug)
    if not (request.user.is_superuser or _role(request.user, shop) in EXPORTING_ROLES):
        return HttpResponseForbidden("Exports are for the shop's managers and admins.")
    try:
        period = PeriodQuery.model_validate(
            {name: request.GET[name] for name in ("since", "until") if request.GET.get(name)}
        )
    except ValidationError as error:
        return HttpResponseBadRequest("; ".join(problem["msg"] for problem in error.errors()))
    if kind == "responses":
        rows = exports.response_rows(shop, exports.responses_for_export(shop, since=period.since, until=period.until))
    else:
        found = exports.cases_for_export(shop, since=period.since, until=period.until)
        rows = exports.case_rows(shop, found, now=timezone.now())
    return csv_download(rows, filename=export_filename(kind, shop, period))


def _shop_for(user: User, slug: str) -> Shop:
    """The shop by slug if the user belongs to it: another shop's slug is as unknown as a made-up one."""
    shop = shops_of(user).filter(slug=slug).first()
    if shop is None:
        raise Http404("no such shop")
    return shop


def _role(user: User, shop: Shop) -> str | None:
    return Membership.objects.filter(user=user, shop=shop).values_list("role", flat=True).first()
