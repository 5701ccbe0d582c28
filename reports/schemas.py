"""The monthly reports' API schemas: a report, asking for one, and the archive's query."""

from datetime import datetime

from ninja import Field, Schema
from pydantic import BaseModel, ConfigDict

from feedback.insights.periods import Calendar
from reports.models import ReportRun
from surveys.models import Language


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
