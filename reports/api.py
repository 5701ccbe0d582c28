"""Monthly reports over the API: the archive, a report on demand (202 and a run to poll), the PDF.

The shop is the API key's (`request.auth`); another shop's report is a 404.
"""

from datetime import datetime

from django.http import FileResponse, HttpRequest
from django.urls import reverse
from ninja import Field, Query, Router, Schema, Status
from pydantic import BaseModel, ConfigDict

from feedback.insights.periods import Calendar
from reports import domain
from reports.data import report_month
from reports.models import ReportRun
from surveys.errors import NotFound
from surveys.models import Language, Shop

router = Router(tags=["reports"])


class ReportOut(Schema):
    id: int
    month: str = Field(description='The month reported on, in its calendar: "2026-10" or "1405-08".')
    calendar: Calendar
    first_day: str = Field(description="Its first day, Gregorian (ISO 8601).")
    last_day: str
    language: Language
    status: ReportRun.Status = Field(description="pending → running → done, or failed (tried again with backoff).")
    error: str = Field(description="Why the last attempt failed; empty otherwise.")
    attempts: int
    emailed_at: datetime | None = Field(description="When the shop's managers were emailed it.")
    emailed_to: int
    finished_at: datetime | None
    pdf_url: str | None = Field(description="Where to download it, once made.")
    poll_url: str


class ReportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    month: str = Field(max_length=7, description='"2026-10", or "1405-08" with calendar "jalali".')
    calendar: Calendar | None = Field(None, description="Default: the shop's report schedule.")
    language: Language | None = Field(None, description="Default: the shop's report schedule.")
    email: bool = Field(False, description="Also email it to the shop's managers when done.")


class Regenerate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: bool = Field(False, description="Email it to the shop's managers again when done.")


class ListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    before: int | None = Field(
        None, ge=1, description="Only reports with a smaller id: the last id of the page before."
    )
    limit: int = Field(24, ge=1, le=100)


@router.get("/reports", response=list[ReportOut], summary="The archive of monthly reports, newest month first")
def list_reports(request: HttpRequest, query: Query[ListQuery]) -> list[ReportOut]:
    runs = ReportRun.objects.filter(shop=_shop(request)).select_related("shop").order_by("-period", "-pk")
    if query.before:
        runs = runs.filter(pk__lt=query.before)
    return [_out(run) for run in runs[: query.limit]]


@router.post("/reports", response={202: ReportOut}, summary="Make a month's report (again); poll it until done")
def request_report(request: HttpRequest, payload: ReportRequest) -> Status[ReportOut]:
    shop = _shop(request)
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
def get_report(request: HttpRequest, report_id: int) -> ReportOut:
    return _out(_run(request, report_id))


@router.post("/reports/{report_id}/regenerate", response={202: ReportOut}, summary="Make a report again")
def regenerate(request: HttpRequest, report_id: int, payload: Regenerate) -> Status[ReportOut]:
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
def download_report(request: HttpRequest, report_id: int) -> FileResponse:
    run = _run(request, report_id)
    if not run.file:
        raise NotFound("This report has not been made yet: poll it until its status is done.")
    kind = request.get_preferred_type(PDF_TYPES) or PDF_TYPES[0]
    return FileResponse(run.file.open("rb"), as_attachment=True, filename=domain.file_name(run), content_type=kind)


def _shop(request: HttpRequest) -> Shop:
    shop = request.auth  # type: ignore[attr-defined]
    assert isinstance(shop, Shop)
    return shop


def _run(request: HttpRequest, report_id: int) -> ReportRun:
    run = ReportRun.objects.filter(shop=_shop(request), pk=report_id).select_related("shop").first()
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
