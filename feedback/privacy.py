"""Feedback's part of a customer's data (registered with surveys.customer_data.privacy by feedback/apps.py):
their responses and answers with their sentiment and themes in the export; comments, the
case's words and case notes cleared by erasure and retention; an open case keeps retention
from anonymising its customer."""

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import models, transaction
from django.db.models import Exists, OuterRef

from feedback.models import Answer, CaseEvent, CaseNote, FollowUp, Response
from sentiment import domain as sentiment
from sentiment.models import SentimentScore
from surveys.customer_data.privacy import (
    ERASED_TEXT,
    Erasing,
    PersonalData,
    Retaining,
    pages,
    row_of,
    scrub_admin_history,
)
from surveys.models import Customer, Shop


def export(customer: Customer) -> dict[str, Any]:
    responses = (
        Response.objects.filter(customer=customer)
        .select_related("survey")
        .prefetch_related(
            models.Prefetch(
                "answers",
                queryset=Answer.objects.select_related("question", "sentiment")
                .prefetch_related("themes")
                .order_by("question__position", "pk"),
            )
        )
        .order_by("submitted_at", "pk")
    )
    cases = {
        case.response_id: case
        for case in FollowUp.objects.filter(response__customer=customer).prefetch_related("notes", "events")
    }
    return {"responses": [_response(response, cases.get(response.pk)) for response in responses]}


def _response(response: Response, case: FollowUp | None) -> dict[str, Any]:
    answers = []
    for answer in response.answers.all():
        sentiment_score = getattr(answer, "sentiment", None)
        answers.append(
            {
                **row_of(answer),
                "question_text": answer.question.text,
                "question_kind": answer.question.kind,
                "sentiment": row_of(sentiment_score) if sentiment_score is not None else None,
                "themes": [row_of(theme) for theme in answer.themes.all()],
            }
        )
    return {
        **row_of(response),
        "survey_name": response.survey.name,
        "answers": answers,
        "case": None
        if case is None
        else {
            **row_of(case),
            "notes": [row_of(note) for note in case.notes.all()],
            "events": [row_of(event) for event in case.events.all()],
        },
    }


def erase(erasing: Erasing) -> Mapping[str, int]:
    """Blank the customer's comments and case notes; an "erased" event on each case (who and when)."""
    responses = Response.objects.filter(customer=erasing.customer).values_list("pk", flat=True)
    case_ids = list(FollowUp.objects.filter(response__customer=erasing.customer).values_list("pk", flat=True))
    cleared = clear_answers(list(responses), shop=erasing.shop)
    notes = _clear_notes(CaseNote.objects.filter(follow_up_id__in=case_ids))
    CaseEvent.objects.bulk_create(
        CaseEvent(
            follow_up_id=case_id, actor=erasing.by, action="erased", detail={"via": erasing.via} if erasing.via else {}
        )
        for case_id in case_ids
    )
    return {"answers_cleared": cleared, "notes_cleared": notes, "cases": len(case_ids)}


def clear_answers(response_ids: Sequence[int], *, shop: Shop) -> int:
    """Blank the responses' texts and their cases' words; forget the learned models they taught."""
    answers = Answer.objects.filter(response_id__in=response_ids).exclude(text="")
    languages = set(SentimentScore.objects.filter(answer__in=answers).values_list("language", flat=True))
    cleared = answers.update(text="")
    FollowUp.objects.filter(response_id__in=response_ids).exclude(keywords=[], goodwill_note="").update(
        keywords=[], goodwill_note=""
    )
    if languages:
        # Its vocabulary holds the comments' words; the scheduler trains a new one from what is left.
        sentiment.forget_shop_models(shop, languages)
    return cleared


def _clear_notes(notes: models.QuerySet[CaseNote]) -> int:
    return notes.exclude(text=ERASED_TEXT).update(text=ERASED_TEXT)


def forget(customer_ids: Sequence[int]) -> None:
    """The admin's history names a response by its customer."""
    responses = Response.objects.filter(customer_id__in=customer_ids).values_list("pk", flat=True)
    scrub_admin_history(Response, list(responses), label="response")


def busy() -> Exists:
    """A customer with a case still open."""
    return Exists(
        FollowUp.objects.filter(response__customer=OuterRef("pk")).exclude(
            status__in=[FollowUp.Status.RESOLVED, FollowUp.Status.NO_CONTACT]
        )
    )


def retain(retaining: Retaining) -> Mapping[str, int]:
    """Answers submitted and notes written before the cutoff lose their texts (once per cutoff)."""
    if retaining.texts_until is None:
        return {}
    shop, since, until = retaining.shop, retaining.texts_since, retaining.texts_until
    responses = Response.objects.filter(shop=shop, submitted_at__lt=until)
    if since is not None:
        responses = responses.filter(submitted_at__gte=since)
    answers = 0
    for ids in pages(responses, "submitted_at", batch=retaining.batch):
        with transaction.atomic():
            answers += clear_answers(ids, shop=shop)
    notes = CaseNote.objects.filter(follow_up__shop=shop, created_at__lt=until)
    if since is not None:
        notes = notes.filter(created_at__gte=since)
    cleared = last = 0
    while ids := list(notes.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[: retaining.batch]):
        cleared += _clear_notes(CaseNote.objects.filter(pk__in=ids))
        last = ids[-1]
    return {"answers": answers, "notes": cleared}


PERSONAL_DATA = PersonalData(
    models=frozenset(
        {"feedback.Response", "feedback.Answer", "feedback.FollowUp", "feedback.CaseNote", "feedback.CaseEvent"}
    ),
    # The shop's alert receiver and its answers, and when the alert to the shop's staff was tried.
    not_about_the_customer=frozenset({"feedback.AlertDelivery", "feedback.Alert"}),
    # The staff who worked the case and what the trail says of them are the staff's data.
    not_exported={
        "feedback.CaseNote": {"author"},
        "feedback.CaseEvent": {"actor", "detail"},
        "feedback.FollowUp": {"assignee"},
    },
    export=export,
    erase=erase,
    forget=forget,
    busy=busy,
    retain=retain,
)
