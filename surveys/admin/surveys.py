"""The survey editor (questions inline, with the answer page's live preview) and the invitations."""

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.text import slugify
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from surveys.admin.base import SHOP_ADMINS, ShopScopedAdmin
from surveys.intake.orders import cancel_scheduled
from surveys.localise import format_duration
from surveys.models import (
    Invitation,
    Question,
    Survey,
)
from surveys.standard_questions import add_standard_questions


class OptionsField(forms.CharField):
    """A choice question's options, one per line: "value | English | Persian".

    The value is what answers store, so renaming an option's text keeps its answers;
    it may be left out ("English | Persian") and is then made from the English text.
    """

    widget = forms.Textarea(attrs={"rows": 4, "cols": 60, "placeholder": "late | Delivery was late | تحویل دیر بود"})

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return "\n".join(" | ".join([o["value"], o.get("en", ""), o.get("fa", "")]).rstrip(" |") for o in value)
        return value

    def to_python(self, value: Any) -> list[dict[str, str]]:  # type: ignore[override]
        if isinstance(value, list):
            return value
        options: list[dict[str, str]] = []
        for number, line in enumerate(str(value or "").splitlines(), start=1):
            parts = [part.strip() for part in line.split("|")]
            if not any(parts):
                continue
            if len(parts) > 3:
                raise forms.ValidationError(f"Line {number} has {len(parts)} parts; use value | English | Persian.")
            if len(parts) == 3:
                option_value, english, persian = parts
            else:
                english, persian = parts[0], parts[1] if len(parts) == 2 else ""
                option_value = slugify(english).replace("-", "_")
            if not english:
                raise forms.ValidationError(f"Line {number} needs its English text.")
            if not option_value:
                raise forms.ValidationError(f"Line {number} needs a value made of Latin letters or digits.")
            if option_value in {option["value"] for option in options}:
                raise forms.ValidationError(f"Line {number} repeats the value {option_value!r}.")
            options.append({"value": option_value, "en": english, "fa": persian})
        return options


class QuestionForm(forms.ModelForm):
    options = OptionsField(
        required=False, help_text="Single and multiple choice only. One option per line: value | English | Persian."
    )

    class Meta:
        model = Question
        fields = ["position", "kind", "text", "text_fa", "options", "required", "show_from", "show_to", "topic"]
        labels = {"show_from": "Show when the first score is from", "show_to": "to"}
        help_texts = {
            "show_from": "Leave both empty to always show. For example 0 to 6 asks detractors what to improve.",
            "topic": "What happens after the purchase that this question is about; reports group by it.",
        }


class QuestionInline(admin.StackedInline):
    model = Question
    form = QuestionForm
    extra = 0
    fieldsets = [
        (None, {"fields": [("position", "kind", "required", "topic"), "text", "text_fa", "options"]}),
        ("Follow-up band", {"fields": [("show_from", "show_to")]}),
    ]


@admin.register(Survey)
class SurveyAdmin(ShopScopedAdmin):
    roles = SHOP_ADMINS
    list_display = ["name", "shop", "trigger", "sent_after", "answerable_for", "is_active"]
    list_select_related = ["shop"]
    inlines = [QuestionInline]

    @admin.display(description=_("sent after"), ordering="delay")
    def sent_after(self, survey: Survey) -> str:
        return _in_words(survey.delay) if survey.delay else str(_("at once"))

    @admin.display(description=_("answerable for"), ordering="valid_for")
    def answerable_for(self, survey: Survey) -> str:
        return _in_words(survey.valid_for)

    # The change page shows a live preview of the answer page beside the form.
    change_form_template = "admin/surveys/survey/change_form.html"
    fieldsets = [
        (None, {"fields": ["shop", "name", "is_active", "heading", "heading_fa"]}),
        ("When it is sent", {"fields": ["trigger", "delay", "valid_for", "reminder_after"]}),
        (
            "Which orders",
            {"fields": ["min_order_total", "include_skus", "exclude_skus", "customers", "sample_percent"]},
        ),
    ]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        if not change and not form.instance.questions.exists():
            add_standard_questions(form.instance)
            self.message_user(request, "The survey starts with the standard questions in English and Persian.")


@admin.register(Invitation)
class InvitationAdmin(ShopScopedAdmin):
    """The record of what went out and why: made by the rules, never by hand, and not edited (an
    edit could set a sent survey back to scheduled and send it again, or aim it at another
    customer). A scheduled one can be cancelled."""

    list_display = ["pk", "customer", "order", "survey", "channel", "status", "send_at", "sent_at", "reason"]
    list_filter = ["status", "channel"]
    list_select_related = ["customer", "order", "survey"]
    search_fields = ["customer__email", "order__external_id", "order__number"]
    actions = ["cancel"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Cancel the selected surveys not sent yet", permissions=["view"])
    def cancel(self, request: HttpRequest, queryset: QuerySet[Invitation]) -> None:
        cancelled = cancel_scheduled(queryset, reason=f"cancelled in the admin by {request.user}")
        self.message_user(request, f"{cancelled} scheduled survey(s) cancelled; the others had gone out or stopped.")


def _in_words(span: timedelta) -> str:
    """ "30 days", not "30 00:00:00" (or "۳۰ روز")."""
    return format_duration(span, get_language() or "en")
