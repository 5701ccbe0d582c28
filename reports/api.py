"""Monthly reports over the API: the archive, a report on demand (202 and a run to poll), the PDF.

The shop is the API key's (`request.auth`); another shop's report is a 404.
"""

from django.http import FileResponse
from django.urls import reverse
from ninja import Query, Router, Status

from feedback.insights.periods import Calendar
from reports import domain
from reports.models import ReportRun
from reports.month import report_month
from reports.schemas import ListQuery, Regenerate, ReportOut, ReportRequest
from surveys.errors import NotFound
from surveys.models import Language
from surveys.requests import ShopRequest

router = Router(tags=["reports"])


@router.get("/reports", response=list[ReportOut], summary="The archive of monthly reports, newest month first")
def list_reports(request: ShopRequest, query: Query[ListQuery]) -> list[ReportOut]:
    runs = ReportRun.objects.filter(shop=request.auth).select_related("shop").order_by("-period", "-pk")
    if query.before:
        runs = runs.filter(pk__lt=query.before)
    return [_out(run) for run in runs[: query.limit]]


@router.post("/reports", response={202: ReportOut}, summary="Make a month's report (again); poll it until done")
def request_report(request: ShopRequest, payload: ReportRequest) -> Status[ReportOut]:
    shop = request.auth
    calendar = payload.calendar or Calendar(domain.schedule_of(shop).report_calendar)
    run = domain.request_report(
        shop,
        month=domain.parse_month(payload.month, calendar),
        calendar=calendar,
        language=payload.language,
        email=payload.email,
    )
    return Status(202, _out(run))


@router.get("/reports/{report_id}", response=ReportOut, summary="One report: its status and where to get it")
def get_report(request: ShopRequest, report_id: int) -> ReportOut:
    return _out(_run(request, report_id))


@router.post("/reports/{report_id}/regenerate", response={202: ReportOut}, summary="Make a report again")
def regenerate(request: ShopRequest, report_id: int, payload: Regenerate) -> Status[ReportOut]:
    run = _run(request, report_id)
    run = domain.request_report(
        run.shop, month=run.period, calendar=Calendar(run.calendar), language=run.language, email=payload.email
    )
    return Status(202, _out(run))


PDF_TYPES = ["application/pdf", "application/octet-stream"]


@router.get(
    "/reports/{report_id}/pdf",
    response={200: None},
    summary="The report's PDF",
    openapi_extra={
        "responses": {
            200: {
                "description": "The PDF (as application/octet-stream if the request's Accept asks for that).",
                # Both, as many client generators know only octet-stream for a file.
                "content": {kind: {"schema": {"type": "string", "format": "binary"}} for kind in PDF_TYPES},
            }
        }
    },
)
def download_report(request: ShopRequest, report_id: int) -> FileResponse:
    run = _run(request, report_id)
    if not run.file:
        raise NotFound("This report has not been made yet: poll it until its status is done.")
    kind = request.get_preferred_type(PDF_TYPES) or PDF_TYPES[0]
    return FileResponse(run.file.open("rb"), as_attachment=True, filename=domain.file_name(run), content_type=kind)


def _run(request: ShopRequest, report_id: int) -> ReportRun:
    run = ReportRun.objects.filter(shop=request.auth, pk=report_id).select_related("shop").first()
    if run is None:
        raise NotFound("No such report.")
    return run


def _out(run: ReportRun) -> ReportOut:
    span = report_month(run.shop, run.period, Calendar(run.calendar))
    return ReportOut(
        id=run.pk,
        month=span.label,
        calendar=Calendar(run.calendar),
        first_day=run.period.isoformat(),
        last_day=run.period_end.isoformat(),
        language=Language(run.language),
        status=ReportRun.Status(run.status),
        error=run.error,
        attempts=run.attempts,
        emailed_at=run.emailed_at,
        emailed_to=run.emailed_to,
        finished_at=run.finished_at,
        pdf_url=reverse("api:download_report", args=[run.pk]) if run.file else None,
        poll_url=reverse("api:get_report", args=[run.pk]),
    )
