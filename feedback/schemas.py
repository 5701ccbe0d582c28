from datetime import date

from ninja import Schema
from pydantic import ConfigDict, model_validator


class NpsOut(Schema):
    since: date
    until: date
    nps: float | None
    margin_of_error: float | None
    responses: int
    promoters: int
    passives: int
    detractors: int


class PeriodQuery(Schema):
    model_config = ConfigDict(extra="forbid")

    since: date | None = None
    until: date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> "PeriodQuery":
        if self.since and self.until and self.since > self.until:
            raise ValueError("since must not be after until")
        return self
