"""The managers' numbers' API schemas: NPS, the trends' rows, and the period and trend queries.

The casework schemas (cases, notes, the alert webhook) live in feedback/casework/schemas.py.
"""

from datetime import date

from ninja import Field, Schema
from pydantic import ConfigDict, model_validator

from feedback.insights.cuts import Cut
from feedback.insights.metrics import Row
from feedback.insights.periods import Calendar, Period
from feedback.insights.tallies import (
    CesTally,
    CsatTally,
    NpsTally,
    ResponseRate,
    ces_changed_significantly,
    csat_changed_significantly,
    nps_changed_significantly,
)


class NpsOut(Schema):
    since: date
    until: date
    nps: float | None
    margin_of_error: float | None
    responses: int
    promoters: int
    passives: int
    detractors: int


EARLIEST, LATEST = date(1900, 1, 1), date(2199, 12, 31)


class PeriodQuery(Schema):
    model_config = ConfigDict(extra="forbid")

    # Bounded, so the calendars' arithmetic never leaves its range (the Jalali calendar starts in 622).
    since: date | None = Field(None, ge=EARLIEST, le=LATEST)
    until: date | None = Field(None, ge=EARLIEST, le=LATEST)

    @model_validator(mode="after")
    def _ordered(self) -> "PeriodQuery":
        if self.since and self.until and self.since > self.until:
            raise ValueError("since must not be after until")
        return self


class TrendQuery(PeriodQuery):
    period: Period = Field(
        Period.MONTH,
        description="Rows cover whole periods from the one `since` falls in to the one `until` falls in (days in "
        "the shop's time zone; `until` defaults to today, `since` to 11 periods before).",
    )
    calendar: Calendar = Field(
        Calendar.GREGORIAN, description="Jalali: months of the Persian calendar, weeks from Saturday."
    )
    by: Cut | None = Field(None, description="Cut each period into groups: one row per period and group.")


def _rounded(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


class TrendRowOut(Schema):
    period_start: date
    period_end: date = Field(..., description="The period's last day.")
    period_label: str = Field(..., description="2026-11, or 1405-09 in the Jalali calendar; days as 2026-11-02.")
    group: str | None = Field(..., description="The group's key (a survey's id, a SKU…); null without `by`.")
    group_label: str


class NpsRowOut(TrendRowOut):
    responses: int = Field(..., alias="tally.responses", description="The denominator: answered NPS questions.")
    promoters: int = Field(..., alias="tally.promoters")
    passives: int = Field(..., alias="tally.passives")
    detractors: int = Field(..., alias="tally.detractors")
    nps: float | None
    margin_of_error: float | None = Field(
        ..., description="95% margin of error, adjusted Wald: the interval is nps ± this."
    )
    previous_nps: float | None = Field(..., description="The same group's NPS in the period before.")
    changed_significantly: bool | None = Field(
        ..., description="Whether the change from the period before is beyond chance (z-test, 95%); null if unknown."
    )

    @staticmethod
    def resolve_nps(row: Row[NpsTally]) -> float | None:
        return _rounded(row.tally.score)

    @staticmethod
    def resolve_margin_of_error(row: Row[NpsTally]) -> float | None:
        return _rounded(row.tally.margin_of_error)

    @staticmethod
    def resolve_previous_nps(row: Row[NpsTally]) -> float | None:
        return _rounded(row.previous.score)

    @staticmethod
    def resolve_changed_significantly(row: Row[NpsTally]) -> bool | None:
        return nps_changed_significantly(row.tally, row.previous)


class CsatRowOut(TrendRowOut):
    responses: int = Field(..., alias="tally.responses", description="The denominator: answered CSAT questions.")
    satisfied: int = Field(..., alias="tally.satisfied", description="Answers of 4 or 5.")
    csat: float | None = Field(..., description="Percent satisfied.")
    csat_low: float | None = Field(..., description="The 95% interval's lower end, percent (Wilson score interval).")
    csat_high: float | None = Field(..., description="The 95% interval's upper end, percent.")
    previous_csat: float | None
    changed_significantly: bool | None = Field(
        ...,
        description="Whether the change from the period before is beyond chance (two-proportion z-test, 95%); "
        "null if either period has no answers.",
    )

    @staticmethod
    def resolve_csat(row: Row[CsatTally]) -> float | None:
        return _rounded(row.tally.score)

    @staticmethod
    def resolve_csat_low(row: Row[CsatTally]) -> float | None:
        interval = row.tally.interval
        return None if interval is None else _rounded(interval[0])

    @staticmethod
    def resolve_csat_high(row: Row[CsatTally]) -> float | None:
        interval = row.tally.interval
        return None if interval is None else _rounded(interval[1])

    @staticmethod
    def resolve_previous_csat(row: Row[CsatTally]) -> float | None:
        return _rounded(row.previous.score)

    @staticmethod
    def resolve_changed_significantly(row: Row[CsatTally]) -> bool | None:
        return csat_changed_significantly(row.tally, row.previous)


class CesRowOut(TrendRowOut):
    responses: int = Field(..., alias="tally.responses", description="The denominator: answered CES questions.")
    ces: float | None = Field(..., description="The mean score, 1 (very difficult) to 7 (very easy).")
    margin_of_error: float | None = Field(
        ...,
        description="95% margin of the mean, Student's t: the interval is ces ± this (within 1–7); "
        "null below two answers.",
    )
    previous_ces: float | None
    changed_significantly: bool | None = Field(
        ...,
        description="Whether the change from the period before is beyond chance (Welch's t-test, 95%); "
        "null unless both periods have two answers or more.",
    )

    @staticmethod
    def resolve_ces(row: Row[CesTally]) -> float | None:
        return _rounded(row.tally.score, 2)

    @staticmethod
    def resolve_margin_of_error(row: Row[CesTally]) -> float | None:
        return _rounded(row.tally.margin_of_error, 2)

    @staticmethod
    def resolve_previous_ces(row: Row[CesTally]) -> float | None:
        return _rounded(row.previous.score, 2)

    @staticmethod
    def resolve_changed_significantly(row: Row[CesTally]) -> bool | None:
        return ces_changed_significantly(row.tally, row.previous)


class ResponseRateRowOut(TrendRowOut):
    sent: int = Field(..., alias="tally.sent", description="Invitations sent in the period: the denominator.")
    opened: int = Field(..., alias="tally.opened", description="Of those, opened by now.")
    answered: int = Field(..., alias="tally.answered", description="Of those, answered by now.")
    open_rate: float | None
    answer_rate: float | None
    previous_answer_rate: float | None

    @staticmethod
    def resolve_open_rate(row: Row[ResponseRate]) -> float | None:
        return _rounded(row.tally.open_rate)

    @staticmethod
    def resolve_answer_rate(row: Row[ResponseRate]) -> float | None:
        return _rounded(row.tally.answer_rate)

    @staticmethod
    def resolve_previous_answer_rate(row: Row[ResponseRate]) -> float | None:
        return _rounded(row.previous.answer_rate)
