import io
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import path, reverse

from surveys.csv_import import COLUMNS, MAX_ROWS, REQUIRED_COLUMNS, CsvFileError, import_orders
from surveys.models import (
    ApiKey,
    Customer,
    Invitation,
    Membership,
    Order,
    Question,
    Shop,
    Suppression,
    Survey,
    WebhookDelivery,
    WebhookSource,
)
from surveys.queries import shops_of


class ShopScopedAdmin(admin.ModelAdmin):
    """Staff see and pick only rows of the shops they belong to."""

    shop_path = "shop"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{f"{self.shop_path}__in": shops_of(request.user)})

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "shop" and not request.user.is_superuser:
            kwargs["queryset"] = shops_of(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Shop)
class ShopAdmin(ShopScopedAdmin):
    shop_path = "pk"
    list_display = ["name", "slug", "timezone", "default_language", "created_at"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name", "slug"]


@admin.register(Membership)
class MembershipAdmin(ShopScopedAdmin):
    list_display = ["user", "shop", "role"]
    list_filter = ["role"]
    list_select_related = ["user", "shop"]


@admin.register(ApiKey)
class ApiKeyAdmin(ShopScopedAdmin):
    list_display = ["name", "prefix", "shop", "created_at", "last_used_at", "revoked_at"]
    list_select_related = ["shop"]
    readonly_fields = ["prefix", "key_hash", "created_at", "last_used_at"]


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
    list_display = ["__str__", "email", "phone", "language", "shop"]
    list_select_related = ["shop"]
    search_fields = ["email", "phone", "name"]
    inlines = [InvitationHistory]


@admin.register(Suppression)
class SuppressionAdmin(ShopScopedAdmin):
    list_display = ["address", "channel", "reason", "detail", "shop", "created_at"]
    list_filter = ["reason", "channel"]
    list_select_related = ["shop"]
    search_fields = ["address"]


class ImportOrdersForm(forms.Form):
    shop = forms.ModelChoiceField(queryset=Shop.objects.none())
    file = forms.FileField(help_text="A CSV file in UTF-8, comma- or semicolon-separated, with a header row.")
    schedule_surveys = forms.BooleanField(
        required=False,
        help_text="Survey the orders recent enough for a survey to still be open. Leave off for past orders.",
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A shop the user does not belong to is not a valid choice, whatever the form posts.
        self.fields["shop"].queryset = shops_of(user)  # type: ignore[attr-defined]


@admin.register(Order)
class OrderAdmin(ShopScopedAdmin):
    list_display = ["external_id", "customer", "total", "currency", "placed_at", "fulfilled_at", "shop"]
    list_select_related = ["customer", "shop"]
    search_fields = ["external_id", "customer__email"]
    raw_id_fields = ["customer"]
    date_hierarchy = "placed_at"
    inlines = [InvitationHistory]

    def get_urls(self) -> list[Any]:
        import_url = path("import/", self.admin_site.admin_view(self.import_view), name="surveys_order_import")
        return [import_url, *super().get_urls()]

    def import_view(self, request: HttpRequest) -> TemplateResponse:
        """Import past orders from an uploaded CSV into one of the user's shops, and show the report."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        report = None
        if request.method == "POST":
            form = ImportOrdersForm(request.POST, request.FILES, user=request.user)
            if form.is_valid():
                # utf-8-sig drops the byte-order mark Excel writes; newline="" lets csv see quoted line breaks.
                rows = io.TextIOWrapper(form.cleaned_data["file"], encoding="utf-8-sig", newline="")
                try:
                    report = import_orders(
                        form.cleaned_data["shop"], rows, schedule_surveys=form.cleaned_data["schedule_surveys"]
                    )
                except CsvFileError as error:
                    form.add_error("file", f"{error.message}; nothing was imported")
        else:
            form = ImportOrdersForm(user=request.user)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Import orders from CSV",
            "form": form,
            "report": report,
            "columns": COLUMNS,
            "required_columns": REQUIRED_COLUMNS,
            "max_rows": f"{MAX_ROWS:,}",
        }
        return TemplateResponse(request, "admin/surveys/order/import.html", context)


class QuestionInline(admin.TabularInline):
    model = Question
    extra = 0


@admin.register(Survey)
class SurveyAdmin(ShopScopedAdmin):
    list_display = ["name", "shop", "trigger", "delay", "valid_for", "is_active"]
    list_select_related = ["shop"]
    inlines = [QuestionInline]


@admin.register(Invitation)
class InvitationAdmin(ShopScopedAdmin):
    list_display = ["pk", "customer", "order", "survey", "channel", "status", "send_at", "sent_at", "reason"]
    list_filter = ["status", "channel"]
    list_select_related = ["customer", "order", "survey"]
    search_fields = ["customer__email", "order__external_id"]
    readonly_fields = ["token_hash", "reminder_token_hash", "claimed_at", "attempts", "created_at", *LIFECYCLE[4:]]
    raw_id_fields = ["customer", "order"]


@admin.register(WebhookSource)
class WebhookSourceAdmin(ShopScopedAdmin):
    list_display = ["shop", "platform", "webhook_url", "previous_secret_until", "created_at"]
    list_filter = ["platform"]
    list_select_related = ["shop"]
    readonly_fields = ["webhook_url", "created_at"]

    @admin.display(description="Webhook URL (paste it into the store)")
    def webhook_url(self, source: WebhookSource) -> str:
        if source.pk is None:
            return "shown once saved"
        path = reverse(f"{source.platform}_webhook", kwargs={"shop_slug": source.shop.slug})
        return settings.PUBLIC_URL + path


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ShopScopedAdmin):
    """A log of the deliveries taken, kept to drop repeats; nothing here is edited by hand."""

    shop_path = "source__shop"
    list_display = ["received_at", "topic", "delivery_id", "source"]
    list_filter = ["topic", "source__platform"]
    list_select_related = ["source__shop"]
    search_fields = ["delivery_id"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
