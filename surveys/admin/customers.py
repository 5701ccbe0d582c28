"""The admin of customers (with their invitations' history, erasure and export), erasures and the
suppression list."""

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from surveys import phones
from surveys.admin.base import SHOP_ADMINS, ShopScopedAdmin
from surveys.customer_data import privacy
from surveys.models import (
    Customer,
    Erasure,
    Invitation,
    Suppression,
)
from surveys.queries import shops_of

# Every step of an invitation's life, with its time and, at an end, the reason.
LIFECYCLE = [
    "survey", "order", "channel", "status", "send_at", "sent_at", "opened_at", "reminded_at",
    "answered_at", "expires_at", "closed_at", "reason",
]  # fmt: skip


class InvitationHistory(admin.TabularInline):
    """The customer's (or order's) surveys: what went out, what came back, and what stopped one."""

    model = Invitation
    fields = tuple(LIFECYCLE)
    readonly_fields = LIFECYCLE
    extra = 0
    can_delete = False
    ordering = ["-send_at"]
    verbose_name_plural = "Survey invitations"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("survey", "order")


@admin.register(Customer)
class CustomerAdmin(ShopScopedAdmin):
    list_display = ["__str__", "email", "phone", "language", "consent", "anonymised_at", "shop"]
    list_filter = ["consent"]
    list_select_related = ["shop"]
    search_fields = ["email", "phone", "name"]
    readonly_fields = ["consent_source", "anonymised_at", "created_at"]
    inlines = [InvitationHistory]
    # Exporting and erasing a customer's data are the shop admins' to do (a data request).
    actions = ["export_data", "erase"]

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Any], search_term: str) -> tuple[Any, bool]:
        found, duplicates = super().get_search_results(request, queryset, search_term)
        # Phones are stored in E.164: "0912 123 4567" finds +989121234567, read in each of the user's shops' regions.
        regions = {phones.region_of(shop) for shop in shops_of(request.user)}
        numbers = {phones.normal_or_as_typed(search_term, region) for region in regions} - {search_term.strip()}
        if search_term.strip() and numbers:
            found = found | queryset.filter(phone__in=numbers)
        return found, duplicates

    def save_model(self, request: HttpRequest, obj: Customer, form: Any, change: bool) -> None:
        if "consent" in form.changed_data:
            obj.consent_source = "admin"
            if "consent_at" not in form.changed_data:
                obj.consent_at = timezone.now()
        super().save_model(request, obj, form, change)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Deleting a customer deletes their answers and changes the shop's numbers; the *Erase*
        # action removes what identifies them and keeps the numbers (surveys.customer_data.privacy).
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        if not shops_of(request.user, roles=SHOP_ADMINS).exists():
            for name in ("export_data", "erase"):
                actions.pop(name, None)
        return actions

    @admin.action(description="Export all data held about the selected customers (JSON)", permissions=["view"])
    def export_data(self, request: HttpRequest, queryset: QuerySet[Customer]) -> HttpResponse:
        customers = self._of_my_shops(request, queryset)
        exports = [privacy.export_customer(customer) for customer in customers]
        name = f"customer-{customers[0].pk}.json" if len(exports) == 1 else "customers.json"
        answer = JsonResponse(
            exports[0] if len(exports) == 1 else {"customers": exports},
            json_dumps_params={"ensure_ascii": False, "indent": 2},
        )
        answer["Content-Disposition"] = f'attachment; filename="{name}"'
        return answer

    @admin.action(description="Erase the selected customers (personal data and comments)", permissions=["change"])
    def erase(self, request: HttpRequest, queryset: QuerySet[Customer]) -> TemplateResponse | None:
        """Asks first, listing what happens; erases on the confirming POST."""
        customers = self._of_my_shops(request, queryset)
        if not customers:
            self.message_user(request, "None of the selected customers is yours to erase.", messages.WARNING)
            return None
        if request.POST.get("confirmed") == "yes":
            for customer in customers:
                privacy.erase_customer(customer, by=request.user, via="admin")  # type: ignore[arg-type]
            self.message_user(request, f"{len(customers)} customer(s) erased; the erasure is in the audit trail.")
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Erase customers?",
            "customers": customers,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/surveys/customer/erase_confirmation.html", context)

    def _of_my_shops(self, request: HttpRequest, queryset: QuerySet[Customer]) -> list[Customer]:
        if (
            not request.user.is_superuser
            and queryset.exclude(shop__in=shops_of(request.user, roles=SHOP_ADMINS)).exists()
        ):
            raise PermissionDenied
        return list(queryset.select_related("shop").order_by("pk"))


@admin.register(Erasure)
class ErasureAdmin(ShopScopedAdmin):
    """The audit trail of erasures: who erased which customer, when. Written by erasures only."""

    roles = SHOP_ADMINS
    list_display = ["at", "customer_id", "requested_by", "via", "shop"]
    list_select_related = ["shop", "requested_by"]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Suppression)
class SuppressionAdmin(ShopScopedAdmin):
    list_display = ["address", "channel", "reason", "detail", "shop", "created_at"]
    list_filter = ["reason", "channel"]
    list_select_related = ["shop"]
    search_fields = ["address"]
