from django.contrib import admin

from feedback.models import Answer, FollowUp, Response
from surveys.admin import ShopScopedAdmin


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


@admin.register(FollowUp)
class FollowUpAdmin(ShopScopedAdmin):
    list_display = ["pk", "response", "reasons", "status", "assignee", "created_at"]
    list_filter = ["status"]
    list_select_related = ["response__customer", "assignee"]
    readonly_fields = ["response", "shop", "reasons", "created_at", "updated_at"]
