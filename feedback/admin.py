from django.contrib import admin
from django.http import HttpRequest

from feedback.models import Answer, CaseEvent, CaseNote, FlagRules, FollowUp, Response
from surveys.admin import SHOP_ADMINS, ShopScopedAdmin


class AnswerInline(admin.TabularInline):
    model = Answer
    extra = 0
    readonly_fields = ["question", "score", "choices", "text"]
    can_delete = False


@admin.register(Response)
class ResponseAdmin(ShopScopedAdmin):
    list_display = ["pk", "customer", "survey", "submitted_at", "completed_at", "language", "shop"]
    list_select_related = ["customer", "survey", "shop"]
    readonly_fields = ["invitation", "shop", "survey", "customer", "submitted_at", "completed_at", "language"]
    inlines = [AnswerInline]
    date_hierarchy = "submitted_at"


class CaseNoteInline(admin.TabularInline):
    model = CaseNote
    extra = 0
    readonly_fields = ["kind", "author", "text", "created_at"]
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # notes go through feedback.cases, so they reach the audit trail


class CaseEventInline(admin.TabularInline):
    model = CaseEvent
    extra = 0
    readonly_fields = ["at", "actor", "action", "detail"]
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(FollowUp)
class FollowUpAdmin(ShopScopedAdmin):
    list_display = ["pk", "priority", "due_at", "response", "reasons", "status", "assignee", "created_at"]
    list_filter = ["status", "priority"]
    list_select_related = ["response__customer", "assignee"]
    readonly_fields = [
        *["response", "shop", "reasons", "keywords", "priority", "due_at", "status", "assignee"],
        *["customer_orders", "customer_spend", "first_contact_at", "resolved_at", "resolution", "goodwill"],
        *["goodwill_note", "created_at", "updated_at"],
    ]
    inlines = [CaseNoteInline, CaseEventInline]


@admin.register(FlagRules)
class FlagRulesAdmin(ShopScopedAdmin):
    roles = SHOP_ADMINS
    list_display = ["shop", "nps_at_most", "csat_at_most", "comment_polarity_at_most", "working_days"]
