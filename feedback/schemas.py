from datetime import date

from ninja import Schema


class NpsOut(Schema):
    since: date
    until: date
    nps: float | None
    margin_of_error: float | None
    responses: int
    promoters: int
    passives: int
    detractors: int
