"""The support work list's API schemas: cases and their notes, and the alert webhook.

In and Out schemas only; feedback/casework/api.py and alerts_api.py use them.
"""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from ninja import Field, Schema
from pydantic import BaseModel, ConfigDict, WithJsonSchema, field_validator, model_validator

from feedback.casework.cases import NOTE_MAX_LENGTH
from feedback.models import AlertDelivery, CaseNote, FollowUp
from surveys.models import Language

CaseStatus = FollowUp.Status
# In schemas the status is written out in place: as a component it would be named "Status",
# like other apps' status enums, and ninja keeps only one schema per name (the fuzz test caught
# cases documented with the reports' statuses).
CaseStatusField = Annotated[
    CaseStatus, WithJsonSchema({"title": "CaseStatus", "type": "string", "enum": [s.value for s in CaseStatus]})
]
PriorityWord = Literal["urgent", "high", "normal", "low"]
CLOSED = (CaseStatus.RESOLVED, CaseStatus.NO_CONTACT)


# --- Cases -----------------------------------------------------------------------------------


class CaseQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: list[CaseStatusField] = Field([], description="Repeat for several; none: every status.", max_length=5)
    priority: PriorityWord | None = None
    assignee: str | None = Field(None, max_length=150, description='A username, or "none" for unassigned cases.')
    overdue: bool | None = Field(None, description="true: past due with no first contact yet; false: the others.")
    reason: FollowUp.Reason | None = None
    theme: str | None = Field(None, max_length=40, description="A theme a comment mentions, e.g. delivery.")
    language: Language | None = None
    product: str | None = Field(
        None,
        max_length=100,
        description="An SKU on the case's order (exactly, in any case), or part of a product's name on it: "
        "the same rule as the work list's.",
    )
    q: str | None = Field(
        None, max_length=100, description="Part of the customer's name or email, or the order number."
    )
    cursor: str | None = Field(None, max_length=500, description="`next_cursor` of the page before.")
    limit: int = Field(50, ge=1, le=200)


class CustomerOut(Schema):
    name: str
    email: str
    phone: str
    orders: int = Field(description="The customer's orders at the shop when the case was flagged.")
    spend: Decimal = Field(description="Their lifetime spend then.")
    rank: int | None = Field(
        description="Where that spend ranked in the shop: in its top `rank` percent of customers (1: the very "
        "top); null if they had spent nothing."
    )


class LeadOut(Schema):
    kind: str = Field(description="The question's kind: nps, csat, ces or stars.")
    score: int


class ThemeOut(Schema):
    theme: str
    label: str
    polarity: float


class CaseOut(Schema):
    id: int
    priority: PriorityWord
    status: CaseStatusField
    reasons: list[str]
    keywords: list[str]
    due_at: datetime | None
    overdue: bool
    assignee: str | None = Field(description="The username of the case's owner.")
    created_at: datetime
    first_contact_at: datetime | None
    resolved_at: datetime | None
    resolution: FollowUp.Resolution | None
    goodwill: FollowUp.Goodwill | None
    goodwill_note: str
    customer: CustomerOut
    order: str = Field(description="The shop's order number.")
    lead: LeadOut | None = Field(description="The answer that says how the customer felt.")
    comment: str = Field(description="The first line of the first comment.")
    themes: list[ThemeOut]


class CasePage(Schema):
    items: list[CaseOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")


class SentimentOut(Schema):
    label: str
    polarity: float


class AnswerOut(Schema):
    question: str
    kind: str
    score: int | None
    choices: list[str]
    text: str
    sentiment: SentimentOut | None
    themes: list[ThemeOut]


class NoteOut(Schema):
    id: int
    kind: CaseNote.Kind
    author: str | None = Field(description="The username; null for the API and for the customer.")
    text: str
    created_at: datetime


class EventOut(Schema):
    action: str
    actor: str | None = Field(description="The username; null for Bazgasht itself and for API keys.")
    detail: dict[str, Any]
    at: datetime


class CaseDetailOut(CaseOut):
    answers: list[AnswerOut]
    notes: list[NoteOut]
    events: list[EventOut]


class CasePatchIn(BaseModel):
    """Only the fields sent are changed; a change the case's status does not allow is a 409."""

    model_config = ConfigDict(extra="forbid")

    status: CaseStatusField | None = Field(
        None, description="open, in_progress or waiting; resolved or no_contact only with a `resolution`."
    )
    assignee: str | None = Field(None, max_length=150, description="A username of the shop's staff; null: nobody.")
    resolution: FollowUp.Resolution | None = Field(None, description="Closes the case.")
    goodwill: FollowUp.Goodwill | None = Field(None, description="Only with a resolution.")
    goodwill_note: str | None = Field(None, max_length=300, description="Only with a resolution.")

    @model_validator(mode="after")
    def _consistent(self) -> "CasePatchIn":
        if self.resolution is None:
            if self.status in CLOSED:
                raise ValueError("closing a case needs a resolution")
            if self.goodwill is not None or self.goodwill_note is not None:
                raise ValueError("goodwill is given with a resolution")
        elif self.status is not None and self.status != _closed_status(self.resolution):
            raise ValueError(
                f"resolution {self.resolution.value} makes the case {_closed_status(self.resolution).value}"
            )
        return self


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(..., max_length=NOTE_MAX_LENGTH)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, text: str) -> str:
        if not text.strip():
            raise ValueError("a note needs some text")
        return text


def _closed_status(resolution: FollowUp.Resolution) -> CaseStatus:
    return CaseStatus.NO_CONTACT if resolution == FollowUp.Resolution.UNREACHABLE else CaseStatus.RESOLVED


# --- The alert webhook --------------------------------------------------------------------


class AlertWebhookOut(Schema):
    url: str = Field(description="Where alerts are POSTed; empty: no webhook.")
    signed: bool = Field(description="Whether a signing secret is set (the secret itself is never shown again).")
    previous_secret_until: datetime | None = Field(
        description="Until then alerts also carry a signature made with the previous secret."
    )


class AlertWebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        ..., max_length=500, pattern=r"^(https?://\S+)?$", description="An http(s) URL; empty turns alerts off."
    )


class SecretRotationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    keep_previous_hours: int = Field(
        24, ge=0, le=720, description="How long the old secret still signs alerts (0: not at all)."
    )


class SecretOut(Schema):
    secret: str = Field(description="The new signing secret. Shown only in this answer.")
    previous_secret_until: datetime | None


class DeliveryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(50, ge=1, le=200)


class DeliveryOut(Schema):
    id: int
    case_id: int = Field(alias="follow_up_id")
    url: str
    attempt: int
    outcome: AlertDelivery.Outcome
    http_status: int | None
    error: str
    duration_ms: int
    at: datetime
