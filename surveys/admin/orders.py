"""The admin of orders (and importing past orders from a CSV file, with a column mapping for a
file of another shape), and of the stores' webhook sources and deliveries."""

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from surveys.admin.base import SHOP_ADMINS, ShopScopedAdmin
from surveys.admin.customers import InvitationHistory
from surveys.intake import import_mapping
from surveys.intake.csv_import import import_orders
from surveys.intake.csv_layouts import COLUMNS, MAX_ROWS, REQUIRED_COLUMNS, CsvFileError
from surveys.models import (
    Order,
    PendingImport,
    Shop,
    WebhookDelivery,
    WebhookSource,
)
from surveys.queries import shops_of


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


class ColumnMappingForm(forms.Form):
    """One choice per column of an uploaded file: the field it holds, or nothing."""

    CHOICES = [("", "— leave out —"), *import_mapping.FIELD_LABELS.items()]

    def __init__(self, header: list[str], data: Any = None, *, initial: dict[str, str] | None = None) -> None:
        super().__init__(data, initial=initial)
        self.header = header
        self.fields["currency"] = forms.CharField(
            label="Currency of every order",
            required=False,
            max_length=3,
            help_text="If no column holds the currency (IRR, EUR…), the one all these orders are in.",
        )
        for index, name in enumerate(header):
            self.fields[f"column_{index}"] = forms.ChoiceField(
                label=name or f"column {index + 1}",
                choices=self.CHOICES,
                required=False,
            )

    def clean_currency(self) -> str:
        currency = str(self.cleaned_data.get("currency", "")).strip().upper()
        if currency and not (len(currency) == 3 and currency.isascii() and currency.isalpha()):
            raise forms.ValidationError("a 3-letter currency code such as IRR or EUR")
        return currency

    def mapping(self) -> dict[str, str]:
        return {
            name: self.cleaned_data[f"column_{index}"]
            for index, name in enumerate(self.header)
            if self.cleaned_data[f"column_{index}"]
        }


@admin.register(Order)
class OrderAdmin(ShopScopedAdmin):
    list_display = [
        "external_id", "number", "customer", "total", "currency", "placed_at", "fulfilled_at", "is_test", "shop"
    ]  # fmt: skip
    list_filter = ["is_test", "source"]
    list_select_related = ["customer", "shop"]
    search_fields = ["external_id", "number", "customer__email"]
    raw_id_fields = ["customer"]
    date_hierarchy = "placed_at"
    inlines = [InvitationHistory]

    def get_urls(self) -> list[Any]:
        import_url = path("import/", self.admin_site.admin_view(self.import_view), name="surveys_order_import")
        map_url = path(
            "import/<int:pending_id>/map/", self.admin_site.admin_view(self.map_view), name="surveys_order_import_map"
        )
        return [import_url, map_url, *super().get_urls()]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """Import past orders from an uploaded CSV into one of the user's shops, and show the report."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        report = None
        if request.method == "POST":
            form = ImportOrdersForm(request.POST, request.FILES, user=request.user)
            if form.is_valid():
                shop, upload = form.cleaned_data["shop"], form.cleaned_data["file"]
                schedule = form.cleaned_data["schedule_surveys"]
                try:
                    text = import_mapping.decode(upload.read())
                    header, _ = import_mapping.first_rows(text, 0)
                    if import_mapping.needs_mapping(header):
                        # Another store's export: its columns are mapped first (map_view).
                        pending = PendingImport.objects.create(
                            shop=shop,
                            uploaded_by=request.user,  # type: ignore[misc]  # admin_view: signed in
                            file_name=upload.name[:200],
                            text=text,
                            schedule_surveys=schedule,
                        )
                        return redirect("admin:surveys_order_import_map", pending_id=pending.pk)
                    report = import_orders(shop, import_mapping.rows_of(text), schedule_surveys=schedule)
                except CsvFileError as error:
                    form.add_error("file", f"{error.message}; nothing was imported")
        else:
            form = ImportOrdersForm(user=request.user)
        context = {**self._import_context(request, form), "report": report}
        return TemplateResponse(request, "admin/surveys/order/import.html", context)

    def _import_context(self, request: HttpRequest, form: forms.Form) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Import orders from CSV",
            "form": form,
            "report": None,
            "columns": COLUMNS,
            "required_columns": REQUIRED_COLUMNS,
            "max_rows": f"{MAX_ROWS:,}",
        }

    def map_view(self, request: HttpRequest, pending_id: int) -> HttpResponse:
        """Map the columns of an uploaded export, preview what would be stored, and import it."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        pending = get_object_or_404(
            PendingImport.objects.select_related("shop"), pk=pending_id, shop__in=shops_of(request.user)
        )
        header, sample = import_mapping.first_rows(pending.text)
        preview = None
        if request.method == "POST":
            form = ColumnMappingForm(header, request.POST)
            if form.is_valid():
                mapping, currency = form.mapping(), form.cleaned_data["currency"]
                try:
                    if request.POST.get("action") == "import":
                        report = import_mapping.run(pending, mapping, currency=currency)
                        context = {
                            **self._import_context(request, ImportOrdersForm(user=request.user)),
                            "report": report,
                        }
                        return TemplateResponse(request, "admin/surveys/order/import.html", context)
                    preview = import_mapping.preview(
                        pending.shop,
                        pending.text,
                        mapping,
                        currency=currency,
                        schedule_surveys=pending.schedule_surveys,
                    )
                except CsvFileError as error:
                    form.add_error(None, f"{error.message}; nothing was imported")
        else:
            mapping, currency = import_mapping.suggested(pending.shop, header)
            initial = {f"column_{index}": mapping.get(name, "") for index, name in enumerate(header)}
            form = ColumnMappingForm(header, initial={**initial, "currency": currency})
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Map the columns of {pending.file_name}",
            "pending": pending,
            "form": form,
            "columns": [
                (form[f"column_{index}"], name, [row[index] if index < len(row) else "" for row in sample])
                for index, name in enumerate(header)
            ],
            "preview": preview,
        }
        return TemplateResponse(request, "admin/surveys/order/map.html", context)


@admin.register(WebhookSource)
class WebhookSourceAdmin(ShopScopedAdmin):
    roles = SHOP_ADMINS
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
