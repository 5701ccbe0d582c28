"""The CSV downloads for shop managers: /exports/responses.csv and /exports/cases.csv?shop=<slug>.

The cases file takes the work list's filters (status, priority, owner, overdue, reason, language,
theme, product, search), read by the same form and applied by feedback.casework.filters.

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

from feedback.accounts.staff import colleagues_in
from feedback.casework import queue
from feedback.insights import exports
from feedback.insights.schemas import PeriodQuery
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
    if kind == "cases":
        return _cases_file(request, request.user, shop, period)
    rows = exports.response_rows(shop, exports.responses_for_export(shop, since=period.since, until=period.until))
    return csv_download(rows, filename=export_filename(kind, shop, period))


def _cases_file(request: HttpRequest, user: User, shop: Shop, period: PeriodQuery) -> HttpResponseBase:
    """The cases the work list shows for the same filters (in its words, a search by its key), in
    the period. Without a status every case is in it, as it always was (the list: open cases only).
    A filter that does not validate is a 400: the list falls back to its default, a file should not."""
    params, search_forgotten = queue.with_search_text(request, request.GET)
    if search_forgotten:
        return HttpResponseBadRequest("That search belongs to another session; search again on the work list.")
    params.pop("shop", None)  # here the shop's slug, not the list's shop filter
    params.setdefault("status", "all")
    filters = queue.QueueFilters(params, shops=[shop], colleagues=colleagues_in([shop], me=user))
    if not filters.is_valid():
        # Only the fields' names: Django's messages repeat the value sent, which is not ours to echo.
        return HttpResponseBadRequest(
            f"These filters do not make sense: {', '.join(str(name) for name in filters.errors)}."
        )
    now = timezone.now()
    criteria = queue.criteria_of(filters.values(), user=user)
    criteria = exports.within_period(criteria, shop, since=period.since, until=period.until)
    rows = exports.case_rows(shop, exports.cases_for_export(shop, criteria, now=now), now=now)
    return csv_download(rows, filename=export_filename("cases", shop, period))


def _shop_for(user: User, slug: str) -> Shop:
    """The shop by slug if the user belongs to it: another shop's slug is as unknown as a made-up one."""
    shop = shops_of(user).filter(slug=slug).first()
    if shop is None:
        raise Http404("no such shop")
    return shop


def _role(user: User, shop: Shop) -> str | None:
    return Membership.objects.filter(user=user, shop=shop).values_list("role", flat=True).first()
