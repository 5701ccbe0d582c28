"""The admin of answers and cases: responses with their answers, cases with notes and trail, the
shop's flag rules and alert deliveries, and the staff's sign-in records (superusers only)."""

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from config.searches import SearchOutsideUrls
from feedback.accounts import signin
from feedback.models import (
    AlertDelivery,
    Answer,
    CaseEvent,
    CaseNote,
    FlagRules,
    FollowUp,
    LoginFailure,
    Response,
    TwoFactorDevice,
)
from surveys.admin.base import SHOP_ADMINS, ShopScopedAdmin


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
        return False  # notes go through feedback.casework.cases, so they reach the audit trail


class CaseEventInline(admin.TabularInline):
    model = CaseEvent
    extra = 0
    readonly_fields = ["at", "actor", "action", "detail"]
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(FollowUp)
class FollowUpAdmin(ShopScopedAdmin):
    list_display = ["pk", "priority", "due_at", "response", "why", "status", "assignee", "created_at"]
    list_filter = ["status", "priority"]
    list_select_related = ["response__customer", "assignee"]
    readonly_fields = [
        *["response", "shop", "why", "keywords", "priority", "due_at", "status", "assignee"],
        *["customer_orders", "customer_spend", "first_contact_at", "resolved_at", "resolution", "goodwill"],
        *["goodwill_note", "created_at", "updated_at"],
    ]
    inlines = [CaseNoteInline, CaseEventInline]
    exclude = ["reasons"]

    @admin.display(description=_("Why flagged"))
    def why(self, case: FollowUp) -> str:
        """The reasons as people read them, not the stored list of codes."""
        return ", ".join(
            str(FollowUp.Reason(code).label) if code in FollowUp.Reason.values else code for code in case.reasons
        )


@admin.register(FlagRules)
class FlagRulesAdmin(ShopScopedAdmin):
    roles = SHOP_ADMINS
    list_display = ["shop", "nps_at_most", "csat_at_most", "comment_polarity_at_most", "working_days"]


@admin.register(AlertDelivery)
class AlertDeliveryAdmin(ShopScopedAdmin):
    """The alert webhooks' delivery log: written by feedback.casework.alerts, read here, never edited."""

    roles = SHOP_ADMINS
    list_display = ["at", "follow_up", "outcome", "http_status", "attempt", "duration_ms", "error", "shop"]
    list_filter = ["outcome"]
    list_select_related = ["shop"]
    readonly_fields = ["at", "shop", "follow_up", "url", "attempt", "outcome", "http_status", "error", "duration_ms"]
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class SuperuserOnlyAdmin(SearchOutsideUrls):
    """Sign-in records: every staff member has the feedback app's permissions, but only a
    superuser may unlock an account or reset someone's two-factor (by deleting the row)."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return request.user.is_superuser

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(LoginFailure)
class LoginFailureAdmin(SuperuserOnlyAdmin):
    """Refused sign-ins; deleting an account's rows unlocks it at once."""

    list_display = ["at", "username", "ip", "step"]
    list_filter = ["step"]
    search_fields = ["username", "ip"]
    date_hierarchy = "at"


@admin.register(TwoFactorDevice)
class TwoFactorDeviceAdmin(SuperuserOnlyAdmin):
    """Who has two-factor on; deleting a row turns it off for someone who lost phone and codes."""

    list_display = ["user", "confirmed_at", "created_at"]
    list_select_related = ["user"]
    fields = ["user", "confirmed_at", "created_at"]  # never the secret
    search_fields = ["user__username"]

    def delete_model(self, request: HttpRequest, obj: TwoFactorDevice) -> None:
        signin.turn_off(obj.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[TwoFactorDevice]) -> None:
        for device in queryset.select_related("user"):
            signin.turn_off(device.user)


# Staff accounts are searched by name and email too: Django's own admins, with the search kept
# out of the URL as everywhere else.
admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class StaffAdmin(SearchOutsideUrls, UserAdmin):
    pass


@admin.register(Group)
class StaffGroupAdmin(SearchOutsideUrls, GroupAdmin):
    pass
