"""A shop's responses and cases as CSV files, for spreadsheets and the shop's own tools.

Rows are built from querysets read with `.iterator()` and prefetched a chunk at a time, so
a year of answers streams out in constant memory and a constant number of queries per chunk.
The file starts with a byte-order mark: without it Excel reads UTF-8 as the local code page
and Persian comes out as mojibake.
"""

import csv
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Prefetch, QuerySet

from feedback.casework import cases
from feedback.casework import filters as case_filters
from feedback.casework.filters import CaseFilter
from feedback.models import Answer, CaseNote, FollowUp, Response
from sentiment.models import AnswerTheme
from surveys.models import Language, Question, Shop

BOM = "\ufeff"
# Rows fetched, and their answers prefetched, per round trip.
CHUNK_SIZE = 500
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
UTC = ZoneInfo("UTC")


# --- Reading answers -------------------------------------------------------------------------


def answers_prefetch(lookup: str) -> Prefetch:
    """A response's answers in the survey's order, each with its question, sentiment and themes."""
    return Prefetch(
        lookup,
        queryset=Answer.objects.select_related("question", "sentiment")
        .prefetch_related(Prefetch("themes", queryset=AnswerTheme.objects.order_by("theme")))
        .order_by("question__position", "question__pk"),
    )


def lead_answer(answers: Iterable[Answer]) -> Answer | None:
    """The answer that says how the customer felt: the first scored scale question."""
    return next((answer for answer in answers if answer.question.scale is not None and answer.score is not None), None)


def comment_answer(answers: Iterable[Answer]) -> Answer | None:
    return next((answer for answer in answers if answer.text.strip()), None)


def excerpt(text: str, *, length: int = 200) -> str:
    """The first line of a comment, cut to `length` characters."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= length else line[: length - 1].rstrip() + "…"


def themes_of(answers: Iterable[Answer]) -> list[AnswerTheme]:
    return [theme for answer in answers for theme in answer.themes.all()]


def theme_tags(answers: Iterable[Answer]) -> str:
    """ "delivery:negative;price:positive" """
    return ";".join(f"{theme.theme}:{theme.label}" for theme in themes_of(answers))


def answer_value(answer: Answer) -> str | int:
    """What one answer says, in one cell: the score, the chosen options (by label) or the text."""
    if answer.score is not None:
        return answer.score
    if answer.choices:
        labels = dict(answer.question.option_labels(Language.ENGLISH)) if answer.question.options else {}
        return ";".join(str(labels.get(value, value)) for value in answer.choices)
    return answer.text


# --- Querysets -------------------------------------------------------------------------------


def period_bounds(shop: Shop, *, since: date | None, until: date | None) -> tuple[datetime | None, datetime | None]:
    """Whole days in the shop's time zone, `until` included; None leaves that end open."""
    start = datetime.combine(since, time.min, tzinfo=shop.tz) if since else None
    end = datetime.combine(until + timedelta(days=1), time.min, tzinfo=shop.tz) if until else None
    return start, end


def responses_for_export(shop: Shop, *, since: date | None = None, until: date | None = None) -> QuerySet[Response]:
    start, end = period_bounds(shop, since=since, until=until)
    found = Response.objects.filter(shop=shop)
    if start:
        found = found.filter(submitted_at__gte=start)
    if end:
        found = found.filter(submitted_at__lt=end)
    return (
        found.select_related("survey", "customer", "invitation__order", "follow_up")
        .prefetch_related(answers_prefetch("answers"))
        .order_by("submitted_at", "pk")
    )


def within_period(criteria: CaseFilter, shop: Shop, *, since: date | None, until: date | None) -> CaseFilter:
    """The criteria, and flagged in the period: whole days in the shop's time zone, as for responses."""
    start, end = period_bounds(shop, since=since, until=until)
    return replace(criteria, flagged_from=start, flagged_before=end)


def cases_for_export(shop: Shop, criteria: CaseFilter, *, now: datetime) -> QuerySet[FollowUp]:
    """The shop's cases that pass the criteria (the work list's and the API's filter), oldest first."""
    found = case_filters.apply(FollowUp.objects.filter(shop=shop), criteria, now=now)
    return (
        found.select_related("assignee", "response__customer", "response__invitation__order")
        .prefetch_related(
            answers_prefetch("response__answers"),
            Prefetch("notes", queryset=CaseNote.objects.select_related("author").order_by("created_at", "pk")),
        )
        .order_by("created_at", "pk")
    )


# --- Rows ------------------------------------------------------------------------------------

RESPONSE_COLUMNS = [
    "response_id",
    "submitted_at_utc",
    "submitted_at_local",
    "completed",
    "language",
    "survey",
    "customer_name",
    "customer_email",
    "order",
    "order_number",
    "lead_kind",
    "lead_score",
]
RESPONSE_TAIL_COLUMNS = ["comment_sentiment", "comment_polarity", "themes", "case_id"]


def question_columns(shop: Shop) -> list[str]:
    """One column per question text across the shop's surveys: the same question in two surveys is one column."""
    texts = Question.objects.filter(survey__shop=shop).order_by("survey_id", "position", "pk").values_list("text")
    return list(dict.fromkeys(text for (text,) in texts))


def response_rows(shop: Shop, responses: QuerySet[Response]) -> Iterator[list[Any]]:
    """The header, then one row per response with every answer in its question's column."""
    questions = question_columns(shop)
    yield [*RESPONSE_COLUMNS, *questions, *RESPONSE_TAIL_COLUMNS]
    for response in responses.iterator(chunk_size=CHUNK_SIZE):
        answers = list(response.answers.all())
        lead = lead_answer(answers)
        comment = next((answer for answer in answers if answer.text.strip() and _sentiment(answer)), None)
        sentiment = _sentiment(comment) if comment else None
        by_question: dict[str, list[str]] = {}
        for answer in answers:
            by_question.setdefault(answer.question.text, []).append(str(answer_value(answer)))
        case = getattr(response, "follow_up", None)
        yield [
            response.pk,
            _utc(response.submitted_at),
            _local(response.submitted_at, shop),
            "yes" if response.completed_at else "no",
            response.language,
            response.survey.name,
            response.customer.name,
            response.customer.email,
            response.invitation.order.external_id,
            response.invitation.order.display_number,
            lead.question.kind if lead else "",
            lead.score if lead else "",
            *(";".join(by_question.get(text, [])) for text in questions),
            sentiment.label if sentiment else "",
            round(sentiment.polarity, 3) if sentiment else "",
            theme_tags(answers),
            case.pk if case else "",
        ]


CASE_COLUMNS = [
    "case_id",
    "response_id",
    "created_at_utc",
    "created_at_local",
    "priority",
    "status",
    "reasons",
    "keywords",
    "themes",
    "due_at_utc",
    "overdue",
    "assignee",
    "first_contact_at_utc",
    "resolved_at_utc",
    "resolution",
    "goodwill",
    "goodwill_note",
    "customer_name",
    "customer_email",
    "customer_phone",
    "customer_orders",
    "customer_spend",
    "order",
    "order_number",
    "language",
    "lead_kind",
    "lead_score",
    "comment",
    "notes",
]


def case_rows(shop: Shop, found: QuerySet[FollowUp], *, now: datetime) -> Iterator[list[Any]]:
    """The header, then one row per case; its notes in one cell, oldest first, each with author and time."""
    yield CASE_COLUMNS
    for case in found.iterator(chunk_size=CHUNK_SIZE):
        response = case.response
        answers = list(response.answers.all())
        lead = lead_answer(answers)
        comment = comment_answer(answers)
        yield [
            case.pk,
            response.pk,
            _utc(case.created_at),
            _local(case.created_at, shop),
            case.get_priority_display().lower(),
            case.status,
            ";".join(case.reasons),
            ";".join(case.keywords),
            theme_tags(answers),
            _utc(case.due_at),
            "yes" if cases.is_overdue(case, now=now) else "no",
            case.assignee.get_username() if case.assignee else "",
            _utc(case.first_contact_at),
            _utc(case.resolved_at),
            case.resolution,
            case.goodwill,
            case.goodwill_note,
            response.customer.name,
            response.customer.email,
            response.customer.phone,
            case.customer_orders,
            case.customer_spend,
            response.invitation.order.external_id,
            response.invitation.order.display_number,
            response.language,
            lead.question.kind if lead else "",
            lead.score if lead else "",
            comment.text.strip() if comment else "",
            "\n".join(_note_line(note) for note in case.notes.all()),
        ]


def _note_line(note: CaseNote) -> str:
    # No author: the customer's own message, or Bazgasht (which is also what an API key writes as).
    fallback = "customer" if note.kind == CaseNote.Kind.CUSTOMER else "Bazgasht"
    author = note.author.get_username() if note.author else fallback
    return f"[{_utc(note.created_at)} {author}, {note.kind}] {note.text}"


def _sentiment(answer: Answer) -> Any:
    return getattr(answer, "sentiment", None)


def _utc(at: datetime | None) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds") if at else ""


def _local(at: datetime | None, shop: Shop) -> str:
    return at.astimezone(shop.tz).isoformat(timespec="seconds") if at else ""


# --- CSV ------------------------------------------------------------------------------------


def safe_cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


class _Line:
    """A file-like object whose write returns the line, so csv.writer can feed a generator."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[list[Any]]) -> Iterator[str]:
    """The rows as CSV text, a line at a time, after the byte-order mark."""
    writer = csv.writer(_Line())
    yield BOM
    for row in rows:
        yield writer.writerow([safe_cell(value) for value in row])
