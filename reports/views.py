"""The report archive at /reports/: a shop's managers list, download and (re)make monthly reports,
in the staff member's language."""

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.models import User
from django.contrib.auth.views import redirect_to_login
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from feedback.accounts.staff import staff_language
from feedback.insights.periods import Calendar
from reports import domain
from reports.format import month_name
from reports.models import ReportRun
from reports.month import report_month
from surveys.errors import DomainError
from surveys.models import Language, Shop
from surveys.queries import READS_NUMBERS, shops_of

ARCHIVE_LENGTH = 60
StrOrPromise = str | Promise
# The page's words for the models' codes, in the reader's language.
CALENDAR_CHOICES = [
    (Calendar.GREGORIAN.value, gettext_lazy("Gregorian months")),
    (Calendar.JALALI.value, gettext_lazy("Jalali (Persian) months")),
]
LANGUAGE_NAMES: dict[str, StrOrPromise] = {
    Language.ENGLISH: gettext_lazy("English"),
    Language.PERSIAN: gettext_lazy("Persian"),
}
STATUS_NAMES: dict[str, StrOrPromise] = {
    ReportRun.Status.PENDING: gettext_lazy("Waiting"),
    ReportRun.Status.RUNNING: gettext_lazy("Being made"),
    ReportRun.Status.DONE: gettext_lazy("Ready"),
    ReportRun.Status.FAILED: gettext_lazy("Failed"),
}


class ReportForm(forms.Form):
    shop = forms.ChoiceField(label=gettext_lazy("Shop"))
    month = forms.CharField(
        max_length=7, label=gettext_lazy("Month"), help_text=gettext_lazy("2026-10, or 1405-08 for a Jalali month.")
    )
    calendar = forms.ChoiceField(label=gettext_lazy("Calendar"), choices=CALENDAR_CHOICES)
    language = forms.ChoiceField(label=gettext_lazy("Language"), choices=list(LANGUAGE_NAMES.items()))
    email = forms.BooleanField(required=False, label=gettext_lazy("Email it to the managers when it is ready"))

    def __init__(self, *args: Any, shops: list[Shop], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        shop_field = self.fields["shop"]
        assert isinstance(shop_field, forms.ChoiceField)
        shop_field.choices = [(shop.slug, shop.display_name) for shop in shops]


def _managed_shops(request: HttpRequest) -> list[Shop] | None:
    """The shops whose reports the user may see; None: not signed in."""
    if not request.user.is_authenticated:
        return None
    assert isinstance(request.user, User)
    if not request.user.is_staff:
        return []
    return list(shops_of(request.user, roles=READS_NUMBERS).order_by("name", "pk"))


@staff_language
def archive(request: HttpRequest) -> HttpResponse:
    """Every report of the user's shops, newest month first, and a form to make one."""
    shops = _managed_shops(request)
    if shops is None:
        return redirect_to_login(request.get_full_path(), login_url=reverse("login"))
    if not shops:
        return render(request, "work/reports.html", {"forbidden": True}, status=403)
    runs = ReportRun.objects.filter(shop__in=shops).select_related("shop").order_by("-period", "shop__name", "language")
    first = shops[0]
    schedule = domain.schedule_of(first)
    calendar = Calendar(schedule.report_calendar)
    last_month = report_month(first, domain.last_month(first, calendar), calendar)
    form = ReportForm(
        shops=shops,
        initial={
            "shop": first.slug,
            "month": last_month.label,
            "calendar": schedule.report_calendar,
            "language": schedule.report_language,
        },
    )
    reader = get_language() or Language.ENGLISH
    rows = [
        {
            "run": run,
            "month": month_name(
                report_month(run.shop, run.period, Calendar(run.calendar)), Calendar(run.calendar), reader
            ),
            "language": LANGUAGE_NAMES.get(run.language, run.language),
            "status": STATUS_NAMES.get(run.status, run.status),
            "file_name": domain.file_name(run),
        }
        for run in runs[:ARCHIVE_LENGTH]
    ]
    return render(request, "work/reports.html", {"rows": rows, "form": form, "shops": shops, "shop": first})


@require_POST
@staff_language
def make(request: HttpRequest) -> HttpResponse:
    """Make a month's report (again): a worker makes it; the archive shows when it is ready."""
    shops = _managed_shops(request)
    if shops is None:
        return redirect_to_login(reverse("report_archive"), login_url=reverse("login"))
    if not shops:
        return render(request, "work/reports.html", {"forbidden": True}, status=403)
    form = ReportForm(request.POST, shops=shops)
    if not form.is_valid():
        messages.error(request, _("Choose a shop, a month, a calendar and a language."))
        return redirect("report_archive")
    shop = next(shop for shop in shops if shop.slug == form.cleaned_data["shop"])
    calendar = Calendar(form.cleaned_data["calendar"])
    try:
        month = domain.parse_month(form.cleaned_data["month"], calendar)
        run = domain.request_report(
            shop,
            month=month,
            calendar=calendar,
            language=form.cleaned_data["language"],
            email=form.cleaned_data["email"],
            by=_user(request),
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("report_archive")
    messages.success(
        request, _("The report is being made (%(file)s); reload in a moment.") % {"file": domain.file_name(run)}
    )
    return redirect("report_archive")


@require_POST
@staff_language
def regenerate(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _run_of(request, run_id)
    run = domain.request_report(
        run.shop,
        month=run.period,
        calendar=Calendar(run.calendar),
        language=run.language,
        email=request.POST.get("email") == "1",
        by=_user(request),
    )
    messages.success(request, _("%(file)s is being made again; reload in a moment.") % {"file": domain.file_name(run)})
    return redirect("report_archive")


def download(request: HttpRequest, run_id: int) -> HttpResponse | FileResponse:
    """The link in the report email: signed out, it goes by the login and comes back."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), login_url=reverse("login"))
    run = _run_of(request, run_id)
    if not run.file:
        raise Http404("this report has not been made yet")
    return FileResponse(run.file.open("rb"), as_attachment=True, filename=domain.file_name(run))


def _user(request: HttpRequest) -> User:
    """The signed-in user of a request _managed_shops has let through."""
    assert isinstance(request.user, User)
    return request.user


def _run_of(request: HttpRequest, run_id: int) -> ReportRun:
    """A report of a shop the user manages; anything else is a 404 (signed out: to the login)."""
    shops = _managed_shops(request)
    run = ReportRun.objects.filter(pk=run_id, shop__in=shops or []).select_related("shop").first()
    if run is None:
        raise Http404("no such report")
    return run
