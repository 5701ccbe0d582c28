"""The answer page's form: one field per question, named q<id>, in the page's language."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from feedback.answer_page.answering import COMMENT_MAX_LENGTH, SHORT_TEXT_MAX_LENGTH, AnswerValue, Link
from surveys.localise import localise_digits
from surveys.models import Question

# The words at a scale's two ends, read aloud with its first and last options.
SCALE_ENDS: dict[str, tuple[Any, Any]] = {
    Question.Kind.NPS: (_("Not at all likely"), _("Extremely likely")),
    Question.Kind.CSAT: (_("Very dissatisfied"), _("Very satisfied")),
    Question.Kind.CES: (_("Very difficult"), _("Very easy")),
    Question.Kind.STARS: (_("Poor"), _("Excellent")),
}


class QuestionsForm(forms.Form):
    """Fields for some of a survey's questions; `required` off for autosaving a half-filled page."""

    def __init__(self, questions: list[Question], *, language: str, required: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.questions = questions
        for question in questions:
            field = _field_for(question, language)
            field.required = required and question.required
            self.fields[field_name(question)] = field

    def values(self) -> dict[int, AnswerValue]:
        """The cleaned answers by question id, in the form the domain stores."""
        values: dict[int, AnswerValue] = {}
        for question in self.questions:
            value = self.cleaned_data.get(field_name(question))
            if question.kind == Question.Kind.SINGLE:
                value = [value] if value else []
            values[question.pk] = value
        return values

    def blocks(self) -> list[dict[str, Any]]:
        """What the template needs for each question, in order.

        The inputs are written by the template itself rather than by Django's widgets:
        widget templates cost a template render per radio button, and this page is the
        one every customer opens.
        """
        blocks = []
        for question in self.questions:
            name = field_name(question)
            bound, field = self[name], self.fields[name]
            value = bound.value()
            chosen = {str(item) for item in value} if isinstance(value, list | tuple) else {str(value)}
            options = getattr(field, "choices", None)
            blocks.append(
                {
                    "name": name,
                    "id": f"id_{name}",
                    "kind": question.kind,
                    "label": field.label,
                    "required": field.required,
                    "error": bound.errors[0] if bound.errors else "",
                    "ends": SCALE_ENDS.get(question.kind),
                    "input_type": "checkbox" if question.kind == Question.Kind.MULTIPLE else "radio",
                    "options": [
                        {"value": option, "label": label, "checked": str(option) in chosen, "id": f"id_{name}_{index}"}
                        for index, (option, label) in enumerate(options)
                    ]
                    if options is not None
                    else None,
                    "text": "" if value is None or options is not None else value,
                    "max_length": getattr(field, "max_length", None),
                }
            )
        return blocks


def field_name(question: Question) -> str:
    return f"q{question.pk}"


def initial_values(link: Link, questions: list[Question]) -> dict[str, Any]:
    initial: dict[str, Any] = {}
    for question in questions:
        value = link.value_of(question)
        if question.kind == Question.Kind.SINGLE and isinstance(value, list):
            value = value[0] if value else None
        if value is not None:
            initial[field_name(question)] = value
    return initial


def _field_for(question: Question, language: str) -> forms.Field:
    label = question.text_in(language)
    scale = question.scale
    if scale is not None:
        return forms.TypedChoiceField(
            label=label,
            choices=[(score, localise_digits(str(score), language)) for score in scale],
            coerce=int,
            empty_value=None,
            widget=forms.RadioSelect,
            error_messages={"required": _("Please choose a score.")},
        )
    if question.kind == Question.Kind.SINGLE:
        return forms.ChoiceField(
            label=label,
            choices=question.option_labels(language),
            widget=forms.RadioSelect,
            error_messages={"required": _("Please choose an answer.")},
        )
    if question.kind == Question.Kind.MULTIPLE:
        return forms.MultipleChoiceField(
            label=label,
            choices=question.option_labels(language),
            widget=forms.CheckboxSelectMultiple,
            error_messages={"required": _("Please choose at least one answer.")},
        )
    if question.kind == Question.Kind.SHORT_TEXT:
        return forms.CharField(
            label=label,
            max_length=SHORT_TEXT_MAX_LENGTH,
            widget=forms.TextInput(attrs={"autocomplete": "off"}),
            error_messages={"required": _("Please write an answer.")},
        )
    return forms.CharField(
        label=label,
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": _("Please write an answer.")},
    )
